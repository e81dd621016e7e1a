//! The MFA stage with real mail: the enrolment proof code read from the SMTP listener, and the
//! security notifications (MFA turned on, recovery code used, MFA reset).

use crate::common;

use std::time::Duration;

use common::browser::{self, Browser};
use common::flow::{ALICE, PW, alice_signs_in, app_redirect};
use common::mfa::{code, enrol_in_store, key_from_page, recovery_codes_from_page};
use common::smtp::SmtpServer;
use common::{Backend, TestEnv, TestServer};

const WAIT: Duration = Duration::from_secs(10);

async fn setup(backend: Backend) -> (TestServer, SmtpServer, common::flow::Rp) {
    let (env, smtp) = TestEnv::with_mail(backend).await;
    let srv = TestServer::start_with(env).await;
    srv.tenant("acme", &["--name", "Acme", "--mfa", "required"])
        .await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    srv.user("acme", ALICE, PW).await;
    (srv, smtp, rp)
}

async fn page(res: reqwest::Response) -> (String, String) {
    assert_eq!(res.status(), 200, "page expected at {}", res.url());
    let url = res.url().to_string();
    (url, res.text().await.unwrap())
}

async fn email_proof_guards_enrolment_and_changes_are_mailed(backend: Backend) {
    let (srv, smtp, rp) = setup(backend).await;
    let b = Browser::new();
    let res = alice_signs_in(&b, &srv, &rp, &[]).await;
    let (url, html) = page(res).await;
    assert!(html.contains("Confirm it"), "{html}");
    assert!(html.contains("a•••@example.com"));
    assert!(!url.contains("alice"));
    let mail = smtp.wait_for(ALICE, WAIT).await;
    assert_eq!(mail.subject, "Your verification code");
    let proof = mail.code().expect("6-digit code in the mail");

    // A wrong code is refused; the page tells why.
    let mut f = browser::form(&html, &url);
    f.set(
        "code",
        if proof == "000000" {
            "111111"
        } else {
            "000000"
        },
    );
    let res = b.submit(&f).await;
    assert_eq!(res.status(), 401);
    // "Send again" right away is throttled.
    let mut resend = browser::forms(&html, &url).pop().unwrap();
    resend.set("action", "resend");
    assert_eq!(b.submit(&resend).await.status(), 429);
    // The right code opens the enrolment page.
    f.set("code", &proof);
    let res = b.follow(&srv.base, b.submit(&f).await).await;
    let (url, html) = page(res).await;
    assert!(html.contains("Set up two-factor authentication"));
    let secret = key_from_page(&html);
    let mut f = browser::form(&html, &url);
    f.set("label", "Pixel 8")
        .set("code", &code(&secret, 0))
        .set("action", "enable");
    let res = b.follow(&srv.base, b.submit(&f).await).await;
    let (url, html) = page(res).await;
    let codes = recovery_codes_from_page(&html);
    // The same codes download as text until Done.
    let txt = b
        .get(&url.replace("/recovery-codes?", "/recovery-codes.txt?"))
        .await;
    assert_eq!(
        txt.headers()["content-disposition"],
        "attachment; filename=\"recovery-codes.txt\""
    );
    assert!(txt.text().await.unwrap().contains(&codes[0]));
    let done = browser::forms(&html, &url).pop().unwrap();
    let res = b.follow(&srv.base, b.submit(&done).await).await;
    assert!(app_redirect(&res, &rp).contains_key("code"));

    let on = smtp.wait_for(ALICE, WAIT).await;
    assert_eq!(on.subject, "Two-factor authentication was turned on");
    assert!(on.body.contains("Pixel 8"));

    // Using a recovery code sends a notice too.
    let b = Browser::new();
    let res = alice_signs_in(&b, &srv, &rp, &[]).await;
    let (url, _) = page(res).await;
    let (rurl, rhtml) = page(b.get(&format!("{url}&method=recovery")).await).await;
    let mut f = browser::form(&rhtml, &rurl);
    f.set("recovery_code", &codes[3]);
    let res = b.follow(&srv.base, b.submit(&f).await).await;
    assert!(app_redirect(&res, &rp).contains_key("code"));
    let used = smtp.wait_for(ALICE, WAIT).await;
    assert!(
        used.subject.to_lowercase().contains("recovery code"),
        "{}",
        used.subject
    );
    assert!(used.body.contains('9'), "remaining count: {}", used.body);

    // An admin reset is mailed as well.
    let out = srv
        .env
        .command(&["user", "mfa-reset", "acme", ALICE, "--json"])
        .env("GATEHOUSE_MAIL__SMTP_URL", smtp.url())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["user_notified"], true);
    let reset = smtp.wait_for(ALICE, WAIT).await;
    assert!(
        reset.subject.to_lowercase().contains("reset"),
        "{}",
        reset.subject
    );
    // No code or secret ever shows in a security notice.
    for m in [&on, &used, &reset] {
        assert!(!m.body.contains(&codes[0]));
    }
}
both_backends!(
    email_proof_guards_enrolment_and_changes_are_mailed,
    super::email_proof_guards_enrolment_and_changes_are_mailed
);

