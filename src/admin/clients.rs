use serde_json::json;

use crate::ids::ClientId;

use super::client_auth::{self, AuthRequest, TokenAuth};
use super::client_rules::{
    MAX_REFRESH_TTL_SECS, backchannel_uri, client_scope, invalid, redirect_uris, ttl, uri_list,
    web_origins,
};
use super::{AdminError, AdminResult};
use crate::config::TokensConfig;
use crate::crypto::random;
use crate::model::{ClientMfaPolicy, SigningAlg, TrustPolicy};
use crate::store::clients::{self, Client, ClientChanges, NewClient};
use crate::store::{Db, StoreError, audit, grants, tenants};

/// What an admin asks for when registering a client.
#[derive(Debug, Clone)]
pub struct ClientRequest {
    pub name: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub public: bool,
    pub first_party: bool,
    pub mfa_policy: ClientMfaPolicy,
    pub trust_policy: TrustPolicy,
    pub id_token_alg: SigningAlg,
    /// What the client's access tokens are signed with.
    pub access_token_alg: SigningAlg,
    pub access_token_ttl_secs: Option<i64>,
    pub id_token_ttl_secs: Option<i64>,
    pub refresh_token_ttl_secs: Option<i64>,
    /// Scopes the client may request with client_credentials, space-separated.
    pub scope: Option<String>,
    /// May receive offline access: `offline_access` grants survive the SSO session.
    pub offline_access: bool,
    /// Token-endpoint authentication method and, for private_key_jwt, the key source.
    pub auth: AuthRequest,
    /// Exact origins of browser applications that call the token endpoints (CORS).
    pub web_origins: Vec<String>,
    /// Back-Channel Logout 1.0 endpoint of the client (https, or http on loopback).
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
}

/// A registered client and, for confidential clients, its secret: shown once, stored hashed.
#[derive(Debug, Clone)]
pub struct CreatedClient {
    pub client: Client,
    pub secret: Option<String>,
}

pub async fn create(
    db: &Db,
    tokens: &TokensConfig,
    actor: &str,
    tenant_slug: &str,
    req: ClientRequest,
) -> AdminResult<CreatedClient> {
    let tenant = tenants::get_by_slug(db, tenant_slug).await?;
    let redirect_uris = redirect_uris(&req.redirect_uris)?;
    let post_logout = uri_list("post_logout_redirect_uris", &req.post_logout_redirect_uris)?;
    let web_origins = web_origins(&req.web_origins)?;
    let backchannel_logout_uri = req
        .backchannel_logout_uri
        .as_deref()
        .map(backchannel_uri)
        .transpose()?;
    let max = tokens.max_lifetime_secs;
    let access = req
        .access_token_ttl_secs
        .unwrap_or(tokens.default_access_token_ttl_secs);
    let access = ttl(access, max, "access_token_ttl_secs")?;
    let id = req
        .id_token_ttl_secs
        .unwrap_or(tokens.default_id_token_ttl_secs);
    let id = ttl(id, max, "id_token_ttl_secs")?;
    let refresh = req
        .refresh_token_ttl_secs
        .unwrap_or(tokens.default_refresh_token_ttl_secs);
    let refresh = ttl(refresh, MAX_REFRESH_TTL_SECS, "refresh_token_ttl_secs")?;
    let scope = client_scope(req.public, req.scope.as_deref().unwrap_or_default())?;

    let auth = client_auth::resolve(req.public, None, req.auth.clone())?;
    // 256-bit secret; SHA-256 is a sound stored form for a random value of that size. A
    // private_key_jwt client gets none: it could never use it.
    let secret = auth.uses_secret().then(|| random::token(32));
    let grants = if req.public {
        vec!["authorization_code", "refresh_token"]
    } else {
        vec!["authorization_code", "refresh_token", "client_credentials"]
    };
    let new = NewClient {
        id: ClientId::from(random::token(16)),
        tenant_id: tenant.id.clone(),
        name: req.name.clone().unwrap_or_else(|| "Unnamed client".into()),
        secret_hash: secret.as_deref().map(random::sha256_hex),
        is_public: req.public,
        first_party: req.first_party,
        token_endpoint_auth_method: auth.method,
        redirect_uris,
        post_logout_redirect_uris: post_logout,
        grant_types: grants.into_iter().map(String::from).collect(),
        mfa_policy: req.mfa_policy,
        trust_policy: req.trust_policy,
        id_token_alg: req.id_token_alg,
        access_token_alg: req.access_token_alg,
        access_token_ttl_secs: access,
        id_token_ttl_secs: id,
        refresh_token_ttl_secs: refresh,
        scope,
        offline_access: req.offline_access,
        web_origins,
        backchannel_logout_uri,
        backchannel_logout_session_required: req.backchannel_logout_session_required,
    };
    let mut client = clients::create(db, &new).await?;
    if auth.jwks.is_some() || auth.jwks_uri.is_some() {
        client = store_token_auth(db, &client, &auth).await?;
    }
    audit::record(
        db,
        audit::NewEvent {
            tenant_id: Some(&tenant.id),
            actor,
            event: "client.created",
            detail: json!({ "client_id": client.id, "public": client.is_public, "mfa_policy": client.mfa_policy,
                "token_endpoint_auth_method": client.token_endpoint_auth_method,
                "access_token_alg": client.access_token_alg }),
            ..Default::default()
        },
    )
    .await?;
    Ok(CreatedClient { client, secret })
}

