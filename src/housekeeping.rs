//! Periodic clean-up of expired single-use rows, so tables of codes, transactions, tokens,
//! one-time codes and attempt counters do not grow forever. On several nodes one sweeps at a
//! time: each sweep first takes a PostgreSQL advisory lock and a node that finds it taken skips
//! its turn (every statement is an idempotent DELETE, so two sweeps would be safe, only
//! wasteful). Rows go in batches of [`BATCH`], so a backlog (a node down for a week) never
//! becomes one long statement holding locks that sign-ins wait behind.

use std::time::Duration;

use crate::config::Config;
use crate::store::{self, Db, StoreResult};

/// Rows one DELETE removes at most; a table with more is emptied by further batches.
pub const BATCH: i64 = 1000;
/// Batches per table per sweep: a bigger backlog waits for the next sweep.
const MAX_BATCHES: usize = 100;
/// The advisory lock of the sweep (any fixed number no other Gatehouse lock uses).
pub const SWEEP_LOCK: i64 = 0x0047_4853_5745_4550;

/// The one day every daily cap (mails per user) counts over.
const DAY_SECS: i64 = 86_400;

/// The longest window any attempt counter uses: a counter row older than this, and not locked,
/// can refuse nothing more and would restart at its next use anyway, so it may go.
pub fn longest_limit_window(cfg: &Config) -> i64 {
    [
        DAY_SECS,
        cfg.login.failure_window_secs,
        cfg.login.transaction_window_secs,
        cfg.login.transaction_ttl_secs,
        cfg.otp.failure_window_secs,
        cfg.otp.resend_interval_secs,
    ]
    .into_iter()
    .max()
    .unwrap_or(DAY_SECS)
}

/// Deletes what expired before `now` (codes and tokens are kept a day longer, so a late reuse is
/// still recognised as reuse; client-assertion jti until their assertion can no longer pass)
/// and attempt counters idle for longer than `limit_window`. Returns how many rows went.
pub async fn sweep(db: &Db, now: i64, limit_window: i64) -> StoreResult<u64> {
    // An assertion is refused once `exp` is this far behind, so its jti guards nothing more.
    let skew = crate::oidc::client_assertion::CLOCK_SKEW_SECS;
    let mut n = drain(|| store::codes::purge_expired(db, now, BATCH)).await?;
    n += drain(|| store::transactions::purge_expired(db, now, BATCH)).await?;
    n += drain(|| store::tokens::purge_expired(db, now, BATCH)).await?;
    n += drain(|| store::grants::purge_expired(db, now, BATCH)).await?;
    n += drain(|| store::otp::purge_expired(db, now, BATCH)).await?;
    n += drain(|| store::console::purge_expired(db, now, BATCH)).await?;
    n += drain(|| store::webauthn::purge_expired(db, now, BATCH)).await?;
    n += drain(|| store::rate_limits::purge_idle(db, now, limit_window, BATCH)).await?;
    n += drain(|| store::assertion_jtis::purge_expired(db, now - skew, BATCH)).await?;
    Ok(n)
}

/// Runs one purge batch after another until a batch comes back short (the table holds no more;
/// a purge of several tables sums them, so any full table keeps it going), or [`MAX_BATCHES`].
async fn drain<F, Fut>(mut batch: F) -> StoreResult<u64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = StoreResult<u64>>,
{
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        let n = batch().await?;
        total += n;
        if n < BATCH as u64 {
            break;
        }
        // Between batches, let the requests waiting for the database go first.
        tokio::task::yield_now().await;
    }
    Ok(total)
}

/// One sweep if no other node is sweeping: `None` when another holds the lock.
pub async fn sweep_once(db: &Db, now: i64, limit_window: i64) -> StoreResult<Option<u64>> {
    let Some(lock) = db.try_lock(SWEEP_LOCK).await? else {
        return Ok(None);
    };
    let swept = sweep(db, now, limit_window).await;
    lock.release().await?;
    swept.map(Some)
}

/// Sweeps every `every` (`server.sweep_interval_secs`, 60 s by default). Expired login
/// transactions are already refused when loaded; the sweep is what bounds the table: a row
/// lives at most `login.transaction_ttl_secs + every`.
pub fn spawn(db: Db, every: Duration, limit_window: i64) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match sweep_once(&db, crate::model::now(), limit_window).await {
                Ok(Some(n)) if n > 0 => tracing::info!(rows = n, "expired rows removed"),
                Ok(Some(_)) => {}
                Ok(None) => tracing::debug!("another node is sweeping; skipped"),
                Err(e) => tracing::warn!(error = %e, "housekeeping failed; will retry"),
            }
        }
    })
}
