//! A database outage as a node sees it: PostgreSQL stops accepting this database's connections
//! and ends the open ones (what a restart does to a node, without disturbing the other tests on
//! the shared server). Every request that needs the database is answered 503 with
//! `Retry-After` in its own dialect, none hangs and none is a 500; `/ready` says 503; and when
//! the database accepts connections again the node recovers by itself and a sign-in completes.

use crate::common;
use common::browser::Browser;
use common::flow::{PW, alice_signs_in, app_redirect, tokens};
use common::{Backend, TestEnv, TestServer, pg_admin_url};

async fn admin(sql: String) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&pg_admin_url()).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .unwrap();
}

async fn take_down(name: &str) {
    admin(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    admin(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .await;
}

async fn bring_back(name: &str) {
    admin(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
}

fn assert_503(res: &reqwest::Response, what: &str) {
    assert_eq!(res.status(), 503, "{what}");
    assert_eq!(
        res.headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap()),
        Some("5"),
        "{what}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_503_and_the_node_recovers() {
    let mut env = TestEnv::new(Backend::Postgres).await;
    env.config.database.acquire_timeout_secs = 2;
    let name = env.db.pg_name().unwrap().to_owned();
    let srv = TestServer::start_with(env).await;
    srv.tenant("acme", &[]).await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    srv.user("acme", "alice@example.com", PW).await;
    let key = common::api::key(&srv, &["--role", "admin"]).await;
    // A code obtained before the outage, redeemed after it.
    let before = alice_signs_in(&Browser::new(), &srv, &rp, &[]).await;
    assert!(app_redirect(&before, &rp).contains_key("code"));

    take_down(&name).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // Far above the acquire timeout: a hang fails the test, a 503 answers well before.
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();

    let page = http
        .get(srv.authorize_url(&rp, &[]))
        .header("accept", "text/html")
        .send()
        .await
        .expect("the sign-in page answers");
    assert_503(&page, "sign-in page");
    assert!(page.text().await.unwrap().contains("briefly unavailable"));

    let token = http
        .post(format!("{}/token", srv.issuer("acme")))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("the token endpoint answers");
    assert_503(&token, "token endpoint");
    let body: serde_json::Value = token.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");

    let api = http
        .get(srv.url("/api/v1/tenants"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("the API answers");
    assert_503(&api, "admin API");
    assert_eq!(
        api.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );

    let ready = http.get(srv.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);

    bring_back(&name).await;
    // The pool reconnects by itself: no restart of the node.
    let start = std::time::Instant::now();
    while http.get(srv.url("/ready")).send().await.unwrap().status() != 200 {
        assert!(start.elapsed().as_secs() < 20, "the node never recovered");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let t = tokens(&srv, &rp, &before).await;
    assert!(
        t["id_token"].is_string(),
        "the code from before the outage: {t}"
    );
    let after = alice_signs_in(&Browser::new(), &srv, &rp, &[]).await;
    assert!(app_redirect(&after, &rp).contains_key("code"));
}
