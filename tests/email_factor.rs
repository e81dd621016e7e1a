//! The emailed one-time code as a second factor (help page 000), through the hosted pages with
//! real mail: set up on the account pages and at a required sign-in, signing in with it, "Use
//! another method", Resend, and a tenant that stops allowing the method.

use crate::common;

use std::time::Duration;

use common::browser::Browser;
use common::flow::{ALICE, PW, Rp, alice_signs_in, app_redirect, id_token};
use common::mfa::{code, enrol_in_store};
use common::pages::{follow_link, form_with, nth_form, open, page};
use common::smtp::SmtpServer;
use common::{Backend, TestEnv, TestServer};
use reqwest::Response;

const WAIT: Duration = Duration::from_secs(10);

async fn setup(backend: Backend, policy: &str) -> (TestServer, SmtpServer, Rp) {
    let (env, smtp) = TestEnv::with_mail(backend).await;
    let srv = TestServer::start_with(env).await;
    srv.tenant("acme", &["--name", "Acme", "--mfa", policy])
        .await;
    srv.cli_json(&["tenant", "update", "acme", "--mfa-methods", "totp,email"])
        .await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    srv.user("acme", ALICE, PW).await;
    (srv, smtp, rp)
}

fn amr_acr(c: &serde_json::Value) -> (serde_json::Value, serde_json::Value) {
    (c["amr"].clone(), c["acr"].clone())
}

/// On the email set-up page: "Send a one-time use code" to `address`, then the code from the
/// mail and "Enable". Returns the response to Enable.
async fn set_up_email(
    b: &Browser,
    smtp: &SmtpServer,
    url: &str,
    html: &str,
    address: &str,
) -> Response {
    assert!(html.contains("Send a one-time use code"), "{html}");
    assert!(
        html.contains(&format!("value=\"{ALICE}\"")),
        "the account's address by default"
    );
    let mut send = nth_form(html, url, 0);
    send.set("address", address).set("action", "send");
    let res = b.submit(&send).await;
    assert_eq!(res.status(), 200);
    let (url, html) = page(res).await;
    assert!(html.contains("Verification code"), "{html}");
    let mail = smtp.wait_for(address, WAIT).await;
    assert_eq!(mail.header("Subject"), Some("Your verification code"));
    let mut enable = nth_form(&html, &url, 1);
    enable
        .set("code", &mail.code().unwrap())
        .set("action", "enable");
    b.submit(&enable).await
}

/// Help page 000 on the account pages, then a sign-in with the emailed code.
async fn account_pages_set_up_an_email_code_and_sign_in_with_it(backend: Backend) {
    let (srv, smtp, rp) = setup(backend, "optional").await;
    let b = Browser::new();
    // Sign in (no factor yet), then Manage two-factor → Add two-factor → Email.
    let res = alice_signs_in(&b, &srv, &rp, &[]).await;
    app_redirect(&res, &rp);
    let (_, html) = open(&b, &srv, "/account/add").await;
    assert!(
        html.contains("Authenticator app") && html.contains("Email"),
        "{html}"
    );
    let (url, html) = open(&b, &srv, "/account/add/email").await;
    let res = set_up_email(&b, &smtp, &url, &html, ALICE).await;
    // The code went to the account's own address: that is the enrolment proof, so the first
    // factor's recovery codes come straight away.
    assert_eq!(res.status(), 303);
    let (at, html) = page(b.follow(&srv.base, res).await).await;
    assert!(at.contains("/account/recovery-codes"), "{at}");
    assert!(html.contains("Note down your recovery codes"));
    let notice = smtp.wait_for(ALICE, WAIT).await;
    assert!(
        notice.body.contains("Email"),
        "turned-on notice names the method: {}",
        notice.body
    );

    // A new browser signs in: the code is mailed, Resend is throttled, the code works once.
    let b2 = Browser::new();
    let res = alice_signs_in(&b2, &srv, &rp, &[]).await;
    let (url, html) = page(res).await;
    assert!(url.contains("/mfa"), "{url}");
    assert!(
        html.contains("We sent a code to a•••@example.com"),
        "{html}"
    );
    assert!(html.contains("Use another method") && html.contains("Use a recovery code"));
    let mail = smtp.wait_for(ALICE, WAIT).await;
    assert_eq!(mail.header("Subject"), Some("Your sign-in code"));
    let mut resend = nth_form(&html, &url, 1);
    resend.set("action", "resend");
    let res = b2.submit(&resend).await;
    assert_eq!(res.status(), 429, "a second code within 30 s is throttled");
    assert!(res.text().await.unwrap().contains("less than a minute ago"));
    let mut verify = nth_form(&html, &url, 0);
    verify.set("code", "000000");
    if mail.code().as_deref() == Some("000000") {
        verify.set("code", "111111");
    }
    assert_eq!(b2.submit(&verify).await.status(), 401);
    verify.set("code", &mail.code().unwrap());
    let res = b2.follow(&srv.base, b2.submit(&verify).await).await;
    let c = id_token(&srv, &rp, &res).await;
    assert_eq!(
        amr_acr(&c),
        (
            serde_json::json!(["pwd", "otp", "mfa"]),
            serde_json::json!("mfa")
        )
    );
    // Spent: the same code does not sign in again.
    let b3 = Browser::new();
    let (url, html) = page(alice_signs_in(&b3, &srv, &rp, &[]).await).await;
    let mut again = nth_form(&html, &url, 0);
    again.set("code", &mail.code().unwrap());
    assert_eq!(b3.submit(&again).await.status(), 401);
}
both_backends!(
    account_pages_set_up_an_email_code_and_sign_in_with_it,
    super::account_pages_set_up_an_email_code_and_sign_in_with_it
);

