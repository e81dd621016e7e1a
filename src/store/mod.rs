//! Storage through sqlx with runtime queries. One enum holds either pool; SQL is written once
//! (`$n` placeholders, BIGINT Unix timestamps and TEXT JSON work on both backends) and the
//! [`with_db!`] macro expands the same code for each pool type. Functions that a multi-step
//! change runs inside one transaction take a [`Conn`] instead (see [`tx`]).

pub mod api_keys;
pub mod assertion_jtis;
pub mod audit;
pub mod clients;
pub mod codes;
pub mod consents;
pub mod console;
pub mod devices;
pub mod factors;
pub mod grants;
pub mod otp;
pub mod rate_limits;
pub mod recovery_codes;
pub mod sessions;
pub mod signing_keys;
pub mod tenants;
pub mod tokens;
pub mod transactions;
pub mod tx;
pub mod users;
pub mod webauthn;

pub use tx::{Conn, Tx};

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use crate::config::{Backend, DatabaseConfig};

#[derive(Clone, Debug)]
pub enum Db {
    /// The pool, and the gate its write transactions pass one at a time ([`Db::begin`]).
    Sqlite(SqlitePool, WriteGate),
    Postgres(PgPool),
}

/// SQLite has one writer per database file. Transactions that queue for it inside SQLite wait
/// in its busy handler, which sleeps 1, 2, 5, 10 … 100 ms between tries, so under a burst
/// (refresh rotations from 32 connections) a writer that loses a few rounds waits far longer
/// than the writes ahead of it take. Queuing here instead, in arrival order, hands the lock on
/// the moment the previous commit ends.
#[derive(Clone, Debug, Default)]
pub struct WriteGate(std::sync::Arc<tokio::sync::Mutex<()>>);

impl WriteGate {
    /// Waits at most as long as SQLite's own busy timeout would have, then gives up as it does.
    pub(crate) async fn enter(&self) -> StoreResult<tokio::sync::OwnedMutexGuard<()>> {
        tokio::time::timeout(SQLITE_BUSY_TIMEOUT, self.0.clone().lock_owned())
            .await
            .map_err(|_| StoreError::Db(sqlx::Error::PoolTimedOut))
    }
}

/// How long a writer waits for SQLite's write lock (in the gate, then in SQLite).
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `$body` with `$pool` bound to the concrete pool, so one query text serves both backends.
#[macro_export]
macro_rules! with_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool, _) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was hit; the text names what already exists.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    /// A conditional change found the row at another version than expected.
    #[error("{0}")]
    Stale(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Db(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        if is_connection_fault(&e) {
            faults::record();
        }
        StoreError::Db(e)
    }
}

/// An error that says the database is unreachable, restarting, shutting this session down or
/// overloaded, rather than that the statement was wrong: such a request is worth retrying.
pub fn is_connection_fault(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception); 57P01-03 (admin or crash shutdown, cannot
        // connect now: a restart); 57014 (statement_timeout); 53300 (too many connections).
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03" | "57014" | "53300")
        }),
        _ => false,
    }
}

/// When the last connection fault happened in this process ([`is_connection_fault`]), so the
/// HTTP layer can answer 503 for a request that failed on one even when the database is back by
/// the time it looks (`web::unavailable`). One clock per process: a process runs one node.
pub mod faults {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};

    static LAST_MS: AtomicU64 = AtomicU64::new(0);

    fn now_ms() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    pub fn record() {
        LAST_MS.store(now_ms(), Ordering::Relaxed);
    }

    /// Whether a fault happened within the last `ms` milliseconds.
    pub fn within(ms: u64) -> bool {
        let last = LAST_MS.load(Ordering::Relaxed);
        last != 0 && now_ms().saturating_sub(last) <= ms
    }
}

