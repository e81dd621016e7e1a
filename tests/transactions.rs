//! A request whose client hangs up is dropped at its next await, possibly while its
//! transaction is being opened or committed. That must not leave a pooled connection inside a
//! transaction the pool does not know of: every later statement on it would run in that
//! transaction and keep its row locks (the refresh benchmark on PostgreSQL wedged every sign-in
//! behind one `rate_limits` row that way).

use crate::common;

use std::task::Poll;
use std::time::Duration;

use common::burst::run_at_once;
use common::{Backend, TestEnv};
use gatehouse::store::Db;
use gatehouse::store::rate_limits::{self, Limit};
use gatehouse::store::tokens::{self, RefreshToken};

const LIMIT: Limit = Limit {
    max_failures: 1_000_000,
    window_secs: 900,
    lockout_secs: 900,
};

/// Writes the same row from as many callers as the pool has connections, twice: a write that
/// ran inside a forgotten transaction holds the row's lock, and the second round waits on it.
async fn same_row_from_every_connection(db: &Db, rounds: usize) {
    for round in 0..rounds {
        let futs = (0..24)
            .map(|_| {
                let db = db.clone();
                async move { rate_limits::reserve(&db, "tx:row", LIMIT, 1_000_000).await }
            })
            .collect();
        let done = tokio::time::timeout(Duration::from_secs(8), run_at_once(futs)).await;
        let results = done.unwrap_or_else(|_| panic!("round {round}: writes to one row hung"));
        assert!(
            results.iter().all(Result::is_ok),
            "round {round}: {results:?}"
        );
    }
}

/// Polls `f` up to `steps` times, letting the runtime (and the database's I/O) run between
/// polls, then drops it unfinished, as a request whose client went away is dropped.
async fn drop_after<F: Future>(steps: usize, f: F) {
    let mut f = std::pin::pin!(f);
    for _ in 0..steps {
        let ready = std::future::poll_fn(|cx| Poll::Ready(f.as_mut().poll(cx).is_ready())).await;
        if ready {
            return;
        }
        tokio::time::sleep(Duration::from_micros(50)).await;
        tokio::task::yield_now().await;
    }
}

async fn a_transaction_dropped_half_way_leaves_nothing_open(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let db = Db::connect(&env.config.database).await.unwrap();
    db.migrate().await.unwrap();
    // Drop begin() and commit() after every possible amount of progress: from before the first
    // poll to after the round trip.
    // Drop begin() and commit(), and a whole refresh rotation (BEGIN, UPDATE, rollback), after
    // every possible amount of progress: from before the first poll to after the round trips.
    let successor = RefreshToken {
        id: "none".into(),
        grant_id: "none".into(),
        tenant_id: "none".to_owned().into(),
        client_id: "none".to_owned().into(),
        user_id: "none".to_owned().into(),
        session_id: None,
        scope: String::new(),
        auth_time: 0,
        amr: "[]".into(),
        acr: String::new(),
        created_at: 0,
        expires_at: 0,
        rotated_at: None,
        revoked_at: None,
    };
    for steps in 0..40 {
        for _ in 0..5 {
            drop_after(steps, db.begin()).await;
            if let Ok(tx) = db.begin().await {
                drop_after(steps, tx.commit()).await;
            }
            let rotation = tokens::rotate(
                &db,
                &successor.tenant_id,
                "unknown",
                &successor.client_id,
                1,
                &successor,
            );
            drop_after(steps, rotation).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    same_row_from_every_connection(&db, 3).await;
}

/// The safety net under the above on PostgreSQL: a session idle inside a transaction for
/// 10 s is ended by the server, which releases its locks.
#[tokio::test]
async fn postgres_ends_a_transaction_left_idle() {
    let env = TestEnv::new(Backend::Postgres).await;
    let db = Db::connect(&env.config.database).await.unwrap();
    let Db::Postgres(pool) = &db else {
        unreachable!("a PostgreSQL test env")
    };
    let timeout: String = sqlx::query_scalar("SHOW idle_in_transaction_session_timeout")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(timeout, "10s");
}

both_backends!(
    a_transaction_dropped_half_way_leaves_nothing_open,
    super::a_transaction_dropped_half_way_leaves_nothing_open
);
