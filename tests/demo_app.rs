//! The "try it" demo application of `serve --demo` (`/demo/app`): a real code flow with the demo
//! client through the hosted pages, the ID token's claims on the page, its dead ends, and its
//! absence from a server started without `--demo`.

use crate::common;

use common::browser::{self, Browser, Form};
use common::pages::page;
use common::{Backend, TestServer};
use gatehouse::demo::DemoFacts;

fn facts(srv: &TestServer) -> &DemoFacts {
    srv.demo.as_ref().expect("started in demo mode")
}

/// The demo page's button form for `mode` (plain, mfa, again).
fn button(html: &str, url: &str, mode: &str) -> Form {
    browser::forms(html, url)
        .into_iter()
        .find(|f| f.get("mode") == Some(mode))
        .unwrap_or_else(|| panic!("a `{mode}` button in {html}"))
}

/// The value cell of the claims table's row `name`.
fn claim(html: &str, name: &str) -> String {
    let row = format!("<th scope=\"row\"><code>{name}</code></th><td><code>");
    let start = html
        .find(&row)
        .unwrap_or_else(|| panic!("{name} row in {html}"))
        + row.len();
    let end = html[start..].find("</code>").unwrap() + start;
    html[start..end].to_owned()
}

/// Opens the demo page, presses `mode` and follows the IdP's redirects to its first page.
async fn press(b: &Browser, srv: &TestServer, mode: &str) -> reqwest::Response {
    let (url, html) = page(b.get(&srv.url("/demo/app")).await).await;
    let res = b.submit(&button(&html, &url, mode)).await;
    assert_eq!(res.status(), 303, "{}", res.url());
    let to = browser::location(&res);
    assert!(
        to.starts_with(&format!("{}/authorize?", facts(srv).issuer)),
        "{to}"
    );
    let q = browser::query(&to);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["redirect_uri"], srv.url("/demo/app/callback"));
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("gh_demo_app="))
        .expect("flow cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Path=/demo/app"),
        "{cookie}"
    );
    b.follow(&srv.base, res).await
}

/// Fills the hosted login with the demo user's password and follows on to the demo page.
async fn log_in(b: &Browser, srv: &TestServer, res: reqwest::Response) -> reqwest::Response {
    let (url, html) = page(res).await;
    assert!(url.contains("/t/demo/login"), "{url}");
    let mut f = browser::form(&html, &url);
    f.set("login", &facts(srv).email)
        .set("password", &facts(srv).password);
    b.follow(&srv.base, b.submit(&f).await).await
}

/// The demo page after a sign-in: asserts it is the callback's 200 and returns its HTML.
async fn signed_in_page(res: reqwest::Response) -> String {
    assert_eq!(res.status(), 200, "{}", res.url());
    assert_eq!(res.url().path(), "/demo/app/callback");
    let (_, html) = page(res).await;
    assert!(html.contains("What the application received"), "{html}");
    html
}

async fn try_it_shows_what_each_sign_in_gives(backend: Backend) {
    let srv = TestServer::start_demo(backend).await;
    let b = Browser::new();

    // The page itself: the three buttons, in the hosted pages' layout.
    let res = b.get(&srv.url("/demo/app")).await;
    assert_eq!(res.status(), 200);
    let (url, html) = page(res).await;
    assert!(html.contains("/static/default/gatehouse.css") && html.contains("<h1>"));
    assert!(!html.contains("<script"), "no script: the CSP forbids it");
    for mode in ["plain", "mfa", "again"] {
        button(&html, &url, mode);
    }
    assert!(html.contains("Sign in with MFA") && html.contains("Sign in again (prompt=login)"));

    // Sign in: the password only.
    let html = signed_in_page(log_in(&b, &srv, press(&b, &srv, "plain").await).await).await;
    assert_eq!(claim(&html, "amr"), "pwd");
    assert_eq!(claim(&html, "acr"), "pwd");
    assert_eq!(claim(&html, "email"), facts(&srv).email);
    let auth_time: i64 = claim(&html, "auth_time").parse().unwrap();
    assert!((auth_time - gatehouse::model::now()).abs() < 60);
    assert!(html.contains(" UTC</span>"), "auth_time as a time too");
    assert!(html.contains("&quot;nonce&quot;"), "the raw JSON: {html}");
    let sub = claim(&html, "sub");
    assert!(!sub.is_empty() && sub != "—");
    // Neither the client secret nor a token reaches the page.
    assert!(!html.contains(&facts(&srv).client_secret));
    assert!(!html.contains("eyJ"), "no JWT on the page");
    // The flow cookie is spent: the same answer again is the expired page.
    let again = b.get(&srv.url("/demo/app/callback?code=x&state=y")).await;
    assert_eq!(again.status(), 400);
    assert!(
        page(again)
            .await
            .1
            .contains("This demo sign-in has expired")
    );

    // Sign in again (prompt=login): the password is asked for although the session is live.
    let html = signed_in_page(log_in(&b, &srv, press(&b, &srv, "again").await).await).await;
    assert_eq!(claim(&html, "amr"), "pwd");
    assert_eq!(claim(&html, "sub"), sub);

    // Sign in with MFA (acr_values=mfa) once the user has an authenticator app: the live
    // password session steps up with a code, and the token says so.
    let email = facts(&srv).email.clone();
    let seed = common::mfa::enrol_user_in_store(&srv, "demo", &email).await;
    let res = press(&b, &srv, "mfa").await;
    let (url, html) = page(res).await;
    assert!(
        html.contains("Enter the code from your authenticator app"),
        "{url}: {html}"
    );
    let mut f = browser::form(&html, &url);
    f.set("code", &common::mfa::code(&seed, 0));
    let html = signed_in_page(b.follow(&srv.base, b.submit(&f).await).await).await;
    assert_eq!(claim(&html, "amr"), "pwd otp mfa");
    assert_eq!(claim(&html, "acr"), "mfa");
}
both_backends!(
    try_it_shows_what_each_sign_in_gives,
    super::try_it_shows_what_each_sign_in_gives
);

