//! The admin console's own rows: who may use it (`console_admins`) and its sessions
//! (`console_sessions`, cookie value stored as SHA-256). A console session lives only while
//! the SSO session that made it does, is idle for at most the console's idle timeout, and
//! never outlives its absolute lifetime; each check of it is one statement that also records
//! the visit.

use super::{Db, StoreResult};
use crate::ids::{TenantId, UserId};
use crate::with_db;

/// What a console admin may see and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminScope {
    /// Every tenant.
    Platform,
    /// One tenant only.
    Tenant(TenantId),
}

impl AdminScope {
    pub fn covers(&self, tenant: &TenantId) -> bool {
        match self {
            AdminScope::Platform => true,
            AdminScope::Tenant(t) => t == tenant,
        }
    }
}

/// Makes the user a console admin (or changes their scope).
pub async fn grant(
    db: &Db,
    user_id: &UserId,
    tenant_id: Option<&TenantId>,
    now: i64,
) -> StoreResult<()> {
    with_db!(db, |pool| sqlx::query(
        "INSERT INTO console_admins (user_id, tenant_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET tenant_id = excluded.tenant_id"
    )
    .bind(user_id)
    .bind(tenant_id)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}

/// The user's console scope; `None` when they are no console admin.
pub async fn scope(db: &Db, user_id: &UserId) -> StoreResult<Option<AdminScope>> {
    let row: Option<(Option<TenantId>,)> = with_db!(db, |pool| sqlx::query_as(
        "SELECT tenant_id FROM console_admins WHERE user_id = $1"
    )
    .bind(user_id)
    .fetch_optional(pool)
    .await?);
    Ok(row.map(|(t,)| t.map_or(AdminScope::Platform, AdminScope::Tenant)))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConsoleSession {
    pub id: String,
    pub user_id: UserId,
    pub sso_session_id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub mfa_at: i64,
    pub expires_at: i64,
}

pub struct NewConsoleSession<'a> {
    pub id_hash: &'a str,
    pub user_id: &'a UserId,
    pub sso_session_id: &'a str,
    pub mfa_at: i64,
    pub now: i64,
    pub lifetime_secs: i64,
}

pub async fn create(db: &Db, s: &NewConsoleSession<'_>) -> StoreResult<()> {
    with_db!(db, |pool| sqlx::query(
        "INSERT INTO console_sessions \
         (id, user_id, sso_session_id, created_at, last_seen_at, mfa_at, expires_at) \
         VALUES ($1, $2, $3, $4, $4, $5, $6)"
    )
    .bind(s.id_hash)
    .bind(s.user_id)
    .bind(s.sso_session_id)
    .bind(s.now)
    .bind(s.mfa_at)
    .bind(s.now + s.lifetime_secs)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}

/// The live session with this hash, its visit recorded: not past its lifetime, not idle for
/// `idle_secs` or longer, and its SSO session neither ended nor expired. One UPDATE, so a
/// session that went idle cannot be revived by two requests racing.
pub async fn touch(
    db: &Db,
    id_hash: &str,
    now: i64,
    idle_secs: i64,
) -> StoreResult<Option<ConsoleSession>> {
    let sql = "UPDATE console_sessions SET last_seen_at = $2 \
         WHERE id = $1 AND expires_at > $2 AND last_seen_at > $3 \
         AND EXISTS (SELECT 1 FROM sso_sessions s WHERE s.id = console_sessions.sso_session_id \
                     AND s.ended_at IS NULL AND s.expires_at > $2) \
         RETURNING id, user_id, sso_session_id, created_at, last_seen_at, mfa_at, expires_at";
    Ok(with_db!(db, |pool| sqlx::query_as::<_, ConsoleSession>(
        sql
    )
    .bind(id_hash)
    .bind(now)
    .bind(now - idle_secs)
    .fetch_optional(pool)
    .await?))
}

pub async fn end(db: &Db, id_hash: &str) -> StoreResult<()> {
    with_db!(db, |pool| sqlx::query(
        "DELETE FROM console_sessions WHERE id = $1"
    )
    .bind(id_hash)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}

/// Removes sessions past their lifetime or idle for a day (an idle one is already refused).
pub async fn purge_expired(db: &Db, now: i64, limit: i64) -> StoreResult<u64> {
    Ok(with_db!(db, |pool| sqlx::query(
        "DELETE FROM console_sessions WHERE id IN \
         (SELECT id FROM console_sessions WHERE expires_at < $1 OR last_seen_at < $2 LIMIT $3)"
    )
    .bind(now)
    .bind(now - 86_400)
    .bind(limit)
    .execute(pool)
    .await?
    .rows_affected()))
}
