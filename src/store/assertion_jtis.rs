//! Used `jti` values of client assertions (RFC 7523 §3 item 7, OIDC Core §9): each may be
//! presented once. The INSERT itself is the reservation, so of two requests carrying the same
//! assertion at the same instant exactly one inserts the row and the other is refused.

use super::{Db, StoreResult};
use crate::ids::{ClientId, TenantId};
use crate::with_db;

/// Records `jti` for the client until `expires_at` (the assertion's `exp`). `false`: it was
/// already used, so the assertion is a replay.
pub async fn reserve(
    db: &Db,
    tenant_id: &TenantId,
    client_id: &ClientId,
    jti: &str,
    expires_at: i64,
) -> StoreResult<bool> {
    let inserted = with_db!(db, |pool| sqlx::query(
        "INSERT INTO client_assertion_jtis (tenant_id, client_id, jti, expires_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
    )
    .bind(tenant_id)
    .bind(client_id)
    .bind(jti)
    .bind(expires_at)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(inserted == 1)
}

/// Deletes the jti of assertions that expired before `before`: such an assertion is refused
/// for its `exp` already, so its row guards nothing.
pub async fn purge_expired(db: &Db, before: i64, limit: i64) -> StoreResult<u64> {
    Ok(with_db!(db, |pool| {
        sqlx::query(
        "DELETE FROM client_assertion_jtis WHERE (tenant_id, client_id, jti) IN \
         (SELECT tenant_id, client_id, jti FROM client_assertion_jtis WHERE expires_at < $1 LIMIT $2)"
    )
    .bind(before)
    .bind(limit)
    .execute(pool)
    .await?
    .rows_affected()
    }))
}
