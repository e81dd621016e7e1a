//! `gatehouse explain` agrees with the real login: for every row of the policy table (tenant
//! disabled / optional / required × client inherit / required × user with / without a factor ×
//! no `acr_values` / `acr_values=mfa`), the decision `explain --json` prints is the one a real
//! sign-in through the hosted pages meets (pass, challenge, enrol with or without Skip, or the
//! error sent to the client).
//!
//! Before, `explain` assembled the policy inputs by hand (`mfa_methods()?` where the login used
//! a fallback) and could disagree with the login; both now go through `mfa::inputs::decide`.

use crate::common;

use common::browser::{self, Browser};
use common::flow::{PW, REDIRECT, Rp, sign_in};
use common::{Backend, TestServer};

const WITH: &str = "with@example.com";
const WITHOUT: &str = "without@example.com";

/// Gives `email` an authenticator app directly in the store; returns its seed.
async fn give_factor(srv: &TestServer, tenant: &str, email: &str) -> Vec<u8> {
    use gatehouse::store::factors::{self, NewFactor};
    let db = &srv.state.db;
    let t = gatehouse::store::tenants::get_by_slug(db, tenant)
        .await
        .unwrap();
    let u = gatehouse::store::users::find_by_login(db, &t.id, email)
        .await
        .unwrap()
        .unwrap();
    let seed = gatehouse::mfa::totp::new_secret();
    let sealed = gatehouse::crypto::seal::seal(&srv.state.secret, "totp-seed", &seed).unwrap();
    factors::create(
        db,
        NewFactor {
            tenant_id: &t.id,
            user_id: &u.id,
            kind: gatehouse::model::MfaMethod::Totp,
            label: "Phone",
            secret_sealed: Some(&sealed),
            last_step: None,
            target: None,
            credential: None,
            now: gatehouse::model::now(),
        },
    )
    .await
    .unwrap();
    seed
}

/// The outcome of a real sign-in, in explain's words: `pass`, `challenge`, `enrol:skippable`,
/// `enrol:required` or `deny:<error>`.
async fn real_login(srv: &TestServer, rp: &Rp, email: &str, acr: &str) -> String {
    let b = Browser::new();
    let url = srv.authorize_url(rp, &[("acr_values", acr)]);
    let res = sign_in(&b, srv, &url, email, PW).await;
    if res.status().is_redirection() {
        let loc = browser::location(&res);
        assert!(loc.starts_with(REDIRECT), "back to the client: {loc}");
        let q = browser::query(&loc);
        return match q.get("error") {
            Some(e) => format!("deny:{e}"),
            None => {
                assert!(q.contains_key("code"), "{loc}");
                "pass".into()
            }
        };
    }
    assert_eq!(res.status(), 200, "a page at {}", res.url());
    let path = res.url().path().to_owned();
    let html = res.text().await.unwrap();
    if path.ends_with("/mfa") {
        "challenge".into()
    } else if path.ends_with("/enrol") || path.ends_with("/enrol/verify-email") {
        let skippable = html.contains(">Skip<");
        format!("enrol:{}", if skippable { "skippable" } else { "required" })
    } else {
        panic!("unexpected page {path}:\n{html}")
    }
}

/// `gatehouse explain --json`, in the same words.
async fn explained(srv: &TestServer, rp: &Rp, email: &str, acr: &str) -> String {
    outcome(&explain(srv, rp, email, &["--acr-values", acr]).await)
}

async fn explain(srv: &TestServer, rp: &Rp, email: &str, flags: &[&str]) -> serde_json::Value {
    let mut args = vec!["explain", &rp.tenant, &rp.client_id, email];
    args.extend_from_slice(flags);
    srv.cli_json(&args).await
}

fn outcome(v: &serde_json::Value) -> String {
    let d = &v["decision"];
    match d["outcome"].as_str().unwrap() {
        "enrol" => format!(
            "enrol:{}",
            if d["skippable"] == true {
                "skippable"
            } else {
                "required"
            }
        ),
        "deny" => format!("deny:{}", d["error"].as_str().unwrap()),
        other => other.to_owned(),
    }
}

