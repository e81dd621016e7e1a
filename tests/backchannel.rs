//! OpenID Connect Back-Channel Logout 1.0 against a real receiver (an HTTP server on port 0):
//! when a sign-in session ends, each client that got tokens in it and registered a
//! `backchannel_logout_uri` is POSTed a valid logout token; the user's logout page does not
//! wait for it; a 5xx is retried with the same token; clients that registered nothing, or got
//! no tokens in that session, hear nothing. Before, no client was ever told.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Map, Value};
use tokio::sync::Notify;

use common::browser::Browser;
use common::flow::{PW, Rp, alice_signs_in, id_token, tokens};
use common::{Backend, TestServer};
use gatehouse::oidc::backchannel::EVENT;

/// What the receiver answers, in order (then 200), and what it was sent.
#[derive(Default)]
struct Receiver {
    script: Mutex<Vec<u16>>,
    received: Mutex<Vec<String>>,
    /// While set, the receiver holds each request until the test releases it.
    hold: Mutex<Option<Arc<Notify>>>,
}

async fn receive(State(r): State<Arc<Receiver>>, body: String) -> StatusCode {
    let token = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    r.received.lock().unwrap().push(token);
    let hold = r.hold.lock().unwrap().clone();
    if let Some(h) = hold {
        h.notified().await;
    }
    let mut script = r.script.lock().unwrap();
    let status = if script.is_empty() {
        200
    } else {
        script.remove(0)
    };
    StatusCode::from_u16(status).unwrap()
}

async fn start_receiver() -> (String, Arc<Receiver>) {
    let r = Arc::new(Receiver::default());
    let app = axum::Router::new()
        .route("/bc", post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/bc", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, r)
}

async fn wait_for(r: &Receiver, n: usize) -> Vec<String> {
    for _ in 0..200 {
        let got = r.received.lock().unwrap().clone();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the receiver got {} of {n} logout tokens",
        r.received.lock().unwrap().len()
    );
}

/// Checks a logout token as a client must (§2.6): signature, `typ`, `iss`, `aud`, `events`,
/// `sid`/`sub` of the session, no `nonce`.
async fn check(srv: &TestServer, token: &str, rp: &Rp, id: &Value) -> Map<String, Value> {
    let v = gatehouse::crypto::jwt::verify(&srv.keys("acme").await, token)
        .expect("a logout token signed by the tenant's key");
    assert_eq!(v.typ.as_deref(), Some("logout+jwt"));
    let c = v.claims;
    assert_eq!(c["iss"], srv.issuer("acme"));
    assert_eq!(c["aud"], rp.client_id.as_str());
    assert_eq!(c["sub"], id["sub"]);
    assert_eq!(c["sid"], id["sid"], "the session that ended");
    assert!(c["events"].get(EVENT).is_some(), "{c:?}");
    assert!(c.get("nonce").is_none(), "§2.4: no nonce");
    assert!(c["jti"].is_string() && c["exp"].as_i64() > c["iat"].as_i64());
    c
}

async fn clients_hear_when_a_session_ends(backend: Backend) {
    let (srv, rp, receiver, uri) = setup(backend, &["--backchannel-logout-session-required"]).await;
    // Registered too, but gets no tokens in this session: hears nothing.
    srv.rp("acme", &["--first-party", "--backchannel-logout-uri", &uri])
        .await;
    // Got tokens in the session, registered nothing.
    let quiet = srv.rp("acme", &["--first-party"]).await;

    let b = Browser::new();
    let id = id_token(&srv, &rp, &alice_signs_in(&b, &srv, &rp, &[]).await).await;
    last_id_token(&srv, &quiet, &b).await;

    // The receiver answers 503 once (retried with the same token), and holds every request
    // until released: the logout page must come back meanwhile.
    *receiver.script.lock().unwrap() = vec![503];
    let release = Arc::new(Notify::new());
    *receiver.hold.lock().unwrap() = Some(release.clone());
    assert!(id["sid"].is_string(), "ID tokens carry sid");
    let jwt_hint = last_id_token(&srv, &rp, &b).await;
    let logout = format!("{}/logout?id_token_hint={jwt_hint}", srv.issuer("acme"));
    let res = tokio::time::timeout(Duration::from_secs(20), b.get(&logout))
        .await
        .expect("the logout page does not wait for the client");
    assert!(res.status().is_success(), "{}", res.status());
    let first = wait_for(&receiver, 1).await;
    *receiver.hold.lock().unwrap() = None;
    release.notify_one();
    let got = wait_for(&receiver, 2).await;
    assert_eq!(got[0], got[1], "the retry sends the same token");
    assert_eq!(first[0], got[0]);
    let claims = check(&srv, &got[0], &rp, &id).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.received.lock().unwrap().len(),
        2,
        "one client, delivered once: {claims:?}"
    );
}
both_backends!(
    clients_hear_when_a_session_ends,
    super::clients_hear_when_a_session_ends
);

