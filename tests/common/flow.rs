//! Helpers for walking the code flow through the hosted pages.
#![allow(dead_code)]

use super::TestServer;
use super::browser::{self, Browser};
use reqwest::Response;

/// A relying party registered through the CLI.
#[derive(Debug, Clone)]
pub struct Rp {
    pub tenant: String,
    pub client_id: String,
    pub secret: Option<String>,
    pub redirect_uri: String,
}

/// The user the flow tests sign in as, and her password.
pub const ALICE: &str = "alice@example.com";
pub const PW: &str = "correct horse battery";

pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
pub const POST_LOGOUT: &str = "http://127.0.0.1:9/signed-out";

impl TestServer {
    /// Registers a client (`extra` CLI flags, e.g. `--public`, `--first-party`).
    pub async fn rp(&self, tenant: &str, extra: &[&str]) -> Rp {
        let mut args = vec![
            "client",
            "create",
            tenant,
            "--redirect-uri",
            REDIRECT,
            "--post-logout-redirect-uri",
            POST_LOGOUT,
        ];
        args.extend_from_slice(extra);
        let c = self.cli_json(&args).await;
        Rp {
            tenant: tenant.into(),
            client_id: c["client_id"].as_str().unwrap().into(),
            secret: c["client_secret"].as_str().map(str::to_owned),
            redirect_uri: REDIRECT.into(),
        }
    }

    pub async fn user(&self, tenant: &str, email: &str, password: &str) -> serde_json::Value {
        self.env
            .cli_json_stdin(
                &[
                    "user",
                    "create",
                    tenant,
                    email,
                    "--password-stdin",
                    "--name",
                    "Test User",
                    "--email-verified",
                ],
                &format!("{password}\n"),
            )
            .await
    }

    /// An authorization URL with `openid email profile`, a state and a nonce, plus `extra`.
    pub fn authorize_url(&self, rp: &Rp, extra: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&format!("{}/authorize", self.issuer(&rp.tenant))).unwrap();
        {
            let mut q = url.query_pairs_mut();
            let mut set: Vec<(&str, &str)> = vec![
                ("response_type", "code"),
                ("client_id", &rp.client_id),
                ("redirect_uri", &rp.redirect_uri),
                ("scope", "openid email profile"),
                ("state", "st-123"),
                ("nonce", "n-456"),
            ];
            for (k, _) in extra {
                set.retain(|(sk, _)| sk != k);
            }
            set.extend_from_slice(extra);
            for (k, v) in set {
                if !v.is_empty() {
                    q.append_pair(k, v);
                }
            }
        }
        url.to_string()
    }
}

/// Opens `authorize_url` in `b` and returns the hosted login page (URL, HTML).
pub async fn login_page(b: &Browser, srv: &TestServer, authorize_url: &str) -> (String, String) {
    let res = b.follow(&srv.base, b.get(authorize_url).await).await;
    assert_eq!(res.status(), 200, "login page expected at {}", res.url());
    let url = res.url().to_string();
    (url, res.text().await.unwrap())
}

/// Signs in through the hosted form and returns the response after IdP-internal redirects
/// (normally a redirect to the application, or a page such as consent).
pub async fn sign_in(
    b: &Browser,
    srv: &TestServer,
    authorize_url: &str,
    login: &str,
    password: &str,
) -> Response {
    let (url, html) = login_page(b, srv, authorize_url).await;
    let mut form = browser::form(&html, &url);
    form.set("login", login).set("password", password);
    b.follow(&srv.base, b.submit(&form).await).await
}

/// Alice signs in from `rp`'s authorization request (with `extra` parameters).
pub async fn alice_signs_in(
    b: &Browser,
    srv: &TestServer,
    rp: &Rp,
    extra: &[(&str, &str)],
) -> Response {
    sign_in(b, srv, &srv.authorize_url(rp, extra), ALICE, PW).await
}

/// Asserts a redirect to the application and returns its query parameters.
pub fn app_redirect(res: &Response, rp: &Rp) -> std::collections::HashMap<String, String> {
    assert!(
        res.status().is_redirection(),
        "redirect expected, got {}",
        res.status()
    );
    let loc = browser::location(res);
    assert!(loc.starts_with(&rp.redirect_uri), "{loc}");
    browser::query(&loc)
}

/// Redeems the code of an application redirect at the token endpoint and returns the verified
/// ID token's claims.
pub async fn id_token(srv: &TestServer, rp: &Rp, res: &Response) -> serde_json::Value {
    id_token_claims(srv, rp, &tokens(srv, rp, res).await).await
}

/// The verified claims of a token response's ID token.
pub async fn id_token_claims(
    srv: &TestServer,
    rp: &Rp,
    token: &serde_json::Value,
) -> serde_json::Value {
    let jwt = token["id_token"].as_str().expect("id_token");
    let verified =
        gatehouse::crypto::jwt::verify(&srv.keys(&rp.tenant).await, jwt).expect("valid signature");
    serde_json::Value::Object(verified.claims)
}

/// The UserInfo response for a token response's access token.
pub async fn userinfo(srv: &TestServer, rp: &Rp, token: &serde_json::Value) -> serde_json::Value {
    srv.http()
        .get(format!("{}/userinfo", srv.issuer(&rp.tenant)))
        .bearer_auth(token["access_token"].as_str().expect("access_token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Redeems the code of the redirect `res` at the token endpoint: the token response.
pub async fn tokens(srv: &TestServer, rp: &Rp, res: &Response) -> serde_json::Value {
    let q = app_redirect(res, rp);
    srv.http()
        .post(format!("{}/token", srv.issuer(&rp.tenant)))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", q["code"].as_str()),
            ("redirect_uri", rp.redirect_uri.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A refresh at `rp`'s token endpoint with the refresh token of `tokens`: the status and body.
pub async fn refresh(
    srv: &TestServer,
    rp: &Rp,
    tokens: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let res = srv
        .http()
        .post(format!("{}/token", srv.issuer(&rp.tenant)))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// `client_credentials` with `secret` for a client of the tenant `acme`: the token
/// endpoint's status.
pub async fn client_credentials(srv: &TestServer, client_id: &str, secret: &str) -> u16 {
    srv.http()
        .post(format!("{}/token", srv.issuer("acme")))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
