//! Periodic clean-up of expired single-use rows, so tables of codes, transactions, tokens,
//! one-time codes and attempt counters do not grow forever. Safe on several nodes at once: every
//! statement is an idempotent DELETE.

use std::time::Duration;

use crate::config::Config;
use crate::store::{self, Db, StoreResult};

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
/// still recognised as reuse; client-assertion jti until their assertion can no longer pass) and attempt counters idle for longer than `limit_window`. Returns
/// how many rows went.
pub async fn sweep(db: &Db, now: i64, limit_window: i64) -> StoreResult<u64> {
    let mut n = store::codes::purge_expired(db, now).await?;
    n += store::transactions::purge_expired(db, now).await?;
    n += store::tokens::purge_expired(db, now).await?;
    n += store::grants::purge_expired(db, now).await?;
    n += store::otp::purge_expired(db, now).await?;
    n += store::console::purge_expired(db, now).await?;
    n += store::rate_limits::purge_idle(db, now, limit_window).await?;
    // An assertion is refused once `exp` is this far behind, so its jti guards nothing more.
    let skew = crate::oidc::client_assertion::CLOCK_SKEW_SECS;
    n += store::assertion_jtis::purge_expired(db, now - skew).await?;
    Ok(n)
}

/// Sweeps every `every` (`server.sweep_interval_secs`, 60 s by default). Expired login
/// transactions are already refused when loaded; the sweep is what bounds the table: a row
/// lives at most `login.transaction_ttl_secs + every`.
pub fn spawn(db: Db, every: Duration, limit_window: i64) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match sweep(&db, crate::model::now(), limit_window).await {
                Ok(n) if n > 0 => tracing::info!(rows = n, "expired rows removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "housekeeping failed; will retry"),
            }
        }
    })
}
