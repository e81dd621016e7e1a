//! CORS for browser applications: a public client registered with `--web-origin` can read
//! its answers from /token, /userinfo, /revoke and /introspect in a page on that origin; no
//! other origin, and no other client's request, gets `Access-Control-Allow-Origin`. Before,
//! `OPTIONS` answered 405 and no response carried the header.

use reqwest::Response;
use reqwest::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, ORIGIN, VARY,
};

use crate::common::Backend;
use crate::token::fixture::*;

const SPA: &str = "https://spa.example.com";
const EVIL: &str = "https://evil.example.net";

fn allowed(res: &Response) -> Option<String> {
    assert!(
        res.headers()
            .get(ACCESS_CONTROL_ALLOW_CREDENTIALS)
            .is_none(),
        "never credentials mode"
    );
    res.headers()
        .get(ACCESS_CONTROL_ALLOW_ORIGIN)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn varies_on_origin(res: &Response) -> bool {
    res.headers()
        .get_all(VARY)
        .iter()
        .any(|v| v.to_str().unwrap().contains("Origin"))
}

async fn preflight(f: &Fixture, endpoint: &str, origin: &str) -> Response {
    f.srv
        .http()
        .request(reqwest::Method::OPTIONS, format!("{}/{endpoint}", f.issuer))
        .header(ORIGIN, origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap()
}

async fn from_page(f: &Fixture, origin: &str, client: &Creds, form: &[(&str, &str)]) -> Response {
    let mut form = form.to_vec();
    form.push(("client_id", &client.id));
    f.post("token")
        .header(ORIGIN, origin)
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn userinfo_from(f: &Fixture, origin: &str, token: &str) -> Response {
    f.srv
        .http()
        .get(format!("{}/userinfo", f.issuer))
        .header(ORIGIN, origin)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn browser_apps_read_only_their_own_answers(backend: Backend) {
    let f = Fixture::new(backend).await;
    let spa = f.client(&["--public", "--web-origin", SPA]).await;
    let other = f.client(&["--public"]).await;

    // Preflights: answered for an origin a client of the tenant registered, refused otherwise.
    for endpoint in ["token", "userinfo", "revoke", "introspect"] {
        let res = preflight(&f, endpoint, SPA).await;
        assert_eq!(res.status(), 204, "{endpoint}");
        assert_eq!(allowed(&res).as_deref(), Some(SPA), "{endpoint}");
        assert!(varies_on_origin(&res));
        let methods = res.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap();
        assert!(methods.contains("POST"), "{methods}");
        let res = preflight(&f, endpoint, EVIL).await;
        assert_eq!(res.status(), 403, "{endpoint}");
        assert_eq!(allowed(&res), None);
    }

    // The code exchange from the SPA's page: readable there, with Vary: Origin.
    let code = f.code(&spa).await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", PUBLIC_REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let res = from_page(&f, SPA, &spa, &exchange).await;
    assert_eq!(allowed(&res).as_deref(), Some(SPA));
    assert!(varies_on_origin(&res));
    let body = ok(res).await;

    // Its errors too (the page must learn that a refresh token is spent); another origin never.
    let spent = [("grant_type", "refresh_token"), ("refresh_token", "spent")];
    for (origin, expected) in [(SPA, Some(SPA)), (EVIL, None)] {
        let res = from_page(&f, origin, &spa, &spent).await;
        assert_eq!(res.status(), 400);
        assert_eq!(allowed(&res).as_deref(), expected, "{origin}");
    }
    // A client that did not register the origin gets nothing either, even from the SPA's page.
    let code = f.code(&other).await;
    let mut theirs = exchange;
    theirs[1] = ("code", code.as_str());
    let res = from_page(&f, SPA, &other, &theirs).await;
    assert_eq!(res.status(), 200);
    assert_eq!(allowed(&res), None, "another client's request");

    // UserInfo: the access token names the client.
    let access = str_of(&body, "access_token");
    let info = userinfo_from(&f, SPA, access).await;
    assert_eq!(info.status(), 200);
    assert_eq!(allowed(&info).as_deref(), Some(SPA));
    assert_eq!(allowed(&userinfo_from(&f, EVIL, access).await), None);

    // Revocation from the page.
    let res = f
        .post("revoke")
        .header(ORIGIN, SPA)
        .form(&[("token", access), ("client_id", spa.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(allowed(&res).as_deref(), Some(SPA));

    // Without an Origin header (server to server) nothing changes.
    let res = f.userinfo(access).await;
    assert_eq!(allowed(&res), None);
}
both_backends!(
    browser_apps_read_only_their_own_answers,
    super::browser_apps_read_only_their_own_answers
);

async fn web_origins_are_exact(backend: Backend) {
    let f = Fixture::new(backend).await;
    for bad in [
        "https://*.example.com",
        "https://spa.example.com/app",
        "http://spa.example.com",
    ] {
        let out = f
            .srv
            .env
            .cli(&[
                "client",
                "create",
                "acme",
                "--redirect-uri",
                PUBLIC_REDIRECT,
                "--public",
                "--web-origin",
                bad,
            ])
            .await;
        assert!(!out.status.success(), "{bad} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("web origin"), "{err}");
    }
    let c = f
        .srv
        .cli_json(&[
            "client",
            "create",
            "acme",
            "--redirect-uri",
            PUBLIC_REDIRECT,
            "--public",
            "--web-origin",
            "https://SPA.example.com:443",
        ])
        .await;
    assert_eq!(c["web_origins"], serde_json::json!([SPA]));
}
both_backends!(web_origins_are_exact, super::web_origins_are_exact);
