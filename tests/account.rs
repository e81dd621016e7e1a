//! "Manage two-factor" at `{issuer}/account`, through its HTML forms: sign-in via the hosted
//! login, adding an authenticator app, renaming, new recovery codes, removal rules, trusted
//! devices, signing out elsewhere, the re-authentication window, CSRF, and the mails.

use crate::common;

use std::time::Duration;

use common::browser::{self, Browser, location};
use common::burst::at_once;
use common::flow::{ALICE, PW, REDIRECT, alice_signs_in};
use common::mfa::{code, enrol_in_store, key_from_page, recovery_codes_from_page};
use common::pages::open_account;
use common::smtp::SmtpServer;
use common::{Backend, TestEnv, TestServer};

async fn setup(backend: Backend, mfa: &str) -> (TestServer, SmtpServer) {
    let (env, smtp) = TestEnv::with_mail(backend).await;
    let srv = TestServer::start_with(env).await;
    srv.tenant("acme", &["--name", "Acme", "--mfa", mfa]).await;
    srv.cli_json(&["tenant", "update", "acme", "--enrollment-proof", "none"])
        .await;
    srv.user("acme", ALICE, PW).await;
    (srv, smtp)
}

fn form_with_action(html: &str, url: &str, needle: &str) -> browser::Form {
    browser::forms(html, url)
        .into_iter()
        .find(|f| f.action.contains(needle))
        .unwrap_or_else(|| panic!("form with `{needle}` in {html}"))
}

/// Adds an authenticator app through the pages; returns (secret, recovery codes).
async fn add_totp(b: &Browser, srv: &TestServer, label: &str, step: i64) -> (Vec<u8>, Vec<String>) {
    let (url, html) = open_account(b, srv, "/add/totp").await;
    assert!(html.contains("Add an authenticator app"));
    let secret = key_from_page(&html);
    let mut f = browser::form(&html, &url);
    f.set("label", label).set("code", &code(&secret, step));
    let res = b.submit(&f).await;
    assert_eq!(res.status(), 303);
    let res = b.follow(&srv.base, res).await;
    // Without the mailbox proof (`setup` turns it off) binding a first factor upgrades nothing:
    // the new app answers a challenge (its next code) before the recovery codes are shown.
    assert!(res.url().path().ends_with("/mfa"), "{}", res.url());
    let res = {
        let at = res.url().to_string();
        let html = res.text().await.unwrap();
        let mut f = browser::form(&html, &at);
        f.set("code", &code(&secret, step + 1));
        b.follow(&srv.base, b.submit(&f).await).await
    };
    let at = res.url().to_string();
    let html = res.text().await.unwrap();
    assert!(at.contains("/account/recovery-codes"), "{at}");
    (secret, recovery_codes_from_page(&html))
}

async fn manage_two_factor_end_to_end(backend: Backend) {
    let (srv, smtp) = setup(backend, "optional").await;
    let b = Browser::new();
    let (url, html) = open_account(&b, &srv, "").await;
    assert!(url.ends_with("/t/acme/account"), "{url}");
    assert!(html.contains("Two-factor authentication") && html.contains("Status:</strong> Off"));
    assert!(html.contains("Add two-factor"));
    // "Add two-factor" → choose a method → the authenticator app.
    let (_, choose) = open_account(&b, &srv, "/add").await;
    assert!(choose.contains("Select a method of authentication:"));
    assert!(choose.contains("totp\"") && choose.contains("Authenticator app"));

    // Add an authenticator app: recovery codes shown once (first factor), mail sent.
    let (_secret, codes) = add_totp(&b, &srv, "Pixel 8", 0).await;
    assert_eq!(codes.len(), 10);
    let again = b
        .get(&format!("{}/account/recovery-codes", srv.issuer("acme")))
        .await;
    let again = again.text().await.unwrap();
    assert!(
        recovery_codes_from_page(&again).is_empty(),
        "codes are shown once"
    );
    let mail = smtp.wait_for(ALICE, Duration::from_secs(10)).await;
    assert_eq!(mail.subject, "Two-factor authentication was turned on");

    let (url, html) = open_account(&b, &srv, "").await;
    assert!(
        html.contains("Status:</strong> On")
            && html.contains("Pixel 8")
            && html.contains("10 recovery codes left")
    );

    // Rename.
    let mut rename = form_with_action(&html, &url, "/rename");
    rename.set("label", "Work phone");
    let res = b.follow(&srv.base, b.submit(&rename).await).await;
    let html = res.text().await.unwrap();
    assert!(html.contains("Work phone") && html.contains("The name was changed."));

    // New recovery codes: the old set stops working; mail sent.
    let regen = form_with_action(&html, &url, "/recovery-codes");
    let res = b.follow(&srv.base, b.submit(&regen).await).await;
    let fresh = recovery_codes_from_page(&res.text().await.unwrap());
    assert_eq!(fresh.len(), 10);
    assert!(!fresh.contains(&codes[0]));
    let mail = smtp.wait_for(ALICE, Duration::from_secs(10)).await;
    assert!(
        mail.subject.to_lowercase().contains("recovery codes"),
        "{}",
        mail.subject
    );

    // Remove (optional tenant: allowed) → mail, status off.
    let (url, html) = open_account(&b, &srv, "").await;
    let remove = form_with_action(&html, &url, "/remove");
    let res = b.follow(&srv.base, b.submit(&remove).await).await;
    let html = res.text().await.unwrap();
    assert!(html.contains("Status:</strong> Off"), "{html}");
    let mail = smtp.wait_for(ALICE, Duration::from_secs(10)).await;
    assert!(
        mail.subject.to_lowercase().contains("removed"),
        "{}",
        mail.subject
    );

    // Every change is in the audit log.
    let audit = srv
        .cli_json(&["audit", "list", "acme", "--user", ALICE])
        .await;
    let events: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for e in [
        "mfa.factor_added",
        "mfa.factor_renamed",
        "mfa.recovery_codes_regenerated",
        "mfa.factor_removed",
    ] {
        assert!(events.contains(&e), "{e} in {events:?}");
    }
}
both_backends!(
    manage_two_factor_end_to_end,
    super::manage_two_factor_end_to_end
);

