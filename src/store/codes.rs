//! Authorization codes: stored as SHA-256, 60 s lifetime, single use. Spending is one atomic
//! `UPDATE ... WHERE used_at IS NULL`, so two concurrent redemptions cannot both win; the loser
//! learns the code was reused and the token endpoint revokes the grant (RFC 6749 §4.1.2, OAuth
//! Security BCP §4.5). The token endpoint [`find`]s the code and checks its binding before it
//! [`spend`]s it; the account pages, which own their codes, [`redeem`] in one step.

use super::{Db, StoreResult};
use crate::ids::{ClientId, TenantId, UserId};
use crate::with_db;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuthCode {
    /// SHA-256 of the code.
    pub id: String,
    pub grant_id: String,
    pub tenant_id: TenantId,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub session_id: Option<String>,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub auth_time: i64,
    /// JSON list of RFC 8176 methods.
    pub amr: String,
    pub acr: String,
    /// JSON of the `claims` request parameter, if any.
    pub claims: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

macro_rules! columns {
    () => {
        "id, grant_id, tenant_id, client_id, user_id, session_id, redirect_uri, scope, nonce, \
         code_challenge, code_challenge_method, auth_time, amr, acr, claims, created_at, \
         expires_at, used_at"
    };
}

pub async fn create(db: &Db, c: &AuthCode) -> StoreResult<()> {
    let sql = concat!(
        "INSERT INTO authorization_codes (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, NULL)"
    );
    with_db!(db, |pool| sqlx::query(sql)
        .bind(&c.id)
        .bind(&c.grant_id)
        .bind(&c.tenant_id)
        .bind(&c.client_id)
        .bind(&c.user_id)
        .bind(c.session_id.as_deref())
        .bind(&c.redirect_uri)
        .bind(&c.scope)
        .bind(c.nonce.as_deref())
        .bind(c.code_challenge.as_deref())
        .bind(c.code_challenge_method.as_deref())
        .bind(c.auth_time)
        .bind(&c.amr)
        .bind(&c.acr)
        .bind(c.claims.as_deref())
        .bind(c.created_at)
        .bind(c.expires_at)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

#[derive(Debug)]
pub enum Redeemed {
    /// First use: the code is now spent.
    Fresh(AuthCode),
    /// Already used before: the caller must revoke everything minted from `grant_id`.
    Reused(AuthCode),
    Unknown,
}

pub async fn redeem(
    db: &Db,
    code_hash: &str,
    tenant_id: &TenantId,
    now: i64,
) -> StoreResult<Redeemed> {
    let update = concat!(
        "UPDATE authorization_codes SET used_at = $3 WHERE id = $1 AND tenant_id = $2 \
         AND used_at IS NULL RETURNING ",
        columns!()
    );
    let fresh = with_db!(db, |pool| sqlx::query_as::<_, AuthCode>(update)
        .bind(code_hash)
        .bind(tenant_id)
        .bind(now)
        .fetch_optional(pool)
        .await?);
    if let Some(c) = fresh {
        return Ok(Redeemed::Fresh(c));
    }
    let select = concat!(
        "SELECT ",
        columns!(),
        " FROM authorization_codes WHERE id = $1 AND tenant_id = $2"
    );
    let old = with_db!(db, |pool| sqlx::query_as::<_, AuthCode>(select)
        .bind(code_hash)
        .bind(tenant_id)
        .fetch_optional(pool)
        .await?);
    Ok(old.map_or(Redeemed::Unknown, Redeemed::Reused))
}

/// The code row, spent or not, without touching it: the token endpoint checks who presents it
/// before anything changes.
pub async fn find(db: &Db, code_hash: &str, tenant_id: &TenantId) -> StoreResult<Option<AuthCode>> {
    let select = concat!(
        "SELECT ",
        columns!(),
        " FROM authorization_codes WHERE id = $1 AND tenant_id = $2"
    );
    with_db!(db, |pool| Ok(sqlx::query_as::<_, AuthCode>(select)
        .bind(code_hash)
        .bind(tenant_id)
        .fetch_optional(pool)
        .await?))
}

/// Spends the code atomically: true for exactly one of several concurrent callers.
pub async fn spend(db: &Db, code_hash: &str, tenant_id: &TenantId, now: i64) -> StoreResult<bool> {
    let n = with_db!(db, |pool| sqlx::query(
        "UPDATE authorization_codes SET used_at = $3 WHERE id = $1 AND tenant_id = $2 \
         AND used_at IS NULL"
    )
    .bind(code_hash)
    .bind(tenant_id)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(n == 1)
}

/// Removes codes that expired more than a day ago (kept that long to detect late reuse).
pub async fn purge_expired(db: &Db, now: i64, limit: i64) -> StoreResult<u64> {
    Ok(with_db!(db, |pool| sqlx::query(
        "DELETE FROM authorization_codes WHERE id IN \
         (SELECT id FROM authorization_codes WHERE expires_at < $1 LIMIT $2)"
    )
    .bind(now - 86_400)
    .bind(limit)
    .execute(pool)
    .await?
    .rows_affected()))
}
