//! The MFA stage through the hosted pages: enrolment at sign-in (required and offered),
//! challenges, recovery codes, trusted devices, step-up, prompt=none, unmet requirements and
//! attempt limits. Codes are computed from the key the enrolment page shows.

use crate::common;

use common::browser::{self, Browser};
use common::flow::{PW, Rp, alice_signs_in, app_redirect, id_token, login_page, sign_in};
use common::mfa::{code, enrol_in_store, key_from_page, recovery_codes_from_page};
use common::{Backend, TestServer};
use reqwest::Response;

/// Voluntary `acr_values` for a user without a factor.
#[path = "mfa/step_up.rs"]
mod step_up;

/// `auth_time` and `max_age` after a slow second factor.
#[path = "mfa/auth_time.rs"]
mod auth_time;

async fn setup(backend: Backend, tenant_flags: &[&str], client_flags: &[&str]) -> (TestServer, Rp) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", tenant_flags).await;
    srv.cli_json(&["tenant", "update", "acme", "--enrollment-proof", "none"])
        .await;
    let mut flags = vec!["--first-party"];
    flags.extend_from_slice(client_flags);
    let rp = srv.rp("acme", &flags).await;
    srv.user("acme", "alice@example.com", PW).await;
    (srv, rp)
}

async fn page(res: Response) -> (String, String) {
    assert_eq!(res.status(), 200, "page expected at {}", res.url());
    let url = res.url().to_string();
    (url, res.text().await.unwrap())
}

/// Signs in and enrols an authenticator app through the pages; returns (secret, recovery codes,
/// final response).
async fn enrol(
    b: &Browser,
    srv: &TestServer,
    rp: &Rp,
    label: &str,
) -> (Vec<u8>, Vec<String>, Response) {
    let res = sign_in(b, srv, &srv.authorize_url(rp, &[]), "alice@example.com", PW).await;
    let (url, html) = page(res).await;
    assert!(html.contains("Set up two-factor authentication"), "{html}");
    assert!(
        html.contains("data:image/png;base64,"),
        "server-side QR code"
    );
    let secret = key_from_page(&html);
    let mut form = browser::form(&html, &url);
    form.set("label", label)
        .set("code", &code(&secret, 0))
        .set("action", "enable");
    let res = b.follow(&srv.base, b.submit(&form).await).await;
    let (url, html) = page(res).await;
    assert!(html.contains("Note down your recovery codes"));
    let codes = recovery_codes_from_page(&html);
    let done = browser::forms(&html, &url).pop().unwrap();
    let res = b.follow(&srv.base, b.submit(&done).await).await;
    (secret, codes, res)
}

async fn session_amr(srv: &TestServer) -> (Vec<String>, String) {
    // The newest session's amr/acr (the ID token shows the same values).
    let db = &srv.state.db;
    let (_, user) = srv.account("acme", "alice@example.com").await;
    let row: (String, String) = gatehouse::with_db!(db, |pool| {
        sqlx::query_as(
        "SELECT amr, acr FROM sso_sessions WHERE user_id = $1 AND ended_at IS NULL ORDER BY created_at DESC LIMIT 1"
    )
    .bind(&user.id)
    .fetch_one(pool)
    .await
    .unwrap()
    });
    (serde_json::from_str(&row.0).unwrap(), row.1)
}

async fn required_tenant_enrols_at_sign_in(backend: Backend) {
    let (srv, rp) = setup(backend, &["--mfa", "required"], &[]).await;
    let b = Browser::new();
    let (login_url, html) = login_page(&b, &srv, &srv.authorize_url(&rp, &[])).await;
    let mut form = browser::form(&html, &login_url);
    form.set("login", "alice@example.com").set("password", PW);
    let res = b.follow(&srv.base, b.submit(&form).await).await;
    let (url, html) = page(res).await;
    assert!(
        !html.contains(">Skip<"),
        "no way around a required enrolment"
    );
    // A wrong first code keeps the user on the page with an error tied to the input.
    let mut form = browser::form(&html, &url);
    form.set("code", "000000").set("action", "enable");
    let res = b.submit(&form).await;
    assert_eq!(res.status(), 401);
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"aria-describedby="code-error""#));
    // Skipping is refused server-side too.
    let mut skip = browser::form(&html, &url);
    skip.set("action", "skip");
    assert_eq!(b.submit(&skip).await.status(), 403);

    let b = Browser::new();
    let (_secret, codes, res) = enrol(&b, &srv, &rp, "Pixel 8").await;
    assert_eq!(codes.len(), 10);
    assert!(app_redirect(&res, &rp).contains_key("code"));
    let (amr, acr) = session_amr(&srv).await;
    assert_eq!(amr, vec!["pwd", "otp", "mfa"]);
    assert_eq!(acr, "mfa");
}
both_backends!(
    required_tenant_enrols_at_sign_in,
    super::required_tenant_enrols_at_sign_in
);

