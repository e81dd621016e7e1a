//! Test harness: a real Gatehouse server on port 0 with a fresh database (a SQLite file in a temp
//! folder, or a PostgreSQL database created for the test and dropped after it), plus helpers to
//! run the `gatehouse` binary against the same database and keys.
#![allow(dead_code)]

pub mod api;
pub mod browser;
pub mod burst;
pub mod flow;
pub mod logs;
pub mod mfa;
pub mod pages;
pub mod rp;
pub mod schema;
pub mod sms;
pub mod smtp;

use std::path::{Path, PathBuf};
use std::process::Output;

use gatehouse::config::{Config, DatabaseUrl};
use gatehouse::state::AppState;
use tempfile::TempDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per backend: `both_backends!(name, body_fn)` defines
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $body($crate::common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $body($crate::common::Backend::Postgres).await
            }
        }
    };
}

/// The PostgreSQL server tests create their databases on.
pub fn pg_admin_url() -> String {
    std::env::var("GATEHOUSE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A database that exists for one test only.
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
}

impl TestDb {
    /// The PostgreSQL database's name (None on SQLite).
    pub fn pg_name(&self) -> Option<&str> {
        self.pg_name.as_deref()
    }

    pub async fn new(backend: Backend, dir: &Path) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.join("data/gatehouse.db").display()),
                pg_name: None,
            },
            Backend::Postgres => {
                use sqlx::Connection;
                let name = format!("gh_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&pg_admin_url())
                    .await
                    .expect("PostgreSQL at 127.0.0.1:5432 (set GATEHOUSE_TEST_PG to override)");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let mut url = url::Url::parse(&pg_admin_url()).unwrap();
                url.set_path(&name);
                TestDb {
                    url: url.to_string(),
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs inside the test's runtime; use a thread with its own runtime to await.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

/// A temp folder (keys, data), a fresh database and the config pointing at both.
pub struct TestEnv {
    pub dir: TempDir,
    pub db: TestDb,
    pub config: Config,
}

/// The binary the CLI tests run: cargo's, unless `GATEHOUSE_TEST_BIN` names another. Two
/// worktrees sharing one target dir overwrite `target/debug/gatehouse` with their own build, so
/// a worktree can pin a copy of its binary for its test run.
pub fn gatehouse_bin() -> PathBuf {
    std::env::var_os("GATEHOUSE_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_gatehouse")))
}

pub fn themes_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("themes")
}

impl TestEnv {
    pub async fn new(backend: Backend) -> TestEnv {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::new(backend, dir.path()).await;
        let mut config = Config::default();
        config.database.url = DatabaseUrl::try_from(db.url.clone()).unwrap();
        config.database.max_connections = 5;
        config.keys.dir = dir.path().join("keys");
        config.server.themes_dir = themes_dir();
        config.server.cache_ttl_secs = 0;
        config.server.keys_reload_secs = 1;
        config.server.shutdown_grace_secs = 2;
        config.demo.credentials_file = dir.path().join("data/demo-credentials.json");
        config.mail.dir = dir.path().join("data/mail");
        config.sms.dir = dir.path().join("data/sms");
        TestEnv { dir, db, config }
    }

    /// The server secret this environment's nodes share (the file the first start created).
    pub fn secret_key_text(&self) -> String {
        let path = self
            .config
            .keys
            .dir
            .join(gatehouse::crypto::secret::FILE_NAME);
        std::fs::read_to_string(path).expect("secret.key (start a node first)")
    }

    /// Another node on this environment's database: its own (empty) folder, no key files, and
    /// the server secret given in the configuration as an operator would (`secrets.key`;
    /// `previous` as `secrets.previous`). Dropping it leaves the database alone.
    pub fn another_node(&self, key: String, previous: Vec<String>) -> TestEnv {
        let dir = tempfile::tempdir().unwrap();
        let mut config = self.config.clone();
        config.keys.dir = dir.path().join("keys");
        config.secrets.key = Some(key);
        config.secrets.key_file = None;
        config.secrets.previous = previous;
        config.demo.credentials_file = dir.path().join("data/demo-credentials.json");
        let db = TestDb {
            url: self.db.url.clone(),
            pg_name: None,
        };
        TestEnv { dir, db, config }
    }

