//! The hosted admin console at `/admin`, driven like an admin does: `gatehouse admin create`,
//! a first sign-in through the system tenant's hosted login that sets up an authenticator app
//! (after the mailbox proof, codes read from a real SMTP listener), setting a tenant to
//! *Required*, finding a user by exact username, **Reset MFA** and the user enrolling again,
//! *Optional* keeping the factors; step-up, idle timeout, sign-out, CSRF and tenant scope.

use crate::common;

use std::time::Duration;

use common::browser::{self, Browser, Form};
use common::flow::{PW, Rp, alice_signs_in};
use common::mfa::{code, key_from_page};
use common::pages::page;
use common::smtp::SmtpServer;
use common::{Backend, TestEnv, TestServer};
use reqwest::Response;

const ROOT: &str = "root@example.com";
const ROOT_PW: &str = "console keeper 4471";
const WAIT: Duration = Duration::from_secs(10);

async fn setup(backend: Backend) -> (TestServer, SmtpServer, Rp) {
    let (env, smtp) = TestEnv::with_mail(backend).await;
    let srv = TestServer::start_with(env).await;
    srv.tenant("acme", &["--name", "Acme", "--mfa", "optional"])
        .await;
    srv.cli_json(&["tenant", "update", "acme", "--enrollment-proof", "none"])
        .await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    srv.env
        .cli_json_stdin(
            &[
                "user",
                "create",
                "acme",
                "alice@example.com",
                "--password-stdin",
                "--username",
                "alice",
                "--email-verified",
            ],
            &format!("{PW}\n"),
        )
        .await;
    (srv, smtp, rp)
}

async fn make_admin(srv: &TestServer, email: &str, tenant: Option<&str>) -> serde_json::Value {
    let mut args = vec!["admin", "create", email, "--password-stdin"];
    if let Some(t) = tenant {
        args.extend(["--tenant", t]);
    }
    srv.env.cli_json_stdin(&args, &format!("{ROOT_PW}\n")).await
}

fn form_to(html: &str, url: &str, needle: &str) -> Form {
    browser::forms(html, url)
        .into_iter()
        .find(|f| f.action.contains(needle))
        .unwrap_or_else(|| panic!("a form posting to `{needle}` in {html}"))
}

/// A console page (following the IdP's redirects), asserting a 200.
async fn open(b: &Browser, srv: &TestServer, path: &str) -> (String, String) {
    let res = b.follow(&srv.base, b.get(&srv.url(path)).await).await;
    assert_eq!(res.status(), 200, "{}", res.url());
    page(res).await
}

/// The password form of the hosted login the console sent `b` to.
async fn password_step(b: &Browser, srv: &TestServer, path: &str, email: &str) -> Response {
    let res = b.follow(&srv.base, b.get(&srv.url(path)).await).await;
    let (url, html) = page(res).await;
    assert!(
        url.contains("/t/system/"),
        "the system tenant's login: {url}"
    );
    let mut f = browser::form(&html, &url);
    f.set("login", email).set("password", ROOT_PW);
    b.follow(&srv.base, b.submit(&f).await).await
}

/// A new admin's first sign-in: password, the mailbox proof, an authenticator app, the
/// recovery codes; lands on `path`. Returns the app's secret.
async fn first_sign_in(
    b: &Browser,
    srv: &TestServer,
    smtp: &SmtpServer,
    email: &str,
    path: &str,
) -> (Vec<u8>, String, String) {
    let res = password_step(b, srv, path, email).await;
    let (url, html) = page(res).await;
    assert!(url.contains("/enrol/verify-email"), "proof first: {url}");
    let mut f = browser::forms(&html, &url).remove(0);
    f.set("code", &smtp.wait_for(email, WAIT).await.code().unwrap());
    let res = b.follow(&srv.base, b.submit(&f).await).await;
    let (url, html) = page(res).await;
    assert!(html.contains("Set up two-factor authentication"), "{html}");
    assert!(!html.contains(">Skip<"), "the system tenant requires MFA");
    let secret = key_from_page(&html);
    let mut f = browser::form(&html, &url);
    f.set("code", &code(&secret, 0)).set("action", "enable");
    let res = b.follow(&srv.base, b.submit(&f).await).await;
    let (url, html) = page(res).await;
    assert!(html.contains("Note down your recovery codes"));
    let done = browser::forms(&html, &url).pop().unwrap();
    let res = b.follow(&srv.base, b.submit(&done).await).await;
    let (url, html) = page(res).await;
    (secret, url, html)
}

async fn sql(srv: &TestServer, statement: &'static str) {
    let db = &srv.state.db;
    gatehouse::with_db!(db, |pool| sqlx::query(statement)
        .execute(pool)
        .await
        .unwrap()
        .rows_affected());
}

