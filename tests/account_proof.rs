//! The enrolment proof on the "Manage two-factor" pages (issue 9, item 1): a first factor is
//! bound there only after the same mailbox proof as at sign-in, and binding marks the session
//! MFA only when that proof was just made.
//!
//! Before: on an `optional` tenant, with the stolen password alone, `account/add/totp` bound the
//! attacker's authenticator and marked the SSO session MFA-verified; `/authorize` at a client
//! whose `mfa_policy` is `required` then passed as `mfa_in_session`, with an ID token
//! `amr ["pwd","otp","mfa"]`, `acr mfa`.

use crate::common;

use std::time::Duration;

use common::browser::{self, Browser};
use common::flow::{ALICE, PW, Rp};
use common::mfa::{code, key_from_page};
use common::smtp::SmtpServer;
use common::{Backend, TestEnv, TestServer};

const WAIT: Duration = Duration::from_secs(10);

/// An `optional` tenant (the enrolment proof is `email` by default), a client that requires
/// MFA, and Alice with no factor.
async fn setup(backend: Backend) -> (TestServer, SmtpServer, Rp) {
    let (env, smtp) = TestEnv::with_mail(backend).await;
    let srv = TestServer::start_with(env).await;
    srv.tenant("acme", &["--name", "Acme", "--mfa", "optional"])
        .await;
    let rp = srv
        .rp("acme", &["--first-party", "--mfa-policy", "required"])
        .await;
    srv.user("acme", ALICE, PW).await;
    (srv, smtp, rp)
}

/// Signs in to `{issuer}/account{suffix}` with the password (all the attacker has).
async fn open_account(b: &Browser, srv: &TestServer, suffix: &str) -> reqwest::Response {
    let url = format!("{}/account{suffix}", srv.issuer("acme"));
    let res = b.follow(&srv.base, b.get(&url).await).await;
    if !res.url().path().ends_with("/login") {
        return res;
    }
    let at = res.url().to_string();
    let html = res.text().await.unwrap();
    let mut f = browser::form(&html, &at);
    f.set("login", ALICE).set("password", PW);
    b.follow(&srv.base, b.submit(&f).await).await
}

/// Alice's SSO session as stored: (amr, mfa_time).
async fn session(srv: &TestServer) -> (String, Option<i64>) {
    let db = &srv.state.db;
    gatehouse::with_db!(db, |pool| sqlx::query_as::<_, (String, Option<i64>)>(
        "SELECT amr, mfa_time FROM sso_sessions WHERE ended_at IS NULL"
    )
    .fetch_one(pool)
    .await
    .unwrap())
}

async fn factor_count(srv: &TestServer) -> usize {
    let users = srv.cli_json(&["user", "list", "acme"]).await;
    users["users"][0]["mfa"]["factors"]
        .as_array()
        .map_or(0, Vec::len)
}