/// `text` for a `LIKE ... ESCAPE '\'` pattern: its own `\`, `%` and `_` match only themselves.
pub(crate) fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Maps a unique violation to [`StoreError::Conflict`] with `what`, everything else unchanged.
pub(crate) fn conflict(err: sqlx::Error, what: impl Into<String>) -> StoreError {
    match &err {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(what.into()),
        _ => StoreError::Db(err),
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Db {
    pub async fn connect(cfg: &DatabaseConfig) -> StoreResult<Db> {
        let url = cfg.url.as_str();
        match cfg.url.backend() {
            Backend::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .foreign_keys(true)
                    // WAL lets readers run beside the one writer; the busy timeout makes the
                    // writer queue instead of failing under a burst.
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT);
                prepare_sqlite_file(opts.get_filename())?;
                let pool = SqlitePoolOptions::new()
                    .max_connections(cfg.max_connections)
                    .acquire_timeout(Duration::from_secs(cfg.acquire_timeout_secs))
                    .connect_with(opts)
                    .await?;
                Ok(Db::Sqlite(pool, WriteGate::default()))
            }
            Backend::Postgres => {
                // Gatehouse's transactions last milliseconds and never wait for a person. One
                // left open by mistake (a request dropped mid-way, a bug) would keep its row
                // locks and stall every writer of those rows; the server ends such a session
                // after 10 s instead, and the pool opens a new connection.
                let statement_timeout = format!("{}s", cfg.statement_timeout_secs);
                let opts = PgConnectOptions::from_str(url)?.options([
                    ("idle_in_transaction_session_timeout", "10s"),
                    ("statement_timeout", statement_timeout.as_str()),
                ]);
                let pool = PgPoolOptions::new()
                    .max_connections(cfg.max_connections)
                    .acquire_timeout(Duration::from_secs(cfg.acquire_timeout_secs))
                    .connect_with(opts)
                    .await?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        match self {
            Db::Sqlite(p, _) => SQLITE_MIGRATIONS.run(p).await?,
            Db::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        Ok(())
    }

    /// Readiness probe: one round trip.
    pub async fn ping(&self) -> StoreResult<()> {
        with_db!(self, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    pub async fn close(&self) {
        with_db!(self, |pool| pool.close().await)
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(..) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Creates the SQLite file 0600 in a 0700 folder before sqlx opens it (SQLite would create it
/// 0644 under the usual umask), and tightens an existing one. SQLite gives the `-wal` and `-shm`
/// files the permissions of the database file, so they follow; existing ones are tightened too.
fn prepare_sqlite_file(file: &std::path::Path) -> StoreResult<()> {
    let err = |m: String| StoreError::Db(sqlx::Error::Configuration(m.into()));
    // In-memory databases have no file.
    if file.as_os_str().is_empty() || file.as_os_str() == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = file.parent()
        && !parent.as_os_str().is_empty()
        && !parent.exists()
    {
        crate::private_fs::ensure_dir(parent).map_err(err)?;
    }
    crate::private_fs::ensure_file(file).map_err(err)?;
    for suffix in ["-wal", "-shm"] {
        let mut side = file.as_os_str().to_owned();
        side.push(suffix);
        let side = std::path::PathBuf::from(side);
        if side.exists() {
            crate::private_fs::tighten(&side, crate::private_fs::FILE_MODE).map_err(err)?;
        }
    }
    Ok(())
}

/// Encodes a list for a TEXT JSON column.
pub(crate) fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// Decodes a TEXT JSON column written by [`json_list`].
pub(crate) fn parse_json_list(text: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A PostgreSQL session-level advisory lock held on one pooled connection ([`Db::try_lock`]);
/// on SQLite, where every node is this one process, a token that holds nothing.
pub struct AdvisoryLock {
    key: i64,
    conn: Option<sqlx::pool::PoolConnection<sqlx::Postgres>>,
}

impl Db {
    /// Takes the advisory lock `key` if no other session (another node) holds it; `None` when
    /// one does. Held until [`AdvisoryLock::release`]; a node that dies releases it with its
    /// connection.
    pub async fn try_lock(&self, key: i64) -> StoreResult<Option<AdvisoryLock>> {
        match self {
            Db::Sqlite(..) => Ok(Some(AdvisoryLock { key, conn: None })),
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
                    .bind(key)
                    .fetch_one(&mut *conn)
                    .await?;
                Ok(got.then_some(AdvisoryLock {
                    key,
                    conn: Some(conn),
                }))
            }
        }
    }
}

impl AdvisoryLock {
    pub async fn release(mut self) -> StoreResult<()> {
        if let Some(mut conn) = self.conn.take() {
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(self.key)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

impl Drop for AdvisoryLock {
    /// Not released (an error or a panic on the way): the connection must not go back to the
    /// pool still holding the lock, or no node would sweep again. Detached and dropped, it
    /// closes, and PostgreSQL releases the lock with the session.
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            drop(conn.detach());
        }
    }
}