async fn explain_equals_the_real_login(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let mut clients = Vec::new();
    for (slug, policy) in [
        ("off", "disabled"),
        ("opt", "optional"),
        ("req", "required"),
    ] {
        srv.tenant(slug, &["--mfa", policy]).await;
        srv.user(slug, WITH, PW).await;
        srv.user(slug, WITHOUT, PW).await;
        give_factor(&srv, slug, WITH).await;
        for client in ["inherit", "required"] {
            let rp = srv
                .rp(slug, &["--first-party", "--mfa-policy", client])
                .await;
            clients.push((policy, client, rp));
        }
    }
    // (tenant, client, user has a factor, acr_values) → what both must say. A voluntary
    // `acr_values=mfa` offers a user without a factor the set-up, with Skip.
    let expected =
        |tenant: &str, client: &str, factor: bool, acr: &str| match (tenant, client, factor, acr) {
            ("disabled", "required", _, _) => "deny:unmet_authentication_requirements",
            ("disabled", _, _, _) => "pass",
            (_, _, true, _) => "challenge",
            ("optional", "inherit", false, "") => "pass",
            ("optional", "inherit", false, _) => "enrol:skippable",
            _ => "enrol:required",
        };
    let mut rows = 0;
    for (tenant, client, rp) in &clients {
        for (email, factor) in [(WITH, true), (WITHOUT, false)] {
            for acr in ["", "mfa"] {
                let row = format!("tenant {tenant}, client {client}, factor {factor}, acr `{acr}`");
                let explain = explained(&srv, rp, email, acr).await;
                let login = real_login(&srv, rp, email, acr).await;
                assert_eq!(explain, login, "explain vs login: {row}");
                assert_eq!(login, expected(tenant, client, factor, acr), "{row}");
                rows += 1;
            }
        }
    }
    assert_eq!(rows, 24);

    // A tenant whose allowed-methods column cannot be read (Gatehouse never writes one). Before,
    // `explain` failed with "invalid MFA method" while the login fell back to the authenticator
    // app and challenged; both now read the column through one rule.
    let (_, _, rp) = &clients[2];
    gatehouse::with_db!(&srv.state.db, |pool| sqlx::query(
        "UPDATE tenants SET mfa_methods = '[\"carrier-pigeon\"]' WHERE slug = $1"
    )
    .bind("opt")
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    let explain = explained(&srv, rp, WITH, "").await;
    assert_eq!(explain, real_login(&srv, rp, WITH, "").await);
    assert_eq!(explain, "challenge");
}
both_backends!(
    explain_equals_the_real_login,
    super::explain_equals_the_real_login
);

/// A step-up: the session already verified a second factor. Before, `explain` had no session
/// input and said "challenge" where the login passed; `--session-mfa-age` imagines the session.
async fn explain_imagines_the_session(backend: Backend) {
    let srv = TestServer::start(backend).await;
    srv.tenant("opt", &[]).await;
    srv.user("opt", WITH, PW).await;
    let seed = give_factor(&srv, "opt", WITH).await;
    let app = srv.rp("opt", &["--first-party"]).await;
    let strict = srv
        .rp("opt", &["--first-party", "--mfa-policy", "required"])
        .await;

    // Signed in to `app` with the authenticator app...
    let b = Browser::new();
    let res = sign_in(&b, &srv, &srv.authorize_url(&app, &[]), WITH, PW).await;
    assert_eq!(res.status(), 200);
    let url = res.url().to_string();
    let html = res.text().await.unwrap();
    let mut form = browser::form(&html, &url);
    form.set("code", &common::mfa::code(&seed, 0));
    let res = b.follow(&srv.base, b.submit(&form).await).await;
    assert!(browser::location(&res).starts_with(REDIRECT));
    // ... the MFA-required client gets a code at once.
    let res = b
        .follow(&srv.base, b.get(&srv.authorize_url(&strict, &[])).await)
        .await;
    let q = browser::query(&browser::location(&res));
    assert!(
        q.contains_key("code"),
        "step-up passes on the session: {q:?}"
    );

    let with_session = explain(&srv, &strict, WITH, &["--session-mfa-age", "5"]).await;
    assert_eq!(outcome(&with_session), "pass");
    let reason = with_session["decision"]["reason"].as_str().unwrap();
    assert!(reason.starts_with("mfa_in_session"), "{reason}");
    // Without a session, and with a session too old for max_age, a challenge.
    assert_eq!(
        outcome(&explain(&srv, &strict, WITH, &[]).await),
        "challenge"
    );
    let stale = explain(
        &srv,
        &strict,
        WITH,
        &["--session-mfa-age", "600", "--max-age", "60"],
    )
    .await;
    assert_eq!(outcome(&stale), "challenge");
}
both_backends!(
    explain_imagines_the_session,
    super::explain_imagines_the_session
);