async fn factor_count(srv: &TestServer) -> i64 {
    let users = srv.cli_json(&["user", "list", "acme"]).await;
    users["users"][0]["mfa"]["factors"]
        .as_array()
        .map_or(0, |a| a.len() as i64)
}

/// Alice's first sign-in to a Required tenant: she sets up an authenticator app.
async fn alice_enrols(srv: &TestServer, rp: &Rp) {
    let b = Browser::new();
    let res = alice_signs_in(&b, srv, rp, &[]).await;
    let (url, html) = page(res).await;
    assert!(html.contains("Set up two-factor authentication") && !html.contains(">Skip<"));
    let secret = key_from_page(&html);
    let mut f = browser::form(&html, &url);
    f.set("code", &code(&secret, 0)).set("action", "enable");
    let res = b.follow(&srv.base, b.submit(&f).await).await;
    let (url, html) = page(res).await;
    let done = browser::forms(&html, &url).pop().unwrap();
    let res = b.follow(&srv.base, b.submit(&done).await).await;
    assert!(common::flow::app_redirect(&res, rp).contains_key("code"));
}

/// The walk the issue names, as a new admin.
async fn an_admin_requires_mfa_and_resets_a_user(backend: Backend) {
    let (srv, smtp, rp) = setup(backend).await;
    let made = make_admin(&srv, ROOT, None).await;
    assert_eq!(made["email"], ROOT);
    assert!(made["tenant"].is_null());
    assert!(made["console_url"].as_str().unwrap().ends_with("/admin"));

    // Sign in (enrolling a factor) and land on the tenants list.
    let b = Browser::new();
    let (_secret, url, html) = first_sign_in(&b, &srv, &smtp, ROOT, "/admin").await;
    assert!(url.ends_with("/admin"), "{url}");
    assert!(html.contains("<h1>Tenants</h1>") && html.contains("/admin/t/acme"));
    let signed_in = srv
        .cli_json(&["audit", "list", "system", "--limit", "50"])
        .await;
    assert!(signed_in.to_string().contains("console.signed_in"));

    // Set Acme to Required.
    let (url, html) = open(&b, &srv, "/admin/t/acme").await;
    assert!(
        html.contains("Turning this off keeps users&#x27;")
            || html.contains("Turning this off keeps users'")
    );
    let mut f = form_to(&html, &url, "/admin/t/acme");
    f.set("mfa_policy", "required");
    let res = b.submit(&f).await;
    assert_eq!(res.status(), 303);
    let (_, html) = page(b.follow(&srv.base, res).await).await;
    assert!(html.contains("Settings saved."));
    let t = srv.cli_json(&["tenant", "get", "acme"]).await;
    assert_eq!(t["mfa_policy"], "required");

    // Alice must now set up a factor.
    alice_enrols(&srv, &rp).await;
    assert_eq!(factor_count(&srv).await, 1);

    // Find her by the full and exact username; the MFA column shows her app.
    let (_, html) = open(&b, &srv, "/admin/t/acme/users?q=alice").await;
    assert!(html.contains("Exact match"), "{html}");
    assert!(html.contains("On: Authenticator app"));
    let href = common::pages::link(&html, "alice@example.com");
    let (user_url, html) = open(&b, &srv, &href).await;
    assert!(html.contains("Reset MFA") && html.contains("Authenticator app"));
    // The timeline says why MFA was asked at her sign-in.
    assert!(html.contains("Had to set up a factor at "), "{html}");

    // Reset MFA: a confirmation naming the consequences, then done.
    let (url, html) = open(&b, &srv, &format!("{href}/mfa-reset")).await;
    assert!(html.contains("Reset MFA for alice@example.com?"));
    assert!(html.contains("they set up a new factor at their next sign-in"));
    let res = b.submit(&form_to(&html, &url, "/mfa-reset")).await;
    assert_eq!(res.status(), 303);
    let (_, html) = page(b.follow(&srv.base, res).await).await;
    assert!(html.contains("MFA was reset."), "{html}");
    assert!(html.contains("No factor set up."));
    assert_eq!(factor_count(&srv).await, 0);
    let reset = smtp.wait_for("alice@example.com", WAIT).await;
    assert!(reset.header("Subject").unwrap_or_default().len() > 3);
    let events = srv.cli_json(&["audit", "list", "acme"]).await.to_string();
    assert!(events.contains("mfa.reset") && events.contains("console:"));

    // She enrols again at the next sign-in.
    alice_enrols(&srv, &rp).await;
    assert_eq!(factor_count(&srv).await, 1);

    // Optional again: her factor stays.
    let (url, html) = open(&b, &srv, "/admin/t/acme").await;
    let mut f = form_to(&html, &url, "/admin/t/acme");
    f.set("mfa_policy", "optional");
    assert_eq!(b.submit(&f).await.status(), 303);
    assert_eq!(
        srv.cli_json(&["tenant", "get", "acme"]).await["mfa_policy"],
        "optional"
    );
    assert_eq!(factor_count(&srv).await, 1);
    let (_, html) = open(&b, &srv, &user_url.replace(&srv.base, "")).await;
    assert!(html.contains("Authenticator app"));

    // The adoption report draws its charts on the server.
    let (_, html) = open(&b, &srv, "/admin/t/acme/report").await;
    assert!(html.contains("<svg class=\"chart\"") && html.contains("1</strong> of <strong>1"));
    // The audit log filters by user.
    let (_, html) = open(&b, &srv, "/admin/t/acme/audit?user=alice&event=mfa.reset").await;
    assert!(
        html.contains("<code>mfa.reset</code>") && !html.contains("<code>mfa.factor_added</code>")
    );
}
both_backends!(
    an_admin_requires_mfa_and_resets_a_user,
    super::an_admin_requires_mfa_and_resets_a_user
);

