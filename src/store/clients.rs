//! OAuth clients (relying parties). The secret is kept only as a SHA-256 hash: it is a 256-bit
//! random value, so a fast hash is enough and verification stays cheap at the token endpoint.

use crate::ids::{ClientId, TenantId};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Db, StoreError, StoreResult, conflict, json_list};
use crate::model::{ClientMfaPolicy, SigningAlg, TokenAuthMethod, TrustPolicy, now};
use crate::with_db;

#[macro_use]
mod row;
use row::ClientRow;

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
    /// Bumped by every change of the row (migration 0020): the admin API's `ETag`.
    pub version: i64,
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

/// Changes of clients this process made (each write below bumps it after the statement): the
/// client cache of this node drops its copies at once on a local change, without waiting for
/// the database's change counter ([`epoch`]) to be polled.
static LOCAL_WRITES: AtomicU64 = AtomicU64::new(0);

pub fn local_writes() -> u64 {
    LOCAL_WRITES.load(Ordering::Acquire)
}

fn wrote() {
    LOCAL_WRITES.fetch_add(1, Ordering::AcqRel);
}

/// The change counter of the clients table (migration 0024: a trigger bumps it on every
/// insert, update or delete, by any process): what each node's client cache polls.
pub async fn epoch(db: &Db) -> StoreResult<i64> {
    let sql = "SELECT epoch FROM change_epochs WHERE name = 'clients'";
    Ok(with_db!(db, |pool| sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await?))
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
    wrote();
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
    wrote();
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
    let done = with_db!(db, |pool| {
        sqlx::query(
        "UPDATE clients SET secret_hash = $2, updated_at = $3, version = version + 1 WHERE id = $1"
    )
    .bind(client_id)
    .bind(secret_hash)
    .bind(now())
    .execute(pool)
    .await?
    .rows_affected()
    });
    wrote();
    updated_one(done, client_id)
}

/// Replaces the registered redirect URIs (the built-in account client follows the public URL).
pub async fn set_redirect_uris(db: &Db, client_id: &ClientId, uris: &[String]) -> StoreResult<()> {
    with_db!(db, |pool| {
        sqlx::query(
        "UPDATE clients SET redirect_uris = $2, updated_at = $3, version = version + 1 WHERE id = $1"
    )
    .bind(client_id)
    .bind(json_list(uris))
    .bind(now())
    .execute(pool)
    .await?
    .rows_affected()
    });
    wrote();
    Ok(())
}

/// What [`update`] changes; `None` keeps the column. Lists and values are already validated
/// (`admin::clients`).
#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub first_party: Option<bool>,
    pub mfa_policy: Option<ClientMfaPolicy>,
    pub trust_policy: Option<TrustPolicy>,
    pub id_token_alg: Option<SigningAlg>,
    pub access_token_alg: Option<SigningAlg>,
    pub access_token_ttl_secs: Option<i64>,
    pub id_token_ttl_secs: Option<i64>,
    pub refresh_token_ttl_secs: Option<i64>,
    pub scope: Option<String>,
    pub offline_access: Option<bool>,
    pub web_origins: Option<Vec<String>>,
    /// `Some(None)` removes the URI.
    pub backchannel_logout_uri: Option<Option<String>>,
    pub backchannel_logout_session_required: Option<bool>,
    /// With a method, `jwks` and `jwks_uri` replace the key source as given (both `None` for
    /// a method without keys), so a method and another method's keys never sit side by side.
    pub token_endpoint_auth_method: Option<TokenAuthMethod>,
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
    /// `If-Match`: apply only to this version of the row.
    pub expected_version: Option<i64>,
}

/// Applies `c` in one statement, the version check included, so two writers holding the same
/// version cannot both succeed (the second matches no row and gets `Stale`).
pub async fn update(
    db: &Db,
    tenant_id: &TenantId,
    client_id: &ClientId,
    c: &ClientChanges,
) -> StoreResult<Client> {
    let sql = concat!(
        "UPDATE clients SET name = COALESCE($3, name), \
         redirect_uris = COALESCE($4, redirect_uris), \
         post_logout_redirect_uris = COALESCE($5, post_logout_redirect_uris), \
         first_party = COALESCE($6, first_party), mfa_policy = COALESCE($7, mfa_policy), \
         trust_policy = COALESCE($8, trust_policy), id_token_alg = COALESCE($9, id_token_alg), \
         access_token_alg = COALESCE($10, access_token_alg), \
         access_token_ttl_secs = COALESCE($11, access_token_ttl_secs), \
         id_token_ttl_secs = COALESCE($12, id_token_ttl_secs), \
         refresh_token_ttl_secs = COALESCE($13, refresh_token_ttl_secs), \
         scope = COALESCE($14, scope), offline_access = COALESCE($15, offline_access), \
         web_origins = COALESCE($16, web_origins), \
         backchannel_logout_uri = CASE WHEN $17 THEN $18 ELSE backchannel_logout_uri END, \
         backchannel_logout_session_required = \
             COALESCE($19, backchannel_logout_session_required), \
         token_endpoint_auth_method = CASE WHEN $20 THEN $21 ELSE token_endpoint_auth_method END, \
         jwks = CASE WHEN $20 THEN $22 ELSE jwks END, \
         jwks_uri = CASE WHEN $20 THEN $23 ELSE jwks_uri END, \
         updated_at = $24, version = version + 1 \
         WHERE tenant_id = $1 AND id = $2 AND ($25 IS NULL OR version = $25) RETURNING ",
        select_columns!(),
        ""
    );
    let row = with_db!(db, |pool| sqlx::query_as::<_, ClientRow>(sql)
        .bind(tenant_id)
        .bind(client_id)
        .bind(c.name.as_deref())
        .bind(c.redirect_uris.as_deref().map(json_list))
        .bind(c.post_logout_redirect_uris.as_deref().map(json_list))
        .bind(c.first_party)
        .bind(c.mfa_policy.map(|p| p.as_str()))
        .bind(c.trust_policy.map(|p| p.as_str()))
        .bind(c.id_token_alg.map(|a| a.as_str()))
        .bind(c.access_token_alg.map(|a| a.as_str()))
        .bind(c.access_token_ttl_secs)
        .bind(c.id_token_ttl_secs)
        .bind(c.refresh_token_ttl_secs)
        .bind(c.scope.as_deref())
        .bind(c.offline_access)
        .bind(c.web_origins.as_deref().map(json_list))
        .bind(c.backchannel_logout_uri.is_some())
        .bind(c.backchannel_logout_uri.clone().flatten())
        .bind(c.backchannel_logout_session_required)
        .bind(c.token_endpoint_auth_method.is_some())
        .bind(c.token_endpoint_auth_method.map(|m| m.as_str()))
        .bind(c.jwks.as_ref().map(|j| j.to_string()))
        .bind(c.jwks_uri.as_deref())
        .bind(now())
        .bind(c.expected_version)
        .fetch_optional(pool)
        .await?);
    wrote();
    match row {
        Some(r) => Ok(r.into()),
        None if c.expected_version.is_some() && find(db, tenant_id, client_id).await?.is_some() => {
            Err(StoreError::Stale(format!(
                "client `{client_id}` changed since version {}",
                c.expected_version.unwrap_or_default()
            )))
        }
        None => Err(StoreError::NotFound(format!(
            "unknown client `{client_id}`"
        ))),
    }
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
         updated_at = $6, version = version + 1 WHERE tenant_id = $1 AND id = $2"
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
    wrote();
    updated_one(done, client_id)
}