    /// Environment variables that point the `gatehouse` binary at this test's database and keys.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        vec![
            ("GATEHOUSE_DATABASE__URL".into(), self.db.url.clone()),
            (
                "GATEHOUSE_KEYS__DIR".into(),
                self.config.keys.dir.display().to_string(),
            ),
            (
                "GATEHOUSE_SERVER__THEMES_DIR".into(),
                themes_dir().display().to_string(),
            ),
            (
                "GATEHOUSE_DEMO__CREDENTIALS_FILE".into(),
                self.config.demo.credentials_file.display().to_string(),
            ),
            ("GATEHOUSE_SERVER__LOG_LEVEL".into(), "warn".into()),
            (
                "GATEHOUSE_SECRETS__PREVIOUS".into(),
                format!("{:?}", self.config.secrets.previous),
            ),
            (
                "GATEHOUSE_MAIL__DIR".into(),
                self.config.mail.dir.display().to_string(),
            ),
        ]
        .into_iter()
        .chain(
            self.config
                .secrets
                .key
                .clone()
                .map(|k| ("GATEHOUSE_SECRETS__KEY".into(), k)),
        )
        .chain(sms::env_vars(&self.config.sms))
        .collect()
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(gatehouse_bin());
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("RUST_LOG")
            .envs(self.env_vars())
            .kill_on_drop(true);
        cmd
    }

    /// Runs `gatehouse ARGS` with `stdin` piped in and waits for it.
    pub async fn cli_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        use std::process::Stdio;
        use tokio::io::AsyncWriteExt;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run gatehouse");
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).await.unwrap();
        drop(input);
        child.wait_with_output().await.unwrap()
    }

    pub async fn cli(&self, args: &[&str]) -> Output {
        self.cli_with_stdin(args, "").await
    }

    /// Runs an admin command with `--json` and returns its one JSON object; panics on failure.
    pub async fn cli_json(&self, args: &[&str]) -> serde_json::Value {
        self.cli_json_stdin(args, "").await
    }

    pub async fn cli_json_stdin(&self, args: &[&str], stdin: &str) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.cli_with_stdin(&all, stdin).await;
        assert!(
            out.status.success(),
            "gatehouse {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            stdout.trim().lines().count(),
            1,
            "one JSON object: {stdout}"
        );
        serde_json::from_str(stdout.trim()).expect("stdout is JSON")
    }
}

/// A running server. Dropping it stops the server and removes its database.
pub struct TestServer {
    pub base: String,
    /// The socket the server listens on (differs from `base` when a public URL is configured).
    pub bound: std::net::SocketAddr,
    /// Where `/metrics` is served when `metrics.listen` is configured (tests give port 0).
    pub metrics_addr: Option<std::net::SocketAddr>,
    pub state: AppState,
    /// What the seed printed, when the server was started in demo mode ([`TestServer::start_demo`]).
    pub demo: Option<gatehouse::demo::DemoFacts>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    // Declared last so the database is dropped after the server is stopped.
    pub env: TestEnv,
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(TestEnv::new(backend).await).await
    }

    pub async fn start_with(env: TestEnv) -> TestServer {
        Self::start_inner(env, false).await
    }

    /// As `serve --demo`: the demo tenant, client and user seeded, the demo application mounted.
    pub async fn start_demo(backend: Backend) -> TestServer {
        Self::start_inner(TestEnv::new(backend).await, true).await
    }

    async fn start_inner(env: TestEnv, demo: bool) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = gatehouse::resolve_public_url(&env.config, addr);
        let state = gatehouse::build_state(env.config.clone(), base.clone())
            .await
            .expect("server state");
        let metrics = gatehouse::bind_metrics(&env.config).await.unwrap();
        let metrics_addr = metrics.as_ref().map(|l| l.local_addr().unwrap());
        let (facts, extra) = if demo {
            let facts = gatehouse::demo::seed(&state).await.expect("demo seed");
            let app = gatehouse::demo::app::DemoApp::new(&facts, &base, addr);
            (Some(facts), gatehouse::demo::app::router(app))
        } else {
            (None, axum::Router::new())
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving =
            gatehouse::serve_with_routes(state.clone(), listener, metrics, extra, async move {
                let _ = stopped.await;
            });
        let task = tokio::spawn(async move {
            let _ = serving.await;
        });
        TestServer {
            base,
            bound: addr,
            metrics_addr,
            state,
            demo: facts,
            stop: Some(stop),
            task: Some(task),
            env,
        }
    }

    pub fn issuer(&self, tenant: &str) -> String {
        format!("{}/t/{tenant}", self.base)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An HTTP client that does not follow redirects (tests look at each hop).
    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// GET `path` (under the server's base URL, or a full URL) as JSON.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            self.url(path)
        };
        self.http()
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The signing keys of tenant `slug` (each tenant has its own).
    pub async fn keys(&self, slug: &str) -> gatehouse::crypto::keys::KeySet {
        let t = gatehouse::store::tenants::get_by_slug(&self.state.db, slug)
            .await
            .unwrap();
        self.state.keys.current(&t.id).await.unwrap().set.clone()
    }

    pub async fn cli_json(&self, args: &[&str]) -> serde_json::Value {
        self.env.cli_json(args).await
    }

    /// Drops the audit log's table, so every later audit write fails: a change that is audited
    /// must then fail whole (the tests of a change's transaction).
    pub async fn break_audit_log(&self) {
        gatehouse::with_db!(&self.state.db, |pool| {
            sqlx::query("DROP TABLE audit_events")
                .execute(pool)
                .await
                .expect("drop audit_events");
        });
    }

    /// Tenant `slug` and its user `login`, from the store.
    pub async fn account(
        &self,
        slug: &str,
        login: &str,
    ) -> (
        gatehouse::store::tenants::Tenant,
        gatehouse::store::users::User,
    ) {
        let db = &self.state.db;
        let tenant = gatehouse::store::tenants::get_by_slug(db, slug)
            .await
            .unwrap();
        let user = gatehouse::store::users::find_by_login(db, &tenant.id, login)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no user {login} in {slug}"));
        (tenant, user)
    }

    /// Creates a tenant through the CLI and returns its JSON.
    pub async fn tenant(&self, slug: &str, extra: &[&str]) -> serde_json::Value {
        let mut args = vec!["tenant", "create", slug];
        args.extend_from_slice(extra);
        self.cli_json(&args).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
