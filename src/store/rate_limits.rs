//! Failure counters with lockout, shared by every node through the database: a fixed window per
//! key (`pwd:acct:...`, `pwd:ip:...`, later `mfa:user:...`), locked once it reaches its limit.

use super::{Db, StoreResult};
use crate::with_db;

#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max_failures: i64,
    pub window_secs: i64,
    pub lockout_secs: i64,
}

/// When the key is locked, until when.
pub async fn locked_until(db: &Db, key: &str, now: i64) -> StoreResult<Option<i64>> {
    let until = with_db!(db, |pool| sqlx::query_scalar::<_, Option<i64>>(
        "SELECT locked_until FROM rate_limits WHERE key = $1"
    )
    .bind(key)
    .fetch_optional(pool)
    .await?);
    Ok(until.flatten().filter(|t| *t > now))
}

/// Counts one failure; returns `Some(until)` when this failure locked the key.
pub async fn record_failure(
    db: &Db,
    key: &str,
    limit: Limit,
    now: i64,
) -> StoreResult<Option<i64>> {
    let window_floor = now - limit.window_secs;
    let failures = with_db!(db, |pool| {
        sqlx::query_scalar::<_, i64>(
        "INSERT INTO rate_limits (key, failures, window_start, locked_until) VALUES ($1, 1, $2, NULL) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.failures + 1 END, \
           window_start = CASE WHEN rate_limits.window_start <= $3 THEN $2 ELSE rate_limits.window_start END \
         RETURNING failures"
    )
    .bind(key)
    .bind(now)
    .bind(window_floor)
    .fetch_one(pool)
    .await?
    });
    if failures >= limit.max_failures {
        let until = now + limit.lockout_secs;
        with_db!(db, |pool| {
            sqlx::query(
            "UPDATE rate_limits SET locked_until = $2, failures = 0, window_start = $3 WHERE key = $1"
        )
        .bind(key)
        .bind(until)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected()
        });
        return Ok(Some(until));
    }
    Ok(None)
}

/// Forgets the failures of `key` (after a success).
pub async fn clear(db: &Db, key: &str) -> StoreResult<()> {
    with_db!(db, |pool| sqlx::query(
        "DELETE FROM rate_limits WHERE key = $1"
    )
    .bind(key)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}