/// The ID token (JWT) of a fresh code for `rp` in `b`'s session (the hint the logout needs).
async fn last_id_token(srv: &TestServer, rp: &Rp, b: &Browser) -> String {
    let url = srv.authorize_url(rp, &[("prompt", "none")]);
    let res = b.follow(&srv.base, b.get(&url).await).await;
    tokens(srv, rp, &res).await["id_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A server with alice, and a receiver; a client registered with `flags`.
async fn setup(backend: Backend, flags: &[&str]) -> (TestServer, Rp, Arc<Receiver>, String) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &[]).await;
    srv.user("acme", "alice@example.com", PW).await;
    let (uri, receiver) = start_receiver().await;
    let mut all = vec!["--first-party", "--backchannel-logout-uri", &uri];
    all.extend_from_slice(flags);
    let rp = srv.rp("acme", &all).await;
    (srv, rp, receiver, uri)
}

/// An MFA reset from the command line ends every session of the user: the clients hear of it
/// before the command returns.
async fn an_mfa_reset_tells_the_clients(backend: Backend) {
    let (srv, rp, receiver, _) = setup(backend, &[]).await;
    let b = Browser::new();
    let id = id_token(&srv, &rp, &alice_signs_in(&b, &srv, &rp, &[]).await).await;
    let out = srv
        .cli_json(&["user", "mfa-reset", "acme", "alice@example.com"])
        .await;
    assert_eq!(out["sessions_ended"], 1);
    let got = receiver.received.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "delivered before the command returned");
    let v = gatehouse::crypto::jwt::verify(&srv.keys("acme").await, &got[0]).unwrap();
    assert_eq!(v.claims["sid"], id["sid"]);
    assert_eq!(v.claims["sub"], id["sub"]);
}
both_backends!(
    an_mfa_reset_tells_the_clients,
    super::an_mfa_reset_tells_the_clients
);

async fn registration_checks_the_uri(backend: Backend) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &[]).await;
    for bad in [
        "com.example.app:/logout",
        "http://rp.example.com/bc",
        "https://rp.example.com/bc#x",
    ] {
        let out = srv
            .env
            .cli(&[
                "client",
                "create",
                "acme",
                "--redirect-uri",
                "https://rp.example.com/cb",
                "--backchannel-logout-uri",
                bad,
            ])
            .await;
        assert!(!out.status.success(), "{bad} accepted");
        assert!(String::from_utf8_lossy(&out.stderr).contains("back-channel logout URI"));
    }
    let c = srv
        .cli_json(&[
            "client",
            "create",
            "acme",
            "--redirect-uri",
            "https://rp.example.com/cb",
            "--backchannel-logout-uri",
            "https://rp.example.com/bc",
        ])
        .await;
    assert_eq!(c["backchannel_logout_uri"], "https://rp.example.com/bc");
    let doc: Value = srv
        .http()
        .get(format!(
            "{}/.well-known/openid-configuration",
            srv.issuer("acme")
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["backchannel_logout_supported"], true);
    assert_eq!(doc["backchannel_logout_session_supported"], true);
}
both_backends!(
    registration_checks_the_uri,
    super::registration_checks_the_uri
);
