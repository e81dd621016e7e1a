//! "Forgot your password?" through the hosted pages with real mail: a reset never bypasses the
//! second factor (the authenticator code is demanded before the password changes), it ends the
//! old sessions and their refresh tokens and creates nothing that signs anyone in; an unknown
//! address gets the same page and no mail; the link works on another device; a user whose
//! only factor is the emailed code gets a fresh one after the link (or no reset, when the
//! tenant forbids it); and an admin can demand a new password at the next sign-in.

use crate::common;

use std::time::Duration;

use common::browser::{self, Browser};
use common::flow::{ALICE, PW, Rp, alice_signs_in, app_redirect, login_page, refresh, tokens};
use common::mfa::{code, enrol_in_store};
use common::pages::{form_with, link, nth_form, page};
use common::smtp::SmtpServer;
use common::{Backend, TestEnv, TestServer};
use reqwest::Response;

const WAIT: Duration = Duration::from_secs(10);
const NEW_PW: &str = "lantern orchard 42 drizzle";

async fn setup(backend: Backend) -> (TestServer, SmtpServer, Rp) {
    let (mut env, smtp) = TestEnv::with_mail(backend).await;
    env.config.otp.resend_interval_secs = 1;
    let srv = TestServer::start_with(env).await;
    srv.tenant("acme", &["--name", "Acme"]).await;
    srv.cli_json(&["tenant", "update", "acme", "--mfa-methods", "totp,email"])
        .await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    srv.user("acme", ALICE, PW).await;
    (srv, smtp, rp)
}

/// The sign-in page's "Forgot your password?" → the address → "Check your inbox".
async fn ask_reset(b: &Browser, srv: &TestServer, rp: &Rp, address: &str) -> Response {
    let (url, html) = login_page(b, srv, &srv.authorize_url(rp, &[])).await;
    let href = link(&html, "Forgot your password?");
    let res = b
        .get(url::Url::parse(&url).unwrap().join(&href).unwrap().as_str())
        .await;
    let (url, html) = page(res).await;
    assert!(html.contains("Reset your password"), "{html}");
    let mut form = form_with(&html, &url, "email");
    form.set("email", address);
    b.follow(&srv.base, b.submit(&form).await).await
}

async fn enter_code(b: &Browser, srv: &TestServer, res: Response, code: &str) -> Response {
    let (url, html) = page(res).await;
    let mut form = form_with(&html, &url, "code");
    form.set("code", code).set("action", "verify");
    b.follow(&srv.base, b.submit(&form).await).await
}

async fn set_new_password(b: &Browser, srv: &TestServer, res: Response, pw: &str) -> Response {
    let (url, html) = page(res).await;
    assert!(html.contains("Choose a new password"), "{html}");
    let mut form = form_with(&html, &url, "password");
    form.set("password", pw);
    b.follow(&srv.base, b.submit(&form).await).await
}

async fn password_hash(srv: &TestServer) -> String {
    let db = &srv.state.db;
    let t = gatehouse::store::tenants::get_by_slug(db, "acme")
        .await
        .unwrap();
    let u = gatehouse::store::users::find_by_login(db, &t.id, ALICE)
        .await
        .unwrap()
        .unwrap();
    u.password_hash.unwrap()
}

async fn live_sessions(srv: &TestServer) -> i64 {
    gatehouse::with_db!(&srv.state.db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM sso_sessions WHERE ended_at IS NULL"
    )
    .fetch_one(pool)
    .await
    .unwrap())
}

async fn audit_detail(srv: &TestServer, event: &str) -> Option<serde_json::Value> {
    let row: Option<(String,)> = gatehouse::with_db!(&srv.state.db, |pool| sqlx::query_as(
        "SELECT detail FROM audit_events WHERE event = $1 ORDER BY created_at DESC LIMIT 1"
    )
    .bind(event)
    .fetch_optional(pool)
    .await
    .unwrap());
    row.map(|r| serde_json::from_str(&r.0).unwrap())
}

/// Signs alice in with her password and an authenticator code: the application's redirect.
async fn sign_in_with_totp(
    b: &Browser,
    srv: &TestServer,
    rp: &Rp,
    pw: &str,
    secret: &[u8],
    step: i64,
) -> Response {
    let res = common::flow::sign_in(b, srv, &srv.authorize_url(rp, &[]), ALICE, pw).await;
    let (url, html) = page(res).await;
    assert!(
        html.contains("Enter the code from your authenticator app"),
        "{html}"
    );
    let mut form = browser::form(&html, &url);
    form.set("code", &code(secret, step));
    b.follow(&srv.base, b.submit(&form).await).await
}

