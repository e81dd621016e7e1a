//! Discovery, JWKS, operational endpoints and security headers, over HTTP against a real server.

use crate::common;

use common::{Backend, TestServer};
use serde_json::Value;

const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

async fn discovery_matches_the_issuer(backend: Backend) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &["--name", "Acme Corp"]).await;
    let http = srv.http();
    let issuer = srv.issuer("acme");

    let res = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cc = res.headers()["cache-control"].to_str().unwrap().to_string();
    assert!(cc.contains("max-age="), "cacheable: {cc}");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc: Value = res.json().await.unwrap();
    // OIDC Discovery §4.3: issuer identical to the URL used, minus the well-known suffix.
    assert_eq!(doc["issuer"], issuer);
    assert_eq!(doc["jwks_uri"], format!("{issuer}/jwks"));
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    // OIDC Core §11: offline access is supported (for clients registered with
    // `--offline-access`); every other refresh token ends with its SSO session.
    assert!(
        doc["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("offline_access"))
    );
    // OIDC Core §5.4: the address scope, and the profile claims with `updated_at`.
    let scopes = doc["scopes_supported"].as_array().unwrap();
    assert!(scopes.contains(&"address".into()), "{scopes:?}");
    let claims = doc["claims_supported"].as_array().unwrap();
    for c in [
        "given_name",
        "family_name",
        "locale",
        "zoneinfo",
        "updated_at",
        "address",
    ] {
        assert!(claims.contains(&c.into()), "{c} in {claims:?}");
    }
    assert_eq!(
        doc["subject_types_supported"],
        serde_json::json!(["public"])
    );
    let algs = doc["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.contains(&"RS256".into()), "RS256 is mandatory");

    // Every URL the document names is served.
    let jwks: Value = http
        .get(doc["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    for k in keys {
        for m in PRIVATE_MEMBERS {
            assert!(k.get(*m).is_none(), "private member `{m}` in JWKS: {k}");
        }
        assert_eq!(k["use"], "sig");
        assert!(k["kid"].is_string());
        assert!(["RS256", "ES256", "EdDSA"].contains(&k["alg"].as_str().unwrap()));
    }
}
both_backends!(
    discovery_matches_the_issuer,
    super::discovery_matches_the_issuer
);

/// RFC 8414 §3: the authorization-server metadata at the path form (the well-known segment
/// between host and issuer path) and, for clients that append it, under the issuer; both the
/// OIDC document's values with the identical `issuer` (§3.3).
async fn rfc8414_metadata_at_both_paths(backend: Backend) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &[]).await;
    let http = srv.http();
    let issuer = srv.issuer("acme");
    let get = |url: String| {
        let http = http.clone();
        async move {
            let res = http.get(&url).send().await.unwrap();
            (
                res.status(),
                res.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, oidc) = get(format!("{issuer}/.well-known/openid-configuration")).await;
    assert_eq!(status, 200);
    for url in [
        srv.url("/.well-known/oauth-authorization-server/t/acme"),
        format!("{issuer}/.well-known/oauth-authorization-server"),
    ] {
        let (status, doc) = get(url.clone()).await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(doc["issuer"], issuer, "{url}");
        assert_eq!(doc, oidc, "{url}: the same values as OIDC discovery");
        assert_eq!(doc["token_endpoint"], format!("{issuer}/token"));
    }
    let (status, _) = get(srv.url("/.well-known/oauth-authorization-server/t/nope")).await;
    assert_eq!(status, 404);
}
both_backends!(
    rfc8414_metadata_at_both_paths,
    super::rfc8414_metadata_at_both_paths
);

async fn unknown_tenant_is_a_json_404(backend: Backend) {
    let srv = TestServer::start(backend).await;
    for path in ["/t/nope/.well-known/openid-configuration", "/t/nope/jwks"] {
        let res = srv.http().get(srv.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "not_found");
    }
}
both_backends!(
    unknown_tenant_is_a_json_404,
    super::unknown_tenant_is_a_json_404
);

async fn operations_endpoints(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let http = srv.http();
    let health = http.get(srv.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let ready = http.get(srv.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready_headers = &ready.headers().clone();
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert_eq!(body["keys"], "ok");

    // Every response carries the security headers and a request id.
    let h = health.headers();
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert!(
        !h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("unsafe-inline")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    // A fresh UUID v4 per request (not a counter another client could predict or collide with).
    let id = |h: &reqwest::header::HeaderMap| {
        uuid::Uuid::parse_str(h["x-request-id"].to_str().unwrap()).unwrap()
    };
    assert_eq!(id(h).get_version_num(), 4);
    assert_ne!(id(h), id(ready_headers));
    assert!(
        !h.contains_key("strict-transport-security"),
        "no HSTS on http"
    );

    let metrics = http
        .get(srv.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("# TYPE gatehouse_http_requests_total counter"));
    assert!(
        metrics.contains(
            "gatehouse_http_requests_total{route=\"/health\",method=\"GET\",status=\"200\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("gatehouse_http_request_duration_seconds_bucket{route=\"/ready\""));

    // Static assets are cacheable; unknown ones are 404.
    let css = http
        .get(srv.url("/static/default/gatehouse.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert!(
        css.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let traversal = http
        .get(srv.url("/static/..%2F..%2Fetc/passwd"))
        .send()
        .await
        .unwrap();
    assert_eq!(traversal.status(), 404);
}
both_backends!(operations_endpoints, super::operations_endpoints);

#[tokio::test]
async fn hsts_is_sent_when_the_public_url_is_https() {
    let mut env = common::TestEnv::new(Backend::Sqlite).await;
    env.config.server.public_url =
        Some(gatehouse::config::PublicUrl::try_from("https://id.example.com".to_string()).unwrap());
    let srv = TestServer::start_with(env).await;
    // public_url is https but we talk to the bound port directly.
    let listen = srv.state.public_url.to_string();
    assert_eq!(listen, "https://id.example.com");
    let res = srv
        .http()
        .get(format!("http://{}/health", srv.bound))
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
}

async fn rotation_reaches_the_running_server(backend: Backend) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &[]).await;
    let jwks_url = format!("{}/jwks", srv.issuer("acme"));
    let kids = |v: &Value| {
        v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let before: Value = srv
        .http()
        .get(&jwks_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let rotated = srv.cli_json(&["keys", "rotate", "--alg", "RS256"]).await;
    let new_kid = rotated["rotated"][0]["kid"].as_str().unwrap().to_string();
    let old_kid = rotated["rotated"][0]["retired_kid"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(kids(&before).contains(&old_kid));

    // The server re-reads keys/ every second in tests; poll briefly.
    let mut after = Value::Null;
    for _ in 0..50 {
        after = srv
            .http()
            .get(&jwks_url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if kids(&after).contains(&new_kid) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let after_kids = kids(&after);
    assert!(after_kids.contains(&new_kid), "new key published");
    assert!(after_kids.contains(&old_kid), "retired key still published");
    assert_eq!(after_kids.len(), 4);

    let list = srv.cli_json(&["keys", "list"]).await;
    let states: Vec<(String, String)> = list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().into(),
                k["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(states.contains(&(new_kid, "active".into())));
    assert!(states.contains(&(old_kid, "retired".into())));
}
both_backends!(
    rotation_reaches_the_running_server,
    super::rotation_reaches_the_running_server
);

/// Tenants are separate organisations: each has its own signing keys (created with the
/// tenant), so two tenants publish disjoint JWKS and `keys list|rotate --tenant` touch one.
/// Before, every tenant's JWKS published the same keys.
async fn tenants_have_their_own_keys(backend: Backend) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &[]).await;
    srv.tenant("globex", &[]).await;
    let kids = |slug: &'static str| {
        let http = srv.http();
        let url = format!("{}/jwks", srv.issuer(slug));
        async move {
            let doc: Value = http.get(url).send().await.unwrap().json().await.unwrap();
            doc["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kid"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let (a, b) = (kids("acme").await, kids("globex").await);
    assert_eq!((a.len(), b.len()), (3, 3));
    assert!(a.iter().all(|k| !b.contains(k)), "disjoint: {a:?} {b:?}");
    // A token signed by acme's key does not verify under globex's keys.
    let acme = srv.keys("acme").await;
    let token = gatehouse::crypto::jwt::sign(
        &acme,
        gatehouse::model::SigningAlg::Rs256,
        "JWT",
        serde_json::Map::new(),
    )
    .unwrap();
    assert!(gatehouse::crypto::jwt::verify(&acme, &token).is_ok());
    assert!(gatehouse::crypto::jwt::verify(&srv.keys("globex").await, &token).is_err());

    let list = srv.cli_json(&["keys", "list", "--tenant", "globex"]).await;
    let listed = list["keys"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|k| k["tenant"] == "globex"));
    let rotated = srv
        .cli_json(&["keys", "rotate", "--tenant", "acme", "--alg", "ES256"])
        .await;
    assert_eq!(rotated["rotated"].as_array().unwrap().len(), 1);
    assert_eq!(rotated["rotated"][0]["tenant"], "acme");
    let all = srv.cli_json(&["keys", "list"]).await;
    assert_eq!(
        all["keys"].as_array().unwrap().len(),
        7,
        "acme 4 (one retired), globex 3"
    );
}
both_backends!(
    tenants_have_their_own_keys,
    super::tenants_have_their_own_keys
);

/// Upgrading from one shared key set: an existing tenant keeps publishing the shared keys
/// (retired, until the tokens they signed expire) and signs with its own fresh ones; after the
/// first start the shared files are set aside, so a tenant created later has only its own.
async fn shared_keys_from_before_retire(backend: Backend) {
    let env = common::TestEnv::new(backend).await;
    let root = env.config.keys.dir.clone();
    let shared =
        gatehouse::crypto::keys::KeySet::load_or_create(&root, gatehouse::model::now()).unwrap();
    env.cli_json(&["tenant", "create", "acme"]).await;
    let srv = TestServer::start_with(env).await;
    let acme = srv.keys("acme").await;
    for old in shared.keys() {
        let k = acme
            .find(&old.kid)
            .expect("the shared key is still published");
        assert_eq!(k.state.as_str(), "retired");
    }
    let rs256 = acme.active(gatehouse::model::SigningAlg::Rs256).unwrap();
    assert!(
        shared.find(&rs256.kid).is_none(),
        "acme signs with its own key"
    );
    assert!(root.join("shared-before-tenants").is_dir());
    srv.tenant("globex", &[]).await;
    let globex = srv.keys("globex").await;
    assert_eq!(globex.keys().len(), 3);
    assert!(globex.keys().iter().all(|k| shared.find(&k.kid).is_none()));
}
both_backends!(
    shared_keys_from_before_retire,
    super::shared_keys_from_before_retire
);
