//! The user's profile (issue 13), from outside: set by `gatehouse user update`, released by the
//! `profile` and `address` scopes to the `openidconnect` relying party (ID token and userinfo);
//! edited on the hosted Profile page; the password changed on the hosted page, which ends the
//! user's other sessions.

use crate::common;

use std::time::Duration;

use common::api::{Api, key, problem};
use common::browser::Browser;
use common::flow::{ALICE, PW, Rp, app_redirect, sign_in};
use common::pages::{form_with, open_account};
use common::rp::{user_info, walk};
use common::smtp::SmtpServer;
use common::{Backend, TestEnv, TestServer};
use serde_json::{Value, json};

async fn setup(backend: Backend) -> (TestServer, SmtpServer, Rp) {
    let (env, smtp) = TestEnv::with_mail(backend).await;
    let srv = TestServer::start_with(env).await;
    srv.tenant("acme", &["--name", "Acme"]).await;
    srv.user("acme", ALICE, PW).await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    (srv, smtp, rp)
}

/// Every profile flag of `user update`, with the address as JSON.
const FULL: &[&str] = &[
    "--name",
    "Alice Liddell",
    "--username",
    "alice",
    "--given-name",
    "Alice",
    "--family-name",
    "Liddell",
    "--middle-name",
    "Pleasance",
    "--nickname",
    "Al",
    "--profile-url",
    "https://example.com/alice",
    "--picture",
    "https://example.com/alice.png",
    "--website",
    "https://alice.example",
    "--gender",
    "female",
    "--birthdate",
    "1852-05-04",
    "--zoneinfo",
    "Europe/London",
    "--locale",
    "en_GB",
    "--address-json",
    r#"{"street_address":"Christ Church\nSt Aldates","locality":"Oxford","postal_code":"OX1 1DP","country":"GB"}"#,
    "--phone",
    "+12015550100",
    "--phone-verified",
    "true",
    "--email-verified",
    "true",
];

fn address() -> Value {
    json!({
        "street_address": "Christ Church\nSt Aldates",
        "locality": "Oxford",
        "postal_code": "OX1 1DP",
        "country": "GB",
    })
}

/// The user as `user list --json` shows it.
async fn alice(srv: &TestServer) -> Value {
    let users = srv.cli_json(&["user", "list", "acme"]).await;
    users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == ALICE)
        .cloned()
        .unwrap()
}

async fn audit_events(srv: &TestServer) -> Vec<String> {
    let audit = srv
        .cli_json(&["audit", "list", "acme", "--user", ALICE])
        .await;
    audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect()
}

/// Sets `updated_at` far back, so a change in the same second still shows as a move.
async fn age_updated_at(srv: &TestServer) {
    gatehouse::with_db!(&srv.state.db, |pool| {
        sqlx::query("UPDATE users SET updated_at = 1000")
            .execute(pool)
            .await
            .unwrap();
    });
}

