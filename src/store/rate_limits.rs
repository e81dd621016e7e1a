//! Attempt counters with lockout, shared by every node through the database: a fixed window per
//! key (`pwd:user:...`, `pwd:ip:...`, `mfa:user:...`, ...), locked once it reaches its limit.
//!
//! Guessable inputs go through [`reserve`] *before* the guess is checked: one conditional upsert
//! counts the attempt and refuses it when the key is already at its limit, so N simultaneous
//! requests can never be evaluated more than `max_failures` times (the check-then-record pattern
//! let 80 parallel codes through a limit of 5). A success hands its reservation back with
//! [`release`] or forgets the key with [`clear`].

use super::{Db, StoreResult};
use crate::with_db;

#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max_failures: i64,
    pub window_secs: i64,
    pub lockout_secs: i64,
}

/// The outcome of [`reserve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The attempt may be evaluated; `remaining` more fit in the window after this one (0: this
    /// attempt is the last before the lock).
    Granted { remaining: i64 },
    /// The key is locked (or full) until this time; the attempt must not be evaluated.
    Refused { until: i64 },
}

impl Reservation {
    pub fn granted(&self) -> bool {
        matches!(self, Reservation::Granted { .. })
    }
}

/// Reserves one attempt on `key` atomically. The row's window restarts when it has passed (or
/// the lock has expired); otherwise the counter goes up only while it is below the limit, and the
/// attempt that reaches the limit also sets the lock. Refused when the conditional update did not
/// apply, which one statement decides on both backends (PostgreSQL locks the conflicting row,
/// SQLite has a single writer).
pub async fn reserve(db: &Db, key: &str, limit: Limit, now: i64) -> StoreResult<Reservation> {
    let max = limit.max_failures.max(1);
    let floor = now - limit.window_secs;
    let lock_until = now + limit.lockout_secs;
    // `fresh`: the stored window is over and no lock is live, so this attempt starts a new one.
    let sql = "INSERT INTO rate_limits (key, failures, window_start, locked_until) \
         VALUES ($1, 1, $2, CASE WHEN $4 <= 1 THEN $5 ELSE NULL END) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN (rate_limits.locked_until IS NULL AND rate_limits.window_start <= $3) \
                             OR rate_limits.locked_until <= $2 \
                           THEN 1 ELSE rate_limits.failures + 1 END, \
           window_start = CASE WHEN (rate_limits.locked_until IS NULL AND rate_limits.window_start <= $3) \
                                 OR rate_limits.locked_until <= $2 \
                               THEN $2 ELSE rate_limits.window_start END, \
           locked_until = CASE \
             WHEN (rate_limits.locked_until IS NULL AND rate_limits.window_start <= $3) \
                  OR rate_limits.locked_until <= $2 \
               THEN CASE WHEN $4 <= 1 THEN $5 ELSE NULL END \
             WHEN rate_limits.failures + 1 >= $4 THEN $5 \
             ELSE NULL END \
         WHERE (rate_limits.locked_until IS NULL AND rate_limits.window_start <= $3) \
            OR rate_limits.locked_until <= $2 \
            OR (rate_limits.locked_until IS NULL AND rate_limits.failures < $4) \
         RETURNING failures";
    let counted = with_db!(db, |pool| sqlx::query_scalar::<_, i64>(sql)
        .bind(key)
        .bind(now)
        .bind(floor)
        .bind(max)
        .bind(lock_until)
        .fetch_optional(pool)
        .await?);
    match counted {
        Some(n) => Ok(Reservation::Granted {
            remaining: (max - n).max(0),
        }),
        None => Ok(Reservation::Refused {
            until: locked_until(db, key, now).await?.unwrap_or(lock_until),
        }),
    }
}

/// Hands back one reservation (the attempt succeeded or was never evaluated). Lifts the lock the
/// reservation set, when it brings the count back under the limit.
pub async fn release(db: &Db, key: &str, limit: Limit) -> StoreResult<()> {
    let max = limit.max_failures.max(1);
    with_db!(db, |pool| sqlx::query(
        "UPDATE rate_limits SET failures = failures - 1, \
           locked_until = CASE WHEN failures - 1 < $2 THEN NULL ELSE locked_until END \
         WHERE key = $1 AND failures > 0"
    )
    .bind(key)
    .bind(max)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
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

/// Forgets the attempts of `key` (after a success that ends the run of failures).
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

/// Deletes counters that can refuse nothing more: no live lock, and a window that started more
/// than `longest_window` seconds ago (their next use would start a new window anyway).
pub async fn purge_idle(db: &Db, now: i64, longest_window: i64, limit: i64) -> StoreResult<u64> {
    Ok(with_db!(db, |pool| {
        sqlx::query(
        "DELETE FROM rate_limits WHERE key IN \
         (SELECT key FROM rate_limits WHERE (locked_until IS NULL OR locked_until <= $1) AND window_start <= $2 LIMIT $3)"
    )
    .bind(now)
    .bind(now - longest_window)
    .bind(limit)
    .execute(pool)
    .await?
    .rows_affected()
    }))
}
