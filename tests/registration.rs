//! Self-registration as a new user meets it (help page 001): "Create an account" on the sign-in
//! page the application sent them to, the mail read from a real SMTP listener, verification by
//! code and (in another browser) by link, the MFA set-up with Skip when optional and without it
//! when required, and back at the application with an `amr` that says what was done. Also: an
//! address that has an account gets a notice and no second account, an unverified account
//! cannot sign in until verified, and weak passwords are refused with the reason.

use crate::common;

use std::time::Duration;

use common::browser::{self, Browser};
use common::flow::{ALICE, PW, Rp, app_redirect, id_token, login_page};
use common::mfa::{code, key_from_page};
use common::pages::{form_with, link, page};
use common::smtp::SmtpServer;
use common::{Backend, TestEnv, TestServer};
use reqwest::Response;

const WAIT: Duration = Duration::from_secs(10);
const BOB: &str = "bob@example.com";
const BOB_PW: &str = "violet quarry sunlit 88";

async fn setup(backend: Backend, mfa_setup: &str) -> (TestServer, SmtpServer, Rp) {
    let (mut env, smtp) = TestEnv::with_mail(backend).await;
    // "Send again" within a test's time; the throttle itself is tested with the other codes.
    env.config.otp.resend_interval_secs = 1;
    let srv = TestServer::start_with(env).await;
    srv.tenant("acme", &["--name", "Acme"]).await;
    srv.cli_json(&[
        "tenant",
        "update",
        "acme",
        "--registration",
        "true",
        "--registration-mfa-setup",
        mfa_setup,
    ])
    .await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    srv.user("acme", ALICE, PW).await;
    (srv, smtp, rp)
}

/// From the application's authorization request to "Check your inbox", through the sign-in
/// page's "Create an account".
async fn register(b: &Browser, srv: &TestServer, rp: &Rp, email: &str, password: &str) -> Response {
    let (url, html) = login_page(b, srv, &srv.authorize_url(rp, &[])).await;
    assert!(html.contains("Create an account"), "{html}");
    assert!(html.contains("Forgot your password?"), "{html}");
    let href = link(&html, "Create an account");
    let res = b
        .get(url::Url::parse(&url).unwrap().join(&href).unwrap().as_str())
        .await;
    let (url, html) = page(res).await;
    for attr in [
        r#"autocomplete="email""#,
        r#"autocomplete="new-password""#,
        r#"autocomplete="name""#,
        r#"<label for="email">"#,
    ] {
        assert!(html.contains(attr), "{attr} in {html}");
    }
    let mut form = form_with(&html, &url, "email");
    form.set("email", email)
        .set("name", "Bob Example")
        .set("password", password);
    b.follow(&srv.base, b.submit(&form).await).await
}

async fn submit_code(b: &Browser, srv: &TestServer, res: Response, code: &str) -> Response {
    let (url, html) = page(res).await;
    assert!(
        html.contains("Check your inbox") || html.contains("Verify your email"),
        "{html}"
    );
    let mut form = form_with(&html, &url, "code");
    form.set("code", code).set("action", "verify");
    b.follow(&srv.base, b.submit(&form).await).await
}

async fn audit_events(srv: &TestServer) -> Vec<String> {
    let rows: Vec<(String,)> = gatehouse::with_db!(&srv.state.db, |pool| sqlx::query_as(
        "SELECT event FROM audit_events ORDER BY created_at, id"
    )
    .fetch_all(pool)
    .await
    .unwrap());
    rows.into_iter().map(|r| r.0).collect()
}

async fn user_count(srv: &TestServer) -> i64 {
    gatehouse::with_db!(&srv.state.db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM users"
    )
    .fetch_one(pool)
    .await
    .unwrap())
}

async fn has_user(srv: &TestServer, email: &str) -> bool {
    let db = &srv.state.db;
    let tenant = gatehouse::store::tenants::get_by_slug(db, "acme")
        .await
        .unwrap();
    gatehouse::store::users::find_by_login(db, &tenant.id, email)
        .await
        .unwrap()
        .is_some()
}