async fn offered_enrolment_can_be_skipped(backend: Backend) {
    let (srv, rp) = setup(backend, &["--prompt-enrollment", "true"], &[]).await;
    let b = Browser::new();
    let res = alice_signs_in(&b, &srv, &rp, &[]).await;
    let (url, html) = page(res).await;
    assert!(html.contains("Set up two-factor authentication") && html.contains(">Skip<"));
    let mut skip = browser::forms(&html, &url).pop().unwrap();
    skip.set("action", "skip");
    let res = b.follow(&srv.base, b.submit(&skip).await).await;
    assert!(app_redirect(&res, &rp).contains_key("code"));
    let (amr, acr) = session_amr(&srv).await;
    assert_eq!((amr, acr.as_str()), (vec!["pwd".to_string()], "pwd"));
}
both_backends!(
    offered_enrolment_can_be_skipped,
    super::offered_enrolment_can_be_skipped
);

async fn enrolled_users_are_challenged_and_codes_work_once(backend: Backend) {
    let (srv, rp) = setup(backend, &["--prompt-enrollment", "true"], &[]).await;
    let (secret, codes, _) = enrol(&Browser::new(), &srv, &rp, "Phone").await;

    // Optional tenant, enrolled user: challenged at every sign-in.
    let b = Browser::new();
    let res = alice_signs_in(&b, &srv, &rp, &[]).await;
    let (url, html) = page(res).await;
    assert!(html.contains("Enter the code from your authenticator app"));
    assert!(html.contains("Trust this device"));
    assert!(html.contains("Use a recovery code"));
    let form = browser::form(&html, &url);
    // The enrolment code was used: replaying it fails. The step before now is used because it
    // is refused either way: if the 30 s step has moved on since enrolment it *is* the enrolment
    // code, otherwise it is older than it (a plain `code(0)` became a fresh, valid code whenever
    // the step turned over in between, which made this line fail now and then).
    let mut replay = form.clone();
    replay.set("code", &code(&secret, -1));
    assert_eq!(b.submit(&replay).await.status(), 401);
    let mut ok = form.clone();
    ok.set("code", &code(&secret, 1));
    let res = b.follow(&srv.base, b.submit(&ok).await).await;
    assert!(app_redirect(&res, &rp).contains_key("code"));

    // A recovery code works once.
    for (attempt, expect_ok) in [(0, true), (1, false)] {
        let b = Browser::new();
        let res = alice_signs_in(&b, &srv, &rp, &[]).await;
        let (url, _) = page(res).await;
        let res = b.get(&format!("{url}&method=recovery")).await;
        let (rurl, rhtml) = page(res).await;
        assert!(rhtml.contains("Recovery code"));
        let mut f = browser::form(&rhtml, &rurl);
        f.set("recovery_code", &codes[0].to_uppercase());
        let res = b.follow(&srv.base, b.submit(&f).await).await;
        if expect_ok {
            assert!(
                app_redirect(&res, &rp).contains_key("code"),
                "attempt {attempt}"
            );
            let (amr, acr) = session_amr(&srv).await;
            assert_eq!(
                (amr, acr.as_str()),
                (vec!["pwd".into(), "otp".into(), "mfa".into()], "mfa")
            );
        } else {
            assert_eq!(res.status(), 401, "a used recovery code fails");
        }
    }
}
both_backends!(
    enrolled_users_are_challenged_and_codes_work_once,
    super::enrolled_users_are_challenged_and_codes_work_once
);