async fn reset_for_a_totp_user_demands_the_code_first(backend: Backend) {
    let (srv, smtp, rp) = setup(backend).await;
    let secret = enrol_in_store(&srv).await;
    // Signed in elsewhere, with a refresh token bound to that session.
    let a = Browser::new();
    let res = sign_in_with_totp(&a, &srv, &rp, PW, &secret, -1).await;
    let old_tokens = tokens(&srv, &rp, &res).await;
    assert!(old_tokens["refresh_token"].is_string(), "{old_tokens}");

    let b = Browser::new();
    let res = ask_reset(&b, &srv, &rp, ALICE).await;
    let mail = smtp.wait_for(ALICE, WAIT).await;
    assert_eq!(mail.header("Subject"), Some("Reset your password"));
    let before = password_hash(&srv).await;
    let res = enter_code(&b, &srv, res, &mail.line_code()).await;
    let (url, html) = page(res).await;
    // The mailbox is proven, the password not changed: the second factor comes first.
    assert!(
        html.contains("Enter the code from your authenticator app"),
        "{html}"
    );
    assert!(
        !html.contains("Trust this device"),
        "a reset creates no trusted device"
    );
    assert!(
        !html.contains("a•••@example.com"),
        "the emailed code is not offered: {html}"
    );
    assert_eq!(password_hash(&srv).await, before);
    // Skipping the factor: the new-password page is not reachable.
    let tx = browser::query(&url)["tx"].clone();
    let skip = b.get(&srv.url(&format!("/t/acme/password?tx={tx}"))).await;
    let skip = b.follow(&srv.base, skip).await;
    assert!(!skip.text().await.unwrap().contains("Choose a new password"));
    let mut form = browser::form(&html, &url);
    form.set("code", &code(&secret, 0));
    let res = b.follow(&srv.base, b.submit(&form).await).await;
    // A common password is refused with the reason; a good one is set.
    let (url, html) = page(res).await;
    let mut weak = form_with(&html, &url, "password");
    weak.set("password", "password1");
    let refused = b.submit(&weak).await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("leaked"));
    let res = b.get(&url).await;
    let res = set_new_password(&b, &srv, res, NEW_PW).await;
    let (url, html) = page(res).await;
    assert!(html.contains("Your password has been changed"), "{html}");
    assert!(
        url.contains("/t/acme/login?tx="),
        "back at the sign-in form: {url}"
    );
    assert_ne!(password_hash(&srv).await, before);

    // Nothing signs anyone in: the old session and its refresh token are gone, no new one.
    assert_eq!(live_sessions(&srv).await, 0);
    let (status, body) = refresh(&srv, &rp, &old_tokens).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let none = a.get(&srv.authorize_url(&rp, &[("prompt", "none")])).await;
    assert!(browser::location(&none).contains("error=login_required"));
    let changed = smtp.wait_for(ALICE, WAIT).await;
    assert_eq!(changed.header("Subject"), Some("Your password was changed"));
    let detail = audit_detail(&srv, "user.password_reset").await.unwrap();
    assert_eq!(detail["second_factor_passed"], true);

    // The old password is dead; the new one and the factor sign in as always.
    let res = alice_signs_in(&Browser::new(), &srv, &rp, &[]).await;
    assert_eq!(res.status(), 401);
    let res = sign_in_with_totp(&Browser::new(), &srv, &rp, NEW_PW, &secret, 1).await;
    assert!(app_redirect(&res, &rp).contains_key("code"));
}
both_backends!(
    reset_for_a_totp_user_demands_the_code_first,
    super::reset_for_a_totp_user_demands_the_code_first
);

