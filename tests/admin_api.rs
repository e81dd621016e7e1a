//! The admin REST API (`/api/v1`) driven over HTTP with keys made by `gatehouse api-key
//! create`: scoping (a tenant key cannot see another tenant: 404), roles (read-only: 403 on
//! writes), problem details, user search and MFA status, Reset MFA, and the OpenAPI document
//! listing every route.

use crate::common;

use reqwest::Method;
use serde_json::{Value, json};

use common::api::{Api, key, problem};
use common::flow::PW;
use common::mfa::enrol_in_store;
use common::{Backend, TestServer};

async fn keys_roles_and_tenants(backend: Backend) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &[]).await;
    srv.tenant("globex", &[]).await;
    let api = Api { srv: &srv };
    let platform = key(&srv, &["--role", "admin"]).await;
    let acme_admin = key(&srv, &["--role", "tenant-admin", "--tenant", "acme"]).await;
    let acme_reader = key(&srv, &["--role", "read-only", "--tenant", "acme"]).await;

    let (s, v) = api.get("/api/v1/tenants", &platform).await;
    assert_eq!(s, 200);
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    let (_, v) = api.get("/api/v1/tenants", &acme_admin).await;
    let slugs: Vec<_> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].clone())
        .collect();
    assert_eq!(slugs, vec![json!("acme")]);
    let (s, v) = api.get("/api/v1/tenants/acme", &acme_reader).await;
    assert_eq!((s, v["mfa_policy"].clone()), (200, json!("optional")));
    // Another tenant does not exist for a tenant's key.
    let (s, v) = api.get("/api/v1/tenants/globex", &acme_admin).await;
    assert_eq!(s, 404);
    problem(&v, "not-found");

    // No key, a wrong key, a revoked key: 401 with the Bearer challenge.
    let (s, v, h) = api.call(Method::GET, "/api/v1/tenants", None).await;
    assert_eq!(s, 401);
    problem(&v, "unauthenticated");
    assert!(
        h["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    assert_eq!(h["content-type"], "application/problem+json");
    let (s, _) = api.get("/api/v1/tenants", "gh_not-a-key").await;
    assert_eq!(s, 401);
    let list = srv.cli_json(&["api-key", "list"]).await;
    let reader_id = list["api_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["role"] == "read-only")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    srv.cli_json(&["api-key", "revoke", &reader_id]).await;
    let (s, _) = api.get("/api/v1/tenants/acme", &acme_reader).await;
    assert_eq!(s, 401, "revoked");

    // A tenant-admin key needs its tenant.
    let out = srv
        .env
        .cli(&["api-key", "create", "--role", "tenant-admin"])
        .await;
    assert!(!out.status.success());
}
both_backends!(keys_roles_and_tenants, super::keys_roles_and_tenants);

async fn users_search_status_and_reset(backend: Backend) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &[]).await;
    srv.user("acme", "alice@example.com", PW).await;
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
            "correct horse battery\n",
        )
        .await;
    enrol_in_store(&srv).await; // alice enrols an authenticator app
    let api = Api { srv: &srv };
    let admin = key(&srv, &["--role", "tenant-admin", "--tenant", "acme"]).await;
    let reader = key(&srv, &["--role", "read-only", "--tenant", "acme"]).await;
    let users = "/api/v1/tenants/acme/users";

    let emails = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, v) = api.get(&format!("{users}?username=bobby"), &reader).await;
    assert_eq!(emails(&v), ["bob@example.com"], "exact username");
    let (_, v) = api.get(&format!("{users}?username=bob"), &reader).await;
    assert!(emails(&v).is_empty(), "exact means exact");
    let (_, v) = api
        .get(&format!("{users}?email=ALICE@example.com"), &reader)
        .await;
    assert_eq!(emails(&v), ["alice@example.com"]);
    let (_, v) = api.get(&format!("{users}?q=bo"), &reader).await;
    assert_eq!(emails(&v), ["bob@example.com"], "prefix of the username");
    let (_, v) = api.get(&format!("{users}?q=b_"), &reader).await;
    assert!(
        emails(&v).is_empty(),
        "`_` is a character, not a wildcard: {v}"
    );
    let (_, v) = api.get(&format!("{users}?locked=true"), &reader).await;
    assert!(emails(&v).is_empty());
    srv.cli_json(&[
        "user",
        "update",
        "acme",
        "bob@example.com",
        "--locked",
        "true",
    ])
    .await;
    let (_, v) = api.get(&format!("{users}?locked=true"), &reader).await;
    assert_eq!(emails(&v), ["bob@example.com"]);
    let (_, v) = api.get(&format!("{users}?locked=false&q=a"), &reader).await;
    assert_eq!(emails(&v), ["alice@example.com"]);
    let (_, v) = api.get(&format!("{users}?mfa=none"), &reader).await;
    assert_eq!(emails(&v), ["bob@example.com"]);
    let (_, v) = api.get(&format!("{users}?mfa=enrolled"), &reader).await;
    assert_eq!(emails(&v), ["alice@example.com"]);
    let alice = v["items"][0].clone();
    assert_eq!(alice["mfa"]["factors"][0]["kind"], "totp");
    assert_eq!(alice["mfa"]["enrolled"], true);

    // Pages.
    let (_, first) = api.get(&format!("{users}?limit=1"), &reader).await;
    assert_eq!(emails(&first), ["alice@example.com"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = api
        .get(&format!("{users}?limit=1&cursor={cursor}"), &reader)
        .await;
    assert_eq!(emails(&second), ["bob@example.com"]);
    assert!(second["next_cursor"].is_null());

    // Bad input names the field.
    for (query, field) in [
        ("mfa=maybe", "mfa"),
        ("locked=maybe", "locked"),
        ("limit=0", "limit"),
        ("color=red", "color"),
    ] {
        let (s, v) = api.get(&format!("{users}?{query}"), &reader).await;
        assert_eq!(s, 400, "{query}");
        problem(&v, "invalid");
        assert!(v["detail"].as_str().unwrap().contains(field), "{v}");
    }

    // Reset MFA: the read-only key may not; the tenant admin may.
    let id = alice["id"].as_str().unwrap();
    let reset = format!("{users}/{id}/mfa-reset");
    let (s, v, _) = api.call(Method::POST, &reset, Some(&reader)).await;
    assert_eq!(s, 403);
    problem(&v, "forbidden");
    let (s, v, _) = api.call(Method::POST, &reset, Some(&admin)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["factors_removed"], 1);
    let (_, v) = api.get(&format!("{users}/{id}"), &reader).await;
    assert_eq!(v["mfa"]["enrolled"], false);
    let audit = srv.cli_json(&["audit", "list", "acme"]).await;
    assert!(
        audit.to_string().contains("api-key:"),
        "the key is the audit actor"
    );
}
both_backends!(
    users_search_status_and_reset,
    super::users_search_status_and_reset
);

/// The OpenAPI document lists every admin route, with the Bearer scheme.
#[tokio::test]
async fn openapi_lists_every_route() {
    let srv = TestServer::start(Backend::Sqlite).await;
    let doc = Api { srv: &srv }.openapi().await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for route in gatehouse::api::ROUTES {
        assert!(
            paths.contains(route),
            "{route} is not in the document: {paths:?}"
        );
    }
    assert_eq!(paths.len(), gatehouse::api::ROUTES.len());
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["UserView"].is_object());
}

