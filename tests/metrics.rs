//! `/metrics`: bounded labels whatever clients send, and who may read it.

use crate::common;

use common::{Backend, TestEnv, TestServer};
use reqwest::Method;

/// The distinct label sets of the request counter.
fn series(body: &str) -> Vec<String> {
    body.lines()
        .filter(|l| l.starts_with("gatehouse_http_requests_total{"))
        .map(|l| l.rsplit_once(' ').unwrap().0.to_owned())
        .collect()
}

async fn scrape(srv: &TestServer) -> String {
    let res = srv.http().get(srv.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

/// Before: 2,000 random HTTP method names made 32,000 series (4.4 MB). Now every unknown
/// method is `OTHER` and every unknown path `unmatched`: after 2,000 junk methods and 200 junk
/// paths the exposition has gained only those few series and stays a few kilobytes.
async fn junk_methods_and_paths_add_no_series(backend: Backend) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &[]).await;
    let http = srv.http();
    // One of each kind first, so the series they land in exist before the baseline.
    let junk = |i: usize| Method::from_bytes(format!("JUNK{i:05}X").as_bytes()).unwrap();
    http.request(junk(0), srv.url("/health"))
        .send()
        .await
        .unwrap();
    http.get(srv.url("/no/such/path/0")).send().await.unwrap();
    http.get(srv.url("/t/nosuchtenant0/jwks"))
        .send()
        .await
        .unwrap();
    scrape(&srv).await;
    let before = scrape(&srv).await;

    for i in 1..2000 {
        let path = if i % 2 == 0 {
            "/health"
        } else {
            "/t/acme/jwks"
        };
        http.request(junk(i), srv.url(path)).send().await.unwrap();
    }
    for i in 1..200 {
        http.get(srv.url(&format!("/no/such/path/{i}")))
            .send()
            .await
            .unwrap();
        http.get(srv.url(&format!("/t/nosuchtenant{i}/jwks")))
            .send()
            .await
            .unwrap();
    }
    let after = scrape(&srv).await;

    let (b, a) = (series(&before), series(&after));
    let new: Vec<&String> = a.iter().filter(|s| !b.contains(s)).collect();
    // At most the OTHER series of /t/{tenant}/jwks (its first junk request came after the baseline).
    assert!(new.len() <= 1, "{new:?}");
    assert!(
        new.iter().all(|s| s.contains("method=\"OTHER\"")),
        "{new:?}"
    );
    assert!(after.len() < 64 * 1024, "{} bytes", after.len());
    assert!(!after.contains("JUNK"), "a raw method became a label");
    assert!(
        !after.contains("no/such") && !after.contains("nosuchtenant"),
        "a raw path became a label"
    );
    assert!(after.contains("route=\"unmatched\",method=\"GET\",status=\"404\""));
    assert!(after.contains("route=\"/health\",method=\"OTHER\",status=\"405\""));
    assert!(after.contains("route=\"/t/{tenant}/jwks\",method=\"GET\",status=\"404\""));
}
both_backends!(
    junk_methods_and_paths_add_no_series,
    super::junk_methods_and_paths_add_no_series
);

const TOKEN: &str = "metrics-token-0123456789abcdef";

/// Before: `/metrics` was open to anyone. With `metrics.token` it takes exactly that bearer
/// token; `/health` and `/ready` stay public.
async fn a_configured_token_is_required(backend: Backend) {
    let mut env = TestEnv::new(backend).await;
    env.config.metrics.token = Some(TOKEN.to_string().try_into().unwrap());
    let srv = TestServer::start_with(env).await;
    let http = srv.http();
    let url = srv.url("/metrics");
    let res = http.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"metrics\""
    );
    for wrong in [
        "Bearer nope",
        "Bearer metrics-token-0123456789abcdeF",
        "Basic bWV0cmljcw==",
    ] {
        let res = http
            .get(&url)
            .header("authorization", wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{wrong}");
    }
    let res = http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(text.contains("gatehouse_http_requests_total"));
    // The password hashing pool: its size, capacity, use now, and its memory (allocated once).
    let cfg = &srv.state.config.password;
    let hashers = cfg.max_concurrent;
    for line in [
        format!("gatehouse_password_hashers {hashers}"),
        format!("gatehouse_password_capacity {}", hashers + cfg.queue_len()),
        "gatehouse_password_in_flight 0".into(),
        format!(
            "gatehouse_password_memory_bytes {}",
            hashers as u64 * u64::from(cfg.memory_kib) * 1024
        ),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in {text}");
    }
    for open in ["/health", "/ready"] {
        assert_eq!(
            http.get(srv.url(open)).send().await.unwrap().status(),
            200,
            "{open}"
        );
    }
}
both_backends!(
    a_configured_token_is_required,
    super::a_configured_token_is_required
);

/// With a real public URL and neither a token nor a separate listener, `/metrics` is closed.
async fn closed_by_default_behind_a_public_url(backend: Backend) {
    let mut env = TestEnv::new(backend).await;
    env.config.server.public_url = Some("https://id.example.com".to_string().try_into().unwrap());
    let srv = TestServer::start_with(env).await;
    let direct = format!("http://{}", srv.bound);
    let res = srv
        .http()
        .get(format!("{direct}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = srv
        .http()
        .get(format!("{direct}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
both_backends!(
    closed_by_default_behind_a_public_url,
    super::closed_by_default_behind_a_public_url
);

/// `metrics.listen` moves `/metrics` to its own address: gone from the main listener, served
/// there (with the token too, when one is set).
async fn a_separate_listener_serves_metrics(backend: Backend) {
    let mut env = TestEnv::new(backend).await;
    env.config.metrics.listen = Some("127.0.0.1:0".parse().unwrap());
    env.config.metrics.token = Some(TOKEN.to_string().try_into().unwrap());
    let srv = TestServer::start_with(env).await;
    let http = srv.http();
    let main = http
        .get(srv.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(main.status(), 404);
    let url = format!("http://{}/metrics", srv.metrics_addr.unwrap());
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    let res = http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("gatehouse_http_requests_total")
    );
    // Only /metrics lives there.
    let other = format!("http://{}/health", srv.metrics_addr.unwrap());
    assert_eq!(http.get(&other).send().await.unwrap().status(), 404);
}
both_backends!(
    a_separate_listener_serves_metrics,
    super::a_separate_listener_serves_metrics
);