/// One client of the tenant, by id (`client get`).
pub async fn get(db: &Db, tenant_slug: &str, client_id: &ClientId) -> AdminResult<Client> {
    let tenant = tenants::get_by_slug(db, tenant_slug).await?;
    clients::find(db, &tenant.id, client_id)
        .await?
        .ok_or_else(|| {
            AdminError::Store(StoreError::NotFound(format!(
                "unknown client `{client_id}` in tenant `{tenant_slug}`"
            )))
        })
}

/// What `client update` and the API's `PATCH` may change; every field is optional and one
/// left out stays as it is. Each is checked as `create` checks it.
#[derive(Debug, Clone, Default)]
pub struct ClientChange {
    pub name: Option<String>,
    /// Replaces the list (at least one; matched exactly from now on).
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub first_party: Option<bool>,
    pub mfa_policy: Option<ClientMfaPolicy>,
    pub trust_policy: Option<TrustPolicy>,
    pub id_token_alg: Option<SigningAlg>,
    /// Tokens already issued keep verifying (by `kid`).
    pub access_token_alg: Option<SigningAlg>,
    pub access_token_ttl_secs: Option<i64>,
    pub id_token_ttl_secs: Option<i64>,
    pub refresh_token_ttl_secs: Option<i64>,
    /// Space-separated; `""` registers none.
    pub scope: Option<String>,
    pub offline_access: Option<bool>,
    pub web_origins: Option<Vec<String>>,
    /// `""` removes it.
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: Option<bool>,
    /// `--token-endpoint-auth-method/--jwks-file/--jwks-uri`.
    pub auth: AuthRequest,
    /// `If-Match`: change only this version of the client (`Stale` otherwise).
    pub expected_version: Option<i64>,
}

impl ClientChange {
    /// The names of the fields asked for, for the audit log (never their values' secrets:
    /// a client has none among them).
    fn asked(&self) -> Vec<&'static str> {
        let a = &self.auth;
        [
            ("name", self.name.is_some()),
            ("redirect_uris", self.redirect_uris.is_some()),
            (
                "post_logout_redirect_uris",
                self.post_logout_redirect_uris.is_some(),
            ),
            ("first_party", self.first_party.is_some()),
            ("mfa_policy", self.mfa_policy.is_some()),
            ("trust_policy", self.trust_policy.is_some()),
            ("id_token_alg", self.id_token_alg.is_some()),
            ("access_token_alg", self.access_token_alg.is_some()),
            (
                "access_token_ttl_secs",
                self.access_token_ttl_secs.is_some(),
            ),
            ("id_token_ttl_secs", self.id_token_ttl_secs.is_some()),
            (
                "refresh_token_ttl_secs",
                self.refresh_token_ttl_secs.is_some(),
            ),
            ("scope", self.scope.is_some()),
            ("offline_access", self.offline_access.is_some()),
            ("web_origins", self.web_origins.is_some()),
            (
                "backchannel_logout_uri",
                self.backchannel_logout_uri.is_some(),
            ),
            (
                "backchannel_logout_session_required",
                self.backchannel_logout_session_required.is_some(),
            ),
            ("token_endpoint_auth_method", a.method.is_some()),
            ("jwks", a.jwks.is_some()),
            ("jwks_uri", a.jwks_uri.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, asked)| asked.then_some(name))
        .collect()
    }
}