/// A destructive action after `console.step_up_secs` asks for the second factor again (a new
/// sign-in through the same hosted login) and comes back to its confirmation page; an idle
/// session ends; signing out ends the console and the SSO session; a forged form is refused.
async fn step_up_idle_timeout_sign_out_and_csrf(backend: Backend) {
    let (srv, smtp, _rp) = setup(backend).await;
    make_admin(&srv, ROOT, None).await;
    let b = Browser::new();
    let (secret, _, _) = first_sign_in(&b, &srv, &smtp, ROOT, "/admin").await;
    let alice = srv.cli_json(&["user", "list", "acme"]).await["users"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let confirm = format!("/admin/t/acme/users/{alice}/mfa-reset");

    // The second factor was proven long ago.
    sql(&srv, "UPDATE console_sessions SET mfa_at = mfa_at - 3600").await;
    let res = b.get(&srv.url(&confirm)).await;
    assert_eq!(res.status(), 303);
    let to = browser::location(&res);
    assert!(
        to.starts_with("/admin/signin?") && to.contains("fresh=1"),
        "{to}"
    );
    let res = b.get(&srv.url(&to)).await;
    assert!(browser::location(&res).contains("prompt=login"));
    // The form posted anyway is refused the same way.
    sql(&srv, "UPDATE console_sessions SET mfa_at = mfa_at - 3600").await;
    let (url, html) = open(&b, &srv, &format!("/admin/t/acme/users/{alice}")).await;
    let lock = form_to(&html, &url, "/lock");
    let mut post = lock.clone();
    post.action = srv.url(&confirm);
    let res = b.submit(&post).await;
    assert_eq!(res.status(), 303);
    assert!(browser::location(&res).contains("fresh=1"));

    // The step-up: password, then the authenticator app (no trusted device counts), back to
    // the confirmation page.
    let res = password_step(&b, &srv, &to, ROOT).await;
    let (url, html) = page(res).await;
    assert!(url.contains("/t/system/mfa"), "{url}");
    let mut f = browser::form(&html, &url);
    f.set("code", &code(&secret, 1));
    let res = b.follow(&srv.base, b.submit(&f).await).await;
    let (url, html) = page(res).await;
    assert!(url.ends_with(&confirm), "{url}");
    assert!(html.contains("Reset MFA for alice@example.com?"));

    // A form without this browser's token.
    let mut forged = form_to(&html, &url, "/mfa-reset");
    forged.set("csrf", "forged");
    assert_eq!(b.submit(&forged).await.status(), 403);

    // Idle for longer than the timeout: signed out of the console.
    sql(
        &srv,
        "UPDATE console_sessions SET last_seen_at = last_seen_at - 100000",
    )
    .await;
    let res = b.get(&srv.url("/admin")).await;
    assert_eq!(res.status(), 303);
    assert!(browser::location(&res).starts_with("/admin/signin"));

    // Sign in again (the SSO session still stands: only the factor is not asked again...
    // the console client wants one, and the session proved it) and sign out.
    let res = b.follow(&srv.base, b.get(&srv.url("/admin")).await).await;
    let (url, html) = page(res).await;
    assert!(url.ends_with("/admin"), "{url}");
    let signout = form_to(&html, &url, "/admin/signout");
    let res = b.follow(&srv.base, b.submit(&signout).await).await;
    let (_, html) = page(res).await;
    assert!(html.contains("You have signed out of the admin console"));
    let res = b.follow(&srv.base, b.get(&srv.url("/admin")).await).await;
    let (url, html) = page(res).await;
    assert!(
        url.contains("/t/system/") && html.contains("password"),
        "{url}"
    );
}
both_backends!(
    step_up_idle_timeout_sign_out_and_csrf,
    super::step_up_idle_timeout_sign_out_and_csrf
);

/// A tenant admin sees only their tenant (another is a 404, as in the API), rotates a client's
/// secret and deletes a user there; a system-tenant user who is no admin is refused after
/// signing in.
async fn a_tenant_admin_sees_one_tenant(backend: Backend) {
    let (srv, smtp, rp) = setup(backend).await;
    srv.tenant("globex", &["--name", "Globex"]).await;
    let made = make_admin(&srv, "ops@example.com", Some("acme")).await;
    assert_eq!(made["tenant"], "acme");
    let b = Browser::new();
    let (_, url, html) = first_sign_in(&b, &srv, &smtp, "ops@example.com", "/admin").await;
    assert!(url.ends_with("/admin/t/acme"), "{url}");
    assert!(html.contains("Multi-factor authentication"));
    for path in [
        "/admin/t/globex",
        "/admin/t/globex/users",
        "/admin/t/system/users",
    ] {
        let res = b.get(&srv.url(path)).await;
        assert_eq!(res.status(), 404, "{path}");
    }
    // An unknown user or client of their own tenant is a 404 too.
    assert_eq!(
        b.get(&srv.url("/admin/t/acme/users/nobody")).await.status(),
        404
    );
    assert_eq!(
        b.get(&srv.url("/admin/t/acme/clients/nobody"))
            .await
            .status(),
        404
    );

    // Rotate the client's secret: shown once, and it is the one now stored.
    let client = format!("/admin/t/acme/clients/{}", rp.client_id);
    let (url, html) = open(&b, &srv, &format!("{client}/secret")).await;
    assert!(html.contains("Rotate the secret of"));
    let res = b.submit(&form_to(&html, &url, "/secret")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    let secret = html
        .split(r#"<code class="key" id="secret">"#)
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap()
        .to_owned();
    let stored = gatehouse::store::clients::find(
        &srv.state.db,
        &gatehouse::store::tenants::get_by_slug(&srv.state.db, "acme")
            .await
            .unwrap()
            .id,
        &gatehouse::ids::ClientId::from(rp.client_id.clone()),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(gatehouse::crypto::random::verify_sha256(
        &secret,
        stored.secret_hash.as_deref().unwrap()
    ));
    assert_ne!(Some(secret), rp.secret);

    // Delete Alice after the confirmation.
    let alice = srv.cli_json(&["user", "list", "acme"]).await["users"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (url, html) = open(&b, &srv, &format!("/admin/t/acme/users/{alice}/delete")).await;
    assert!(html.contains("Delete alice@example.com?"));
    let res = b
        .follow(&srv.base, b.submit(&form_to(&html, &url, "/delete")).await)
        .await;
    assert!(page(res).await.1.contains("The user was deleted."));
    let left = srv.cli_json(&["user", "list", "acme"]).await;
    assert_eq!(left["users"].as_array().unwrap().len(), 0);

    // A user of the system tenant without a console role.
    srv.env
        .cli_json_stdin(
            &[
                "user",
                "create",
                "system",
                "guest@example.com",
                "--password-stdin",
                "--email-verified",
            ],
            &format!("{ROOT_PW}\n"),
        )
        .await;
    let g = Browser::new();
    let res = password_step(&g, &srv, "/admin", "guest@example.com").await;
    let (url, html) = page(res).await;
    assert!(url.contains("/enrol/verify-email"), "{url}");
    let mut f = browser::forms(&html, &url).remove(0);
    f.set(
        "code",
        &smtp
            .wait_for("guest@example.com", WAIT)
            .await
            .code()
            .unwrap(),
    );
    let res = g.follow(&srv.base, g.submit(&f).await).await;
    let (url, html) = page(res).await;
    let secret = key_from_page(&html);
    let mut f = browser::form(&html, &url);
    f.set("code", &code(&secret, 0)).set("action", "enable");
    let res = g.follow(&srv.base, g.submit(&f).await).await;
    let (url, html) = page(res).await;
    let done = browser::forms(&html, &url).pop().unwrap();
    let res = g.follow(&srv.base, g.submit(&done).await).await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("Not an administrator"));
    assert_eq!(g.get(&srv.url("/admin")).await.status(), 303);
}
both_backends!(
    a_tenant_admin_sees_one_tenant,
    super::a_tenant_admin_sees_one_tenant
);