/// On a `required` tenant: the first sign-in sets up an authenticator app and notes the
/// recovery codes down, which also signs the browser in.
async fn enrol_at_required_sign_in(b: &Browser, srv: &TestServer, rp: &common::flow::Rp) {
    let res = alice_signs_in(b, srv, rp, &[]).await;
    let at = res.url().to_string();
    let html = res.text().await.unwrap();
    let secret = key_from_page(&html);
    let mut f = browser::form(&html, &at);
    f.set("code", &code(&secret, 0)).set("action", "enable");
    let res = b.follow(&srv.base, b.submit(&f).await).await;
    let at = res.url().to_string();
    let done = browser::forms(&res.text().await.unwrap(), &at)
        .pop()
        .unwrap();
    b.follow(&srv.base, b.submit(&done).await).await;
}

async fn last_factor_cannot_be_removed_when_required(backend: Backend) {
    let (srv, _smtp) = setup(backend, "required").await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    let b = Browser::new();
    enrol_at_required_sign_in(&b, &srv, &rp).await;

    let (url, html) = open_account(&b, &srv, "").await;
    assert!(html.contains("required by your organisation"));
    let remove = form_with_action(&html, &url, "/remove");
    let res = b.submit(&remove).await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("cannot be removed"));
    let users = srv.cli_json(&["user", "list", "acme"]).await;
    assert_eq!(users["users"][0]["mfa"]["enabled"], true);
}
both_backends!(
    last_factor_cannot_be_removed_when_required,
    super::last_factor_cannot_be_removed_when_required
);

