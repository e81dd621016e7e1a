//! The admin API on one user's access: their factors (list, remove one), their sessions (list,
//! end one, end all), the audit log with its filters and cursor, and `explain` — each checked
//! from outside: what the user's browsers can still do afterwards.

use crate::common;

use reqwest::Response;
use serde_json::{Value, json};

use common::api::{Api, key, problem};
use common::browser::{self, Browser};
use common::flow::{ALICE, PW, Rp, alice_signs_in, app_redirect, id_token_claims, refresh, tokens};
use common::mfa::{code, enrol_in_store};
use common::pages::{nth_form, page};
use common::{Backend, TestServer};

const ACME: &str = "/api/v1/tenants/acme";

async fn setup(backend: Backend) -> (TestServer, Rp, Vec<u8>) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &[]).await;
    srv.user("acme", ALICE, PW).await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    let seed = enrol_in_store(&srv).await;
    (srv, rp, seed)
}

/// Alice signs in from `b` with her password and the authenticator code of `step`.
async fn signs_in_with_mfa(
    b: &Browser,
    srv: &TestServer,
    rp: &Rp,
    step: i64,
    seed: &[u8],
) -> Response {
    let (url, html) = page(alice_signs_in(b, srv, rp, &[]).await).await;
    assert!(html.contains("authenticator app"), "{html}");
    let mut f = nth_form(&html, &url, 0);
    f.set("code", &code(seed, step));
    b.follow(&srv.base, b.submit(&f).await).await
}

/// Whether `b` is signed in already: the authorization request goes straight back to the app.
async fn single_sign_on(b: &Browser, srv: &TestServer, rp: &Rp) -> bool {
    let res = b.get(&srv.authorize_url(rp, &[])).await;
    browser::location(&res).starts_with(&rp.redirect_uri)
}

fn items(v: &Value) -> &Vec<Value> {
    v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items in {v}"))
}

async fn alice_id(api: &Api<'_>, key: &str) -> String {
    let (_, v) = api.get(&format!("{ACME}/users?email={ALICE}"), key).await;
    items(&v)[0]["id"].as_str().unwrap().to_owned()
}