/// `optional`: verified by the mailed code, the set-up offered with Skip, Skip, and back at
/// the application signed in with the new password only.
async fn verify_by_code_then_skip_the_optional_set_up(backend: Backend) {
    let (srv, smtp, rp) = setup(backend, "optional").await;
    let b = Browser::new();
    let res = register(&b, &srv, &rp, BOB, BOB_PW).await;
    assert_eq!(res.status(), 200);
    let mail = smtp.wait_for(BOB, WAIT).await;
    assert_eq!(mail.header("Subject"), Some("Confirm your email address"));
    assert!(mail.link().contains("/t/acme/register/confirm?token="));
    // A wrong code first: the page says so, and the account stays unverified.
    let (url, html) = page(res).await;
    assert!(html.contains(BOB), "the address typed: {html}");
    let mut wrong = form_with(&html, &url, "code");
    wrong.set("code", "000000").set("action", "verify");
    let res = b.submit(&wrong).await;
    assert_eq!(res.status(), 401);
    let res = submit_code(&b, &srv, res, &mail.line_code()).await;
    let (url, html) = page(res).await;
    assert!(
        html.contains("Set up two-factor authentication") && html.contains(">Skip<"),
        "{html}"
    );
    assert!(
        !html.contains("Confirm it's you"),
        "the mailbox was just proven: not asked again"
    );
    let mut skip = browser::forms(&html, &url).pop().unwrap();
    skip.set("action", "skip");
    let res = b.follow(&srv.base, b.submit(&skip).await).await;
    assert!(app_redirect(&res, &rp).contains_key("code"));
    let claims = id_token(&srv, &rp, &res).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["email"], BOB);
    assert_eq!(claims["email_verified"], true);
    let events = audit_events(&srv).await;
    for e in [
        "user.registered",
        "user.email_verified",
        "mfa.enrolment_skipped",
    ] {
        assert!(events.iter().any(|x| x == e), "{e} in {events:?}");
    }
    // The new account signs in like any other from now on: the set-up was the registration's.
    let b2 = Browser::new();
    let res = common::flow::sign_in(&b2, &srv, &srv.authorize_url(&rp, &[]), BOB, BOB_PW).await;
    assert!(app_redirect(&res, &rp).contains_key("code"));
}
both_backends!(
    verify_by_code_then_skip_the_optional_set_up,
    super::verify_by_code_then_skip_the_optional_set_up
);