/// `client update` and `PATCH .../clients/{id}`: everything is checked before anything is
/// written, then written in one statement that also checks the version when `If-Match` names
/// one. Moving to a secret method needs a secret, which a client registered for
/// private_key_jwt never received.
pub async fn update(
    db: &Db,
    tokens: &TokensConfig,
    actor: &str,
    tenant_slug: &str,
    client_id: &ClientId,
    change: ClientChange,
) -> AdminResult<Client> {
    let client = get(db, tenant_slug, client_id).await?;
    if let Some(v) = change.expected_version
        && v != client.version
    {
        return Err(AdminError::Store(StoreError::Stale(format!(
            "client `{client_id}` changed since version {v}"
        ))));
    }
    let fields = change.asked();
    let max = tokens.max_lifetime_secs;
    let name = match change.name.as_deref().map(str::trim) {
        Some("") => return Err(invalid("name")("must not be empty".into())),
        other => other.map(str::to_owned),
    };
    let backchannel_logout_uri = match change.backchannel_logout_uri.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(u) => Some(Some(backchannel_uri(u)?)),
    };
    let mut changes = ClientChanges {
        name,
        redirect_uris: change
            .redirect_uris
            .as_deref()
            .map(redirect_uris)
            .transpose()?,
        post_logout_redirect_uris: change
            .post_logout_redirect_uris
            .as_deref()
            .map(|u| uri_list("post_logout_redirect_uris", u))
            .transpose()?,
        first_party: change.first_party,
        mfa_policy: change.mfa_policy,
        trust_policy: change.trust_policy,
        id_token_alg: change.id_token_alg,
        access_token_alg: change.access_token_alg,
        access_token_ttl_secs: change
            .access_token_ttl_secs
            .map(|v| ttl(v, max, "access_token_ttl_secs"))
            .transpose()?,
        id_token_ttl_secs: change
            .id_token_ttl_secs
            .map(|v| ttl(v, max, "id_token_ttl_secs"))
            .transpose()?,
        refresh_token_ttl_secs: change
            .refresh_token_ttl_secs
            .map(|v| ttl(v, MAX_REFRESH_TTL_SECS, "refresh_token_ttl_secs"))
            .transpose()?,
        scope: change
            .scope
            .as_deref()
            .map(|s| client_scope(client.is_public, s))
            .transpose()?,
        offline_access: change.offline_access,
        web_origins: change.web_origins.as_deref().map(web_origins).transpose()?,
        backchannel_logout_uri,
        backchannel_logout_session_required: change.backchannel_logout_session_required,
        expected_version: change.expected_version,
        ..Default::default()
    };
    let req = change.auth;
    // Other fields alone leave the authentication as it is, untouched.
    if req.method.is_some() || req.jwks.is_some() || req.jwks_uri.is_some() {
        let current = TokenAuth {
            method: client.token_endpoint_auth_method,
            jwks: client.jwks.clone(),
            jwks_uri: client.jwks_uri.clone(),
        };
        let auth = client_auth::resolve(client.is_public, Some(&current), req)?;
        if auth.uses_secret() && client.secret_hash.is_none() {
            return Err(AdminError::Invalid(format!(
                "client `{client_id}` has no secret (it was registered for {}); register a new client for {}",
                current.method, auth.method
            )));
        }
        changes.token_endpoint_auth_method = Some(auth.method);
        changes.jwks = auth.jwks;
        changes.jwks_uri = auth.jwks_uri;
    }
    let updated = clients::update(db, &client.tenant_id, &client.id, &changes).await?;
    let detail = json!({
        "fields": fields,
        "token_endpoint_auth_method": updated.token_endpoint_auth_method,
        "access_token_alg": updated.access_token_alg,
        "mfa_policy": updated.mfa_policy,
        "version": updated.version,
    });
    record_change(db, &client, actor, "client.updated", detail).await?;
    Ok(updated)
}

/// "Rotate secret": a new 256-bit secret replaces the old one at once (the answer is the only
/// place it is ever shown). Tokens already issued stay valid until they expire; every later
/// request to /token, /revoke or /introspect needs the new secret.
pub async fn rotate_secret(
    db: &Db,
    actor: &str,
    tenant_slug: &str,
    client_id: &ClientId,
) -> AdminResult<(Client, String)> {
    let client = get(db, tenant_slug, client_id).await?;
    let auth = TokenAuth {
        method: client.token_endpoint_auth_method,
        jwks: None,
        jwks_uri: None,
    };
    if !auth.uses_secret() {
        return Err(AdminError::Invalid(format!(
            "client `{client_id}` authenticates with {}, not a secret",
            client.token_endpoint_auth_method
        )));
    }
    let secret = random::token(32);
    clients::set_secret_hash(db, &client.id, &random::sha256_hex(&secret)).await?;
    record_change(db, &client, actor, "client.secret_rotated", json!({})).await?;
    let client = get(db, tenant_slug, client_id).await?;
    Ok((client, secret))
}

/// Deletes a client. Its grants are revoked first (offline ones too), so no refresh token or
/// access token of it outlives the client; consents it was given go with it.
pub async fn delete(
    db: &Db,
    actor: &str,
    tenant_slug: &str,
    client_id: &ClientId,
    now: i64,
) -> AdminResult<u64> {
    let client = get(db, tenant_slug, client_id).await?;
    let revoked = grants::revoke_for_client(db, &client.tenant_id, &client.id, now).await?;
    clients::delete(db, &client.tenant_id, &client.id).await?;
    let detail = json!({ "grants_revoked": revoked });
    record_change(db, &client, actor, "client.deleted", detail).await?;
    Ok(revoked)
}

/// The audit event of a change to `client` (`detail` gains its id).
async fn record_change(
    db: &Db,
    client: &Client,
    actor: &str,
    event: &str,
    mut detail: serde_json::Value,
) -> AdminResult<()> {
    detail["client_id"] = json!(client.id);
    audit::record(
        db,
        audit::NewEvent {
            tenant_id: Some(&client.tenant_id),
            actor,
            event,
            detail,
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}

async fn store_token_auth(db: &Db, client: &Client, auth: &TokenAuth) -> AdminResult<Client> {
    clients::set_token_auth(
        db,
        &client.tenant_id,
        &client.id,
        auth.method,
        auth.jwks.as_ref(),
        auth.jwks_uri.as_deref(),
    )
    .await?;
    clients::find(db, &client.tenant_id, &client.id)
        .await?
        .ok_or_else(|| AdminError::Invalid(format!("client `{}` vanished", client.id)))
}