async fn factors_and_sessions(backend: Backend) {
    let (srv, rp, seed) = setup(backend).await;
    let api = Api { srv: &srv };
    let admin = key(&srv, &["--role", "tenant-admin", "--tenant", "acme"]).await;
    let reader = key(&srv, &["--role", "read-only", "--tenant", "acme"]).await;
    let alice = alice_id(&api, &reader).await;
    let user = format!("{ACME}/users/{alice}");

    let (b1, b2) = (Browser::new(), Browser::new());
    let res = signs_in_with_mfa(&b1, &srv, &rp, -1, &seed).await;
    let token = tokens(&srv, &rp, &res).await;
    let sid1 = id_token_claims(&srv, &rp, &token).await["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    app_redirect(&signs_in_with_mfa(&b2, &srv, &rp, 0, &seed).await, &rp);

    // Two live sessions, each with the authenticator code in its amr.
    let (s, v) = api.get(&format!("{user}/sessions"), &reader).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(items(&v).len(), 2, "{v}");
    assert!(
        items(&v)
            .iter()
            .all(|s| s["amr"] == json!(["pwd", "otp", "mfa"])),
        "{v}"
    );
    assert!(items(&v).iter().any(|s| s["id"] == sid1.as_str()));

    // The read-only key may look, not end.
    let (s, v) = api
        .delete(&format!("{user}/sessions/{sid1}"), &reader)
        .await;
    assert_eq!(s, 403);
    problem(&v, "forbidden");
    // Ending b1's session ends the grant its code opened; b2 stays signed in.
    let (s, v) = api.delete(&format!("{user}/sessions/{sid1}"), &admin).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v, json!({"sessions_ended": 1, "grants_revoked": 1}));
    assert!(!single_sign_on(&b1, &srv, &rp).await, "b1 signs in again");
    assert!(single_sign_on(&b2, &srv, &rp).await, "b2 is untouched");
    let (s, v) = refresh(&srv, &rp, &token).await;
    assert_eq!(
        (s, v["error"].clone()),
        (400, json!("invalid_grant")),
        "the ended session's refresh token is dead"
    );
    let (s, v) = api.delete(&format!("{user}/sessions/{sid1}"), &admin).await;
    assert_eq!(s, 404, "already ended");
    problem(&v, "not-found");

    // Factors: listed; removing the only one takes every session's second-factor proof.
    let (s, v) = api.get(&format!("{user}/factors"), &reader).await;
    assert_eq!(s, 200);
    assert_eq!(items(&v).len(), 1);
    assert_eq!(items(&v)[0]["kind"], "totp");
    let factor = format!("{user}/factors/{}", items(&v)[0]["id"].as_str().unwrap());
    assert_eq!(api.delete(&factor, &reader).await.0, 403);
    let (s, v) = api.delete(&factor, &admin).await;
    assert_eq!((s, v), (204, Value::Null));
    let (_, v) = api.get(&format!("{user}/factors"), &reader).await;
    assert!(items(&v).is_empty());
    assert_eq!(api.delete(&factor, &admin).await.0, 404);
    let (_, v) = api.get(&format!("{user}/sessions"), &reader).await;
    assert_eq!(items(&v)[0]["amr"], json!(["pwd"]), "{v}");
    let (_, v) = api
        .get(
            &format!("{ACME}/audit-events?event=mfa.factor_removed"),
            &reader,
        )
        .await;
    assert_eq!(items(&v).len(), 1, "{v}");
    assert!(
        items(&v)[0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("api-key:")
    );

    // Under a required policy the last factor stays: 409, reset the user's MFA instead.
    enrol_in_store(&srv).await;
    srv.cli_json(&["tenant", "update", "acme", "--mfa", "required"])
        .await;
    let (_, v) = api.get(&format!("{user}/factors"), &reader).await;
    let last = format!("{user}/factors/{}", items(&v)[0]["id"].as_str().unwrap());
    let (s, v) = api.delete(&last, &admin).await;
    assert_eq!(s, 409);
    problem(&v, "conflict");

    // Ending them all: b2 must sign in again too.
    let (s, v) = api.delete(&format!("{user}/sessions"), &admin).await;
    assert_eq!((s, v["sessions_ended"].clone()), (200, json!(1)), "{v}");
    assert!(!single_sign_on(&b2, &srv, &rp).await);
    let (_, v) = api.get(&format!("{user}/sessions"), &reader).await;
    assert!(items(&v).is_empty());
    let (_, v) = api
        .get(
            &format!("{ACME}/audit-events?event=session.revoked"),
            &reader,
        )
        .await;
    assert_eq!(items(&v).len(), 2, "one event per ending: {v}");

    // Another tenant's key sees none of it.
    srv.tenant("globex", &[]).await;
    let other = key(&srv, &["--role", "tenant-admin", "--tenant", "globex"]).await;
    assert_eq!(api.get(&format!("{user}/sessions"), &other).await.0, 404);
    assert_eq!(api.delete(&format!("{user}/sessions"), &other).await.0, 404);
}
both_backends!(factors_and_sessions, super::factors_and_sessions);

async fn audit_events_and_explain(backend: Backend) {
    let (srv, rp, seed) = setup(backend).await;
    let other_rp = srv.rp("acme", &["--first-party"]).await;
    let api = Api { srv: &srv };
    let reader = key(&srv, &["--role", "read-only", "--tenant", "acme"]).await;
    let alice = alice_id(&api, &reader).await;
    let b = Browser::new();
    app_redirect(&signs_in_with_mfa(&b, &srv, &rp, 0, &seed).await, &rp);
    let b2 = Browser::new();
    app_redirect(
        &signs_in_with_mfa(&b2, &srv, &other_rp, 1, &seed).await,
        &other_rp,
    );

    let events = format!("{ACME}/audit-events");
    let (s, all) = api.get(&format!("{events}?limit=500"), &reader).await;
    assert_eq!(s, 200, "{all}");
    assert!(all["next_cursor"].is_null());
    let all_ids: Vec<&Value> = items(&all).iter().map(|e| &e["id"]).collect();
    assert!(all_ids.len() >= 5, "{all}");
    let times: Vec<i64> = items(&all)
        .iter()
        .map(|e| e["created_at"].as_i64().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );

    // Filters.
    let (_, v) = api
        .get(&format!("{events}?client_id={}", rp.client_id), &reader)
        .await;
    assert!(!items(&v).is_empty());
    assert!(
        items(&v)
            .iter()
            .all(|e| e["detail"]["client_id"] == rp.client_id.as_str()),
        "{v}"
    );
    let (_, v) = api
        .get(&format!("{events}?event=login.mfa_decision"), &reader)
        .await;
    assert_eq!(items(&v).len(), 2, "{v}");
    assert!(items(&v).iter().all(|e| e["user_id"] == alice.as_str()));
    let (_, v) = api
        .get(
            &format!(
                "{events}?user_id={alice}&event=login.mfa_decision&client_id={}",
                other_rp.client_id
            ),
            &reader,
        )
        .await;
    assert_eq!(items(&v).len(), 1, "{v}");
    let (_, v) = api
        .get(&format!("{events}?since={}", times[0] + 1), &reader)
        .await;
    assert!(items(&v).is_empty(), "nothing after the newest: {v}");
    let (_, v) = api
        .get(
            &format!("{events}?until={}", times[times.len() - 1]),
            &reader,
        )
        .await;
    assert!(items(&v).is_empty(), "nothing before the oldest: {v}");

    // Walking the pages two at a time gives every event once, in the same order.
    let mut walked = Vec::new();
    let mut cursor = String::new();
    loop {
        let q = if cursor.is_empty() {
            String::new()
        } else {
            format!("&cursor={cursor}")
        };
        let (s, v) = api.get(&format!("{events}?limit=2{q}"), &reader).await;
        assert_eq!(s, 200, "{v}");
        walked.extend(items(&v).iter().map(|e| e["id"].clone()));
        match v["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(walked.iter().collect::<Vec<_>>(), all_ids);

    for (query, field) in [
        ("limit=0", "limit"),
        ("cursor=bm9wZQ", "cursor"),
        ("since=yesterday", "since"),
        ("colour=red", "colour"),
    ] {
        let (s, v) = api.get(&format!("{events}?{query}"), &reader).await;
        assert_eq!(s, 400, "{query}: {v}");
        problem(&v, "invalid");
        assert!(v["detail"].as_str().unwrap().contains(field), "{v}");
    }

    // Explain: what the CLI says, for the same imagined sign-ins.
    let explain = format!("{ACME}/explain");
    let body = json!({ "client_id": rp.client_id, "login": ALICE }).to_string();
    let (s, v) = api.post_json(&explain, &reader, &body).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["decision"]["outcome"], "challenge", "{v}");
    let cli = srv
        .cli_json(&["explain", "acme", &rp.client_id, ALICE])
        .await;
    assert_eq!(v, cli);
    let body = json!({ "client_id": rp.client_id, "login": ALICE, "session_mfa_age": 30 });
    let (_, v) = api.post_json(&explain, &reader, &body.to_string()).await;
    assert_eq!(v["decision"]["outcome"], "pass", "{v}");
    let cli = srv
        .cli_json(&[
            "explain",
            "acme",
            &rp.client_id,
            ALICE,
            "--session-mfa-age",
            "30",
        ])
        .await;
    assert_eq!(v, cli);
    for (body, says) in [
        (
            json!({ "client_id": rp.client_id, "login": ALICE, "acr": "mfa" }).to_string(),
            "acr",
        ),
        (json!({ "login": ALICE }).to_string(), "client_id"),
        ("{\"client_id\": ".to_owned(), "JSON"),
        (
            json!({ "client_id": rp.client_id, "login": "nobody@example.com" }).to_string(),
            "unknown user",
        ),
    ] {
        let (s, v) = api.post_json(&explain, &reader, &body).await;
        assert_eq!(s, 400, "{body}: {v}");
        problem(&v, "invalid");
        assert!(v["detail"].as_str().unwrap().contains(says), "{says}: {v}");
    }
}
both_backends!(audit_events_and_explain, super::audit_events_and_explain);

/// A user created, changed, locked (every session and refresh token ends, the password stops
/// working), unlocked and deleted through the API.
async fn users_created_locked_and_deleted(backend: Backend) {
    let (srv, rp, _) = setup(backend).await;
    let api = Api { srv: &srv };
    let admin = key(&srv, &["--role", "tenant-admin", "--tenant", "acme"]).await;
    let reader = key(&srv, &["--role", "read-only", "--tenant", "acme"]).await;
    let users = format!("{ACME}/users");
    const BOB: &str = "bob@example.com";

    let body = json!({ "email": BOB, "password": PW, "username": "bobby", "name": "Bob" });
    let (s, _) = api.post_json(&users, &reader, &body.to_string()).await;
    assert_eq!(s, 403);
    let (s, created, h) = api
        .send(
            reqwest::Method::POST,
            &users,
            Some(&admin),
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let user = format!("{users}/{id}");
    assert_eq!(h["location"], user.as_str());
    assert_eq!(created["mfa"]["enrolled"], false);
    let (s, v) = api.post_json(&users, &admin, &body.to_string()).await;
    assert_eq!(s, 409, "the same email again: {v}");
    problem(&v, "conflict");
    for (body, says) in [
        (json!({ "email": "carol@example.com" }), "password"),
        (json!({ "email": "not-an-email", "password": PW }), "email"),
        (
            json!({ "email": "dan@example.com", "password": PW, "role": "admin" }),
            "role",
        ),
    ] {
        let (s, v) = api.post_json(&users, &admin, &body.to_string()).await;
        assert_eq!(s, 400, "{body}: {v}");
        assert!(v["detail"].as_str().unwrap().contains(says), "{says}: {v}");
    }

    // Bob signs in with the password he was given.
    let b = Browser::new();
    let url = srv.authorize_url(&rp, &[]);
    let res = common::flow::sign_in(&b, &srv, &url, BOB, PW).await;
    let token = tokens(&srv, &rp, &res).await;

    let patch = |body: Value| {
        let (api, admin, user) = (&api, &admin, &user);
        async move { api.patch_json(user, admin, &body).await }
    };
    let (s, v) = patch(json!({ "name": "Robert", "phone": "201 555 0100" })).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["name"].clone(), v["phone"].clone()),
        (json!("Robert"), json!("+12015550100"))
    );
    assert_eq!(v["phone_verified"], false);
    let (s, v) = patch(json!({ "phone": "12" })).await;
    assert_eq!(s, 400, "{v}");

    // Locked: signed out everywhere, the refresh token dead, the password refused.
    let (s, v) = patch(json!({ "locked": true })).await;
    assert_eq!((s, v["locked"].clone()), (200, json!(true)), "{v}");
    assert!(!single_sign_on(&b, &srv, &rp).await);
    let (s, _) = refresh(&srv, &rp, &token).await;
    assert_eq!(s, 400);
    // The right password learns that the account is locked (a wrong one learns nothing).
    let res = common::flow::sign_in(&Browser::new(), &srv, &url, BOB, PW).await;
    assert_eq!(res.status(), 403, "a locked user signs in");
    assert!(res.text().await.unwrap().contains("Your account is locked"));
    let res = common::flow::sign_in(&Browser::new(), &srv, &url, BOB, "not the password").await;
    assert_eq!(res.status(), 401);
    let (s, v) = patch(json!({ "locked": false })).await;
    assert_eq!((s, v["locked"].clone()), (200, json!(false)));
    app_redirect(
        &common::flow::sign_in(&Browser::new(), &srv, &url, BOB, PW).await,
        &rp,
    );

    // Deleted: gone, and so is every way in.
    assert_eq!(api.delete(&user, &reader).await.0, 403);
    let (s, v) = api.delete(&user, &admin).await;
    assert_eq!((s, v), (204, Value::Null));
    assert_eq!(api.get(&user, &reader).await.0, 404);
    assert_eq!(api.delete(&user, &admin).await.0, 404);
    let res = common::flow::sign_in(&Browser::new(), &srv, &url, BOB, PW).await;
    assert_eq!(res.status(), 401, "a deleted user signs in");
    let (_, v) = api
        .get(&format!("{ACME}/audit-events?event=user.deleted"), &reader)
        .await;
    assert_eq!(items(&v).len(), 1, "{v}");
    assert_eq!(items(&v)[0]["detail"]["email"], BOB);
}
both_backends!(
    users_created_locked_and_deleted,
    super::users_created_locked_and_deleted
);

/// The adoption report counts what happened: one user of two enrolled, a sign-in through the
/// challenge, one locked out by a wrong code, one on the password alone; the CLI says the same.
async fn mfa_adoption_report(backend: Backend) {
    let (srv, rp, seed) = setup(backend).await;
    srv.user("acme", "bob@example.com", PW).await;
    srv.cli_json(&["tenant", "update", "acme", "--mfa-max-attempts", "1"])
        .await;
    let api = Api { srv: &srv };
    let reader = key(&srv, &["--role", "read-only", "--tenant", "acme"]).await;
    app_redirect(
        &signs_in_with_mfa(&Browser::new(), &srv, &rp, 0, &seed).await,
        &rp,
    );
    let b = Browser::new();
    let (url, html) = page(alice_signs_in(&b, &srv, &rp, &[]).await).await;
    let mut f = nth_form(&html, &url, 0);
    f.set(
        "code",
        if code(&seed, 1) == "000000" {
            "111111"
        } else {
            "000000"
        },
    );
    assert_eq!(b.submit(&f).await.status(), 429, "one wrong code ends it");
    let url = srv.authorize_url(&rp, &[]);
    app_redirect(
        &common::flow::sign_in(&Browser::new(), &srv, &url, "bob@example.com", PW).await,
        &rp,
    );

    let (s, mut v) = api.get(&format!("{ACME}/reports/mfa"), &reader).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["users"].clone(), v["enrolled"].clone()),
        (json!(2), json!(1)),
        "{v}"
    );
    assert_eq!(v["enrolled_percent"], 50.0);
    let totp = v["by_method"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["method"] == "totp");
    assert_eq!(totp.unwrap()["users"], 1, "{v}");
    for w in v["windows"].as_array().unwrap() {
        assert_eq!(w["challenged"], 2, "{w}");
        assert_eq!(w["challenges_passed"], 1, "{w}");
        assert_eq!(w["lockouts"], 1, "{w}");
        assert_eq!(w["passed_without_mfa"], 1, "{w}");
        assert_eq!(w["passed_with_mfa"], 0, "{w}");
    }
    let mut cli = srv.cli_json(&["tenant", "mfa-report", "acme"]).await;
    v["generated_at"] = Value::Null;
    cli["generated_at"] = Value::Null;
    assert_eq!(v, cli);
}
both_backends!(mfa_adoption_report, super::mfa_adoption_report);

