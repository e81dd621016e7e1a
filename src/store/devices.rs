//! Trusted devices ("Trust this device"): the browser keeps a random token in an HttpOnly
//! cookie, the database its SHA-256, per user, until it expires or is revoked. Each device
//! remembers the factor set it was trusted under (`factor_set`): it vouches only while the
//! user's factors are still exactly that set.

use crate::ids::{TenantId, UserId};
use serde::Serialize;

use super::{Conn, Db, StoreResult, new_id};
use crate::{with_conn, with_db};

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct TrustedDevice {
    pub id: String,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    #[serde(skip)]
    pub token_hash: String,
    pub user_agent: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    #[serde(skip)]
    pub factor_set: Option<String>,
}

macro_rules! columns {
    () => {
        "id, tenant_id, user_id, token_hash, user_agent, created_at, last_seen_at, expires_at, \
         revoked_at, factor_set"
    };
}

pub struct NewDevice<'a> {
    pub tenant_id: &'a TenantId,
    pub user_id: &'a UserId,
    pub token_hash: &'a str,
    pub user_agent: Option<&'a str>,
    /// Fingerprint of the user's factors at the time of trust.
    pub factor_set: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

pub async fn create(conn: impl Into<Conn<'_>>, d: NewDevice<'_>) -> StoreResult<()> {
    with_conn!(conn.into(), |c| sqlx::query(
        "INSERT INTO trusted_devices (id, tenant_id, user_id, token_hash, user_agent, created_at, \
         last_seen_at, expires_at, factor_set) VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8)"
    )
    .bind(new_id())
    .bind(d.tenant_id)
    .bind(d.user_id)
    .bind(d.token_hash)
    .bind(d.user_agent)
    .bind(d.now)
    .bind(d.expires_at)
    .bind(d.factor_set)
    .execute(c)
    .await?
    .rows_affected());
    Ok(())
}

/// The live device for this token and user, trusted under exactly `factor_set`, touching
/// `last_seen_at`.
pub async fn find_valid(
    db: &Db,
    user_id: &UserId,
    token_hash: &str,
    factor_set: &str,
    now: i64,
) -> StoreResult<Option<TrustedDevice>> {
    let sql = concat!(
        "UPDATE trusted_devices SET last_seen_at = $3 WHERE user_id = $1 AND token_hash = $2 \
         AND revoked_at IS NULL AND expires_at > $3 AND factor_set = $4 RETURNING ",
        columns!()
    );
    with_db!(db, |pool| Ok(sqlx::query_as::<_, TrustedDevice>(sql)
        .bind(user_id)
        .bind(token_hash)
        .bind(now)
        .bind(factor_set)
        .fetch_optional(pool)
        .await?))
}

pub async fn list_for_user(db: &Db, user_id: &UserId, now: i64) -> StoreResult<Vec<TrustedDevice>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM trusted_devices WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
         ORDER BY created_at"
    );
    with_db!(db, |pool| Ok(sqlx::query_as::<_, TrustedDevice>(sql)
        .bind(user_id)
        .bind(now)
        .fetch_all(pool)
        .await?))
}

pub async fn revoke(
    conn: impl Into<Conn<'_>>,
    user_id: &UserId,
    id: &str,
    now: i64,
) -> StoreResult<bool> {
    let n = with_conn!(conn.into(), |c| {
        sqlx::query(
        "UPDATE trusted_devices SET revoked_at = $3 WHERE user_id = $1 AND id = $2 AND revoked_at IS NULL"
    )
    .bind(user_id)
    .bind(id)
    .bind(now)
    .execute(c)
    .await?
    .rows_affected()
    });
    Ok(n == 1)
}

/// Voids every trusted device of the user (MFA reset, factor removal).
pub async fn revoke_all_for_user(
    conn: impl Into<Conn<'_>>,
    user_id: &UserId,
    now: i64,
) -> StoreResult<u64> {
    Ok(with_conn!(conn.into(), |c| sqlx::query(
        "UPDATE trusted_devices SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL"
    )
    .bind(user_id)
    .bind(now)
    .execute(c)
    .await?
    .rows_affected()))
}
