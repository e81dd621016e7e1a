//! Sessions and the tokens bound to them end when they should, through the hosted pages and the
//! token endpoint like a relying party and a user see it: RP-initiated logout (and which
//! `id_token_hint` may end a session unasked), "Sign out of all other devices", `offline_access`,
//! the admin MFA reset, removing a factor, and trusted devices bound to the factor set.

use crate::common;

use common::browser::{self, Browser, location, query};
use common::flow::{ALICE, POST_LOGOUT, PW, Rp, alice_signs_in, app_redirect, refresh};
use common::mfa::code;
use common::{Backend, TestServer};
use reqwest::Response;
use serde_json::Value;

async fn setup(backend: Backend) -> TestServer {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &[]).await;
    srv.cli_json(&["tenant", "update", "acme", "--enrollment-proof", "none"])
        .await;
    srv.user("acme", ALICE, PW).await;
    srv
}

/// Redeems the code of an application redirect; returns the token response.
async fn redeem(srv: &TestServer, rp: &Rp, res: &Response) -> Value {
    let q = app_redirect(res, rp);
    let res = srv
        .http()
        .post(format!("{}/token", srv.issuer("acme")))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", q["code"].as_str()),
            ("redirect_uri", rp.redirect_uri.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn assert_refresh_refused(srv: &TestServer, rp: &Rp, tokens: &Value) {
    let (status, body) = refresh(srv, rp, tokens).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

async fn active(srv: &TestServer, rp: &Rp, token: &Value) -> bool {
    let body: Value = srv
        .http()
        .post(format!("{}/introspect", srv.issuer("acme")))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[("token", token.as_str().unwrap())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["active"] == true
}

/// Whether `b`'s SSO session still answers `prompt=none` for `rp` with a code.
async fn session_alive(b: &Browser, srv: &TestServer, rp: &Rp) -> bool {
    let url = srv.authorize_url(rp, &[("prompt", "none")]);
    let res = b.follow(&srv.base, b.get(&url).await).await;
    app_redirect(&res, rp).contains_key("code")
}

fn logout_url(srv: &TestServer, hint: &Value) -> String {
    format!(
        "{}/logout?id_token_hint={}",
        srv.issuer("acme"),
        hint.as_str().unwrap()
    )
}

/// Issue 9 item 6. Before: after RP-initiated logout a refresh still returned 200 with a new
/// ID token, for 30 days, and the access token stayed active.
async fn logout_ends_the_refresh_tokens_of_the_session(backend: Backend) {
    let srv = setup(backend).await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    let b = Browser::new();
    let earlier = redeem(&srv, &rp, &alice_signs_in(&b, &srv, &rp, &[]).await).await;
    // Signing in again in the same browser replaces the session; its grants move along.
    let again = [("prompt", "login")];
    let tokens = redeem(&srv, &rp, &alice_signs_in(&b, &srv, &rp, &again).await).await;
    let (status, _) = refresh(&srv, &rp, &tokens).await;
    assert_eq!(status, 200, "refresh works while the session lives");
    let (status, earlier) = refresh(&srv, &rp, &earlier).await;
    assert_eq!(status, 200, "and for the replaced session's grant");

    let url = format!(
        "{}&post_logout_redirect_uri={}&state=bye",
        logout_url(&srv, &tokens["id_token"]),
        url::form_urlencoded::byte_serialize(POST_LOGOUT.as_bytes()).collect::<String>()
    );
    let res = b.get(&url).await;
    assert_eq!(res.status(), 303);
    assert_eq!(query(&location(&res))["state"], "bye");

    assert_refresh_refused(&srv, &rp, &tokens).await;
    assert!(!active(&srv, &rp, &tokens["access_token"]).await);
    assert_refresh_refused(&srv, &rp, &earlier).await;
}
both_backends!(
    logout_ends_the_refresh_tokens_of_the_session,
    super::logout_ends_the_refresh_tokens_of_the_session
);

/// OIDC Core §11: `offline_access`, requested, allowed for the client and (first-party) granted,
/// survives the logout; the same client without the scope does not.
async fn offline_access_survives_logout(backend: Backend) {
    let srv = setup(backend).await;
    let rp = srv.rp("acme", &["--first-party", "--offline-access"]).await;
    let b = Browser::new();
    let scope = [("scope", "openid offline_access")];
    let offline = redeem(&srv, &rp, &alice_signs_in(&b, &srv, &rp, &scope).await).await;
    assert_eq!(offline["scope"], "openid offline_access");
    // A new sign-in in the same browser: the first grant moves to the new session.
    let again = [("prompt", "login")];
    let bound = redeem(&srv, &rp, &alice_signs_in(&b, &srv, &rp, &again).await).await;

    let res = b.get(&logout_url(&srv, &bound["id_token"])).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("You have signed out"));

    assert_refresh_refused(&srv, &rp, &bound).await;
    let (status, body) = refresh(&srv, &rp, &offline).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["id_token"].is_string());
}
both_backends!(
    offline_access_survives_logout,
    super::offline_access_survives_logout
);

/// Issue 9 item 8. Before: any JWT the issuer signed, an access token included, logged the
/// victim out without confirmation, and so did an ID token of another session.
async fn only_this_sessions_id_token_logs_out_unasked(backend: Backend) {
    let srv = setup(backend).await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    let (b1, b2) = (Browser::new(), Browser::new());
    let mine = redeem(&srv, &rp, &alice_signs_in(&b1, &srv, &rp, &[]).await).await;
    let other = redeem(&srv, &rp, &alice_signs_in(&b2, &srv, &rp, &[]).await).await;

    for hint in [&mine["access_token"], &other["id_token"]] {
        let res = b1.get(&logout_url(&srv, hint)).await;
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("Sign out?"));
        assert!(session_alive(&b1, &srv, &rp).await, "no silent logout");
    }

    let res = b1.get(&logout_url(&srv, &mine["id_token"])).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("You have signed out"));
    let res = b1
        .follow(
            &srv.base,
            b1.get(&srv.authorize_url(&rp, &[("prompt", "none")])).await,
        )
        .await;
    assert_eq!(app_redirect(&res, &rp)["error"], "login_required");
    assert!(
        session_alive(&b2, &srv, &rp).await,
        "the other session lives"
    );
}
both_backends!(
    only_this_sessions_id_token_logs_out_unasked,
    super::only_this_sessions_id_token_logs_out_unasked
);

