//! The whole authorization-code flow as an application sees it: the `openidconnect` crate (a
//! certified-style RP library) discovers the issuer, sends the user through the hosted pages
//! (posted as a browser with JavaScript off would), redeems the code, validates the ID token,
//! calls userinfo, refreshes, revokes and logs out.

use crate::common;

use common::browser::{self, Browser, location, query};
use common::flow::{POST_LOGOUT, PW, Rp, alice_signs_in};
use common::rp::{http, walk};
use common::{Backend, TestServer};
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreUserInfoClaims};
use openidconnect::{
    AuthenticationContextClass, ClientId, ClientSecret, IssuerUrl, OAuth2TokenResponse,
    RefreshToken, TokenResponse,
};

async fn setup(backend: Backend, flags: &[&str]) -> (TestServer, Rp) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &[]).await;
    let rp = srv.rp("acme", flags).await;
    srv.user("acme", "alice@example.com", PW).await;
    (srv, rp)
}

async fn full_flow_with_a_confidential_client(backend: Backend) {
    let (srv, rp) = setup(backend, &["--first-party"]).await;
    let b = Browser::new();
    let w = walk(&srv, &rp, &b, &["email", "profile"]).await;
    let c = &w.claims;
    assert_eq!(c.issuer().as_str(), srv.issuer("acme"));
    assert_eq!(c.audiences()[0].as_str(), rp.client_id);
    assert!(c.auth_time().is_some());
    assert_eq!(c.email().unwrap().as_str(), "alice@example.com");
    assert_eq!(c.email_verified(), Some(true));
    // amr and acr for a password sign-in (DESIGN.md §6).
    let amr: Vec<String> = c
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(amr, vec!["pwd"]);
    assert_eq!(
        c.auth_context_ref(),
        Some(&AuthenticationContextClass::new("pwd".into()))
    );
    let raw: serde_json::Value = decode_payload(&w.id_token);
    assert!(raw["sid"].is_string(), "sid claim");
    assert_eq!(raw["azp"], rp.client_id.as_str());

    // userinfo with the access token.
    let http = http();
    let meta =
        CoreProviderMetadata::discover_async(IssuerUrl::new(srv.issuer("acme")).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(rp.client_id.clone()),
        rp.secret.clone().map(ClientSecret::new),
    );
    let info: CoreUserInfoClaims = client
        .user_info(
            openidconnect::AccessToken::new(w.access_token.clone()),
            None,
        )
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject(), c.subject());
    assert_eq!(info.email().unwrap().as_str(), "alice@example.com");

    // Refresh rotates the refresh token and returns a new ID token with the same auth_time.
    let rt = w.refresh_token.clone().expect("refresh token");
    let refreshed = client
        .exchange_refresh_token(&RefreshToken::new(rt.clone()))
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let new_rt = refreshed.refresh_token().unwrap().secret().clone();
    assert_ne!(new_rt, rt);
    let new_id: serde_json::Value = decode_payload(&refreshed.id_token().unwrap().to_string());
    assert_eq!(new_id["auth_time"], raw["auth_time"]);
    assert_eq!(new_id["sub"], raw["sub"]);

    // Revoking the new refresh token makes it inactive.
    let revoke = srv
        .http()
        .post(format!("{}/revoke", srv.issuer("acme")))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[
            ("token", new_rt.as_str()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 200);
    let introspect: serde_json::Value = srv
        .http()
        .post(format!("{}/introspect", srv.issuer("acme")))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[("token", new_rt.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspect["active"], false);

    // RP-initiated logout with id_token_hint ends the session at once.
    let url = format!(
        "{}/logout?id_token_hint={}&post_logout_redirect_uri={}&state=bye",
        srv.issuer("acme"),
        w.id_token,
        url::form_urlencoded::byte_serialize(POST_LOGOUT.as_bytes()).collect::<String>()
    );
    let res = b.get(&url).await;
    assert_eq!(res.status(), 303);
    let loc = location(&res);
    assert!(loc.starts_with(POST_LOGOUT));
    assert_eq!(query(&loc)["state"], "bye");
    let res = b
        .follow(
            &srv.base,
            b.get(&srv.authorize_url(&rp, &[("prompt", "none")])).await,
        )
        .await;
    assert_eq!(query(&location(&res))["error"], "login_required");
}
both_backends!(
    full_flow_with_a_confidential_client,
    super::full_flow_with_a_confidential_client
);

async fn public_client_with_pkce_and_other_algorithms(backend: Backend) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &[]).await;
    srv.user("acme", "alice@example.com", PW).await;
    for alg in ["ES256", "EdDSA"] {
        let rp = srv
            .rp(
                "acme",
                &["--public", "--first-party", "--id-token-alg", alg],
            )
            .await;
        let w = walk(&srv, &rp, &Browser::new(), &[]).await;
        let header: serde_json::Value = decode_part(&w.id_token, 0);
        assert_eq!(header["alg"], alg);
    }
}
both_backends!(
    public_client_with_pkce_and_other_algorithms,
    super::public_client_with_pkce_and_other_algorithms
);

async fn code_reuse_is_refused(backend: Backend) {
    let (srv, rp) = setup(backend, &["--first-party"]).await;
    let b = Browser::new();
    let res = alice_signs_in(&b, &srv, &rp, &[]).await;
    let code = query(&location(&res))["code"].clone();
    let redeem = || {
        srv.http()
            .post(format!("{}/token", srv.issuer("acme")))
            .basic_auth(&rp.client_id, rp.secret.as_deref())
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", rp.redirect_uri.as_str()),
            ])
            .send()
    };
    let first = redeem().await.unwrap();
    assert_eq!(first.status(), 200);
    let first: serde_json::Value = first.json().await.unwrap();
    let second = redeem().await.unwrap();
    assert_eq!(second.status(), 400);
    let body: serde_json::Value = second.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    // The tokens minted from the code are revoked too.
    let info = srv
        .http()
        .get(format!("{}/userinfo", srv.issuer("acme")))
        .bearer_auth(first["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 401);
    let _ = browser::forms; // keep the helper linked for this test binary
}
both_backends!(code_reuse_is_refused, super::code_reuse_is_refused);

fn decode_part(jwt: &str, i: usize) -> serde_json::Value {
    use base64::Engine;
    let part = jwt.split('.').nth(i).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn decode_payload(jwt: &str) -> serde_json::Value {
    decode_part(jwt, 1)
}
