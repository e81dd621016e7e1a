//! The audit log: who did what to whom, append-only. `detail` is JSON and must never hold a
//! secret (callers pass ids, names and reasons only).

use crate::ids::{TenantId, UserId};
use serde::Serialize;

use super::{Conn, Db, StoreResult, new_id};
use crate::model::now;
use crate::{with_conn, with_db};

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct AuditEvent {
    pub id: String,
    pub tenant_id: Option<TenantId>,
    pub user_id: Option<UserId>,
    pub actor: String,
    pub event: String,
    pub detail: String,
    pub ip: Option<String>,
    pub created_at: i64,
}

/// One event to record. `actor` is `cli`, `admin:<key id>`, `user:<id>` or `system`.
#[derive(Debug, Clone, Default)]
pub struct NewEvent<'a> {
    pub tenant_id: Option<&'a TenantId>,
    pub user_id: Option<&'a UserId>,
    pub actor: &'a str,
    pub event: &'a str,
    pub detail: serde_json::Value,
    pub ip: Option<&'a str>,
}

/// Appends one event. Inside a change's transaction (`&mut Tx`) it commits or rolls back with
/// the change, so a change whose audit event cannot be written does not happen.
pub async fn record(conn: impl Into<Conn<'_>>, e: NewEvent<'_>) -> StoreResult<()> {
    let detail = if e.detail.is_null() {
        "{}".to_string()
    } else {
        e.detail.to_string()
    };
    with_conn!(conn.into(), |c| sqlx::query(
        "INSERT INTO audit_events (id, tenant_id, user_id, actor, event, detail, ip, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    .bind(new_id())
    .bind(e.tenant_id)
    .bind(e.user_id)
    .bind(e.actor)
    .bind(e.event)
    .bind(detail)
    .bind(e.ip)
    .bind(now())
    .execute(c)
    .await?
    .rows_affected());
    Ok(())
}

/// How many events named `event` a tenant recorded since `since` (the admin's SMS counters).
pub async fn count_since(
    db: &Db,
    tenant_id: &TenantId,
    event: &str,
    since: i64,
) -> StoreResult<i64> {
    with_db!(db, |pool| Ok(sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM audit_events WHERE tenant_id = $1 AND event = $2 AND created_at >= $3"
    )
    .bind(tenant_id)
    .bind(event)
    .bind(since)
    .fetch_one(pool)
    .await?))
}

pub async fn list_for_tenant(
    db: &Db,
    tenant_id: &TenantId,
    limit: i64,
) -> StoreResult<Vec<AuditEvent>> {
    with_db!(db, |pool| Ok(sqlx::query_as::<_, AuditEvent>(
        "SELECT id, tenant_id, user_id, actor, event, detail, ip, created_at FROM audit_events \
         WHERE tenant_id = $1 ORDER BY created_at DESC, id LIMIT $2"
    )
    .bind(tenant_id)
    .bind(limit)
    .fetch_all(pool)
    .await?))
}

/// The newest events of one user in a tenant.
pub async fn list_for_user(
    db: &Db,
    tenant_id: &TenantId,
    user_id: &UserId,
    limit: i64,
) -> StoreResult<Vec<AuditEvent>> {
    with_db!(db, |pool| Ok(sqlx::query_as::<_, AuditEvent>(
        "SELECT id, tenant_id, user_id, actor, event, detail, ip, created_at FROM audit_events \
         WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at DESC, id LIMIT $3"
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(limit)
    .fetch_all(pool)
    .await?))
}

/// What an audit search keeps; every field narrows it. Events come newest first.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub user_id: Option<UserId>,
    /// An exact event name (`mfa.reset`).
    pub event: Option<String>,
    /// Events whose detail names this client (`"client_id"`), e.g. `login.mfa_decision`.
    pub client_id: Option<String>,
    /// `created_at >= since` (unix seconds).
    pub since: Option<i64>,
    /// `created_at < until`.
    pub until: Option<i64>,
    /// Strictly older than this `(created_at, id)`: the last event of the previous page.
    pub before: Option<(i64, String)>,
}

/// One page of a tenant's events matching `f`, newest first (`created_at`, then `id`, both
/// descending, so a cursor never skips or repeats an event written in the same second).
pub async fn search(
    db: &Db,
    tenant_id: &TenantId,
    f: &Filter,
    limit: i64,
) -> StoreResult<Vec<AuditEvent>> {
    // `detail` is compact JSON written by serde_json, so a client is `"client_id":"<id>"`;
    // LIKE's wildcards in the id are escaped.
    let client = f
        .client_id
        .as_ref()
        .map(|c| format!("%\"client_id\":\"{}\"%", super::escape_like(c)));
    let (before_time, before_id) = f.before.clone().unwrap_or((i64::MAX, String::new()));
    with_db!(db, |pool| Ok(sqlx::query_as::<_, AuditEvent>(
        "SELECT id, tenant_id, user_id, actor, event, detail, ip, created_at FROM audit_events \
         WHERE tenant_id = $1 AND ($2 IS NULL OR user_id = $2) AND ($3 IS NULL OR event = $3) \
         AND ($4 IS NULL OR detail LIKE $4 ESCAPE '\\') \
         AND created_at >= $5 AND created_at < $6 \
         AND (created_at < $7 OR (created_at = $7 AND ($8 = '' OR id < $8))) \
         ORDER BY created_at DESC, id DESC LIMIT $9"
    )
    .bind(tenant_id)
    .bind(f.user_id.as_ref())
    .bind(f.event.as_ref())
    .bind(client.as_ref())
    .bind(f.since.unwrap_or(i64::MIN))
    .bind(f.until.unwrap_or(i64::MAX))
    .bind(before_time)
    .bind(before_id)
    .bind(limit)
    .fetch_all(pool)
    .await?))
}

/// How many of each event the tenant recorded since `since`.
pub async fn counts_since(
    db: &Db,
    tenant_id: &TenantId,
    since: i64,
) -> StoreResult<Vec<(String, i64)>> {
    with_db!(db, |pool| Ok(sqlx::query_as::<_, (String, i64)>(
        "SELECT event, COUNT(*) FROM audit_events WHERE tenant_id = $1 AND created_at >= $2 \
         GROUP BY event"
    )
    .bind(tenant_id)
    .bind(since)
    .fetch_all(pool)
    .await?))
}

/// How many `login.mfa_decision` events since `since` have each of `patterns` in their detail
/// (all of them: `["\"outcome\":\"pass\"", "\"acr\":\"pwd\""]`). `detail` is compact JSON
/// and a quote inside a string value is escaped, so a pattern cannot match inside one.
pub async fn count_decisions(
    db: &Db,
    tenant_id: &TenantId,
    since: i64,
    patterns: [&str; 2],
) -> StoreResult<i64> {
    let like = |p: &str| format!("%{p}%");
    with_db!(db, |pool| Ok(sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM audit_events WHERE tenant_id = $1 AND created_at >= $2 \
         AND event = 'login.mfa_decision' AND detail LIKE $3 AND detail LIKE $4"
    )
    .bind(tenant_id)
    .bind(since)
    .bind(like(patterns[0]))
    .bind(like(patterns[1]))
    .fetch_one(pool)
    .await?))
}