/// Issue 9 item 6. Before: "Sign out of all other devices" ended the other sessions but their
/// refresh tokens kept working.
async fn sign_out_elsewhere_ends_the_other_refresh_tokens(backend: Backend) {
    let srv = setup(backend).await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    let (b1, b2) = (Browser::new(), Browser::new());
    let here = redeem(&srv, &rp, &alice_signs_in(&b1, &srv, &rp, &[]).await).await;
    let there = redeem(&srv, &rp, &alice_signs_in(&b2, &srv, &rp, &[]).await).await;

    let (url, html) = account_page(&b1, &srv, "", None).await;
    let out = browser::forms(&html, &url)
        .into_iter()
        .find(|f| f.action.contains("/sessions/others"))
        .unwrap();
    let res = b1.follow(&srv.base, b1.submit(&out).await).await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("signed out on all other devices")
    );

    assert_refresh_refused(&srv, &rp, &there).await;
    assert!(!active(&srv, &rp, &there["access_token"]).await);
    let (status, _) = refresh(&srv, &rp, &here).await;
    assert_eq!(status, 200, "this device's refresh token works");
}
both_backends!(
    sign_out_elsewhere_ends_the_other_refresh_tokens,
    super::sign_out_elsewhere_ends_the_other_refresh_tokens
);

/// Issue 9 item 5. Before: after `gatehouse user mfa-reset` the user's existing SSO session
/// still got a code from an MFA-required client with `amr [pwd,otp,mfa]`, and its refresh
/// tokens kept working. Offline grants end too: their ID tokens would go on claiming the
/// removed factor.
async fn mfa_reset_ends_every_session(backend: Backend) {
    let srv = setup(backend).await;
    let flags = [
        "--first-party",
        "--mfa-policy",
        "required",
        "--offline-access",
    ];
    let rp = srv.rp("acme", &flags).await;
    let (_, seed) = factor_in_store(&srv, "Phone").await;
    let b = Browser::new();
    let res = alice_signs_in(&b, &srv, &rp, &[]).await;
    let res = answer(&b, &srv, res, &code(&seed, 0), false).await;
    let tokens = redeem(&srv, &rp, &res).await;
    let url = srv.authorize_url(&rp, &[("scope", "openid offline_access")]);
    let res = b.follow(&srv.base, b.get(&url).await).await;
    let offline = redeem(&srv, &rp, &res).await;
    assert_eq!(offline["scope"], "openid offline_access");

    let reset = srv.cli_json(&["user", "mfa-reset", "acme", ALICE]).await;
    assert_eq!(reset["sessions_ended"], 1);
    assert_eq!(reset["grants_revoked"], 2);

    let res = b
        .follow(&srv.base, b.get(&srv.authorize_url(&rp, &[])).await)
        .await;
    assert!(res.url().path().ends_with("/login"), "{}", res.url());
    assert_refresh_refused(&srv, &rp, &tokens).await;
    assert!(!active(&srv, &rp, &tokens["access_token"]).await);
    assert_refresh_refused(&srv, &rp, &offline).await;
}
both_backends!(
    mfa_reset_ends_every_session,
    super::mfa_reset_ends_every_session
);

