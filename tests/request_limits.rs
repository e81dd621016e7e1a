//! Bounded `/authorize` input: a maximum per parameter, a cap on the whole request, and a
//! per-network limit on new login transactions. Every refusal stores nothing.

use crate::common;

use common::browser::{location, query};
use common::burst::at_once;
use common::flow::{REDIRECT, Rp};
use common::{Backend, TestEnv, TestServer};
use gatehouse::oidc::authorize::MAX_LENGTHS;
use gatehouse::store::transactions;

async fn setup(env: TestEnv) -> (TestServer, Rp) {
    let srv = TestServer::start_with(env).await;
    srv.tenant("acme", &[]).await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    (srv, rp)
}

/// Sends `GET {path}` on a plain socket and returns the status code of the answer (0 if the
/// server closed the connection without one).
async fn raw_get_status(addr: std::net::SocketAddr, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    // The server may answer and close before the whole request is written.
    let _ = s.write_all(req.as_bytes()).await;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    let head = String::from_utf8_lossy(&buf[..buf.len().min(64)]).to_string();
    head.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

async fn stored(srv: &TestServer) -> i64 {
    transactions::count(&srv.state.db).await.unwrap()
}

fn is_login(res: &reqwest::Response) -> bool {
    res.status() == 303 && location(res).contains("/login?tx=")
}

fn max_of(name: &str) -> usize {
    MAX_LENGTHS.iter().find(|(n, _)| *n == name).unwrap().1
}

/// A `claims` object of exactly `len` bytes.
fn claims_of(len: usize) -> String {
    let shell = r#"{"userinfo":{"x":""}}"#;
    let pad = "a".repeat(len - shell.len());
    format!(r#"{{"userinfo":{{"x":"{pad}"}}}}"#)
}

/// Before: 20 POSTs of a 1.9 MB `claims` added 38 MB to the database, kept for the 15-minute
/// transaction lifetime. Now a 1 MB `claims` is refused by GET and by POST and nothing is stored.
async fn a_megabyte_of_claims_is_refused(backend: Backend) {
    let (srv, rp) = setup(TestEnv::new(backend).await).await;
    let claims = claims_of(1024 * 1024);
    let before = stored(&srv).await;

    // GET: a 1 MB query is refused by the HTTP layer before any handler runs (URIs are
    // limited to 64 KiB). Sent over a raw socket, since HTTP clients refuse to build it.
    let path = srv.authorize_url(&rp, &[("claims", &claims)]);
    let status = raw_get_status(srv.bound, &path[srv.base.len()..]).await;
    assert!((400..500).contains(&status), "{status}");

    // POST form: over `server.max_body_bytes`: the HTML error page, never a redirect.
    let issuer = srv.issuer("acme");
    let form = [
        ("response_type", "code"),
        ("client_id", rp.client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("state", "st-123"),
        ("claims", claims.as_str()),
    ];
    let res = srv
        .http()
        .post(format!("{issuer}/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
    let body = res.text().await.unwrap();
    assert!(body.contains("longer than this service accepts"), "{body}");

    // Under the request cap but over the claims maximum: back to the client.
    let big = claims_of(40 * 1024);
    let res = srv
        .http()
        .get(srv.authorize_url(&rp, &[("claims", &big)]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let q = query(&location(&res));
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], "st-123");

    assert_eq!(stored(&srv).await, before, "nothing stored");
}
both_backends!(
    a_megabyte_of_claims_is_refused,
    super::a_megabyte_of_claims_is_refused
);

/// The query string has the same cap as a body (`server.max_body_bytes`): over it, the page,
/// even before the client is looked up.
async fn the_query_string_is_capped(backend: Backend) {
    let mut env = TestEnv::new(backend).await;
    env.config.server.max_body_bytes = 16 * 1024;
    let (srv, rp) = setup(env).await;
    let before = stored(&srv).await;
    let unknown = "u".repeat(20 * 1024);
    let res = srv
        .http()
        .get(srv.authorize_url(&rp, &[("something_else", &unknown)]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
    let body = res.text().await.unwrap();
    assert!(body.contains("longer than this service accepts"));
    assert_eq!(stored(&srv).await, before);
}
both_backends!(
    the_query_string_is_capped,
    super::the_query_string_is_capped
);

/// Before: every body up to axum's 2 MB default was read. Now `server.max_body_bytes` (64 KiB)
/// caps every endpoint: the token endpoint answers `invalid_request`, a hosted form 413.
async fn every_body_is_capped(backend: Backend) {
    let (srv, rp) = setup(TestEnv::new(backend).await).await;
    let issuer = srv.issuer("acme");
    let big = "x".repeat(100 * 1024);
    let res = srv
        .http()
        .post(format!("{issuer}/token"))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[("grant_type", "client_credentials"), ("pad", big.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    let res = srv
        .http()
        .post(format!("{issuer}/login?tx=x"))
        .form(&[("pad", big.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
}
both_backends!(every_body_is_capped, super::every_body_is_capped);

/// Before: no parameter had a maximum. Now each one is accepted at its maximum and refused one
/// byte over it (`invalid_request` to the client, or the page while the client is not yet
/// trusted), storing nothing.
async fn each_parameter_at_and_over_its_maximum(backend: Backend) {
    let (srv, rp) = setup(TestEnv::new(backend).await).await;
    // Values that stay valid at any length (enumerated ones are only tested over the limit).
    let at = |name: &str, len: usize| -> Option<String> {
        Some(match name {
            "state" | "nonce" | "login_hint" | "acr_values" | "ui_locales" => "a".repeat(len),
            "scope" => format!("openid {}", "x".repeat(len - 7)),
            "code_challenge" => "a".repeat(len),
            "max_age" => format!("{:0>len$}", 3600),
            "prompt" => format!("{:<len$}", "login"),
            "claims" => claims_of(len),
            _ => return None,
        })
    };
    for (name, max) in MAX_LENGTHS {
        if ["client_id", "redirect_uri"].contains(name) {
            continue;
        }
        let extra_method = [("code_challenge_method", "S256")];
        let with = |v: &str| {
            let mut e = vec![(*name, v.to_owned())];
            if *name == "code_challenge" {
                e.push((extra_method[0].0, extra_method[0].1.to_owned()));
            }
            e
        };
        if let Some(ok) = at(name, *max) {
            assert_eq!(ok.len(), *max);
            let e = with(&ok);
            let pairs: Vec<(&str, &str)> = e.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let res = srv
                .http()
                .get(srv.authorize_url(&rp, &pairs))
                .send()
                .await
                .unwrap();
            assert!(is_login(&res), "{name} at {max}: {}", res.status());
        }
        let before = stored(&srv).await;
        let over = at(name, max + 1).unwrap_or_else(|| "a".repeat(max + 1));
        let e = with(&over);
        let pairs: Vec<(&str, &str)> = e.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let res = srv
            .http()
            .get(srv.authorize_url(&rp, &pairs))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{name} over {max}");
        let loc = location(&res);
        assert!(loc.starts_with(REDIRECT), "{name}: {loc}");
        let q = query(&loc);
        assert_eq!(q["error"], "invalid_request", "{name}");
        // An oversized state is dropped rather than echoed.
        let state = if *name == "state" {
            None
        } else {
            Some("st-123")
        };
        assert_eq!(q.get("state").map(String::as_str), state, "{name}");
        assert_eq!(stored(&srv).await, before, "{name}: nothing stored");
    }
}
both_backends!(
    each_parameter_at_and_over_its_maximum,
    super::each_parameter_at_and_over_its_maximum
);

/// The client id and redirect URI decide whether the client can be trusted, so one byte over
/// either is a page, never a redirect; at the maximum a registered client still signs in.
async fn client_id_and_redirect_uri_limits(backend: Backend) {
    let (srv, _) = setup(TestEnv::new(backend).await).await;
    let id = "c".repeat(max_of("client_id"));
    let base = "https://app.example.com/cb?pad=";
    let uri = format!("{base}{}", "p".repeat(max_of("redirect_uri") - base.len()));
    let tenant = gatehouse::store::tenants::get_by_slug(&srv.state.db, "acme")
        .await
        .unwrap();
    gatehouse::store::clients::create(
        &srv.state.db,
        &gatehouse::store::clients::NewClient {
            id: id.clone().into(),
            tenant_id: tenant.id,
            name: "Long".into(),
            secret_hash: Some("x".into()),
            is_public: false,
            first_party: true,
            token_endpoint_auth_method: gatehouse::model::TokenAuthMethod::ClientSecretBasic,
            redirect_uris: vec![uri.clone()],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["authorization_code".into()],
            mfa_policy: gatehouse::model::ClientMfaPolicy::Inherit,
            trust_policy: gatehouse::model::TrustPolicy::Any,
            id_token_alg: gatehouse::model::SigningAlg::Rs256,
            access_token_alg: gatehouse::model::SigningAlg::Rs256,
            access_token_ttl_secs: 60,
            id_token_ttl_secs: 60,
            refresh_token_ttl_secs: 60,
            scope: String::new(),
            offline_access: false,
            web_origins: Vec::new(),
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
        },
    )
    .await
    .unwrap();
    let rp = Rp {
        tenant: "acme".into(),
        client_id: id.clone(),
        secret: None,
        redirect_uri: uri.clone(),
    };
    let res = srv
        .http()
        .get(srv.authorize_url(&rp, &[]))
        .send()
        .await
        .unwrap();
    assert!(is_login(&res), "at the maximum: {}", res.status());

    let before = stored(&srv).await;
    let long_id = format!("{id}c");
    let long_uri = format!("{uri}p");
    for extra in [
        [("client_id", long_id.as_str())],
        [("redirect_uri", long_uri.as_str())],
    ] {
        let res = srv
            .http()
            .get(srv.authorize_url(&rp, &extra))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        assert!(res.headers().get("location").is_none());
        let body = res.text().await.unwrap();
        assert!(body.contains("longer than this service accepts"), "{body}");
    }
    assert_eq!(stored(&srv).await, before);
}
both_backends!(
    client_id_and_redirect_uri_limits,
    super::client_id_and_redirect_uri_limits
);

/// Before: any number of login transactions per IP. Now a burst from one network past
/// `login.max_transactions_per_ip` (here 10, fired at once) starts exactly 10 and the rest get
/// the 429 page.
async fn a_burst_of_new_transactions_is_limited_per_network(backend: Backend) {
    let mut env = TestEnv::new(backend).await;
    env.config.login.max_transactions_per_ip = 10;
    env.config.login.transaction_window_secs = 300;
    let (srv, rp) = setup(env).await;
    let url = srv.authorize_url(&rp, &[]);
    let before = stored(&srv).await;
    let responses = at_once((0..30).map(|_| srv.http().get(&url)).collect()).await;
    let mut started = 0;
    let mut limited = 0;
    for res in responses {
        if is_login(&res) {
            started += 1;
            continue;
        }
        assert_eq!(res.status(), 429);
        assert!(res.headers().contains_key("retry-after"));
        let body = res.text().await.unwrap();
        assert!(
            body.contains("Too many sign-in attempts started from your network"),
            "{body}"
        );
        limited += 1;
    }
    assert_eq!((started, limited), (10, 20));
    assert_eq!(stored(&srv).await, before + 10);
}
both_backends!(
    a_burst_of_new_transactions_is_limited_per_network,
    super::a_burst_of_new_transactions_is_limited_per_network
);