/// `required`: the link opened in another browser verifies the email and shows that browser
/// the sign-in page; after the password the set-up has no Skip; the app gets `otp`/`mfa`.
async fn verify_by_link_then_the_required_set_up(backend: Backend) {
    let (srv, smtp, rp) = setup(backend, "required").await;
    let b = Browser::new();
    let res = register(&b, &srv, &rp, BOB, BOB_PW).await;
    assert_eq!(res.status(), 200);
    let first_window = res.url().to_string();
    let mail = smtp.wait_for(BOB, WAIT).await;
    // A mail scanner fetching the link spends nothing: the page asks before it verifies.
    let other = Browser::new();
    let link = mail.link();
    let scanned = Browser::new().get(&link).await;
    assert_eq!(scanned.status(), 200);
    let res = other.get(&link).await;
    let (url, html) = page(res).await;
    assert!(html.contains("Confirm your email address"), "{html}");
    let confirm = browser::form(&html, &url);
    let res = other.follow(&srv.base, other.submit(&confirm).await).await;
    let (url, html) = page(res).await;
    assert!(html.contains("Your email address is verified"), "{html}");
    assert!(
        html.contains(&format!("value=\"{BOB}\"")),
        "login hint: {html}"
    );
    // The link works once.
    assert_eq!(other.submit(&confirm).await.status(), 410);
    let mut form = browser::form(&html, &url);
    form.set("login", BOB).set("password", BOB_PW);
    let res = other.follow(&srv.base, other.submit(&form).await).await;
    let (url, html) = page(res).await;
    assert!(html.contains("Set up two-factor authentication"), "{html}");
    assert!(!html.contains(">Skip<"), "required: no Skip");
    let secret = key_from_page(&html);
    let mut enable = browser::form(&html, &url);
    enable
        .set("label", "Phone")
        .set("code", &code(&secret, 0))
        .set("action", "enable");
    let res = other.follow(&srv.base, other.submit(&enable).await).await;
    let (url, html) = page(res).await;
    assert!(html.contains("Note down your recovery codes"), "{html}");
    let done = browser::forms(&html, &url).pop().unwrap();
    let res = other.follow(&srv.base, other.submit(&done).await).await;
    let claims = id_token(&srv, &rp, &res).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], "mfa");
    // "Two-factor authentication is on", after the set-up.
    let notice = smtp.wait_for(BOB, WAIT).await;
    assert!(notice.body.contains("Authenticator app"), "{}", notice.body);
    // The first window, still on "Check your inbox", goes on once reloaded: the account is
    // verified and its password was chosen there. It has a factor now, so it is asked for it.
    let res = b.follow(&srv.base, b.get(&first_window).await).await;
    let (_, html) = page(res).await;
    assert!(
        html.contains("Enter the code from your authenticator app"),
        "{html}"
    );
}
both_backends!(
    verify_by_link_then_the_required_set_up,
    super::verify_by_link_then_the_required_set_up
);

/// An address that has an account: the same "Check your inbox", a notice to its owner, no
/// second account, and no code that works.
async fn an_existing_address_gets_a_notice_not_a_second_account(backend: Backend) {
    let (srv, smtp, rp) = setup(backend, "off").await;
    let before = user_count(&srv).await;
    let b = Browser::new();
    let res = register(&b, &srv, &rp, "Alice@Example.com", BOB_PW).await;
    assert_eq!(res.status(), 200);
    let (url, html) = page(res).await;
    let fresh = register(&Browser::new(), &srv, &rp, BOB, BOB_PW).await;
    let (_, fresh_html) = page(fresh).await;
    let strip = |h: &str, addr: &str| {
        h.replace(addr, "ADDRESS")
            .split("name=\"tx\"")
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        strip(&html, "alice@example.com"),
        strip(&fresh_html, BOB),
        "the page does not tell the two apart"
    );
    let notice = smtp.wait_for(ALICE, WAIT).await;
    assert_eq!(
        notice.header("Subject"),
        Some("Someone tried to create an account with your address")
    );
    assert!(notice.body.contains("Forgot your password?"));
    assert_eq!(user_count(&srv).await, before + 1, "only bob was created");
    let mut guess = form_with(&html, &url, "code");
    guess.set("code", "123456").set("action", "verify");
    assert_eq!(b.submit(&guess).await.status(), 401);
}
both_backends!(
    an_existing_address_gets_a_notice_not_a_second_account,
    super::an_existing_address_gets_a_notice_not_a_second_account
);

