//! The `openidconnect` crate as the relying party: discovery, the hosted sign-in (posted as a
//! browser with JavaScript off would), the code exchange and ID-token validation in one walk.
#![allow(dead_code)]

use super::TestServer;
use super::browser::{Browser, location, query};
use super::flow::{PW, Rp, sign_in};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

pub fn http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub struct Walk {
    pub claims: CoreIdTokenClaims,
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
}

/// Discovers, signs in through the hosted pages in `b`, redeems the code, verifies the ID token
/// (signature, iss, aud, exp, nonce, at_hash) and the authorization response's `iss`.
pub async fn walk(srv: &TestServer, rp: &Rp, b: &Browser, extra_scopes: &[&str]) -> Walk {
    let http = http();
    let issuer = IssuerUrl::new(srv.issuer(&rp.tenant)).unwrap();
    let meta = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(rp.client_id.clone()),
        rp.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(rp.redirect_uri.clone()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for s in extra_scopes {
        req = req.add_scope(Scope::new(s.to_string()));
    }
    let (url, csrf, nonce) = req.url();
    let res = sign_in(b, srv, url.as_str(), "alice@example.com", PW).await;
    let loc = location(&res);
    assert!(loc.starts_with(&rp.redirect_uri), "{loc}");
    let q = query(&loc);
    assert_eq!(&q["state"], csrf.secret());
    assert_eq!(q["iss"], srv.issuer(&rp.tenant), "RFC 9207 iss");

    let token = client
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token response");
    let id_token = token.id_token().expect("id_token").clone();
    let id_verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("valid ID token")
        .clone();
    let expected_hash = claims.access_token_hash().expect("at_hash");
    let actual = AccessTokenHash::from_token(
        token.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(&actual, expected_hash);
    Walk {
        claims,
        id_token: id_token.to_string(),
        access_token: token.access_token().secret().clone(),
        refresh_token: token.refresh_token().map(|r| r.secret().clone()),
    }
}

/// UserInfo for `access_token`, through the RP library (which checks `sub` against nothing: the
/// caller compares it with the ID token's).
pub async fn user_info(srv: &TestServer, rp: &Rp, access_token: &str) -> CoreUserInfoClaims {
    let http = http();
    let issuer = IssuerUrl::new(srv.issuer(&rp.tenant)).unwrap();
    let meta = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .unwrap();
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(rp.client_id.clone()),
        rp.secret.clone().map(ClientSecret::new),
    );
    client
        .user_info(
            openidconnect::AccessToken::new(access_token.to_owned()),
            None,
        )
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo")
}
