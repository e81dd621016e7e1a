//! The attempt-reservation primitive every guessable input goes through, raced on both backends:
//! however many callers arrive at once, no more than the limit are granted.

use crate::common;

use common::burst::run_at_once;
use common::{Backend, TestEnv};
use gatehouse::store::Db;
use gatehouse::store::rate_limits::{self, Limit, Reservation};

const LIMIT: Limit = Limit {
    max_failures: 5,
    window_secs: 900,
    lockout_secs: 900,
};

async fn db(backend: Backend) -> (TestEnv, Db) {
    let env = TestEnv::new(backend).await;
    let db = Db::connect(&env.config.database).await.unwrap();
    db.migrate().await.unwrap();
    (env, db)
}

async fn reserve_at_once(db: &Db, key: &str, n: usize, now: i64) -> Vec<Reservation> {
    let futs = (0..n)
        .map(|_| {
            let db = db.clone();
            let key = key.to_owned();
            async move { rate_limits::reserve(&db, &key, LIMIT, now).await.unwrap() }
        })
        .collect();
    run_at_once(futs).await
}

/// 100 simultaneous reservations against a limit of 5: exactly 5 are granted, the rest refused
/// with the lock time; the check-then-record code this replaced let all 80 of a burst through.
async fn a_burst_gets_exactly_the_limit(backend: Backend) {
    let (_env, db) = db(backend).await;
    let now = 1_000_000;
    let got = reserve_at_once(&db, "t:burst", 100, now).await;
    let granted = got.iter().filter(|r| r.granted()).count();
    assert_eq!(granted, 5, "{got:?}");
    assert!(got.iter().all(|r| match r {
        Reservation::Refused { until } => *until == now + 900,
        Reservation::Granted { .. } => true,
    }));
    assert_eq!(
        rate_limits::locked_until(&db, "t:burst", now)
            .await
            .unwrap(),
        Some(now + 900)
    );
    // Still locked a minute later; a new window after the lockout.
    assert!(
        !rate_limits::reserve(&db, "t:burst", LIMIT, now + 60)
            .await
            .unwrap()
            .granted()
    );
    assert_eq!(
        rate_limits::reserve(&db, "t:burst", LIMIT, now + 901)
            .await
            .unwrap(),
        Reservation::Granted { remaining: 4 }
    );
}
both_backends!(
    a_burst_gets_exactly_the_limit,
    super::a_burst_gets_exactly_the_limit
);

/// A success hands its reservation back: four failures and a success leave room for one more
/// failure before the lock, and a success at the limit lifts the lock it set.
async fn release_gives_the_attempt_back(backend: Backend) {
    let (_env, db) = db(backend).await;
    let now = 2_000_000;
    for _ in 0..4 {
        assert!(
            rate_limits::reserve(&db, "t:rel", LIMIT, now)
                .await
                .unwrap()
                .granted()
        );
    }
    // The fifth attempt reaches the limit (and sets the lock), then succeeds.
    assert_eq!(
        rate_limits::reserve(&db, "t:rel", LIMIT, now)
            .await
            .unwrap(),
        Reservation::Granted { remaining: 0 }
    );
    assert!(
        rate_limits::locked_until(&db, "t:rel", now)
            .await
            .unwrap()
            .is_some()
    );
    rate_limits::release(&db, "t:rel", LIMIT).await.unwrap();
    assert_eq!(
        rate_limits::locked_until(&db, "t:rel", now).await.unwrap(),
        None
    );
    assert_eq!(
        rate_limits::reserve(&db, "t:rel", LIMIT, now)
            .await
            .unwrap(),
        Reservation::Granted { remaining: 0 }
    );
    assert!(
        !rate_limits::reserve(&db, "t:rel", LIMIT, now)
            .await
            .unwrap()
            .granted()
    );
}
both_backends!(
    release_gives_the_attempt_back,
    super::release_gives_the_attempt_back
);

/// The window restarts once it has passed without a lock.
async fn the_window_restarts(backend: Backend) {
    let (_env, db) = db(backend).await;
    let now = 3_000_000;
    for _ in 0..3 {
        rate_limits::reserve(&db, "t:win", LIMIT, now)
            .await
            .unwrap();
    }
    assert_eq!(
        rate_limits::reserve(&db, "t:win", LIMIT, now + 901)
            .await
            .unwrap(),
        Reservation::Granted { remaining: 4 }
    );
}
both_backends!(the_window_restarts, super::the_window_restarts);