/// The callback's dead ends are pages that say what happened (never a 500): an error answer
/// from the IdP, a state that is not this browser's flow, no flow at all.
#[tokio::test]
async fn callback_errors_are_pages() {
    let srv = TestServer::start_demo(Backend::Sqlite).await;
    let b = Browser::new();

    // No flow in this browser.
    let res = b.get(&srv.url("/demo/app/callback?code=x&state=y")).await;
    assert_eq!(res.status(), 400);
    let html = page(res).await.1;
    assert!(html.contains("This demo sign-in has expired"), "{html}");
    assert!(
        html.contains("Back to the demo application"),
        "a way back: {html}"
    );

    // A flow, then an answer with another state: refused the same way.
    let (url, html) = page(b.get(&srv.url("/demo/app")).await).await;
    let res = b.submit(&button(&html, &url, "plain")).await;
    let state = browser::query(&browser::location(&res))["state"].clone();
    let res = b
        .get(&srv.url("/demo/app/callback?code=x&state=not-mine"))
        .await;
    assert_eq!(res.status(), 400);
    assert!(page(res).await.1.contains("This demo sign-in has expired"));

    // The IdP's error answer, with the flow's state: shown with its code and description.
    let (url, html) = page(b.get(&srv.url("/demo/app")).await).await;
    let res = b.submit(&button(&html, &url, "plain")).await;
    let fresh = browser::query(&browser::location(&res))["state"].clone();
    assert_ne!(fresh, state);
    let res = b
        .get(&srv.url(&format!(
            "/demo/app/callback?error=access_denied&error_description=The+user+said+no&state={fresh}&iss={}",
            facts(&srv).issuer
        )))
        .await;
    assert_eq!(res.status(), 400);
    let html = page(res).await.1;
    assert!(html.contains("The sign-in did not complete"), "{html}");
    assert!(html.contains("access_denied") && html.contains("The user said no"));

    // A code that was never issued, with a live flow: the token endpoint's refusal, named.
    let (url, html) = page(b.get(&srv.url("/demo/app")).await).await;
    let res = b.submit(&button(&html, &url, "plain")).await;
    let fresh = browser::query(&browser::location(&res))["state"].clone();
    let res = b
        .get(&srv.url(&format!("/demo/app/callback?code=forged&state={fresh}")))
        .await;
    assert_eq!(res.status(), 400);
    let html = page(res).await.1;
    assert!(html.contains("invalid_grant"), "{html}");

    // In the browser's language, like every hosted page.
    let res = b
        .http
        .get(srv.url("/demo/app"))
        .header("accept-language", "fr")
        .send()
        .await
        .unwrap();
    let html = page(res).await.1;
    assert!(html.contains("<html lang=\"fr\">"), "{html}");
    assert!(
        html.contains("Application de démonstration") && html.contains("Se connecter avec la MFA")
    );

    // An unknown button.
    let res = b
        .http
        .post(srv.url("/demo/app/start"))
        .form(&[("mode", "sideways")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(page(res).await.1.contains("Unknown button"));
}

/// Without `--demo` there is no demo application.
#[tokio::test]
async fn without_demo_mode_there_is_no_demo_app() {
    let srv = TestServer::start(Backend::Sqlite).await;
    let http = srv.http();
    for path in ["/demo/app", "/demo/app/callback?code=x&state=y"] {
        let res = http.get(srv.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    let res = http
        .post(srv.url("/demo/app/start"))
        .form(&[("mode", "plain")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

/// The seed registers the demo application's callback beside the configured redirect URI, on a
/// client seeded before the demo application existed too, and only once.
#[tokio::test]
async fn seed_registers_the_callback_once() {
    let srv = TestServer::start(Backend::Sqlite).await;
    let facts = gatehouse::demo::seed(&srv.state).await.unwrap();
    let configured = srv.state.config.demo.redirect_uri.clone();
    let callback = srv.url("/demo/app/callback");
    let tenant = gatehouse::store::tenants::get_by_slug(&srv.state.db, "demo")
        .await
        .unwrap();
    let uris = || async {
        gatehouse::store::clients::find(&srv.state.db, &tenant.id, &facts.client_id)
            .await
            .unwrap()
            .unwrap()
            .redirect_uris
    };
    assert_eq!(uris().await, [configured.clone(), callback.clone()]);

    // A demo client from before: only the configured URI.
    gatehouse::store::clients::set_redirect_uris(
        &srv.state.db,
        &facts.client_id,
        std::slice::from_ref(&configured),
    )
    .await
    .unwrap();
    let again = gatehouse::demo::seed(&srv.state).await.unwrap();
    assert_eq!(again.client_id, facts.client_id);
    assert_eq!(uris().await, [configured.clone(), callback.clone()]);
    gatehouse::demo::seed(&srv.state).await.unwrap();
    assert_eq!(uris().await, [configured, callback]);
    assert_eq!(again.account_url, format!("{}/account", again.issuer));
    assert_eq!(again.try_it_url, srv.url("/demo/app"));
}