/// Issue 9 item 5. Before: removing a factor on the account pages left the user's other
/// sessions counting as MFA (an MFA-required client gave them a code without a challenge),
/// and a device trusted before the removal still skipped the challenge.
async fn removing_a_factor_clears_mfa_elsewhere(backend: Backend) {
    let srv = setup(backend).await;
    let rp = srv
        .rp("acme", &["--first-party", "--mfa-policy", "required"])
        .await;
    let (_, seed) = factor_in_store(&srv, "Phone").await;
    let (spare, _) = factor_in_store(&srv, "Old phone").await;
    // b1: signed in with a second factor, and trusts this device.
    let b1 = Browser::new();
    let res = alice_signs_in(&b1, &srv, &rp, &[]).await;
    app_redirect(&answer(&b1, &srv, res, &code(&seed, -1), true).await, &rp);
    assert!(session_alive(&b1, &srv, &rp).await);

    // b2 removes the old phone on the account pages.
    let b2 = Browser::new();
    let (url, html) = account_page(&b2, &srv, "", Some(&code(&seed, 0))).await;
    let remove = browser::forms(&html, &url)
        .into_iter()
        .find(|f| f.action.contains(&format!("/factors/{spare}/remove")))
        .unwrap();
    let res = b2.follow(&srv.base, b2.submit(&remove).await).await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("The method was removed.")
    );

    // b1's session no longer passes the MFA-required client unasked…
    let url = srv.authorize_url(&rp, &[("prompt", "none")]);
    let res = b1.follow(&srv.base, b1.get(&url).await).await;
    assert_eq!(app_redirect(&res, &rp)["error"], "interaction_required");
    // …and its trusted device no longer skips the challenge.
    let res = alice_signs_in(&b1, &srv, &rp, &[("prompt", "login")]).await;
    assert!(is_challenge(res).await, "challenged again");
    // b2, where the change was made, keeps its proof (a factor is left): the account pages
    // open without a new sign-in.
    let account = format!("{}/account", srv.issuer("acme"));
    let res = b2.follow(&srv.base, b2.get(&account).await).await;
    assert!(res.url().path().ends_with("/account"), "{}", res.url());
}
both_backends!(
    removing_a_factor_clears_mfa_elsewhere,
    super::removing_a_factor_clears_mfa_elsewhere
);

/// Issue 9 item 5: a trusted device is bound to the factor set it was trusted under. Before:
/// it vouched for the second factor whatever factors the user had since.
async fn trusted_device_ends_with_its_factor_set(backend: Backend) {
    let srv = setup(backend).await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    let (_, seed) = factor_in_store(&srv, "Phone").await;
    let b = Browser::new();
    let res = alice_signs_in(&b, &srv, &rp, &[]).await;
    app_redirect(&answer(&b, &srv, res, &code(&seed, 0), true).await, &rp);
    let res = alice_signs_in(&b, &srv, &rp, &[("prompt", "login")]).await;
    assert!(app_redirect(&res, &rp).contains_key("code"), "trusted");

    // A factor added by any path changes the set: the device must be trusted again.
    factor_in_store(&srv, "Tablet").await;
    let res = alice_signs_in(&b, &srv, &rp, &[("prompt", "login")]).await;
    assert!(is_challenge(res).await, "challenged again");
}
both_backends!(
    trusted_device_ends_with_its_factor_set,
    super::trusted_device_ends_with_its_factor_set
);

