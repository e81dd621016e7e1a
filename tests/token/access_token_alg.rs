//! A client's access-token algorithm (`client create|update --access-token-alg`): its tokens
//! carry that `alg` and a `kid` of the tenant's JWKS, and still work at introspection and
//! UserInfo, which pick the key by `kid`.

use serde_json::{Value, json};

use crate::common::Backend;
use crate::token::fixture::*;

/// One field of the JWS header of `token` (`alg`, `kid`, `typ`).
fn header(token: &str, name: &str) -> Option<String> {
    let h = josekit::jwt::decode_header(token).unwrap();
    h.claim(name).and_then(Value::as_str).map(str::to_owned)
}

/// A client_credentials access token of `client`, with its header's `alg` and `kid`.
async fn cc_token(f: &Fixture, client: &Creds) -> (String, String, String) {
    let body = ok(f
        .token(client, &[("grant_type", "client_credentials")])
        .await)
    .await;
    let token = str_of(&body, "access_token").to_owned();
    let alg = header(&token, "alg").unwrap();
    let kid = header(&token, "kid").unwrap();
    assert_eq!(header(&token, "typ").as_deref(), Some("at+jwt"));
    (token, alg, kid)
}

/// The `alg` the tenant's published JWKS gives for `kid`, if it publishes it.
async fn jwks_alg(f: &Fixture, kid: &str) -> Option<String> {
    let jwks = f.srv.get_json(&format!("{}/jwks", f.issuer)).await;
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .map(|k| k["alg"].as_str().unwrap_or_default().to_owned())
}

async fn access_token_alg(backend: Backend) {
    let f = Fixture::new(backend).await;
    // The default stays RS256.
    let (_, alg, _) = cc_token(&f, &f.conf).await;
    assert_eq!(alg, "RS256");

    let c = f.client(&["--access-token-alg", "ES256"]).await;
    let shown = f.srv.cli_json(&["client", "get", "acme", &c.id]).await;
    assert_eq!(shown["access_token_alg"], "ES256", "{shown}");
    let (token, alg, kid) = cc_token(&f, &c).await;
    assert_eq!(alg, "ES256");
    assert_eq!(jwks_alg(&f, &kid).await.as_deref(), Some("ES256"));
    assert!(f.is_active(&c, &token).await, "introspects as active");

    // update switches it; the token already issued keeps working.
    let out = f
        .srv
        .cli_json(&[
            "client",
            "update",
            "acme",
            &c.id,
            "--access-token-alg",
            "EdDSA",
        ])
        .await;
    assert_eq!(out["access_token_alg"], "EdDSA", "{out}");
    assert_eq!(
        out["token_endpoint_auth_method"], "client_secret_basic",
        "the authentication is left as it was: {out}"
    );
    let (eddsa, alg, kid) = cc_token(&f, &c).await;
    assert_eq!(alg, "EdDSA");
    assert_eq!(jwks_alg(&f, &kid).await.as_deref(), Some("EdDSA"));
    assert!(f.is_active(&c, &eddsa).await);
    assert!(
        f.is_active(&c, &token).await,
        "the ES256 token still introspects"
    );
    let audit = f.srv.cli_json(&["audit", "list", "acme"]).await.to_string();
    assert!(audit.contains(r#""access_token_alg":"EdDSA""#), "{audit}");

    // A user's access token of that algorithm works at UserInfo.
    let code = f.code(&c).await;
    let tokens = f.exchange(&c, &code).await;
    let at = str_of(&tokens, "access_token");
    assert_eq!(header(at, "alg").as_deref(), Some("EdDSA"));
    let res = f.userinfo(at).await;
    assert_eq!(res.status(), 200);
    let info: Value = res.json().await.unwrap();
    assert_eq!(info["email"], json!(EMAIL), "{info}");
    // The ID token keeps its own algorithm.
    assert_eq!(
        header(str_of(&tokens, "id_token"), "alg").as_deref(),
        Some("RS256")
    );

    // Unknown values are refused, naming the flag.
    for args in [
        vec![
            "client",
            "create",
            "acme",
            "--redirect-uri",
            REDIRECT,
            "--access-token-alg",
            "HS256",
        ],
        vec![
            "client",
            "update",
            "acme",
            c.id.as_str(),
            "--access-token-alg",
            "none",
        ],
    ] {
        let out = f.srv.env.cli(&args).await;
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--access-token-alg"), "{args:?}: {err}");
    }
    let still = f.srv.cli_json(&["client", "get", "acme", &c.id]).await;
    assert_eq!(still["access_token_alg"], "EdDSA");
}
both_backends!(access_token_alg, super::access_token_alg);