/// An offered (skippable) set-up shows the screen with Skip first; the email proof comes only
/// when the user chooses Enable, and the checked code is bound after the proof.
async fn offered_set_up_asks_for_the_proof_only_on_enable(backend: Backend) {
    let (env, smtp) = TestEnv::with_mail(backend).await;
    let srv = TestServer::start_with(env).await;
    srv.tenant("acme", &["--prompt-enrollment", "true"]).await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    srv.user("acme", ALICE, PW).await;

    let b = Browser::new();
    let res = alice_signs_in(&b, &srv, &rp, &[]).await;
    let (url, html) = page(res).await;
    assert!(html.contains("Set up two-factor authentication") && html.contains(">Skip<"));
    assert_eq!(
        smtp.count_to(ALICE),
        0,
        "no mail just for showing the offer"
    );
    let secret = key_from_page(&html);
    let mut f = browser::form(&html, &url);
    f.set("label", "Tablet")
        .set("code", &code(&secret, 0))
        .set("action", "enable");
    let res = b.follow(&srv.base, b.submit(&f).await).await;
    let (url, html) = page(res).await;
    assert!(html.contains("Confirm it"));
    let proof = smtp.wait_for(ALICE, WAIT).await.code().unwrap();
    let mut f = browser::form(&html, &url);
    f.set("code", &proof);
    let res = b.follow(&srv.base, b.submit(&f).await).await;
    let (url, html) = page(res).await;
    assert_eq!(recovery_codes_from_page(&html).len(), 10);
    let done = browser::forms(&html, &url).pop().unwrap();
    let res = b.follow(&srv.base, b.submit(&done).await).await;
    assert!(app_redirect(&res, &rp).contains_key("code"));
    let users = srv.cli_json(&["user", "list", "acme"]).await;
    assert_eq!(users["users"][0]["mfa"]["factors"][0]["label"], "Tablet");
}
both_backends!(
    offered_set_up_asks_for_the_proof_only_on_enable,
    super::offered_set_up_asks_for_the_proof_only_on_enable
);

/// Runs `gatehouse user mfa-reset acme alice --json` with mail going to `smtp`.
async fn cli_reset(srv: &TestServer, smtp: &SmtpServer) -> std::process::Output {
    srv.env
        .command(&["user", "mfa-reset", "acme", ALICE, "--json"])
        .env("GATEHOUSE_MAIL__SMTP_URL", smtp.url())
        .output()
        .await
        .unwrap()
}

/// Issue 10: the CLI's `user mfa-reset` no longer builds its own mailer and templates; it calls
/// the reset service, which sends the notice through the same notifier as the web. The mail is
/// the one it sent before: to the user, "Two-factor authentication was reset", naming the
/// tenant. When the mail server refuses it, the reset still stands and says so.
async fn cli_reset_sends_the_reset_notice(backend: Backend) {
    let (srv, smtp, _rp) = setup(backend).await;
    enrol_in_store(&srv).await;
    let out = cli_reset(&srv, &smtp).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["factors_removed"].clone(), v["user_notified"].clone()),
        (1.into(), true.into())
    );
    let mail = smtp.wait_for(ALICE, WAIT).await;
    assert_eq!(mail.rcpt_to, vec![ALICE.to_string()]);
    assert_eq!(mail.subject, "Two-factor authentication was reset");
    assert!(
        mail.body.contains(
            "An administrator removed all two-factor methods, recovery codes and trusted devices \
             from your Acme account."
        ),
        "{}",
        mail.body
    );
    assert!(
        mail.body.contains("contact your Acme administrator"),
        "{}",
        mail.body
    );

    // Mail refused: the reset is done all the same, and `user_notified` tells.
    enrol_in_store(&srv).await;
    smtp.reject_recipients(true);
    let out = cli_reset(&srv, &smtp).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["factors_removed"].clone(), v["user_notified"].clone()),
        (1.into(), false.into())
    );
}
both_backends!(
    cli_reset_sends_the_reset_notice,
    super::cli_reset_sends_the_reset_notice
);

/// Issue 10 ("an audit write that fails fails the change"). Before: `mfa-reset` deleted the
/// factors, recovery codes and devices one statement at a time and then failed on the audit
/// write: the command exited non-zero with the user's MFA gone and unaudited. Now the deletes
/// and the audit event are one transaction: the command fails and the factor is still there,
/// and no "reset" notice goes out.
async fn cli_reset_whose_audit_event_fails_removes_nothing(backend: Backend) {
    let (srv, smtp, _rp) = setup(backend).await;
    enrol_in_store(&srv).await;
    srv.break_audit_log().await;
    let out = cli_reset(&srv, &smtp).await;
    assert!(!out.status.success());
    let users = srv.cli_json(&["user", "list", "acme"]).await;
    assert_eq!(users["users"][0]["mfa"]["enabled"], true);
    assert_eq!(
        smtp.count_to(ALICE),
        0,
        "no notice for a reset that did not happen"
    );
}
both_backends!(
    cli_reset_whose_audit_event_fails_removes_nothing,
    super::cli_reset_whose_audit_event_fails_removes_nothing
);