/// Issue 9 item 11. Before: on a trusted device the account pages asked "Enter your password
/// to continue", the password led back to the same page, forever: the device vouched for the
/// second factor at the sign-in without setting the MFA time the re-auth check reads.
async fn trusted_device_passes_the_reauth_check(backend: Backend) {
    let srv = setup(backend).await;
    let (_, seed) = factor_in_store(&srv, "Phone").await;
    let b = Browser::new();
    // Sign in to the account pages with a code and "Trust this device".
    let account = format!("{}/account", srv.issuer("acme"));
    let res = b.follow(&srv.base, b.get(&account).await).await;
    let res = password(&b, &srv, res).await;
    let res = answer(&b, &srv, res, &code(&seed, 0), true).await;
    assert_eq!(res.status(), 200, "{}", res.url());

    // Later: the sign-in is older than the re-auth window.
    srv.cli_json(&["tenant", "update", "acme", "--account-reauth-secs", "60"])
        .await;
    let old = gatehouse::model::now() - 3600;
    let db = &srv.state.db;
    gatehouse::with_db!(db, |pool| sqlx::query(
        "UPDATE sso_sessions SET auth_time = $1, mfa_time = $1"
    )
    .bind(old)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    let add = format!("{account}/add/totp");
    let res = b.get(&add).await;
    assert_eq!(res.status(), 403);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Enter your password to continue")
    );

    // Continue → the password (the trusted device stands in for the code) → the page.
    let reauth = format!(
        "{account}/reauth?next={}",
        url::form_urlencoded::byte_serialize(b"/t/acme/account/add/totp").collect::<String>()
    );
    let res = b.follow(&srv.base, b.get(&reauth).await).await;
    let res = password(&b, &srv, res).await;
    assert_eq!(res.status(), 200, "{}", res.url());
    assert!(
        res.url().as_str().ends_with("/account/add/totp"),
        "{}",
        res.url()
    );
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Add an authenticator app")
    );
}
both_backends!(
    trusted_device_passes_the_reauth_check,
    super::trusted_device_passes_the_reauth_check
);

// ---- helpers --------------------------------------------------------------------------------

/// Submits the login page shown by `res` with alice's password.
async fn password(b: &Browser, srv: &TestServer, res: Response) -> Response {
    assert!(res.url().path().ends_with("/login"), "{}", res.url());
    let at = res.url().to_string();
    let html = res.text().await.unwrap();
    let mut f = browser::form(&html, &at);
    f.set("login", ALICE).set("password", PW);
    b.follow(&srv.base, b.submit(&f).await).await
}

async fn is_challenge(res: Response) -> bool {
    res.status() == 200
        && res
            .text()
            .await
            .unwrap()
            .contains("Enter the code from your authenticator app")
}

/// Submits the MFA page shown by `res` with `code` (and "Trust this device" when `trust`).
async fn answer(b: &Browser, srv: &TestServer, res: Response, code: &str, trust: bool) -> Response {
    assert_eq!(res.status(), 200, "MFA page expected at {}", res.url());
    let url = res.url().to_string();
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Enter the code from your authenticator app"),
        "{html}"
    );
    let mut f = browser::form(&html, &url);
    f.set("code", code);
    if trust {
        f.set("trust", "on");
    }
    b.follow(&srv.base, b.submit(&f).await).await
}

/// Opens the account pages in `b`, signing in (password, then `code` when challenged).
async fn account_page(
    b: &Browser,
    srv: &TestServer,
    suffix: &str,
    code: Option<&str>,
) -> (String, String) {
    let url = format!("{}/account{suffix}", srv.issuer("acme"));
    let mut res = b.follow(&srv.base, b.get(&url).await).await;
    if res.url().path().ends_with("/login") {
        res = password(b, srv, res).await;
    }
    if let Some(c) = code {
        res = answer(b, srv, res, c, false).await;
    }
    assert_eq!(res.status(), 200, "account page at {}", res.url());
    let at = res.url().to_string();
    (at, res.text().await.unwrap())
}

/// Gives alice an authenticator app directly in the store (a known seed, no code used yet);
/// returns the factor id and the seed.
async fn factor_in_store(srv: &TestServer, label: &str) -> (String, Vec<u8>) {
    use gatehouse::store::factors::{self, NewFactor};
    let db = &srv.state.db;
    let (tenant, user) = srv.account("acme", ALICE).await;
    let seed = gatehouse::mfa::totp::new_secret();
    let sealed = gatehouse::crypto::seal::seal(&srv.state.secret, "totp-seed", &seed).unwrap();
    let f = factors::create(
        db,
        NewFactor {
            tenant_id: &tenant.id,
            user_id: &user.id,
            kind: gatehouse::model::MfaMethod::Totp,
            label,
            secret_sealed: Some(&sealed),
            last_step: None,
            target: None,
            credential: None,
            now: gatehouse::model::now(),
        },
    )
    .await
    .unwrap();
    (f.id, seed)
}