/// Registered but not verified: the right password leads to "Verify your email address" with
/// Send again, whose code then continues the sign-in to the application.
async fn an_unverified_account_cannot_sign_in_until_verified(backend: Backend) {
    let (srv, smtp, rp) = setup(backend, "off").await;
    register(&Browser::new(), &srv, &rp, BOB, BOB_PW).await;
    let first = smtp.wait_for(BOB, WAIT).await;
    // Signing in elsewhere with the right password: not to the application yet.
    let b = Browser::new();
    let res = common::flow::sign_in(&b, &srv, &srv.authorize_url(&rp, &[]), BOB, BOB_PW).await;
    assert_eq!(res.status(), 200);
    let (url, html) = page(res).await;
    assert!(html.contains("Verify your email address"), "{html}");
    assert!(html.contains("Send again"));
    // A wrong password says nothing of the kind.
    let res = common::flow::sign_in(
        &Browser::new(),
        &srv,
        &srv.authorize_url(&rp, &[]),
        BOB,
        "nope nope nope",
    )
    .await;
    assert_eq!(res.status(), 401);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut resend = common::pages::nth_form(&html, &url, 1);
    resend.set("action", "resend");
    let res = b.submit(&resend).await;
    assert_eq!(res.status(), 200);
    let second = smtp.wait_for(BOB, WAIT).await;
    let code = second.line_code();
    assert_ne!(first.line_code(), code, "a new code voids the old");
    let res = submit_code(&b, &srv, res, &code).await;
    assert!(app_redirect(&res, &rp).contains_key("code"));
}
both_backends!(
    an_unverified_account_cannot_sign_in_until_verified,
    super::an_unverified_account_cannot_sign_in_until_verified
);

/// Weak and common passwords are refused with the reason; what was typed (but the password)
/// stays in the form, and no account or mail comes of it.
async fn weak_and_common_passwords_are_refused_with_the_reason(backend: Backend) {
    let (srv, smtp, rp) = setup(backend, "off").await;
    let b = Browser::new();
    for (pw, why) in [
        ("short", "at least 8 characters"),
        ("password1", "leaked from other sites"),
        ("Password1", "leaked from other sites"),
        ("qqqqqqqqqqqqqqqqq", "too easy to guess"),
        ("bob@example.com1", "too easy to guess"),
    ] {
        let res = register(&b, &srv, &rp, BOB, pw).await;
        assert_eq!(res.status(), 400, "{pw}");
        let html = res.text().await.unwrap();
        assert!(html.to_lowercase().contains(why), "{pw}: {why} in {html}");
        assert!(html.contains(&format!("value=\"{BOB}\"")), "email kept");
        assert!(html.contains(r#"aria-invalid="true""#));
        assert!(
            !html.contains(pw) || pw == "bob@example.com1",
            "the password is not echoed"
        );
    }
    assert_eq!(smtp.count_to(BOB), 0);
    assert!(!has_user(&srv, BOB).await);
}
both_backends!(
    weak_and_common_passwords_are_refused_with_the_reason,
    super::weak_and_common_passwords_are_refused_with_the_reason
);

/// Off by default: no link on the sign-in page, and the form is not there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_off_unless_the_tenant_turns_it_on() {
    let srv = TestServer::start(Backend::Sqlite).await;
    srv.tenant("acme", &[]).await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    let b = Browser::new();
    let (url, html) = login_page(&b, &srv, &srv.authorize_url(&rp, &[])).await;
    assert!(!html.contains("Create an account"));
    let tx = browser::query(&url)["tx"].clone();
    let res = b.get(&srv.url(&format!("/t/acme/register?tx={tx}"))).await;
    assert_eq!(res.status(), 404);
}

/// `prompt=create` (OpenID Connect "Initiating User Registration"): straight to the form where
/// the tenant offers registration, the sign-in page where it does not; discovery lists it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_create_opens_the_form() {
    let (srv, _smtp, rp) = setup(Backend::Sqlite, "off").await;
    let meta = srv
        .get_json("/t/acme/.well-known/openid-configuration")
        .await;
    assert!(
        meta["prompt_values_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "create")
    );
    let b = Browser::new();
    let url = srv.authorize_url(&rp, &[("prompt", "create")]);
    let (_, html) = page(b.follow(&srv.base, b.get(&url).await).await).await;
    assert!(html.contains("<h1>Create an account</h1>"), "{html}");
    srv.cli_json(&["tenant", "update", "acme", "--registration", "false"])
        .await;
    let (_, html) = login_page(&Browser::new(), &srv, &url).await;
    assert!(html.contains("<h1>Sign in</h1>") && !html.contains("Create an account"));
}
