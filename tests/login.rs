//! The hosted login through its HTML forms: password, generic errors, CSRF, lockout, the SSO
//! session (prompt, max_age), consent, dead ends, and RP-initiated logout.

use crate::common;

use common::browser::{self, Browser, location, query};
use common::flow::{POST_LOGOUT, PW, Rp, alice_signs_in, app_redirect, login_page, sign_in};
use common::{Backend, TestEnv, TestServer};

async fn setup(backend: Backend, client_flags: &[&str]) -> (TestServer, Rp) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &["--name", "Acme"]).await;
    let rp = srv.rp("acme", client_flags).await;
    srv.user("acme", "alice@example.com", PW).await;
    (srv, rp)
}

async fn password_login_returns_a_code(backend: Backend) {
    let (srv, rp) = setup(backend, &["--first-party"]).await;
    let b = Browser::new();
    let url = srv.authorize_url(&rp, &[("login_hint", "alice@example.com")]);
    let (page_url, html) = login_page(&b, &srv, &url).await;
    // Plain form, labelled, with the autocomplete hints password managers need.
    assert!(html.contains(r#"<label for="login">"#) && html.contains(r#"<label for="password">"#));
    assert!(html.contains(r#"autocomplete="username""#));
    assert!(html.contains(r#"autocomplete="current-password""#));
    let form = browser::form(&html, &page_url);
    assert!(form.get("csrf").is_some_and(|c| c.len() > 20));
    assert_eq!(
        form.get("login"),
        Some("alice@example.com"),
        "login_hint prefills"
    );
    assert!(!page_url.contains("alice"), "no personal data in the URL");

    let res = sign_in(&b, &srv, &url, "Alice@Example.com", PW).await;
    let cookies: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let q = app_redirect(&res, &rp);
    assert!(q["code"].len() >= 43);
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], srv.issuer("acme"));
    let session = cookies
        .iter()
        .find(|c| c.starts_with("gh_session="))
        .expect("session cookie");
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
            && session.contains("Path=/t/acme")
    );
    assert!(!session.contains("Secure"), "plain http in tests");

    // The session answers the next request without a page, also with prompt=none.
    let again = b
        .follow(
            &srv.base,
            b.get(&srv.authorize_url(&rp, &[("prompt", "none")])).await,
        )
        .await;
    let q2 = app_redirect(&again, &rp);
    assert!(q2.contains_key("code"));
    assert_ne!(q2["code"], q["code"]);

    // prompt=login and max_age=0 force the login page again.
    for extra in [[("prompt", "login")], [("max_age", "0")]] {
        let (status, _) = {
            let res = b
                .follow(&srv.base, b.get(&srv.authorize_url(&rp, &extra)).await)
                .await;
            (res.status(), ())
        };
        assert_eq!(status, 200, "{extra:?} shows the login page");
    }
    // A generous max_age is satisfied by the session.
    let res = b
        .follow(
            &srv.base,
            b.get(&srv.authorize_url(&rp, &[("max_age", "3600")])).await,
        )
        .await;
    assert!(app_redirect(&res, &rp).contains_key("code"));

    // Username works as the login name too.
    srv.env
        .cli_json_stdin(
            &[
                "user",
                "create",
                "acme",
                "bob@example.com",
                "--password-stdin",
                "--username",
                "bob",
            ],
            "bob's long password\n",
        )
        .await;
    let res = sign_in(
        &Browser::new(),
        &srv,
        &srv.authorize_url(&rp, &[]),
        "bob",
        "bob's long password",
    )
    .await;
    assert!(app_redirect(&res, &rp).contains_key("code"));
}
both_backends!(
    password_login_returns_a_code,
    super::password_login_returns_a_code
);

async fn wrong_credentials_are_generic(backend: Backend) {
    let (srv, rp) = setup(backend, &["--first-party"]).await;
    let b = Browser::new();
    let url = srv.authorize_url(&rp, &[]);
    let wrong_pw = sign_in(&b, &srv, &url, "alice@example.com", "not the password").await;
    assert_eq!(wrong_pw.status(), 401);
    let html1 = wrong_pw.text().await.unwrap();
    let unknown = sign_in(&b, &srv, &url, "nobody@example.com", "not the password").await;
    assert_eq!(unknown.status(), 401);
    let html2 = unknown.text().await.unwrap();
    for html in [&html1, &html2] {
        assert!(html.contains("Wrong email or password."), "{html}");
        assert!(html.contains(r#"aria-describedby="login-error""#));
    }
    // Nothing in the second page tells that the account does not exist.
    assert!(!html2.to_lowercase().contains("not found") && !html2.contains("no account"));
}
both_backends!(
    wrong_credentials_are_generic,
    super::wrong_credentials_are_generic
);

async fn csrf_and_dead_ends_get_friendly_pages(backend: Backend) {
    let (srv, rp) = setup(backend, &["--first-party"]).await;
    let b = Browser::new();
    let url = srv.authorize_url(&rp, &[]);
    let (page_url, html) = login_page(&b, &srv, &url).await;
    let mut form = browser::form(&html, &page_url);
    form.set("login", "alice@example.com").set("password", PW);

    let mut forged = form.clone();
    forged.set("csrf", "forged");
    let res = b.submit(&forged).await;
    assert_eq!(res.status(), 403);
    let body = res.text().await.unwrap();
    assert!(body.contains("This form has expired"));
    assert!(body.contains("127.0.0.1:9"), "link back to the application");

    // The same form posted from another browser (no binding cookie) is refused.
    let other = Browser::new();
    let res = other.submit(&form).await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("This sign-in has expired")
    );

    // The genuine submit works once; the back button and a replay find a friendly page.
    let ok = b.follow(&srv.base, b.submit(&form).await).await;
    assert!(app_redirect(&ok, &rp).contains_key("code"));
    let back = b.get(&page_url).await;
    assert_eq!(back.status(), 400);
    assert!(
        back.text()
            .await
            .unwrap()
            .contains("This sign-in has expired")
    );
    let replay = b.submit(&form).await;
    assert_eq!(replay.status(), 400);

    // An unknown transaction handle.
    let res = b
        .get(&format!("{}/login?tx=made-up", srv.issuer("acme")))
        .await;
    assert_eq!(res.status(), 400);
}
both_backends!(
    csrf_and_dead_ends_get_friendly_pages,
    super::csrf_and_dead_ends_get_friendly_pages
);

async fn repeated_failures_lock_the_account(backend: Backend) {
    let mut env = TestEnv::new(backend).await;
    env.config.login.max_failures_per_account = 3;
    let srv = TestServer::start_with(env).await;
    srv.tenant("acme", &[]).await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    srv.user("acme", "alice@example.com", PW).await;
    let b = Browser::new();
    let url = srv.authorize_url(&rp, &[]);
    for _ in 0..2 {
        assert_eq!(
            sign_in(&b, &srv, &url, "alice@example.com", "wrong one!")
                .await
                .status(),
            401
        );
    }
    let third = sign_in(&b, &srv, &url, "alice@example.com", "wrong one!").await;
    assert_eq!(third.status(), 429);
    assert!(third.text().await.unwrap().contains("Too many attempts"));
    // Now even the right password is refused until the lock expires.
    let locked = sign_in(&b, &srv, &url, "alice@example.com", PW).await;
    assert_eq!(locked.status(), 429);
    // An unknown account name locks the same way (no enumeration through the lock).
    for _ in 0..3 {
        sign_in(&b, &srv, &url, "ghost@example.com", "wrong one!").await;
    }
    assert_eq!(
        sign_in(&b, &srv, &url, "ghost@example.com", "wrong one!")
            .await
            .status(),
        429
    );
}
both_backends!(
    repeated_failures_lock_the_account,
    super::repeated_failures_lock_the_account
);

async fn consent_is_asked_remembered_and_forced(backend: Backend) {
    let (srv, rp) = setup(backend, &[]).await; // not first-party
    let b = Browser::new();
    let url = srv.authorize_url(&rp, &[]);
    let res = sign_in(&b, &srv, &url, "alice@example.com", PW).await;
    assert_eq!(res.status(), 200, "consent page");
    let page_url = res.url().to_string();
    let html = res.text().await.unwrap();
    assert!(html.contains("See your email address"));
    let forms = browser::forms(&html, &page_url);
    let mut allow = forms[0].clone();
    allow.set("decision", "allow");
    let done = b.follow(&srv.base, b.submit(&allow).await).await;
    assert!(app_redirect(&done, &rp).contains_key("code"));

    // Remembered: the same scopes go straight through, even with prompt=none.
    let res = b
        .follow(
            &srv.base,
            b.get(&srv.authorize_url(&rp, &[("prompt", "none")])).await,
        )
        .await;
    assert!(app_redirect(&res, &rp).contains_key("code"));
    // A new scope needs consent again: prompt=none gets consent_required.
    let res = b
        .follow(
            &srv.base,
            b.get(&srv.authorize_url(&rp, &[("prompt", "none"), ("scope", "openid email phone")]))
                .await,
        )
        .await;
    assert_eq!(app_redirect(&res, &rp)["error"], "consent_required");
    // prompt=consent forces the page; denying returns access_denied.
    let res = b
        .follow(
            &srv.base,
            b.get(&srv.authorize_url(&rp, &[("prompt", "consent")]))
                .await,
        )
        .await;
    assert_eq!(res.status(), 200);
    let page_url = res.url().to_string();
    let mut deny = browser::form(&res.text().await.unwrap(), &page_url);
    deny.set("decision", "deny");
    let res = b.submit(&deny).await;
    let q = app_redirect(&res, &rp);
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], srv.issuer("acme"));
}
both_backends!(
    consent_is_asked_remembered_and_forced,
    super::consent_is_asked_remembered_and_forced
);

async fn logout_ends_the_session(backend: Backend) {
    let (srv, rp) = setup(backend, &["--first-party"]).await;
    let b = Browser::new();
    let res = alice_signs_in(&b, &srv, &rp, &[]).await;
    app_redirect(&res, &rp);
    let logout = format!("{}/logout", srv.issuer("acme"));

    // An unregistered post-logout URI is refused with a page.
    let bad = b
        .get(&format!(
            "{logout}?client_id={}&post_logout_redirect_uri=https://evil.example/",
            rp.client_id
        ))
        .await;
    assert_eq!(bad.status(), 400);

    // Without id_token_hint the user confirms first (a link elsewhere cannot sign them out).
    let url = format!(
        "{logout}?client_id={}&post_logout_redirect_uri={}&state=bye",
        rp.client_id,
        urlencode(POST_LOGOUT)
    );
    let res = b.get(&url).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("Sign out?"));
    let form = browser::form(&html, &url);
    let res = b.submit(&form).await;
    assert_eq!(res.status(), 303);
    let loc = location(&res);
    assert!(loc.starts_with(POST_LOGOUT));
    assert_eq!(query(&loc)["state"], "bye");
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );

    let res = b
        .follow(
            &srv.base,
            b.get(&srv.authorize_url(&rp, &[("prompt", "none")])).await,
        )
        .await;
    assert_eq!(app_redirect(&res, &rp)["error"], "login_required");
}
both_backends!(logout_ends_the_session, super::logout_ends_the_session);

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn a_tenant_theme_overrides_templates_by_name(backend: Backend) {
    let (srv, rp) = setup(backend, &["--first-party"]).await;
    srv.cli_json(&["tenant", "update", "acme", "--theme", "high-contrast"])
        .await;
    let b = Browser::new();
    let (_, html) = login_page(&b, &srv, &srv.authorize_url(&rp, &[])).await;
    // base.html comes from the theme, login.html from the default theme.
    assert!(html.contains("theme-high-contrast") && html.contains("Skip to content"));
    assert!(html.contains("/static/high-contrast/gatehouse.css"));
    assert!(html.contains(r#"autocomplete="current-password""#));
    let css = b
        .get(&format!("{}/static/high-contrast/gatehouse.css", srv.base))
        .await;
    assert!(css.text().await.unwrap().contains("High-contrast"));
    // A file the theme does not have falls back to the default theme.
    let js = b
        .get(&format!("{}/static/high-contrast/recovery.js", srv.base))
        .await;
    assert_eq!(js.status(), 200);
    // An unknown theme name is refused by the admin command.
    let out = srv
        .env
        .cli(&["tenant", "update", "acme", "--theme", "../etc"])
        .await;
    assert!(!out.status.success());
}
both_backends!(
    a_tenant_theme_overrides_templates_by_name,
    super::a_tenant_theme_overrides_templates_by_name
);

async fn pages_speak_the_requested_language(backend: Backend) {
    let (srv, rp) = setup(backend, &["--first-party"]).await;
    // Default: English.
    let (_, html) = login_page(&Browser::new(), &srv, &srv.authorize_url(&rp, &[])).await;
    assert!(html.contains(">Sign in</button>") && html.contains(r#"<html lang="en">"#));
    // ui_locales picks French and is remembered for the rest of the sign-in.
    let b = Browser::new();
    let (url, html) = login_page(
        &b,
        &srv,
        &srv.authorize_url(&rp, &[("ui_locales", "fr-CA en")]),
    )
    .await;
    assert!(html.contains(">Se connecter</button>"), "{html}");
    assert!(html.contains(r#"<html lang="fr">"#));
    let mut f = browser::form(&html, &url);
    f.set("login", "alice@example.com")
        .set("password", "wrong password!");
    let res = b.submit(&f).await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("E-mail ou mot de passe incorrect.")
    );
    // Accept-Language works without ui_locales; an unknown language falls back to English.
    let res = srv
        .http()
        .get(format!("{}/login?tx=nope", srv.issuer("acme")))
        .header("accept-language", "fr-FR,fr;q=0.9")
        .send()
        .await
        .unwrap();
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Cette connexion a expiré")
    );
    let res = srv
        .http()
        .get(format!("{}/login?tx=nope", srv.issuer("acme")))
        .header("accept-language", "tlh")
        .send()
        .await
        .unwrap();
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("This sign-in has expired")
    );
}
both_backends!(
    pages_speak_the_requested_language,
    super::pages_speak_the_requested_language
);

async fn housekeeping_removes_expired_rows(backend: Backend) {
    let (srv, rp) = setup(backend, &["--first-party"]).await;
    let b = Browser::new();
    let res = alice_signs_in(&b, &srv, &rp, &[]).await;
    app_redirect(&res, &rp);
    // An abandoned sign-in leaves a transaction behind.
    login_page(&Browser::new(), &srv, &srv.authorize_url(&rp, &[])).await;
    let db = &srv.state.db;
    let count = |table: &'static str| async move {
        let sql = match table {
            "codes" => "SELECT COUNT(*) FROM authorization_codes",
            "limits" => "SELECT COUNT(*) FROM rate_limits",
            _ => "SELECT COUNT(*) FROM login_transactions",
        };
        gatehouse::with_db!(db, |pool| sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(pool)
            .await
            .unwrap())
    };
    assert_eq!(count("codes").await, 1);
    assert_eq!(count("tx").await, 1);
    // The sign-in left attempt counters (new transactions per network, the password's IP key).
    assert!(count("limits").await >= 1);
    let window = gatehouse::housekeeping::longest_limit_window(&srv.state.config);
    // Nothing is due yet.
    assert_eq!(
        gatehouse::housekeeping::sweep(db, gatehouse::model::now(), window)
            .await
            .unwrap(),
        0
    );
    // Two days later all are gone.
    let later = gatehouse::model::now() + 2 * 86_400;
    assert!(
        gatehouse::housekeeping::sweep(db, later, window)
            .await
            .unwrap()
            >= 3
    );
    assert_eq!(count("codes").await, 0);
    assert_eq!(count("tx").await, 0);
    assert_eq!(count("limits").await, 0);
}
both_backends!(
    housekeeping_removes_expired_rows,
    super::housekeeping_removes_expired_rows
);

async fn per_ip_limits_see_through_trusted_proxies_only(backend: Backend) {
    let mut env = TestEnv::new(backend).await;
    env.config.login.max_failures_per_ip = 3;
    env.config.server.trusted_proxies = vec!["127.0.0.1".into()];
    let srv = TestServer::start_with(env).await;
    srv.tenant("acme", &[]).await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    srv.user("acme", "alice@example.com", PW).await;
    let url = srv.authorize_url(&rp, &[]);
    // Client A (behind the trusted proxy) fails with three different account names.
    let a = Browser::with_header("x-forwarded-for", "203.0.113.1");
    for (i, name) in ["a1@example.com", "a2@example.com", "a3@example.com"]
        .iter()
        .enumerate()
    {
        let status = sign_in(&a, &srv, &url, name, "wrong password")
            .await
            .status();
        assert_eq!(status, if i < 2 { 401 } else { 429 });
    }
    // Client B behind the same proxy is not locked with A.
    let b = Browser::with_header("x-forwarded-for", "203.0.113.2");
    let res = sign_in(&b, &srv, &url, "alice@example.com", PW).await;
    assert!(app_redirect(&res, &rp).contains_key("code"));
    // A spoofed first entry does not escape the lock: the rightmost untrusted address counts.
    let spoof = Browser::with_header("x-forwarded-for", "198.51.100.9, 203.0.113.1");
    assert_eq!(
        sign_in(&spoof, &srv, &url, "alice@example.com", PW)
            .await
            .status(),
        429
    );
}
both_backends!(
    per_ip_limits_see_through_trusted_proxies_only,
    super::per_ip_limits_see_through_trusted_proxies_only
);
