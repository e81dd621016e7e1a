//! Database transactions over either backend, and [`Conn`]: "run this statement on the pool, or
//! inside that open transaction". A store function that a multi-step change needs inside its
//! transaction takes `impl Into<Conn<'_>>`, so the same query text serves a plain call with
//! `&Db` and a call with `&mut Tx`; the [`with_conn!`] macro expands it for the four cases
//! (two backends, pool or transaction) the way [`crate::with_db!`] does for the two pools.
//!
//! A closure-taking `db.transaction(|tx| ...)` would read nicer but needs async closures that
//! borrow the caller's values across the backend split; an explicit [`Db::begin`] and
//! [`Tx::commit`] keeps the control flow plain. Dropping a [`Tx`] without committing rolls it
//! back, so every early `?` return undoes the change.

use super::{Db, StoreResult};
use crate::ids::UserId;

/// An open transaction on one backend.
pub enum Tx {
    /// The transaction and its pass through the database's [`super::WriteGate`], given back
    /// when the transaction ends (the guard is dropped after the transaction).
    Sqlite(
        sqlx::Transaction<'static, sqlx::Sqlite>,
        tokio::sync::OwnedMutexGuard<()>,
    ),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Where a statement runs: straight on the pool (its own implicit transaction) or inside an
/// open [`Tx`].
pub enum Conn<'a> {
    Pool(&'a Db),
    Tx(&'a mut Tx),
}

impl<'a> From<&'a Db> for Conn<'a> {
    fn from(db: &'a Db) -> Self {
        Conn::Pool(db)
    }
}

impl<'a> From<&'a mut Tx> for Conn<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        Conn::Tx(tx)
    }
}

/// Runs `$body` with `$c` bound to an executor for the concrete backend: the pool itself, or
/// the transaction's connection. `$c` may be used once (it is a `&mut` connection in the
/// transaction arms), which is what a one-statement store function needs.
#[macro_export]
macro_rules! with_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::Conn::Pool($crate::store::Db::Sqlite($c, _)) => $body,
            $crate::store::Conn::Pool($crate::store::Db::Postgres($c)) => $body,
            $crate::store::Conn::Tx($crate::store::Tx::Sqlite(t, _)) => {
                let $c = &mut **t;
                $body
            }
            $crate::store::Conn::Tx($crate::store::Tx::Postgres(t)) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

/// Runs `$body` with `$c` bound to the open transaction's connection (`&mut` to the concrete
/// connection type, reborrowed as `&mut *$c` for each statement), for store functions that
/// only make sense inside a caller's transaction.
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(t, _) => {
                let $c = &mut **t;
                $body
            }
            $crate::store::Tx::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

impl Db {
    /// Opens a transaction. On SQLite it waits its turn at the [`super::WriteGate`], then
    /// `BEGIN IMMEDIATE`: the write lock is taken at once,
    /// so a transaction that reads before it writes (is this the user's first factor?) cannot
    /// fail half-way with `SQLITE_BUSY` when another connection wrote in between (the busy
    /// timeout waits for a lock, but cannot rescue a deferred transaction's stale snapshot).
    /// On PostgreSQL it is the default READ COMMITTED; the single-use rows a change deletes are
    /// row-locked by it, so a racing use of one (a TOTP step, a recovery code, a device token,
    /// each spent with a conditional UPDATE) waits for the commit and then finds it gone.
    ///
    /// BEGIN runs in a task of its own (as does COMMIT): a request whose client goes away is
    /// dropped at its next await, and dropped while BEGIN is in flight sqlx hands the connection
    /// back to the pool inside a transaction it does not know of, so every later statement on
    /// that connection runs in it and its row locks are never released (found by the refresh
    /// benchmark on PostgreSQL: wrk closing its connections wedged every sign-in behind one
    /// `rate_limits` row). The task finishes even when the caller is gone, and the transaction
    /// nobody awaits is dropped there, which rolls it back.
    pub async fn begin(&self) -> StoreResult<Tx> {
        Ok(match self {
            Db::Sqlite(pool, gate) => {
                let pass = gate.enter().await?;
                let pool = pool.clone();
                // The pass travels with the transaction, so it is given back only after an
                // orphaned transaction was dropped.
                let (t, pass) =
                    detached(async move { Ok((pool.begin_with("BEGIN IMMEDIATE").await?, pass)) })
                        .await?;
                Tx::Sqlite(t, pass)
            }
            Db::Postgres(pool) => {
                let pool = pool.clone();
                Tx::Postgres(detached(async move { pool.begin().await }).await?)
            }
        })
    }
}

/// Runs `f` to completion in its own task, whether or not the caller waits for it.
async fn detached<T: Send + 'static>(
    f: impl std::future::Future<Output = Result<T, sqlx::Error>> + Send + 'static,
) -> StoreResult<T> {
    match tokio::spawn(f).await {
        Ok(r) => Ok(r?),
        Err(e) => Err(sqlx::Error::Io(std::io::Error::other(e)).into()),
    }
}

impl Tx {
    /// Serialises this transaction with every other change to the user's MFA set-up (bind,
    /// remove, new recovery codes). A read-then-write on PostgreSQL's READ COMMITTED would let
    /// two simultaneous first binds each see "no factor yet" and each write recovery codes, or
    /// two removals each see "one left" and remove the last two. The user's row is locked until
    /// commit; on SQLite `BEGIN IMMEDIATE` already holds the database's write lock.
    pub async fn lock_user(&mut self, user_id: &UserId) -> StoreResult<()> {
        if let Tx::Postgres(t) = self {
            sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
                .bind(user_id)
                .execute(&mut **t)
                .await?;
        }
        Ok(())
    }

    pub async fn commit(self) -> StoreResult<()> {
        match self {
            Tx::Sqlite(t, pass) => {
                detached(async move {
                    let done = t.commit().await;
                    drop(pass);
                    done
                })
                .await?
            }
            Tx::Postgres(t) => detached(t.commit()).await?,
        }
        Ok(())
    }
}
