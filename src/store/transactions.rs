//! Login transactions: the pending authorization request while the user is on the hosted pages.
//! The URL carries a random handle; only its SHA-256 is the row id. Each row is bound to the
//! browser that started it (hash of the browser cookie), so a handle lured into another browser
//! is useless there.

use super::{Db, StoreResult};
use crate::ids::{ClientId, TenantId, UserId};
use crate::with_db;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoginTransaction {
    pub id: String,
    pub tenant_id: TenantId,
    pub client_id: ClientId,
    pub browser_hash: String,
    /// JSON of the validated authorization request.
    pub request: String,
    pub stage: String,
    pub user_id: Option<UserId>,
    pub auth_time: Option<i64>,
    pub amr: String,
    /// Wrong passwords evaluated in this transaction. Not a limit (those are `rate_limits`,
    /// reserved before each check): a record of what was actually checked, which the attack
    /// tests read to prove a burst got no more evaluations than the limit allows.
    pub attempts: i64,
    /// The stage and its data (`login::tx::TxState`, JSON).
    pub state: String,
    pub created_at: i64,
    pub expires_at: i64,
}

macro_rules! columns {
    () => {
        "id, tenant_id, client_id, browser_hash, request, stage, user_id, auth_time, amr, \
         attempts, state, created_at, expires_at"
    };
}

pub async fn create(db: &Db, t: &LoginTransaction) -> StoreResult<()> {
    let sql = concat!(
        "INSERT INTO login_transactions (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    );
    with_db!(db, |pool| sqlx::query(sql)
        .bind(&t.id)
        .bind(&t.tenant_id)
        .bind(&t.client_id)
        .bind(&t.browser_hash)
        .bind(&t.request)
        .bind(&t.stage)
        .bind(t.user_id.as_deref())
        .bind(t.auth_time)
        .bind(&t.amr)
        .bind(t.attempts)
        .bind(&t.state)
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

pub async fn find(
    db: &Db,
    tenant_id: &TenantId,
    id: &str,
) -> StoreResult<Option<LoginTransaction>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM login_transactions WHERE id = $1 AND tenant_id = $2"
    );
    with_db!(db, |pool| Ok(sqlx::query_as::<_, LoginTransaction>(sql)
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(pool)
        .await?))
}

/// Moves the transaction to `stage`, but only from `from`: a replayed or out-of-order POST (back
/// button, double submit) changes nothing and the caller shows a friendly page.
pub async fn advance(db: &Db, t: &LoginTransaction, from: &str, stage: &str) -> StoreResult<bool> {
    let n = with_db!(db, |pool| sqlx::query(
        "UPDATE login_transactions SET stage = $3, user_id = $4, auth_time = $5, amr = $6, \
         state = $7 WHERE id = $1 AND stage = $2"
    )
    .bind(&t.id)
    .bind(from)
    .bind(stage)
    .bind(t.user_id.as_deref())
    .bind(t.auth_time)
    .bind(&t.amr)
    .bind(&t.state)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(n == 1)
}

/// Counts a failed attempt on this transaction and returns the new count.
pub async fn add_attempt(db: &Db, id: &str) -> StoreResult<i64> {
    with_db!(db, |pool| Ok(sqlx::query_scalar::<_, i64>(
        "UPDATE login_transactions SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts"
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .unwrap_or(i64::MAX)))
}

/// Deletes the transaction; true only for the caller that actually removed it (single finish).
pub async fn delete(db: &Db, id: &str) -> StoreResult<bool> {
    let n = with_db!(db, |pool| sqlx::query(
        "DELETE FROM login_transactions WHERE id = $1"
    )
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(n == 1)
}

pub async fn purge_expired(db: &Db, now: i64, limit: i64) -> StoreResult<u64> {
    Ok(with_db!(db, |pool| sqlx::query(
        "DELETE FROM login_transactions WHERE id IN \
         (SELECT id FROM login_transactions WHERE expires_at < $1 LIMIT $2)"
    )
    .bind(now)
    .bind(limit)
    .execute(pool)
    .await?
    .rows_affected()))
}

/// How many transactions are stored (live or expired): what request limits are measured by.
pub async fn count(db: &Db) -> StoreResult<i64> {
    with_db!(db, |pool| Ok(sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM login_transactions"
    )
    .fetch_one(pool)
    .await?))
}
