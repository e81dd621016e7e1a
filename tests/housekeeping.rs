//! The periodic sweep: a backlog far larger than one batch goes in bounded batches (and a live
//! row stays), and on PostgreSQL a node skips its turn while another node holds the sweep's
//! advisory lock, then sweeps once the lock is free.

use crate::common;
use common::{Backend, TestEnv};
use gatehouse::housekeeping::{BATCH, SWEEP_LOCK, sweep_once};
use gatehouse::store::Db;

const BACKLOG: i64 = 2 * BATCH + 345;

async fn count(db: &Db) -> i64 {
    gatehouse::with_db!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM rate_limits"
    )
    .fetch_one(pool)
    .await
    .unwrap())
}

/// `BACKLOG` idle counters (window long over, no lock) and one live lock.
async fn fill(db: &Db, now: i64) {
    let idle = "INSERT INTO rate_limits (key, failures, window_start, locked_until) \
                VALUES ($1, 1, $2, NULL)";
    let live = "INSERT INTO rate_limits (key, failures, window_start, locked_until) \
                VALUES ('live', 5, $1, $2)";
    let mut tx = db.begin().await.unwrap();
    for i in 0..BACKLOG {
        let key = format!("idle:{i}");
        gatehouse::with_tx!(&mut tx, |c| sqlx::query(idle)
            .bind(&key)
            .bind(now - 10 * 86_400)
            .execute(&mut *c)
            .await
            .unwrap()
            .rows_affected());
    }
    gatehouse::with_tx!(&mut tx, |c| sqlx::query(live)
        .bind(now - 10 * 86_400)
        .bind(now + 3600)
        .execute(&mut *c)
        .await
        .unwrap()
        .rows_affected());
    tx.commit().await.unwrap();
}

/// The database alone, without a server (whose own sweeper would race the test's).
async fn database(env: &TestEnv) -> Db {
    let db = Db::connect(&env.config.database).await.unwrap();
    db.migrate().await.unwrap();
    db
}

async fn a_backlog_goes_in_batches(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let db = &database(&env).await;
    let now = gatehouse::model::now();
    fill(db, now).await;
    assert_eq!(count(db).await, BACKLOG + 1);
    let n = sweep_once(db, now, 86_400).await.unwrap();
    assert_eq!(n, Some(BACKLOG as u64), "every idle counter, in 3 batches");
    assert_eq!(count(db).await, 1, "the live lock stays");
}
both_backends!(a_backlog_goes_in_batches, super::a_backlog_goes_in_batches);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_sweeps_at_a_time() {
    let env = TestEnv::new(Backend::Postgres).await;
    let db = &database(&env).await;
    let now = gatehouse::model::now();
    fill(db, now).await;
    // "Another node": its own pool on the same database.
    let other = database(&env).await;
    let held = until_free(&other).await;
    assert!(
        other.try_lock(SWEEP_LOCK).await.unwrap().is_none(),
        "held once"
    );
    assert_eq!(sweep_once(db, now, 86_400).await.unwrap(), None, "skipped");
    assert_eq!(
        count(db).await,
        BACKLOG + 1,
        "nothing swept while the other node holds it"
    );
    held.release().await.unwrap();
    assert_eq!(
        sweep_once(db, now, 86_400).await.unwrap(),
        Some(BACKLOG as u64)
    );
    // A lock dropped without release (its holder failed) frees itself with the connection.
    drop(until_free(&other).await);
    until_free(&other).await.release().await.unwrap();
}

async fn until_free(db: &Db) -> gatehouse::store::AdvisoryLock {
    let start = std::time::Instant::now();
    loop {
        if let Some(lock) = db.try_lock(SWEEP_LOCK).await.unwrap() {
            return lock;
        }
        assert!(start.elapsed().as_secs() < 10, "the sweep lock stays held");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
