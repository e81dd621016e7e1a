//! OAuth clients (relying parties). The secret is kept only as a SHA-256 hash: it is a 256-bit
//! random value, so a fast hash is enough and verification stays cheap at the token endpoint.

use crate::ids::{ClientId, TenantId};
use serde::Serialize;

use super::{Db, StoreError, StoreResult, conflict, json_list, parse_json_list};
use crate::model::{ClientMfaPolicy, SigningAlg, TokenAuthMethod, TrustPolicy, now};
use crate::with_db;

#[derive(Debug, Clone, Serialize)]
pub struct Client {
    #[serde(rename = "client_id")]
    pub id: ClientId,
    pub tenant_id: TenantId,
    pub name: String,
    #[serde(skip)]
    pub secret_hash: Option<String>,
    pub is_public: bool,
    pub first_party: bool,
    pub token_endpoint_auth_method: TokenAuthMethod,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub mfa_policy: ClientMfaPolicy,
    pub trust_policy: TrustPolicy,
    pub id_token_alg: SigningAlg,
    /// What its RFC 9068 access tokens are signed with (RS256 unless chosen otherwise).
    pub access_token_alg: SigningAlg,
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    /// Space-separated scopes the client may request with client_credentials (RFC 7591 §2).
    pub scope: String,
    /// May receive offline access (OIDC Core §11): a grant that survives the SSO session.
    pub offline_access: bool,
    /// private_key_jwt: the client's public keys as a JWK Set (`--jwks-file`), or
    pub jwks: Option<serde_json::Value>,
    /// the URL Gatehouse fetches them from (`--jwks-uri`). At most one of the two is set.
    pub jwks_uri: Option<String>,
    /// Exact origins whose pages may read this client's token-endpoint answers (CORS).
    pub web_origins: Vec<String>,
    /// Back-Channel Logout 1.0: POSTed a logout token when a session it got tokens in ends.
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Client {
    /// The registered scopes as tokens.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }
    pub fn has_grant_type(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }
}

/// The row as stored: the lists are TEXT JSON, parsed once into [`Client`] here.
#[derive(sqlx::FromRow)]
struct ClientRow {
    id: ClientId,
    tenant_id: TenantId,
    name: String,
    secret_hash: Option<String>,
    is_public: bool,
    first_party: bool,
    #[sqlx(try_from = "String")]
    token_endpoint_auth_method: TokenAuthMethod,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    grant_types: String,
    #[sqlx(try_from = "String")]
    mfa_policy: ClientMfaPolicy,
    #[sqlx(try_from = "String")]
    trust_policy: TrustPolicy,
    #[sqlx(try_from = "String")]
    id_token_alg: SigningAlg,
    #[sqlx(try_from = "String")]
    access_token_alg: SigningAlg,
    access_token_ttl_secs: i64,
    id_token_ttl_secs: i64,
    refresh_token_ttl_secs: i64,
    scope: String,
    offline_access: bool,
    jwks: Option<String>,
    jwks_uri: Option<String>,
    web_origins: String,
    backchannel_logout_uri: Option<String>,
    backchannel_logout_session_required: bool,
    created_at: i64,
    updated_at: i64,
}

impl From<ClientRow> for Client {
    fn from(r: ClientRow) -> Client {
        let list = |column: &str, text: &str| list_or_empty(&r.id, column, text);
        let redirect_uris = list("redirect_uris", &r.redirect_uris);
        let post_logout_redirect_uris =
            list("post_logout_redirect_uris", &r.post_logout_redirect_uris);
        let grant_types = list("grant_types", &r.grant_types);
        let jwks = r.jwks.as_deref().and_then(|text| jwks_or_none(&r.id, text));
        let web_origins = list("web_origins", &r.web_origins);
        Client {
            id: r.id,
            tenant_id: r.tenant_id,
            name: r.name,
            secret_hash: r.secret_hash,
            is_public: r.is_public,
            first_party: r.first_party,
            token_endpoint_auth_method: r.token_endpoint_auth_method,
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            mfa_policy: r.mfa_policy,
            trust_policy: r.trust_policy,
            id_token_alg: r.id_token_alg,
            access_token_alg: r.access_token_alg,
            access_token_ttl_secs: r.access_token_ttl_secs,
            id_token_ttl_secs: r.id_token_ttl_secs,
            refresh_token_ttl_secs: r.refresh_token_ttl_secs,
            scope: r.scope,
            offline_access: r.offline_access,
            jwks,
            jwks_uri: r.jwks_uri,
            web_origins,
            backchannel_logout_uri: r.backchannel_logout_uri,
            backchannel_logout_session_required: r.backchannel_logout_session_required,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Gatehouse writes these columns only through [`json_list`], but an operator can edit a row by
/// hand. A list that does not parse loads empty, so that one client is refused where the list
/// is used (an empty list matches no redirect URI and allows no grant) while every query that
/// lists clients still works; the warning names the client to fix.
fn list_or_empty(client_id: &ClientId, column: &str, text: &str) -> Vec<String> {
    parse_json_list(text).unwrap_or_else(|e| {
        tracing::warn!(client_id = %client_id, column, error = %e, "unreadable client list, treated as empty");
        Vec::new()
    })
}

/// Gatehouse stores only key sets it parsed; a hand-edited one that no longer parses loads as
/// none, so that client's assertions are refused (no key matches) and the warning names it.
fn jwks_or_none(client_id: &ClientId, text: &str) -> Option<serde_json::Value> {
    serde_json::from_str(text)
        .inspect_err(|e| {
            tracing::warn!(client_id = %client_id, error = %e, "unreadable client jwks, treated as none");
        })
        .ok()
}

/// Everything needed to register a client; `id` and `secret_hash` come from the caller so the
/// plain secret never reaches this layer.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub id: ClientId,
    pub tenant_id: TenantId,
    pub name: String,
    pub secret_hash: Option<String>,
    pub is_public: bool,
    pub first_party: bool,
    pub token_endpoint_auth_method: TokenAuthMethod,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub mfa_policy: ClientMfaPolicy,
    pub trust_policy: TrustPolicy,
    pub id_token_alg: SigningAlg,
    pub access_token_alg: SigningAlg,
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    /// Space-separated, already validated (see `admin::clients`); empty for none.
    pub scope: String,
    pub offline_access: bool,
    /// Validated exact origins (see `oidc::cors::validate_origin`).
    pub web_origins: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
}

/// The columns `create` writes, as a literal for `concat!`; the key source (`jwks`, `jwks_uri`)
/// is set afterwards by [`set_token_auth`].
macro_rules! columns {
    () => {
        "id, tenant_id, name, secret_hash, is_public, first_party, \
    token_endpoint_auth_method, redirect_uris, post_logout_redirect_uris, grant_types, \
    mfa_policy, trust_policy, id_token_alg, access_token_ttl_secs, id_token_ttl_secs, \
    refresh_token_ttl_secs, scope, offline_access, web_origins, backchannel_logout_uri, \
    backchannel_logout_session_required, access_token_alg, created_at, updated_at"
    };
}

/// The column list every query of this file selects.
macro_rules! select_columns {
    () => {
        concat!(columns!(), ", jwks, jwks_uri")
    };
}

pub async fn create(db: &Db, c: &NewClient) -> StoreResult<Client> {
    let sql = concat!(
        "INSERT INTO clients (",
        columns!(),
        ") VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $23) \
         RETURNING ",
        select_columns!(),
        ""
    );
    let row = with_db!(db, |pool| sqlx::query_as::<_, ClientRow>(sql)
        .bind(&c.id)
        .bind(&c.tenant_id)
        .bind(&c.name)
        .bind(c.secret_hash.as_deref())
        .bind(c.is_public)
        .bind(c.first_party)
        .bind(c.token_endpoint_auth_method.as_str())
        .bind(json_list(&c.redirect_uris))
        .bind(json_list(&c.post_logout_redirect_uris))
        .bind(json_list(&c.grant_types))
        .bind(c.mfa_policy.as_str())
        .bind(c.trust_policy.as_str())
        .bind(c.id_token_alg.as_str())
        .bind(c.access_token_ttl_secs)
        .bind(c.id_token_ttl_secs)
        .bind(c.refresh_token_ttl_secs)
        .bind(&c.scope)
        .bind(c.offline_access)
        .bind(json_list(&c.web_origins))
        .bind(c.backchannel_logout_uri.as_deref())
        .bind(c.backchannel_logout_session_required)
        .bind(c.access_token_alg.as_str())
        .bind(now())
        .fetch_one(pool)
        .await
        .map_err(|e| conflict(e, format!("client `{}` already exists", c.id))))?;
    Ok(row.into())
}

/// Looks a client up within its tenant: a client id from another tenant is unknown here.
pub async fn find(
    db: &Db,
    tenant_id: &TenantId,
    client_id: &ClientId,
) -> StoreResult<Option<Client>> {
    let sql = concat!(
        "SELECT ",
        select_columns!(),
        " FROM clients WHERE tenant_id = $1 AND id = $2"
    );
    let row = with_db!(db, |pool| sqlx::query_as::<_, ClientRow>(sql)
        .bind(tenant_id)
        .bind(client_id)
        .fetch_optional(pool)
        .await?);
    Ok(row.map(Client::from))
}

pub async fn list(db: &Db, tenant_id: &TenantId) -> StoreResult<Vec<Client>> {
    let sql = concat!(
        "SELECT ",
        select_columns!(),
        " FROM clients WHERE tenant_id = $1 ORDER BY created_at, id"
    );
    let rows = with_db!(db, |pool| sqlx::query_as::<_, ClientRow>(sql)
        .bind(tenant_id)
        .fetch_all(pool)
        .await?);
    Ok(rows.into_iter().map(Client::from).collect())
}

/// Deletes one client of the tenant; false when there was none.
pub async fn delete(db: &Db, tenant_id: &TenantId, client_id: &ClientId) -> StoreResult<bool> {
    let done = with_db!(db, |pool| sqlx::query(
        "DELETE FROM clients WHERE tenant_id = $1 AND id = $2"
    )
    .bind(tenant_id)
    .bind(client_id)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(done > 0)
}

/// An UPDATE of one client that matched no row: the client does not exist (here).
fn updated_one(rows: u64, client_id: &ClientId) -> StoreResult<()> {
    if rows == 0 {
        return Err(StoreError::NotFound(format!(
            "unknown client `{client_id}`"
        )));
    }
    Ok(())
}

/// Replaces the secret hash (demo re-seeding and, later, the admin "rotate secret" action).
pub async fn set_secret_hash(db: &Db, client_id: &ClientId, secret_hash: &str) -> StoreResult<()> {
    let done = with_db!(db, |pool| sqlx::query(
        "UPDATE clients SET secret_hash = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(client_id)
    .bind(secret_hash)
    .bind(now())
    .execute(pool)
    .await?
    .rows_affected());
    updated_one(done, client_id)
}

/// Replaces the registered redirect URIs (the built-in account client follows the public URL).
pub async fn set_redirect_uris(db: &Db, client_id: &ClientId, uris: &[String]) -> StoreResult<()> {
    with_db!(db, |pool| sqlx::query(
        "UPDATE clients SET redirect_uris = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(client_id)
    .bind(json_list(uris))
    .bind(now())
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}

/// Sets the algorithm the client's next access tokens are signed with.
pub async fn set_access_token_alg(
    db: &Db,
    tenant_id: &TenantId,
    client_id: &ClientId,
    alg: SigningAlg,
) -> StoreResult<()> {
    let done = with_db!(db, |pool| {
        sqlx::query(
        "UPDATE clients SET access_token_alg = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2"
    )
    .bind(tenant_id)
    .bind(client_id)
    .bind(alg.as_str())
    .bind(now())
    .execute(pool)
    .await?
    .rows_affected()
    });
    updated_one(done, client_id)
}

/// Sets how the client authenticates at the token endpoint together with its key source, so a
/// method and keys of another method are never stored side by side (callers pass `None` for
/// the source a method does not use).
pub async fn set_token_auth(
    db: &Db,
    tenant_id: &TenantId,
    client_id: &ClientId,
    method: TokenAuthMethod,
    jwks: Option<&serde_json::Value>,
    jwks_uri: Option<&str>,
) -> StoreResult<()> {
    let done = with_db!(db, |pool| sqlx::query(
        "UPDATE clients SET token_endpoint_auth_method = $3, jwks = $4, jwks_uri = $5, \
         updated_at = $6 WHERE tenant_id = $1 AND id = $2"
    )
    .bind(tenant_id)
    .bind(client_id)
    .bind(method.as_str())
    .bind(jwks.map(|j| j.to_string()))
    .bind(jwks_uri)
    .bind(now())
    .execute(pool)
    .await?
    .rows_affected());
    updated_one(done, client_id)
}

#[cfg(test)]
mod tests {
    use super::list_or_empty;
    use crate::ids::ClientId;

    #[test]
    fn a_corrupt_list_loads_empty() {
        assert_eq!(
            list_or_empty(&ClientId::from("app"), "grant_types", r#"["a","b"]"#),
            ["a", "b"]
        );
        assert!(list_or_empty(&ClientId::from("app"), "redirect_uris", "not json").is_empty());
        assert!(list_or_empty(&ClientId::from("app"), "redirect_uris", r#"{"a":1}"#).is_empty());
    }
}