/// "Use another method" lists every enrolled factor; the authenticator app answers instead.
async fn use_another_method(backend: Backend) {
    let (srv, smtp, rp) = setup(backend, "optional").await;
    let b = Browser::new();
    app_redirect(&alice_signs_in(&b, &srv, &rp, &[]).await, &rp);
    let (url, html) = open(&b, &srv, "/account/add/email").await;
    set_up_email(&b, &smtp, &url, &html, ALICE).await;
    let _notice = smtp.wait_for(ALICE, WAIT).await;
    let seed = enrol_in_store(&srv).await;

    let b2 = Browser::new();
    let (url, html) = page(alice_signs_in(&b2, &srv, &rp, &[]).await).await;
    assert!(url.contains("/mfa"), "{url}");
    assert!(html.contains("Use another method"), "{html}");
    // Whichever was used last is asked for first; the other is one link away, both ways.
    let (_, ehtml) = if html.contains("We sent a code to") {
        (url.clone(), html.clone())
    } else {
        follow_link(&b2, &srv, &html, "method=email").await
    };
    assert!(
        ehtml.contains("We sent a code to a•••@example.com"),
        "{ehtml}"
    );
    let (turl, thtml) = follow_link(&b2, &srv, &ehtml, "method=totp").await;
    assert!(
        thtml.contains("Enter the code from your authenticator app"),
        "{thtml}"
    );
    assert!(thtml.contains("Email (a•••@example.com)"), "{thtml}");
    let mut f = nth_form(&thtml, &turl, 0);
    f.set("code", &code(&seed, 0));
    let res = b2.follow(&srv.base, b2.submit(&f).await).await;
    let c = id_token(&srv, &rp, &res).await;
    assert_eq!(
        amr_acr(&c),
        (
            serde_json::json!(["pwd", "otp", "mfa"]),
            serde_json::json!("mfa")
        )
    );
}

both_backends!(use_another_method, super::use_another_method);

/// A required tenant: the mailbox proof, then "Select a method of authentication" → Email.
async fn required_sign_in_sets_up_an_email_code(backend: Backend) {
    let (srv, smtp, rp) = setup(backend, "required").await;
    let b = Browser::new();
    let (url, html) = page(alice_signs_in(&b, &srv, &rp, &[]).await).await;
    assert!(url.contains("/enrol/verify-email"), "{url}");
    let proof = smtp.wait_for(ALICE, WAIT).await;
    let mut f = nth_form(&html, &url, 0);
    f.set("code", &proof.code().unwrap());
    let res = b.follow(&srv.base, b.submit(&f).await).await;
    let (url, html) = page(res).await;
    assert!(url.contains("/enrol"), "{url}");
    assert!(html.contains("Select a method of authentication"), "{html}");
    assert!(!html.contains("Skip"), "required: no Skip");
    let res = b
        .follow(
            &srv.base,
            b.get(&url.replace("enrol?", "enrol?method=email&")).await,
        )
        .await;
    let (url, html) = page(res).await;
    let res = set_up_email(&b, &smtp, &url, &html, ALICE).await;
    let (url, html) = page(b.follow(&srv.base, res).await).await;
    assert!(url.contains("/recovery-codes"), "{url}");
    let done = form_with(&html, &url, "tx");
    let res = b.follow(&srv.base, b.submit(&done).await).await;
    let c = id_token(&srv, &rp, &res).await;
    assert_eq!(
        amr_acr(&c),
        (
            serde_json::json!(["pwd", "otp", "mfa"]),
            serde_json::json!("mfa")
        )
    );
}
both_backends!(
    required_sign_in_sets_up_an_email_code,
    super::required_sign_in_sets_up_an_email_code
);

/// Only allowed methods are offered; a typed address that cannot be one is refused before any
/// send; a method the tenant stops allowing is not offered any more, but a factor of it keeps
/// working.
async fn allowed_methods_and_bad_addresses(backend: Backend) {
    let (srv, smtp, rp) = setup(backend, "optional").await;
    let b = Browser::new();
    app_redirect(&alice_signs_in(&b, &srv, &rp, &[]).await, &rp);
    let (url, html) = open(&b, &srv, "/account/add/email").await;
    let mut send = nth_form(&html, &url, 0);
    send.set("address", "not an address").set("action", "send");
    let res = b.submit(&send).await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Enter a valid email address")
    );
    assert_eq!(smtp.count_to(ALICE), 0);
    let (url, html) = open(&b, &srv, "/account/add/email").await;
    set_up_email(&b, &smtp, &url, &html, ALICE).await;
    let _notice = smtp.wait_for(ALICE, WAIT).await;

    srv.cli_json(&["tenant", "update", "acme", "--mfa-methods", "totp"])
        .await;
    let (_, html) = open(&b, &srv, "/account/add").await;
    assert!(!html.contains("add/email"), "{html}");
    let b2 = Browser::new();
    let (url, html) = page(alice_signs_in(&b2, &srv, &rp, &[]).await).await;
    assert!(
        html.contains("We sent a code to a•••@example.com"),
        "{html}"
    );
    let mail = smtp.wait_for(ALICE, WAIT).await;
    let mut f = nth_form(&html, &url, 0);
    f.set("code", &mail.code().unwrap());
    let res = b2.follow(&srv.base, b2.submit(&f).await).await;
    assert_eq!(id_token(&srv, &rp, &res).await["acr"], "mfa");
}
both_backends!(
    allowed_methods_and_bad_addresses,
    super::allowed_methods_and_bad_addresses
);