async fn account_enrolment_needs_the_mailbox_proof(backend: Backend) {
    let (srv, smtp, rp) = setup(backend).await;
    let b = Browser::new();
    let res = open_account(&b, &srv, "").await;
    assert!(res.text().await.unwrap().contains("Status:</strong> Off"));

    // "Authenticator app" leads to the mailbox proof first; the key is not shown yet.
    let res = open_account(&b, &srv, "/add/totp").await;
    assert_eq!(res.status(), 200);
    let url = res.url().to_string();
    assert!(url.contains("/account/verify-email"), "{url}");
    let html = res.text().await.unwrap();
    assert!(html.contains("Confirm it") && html.contains("a•••@example.com"));
    assert!(!html.contains("totp-key"));
    let mail = smtp.wait_for(ALICE, WAIT).await;
    assert_eq!(mail.subject, "Your verification code");
    let proof = mail.code().unwrap();

    // The attacker has no mailbox: a guess is refused, and a bind posted without the proof
    // binds nothing and leaves the session as the password made it.
    let verify = browser::form(&html, &url);
    let mut guess = verify.clone();
    guess.set(
        "code",
        if proof == "123456" {
            "654321"
        } else {
            "123456"
        },
    );
    assert_eq!(b.submit(&guess).await.status(), 401);
    let mut forged = verify.clone();
    forged.action = format!("{}/account/add/totp", srv.issuer("acme"));
    forged
        .set("pending", "forged")
        .set("label", "Attacker")
        .set("code", "123456");
    let res = b.submit(&forged).await;
    assert!(res.status().is_redirection());
    assert_eq!(factor_count(&srv).await, 0);
    assert_eq!(session(&srv).await, (r#"["pwd"]"#.to_owned(), None));

    // The MFA-required client still stops at the mailbox proof: no code, no `mfa`.
    let res = b
        .follow(&srv.base, b.get(&srv.authorize_url(&rp, &[])).await)
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.url().path().ends_with("/enrol/verify-email"),
        "{}",
        res.url()
    );

    // The owner of the mailbox: the code opens the set-up, the factor binds, and now (proof and
    // the app's own code) the session carries MFA, which the required client accepts.
    let mut f = verify.clone();
    f.set("code", &proof);
    let res = b.submit(&f).await;
    assert_eq!(res.status(), 303);
    let res = b.follow(&srv.base, res).await;
    let at = res.url().to_string();
    assert!(at.ends_with("/account/add/totp"), "{at}");
    let html = res.text().await.unwrap();
    let secret = key_from_page(&html);
    let mut f = browser::form(&html, &at);
    f.set("label", "Pixel 8").set("code", &code(&secret, 0));
    let res = b.follow(&srv.base, b.submit(&f).await).await;
    assert!(res.url().path().ends_with("/account/recovery-codes"));
    assert_eq!(factor_count(&srv).await, 1);
    let (amr, mfa_time) = session(&srv).await;
    assert_eq!(amr, r#"["pwd","otp","mfa"]"#);
    assert!(mfa_time.is_some());
    let res = b
        .follow(&srv.base, b.get(&srv.authorize_url(&rp, &[])).await)
        .await;
    assert!(common::flow::app_redirect(&res, &rp).contains_key("code"));
}
both_backends!(
    account_enrolment_needs_the_mailbox_proof,
    super::account_enrolment_needs_the_mailbox_proof
);

/// A set-up page rendered before the tenant turned the proof on cannot bind without it: the bind
/// is checked again and sends the user to the proof.
async fn a_set_up_page_from_before_the_proof_binds_nothing(backend: Backend) {
    let (srv, smtp, _rp) = setup(backend).await;
    srv.cli_json(&["tenant", "update", "acme", "--enrollment-proof", "none"])
        .await;
    let b = Browser::new();
    let res = open_account(&b, &srv, "/add/totp").await;
    let at = res.url().to_string();
    assert!(at.ends_with("/account/add/totp"), "{at}");
    let html = res.text().await.unwrap();
    let secret = key_from_page(&html);
    srv.cli_json(&["tenant", "update", "acme", "--enrollment-proof", "email"])
        .await;
    let mut f = browser::form(&html, &at);
    f.set("label", "Old page").set("code", &code(&secret, 0));
    let res = b.submit(&f).await;
    assert!(res.status().is_redirection());
    assert!(
        browser::location(&res).contains("/account/verify-email"),
        "{}",
        browser::location(&res)
    );
    assert_eq!(factor_count(&srv).await, 0);
    assert_eq!(session(&srv).await, (r#"["pwd"]"#.to_owned(), None));
    // The proof page sends the code; no "turned on" mail went out.
    let res = b.follow(&srv.base, res).await;
    assert!(res.text().await.unwrap().contains("Confirm it"));
    let mail = smtp.wait_for(ALICE, WAIT).await;
    assert_eq!(mail.subject, "Your verification code");
}
both_backends!(
    a_set_up_page_from_before_the_proof_binds_nothing,
    super::a_set_up_page_from_before_the_proof_binds_nothing
);