/// Two removals of the user's last two methods at the same instant on a `required` tenant:
/// one goes through, the other is refused, one method is left. Before (PostgreSQL, READ
/// COMMITTED): both transactions saw "one left" and removed both.
async fn simultaneous_removals_keep_the_last_method(backend: Backend) {
    let (srv, _smtp) = setup(backend, "required").await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    let b = Browser::new();
    enrol_at_required_sign_in(&b, &srv, &rp).await;
    enrol_in_store(&srv).await;

    let (url, html) = open_account(&b, &srv, "").await;
    let removals: Vec<_> = browser::forms(&html, &url)
        .into_iter()
        .filter(|f| f.action.contains("/remove"))
        .collect();
    assert_eq!(removals.len(), 2);
    let results = at_once(
        removals
            .iter()
            .map(|f| b.http.post(&f.action).form(&f.fields))
            .collect(),
    )
    .await;
    let mut statuses: Vec<u16> = results.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, vec![303, 409]);
    let users = srv.cli_json(&["user", "list", "acme"]).await;
    assert_eq!(
        users["users"][0]["mfa"]["factors"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
both_backends!(
    simultaneous_removals_keep_the_last_method,
    super::simultaneous_removals_keep_the_last_method
);

async fn stale_sessions_and_forged_forms_change_nothing(backend: Backend) {
    let (srv, _smtp) = setup(backend, "optional").await;
    let b = Browser::new();
    add_totp(&b, &srv, "Phone", 0).await;
    let (url, html) = open_account(&b, &srv, "").await;
    let remove = form_with_action(&html, &url, "/remove");

    // A forged form (bad CSRF token) is refused.
    let mut forged = remove.clone();
    forged.set("csrf", "nope");
    assert_eq!(b.submit(&forged).await.status(), 403);

    // A session older than the re-authentication window (a stolen cookie, say) must sign in
    // again before any change.
    srv.cli_json(&["tenant", "update", "acme", "--account-reauth-secs", "60"])
        .await;
    let db = &srv.state.db;
    let old = gatehouse::model::now() - 3600;
    gatehouse::with_db!(db, |pool| sqlx::query(
        "UPDATE sso_sessions SET auth_time = $1, mfa_time = $1"
    )
    .bind(old)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    let res = b.submit(&remove).await;
    assert_eq!(res.status(), 403);
    let html = res.text().await.unwrap();
    assert!(html.contains("Enter your password to continue"));
    let res = b
        .get(&format!("{}/account/add/totp", srv.issuer("acme")))
        .await;
    assert_eq!(res.status(), 403);
    let users = srv.cli_json(&["user", "list", "acme"]).await;
    assert_eq!(
        users["users"][0]["mfa"]["enabled"], true,
        "nothing was removed"
    );

    // Continue → a fresh sign-in (password and code) → back on the page.
    let form = browser::form(&html, &url);
    let res = b
        .get(&format!(
            "{}?next={}",
            form.action,
            urlencode(form.get("next").unwrap())
        ))
        .await;
    let res = b.follow(&srv.base, res).await;
    assert!(res.url().path().ends_with("/login"), "{}", res.url());
}
both_backends!(
    stale_sessions_and_forged_forms_change_nothing,
    super::stale_sessions_and_forged_forms_change_nothing
);

async fn back_link_and_sign_out_elsewhere(backend: Backend) {
    let (srv, _smtp) = setup(backend, "optional").await;
    let rp = srv
        .rp("acme", &["--first-party", "--name", "Care Portal"])
        .await;
    let b1 = Browser::new();
    let b2 = Browser::new();
    for b in [&b1, &b2] {
        open_account(b, &srv, "").await;
    }
    let ret = urlencode(REDIRECT);
    let (_, html) = open_account(
        &b1,
        &srv,
        &format!("?client_id={}&return_to={ret}", rp.client_id),
    )
    .await;
    assert!(html.contains("Back to Care Portal"));
    let (_, html) = open_account(
        &b1,
        &srv,
        &format!(
            "?client_id={}&return_to={}",
            rp.client_id,
            urlencode("https://evil.example/")
        ),
    )
    .await;
    assert!(
        !html.contains("Back to"),
        "unregistered return_to gets no link"
    );

    let (url, html) = open_account(&b1, &srv, "").await;
    let out = form_with_action(&html, &url, "/sessions/others");
    let res = b1.follow(&srv.base, b1.submit(&out).await).await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("signed out on all other devices")
    );
    // b2's session is over: the account page sends it to the login again.
    let res = b2
        .follow(
            &srv.base,
            b2.get(&format!("{}/account", srv.issuer("acme"))).await,
        )
        .await;
    assert!(res.url().path().ends_with("/login"));
    let _ = location;
}
both_backends!(
    back_link_and_sign_out_elsewhere,
    super::back_link_and_sign_out_elsewhere
);

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Issue 10 ("an audit write that fails fails the change"). Before: removing a factor deleted
/// it, voided the devices and the other sessions' MFA, and only then failed on the audit write
/// (a 500, with the factor gone and no audit event); renaming and revoking a device ignored a
/// failed audit write (`let _ =`) and stood unaudited. Now each is one transaction with its
/// audit event: with the audit log unwritable, the page fails and nothing changed.
async fn a_change_whose_audit_event_fails_does_not_happen(backend: Backend) {
    let (srv, smtp) = setup(backend, "optional").await;
    let b = Browser::new();
    add_totp(&b, &srv, "Pixel 8", 0).await;
    smtp.wait_for(ALICE, Duration::from_secs(10)).await;
    let (url, html) = open_account(&b, &srv, "").await;
    let mut rename = form_with_action(&html, &url, "/rename");
    rename.set("label", "Work phone");
    let remove = form_with_action(&html, &url, "/remove");

    srv.break_audit_log().await;
    assert_eq!(b.submit(&rename).await.status(), 500);
    assert_eq!(b.submit(&remove).await.status(), 500);
    let users = srv.cli_json(&["user", "list", "acme"]).await;
    let mfa = &users["users"][0]["mfa"];
    assert_eq!(mfa["enabled"], true, "the factor is still there: {mfa}");
    assert_eq!(mfa["factors"][0]["label"], "Pixel 8", "not renamed");
    assert_eq!(mfa["recovery_codes_remaining"], 10);
    // No "removed" notice for a removal that did not happen (a notice is sent before the
    // page answers, so none is still on its way).
    assert_eq!(smtp.count_to(ALICE), 1, "only the \"turned on\" mail");
}
both_backends!(
    a_change_whose_audit_event_fails_does_not_happen,
    super::a_change_whose_audit_event_fails_does_not_happen
);