async fn an_unknown_address_gets_the_same_page_and_no_mail(backend: Backend) {
    let (srv, smtp, rp) = setup(backend).await;
    let nobody = "nobody@example.com";
    let b = Browser::new();
    let unknown = ask_reset(&b, &srv, &rp, nobody).await;
    assert_eq!(unknown.status(), 200);
    let (url, unknown_html) = page(unknown).await;
    let known = ask_reset(&Browser::new(), &srv, &rp, ALICE).await;
    let (_, known_html) = page(known).await;
    let strip = |h: &str, addr: &str| {
        h.replace(addr, "ADDRESS")
            .split("name=\"tx\"")
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(strip(&unknown_html, nobody), strip(&known_html, ALICE));
    smtp.wait_for(ALICE, WAIT).await;
    // Guesses are "wrong" until the code's attempts are used up, as for a real code.
    let mut last = String::new();
    for _ in 0..5 {
        let mut guess = form_with(&unknown_html, &url, "code");
        guess.set("code", "123456").set("action", "verify");
        let res = b.submit(&guess).await;
        assert_eq!(res.status(), 401);
        last = res.text().await.unwrap();
    }
    assert!(last.contains("Too many wrong codes"), "{last}");
    // "Send again" answers as it would for an account, and still mails nobody.
    let mut again = nth_form(&unknown_html, &url, 1);
    again.set("action", "resend");
    assert_eq!(b.submit(&again).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.count_to(nobody), 0);
}
both_backends!(
    an_unknown_address_gets_the_same_page_and_no_mail,
    super::an_unknown_address_gets_the_same_page_and_no_mail
);

async fn email_factor_only_the_link_on_another_device(backend: Backend) {
    let (srv, smtp, rp) = setup(backend).await;
    {
        use gatehouse::store::factors::{self, NewFactor};
        let db = &srv.state.db;
        let t = gatehouse::store::tenants::get_by_slug(db, "acme")
            .await
            .unwrap();
        let u = gatehouse::store::users::find_by_login(db, &t.id, ALICE)
            .await
            .unwrap()
            .unwrap();
        factors::create(
            db,
            NewFactor {
                tenant_id: &t.id,
                user_id: &u.id,
                kind: gatehouse::model::MfaMethod::Email,
                label: "Email",
                secret_sealed: None,
                last_step: None,
                target: Some(ALICE),
                credential: None,
                now: gatehouse::model::now(),
            },
        )
        .await
        .unwrap();
    }
    ask_reset(&Browser::new(), &srv, &rp, ALICE).await;
    let mail = smtp.wait_for(ALICE, WAIT).await;
    // Opened on another device: a page that asks first, then the reset goes on there.
    let c = Browser::new();
    let (url, html) = page(c.get(&mail.link()).await).await;
    assert!(
        html.contains("Select Continue to choose a new password"),
        "{html}"
    );
    let res = c
        .follow(&srv.base, c.submit(&browser::form(&html, &url)).await)
        .await;
    let (url, html) = page(res).await;
    // The only factor is the emailed code: a fresh one, sent after the link was used.
    assert!(html.contains("a•••@example.com"), "{html}");
    let fresh = smtp.wait_for(ALICE, WAIT).await;
    assert_ne!(fresh.header("Subject"), Some("Reset your password"));
    let mut form = browser::form(&html, &url);
    form.set("code", &fresh.code().unwrap());
    let res = c.follow(&srv.base, c.submit(&form).await).await;
    let res = set_new_password(&c, &srv, res, NEW_PW).await;
    let (_, html) = page(res).await;
    assert!(html.contains("Your password has been changed"), "{html}");

    // A tenant may forbid it: the link then leads to a clear refusal, nothing changes.
    srv.cli_json(&[
        "tenant",
        "update",
        "acme",
        "--password-reset-email-only",
        "forbid",
    ])
    .await;
    let _changed = smtp.wait_for(ALICE, WAIT).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    ask_reset(&Browser::new(), &srv, &rp, ALICE).await;
    let mail = smtp.wait_for(ALICE, WAIT).await;
    let d = Browser::new();
    let (url, html) = page(d.get(&mail.link()).await).await;
    let res = d
        .follow(&srv.base, d.submit(&browser::form(&html, &url)).await)
        .await;
    assert_eq!(res.status(), 403);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Password reset not available")
    );
}
both_backends!(
    email_factor_only_the_link_on_another_device,
    super::email_factor_only_the_link_on_another_device
);

async fn an_admin_can_require_a_new_password(backend: Backend) {
    let (srv, smtp, rp) = setup(backend).await;
    let out = srv
        .cli_json(&["user", "update", "acme", ALICE, "--require-password-change"])
        .await;
    assert_eq!(out["password_change_required"], true, "{out}");
    let b = Browser::new();
    let res = alice_signs_in(&b, &srv, &rp, &[]).await;
    let (url, html) = page(res).await;
    assert!(
        html.contains("Your administrator asks you to choose a new password"),
        "{html}"
    );
    let mut form = form_with(&html, &url, "password");
    form.set("password", NEW_PW);
    let res = b.follow(&srv.base, b.submit(&form).await).await;
    assert!(app_redirect(&res, &rp).contains_key("code"));
    smtp.wait_for(ALICE, WAIT).await;
    // Done once: the next sign-in goes straight through with the new password.
    let res = common::flow::sign_in(
        &Browser::new(),
        &srv,
        &srv.authorize_url(&rp, &[]),
        ALICE,
        NEW_PW,
    )
    .await;
    assert!(app_redirect(&res, &rp).contains_key("code"));
}
both_backends!(
    an_admin_can_require_a_new_password,
    super::an_admin_can_require_a_new_password
);