async fn the_cli_profile_reaches_the_relying_party(backend: Backend) {
    let (srv, _smtp, rp) = setup(backend).await;
    let mut args = vec!["user", "update", "acme", ALICE];
    args.extend_from_slice(FULL);
    let u = srv.cli_json(&args).await;
    assert_eq!(u["given_name"], "Alice");
    assert_eq!(u["locale"], "en-GB", "normalised to a hyphen");
    assert_eq!(u["address"], address(), "shown as the object");
    assert!(u["updated_at"].is_i64());

    // A bad value changes nothing and exits non-zero with one line naming the field.
    for (flag, bad, field) in [
        ("--address-json", r#"{"postcode":"OX1"}"#, "address"),
        ("--address-json", "not json", "address"),
        ("--picture", "javascript:alert(1)", "picture"),
        ("--birthdate", "1852-13-04", "birthdate"),
    ] {
        let out = srv
            .env
            .cli(&["user", "update", "acme", ALICE, flag, bad, "--json"])
            .await;
        assert!(!out.status.success(), "{flag} {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(field), "{err}");
    }
    assert_eq!(alice(&srv).await["address"], address());

    let w = walk(&srv, &rp, &Browser::new(), &["profile", "address"]).await;
    // The RP library reads the standard claims it knows ...
    let given = w.claims.given_name().and_then(|n| n.get(None));
    assert_eq!(given.map(|n| n.as_str()), Some("Alice"));
    assert!(w.claims.updated_at().is_some());
    // ... and the JSON holds every one, with their §5.1 types.
    let keys = srv.keys("acme").await;
    let id = gatehouse::crypto::jwt::verify(&keys, &w.id_token).unwrap();
    let id = Value::Object(id.claims);
    let info = serde_json::to_value(user_info(&srv, &rp, &w.access_token).await).unwrap();
    for c in [&id, &info] {
        assert_eq!(c["address"], address());
        assert_eq!(c["updated_at"], u["updated_at"]);
        assert_eq!(c["preferred_username"], "alice");
        assert_eq!(c["family_name"], "Liddell");
        assert_eq!(c["middle_name"], "Pleasance");
        assert_eq!(c["nickname"], "Al");
        assert_eq!(c["profile"], "https://example.com/alice");
        assert_eq!(c["picture"], "https://example.com/alice.png");
        assert_eq!(c["website"], "https://alice.example");
        assert_eq!(c["gender"], "female");
        assert_eq!(c["birthdate"], "1852-05-04");
        assert_eq!(c["zoneinfo"], "Europe/London");
        assert_eq!(c["locale"], "en-GB");
        // Not asked for: the email and phone scopes' claims stay out.
        assert!(
            c.get("email").is_none() && c.get("phone_number").is_none(),
            "{c}"
        );
    }

    // An empty value removes a field; `{}` removes the address.
    srv.cli_json(&[
        "user",
        "update",
        "acme",
        ALICE,
        "--nickname",
        "",
        "--address-json",
        "{}",
    ])
    .await;
    let after = alice(&srv).await;
    assert!(
        after["nickname"].is_null() && after["address"].is_null(),
        "{after}"
    );
    assert_eq!(after["given_name"], "Alice");
}
both_backends!(
    the_cli_profile_reaches_the_relying_party,
    super::the_cli_profile_reaches_the_relying_party
);

async fn the_profile_page_edits_the_claims(backend: Backend) {
    let (srv, _smtp, _rp) = setup(backend).await;
    srv.env
        .cli_json_stdin(
            &[
                "user",
                "create",
                "acme",
                "bob@example.com",
                "--password-stdin",
                "--username",
                "bobby",
            ],
            "another long password\n",
        )
        .await;
    let b = Browser::new();
    let (_, overview) = open_account(&b, &srv, "").await;
    assert!(overview.contains("href=\"account/profile\""), "linked");
    let (url, html) = open_account(&b, &srv, "/profile").await;
    for ac in [
        "name",
        "given-name",
        "family-name",
        "username",
        "street-address",
        "address-level2",
        "postal-code",
        "country-name",
    ] {
        assert!(html.contains(&format!("autocomplete=\"{ac}\"")), "{ac}");
    }
    assert!(html.contains("<label for=\"given_name\">"));
    age_updated_at(&srv).await;

    // A refused value: shown next to its field, and everything typed is still there.
    let mut f = form_with(&html, &url, "given_name");
    f.set("given_name", "Alicia")
        .set("family_name", "Liddell")
        .set("locality", "Oxford")
        .set("country", "GB")
        .set("locale", "fr-CA")
        .set("picture", "javascript:alert(1)");
    let res = b.submit(&f).await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"picture-error\""), "{html}");
    // (minijinja escapes the slashes.)
    assert!(html.contains("an http:"), "{html}");
    assert!(html.contains("value=\"Alicia\"") && html.contains("value=\"javascript:alert(1)\""));
    assert_eq!(alice(&srv).await["updated_at"], 1000, "nothing saved");

    // A username someone else has is refused the same way.
    let mut taken = form_with(&html, &url, "given_name");
    taken.set("picture", "").set("username", "bobby");
    let res = b.submit(&taken).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("This username is taken"));

    // Corrected: saved, `updated_at` moves, the audit log says which fields changed.
    let mut f = form_with(&html, &url, "given_name");
    f.set("picture", "https://example.com/a.png");
    let res = b.submit(&f).await;
    assert_eq!(res.status(), 303);
    let res = b.follow(&srv.base, res).await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Your profile was saved.")
    );
    let u = alice(&srv).await;
    assert_eq!(u["given_name"], "Alicia");
    assert_eq!(u["locale"], "fr-CA");
    assert_eq!(
        u["address"],
        json!({ "locality": "Oxford", "country": "GB" })
    );
    assert!(u["updated_at"].as_i64().unwrap() > 1000);
    assert!(
        audit_events(&srv)
            .await
            .contains(&"user.profile_updated".into())
    );

    // Saving it unchanged is no change.
    age_updated_at(&srv).await;
    let (url, html) = open_account(&b, &srv, "/profile").await;
    assert!(html.contains("value=\"Alicia\""));
    let res = b.submit(&form_with(&html, &url, "given_name")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(alice(&srv).await["updated_at"], 1000);

    // A forged form changes nothing.
    let mut forged = form_with(&html, &url, "given_name");
    forged.set("csrf", "forged").set("given_name", "Mallory");
    assert_eq!(b.submit(&forged).await.status(), 403);
    assert_eq!(alice(&srv).await["given_name"], "Alicia");
}
both_backends!(
    the_profile_page_edits_the_claims,
    super::the_profile_page_edits_the_claims
);

