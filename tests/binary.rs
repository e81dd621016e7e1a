//! The `gatehouse` binary from outside: configuration errors, `serve --demo` twice, graceful
//! shutdown on SIGTERM.

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use common::{Backend, TestEnv};
use tokio::io::{AsyncBufReadExt, BufReader};

async fn assert_config_error(env: &TestEnv, vars: &[(&str, &str)], needles: &[&str]) {
    let mut cmd = env.command(&["migrate"]);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().await.unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` in: {err}");
    }
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}

#[tokio::test]
async fn bad_configuration_stops_startup_with_one_line() {
    let env = TestEnv::new(Backend::Sqlite).await;
    assert_config_error(
        &env,
        &[("GATEHOUSE_SERVER__PUBLIC_URL", "not a url")],
        &["server.public_url", "http"],
    )
    .await;
    assert_config_error(
        &env,
        &[("GATEHOUSE_DATABASE__URL", "mysql://x/y")],
        &["database.url", "sqlite://", "postgres://"],
    )
    .await;
    assert_config_error(
        &env,
        &[("GATEHOUSE_SERVER__LISTEN", "everywhere")],
        &["server.listen"],
    )
    .await;
    assert_config_error(
        &env,
        &[("GATEHOUSE_DATABASE__MAX_CONNECTIONS", "many")],
        &["database.max_connections"],
    )
    .await;
    assert_config_error(&env, &[("GATEHOUSE_SERVER__BOGUS", "1")], &["bogus"]).await;

    // Unknown key in a file named with --config.
    let path = env.dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[server]\nlisten = \"127.0.0.1:0\"\ncolour = \"blue\"\n",
    )
    .unwrap();
    let out = env
        .command(&["--config", path.to_str().unwrap(), "migrate"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("colour") && err.contains("server"), "{err}");

    let out = env
        .command(&["--config", "/nonexistent.toml", "migrate"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

/// Starts `serve --demo` on port 0, returns its stdout lines up to "Listening" and the child.
async fn start_demo(env: &TestEnv) -> (tokio::process::Child, Vec<String>) {
    let mut child = env
        .command(&["serve", "--demo"])
        .env("GATEHOUSE_SERVER__LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut out = Vec::new();
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line.starts_with("Listening on");
            out.push(line);
            if done {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("server started");
    (child, out)
}

fn fact<'a>(lines: &'a [String], key: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l.trim().strip_prefix(key))
        .map(str::trim)
        .unwrap_or_else(|| panic!("`{key}` in {lines:?}"))
}

async fn stop(mut child: tokio::process::Child) {
    let pid = child.id().unwrap() as i32;
    // SIGTERM: the server finishes in-flight requests, closes the pool and exits 0.
    send_sigterm(pid);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exits after SIGTERM")
        .unwrap();
    assert!(status.success(), "graceful exit: {status:?}");
}

fn send_sigterm(pid: i32) {
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
}

async fn demo_is_idempotent(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let (child, first) = start_demo(&env).await;
    let issuer = fact(&first, "issuer:").to_string();
    assert!(issuer.ends_with("/t/demo"), "{issuer}");
    let discovery = fact(&first, "discovery:").to_string();
    let doc: serde_json::Value = reqwest::get(&discovery)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], issuer);
    for key in [
        "client_id:",
        "client_secret:",
        "redirect_uri:",
        "user email:",
        "user password:",
    ] {
        assert!(!fact(&first, key).is_empty());
    }
    // The account pages and the "try it" application, printed after the first release's lines.
    assert_eq!(fact(&first, "account pages:"), format!("{issuer}/account"));
    let try_it = fact(&first, "try it:").to_string();
    let base = issuer.trim_end_matches("/t/demo");
    assert_eq!(try_it, format!("{base}/demo/app"));
    let at = |key: &str| {
        first
            .iter()
            .position(|l| l.trim().starts_with(key))
            .unwrap()
    };
    assert!(at("user password:") < at("account pages:") && at("account pages:") < at("try it:"));
    // The console's demo admin: a sign-in to /admin starts at the system tenant's login.
    assert_eq!(fact(&first, "admin email:"), "admin@example.com");
    assert!(fact(&first, "admin password:").len() >= 12);
    assert!(fact(&first, "console:").ends_with("/admin"));
    let res = reqwest::get(&try_it).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Sign in with MFA"));
    stop(child).await;

    let (child, second) = start_demo(&env).await;
    for key in [
        "client_id:",
        "client_secret:",
        "redirect_uri:",
        "user email:",
        "user password:",
        "admin email:",
        "admin password:",
    ] {
        assert_eq!(
            fact(&first, key),
            fact(&second, key),
            "{key} is the same on the second start"
        );
    }
    stop(child).await;

    // Still exactly one demo tenant, client and user (beside the console's system tenant).
    let slugs: Vec<String> = env.cli_json(&["tenant", "list"]).await["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(slugs, ["demo", "system"]);
    assert_eq!(
        env.cli_json(&["client", "list", "demo"]).await["clients"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        env.cli_json(&["user", "list", "demo"]).await["users"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The server secret was created with mode 0600 on first start; it is the only file: the
    // demo tenant's and the system tenant's own three signing keys each are in the database,
    // sealed under it.
    let keys = files_under(&env.config.keys.dir);
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].ends_with("secret.key"));
    assert_eq!(mode_of(&keys[0]), 0o600);
    let stored = env.cli_json(&["keys", "list"]).await;
    let stored = stored["keys"].as_array().unwrap();
    assert_eq!(stored.len(), 6, "{stored:?}");
    assert!(
        stored
            .iter()
            .all(|k| k["state"] == "active" && k.get("d").is_none())
    );
}

/// Every file below `dir` (the folders are checked by `assert_private`).
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn dirs_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![dir.to_owned()];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(dirs_under(&p));
        }
    }
    out
}
both_backends!(demo_is_idempotent, super::demo_is_idempotent);

fn mode_of(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn set_mode(p: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Asserts that `keys/`, every file in it, `data/` and the SQLite files are private.
fn assert_private(env: &TestEnv) {
    let keys = &env.config.keys.dir;
    for d in dirs_under(keys) {
        assert_eq!(mode_of(&d), 0o700, "{}", d.display());
    }
    for p in files_under(keys) {
        assert_eq!(mode_of(&p), 0o600, "{}", p.display());
    }
    let data = env.dir.path().join("data");
    assert_eq!(mode_of(&data), 0o700, "data/");
    let db = data.join("gatehouse.db");
    assert_eq!(mode_of(&db), 0o600, "the SQLite file");
    for side in ["gatehouse.db-wal", "gatehouse.db-shm"] {
        let p = data.join(side);
        if p.exists() {
            assert_eq!(mode_of(&p), 0o600, "{side}");
        }
    }
}

/// Before: `keys/` was 0700 only when Gatehouse created it (a folder made beforehand with
/// `mkdir keys` stayed 0755, listable by every local user) and the SQLite file was created 0644.
/// Now an existing 0755 `keys/` is tightened to 0700 at start, key files and the database are
/// 0600 in 0700 folders, and files loosened later are tightened again on the next start.
#[tokio::test]
async fn secrets_on_disk_are_private_to_the_owner() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let keys = env.config.keys.dir.clone();
    std::fs::create_dir_all(&keys).unwrap();
    set_mode(&keys, 0o755);
    let (child, _) = start_demo(&env).await;
    assert_private(&env);
    stop(child).await;

    // Loosened by hand (a copy, a restore from backup...): tightened on the next start.
    set_mode(&keys, 0o755);
    set_mode(&keys.join("secret.key"), 0o644);
    set_mode(&env.dir.path().join("data/gatehouse.db"), 0o644);
    let (child, _) = start_demo(&env).await;
    assert_private(&env);
    stop(child).await;
}