/// A user's `ETag` is its version: on create, GET and PATCH (profile, lock, unlock); a stale
/// `If-Match` is 412 and changes nothing, and of two PATCHes holding the same one exactly one
/// is applied.
async fn user_etags(backend: Backend) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &[]).await;
    srv.user("acme", ALICE, PW).await;
    let api = Api { srv: &srv };
    let admin = key(&srv, &["--role", "tenant-admin", "--tenant", "acme"]).await;
    let alice = format!("{ACME}/users/{}", alice_id(&api, &admin).await);

    let (s, first, v) = api.get_versioned(&alice, &admin).await;
    assert_eq!(s, 200, "{v}");
    let first = first.expect("an ETag on GET");
    assert_eq!(first, format!("\"{}\"", v["version"]));

    // One PATCH is one change, whatever it holds.
    let (s, second, v) = api
        .patch_if_match(
            &alice,
            &admin,
            &json!({ "name": "Alice A", "password_change_required": true }),
            Some(&first),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let second = second.expect("an ETag on PATCH");
    let version = v["version"].as_i64().unwrap();
    assert_eq!(first, format!("\"{}\"", version - 1));
    assert_eq!(second, format!("\"{version}\""));
    assert_eq!(v["password_change_required"], true, "{v}");

    // Against the first copy: refused, nothing changes.
    let (s, _, v) = api
        .patch_if_match(&alice, &admin, &json!({ "locked": true }), Some(&first))
        .await;
    assert_eq!(s, 412, "{v}");
    problem(&v, "stale");
    let (_, etag, v) = api.get_versioned(&alice, &admin).await;
    assert_eq!(
        (etag.as_ref(), v["locked"].clone()),
        (Some(&second), json!(false))
    );

    // Lock and unlock, each against the version before it.
    let (s, third, v) = api
        .patch_if_match(&alice, &admin, &json!({ "locked": true }), Some(&second))
        .await;
    assert_eq!((s, v["locked"].clone()), (200, json!(true)), "{v}");
    let third = third.unwrap();
    let (s, _, _) = api
        .patch_if_match(&alice, &admin, &json!({ "locked": false }), Some(&second))
        .await;
    assert_eq!(s, 412);
    let (s, fourth, v) = api
        .patch_if_match(&alice, &admin, &json!({ "locked": false }), Some(&third))
        .await;
    assert_eq!((s, v["locked"].clone()), (200, json!(false)), "{v}");
    let fourth = fourth.unwrap();

    // Two changes fired at once holding the same version: exactly one is applied.
    let (body_a, body_b) = (json!({ "nickname": "a" }), json!({ "nickname": "b" }));
    let a = api.patch_if_match(&alice, &admin, &body_a, Some(&fourth));
    let b = api.patch_if_match(&alice, &admin, &body_b, Some(&fourth));
    let ((sa, _, va), (sb, _, vb)) = tokio::join!(a, b);
    let mut statuses = [sa, sb];
    statuses.sort();
    assert_eq!(statuses, [200, 412], "{va} {vb}");
    let (_, _, v) = api.get_versioned(&alice, &admin).await;
    assert_eq!(v["nickname"], if sa == 200 { "a" } else { "b" }, "{v}");
    // `*` is unconditional; a malformed ETag is a 400.
    let (s, _, _) = api
        .patch_if_match(&alice, &admin, &json!({ "nickname": "" }), Some("*"))
        .await;
    assert_eq!(s, 200);
    let (s, _, v) = api
        .patch_if_match(&alice, &admin, &json!({}), Some("W/\"1\""))
        .await;
    assert_eq!(s, 400, "{v}");
    problem(&v, "invalid");

    // A new user starts at version 1, and says so.
    let (s, created, h) = api
        .send(
            reqwest::Method::POST,
            &format!("{ACME}/users"),
            Some(&admin),
            Some(&json!({ "email": "carol@example.com", "password": PW }).to_string()),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(common::api::etag_of(&h).as_deref(), Some("\"1\""));
    assert_eq!(created["version"], 1);
}
both_backends!(user_etags, super::user_etags);