/// `PATCH /api/v1/tenants/{slug}` (help pages 001–003): *Required* and back to *Optional*
/// keeps every factor; `If-Match` with a stale `ETag` is 412 and changes nothing; bad input
/// names the field.
async fn tenant_settings_with_etags(backend: Backend) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &[]).await;
    srv.tenant("globex", &[]).await;
    srv.user("acme", "alice@example.com", PW).await;
    enrol_in_store(&srv).await;
    let api = Api { srv: &srv };
    let admin = key(&srv, &["--role", "tenant-admin", "--tenant", "acme"]).await;
    let reader = key(&srv, &["--role", "read-only", "--tenant", "acme"]).await;
    let acme = "/api/v1/tenants/acme";
    let patch = |body: Value, key: &str, etag: Option<&str>| {
        let mut req = srv.http().patch(srv.url(acme)).bearer_auth(key).json(&body);
        if let Some(e) = etag {
            req = req.header("if-match", e);
        }
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let etag = res
                .headers()
                .get("etag")
                .map(|e| e.to_str().unwrap().to_owned());
            (status, etag, res.json::<Value>().await.unwrap())
        }
    };

    let (s, _, h) = api.call(Method::GET, acme, Some(&reader)).await;
    assert_eq!(s, 200);
    let first = h["etag"].to_str().unwrap().to_owned();
    let (s, _, v) = patch(json!({"mfa_policy": "required"}), &reader, None).await;
    assert_eq!(s, 403);
    problem(&v, "forbidden");

    let (s, etag, v) = patch(json!({"mfa_policy": "required"}), &admin, Some(&first)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["mfa_policy"], "required");
    let second = etag.unwrap();
    assert_ne!(second, first);
    // A change made against the first copy is refused and changes nothing.
    let (s, _, v) = patch(
        json!({"mfa_policy": "disabled", "theme": "other"}),
        &admin,
        Some(&first),
    )
    .await;
    assert_eq!(s, 412, "{v}");
    problem(&v, "stale");
    let (_, v) = api.get(acme, &reader).await;
    assert_eq!(
        (v["mfa_policy"].clone(), v["theme"].clone()),
        (json!("required"), json!("default"))
    );

    // Optional again: Alice's authenticator app is still there (help page 003).
    let (s, _, v) = patch(json!({"mfa_policy": "optional"}), &admin, Some(&second)).await;
    assert_eq!(s, 200, "{v}");
    let (_, v) = api
        .get("/api/v1/tenants/acme/users?mfa=enrolled", &reader)
        .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "factors kept: {v}");
    let audit = srv.cli_json(&["audit", "list", "acme"]).await;
    assert!(audit.to_string().contains("tenant.updated"), "{audit}");

    for (body, field) in [
        (json!({"mfa_policy": "sometimes"}), "mfa_policy"),
        (json!({"mfa_methods": ["totp", "pigeon"]}), "mfa_methods"),
        (json!({"colour": "red"}), "colour"),
        (
            json!({"mfa_prompt_enrollment": "yes"}),
            "mfa_prompt_enrollment",
        ),
        (json!({"trusted_device_days": 999}), "trusted device days"),
    ] {
        let (s, _, v) = patch(body.clone(), &admin, None).await;
        assert_eq!(s, 400, "{body}: {v}");
        problem(&v, "invalid");
        assert!(
            v["detail"].as_str().unwrap().contains(field),
            "{field}: {v}"
        );
    }
    let (s, _, v) = patch(json!({}), &admin, Some("not-an-etag")).await;
    assert_eq!(s, 400, "{v}");
    // Another tenant: not found for acme's key.
    let res = srv
        .http()
        .patch(srv.url("/api/v1/tenants/globex"))
        .bearer_auth(&admin)
        .json(&json!({"mfa_policy": "required"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}
both_backends!(
    tenant_settings_with_etags,
    super::tenant_settings_with_etags
);

/// Each key has its own budget of requests per minute: 12 requests fired at the same instant
/// against a budget of 5 get exactly 5 answers and 7 refusals with `Retry-After`; another key
/// is untouched.
async fn each_key_has_its_own_request_budget(backend: Backend) {
    let mut env = common::TestEnv::new(backend).await;
    env.config.api.requests_per_minute_per_key = 5;
    let srv = TestServer::start_with(env).await;
    srv.tenant("acme", &[]).await;
    let busy = key(&srv, &["--role", "read-only", "--tenant", "acme"]).await;
    let other = key(&srv, &["--role", "read-only", "--tenant", "acme"]).await;
    let requests = (0..12)
        .map(|_| {
            srv.http()
                .get(srv.url("/api/v1/tenants/acme"))
                .bearer_auth(&busy)
        })
        .collect();
    let answers = common::burst::at_once(requests).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        7,
        "{statuses:?}"
    );
    let refused = answers.into_iter().find(|r| r.status() == 429).unwrap();
    let wait: i64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    problem(&refused.json().await.unwrap(), "rate-limited");
    let api = Api { srv: &srv };
    assert_eq!(api.get("/api/v1/tenants/acme", &other).await.0, 200);
}
both_backends!(
    each_key_has_its_own_request_budget,
    super::each_key_has_its_own_request_budget
);

/// Real answers of every operation that returns a body conform to the schema the OpenAPI
/// document gives for that status, and carry no field the document does not name.
#[tokio::test]
async fn real_answers_match_the_document() {
    let srv = TestServer::start(Backend::Sqlite).await;
    srv.tenant("acme", &[]).await;
    srv.user("acme", "alice@example.com", PW).await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    let b = common::browser::Browser::new();
    common::flow::app_redirect(&common::flow::alice_signs_in(&b, &srv, &rp, &[]).await, &rp);
    enrol_in_store(&srv).await;
    let api = Api { srv: &srv };
    let admin = key(&srv, &["--role", "admin"]).await;
    let doc = Api { srv: &srv }.openapi().await;
    let (_, users) = api
        .get("/api/v1/tenants/acme/users?email=alice@example.com", &admin)
        .await;
    let alice = users["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, sessions) = api
        .get(
            &format!("/api/v1/tenants/acme/users/{alice}/sessions"),
            &admin,
        )
        .await;
    let sid = sessions["items"][0]["id"].as_str().unwrap().to_owned();
    let client = rp.client_id.as_str();
    let t = "/api/v1/tenants/{slug}";
    let u = "/api/v1/tenants/{slug}/users/{user_id}";
    let calls: Vec<(Method, String, String, u16, Option<Value>)> = vec![
        (
            Method::GET,
            "/api/v1/tenants".into(),
            "/api/v1/tenants".into(),
            200,
            None,
        ),
        (
            Method::GET,
            "/api/v1/tenants/acme".into(),
            t.into(),
            200,
            None,
        ),
        (
            Method::PATCH,
            "/api/v1/tenants/acme".into(),
            t.into(),
            200,
            Some(json!({"name": "Acme"})),
        ),
        (
            Method::GET,
            "/api/v1/tenants/nowhere".into(),
            t.into(),
            404,
            None,
        ),
        (
            Method::GET,
            "/api/v1/tenants/acme/clients".into(),
            format!("{t}/clients"),
            200,
            None,
        ),
        (
            Method::POST,
            "/api/v1/tenants/acme/clients".into(),
            format!("{t}/clients"),
            201,
            Some(json!({"redirect_uris": ["http://127.0.0.1:9/cb"]})),
        ),
        (
            Method::GET,
            format!("/api/v1/tenants/acme/clients/{client}"),
            format!("{t}/clients/{{client_id}}"),
            200,
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/tenants/acme/clients/{client}"),
            format!("{t}/clients/{{client_id}}"),
            200,
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/v1/tenants/acme/clients/{client}/secret"),
            format!("{t}/clients/{{client_id}}/secret"),
            200,
            None,
        ),
        (
            Method::GET,
            "/api/v1/tenants/acme/users".into(),
            format!("{t}/users"),
            200,
            None,
        ),
        (
            Method::POST,
            "/api/v1/tenants/acme/users".into(),
            format!("{t}/users"),
            201,
            Some(json!({"email": "bob@example.com", "password": PW})),
        ),
        (
            Method::GET,
            format!("/api/v1/tenants/acme/users/{alice}"),
            u.into(),
            200,
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/tenants/acme/users/{alice}"),
            u.into(),
            200,
            // Profile fields and the structured address: their schemas are checked too.
            Some(json!({
                "name": "Alice",
                "given_name": "Alice",
                "locale": "en-GB",
                "address": {"locality": "Oxford", "country": "GB"},
            })),
        ),
        (
            Method::GET,
            format!("/api/v1/tenants/acme/users/{alice}/factors"),
            format!("{u}/factors"),
            200,
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/tenants/acme/users/{alice}/sessions"),
            format!("{u}/sessions"),
            200,
            None,
        ),
        (
            Method::GET,
            "/api/v1/tenants/acme/audit-events?limit=3".into(),
            format!("{t}/audit-events"),
            200,
            None,
        ),
        (
            Method::GET,
            "/api/v1/tenants/acme/audit-events?limit=0".into(),
            format!("{t}/audit-events"),
            400,
            None,
        ),
        (
            Method::POST,
            "/api/v1/tenants/acme/explain".into(),
            format!("{t}/explain"),
            200,
            Some(json!({"client_id": client, "login": "alice@example.com"})),
        ),
        (
            Method::GET,
            "/api/v1/tenants/acme/reports/mfa".into(),
            format!("{t}/reports/mfa"),
            200,
            None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/tenants/acme/users/{alice}/sessions/{sid}"),
            format!("{u}/sessions/{{session_id}}"),
            200,
            None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/tenants/acme/users/{alice}/sessions"),
            format!("{u}/sessions"),
            200,
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/tenants/acme/users/{alice}/mfa-reset"),
            format!("{u}/mfa-reset"),
            200,
            None,
        ),
    ];
    for (method, path, template, status, body) in calls {
        let body = body.map(|b| b.to_string());
        let (s, v, _) = api
            .send(method.clone(), &path, Some(&admin), body.as_deref())
            .await;
        assert_eq!(s, status, "{method} {path}: {v}");
        let op = &doc["paths"][&template][method.as_str().to_lowercase()];
        let content = &op["responses"][status.to_string()]["content"];
        let schema = content
            .as_object()
            .and_then(|c| c.values().next())
            .map(|c| &c["schema"])
            .unwrap_or_else(|| panic!("{method} {template} {status}: no schema in {op}"));
        let errors = common::schema::check(&doc, schema, &v);
        assert!(errors.is_empty(), "{method} {path}: {errors:?}\n{v}");
    }
    // The check itself catches drift: an undocumented field, a missing one, a wrong type.
    let user_view = json!({ "$ref": "#/components/schemas/UserView" });
    let (_, mut bob) = api
        .get("/api/v1/tenants/acme/users?email=bob@example.com", &admin)
        .await;
    let mut bob = bob["items"][0].take();
    assert!(common::schema::check(&doc, &user_view, &bob).is_empty());
    bob["password_hash"] = json!("x");
    assert_eq!(common::schema::check(&doc, &user_view, &bob).len(), 1);
    bob.as_object_mut().unwrap().remove("password_hash");
    bob.as_object_mut().unwrap().remove("email");
    bob["locked"] = json!("no");
    assert_eq!(common::schema::check(&doc, &user_view, &bob).len(), 2);
}