async fn the_admin_api_patches_the_same_fields(backend: Backend) {
    let (srv, _smtp, _rp) = setup(backend).await;
    let api = Api { srv: &srv };
    let admin = key(&srv, &["--role", "admin"]).await;
    let id = alice(&srv).await["id"].as_str().unwrap().to_owned();
    let user = format!("/api/v1/tenants/acme/users/{id}");
    let body = json!({
        "given_name": "Alice",
        "birthdate": "0000-02-29",
        "address": { "locality": "Oxford", "country": "GB" },
        "email_verified": false,
    });
    let (s, v) = api.patch_json(&user, &admin, &body).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["address"],
        json!({ "locality": "Oxford", "country": "GB" })
    );
    assert_eq!(
        (v["given_name"].clone(), v["email_verified"].clone()),
        (json!("Alice"), json!(false))
    );
    // Every refused field in one problem; nothing written.
    let bad = json!({ "picture": "nope", "locale": "!", "address": { "country": 1 } });
    let (s, v) = api.patch_json(&user, &admin, &bad).await;
    assert_eq!(s, 400, "{v}");
    problem(&v, "invalid");
    let (s, v) = api
        .patch_json(&user, &admin, &json!({ "picture": "nope", "locale": "!" }))
        .await;
    assert_eq!(s, 400);
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains("picture:") && detail.contains("locale:"),
        "{detail}"
    );
    let (s, v) = api
        .patch_json(&user, &admin, &json!({ "address": {} }))
        .await;
    assert_eq!(s, 200);
    assert!(v["address"].is_null() && v["given_name"] == "Alice", "{v}");
}
both_backends!(
    the_admin_api_patches_the_same_fields,
    super::the_admin_api_patches_the_same_fields
);

const NEW_PW: &str = "a new and longer passphrase";

async fn changing_the_password_ends_the_other_sessions(backend: Backend) {
    let (srv, smtp, rp) = setup(backend).await;
    let (b1, b2) = (Browser::new(), Browser::new());
    open_account(&b2, &srv, "").await;
    let (url, html) = open_account(&b1, &srv, "/password").await;
    assert!(html.contains("autocomplete=\"current-password\""));
    assert!(html.contains("autocomplete=\"new-password\""));

    let attempt = |current: &str, new: &str| {
        let mut f = form_with(&html, &url, "new_password");
        f.set("current_password", current).set("new_password", new);
        f
    };
    let res = b1.submit(&attempt("wrong password", NEW_PW)).await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("This is not your current password.")
    );
    let res = b1.submit(&attempt(PW, "short")).await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Use at least 8 characters.")
    );
    // The same policy as registration and reset: a breached password says why.
    let res = b1.submit(&attempt(PW, "password1")).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("leaked"));

    let res = b1.submit(&attempt(PW, NEW_PW)).await;
    assert_eq!(res.status(), 303);
    let res = b1.follow(&srv.base, res).await;
    assert!(res.url().path().ends_with("/account"), "{}", res.url());
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Your password was changed.")
    );

    // This browser stays in; the other one is sent to sign in again.
    let (_, html) = open_account(&b1, &srv, "").await;
    assert!(html.contains("Signed in as"));
    let other = format!("{}/account", srv.issuer("acme"));
    let res = b2.follow(&srv.base, b2.get(&other).await).await;
    assert!(res.url().path().ends_with("/login"), "{}", res.url());

    // The old password no longer signs in; the new one does.
    let url = srv.authorize_url(&rp, &[]);
    let res = sign_in(&Browser::new(), &srv, &url, ALICE, PW).await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Wrong email or password.")
    );
    let res = sign_in(&Browser::new(), &srv, &url, ALICE, NEW_PW).await;
    app_redirect(&res, &rp);

    let mail = smtp.wait_for(ALICE, Duration::from_secs(10)).await;
    assert_eq!(mail.subject, "Your password was changed");
    assert!(
        audit_events(&srv)
            .await
            .contains(&"user.password_changed".into())
    );
}
both_backends!(
    changing_the_password_ends_the_other_sessions,
    super::changing_the_password_ends_the_other_sessions
);
