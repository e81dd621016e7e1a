//! OAuth clients (relying parties). The secret is kept only as a SHA-256 hash: it is a 256-bit
//! random value, so a fast hash is enough and verification stays cheap at the token endpoint.

use serde::Serialize;

use super::{Db, StoreError, StoreResult, conflict, json_list, parse_json_list};
use crate::model::{ClientMfaPolicy, SigningAlg, TokenAuthMethod, TrustPolicy, now};
use crate::with_db;

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Client {
    #[serde(rename = "client_id")]
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    #[serde(skip)]
    pub secret_hash: Option<String>,
    pub is_public: bool,
    pub first_party: bool,
    #[sqlx(try_from = "String")]
    pub token_endpoint_auth_method: TokenAuthMethod,
    #[serde(serialize_with = "super::ser_json_text")]
    pub redirect_uris: String,
    #[serde(serialize_with = "super::ser_json_text")]
    pub post_logout_redirect_uris: String,
    #[serde(serialize_with = "super::ser_json_text")]
    pub grant_types: String,
    #[sqlx(try_from = "String")]
    pub mfa_policy: ClientMfaPolicy,
    #[sqlx(try_from = "String")]
    pub trust_policy: TrustPolicy,
    #[sqlx(try_from = "String")]
    pub id_token_alg: SigningAlg,
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    /// Space-separated scopes the client may request with client_credentials (RFC 7591 §2).
    pub scope: String,
    /// May receive offline access (OIDC Core §11): a grant that survives the SSO session.
    pub offline_access: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Client {
    pub fn redirect_uris(&self) -> StoreResult<Vec<String>> {
        parse_json_list(&self.redirect_uris)
    }
    pub fn post_logout_redirect_uris(&self) -> StoreResult<Vec<String>> {
        parse_json_list(&self.post_logout_redirect_uris)
    }
    pub fn grant_types(&self) -> StoreResult<Vec<String>> {
        parse_json_list(&self.grant_types)
    }
    /// The registered scopes as tokens.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }
}

/// Everything needed to register a client; `id` and `secret_hash` come from the caller so the
/// plain secret never reaches this layer.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub id: String,
    pub tenant_id: String,
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
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    /// Space-separated, already validated (see `admin::clients`); empty for none.
    pub scope: String,
    pub offline_access: bool,
}

/// The column list every query of this file selects, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "id, tenant_id, name, secret_hash, is_public, first_party, \
    token_endpoint_auth_method, redirect_uris, post_logout_redirect_uris, grant_types, \
    mfa_policy, trust_policy, id_token_alg, access_token_ttl_secs, id_token_ttl_secs, \
    refresh_token_ttl_secs, scope, offline_access, created_at, updated_at"
    };
}

pub async fn create(db: &Db, c: &NewClient) -> StoreResult<Client> {
    let sql = concat!(
        "INSERT INTO clients (",
        columns!(),
        ") VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19) \
         RETURNING ",
        columns!(),
        ""
    );
    with_db!(db, |pool| sqlx::query_as::<_, Client>(sql)
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
        .bind(now())
        .fetch_one(pool)
        .await
        .map_err(|e| conflict(
            e,
            format!("client `{}` already exists", c.id)
        )))
}

/// Looks a client up within its tenant: a client id from another tenant is unknown here.
pub async fn find(db: &Db, tenant_id: &str, client_id: &str) -> StoreResult<Option<Client>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM clients WHERE tenant_id = $1 AND id = $2"
    );
    with_db!(db, |pool| Ok(sqlx::query_as::<_, Client>(sql)
        .bind(tenant_id)
        .bind(client_id)
        .fetch_optional(pool)
        .await?))
}

pub async fn list(db: &Db, tenant_id: &str) -> StoreResult<Vec<Client>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM clients WHERE tenant_id = $1 ORDER BY created_at, id"
    );
    with_db!(db, |pool| Ok(sqlx::query_as::<_, Client>(sql)
        .bind(tenant_id)
        .fetch_all(pool)
        .await?))
}

/// Replaces the secret hash (demo re-seeding and, later, the admin "rotate secret" action).
pub async fn set_secret_hash(db: &Db, client_id: &str, secret_hash: &str) -> StoreResult<()> {
    let done = with_db!(db, |pool| sqlx::query(
        "UPDATE clients SET secret_hash = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(client_id)
    .bind(secret_hash)
    .bind(now())
    .execute(pool)
    .await?
    .rows_affected());
    if done == 0 {
        return Err(StoreError::NotFound(format!(
            "unknown client `{client_id}`"
        )));
    }
    Ok(())
}

/// Replaces the registered redirect URIs (the built-in account client follows the public URL).
pub async fn set_redirect_uris(db: &Db, client_id: &str, uris: &[String]) -> StoreResult<()> {
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