/// Submits the MFA page shown by `res` with `code` (and "Trust this device" when `trust`).
async fn answer(b: &Browser, srv: &TestServer, res: Response, code: &str, trust: bool) -> Response {
    let (url, html) = page(res).await;
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

async fn trusted_device_and_step_up(backend: Backend) {
    let (srv, rp) = setup(backend, &[], &[]).await;
    let strict = srv
        .rp("acme", &["--first-party", "--trust-policy", "none"])
        .await;
    let seed = enrol_in_store(&srv).await;
    let b = Browser::new();

    // Sign in with a code and "Trust this device".
    let res = alice_signs_in(&b, &srv, &rp, &[]).await;
    let res = answer(&b, &srv, res, &code(&seed, -1), true).await;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("gh_device="))
        .expect("device cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("Max-Age=2592000"));
    assert!(app_redirect(&res, &rp).contains_key("code"));

    // A new sign-in on this device skips the code: amr lists only what was verified now, acr
    // says the device vouches for MFA.
    let res = alice_signs_in(&b, &srv, &rp, &[("prompt", "login")]).await;
    assert!(
        app_redirect(&res, &rp).contains_key("code"),
        "trusted device skips the challenge"
    );
    let (amr, acr) = session_amr(&srv).await;
    assert_eq!((amr, acr.as_str()), (vec!["pwd".to_string()], "mfa"));

    // A client that does not accept trusted devices steps up: only the second factor is asked
    // (no password), and prompt=none cannot do that silently.
    let res = b
        .follow(
            &srv.base,
            b.get(&srv.authorize_url(&strict, &[("prompt", "none")]))
                .await,
        )
        .await;
    assert_eq!(app_redirect(&res, &strict)["error"], "interaction_required");
    let res = b
        .follow(&srv.base, b.get(&srv.authorize_url(&strict, &[])).await)
        .await;
    let res = answer(&b, &srv, res, &code(&seed, 0), false).await;
    assert!(app_redirect(&res, &strict).contains_key("code"));
    let (amr, acr) = session_amr(&srv).await;
    assert_eq!(
        (amr, acr.as_str()),
        (vec!["pwd".into(), "otp".into(), "mfa".into()], "mfa")
    );
    // Now the session carries MFA: prompt=none works for the strict client.
    let res = b
        .follow(
            &srv.base,
            b.get(&srv.authorize_url(&strict, &[("prompt", "none")]))
                .await,
        )
        .await;
    assert!(app_redirect(&res, &strict).contains_key("code"));
}
both_backends!(
    trusted_device_and_step_up,
    super::trusted_device_and_step_up
);

async fn requirements_that_cannot_be_met_are_refused(backend: Backend) {
    let (srv, rp) = setup(backend, &[], &[]).await;
    let phr = r#"{"id_token":{"acr":{"essential":true,"values":["phr"]}}}"#;
    let res = sign_in(
        &Browser::new(),
        &srv,
        &srv.authorize_url(&rp, &[("claims", phr)]),
        "alice@example.com",
        PW,
    )
    .await;
    let q = app_redirect(&res, &rp);
    assert_eq!(q["error"], "unmet_authentication_requirements");
    assert_eq!(q["state"], "st-123");
    let strict = srv
        .rp(
            "acme",
            &["--first-party", "--mfa-policy", "phishing_resistant"],
        )
        .await;
    let res = sign_in(
        &Browser::new(),
        &srv,
        &srv.authorize_url(&strict, &[]),
        "alice@example.com",
        PW,
    )
    .await;
    assert_eq!(
        app_redirect(&res, &strict)["error"],
        "unmet_authentication_requirements"
    );
    // A voluntary acr_values=phr gets the best available: nothing is enrolled, so the
    // authenticator-app set-up is offered; skipped, the password and an honest acr.
    let b = Browser::new();
    let url = srv.authorize_url(&rp, &[("acr_values", "phr mfa")]);
    let (url, html) = page(sign_in(&b, &srv, &url, "alice@example.com", PW).await).await;
    let mut skip = browser::forms(&html, &url).pop().unwrap();
    skip.set("action", "skip");
    let res = b.follow(&srv.base, b.submit(&skip).await).await;
    assert!(app_redirect(&res, &rp).contains_key("code"));
    let (amr, acr) = session_amr(&srv).await;
    assert_eq!((amr, acr.as_str()), (vec!["pwd".to_string()], "pwd"));
}
both_backends!(
    requirements_that_cannot_be_met_are_refused,
    super::requirements_that_cannot_be_met_are_refused
);

async fn wrong_codes_end_the_sign_in(backend: Backend) {
    let (srv, rp) = setup(backend, &[], &[]).await;
    srv.cli_json(&["tenant", "update", "acme", "--mfa-max-attempts", "3"])
        .await;
    let seed = enrol_in_store(&srv).await;
    let b = Browser::new();
    let res = alice_signs_in(&b, &srv, &rp, &[]).await;
    let (url, html) = page(res).await;
    let form = browser::form(&html, &url);
    for i in 0..3 {
        let mut f = form.clone();
        f.set("code", "123456");
        let res = b.submit(&f).await;
        if i < 2 {
            assert_eq!(res.status(), 401);
            assert!(res.text().await.unwrap().contains("That code didn"));
        } else {
            assert_eq!(res.status(), 429);
            assert!(res.text().await.unwrap().contains("Too many attempts"));
        }
    }
    // The transaction is over: even the right code is refused now.
    let mut f = form.clone();
    f.set("code", &code(&seed, 0));
    assert_eq!(b.submit(&f).await.status(), 400);
}
both_backends!(
    wrong_codes_end_the_sign_in,
    super::wrong_codes_end_the_sign_in
);

async fn single_backup_code_is_replaced_on_use(backend: Backend) {
    let (srv, rp) = setup(backend, &["--mfa", "required"], &[]).await;
    srv.cli_json(&[
        "tenant",
        "update",
        "acme",
        "--recovery-codes",
        "1",
        "--recovery-replace-on-use",
        "true",
    ])
    .await;
    let (_seed, codes, _) = enrol(&Browser::new(), &srv, &rp, "Phone").await;
    assert_eq!(codes.len(), 1);
    let mut current = codes[0].clone();
    for _ in 0..2 {
        let b = Browser::new();
        let res = alice_signs_in(&b, &srv, &rp, &[]).await;
        let (url, _) = page(res).await;
        let (rurl, rhtml) = page(b.get(&format!("{url}&method=recovery")).await).await;
        let mut f = browser::form(&rhtml, &rurl);
        f.set("recovery_code", &current);
        let res = b.follow(&srv.base, b.submit(&f).await).await;
        let (url, html) = page(res).await;
        assert!(html.contains("Your new recovery code"));
        let fresh = recovery_codes_from_page(&html);
        assert_eq!(fresh.len(), 1);
        assert_ne!(fresh[0], current);
        current = fresh[0].clone();
        let done = browser::forms(&html, &url).pop().unwrap();
        let res = b.follow(&srv.base, b.submit(&done).await).await;
        assert!(app_redirect(&res, &rp).contains_key("code"));
    }
}
both_backends!(
    single_backup_code_is_replaced_on_use,
    super::single_backup_code_is_replaced_on_use
);

async fn admin_reset_and_explain(backend: Backend) {
    let (srv, rp) = setup(backend, &["--mfa", "required"], &[]).await;
    let (_seed, _codes, _) = enrol(&Browser::new(), &srv, &rp, "Phone").await;
    let users = srv.cli_json(&["user", "list", "acme"]).await;
    assert_eq!(users["users"][0]["mfa"]["enabled"], true);
    assert_eq!(users["users"][0]["mfa"]["recovery_codes_remaining"], 10);
    assert_eq!(users["users"][0]["mfa"]["factors"][0]["label"], "Phone");

    let why = srv
        .cli_json(&["explain", "acme", &rp.client_id, "alice@example.com"])
        .await;
    assert_eq!(why["decision"]["outcome"], "challenge");
    assert!(
        why["decision"]["reason"]
            .as_str()
            .unwrap()
            .contains("tenant_requires_mfa")
    );
    let phr = srv
        .cli_json(&[
            "explain",
            "acme",
            &rp.client_id,
            "alice@example.com",
            "--essential-acr",
            "phr",
        ])
        .await;
    assert_eq!(phr["decision"]["outcome"], "deny");
    assert_eq!(
        phr["decision"]["error"],
        "unmet_authentication_requirements"
    );

    let reset = srv
        .cli_json(&["user", "mfa-reset", "acme", "alice@example.com"])
        .await;
    assert_eq!(reset["factors_removed"], 1);
    assert_eq!(reset["mfa_required_at_next_sign_in"], true);
    let users = srv.cli_json(&["user", "list", "acme"]).await;
    assert_eq!(users["users"][0]["mfa"]["enabled"], false);
    assert_eq!(users["users"][0]["mfa"]["recovery_codes_remaining"], 0);

    // Still required: the next sign-in enrols again.
    let res = sign_in(
        &Browser::new(),
        &srv,
        &srv.authorize_url(&rp, &[]),
        "alice@example.com",
        PW,
    )
    .await;
    let (_, html) = page(res).await;
    assert!(html.contains("Set up two-factor authentication"));
    // Made optional (unticking never removes factors; here there are none): password alone.
    srv.cli_json(&["tenant", "update", "acme", "--mfa", "optional"])
        .await;
    let res = sign_in(
        &Browser::new(),
        &srv,
        &srv.authorize_url(&rp, &[]),
        "alice@example.com",
        PW,
    )
    .await;
    assert!(app_redirect(&res, &rp).contains_key("code"));
    // The audit log holds the reset.
    let db = &srv.state.db;
    let tenant = gatehouse::store::tenants::get_by_slug(db, "acme")
        .await
        .unwrap();
    let events: Vec<String> = gatehouse::store::audit::list_for_tenant(db, &tenant.id, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    for e in ["mfa.factor_added", "mfa.reset", "login.mfa_decision"] {
        assert!(events.iter().any(|x| x == e), "{e} in {events:?}");
    }
}
both_backends!(admin_reset_and_explain, super::admin_reset_and_explain);

async fn unticking_required_keeps_factors(backend: Backend) {
    let (srv, rp) = setup(backend, &["--mfa", "required"], &[]).await;
    enrol(&Browser::new(), &srv, &rp, "Phone").await;
    srv.cli_json(&["tenant", "update", "acme", "--mfa", "optional"])
        .await;
    let users = srv.cli_json(&["user", "list", "acme"]).await;
    assert_eq!(users["users"][0]["mfa"]["enabled"], true);
    // Still challenged: enrolled users are asked at every sign-in.
    let res = sign_in(
        &Browser::new(),
        &srv,
        &srv.authorize_url(&rp, &[]),
        "alice@example.com",
        PW,
    )
    .await;
    let (_, html) = page(res).await;
    assert!(html.contains("Enter the code from your authenticator app"));
}
both_backends!(
    unticking_required_keeps_factors,
    super::unticking_required_keeps_factors
);

/// DESIGN.md §6, row by row, from real ID tokens.
async fn amr_and_acr_pin_every_row(backend: Backend) {
    let (srv, rp) = setup(backend, &[], &[]).await;
    let b = Browser::new();
    let row = |amr: &[&str], acr: &str| (serde_json::json!(amr), serde_json::json!(acr));

    // Password only.
    let res = alice_signs_in(&b, &srv, &rp, &[]).await;
    let c = id_token(&srv, &rp, &res).await;
    assert_eq!((c["amr"].clone(), c["acr"].clone()), row(&["pwd"], "pwd"));

    // Password + authenticator app.
    let seed = enrol_in_store(&srv).await;
    let res = alice_signs_in(&b, &srv, &rp, &[("prompt", "login")]).await;
    let res = answer(&b, &srv, res, &code(&seed, -1), true).await;
    let c = id_token(&srv, &rp, &res).await;
    assert_eq!(
        (c["amr"].clone(), c["acr"].clone()),
        row(&["pwd", "otp", "mfa"], "mfa")
    );

    // Trusted device: no method added, acr tells the assurance that holds.
    let res = alice_signs_in(&b, &srv, &rp, &[("prompt", "login")]).await;
    let c = id_token(&srv, &rp, &res).await;
    assert_eq!((c["amr"].clone(), c["acr"].clone()), row(&["pwd"], "mfa"));

    // Password + recovery code (another browser: no trusted device there).
    let (tenant, user) = srv.account("acme", "alice@example.com").await;
    let codes = gatehouse::mfa::recovery::regenerate(&srv.state.mfa_deps(), &tenant, &user, "test")
        .await
        .unwrap();
    let b2 = Browser::new();
    let res = alice_signs_in(&b2, &srv, &rp, &[]).await;
    let (url, _) = page(res).await;
    let (rurl, rhtml) = page(b2.get(&format!("{url}&method=recovery")).await).await;
    let mut f = browser::form(&rhtml, &rurl);
    f.set("recovery_code", &codes[0]);
    let res = b2.follow(&srv.base, b2.submit(&f).await).await;
    let c = id_token(&srv, &rp, &res).await;
    assert_eq!(
        (c["amr"].clone(), c["acr"].clone()),
        row(&["pwd", "otp", "mfa"], "mfa")
    );

    // The audit log tells a recovery code from an app code; `audit list` shows it.
    let audit = srv
        .cli_json(&["audit", "list", "acme", "--user", "alice@example.com"])
        .await;
    let events: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for e in [
        "mfa.recovery_code_used",
        "mfa.challenge_passed",
        "mfa.device_trusted",
        "login.mfa_decision",
    ] {
        assert!(events.contains(&e), "{e} in {events:?}");
    }
    let passed = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "mfa.challenge_passed")
        .unwrap();
    assert_eq!(passed["detail"]["client_id"], rp.client_id.as_str());
    assert!(passed["detail"]["ip"].is_string());
}
both_backends!(amr_and_acr_pin_every_row, super::amr_and_acr_pin_every_row);
