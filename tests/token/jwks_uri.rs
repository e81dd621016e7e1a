//! `private_key_jwt` clients whose keys are at a `jwks_uri` served by a real local HTTP server
//! (axum on 127.0.0.1:0): cached, fetched again for an unknown `kid`, bounded in size and time.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::common::Backend;
use crate::token::client_auth::{Key, cc_status, claims, jwks};
use crate::token::fixture::*;

/// A client's key server on 127.0.0.1:0: serves the current set and counts the fetches.
struct KeyServer {
    url: String,
    set: Arc<Mutex<Value>>,
    fetches: Arc<Mutex<u32>>,
}

impl KeyServer {
    async fn start(set: Value) -> KeyServer {
        let set = Arc::new(Mutex::new(set));
        let fetches = Arc::new(Mutex::new(0));
        let (s, n) = (set.clone(), fetches.clone());
        let app = axum::Router::new()
            .route(
                "/jwks",
                axum::routing::get(move || {
                    let (s, n) = (s.clone(), n.clone());
                    async move {
                        *n.lock().unwrap() += 1;
                        axum::Json(s.lock().unwrap().clone())
                    }
                }),
            )
            // Never answers within Gatehouse's fetch timeout.
            .route(
                "/slow",
                axum::routing::get(|| async {
                    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                    "{}"
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        KeyServer { url, set, fetches }
    }

    fn fetches(&self) -> u32 {
        *self.fetches.lock().unwrap()
    }
}

/// Registers a private_key_jwt client whose keys are at `uri`.
async fn uri_client(f: &Fixture, uri: &str) -> Creds {
    f.client(&[
        "--token-endpoint-auth-method",
        "private_key_jwt",
        "--jwks-uri",
        uri,
    ])
    .await
}

async fn private_key_jwt_from_a_jwks_uri_follows_rotation(backend: Backend) {
    let f = Fixture::new(backend).await;
    let old = Key::new("RS256", "old");
    let server = KeyServer::start(jwks(&[&old])).await;
    let client = uri_client(&f, &server.url).await;
    let id = client.id.as_str();
    assert_eq!(cc_status(&f, &old.sign(&claims(&f, id))).await, 200);
    assert_eq!(cc_status(&f, &old.sign(&claims(&f, id))).await, 200);
    assert_eq!(server.fetches(), 1, "the set is cached");

    // The client rotates: the new kid is unknown to the cache, so the set is fetched again.
    let new = Key::new("EdDSA", "new");
    *server.set.lock().unwrap() = jwks(&[&new]);
    assert_eq!(cc_status(&f, &new.sign(&claims(&f, id))).await, 200);
    assert_eq!(server.fetches(), 2);
    // The retired key no longer works, and asking for it does not fetch again at once.
    assert_eq!(cc_status(&f, &old.sign(&claims(&f, id))).await, 401);
    assert_eq!(server.fetches(), 2);
    assert_eq!(cc_status(&f, &new.sign(&claims(&f, id))).await, 200);

    // A client's first assertion with a kid its set lacks costs one fetch, not two.
    let other = uri_client(&f, &server.url).await;
    let before = server.fetches();
    assert_eq!(cc_status(&f, &old.sign(&claims(&f, &other.id))).await, 401);
    assert_eq!(server.fetches(), before + 1);
}
both_backends!(
    private_key_jwt_from_a_jwks_uri_follows_rotation,
    super::private_key_jwt_from_a_jwks_uri_follows_rotation
);

/// A key server that sends too much, or nothing in time, costs one refused request.
async fn a_jwks_uri_is_bounded_in_size_and_time(backend: Backend) {
    let f = Fixture::new(backend).await;
    let key = Key::new("ES256", "k1");
    let mut big = jwks(&[&key]);
    big["padding"] = json!("x".repeat(70 * 1024));
    let server = KeyServer::start(big).await;
    let slow = server.url.replace("/jwks", "/slow");
    for uri in [server.url.as_str(), slow.as_str()] {
        let client = uri_client(&f, uri).await;
        let started = std::time::Instant::now();
        assert_eq!(
            cc_status(&f, &key.sign(&claims(&f, &client.id))).await,
            401,
            "{uri}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "{uri}"
        );
    }
    // The same keys, within the bound, work.
    *server.set.lock().unwrap() = jwks(&[&key]);
    let client = uri_client(&f, &server.url).await;
    assert_eq!(cc_status(&f, &key.sign(&claims(&f, &client.id))).await, 200);
}
both_backends!(
    a_jwks_uri_is_bounded_in_size_and_time,
    super::a_jwks_uri_is_bounded_in_size_and_time
);
