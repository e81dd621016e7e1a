//! Two nodes on one PostgreSQL agree at once on what they cache: a tenant set to Required by
//! the CLI is enforced by a node that had the tenant cached for a minute, through the change
//! announcement (`LISTEN`/`NOTIFY`), not the cache lifetime.

use std::time::{Duration, Instant};

use crate::common;
use common::browser::Browser;
use common::flow::{PW, alice_signs_in};
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
