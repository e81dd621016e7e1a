//! Two nodes on one database: a sign-in started on one node finishes on the other after the
//! first is gone (every step's state is in the database, none in a node), a limit counts the
//! attempts of both nodes together, and on PostgreSQL
//! they agree at once on what they cache: a tenant set to Required by the CLI is enforced by a
//! node that had the tenant cached for ten minutes, through the change announcement
//! (`LISTEN`/`NOTIFY`), not the cache lifetime; and a client's secret rotated or the client
//! deleted by the CLI (another process) stops working on a node that cached the client within
//! the poll of the clients' change counter (`server.keys_reload_secs`), on both databases.

use std::time::{Duration, Instant};

use crate::common;
use common::browser::{self, Browser, Form};
use common::flow::{PW, Rp, alice_signs_in, app_redirect, client_credentials, login_page, tokens};
use common::{Backend, TestEnv, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_change_reaches_a_node_that_cached_it() {
    let mut env = TestEnv::new(Backend::Postgres).await;
    // Far longer than the test: only the announcement can explain the change being seen.
    env.config.server.cache_ttl_secs = 600;
    let a = TestServer::start_with(env).await;
    a.tenant("acme", &[]).await;
    let rp = a.rp("acme", &["--first-party"]).await;
    a.user("acme", "alice@example.com", PW).await;
    let b = TestServer::start_with(a.env.another_node(a.env.secret_key_text(), vec![])).await;

    // Node B caches the tenant (MFA optional): Alice gets her code without a second factor.
    let res = alice_signs_in(&Browser::new(), &b, &rp, &[]).await;
    assert!(res.status().is_redirection(), "signed in without MFA");

    a.cli_json(&["tenant", "update", "acme", "--mfa", "required"])
        .await;
    let start = Instant::now();
    loop {
        let res = alice_signs_in(&Browser::new(), &b, &rp, &[]).await;
        if res.status() == 200 {
            let html = res.text().await.unwrap();
            assert!(html.contains("two-factor"), "the MFA set-up: {html}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "node B never saw the change"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("node B enforced Required after {:?}", start.elapsed());
}

/// Node B owns the database (Alice, a first-party client); node A is another node on it.
async fn two_nodes(backend: Backend) -> (TestServer, TestServer, Rp) {
    let b = TestServer::start(backend).await;
    b.tenant("acme", &[]).await;
    let rp = b.rp("acme", &["--first-party"]).await;
    b.user("acme", "alice@example.com", PW).await;
    let a = TestServer::start_with(b.env.another_node(b.env.secret_key_text(), vec![])).await;
    (b, a, rp)
}

/// Alice's filled-in login form, from a login page node A served.
async fn login_form_from(a: &TestServer, rp: &Rp, browser: &Browser, password: &str) -> Form {
    let (url, html) = login_page(browser, a, &a.authorize_url(rp, &[])).await;
    let mut form = browser::form(&html, &url);
    form.set("login", "alice@example.com")
        .set("password", password);
    form
}

async fn a_sign_in_started_on_a_node_that_dies_finishes_on_another(backend: Backend) {
    let (b, a, rp) = two_nodes(backend).await;
    // The login page from node A; node A then goes away before the password is posted.
    let browser = Browser::new();
    let mut form = login_form_from(&a, &rp, &browser, PW).await;
    let (from, to) = (a.base.clone(), b.base.clone());
    drop(a);
    // The same form, sent where a load balancer would send it now: node B.
    form.action = form.action.replace(&from, &to);
    let res = browser.follow(&b.base, browser.submit(&form).await).await;
    assert!(
        app_redirect(&res, &rp).contains_key("code"),
        "finished on node B"
    );
    let t = tokens(&b, &rp, &res).await;
    assert!(t["id_token"].is_string(), "{t}");
}
both_backends!(
    a_sign_in_started_on_a_node_that_dies_finishes_on_another,
    super::a_sign_in_started_on_a_node_that_dies_finishes_on_another
);

/// The per-account password limit (10 wrong passwords) holds for two nodes together: 60 wrong
/// passwords posted at the same instant, half to each node, are evaluated 10 times in all.
async fn two_nodes_together_allow_no_more_than_one(backend: Backend) {
    let (b, a, rp) = two_nodes(backend).await;
    let browser = Browser::new();
    let form = login_form_from(&a, &rp, &browser, "wrong password").await;
    let to_b = form.action.replace(&a.base, &b.base);
    let requests = (0..60)
        .map(|i| {
            let action = if i % 2 == 0 { &form.action } else { &to_b };
            browser.http.post(action).form(&form.fields)
        })
        .collect();
    let answers = common::burst::at_once(requests).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    let evaluated: i64 = gatehouse::with_db!(&b.state.db, |pool| sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(attempts), 0) AS BIGINT) FROM login_transactions"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(
        evaluated, 10,
        "wrong passwords evaluated by both nodes together"
    );
    assert!(statuses.contains(&429));
}
both_backends!(
    two_nodes_together_allow_no_more_than_one,
    super::two_nodes_together_allow_no_more_than_one
);

/// Polls until `secret` is refused (401), at most 15 s; returns how long that took.
async fn refused_within(srv: &TestServer, client_id: &str, secret: &str) -> Duration {
    let start = Instant::now();
    loop {
        match client_credentials(srv, client_id, secret).await {
            401 => return start.elapsed(),
            200 => {}
            other => panic!("unexpected status {other}"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the server kept accepting a secret changed by the CLI"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The token endpoint keeps its clients in memory; a change the CLI makes in another process
/// reaches it through the polled change counter, not the cache lifetime (600 s here).
async fn a_client_change_by_the_cli_reaches_a_node_that_cached_it(backend: Backend) {
    let mut env = TestEnv::new(backend).await;
    env.config.server.cache_ttl_secs = 600;
    let srv = TestServer::start_with(env).await;
    srv.tenant("acme", &[]).await;
    let rp = srv.rp("acme", &[]).await;
    let old = rp.secret.clone().unwrap();
    assert_eq!(client_credentials(&srv, &rp.client_id, &old).await, 200);

    let rotated = srv
        .cli_json(&["client", "rotate-secret", "acme", &rp.client_id])
        .await;
    let new = rotated["client_secret"].as_str().unwrap();
    let took = refused_within(&srv, &rp.client_id, &old).await;
    eprintln!("the rotated secret was refused after {took:?}");
    assert_eq!(client_credentials(&srv, &rp.client_id, new).await, 200);

    srv.cli_json(&["client", "delete", "acme", &rp.client_id])
        .await;
    let took = refused_within(&srv, &rp.client_id, new).await;
    eprintln!("the deleted client was refused after {took:?}");
}
both_backends!(
    a_client_change_by_the_cli_reaches_a_node_that_cached_it,
    super::a_client_change_by_the_cli_reaches_a_node_that_cached_it
);
