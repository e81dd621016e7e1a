//! "Change email" on the hosted account pages (issue 13), from outside: the code is read from a
//! real SMTP listener at the new address, only that code changes the account, the old address
//! is told, the new one signs in and reaches the relying party's `email` claim, and an address
//! another account has is refused only to whoever read its code.

use crate::common;

use std::time::Duration;

use common::browser::{Browser, Form};
use common::flow::{ALICE, PW, Rp, app_redirect, id_token, sign_in};
use common::pages::{form_with, open_account, page};
use common::smtp::SmtpServer;
use common::{Backend, TestEnv, TestServer};

const NEW: &str = "alice.new@example.com";
const BOB: &str = "bob@example.com";

async fn setup(backend: Backend) -> (TestServer, SmtpServer, Rp) {
    let (mut env, smtp) = TestEnv::with_mail(backend).await;
    // "Send again" to another address within a test's second.
    env.config.otp.resend_interval_secs = 1;
    let srv = TestServer::start_with(env).await;
    srv.tenant("acme", &["--name", "Acme"]).await;
    srv.user("acme", ALICE, PW).await;
    srv.user("acme", BOB, "bob's own long password").await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    (srv, smtp, rp)
}

/// The page's address form with `address` typed.
fn address_form(html: &str, url: &str, address: &str) -> Form {
    let mut f = form_with(html, url, "email");
    f.set("email", address).set("action", "send");
    f
}

/// The code form of a page that sent a code.
fn code_form(html: &str, url: &str, code: &str) -> Form {
    let mut f = form_with(html, url, "code");
    f.set("code", code).set("action", "confirm");
    f
}

async fn emails(srv: &TestServer) -> Vec<String> {
    let users = srv.cli_json(&["user", "list", "acme"]).await;
    users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_new_address_counts_once_its_code_is_entered(backend: Backend) {
    let (srv, smtp, rp) = setup(backend).await;
    let b = Browser::new();
    let (url, html) = open_account(&b, &srv, "").await;
    assert!(html.contains("href=\"account/email\""), "linked from {url}");
    let (url, html) = open_account(&b, &srv, "/email").await;
    assert!(html.contains("autocomplete=\"email\""));

    // Refused before anything is sent, with what was typed kept.
    let res = b.submit(&address_form(&html, &url, "not an address")).await;
    assert_eq!(res.status(), 400);
    let body = res.text().await.unwrap();
    assert!(body.contains("Enter an email address like name@example.com."));
    assert!(body.contains("value=\"not an address\""));
    let res = b
        .submit(&address_form(&html, &url, "Alice@Example.com"))
        .await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("This is already your email address.")
    );
    // A form from elsewhere is refused.
    let mut forged = address_form(&html, &url, NEW);
    forged.set("csrf", "forged");
    assert_eq!(b.submit(&forged).await.status(), 403);
    assert_eq!(smtp.count_to(NEW), 0);

    // A first address, then a second one: the first code no longer changes anything.
    let first = "alice.first@example.com";
    let res = b.submit(&address_form(&html, &url, first)).await;
    assert_eq!(res.status(), 200);
    let (code_url, code_html) = page(res).await;
    let first_code = smtp
        .wait_for(first, Duration::from_secs(10))
        .await
        .line_code();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let res = b.submit(&address_form(&html, &url, NEW)).await;
    assert_eq!(res.status(), 200);
    let (new_url, new_html) = page(res).await;
    assert!(new_html.contains(NEW), "the page names the address");
    let mail = smtp.wait_for(NEW, Duration::from_secs(10)).await;
    assert_eq!(mail.subject, "Confirm your new email address");
    let code = mail.line_code();
    let res = b
        .submit(&code_form(&code_html, &code_url, &first_code))
        .await;
    assert_eq!(res.status(), 401, "the first code was voided by the second");

    // A wrong code changes nothing; the right one does, once.
    let res = b.submit(&code_form(&new_html, &new_url, "000000")).await;
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains("That code didn"));
    assert!(emails(&srv).await.contains(&ALICE.to_owned()));
    let res = b.submit(&code_form(&new_html, &new_url, &code)).await;
    assert_eq!(res.status(), 303);
    let res = b.follow(&srv.base, res).await;
    assert!(res.url().path().ends_with("/account"), "{}", res.url());
    let body = res.text().await.unwrap();
    assert!(body.contains("Your email address was changed."));
    assert!(body.contains(NEW), "signed in as the new address");
    // Sent again, the same form finds the address is the account's now.
    let again = b.submit(&code_form(&new_html, &new_url, &code)).await;
    assert_eq!(again.status(), 400);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("already your email address")
    );

    // The old address is told, with the new one masked.
    let notice = smtp.wait_for(ALICE, Duration::from_secs(10)).await;
    assert_eq!(notice.subject, "Your email address was changed");
    assert!(notice.body.contains("a•••@example.com"), "{}", notice.body);
    assert!(!notice.body.contains(NEW));

    // The new address signs in and is the application's verified `email`; the old one is gone.
    let url = srv.authorize_url(&rp, &[]);
    let res = sign_in(&Browser::new(), &srv, &url, ALICE, PW).await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Wrong email or password.")
    );
    let res = sign_in(&Browser::new(), &srv, &url, NEW, PW).await;
    app_redirect(&res, &rp);
    let claims = id_token(&srv, &rp, &res).await;
    assert_eq!(claims["email"], NEW);
    assert_eq!(claims["email_verified"], true);

    let audit = srv
        .cli_json(&["audit", "list", "acme", "--user", NEW])
        .await;
    let changed = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "user.email_changed")
        .expect("user.email_changed")
        .clone();
    assert_eq!(changed["detail"]["to"], "a•••@example.com", "{changed}");
}
both_backends!(
    the_new_address_counts_once_its_code_is_entered,
    super::the_new_address_counts_once_its_code_is_entered
);

async fn another_accounts_address_is_refused_only_after_its_code(backend: Backend) {
    let (srv, smtp, _rp) = setup(backend).await;
    let b = Browser::new();
    let (url, html) = open_account(&b, &srv, "/email").await;
    // Asking for Bob's address looks like asking for any address: a code goes there.
    let res = b.submit(&address_form(&html, &url, BOB)).await;
    assert_eq!(res.status(), 200);
    let (code_url, code_html) = page(res).await;
    let code = smtp
        .wait_for(BOB, Duration::from_secs(10))
        .await
        .line_code();
    let res = b.submit(&code_form(&code_html, &code_url, &code)).await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Another account uses this email address.")
    );
    let mut now = emails(&srv).await;
    now.sort();
    assert_eq!(now, vec![ALICE.to_owned(), BOB.to_owned()]);
    assert_eq!(smtp.count_to(ALICE), 0, "nothing changed, nothing to tell");
}
both_backends!(
    another_accounts_address_is_refused_only_after_its_code,
    super::another_accounts_address_is_refused_only_after_its_code
);
