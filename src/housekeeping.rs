//! Periodic clean-up of expired single-use rows, so tables of codes, transactions and tokens do
//! not grow forever. Safe on several nodes at once: every statement is an idempotent DELETE.

use std::time::Duration;

use crate::store::{self, Db, StoreResult};

pub const EVERY: Duration = Duration::from_secs(600);

/// Deletes what expired before `now` (codes and tokens are kept a day longer, so a late reuse is
/// still recognised as reuse). Returns how many rows went.
pub async fn sweep(db: &Db, now: i64) -> StoreResult<u64> {
    let mut n = store::codes::purge_expired(db, now).await?;
    n += store::transactions::purge_expired(db, now).await?;
    n += store::tokens::purge_expired(db, now).await?;
    n += store::grants::purge_expired(db, now).await?;
    Ok(n)
}

pub fn spawn(db: Db) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            match sweep(&db, crate::model::now()).await {
                Ok(n) if n > 0 => tracing::info!(rows = n, "expired rows removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "housekeeping failed; will retry"),
            }
        }
    })
}
