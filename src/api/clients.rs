//! `/api/v1/tenants/{slug}/clients[/{client_id}[/secret]]`: the same `admin::clients`
//! functions as `gatehouse client ...` (create, get, list, update, rotate-secret, delete). A
//! secret is in the answer of the request that made it and nowhere else. A client's `ETag` is
//! its version; `If-Match` on a `PATCH` makes the change conditional (412 when stale).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiResult;
use super::extract::{ApiJson, etag, if_match, parse_field, with_etag};
use super::scope::InTenant;
use super::views::{ClientView, ClientWithSecret, Page};
use crate::admin::client_auth::AuthRequest;
use crate::admin::clients::{self, ClientChange, ClientRequest};
use crate::ids::ClientId;
use crate::model::{ClientMfaPolicy, SigningAlg, TrustPolicy, now};
use crate::state::AppState;
use crate::store;
use crate::store::clients::Client;

/// A client to register; the names and defaults of `gatehouse client create`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientCreate {
    pub name: Option<String>,
    /// Exact redirect URIs (at least one).
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// No secret; PKCE S256 required.
    #[serde(default)]
    pub public: bool,
    /// No consent screen.
    #[serde(default)]
    pub first_party: bool,
    /// `inherit` (default), `required` or `phishing_resistant`.
    pub mfa_policy: Option<String>,
    /// `any` (default) or `none`.
    pub trust_policy: Option<String>,
    /// `RS256` (default), `ES256` or `EdDSA`.
    pub id_token_alg: Option<String>,
    /// `RS256` (default), `ES256` or `EdDSA`: the access tokens' signature.
    pub access_token_alg: Option<String>,
    pub access_token_ttl_secs: Option<i64>,
    pub id_token_ttl_secs: Option<i64>,
    pub refresh_token_ttl_secs: Option<i64>,
    /// Scopes for client_credentials, space-separated.
    pub scope: Option<String>,
    #[serde(default)]
    pub offline_access: bool,
    /// `client_secret_basic` (default for confidential clients), `client_secret_post`,
    /// `private_key_jwt` (with `jwks` or `jwks_uri`) or `none` (public clients).
    pub token_endpoint_auth_method: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub web_origins: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
}

