//! Grants: one row per authorization (the `grant_id` shared by a code and every token minted
//! from it). The row is what makes revocation stick: a grant revoked while a redemption is
//! still minting leaves tokens behind in `access_tokens`/`refresh_tokens`, but every use of a
//! token asks [`live`] first (DESIGN.md §9: revoked grants are kept until they would expire).
//!
//! A grant is bound to the SSO session it came from unless `offline_access` was granted
//! (OIDC Core §11): ending the session revokes it, and it never outlives the session's expiry.

use super::{Db, StoreResult};
use crate::ids::{ClientId, TenantId, UserId};
use crate::with_db;

/// A grant about to be opened (at the first redemption of its code).
pub struct NewGrant<'a> {
    pub id: &'a str,
    pub tenant_id: &'a TenantId,
    pub client_id: &'a ClientId,
    pub user_id: &'a UserId,
    pub session_id: Option<&'a str>,
    pub offline: bool,
    /// The authorization's `claims` request parameter (JSON text), for UserInfo.
    pub claims: Option<&'a str>,
    pub now: i64,
    pub expires_at: i64,
}

/// What a token's use needs from its live grant.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveGrant {
    /// The `claims` request parameter of the authorization (JSON text).
    pub claims: Option<String>,
}

/// Opens the grant; a grant that already exists (revoked by a concurrent code reuse, say) is
/// left exactly as it is.
pub async fn open(db: &Db, g: &NewGrant<'_>) -> StoreResult<()> {
    write(db, g, false).await
}

/// Revokes a grant that may not have been opened yet (a reused code whose first redemption is
/// still running): the row is written revoked, so the later [`open`] finds it dead.
pub async fn revoke_or_block(db: &Db, g: &NewGrant<'_>) -> StoreResult<()> {
    write(db, g, true).await
}

/// One statement for both: insert the grant (revoked when `revoked`); an existing row keeps its
/// data and only ever gains a revocation, never loses one.
async fn write(db: &Db, g: &NewGrant<'_>, revoked: bool) -> StoreResult<()> {
    with_db!(db, |pool| sqlx::query(
        "INSERT INTO grants (id, tenant_id, client_id, user_id, session_id, offline, created_at, \
         expires_at, revoked_at, claims) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
         CASE WHEN $9 THEN $7 ELSE NULL END, $10) \
         ON CONFLICT (id) DO UPDATE SET revoked_at = \
         CASE WHEN $9 THEN COALESCE(grants.revoked_at, $7) ELSE grants.revoked_at END"
    )
    .bind(g.id)
    .bind(g.tenant_id)
    .bind(g.client_id)
    .bind(g.user_id)
    .bind(g.session_id)
    .bind(g.offline)
    .bind(g.now)
    .bind(g.expires_at)
    .bind(revoked)
    .bind(g.claims)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}

/// True when tokens of this grant may be minted or used right now.
pub async fn live(db: &Db, tenant_id: &TenantId, id: &str, now: i64) -> StoreResult<bool> {
    Ok(find_live(db, tenant_id, id, now).await?.is_some())
}

/// The grant, when tokens of it may be minted or used right now.
pub async fn find_live(
    db: &Db,
    tenant_id: &TenantId,
    id: &str,
    now: i64,
) -> StoreResult<Option<LiveGrant>> {
    Ok(with_db!(db, |pool| sqlx::query_as::<_, LiveGrant>(
        "SELECT claims FROM grants WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL \
         AND expires_at > $3"
    )
    .bind(id)
    .bind(tenant_id)
    .bind(now)
    .fetch_optional(pool)
    .await?))
}

/// The clients (and the user) that got tokens in this SSO session: its grants, revoked or not.
pub async fn clients_of_session(
    db: &Db,
    tenant_id: &TenantId,
    session_id: &str,
) -> StoreResult<Vec<(ClientId, UserId)>> {
    Ok(with_db!(db, |pool| sqlx::query_as(
        "SELECT DISTINCT client_id, user_id FROM grants WHERE tenant_id = $1 AND session_id = $2 \
         ORDER BY client_id"
    )
    .bind(tenant_id)
    .bind(session_id)
    .fetch_all(pool)
    .await?))
}

/// Revokes one grant; idempotent.
pub async fn revoke(db: &Db, tenant_id: &TenantId, id: &str, now: i64) -> StoreResult<u64> {
    Ok(with_db!(db, |pool| sqlx::query(
        "UPDATE grants SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 \
         AND revoked_at IS NULL"
    )
    .bind(tenant_id)
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected()))
}

/// Revokes the session-bound grants of one SSO session (offline grants survive).
pub async fn revoke_for_session(
    db: &Db,
    tenant_id: &TenantId,
    session_id: &str,
    now: i64,
) -> StoreResult<u64> {
    Ok(with_db!(db, |pool| sqlx::query(
        "UPDATE grants SET revoked_at = $3 WHERE tenant_id = $1 AND session_id = $2 \
         AND offline = FALSE AND revoked_at IS NULL"
    )
    .bind(tenant_id)
    .bind(session_id)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected()))
}

/// Revokes every live grant of a client (the client is being deleted), offline ones included.
pub async fn revoke_for_client(
    db: &Db,
    tenant_id: &TenantId,
    client_id: &ClientId,
    now: i64,
) -> StoreResult<u64> {
    Ok(with_db!(db, |pool| sqlx::query(
        "UPDATE grants SET revoked_at = $3 WHERE tenant_id = $1 AND client_id = $2 \
         AND revoked_at IS NULL"
    )
    .bind(tenant_id)
    .bind(client_id)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected()))
}

/// Revokes the grants of every session of the user except `keep` (`""`: none): the
/// session-bound ones, and the offline ones too when `offline_too`.
pub async fn revoke_for_user(
    db: &Db,
    tenant_id: &TenantId,
    user_id: &UserId,
    keep: &str,
    offline_too: bool,
    now: i64,
) -> StoreResult<u64> {
    Ok(with_db!(db, |pool| sqlx::query(
        "UPDATE grants SET revoked_at = $4 WHERE tenant_id = $1 AND user_id = $2 \
         AND COALESCE(session_id, '') <> $3 AND (offline = FALSE OR $5) AND revoked_at IS NULL"
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(keep)
    .bind(now)
    .bind(offline_too)
    .execute(pool)
    .await?
    .rows_affected()))
}

/// Moves the live session-bound grants of `old` to `new` (a new sign-in in the same browser by
/// the same user continues the session under a new id), with the new session's expiry.
pub async fn rebind_session(
    db: &Db,
    tenant_id: &TenantId,
    old: &str,
    new: &str,
    expires_at: i64,
) -> StoreResult<u64> {
    Ok(with_db!(db, |pool| sqlx::query(
        "UPDATE grants SET session_id = $3, expires_at = $4 WHERE tenant_id = $1 \
         AND session_id = $2 AND offline = FALSE AND revoked_at IS NULL"
    )
    .bind(tenant_id)
    .bind(old)
    .bind(new)
    .bind(expires_at)
    .execute(pool)
    .await?
    .rows_affected()))
}

/// Removes grants that expired more than a day ago, like their tokens.
pub async fn purge_expired(db: &Db, now: i64, limit: i64) -> StoreResult<u64> {
    Ok(with_db!(db, |pool| sqlx::query(
        "DELETE FROM grants WHERE id IN \
         (SELECT id FROM grants WHERE expires_at < $1 LIMIT $2)"
    )
    .bind(now - 86_400)
    .bind(limit)
    .execute(pool)
    .await?
    .rows_affected()))
}