/// What `PATCH` changes (as `gatehouse client update`), each checked as at registration;
/// fields left out stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    pub name: Option<String>,
    /// Replaces the exact redirect URIs (at least one): the old ones stop working at once.
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// No consent screen.
    pub first_party: Option<bool>,
    /// `inherit`, `required` or `phishing_resistant`.
    pub mfa_policy: Option<String>,
    /// `any` or `none`.
    pub trust_policy: Option<String>,
    /// `RS256`, `ES256` or `EdDSA`.
    pub id_token_alg: Option<String>,
    /// `RS256`, `ES256` or `EdDSA`, for access tokens issued from now on.
    pub access_token_alg: Option<String>,
    pub access_token_ttl_secs: Option<i64>,
    pub id_token_ttl_secs: Option<i64>,
    pub refresh_token_ttl_secs: Option<i64>,
    /// Scopes for client_credentials, space-separated; `""` for none.
    pub scope: Option<String>,
    pub offline_access: Option<bool>,
    pub web_origins: Option<Vec<String>>,
    /// `""` removes it.
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: Option<bool>,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none`.
    pub token_endpoint_auth_method: Option<String>,
    /// private_key_jwt: the client's public keys (a JWK Set).
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// private_key_jwt: where the client publishes its JWK Set.
    pub jwks_uri: Option<String>,
}

impl ClientPatch {
    fn change(self, expected_version: Option<i64>) -> ApiResult<ClientChange> {
        Ok(ClientChange {
            name: self.name,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            first_party: self.first_party,
            mfa_policy: parse_field("mfa_policy", self.mfa_policy)?,
            trust_policy: parse_field("trust_policy", self.trust_policy)?,
            id_token_alg: parse_field("id_token_alg", self.id_token_alg)?,
            access_token_alg: parse_field("access_token_alg", self.access_token_alg)?,
            access_token_ttl_secs: self.access_token_ttl_secs,
            id_token_ttl_secs: self.id_token_ttl_secs,
            refresh_token_ttl_secs: self.refresh_token_ttl_secs,
            scope: self.scope,
            offline_access: self.offline_access,
            web_origins: self.web_origins,
            backchannel_logout_uri: self.backchannel_logout_uri,
            backchannel_logout_session_required: self.backchannel_logout_session_required,
            auth: auth_request(self.token_endpoint_auth_method, self.jwks, self.jwks_uri)?,
            expected_version,
        })
    }
}

fn auth_request(
    method: Option<String>,
    jwks: Option<serde_json::Value>,
    jwks_uri: Option<String>,
) -> ApiResult<AuthRequest> {
    Ok(AuthRequest {
        method: parse_field("token_endpoint_auth_method", method)?,
        jwks: jwks.map(|j| j.to_string()),
        jwks_uri,
    })
}

fn versioned(c: &Client) -> (HeaderMap, Json<ClientView>) {
    (etag(c.version), Json(ClientView::from(c)))
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/clients", tag = "clients",
    params(("slug" = String, Path)),
    responses((status = 200, body = Page<ClientView>), (status = 404, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    at: InTenant,
) -> ApiResult<Json<Page<ClientView>>> {
    let all = store::clients::list(&state.db, &at.tenant.id).await?;
    Ok(Json(Page {
        items: all.iter().map(ClientView::from).collect(),
        next_cursor: None,
    }))
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/clients/{client_id}", tag = "clients",
    params(("slug" = String, Path), ("client_id" = String, Path)),
    responses((status = 200, body = ClientView, headers(("ETag" = String))),
        (status = 404, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    at: InTenant,
    Path((_, client_id)): Path<(String, String)>,
) -> ApiResult<(HeaderMap, Json<ClientView>)> {
    let c = clients::get(&state.db, &at.tenant.slug, &ClientId::from(client_id)).await?;
    Ok(versioned(&c))
}

/// Registers a client: 201 with `Location`, and its secret (confidential clients) this once.
#[utoipa::path(post, path = "/api/v1/tenants/{slug}/clients", tag = "clients",
    params(("slug" = String, Path)),
    request_body = ClientCreate,
    responses((status = 201, body = ClientWithSecret,
            headers(("Location" = String), ("ETag" = String))),
        (status = 400, body = super::error::Problem), (status = 403, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    InTenant { caller, tenant }: InTenant,
    ApiJson(c): ApiJson<ClientCreate>,
) -> ApiResult<(StatusCode, HeaderMap, Json<ClientWithSecret>)> {
    caller.may_write()?;
    let req = ClientRequest {
        name: c.name,
        redirect_uris: c.redirect_uris,
        post_logout_redirect_uris: c.post_logout_redirect_uris,
        public: c.public,
        first_party: c.first_party,
        mfa_policy: parse_field("mfa_policy", c.mfa_policy)?.unwrap_or(ClientMfaPolicy::Inherit),
        trust_policy: parse_field("trust_policy", c.trust_policy)?.unwrap_or(TrustPolicy::Any),
        id_token_alg: parse_field("id_token_alg", c.id_token_alg)?.unwrap_or(SigningAlg::Rs256),
        access_token_alg: parse_field("access_token_alg", c.access_token_alg)?
            .unwrap_or(SigningAlg::Rs256),
        access_token_ttl_secs: c.access_token_ttl_secs,
        id_token_ttl_secs: c.id_token_ttl_secs,
        refresh_token_ttl_secs: c.refresh_token_ttl_secs,
        scope: c.scope,
        offline_access: c.offline_access,
        auth: auth_request(c.token_endpoint_auth_method, c.jwks, c.jwks_uri)?,
        web_origins: c.web_origins,
        backchannel_logout_uri: c.backchannel_logout_uri,
        backchannel_logout_session_required: c.backchannel_logout_session_required,
    };
    let tokens = &state.config.tokens;
    let created = clients::create(&state.db, tokens, &caller.actor(), &tenant.slug, req).await?;
    let location = format!(
        "/api/v1/tenants/{}/clients/{}",
        tenant.slug, created.client.id
    );
    let headers = with_etag(super::extract::location(&location)?, created.client.version);
    let body = ClientWithSecret {
        client: ClientView::from(&created.client),
        client_secret: created.secret,
    };
    Ok((StatusCode::CREATED, headers, Json(body)))
}

/// Changes the client (as `gatehouse client update`); with `If-Match` only the version named.
#[utoipa::path(patch, path = "/api/v1/tenants/{slug}/clients/{client_id}", tag = "clients",
    params(("slug" = String, Path), ("client_id" = String, Path), ("If-Match" = Option<String>,
        Header, description = "the ETag of the copy this change was made against")),
    request_body = ClientPatch,
    responses((status = 200, body = ClientView, headers(("ETag" = String))),
        (status = 400, body = super::error::Problem), (status = 403, body = super::error::Problem),
        (status = 404, body = super::error::Problem), (status = 412, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn update(
    State(state): State<AppState>,
    InTenant { caller, tenant }: InTenant,
    Path((_, client_id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<ClientPatch>,
) -> ApiResult<(HeaderMap, Json<ClientView>)> {
    caller.may_write()?;
    let id = ClientId::from(client_id);
    let change = patch.change(if_match(&headers)?)?;
    let tokens = &state.config.tokens;
    let c = clients::update(
        &state.db,
        tokens,
        &caller.actor(),
        &tenant.slug,
        &id,
        change,
    )
    .await?;
    Ok(versioned(&c))
}

/// "Rotate secret": the old secret stops working now; the new one is in this answer only.
#[utoipa::path(post, path = "/api/v1/tenants/{slug}/clients/{client_id}/secret", tag = "clients",
    params(("slug" = String, Path), ("client_id" = String, Path)),
    responses((status = 200, body = ClientWithSecret, headers(("ETag" = String))),
        (status = 400, body = super::error::Problem),
        (status = 403, body = super::error::Problem), (status = 404, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    InTenant { caller, tenant }: InTenant,
    Path((_, client_id)): Path<(String, String)>,
) -> ApiResult<(HeaderMap, Json<ClientWithSecret>)> {
    caller.may_write()?;
    let id = ClientId::from(client_id);
    let (c, secret) = clients::rotate_secret(&state.db, &caller.actor(), &tenant.slug, &id).await?;
    let body = ClientWithSecret {
        client: ClientView::from(&c),
        client_secret: Some(secret),
    };
    Ok((etag(c.version), Json(body)))
}

/// Deletes the client after revoking its grants (its refresh tokens die with it).
#[utoipa::path(delete, path = "/api/v1/tenants/{slug}/clients/{client_id}", tag = "clients",
    params(("slug" = String, Path), ("client_id" = String, Path)),
    responses((status = 204), (status = 403, body = super::error::Problem),
        (status = 404, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    InTenant { caller, tenant }: InTenant,
    Path((_, client_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.may_write()?;
    let id = ClientId::from(client_id);
    clients::delete(&state.db, &caller.actor(), &tenant.slug, &id, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
