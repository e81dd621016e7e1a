//! The admin API on clients: register one (201, `Location`, the secret once), use it, change
//! how it authenticates, rotate its secret (the old one stops working), delete it (its
//! refresh tokens die with it), and the checks `gatehouse client create` makes.

use crate::common;

use reqwest::Method;
use serde_json::{Value, json};

use common::api::{Api, key, problem};
use common::browser::Browser;
use common::flow::{ALICE, PW, REDIRECT, Rp, alice_signs_in, client_credentials, refresh, tokens};
use common::{Backend, TestServer};

const CLIENTS: &str = "/api/v1/tenants/acme/clients";

async fn clients_lifecycle(backend: Backend) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &[]).await;
    srv.user("acme", ALICE, PW).await;
    let api = Api { srv: &srv };
    let admin = key(&srv, &["--role", "tenant-admin", "--tenant", "acme"]).await;
    let reader = key(&srv, &["--role", "read-only", "--tenant", "acme"]).await;

    let body = json!({ "name": "Shop", "redirect_uris": [REDIRECT], "first_party": true });
    let (s, _, _) = api
        .send(
            Method::POST,
            CLIENTS,
            Some(&reader),
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(s, 403);
    let (s, created, h) = api
        .send(Method::POST, CLIENTS, Some(&admin), Some(&body.to_string()))
        .await;
    assert_eq!(s, 201, "{created}");
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(h["location"], format!("{CLIENTS}/{id}").as_str());
    assert_eq!(created["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(
        created["access_token_alg"], "RS256",
        "the default: {created}"
    );
    let (s, got) = api.get(h["location"].to_str().unwrap(), &reader).await;
    assert_eq!((s, got["name"].clone()), (200, json!("Shop")), "{got}");
    assert!(
        got.get("client_secret").is_none(),
        "never shown again: {got}"
    );
    let (_, all) = api.get(CLIENTS, &reader).await;
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["client_id"] == id.as_str())
    );
    assert_eq!(client_credentials(&srv, &id, &secret).await, 200);

    // A sign-in through it leaves a refresh token.
    let rp = Rp {
        tenant: "acme".into(),
        client_id: id.clone(),
        secret: Some(secret.clone()),
        redirect_uri: REDIRECT.into(),
    };
    let b = Browser::new();
    let signed_in = alice_signs_in(&b, &srv, &rp, &[]).await;
    let mut token = tokens(&srv, &rp, &signed_in).await;

    // Rotation: the old secret stops at once, the new one works, tokens stay.
    let (s, rotated, _) = api
        .send(
            Method::POST,
            &format!("{CLIENTS}/{id}/secret"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, 200, "{rotated}");
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert_eq!(client_credentials(&srv, &id, &secret).await, 401);
    assert_eq!(client_credentials(&srv, &id, &new_secret).await, 200);
    let rp = Rp {
        secret: Some(new_secret.clone()),
        ..rp
    };
    let (s, fresh) = refresh(&srv, &rp, &token).await;
    assert_eq!(s, 200, "{fresh}");
    token = fresh;

    // How it authenticates: client_secret_post now.
    let (s, v) = api
        .patch_json(
            &format!("{CLIENTS}/{id}"),
            &admin,
            &json!({ "token_endpoint_auth_method": "client_secret_post" }),
        )
        .await;
    assert_eq!(
        (s, v["token_endpoint_auth_method"].clone()),
        (200, json!("client_secret_post")),
        "{v}"
    );
    let post = srv
        .http()
        .post(format!("{}/token", srv.issuer("acme")))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &new_secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 200);

    // The access-token algorithm, alone in a PATCH: the authentication stays.
    let (s, v) = api
        .patch_json(
            &format!("{CLIENTS}/{id}"),
            &admin,
            &json!({ "access_token_alg": "EdDSA" }),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["access_token_alg"], "EdDSA", "{v}");
    assert_eq!(v["token_endpoint_auth_method"], "client_secret_post", "{v}");
    let (s, v) = api
        .patch_json(
            &format!("{CLIENTS}/{id}"),
            &admin,
            &json!({ "access_token_alg": "HS256" }),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("access_token_alg"),
        "{v}"
    );

    // Created with another access-token algorithm: shown, and used.
    let body = json!({ "redirect_uris": [REDIRECT], "access_token_alg": "ES256" }).to_string();
    let (s, es, _) = api
        .send(Method::POST, CLIENTS, Some(&admin), Some(&body))
        .await;
    assert_eq!(
        (s, es["access_token_alg"].clone()),
        (201, json!("ES256")),
        "{es}"
    );
    let es_id = es["client_id"].as_str().unwrap();
    let (_, got) = api.get(&format!("{CLIENTS}/{es_id}"), &reader).await;
    assert_eq!(got["access_token_alg"], "ES256", "{got}");
    let res = srv
        .http()
        .post(format!("{}/token", srv.issuer("acme")))
        .basic_auth(es_id, es["client_secret"].as_str())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let t: Value = res.json().await.unwrap();
    let header = josekit::jwt::decode_header(t["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.claim("alg"), Some(&json!("ES256")), "{t}");

    // Deletion: gone, and its refresh token with it.
    assert_eq!(api.delete(&format!("{CLIENTS}/{id}"), &reader).await.0, 403);
    let (s, v) = api.delete(&format!("{CLIENTS}/{id}"), &admin).await;
    assert_eq!((s, v), (204, Value::Null));
    let (s, v) = api.get(&format!("{CLIENTS}/{id}"), &reader).await;
    assert_eq!(s, 404);
    problem(&v, "not-found");
    assert_eq!(api.delete(&format!("{CLIENTS}/{id}"), &admin).await.0, 404);
    let res = srv
        .http()
        .post(format!("{}/token", srv.issuer("acme")))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", token["refresh_token"].as_str().unwrap()),
            ("client_id", &id),
            ("client_secret", &new_secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the client is gone");
    let audit = srv.cli_json(&["audit", "list", "acme"]).await.to_string();
    for event in [
        "client.created",
        "client.secret_rotated",
        "client.updated",
        "client.deleted",
    ] {
        assert!(audit.contains(event), "{event} in {audit}");
    }

    // A public client has no secret to rotate.
    let body = json!({ "redirect_uris": [REDIRECT], "public": true }).to_string();
    let (s, public, _) = api
        .send(Method::POST, CLIENTS, Some(&admin), Some(&body))
        .await;
    assert_eq!(
        (s, public["client_secret"].clone()),
        (201, Value::Null),
        "{public}"
    );
    let rotate = format!("{CLIENTS}/{}/secret", public["client_id"].as_str().unwrap());
    let (s, v, _) = api.send(Method::POST, &rotate, Some(&admin), None).await;
    assert_eq!(s, 400, "{v}");
    problem(&v, "invalid");

    // The same through the CLI: rotate a confidential client's secret, delete the public one.
    let cli = srv.rp("acme", &[]).await;
    let out = srv
        .cli_json(&["client", "rotate-secret", "acme", &cli.client_id])
        .await;
    let cli_secret = out["client_secret"].as_str().unwrap();
    assert_eq!(
        client_credentials(&srv, &cli.client_id, cli_secret).await,
        200
    );
    let gone = public["client_id"].as_str().unwrap();
    let out = srv.cli_json(&["client", "delete", "acme", gone]).await;
    assert_eq!(out["deleted"], true, "{out}");
    assert_eq!(api.get(&format!("{CLIENTS}/{gone}"), &reader).await.0, 404);

    // The checks of `client create`, naming what is wrong.
    for (body, says) in [
        (json!({ "name": "x" }), "redirect_uris"),
        (
            json!({ "redirect_uris": ["http://app.example.com/cb"] }),
            "https",
        ),
        (
            json!({ "redirect_uris": [REDIRECT], "mfa_policy": "always" }),
            "mfa_policy",
        ),
        (
            json!({ "redirect_uris": [REDIRECT], "id_token_alg": "HS256" }),
            "id_token_alg",
        ),
        (
            json!({ "redirect_uris": [REDIRECT], "access_token_alg": "none" }),
            "access_token_alg",
        ),
        (
            json!({ "redirect_uris": [REDIRECT], "colour": "red" }),
            "colour",
        ),
    ] {
        let (s, v, _) = api
            .send(Method::POST, CLIENTS, Some(&admin), Some(&body.to_string()))
            .await;
        assert_eq!(s, 400, "{body}: {v}");
        problem(&v, "invalid");
        assert!(v["detail"].as_str().unwrap().contains(says), "{says}: {v}");
    }
    // Another tenant's key: not found.
    srv.tenant("globex", &[]).await;
    let other = key(&srv, &["--role", "tenant-admin", "--tenant", "globex"]).await;
    assert_eq!(api.get(CLIENTS, &other).await.0, 404);
}
both_backends!(clients_lifecycle, super::clients_lifecycle);

/// A client's `ETag` is its version: on the answers of create, GET and PATCH; a PATCH with
/// the current one changes it, with a stale one is 412 and changes nothing, and of two PATCHes
/// holding the same one exactly one wins. A PATCH changes what `client create` registers, with
/// the same checks naming the field; new redirect URIs are the only ones `/authorize` takes.
async fn client_etags_and_changes(backend: Backend) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &[]).await;
    srv.user("acme", ALICE, PW).await;
    let api = Api { srv: &srv };
    let admin = key(&srv, &["--role", "tenant-admin", "--tenant", "acme"]).await;
    let reader = key(&srv, &["--role", "read-only", "--tenant", "acme"]).await;

    let body = json!({ "redirect_uris": [REDIRECT], "first_party": true }).to_string();
    let (s, created, h) = api
        .send(Method::POST, CLIENTS, Some(&admin), Some(&body))
        .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(common::api::etag_of(&h).as_deref(), Some("\"1\""));
    assert_eq!(created["version"], 1, "{created}");
    let id = created["client_id"].as_str().unwrap().to_owned();
    let path = format!("{CLIENTS}/{id}");
    let (s, first, got) = api.get_versioned(&path, &reader).await;
    assert_eq!(s, 200);
    let first = first.expect("an ETag on GET");
    assert_eq!(first, format!("\"{}\"", got["version"]));

    // The redirect URI moves, and much else with it, against the current version.
    const MOVED: &str = "http://127.0.0.1:9/moved";
    let change = json!({
        "name": "Renamed",
        "redirect_uris": [MOVED],
        "post_logout_redirect_uris": ["http://127.0.0.1:9/bye"],
        "trust_policy": "none",
        "id_token_alg": "ES256",
        "access_token_ttl_secs": 120,
        "id_token_ttl_secs": 240,
        "refresh_token_ttl_secs": 3600,
        "scope": "read write",
        "offline_access": true,
        "web_origins": ["https://app.example.com"],
        "backchannel_logout_uri": "https://app.example.com/bc",
        "backchannel_logout_session_required": true,
    });
    let (s, second, v) = api
        .patch_if_match(&path, &admin, &change, Some(&first))
        .await;
    assert_eq!(s, 200, "{v}");
    let second = second.expect("an ETag on PATCH");
    assert_ne!(second, first);
    assert_eq!(second, format!("\"{}\"", v["version"]));
    for (field, want) in change.as_object().unwrap() {
        assert_eq!(&v[field], want, "{field}: {v}");
    }
    let (_, etag, _) = api.get_versioned(&path, &reader).await;
    assert_eq!(etag.as_ref(), Some(&second));

    // Made against the first copy: refused, and nothing changes.
    let (s, _, v) = api
        .patch_if_match(&path, &admin, &json!({ "name": "Stale" }), Some(&first))
        .await;
    assert_eq!(s, 412, "{v}");
    problem(&v, "stale");
    let (_, etag, v) = api.get_versioned(&path, &reader).await;
    assert_eq!(
        (etag.as_ref(), v["name"].clone()),
        (Some(&second), json!("Renamed"))
    );
    assert_eq!(api.patch_json(&path, &reader, &json!({})).await.0, 403);

    // Two changes fired at once holding the same version: exactly one is applied.
    let (body_a, body_b) = (json!({ "name": "A" }), json!({ "name": "B" }));
    let a = api.patch_if_match(&path, &admin, &body_a, Some(&second));
    let b = api.patch_if_match(&path, &admin, &body_b, Some(&second));
    let ((sa, _, va), (sb, _, vb)) = tokio::join!(a, b);
    let mut statuses = [sa, sb];
    statuses.sort();
    assert_eq!(statuses, [200, 412], "{va} {vb}");
    let winner = if sa == 200 { "A" } else { "B" };
    let (_, third, v) = api.get_versioned(&path, &reader).await;
    assert_eq!(v["name"], winner, "{v}");
    let third = third.unwrap();
    // `*` and no If-Match are unconditional; a rotation is a change too.
    let (s, _, _) = api
        .patch_if_match(&path, &admin, &json!({}), Some("*"))
        .await;
    assert_eq!(s, 200);
    let (s, rotated, _) = api
        .send(Method::POST, &format!("{path}/secret"), Some(&admin), None)
        .await;
    assert_eq!(s, 200, "{rotated}");
    let (s, _, v) = api
        .patch_if_match(&path, &admin, &json!({ "name": "late" }), Some(&third))
        .await;
    assert_eq!(s, 412, "the rotation moved the version: {v}");

    // Only the new redirect URI is taken now.
    let old = Rp {
        tenant: "acme".into(),
        client_id: id.clone(),
        secret: rotated["client_secret"].as_str().map(str::to_owned),
        redirect_uri: REDIRECT.into(),
    };
    let res = srv
        .http()
        .get(srv.authorize_url(&old, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
    assert!(res.text().await.unwrap().contains("not registered"));
    let moved = Rp {
        redirect_uri: MOVED.into(),
        ..old
    };
    let b = Browser::new();
    let signed_in = alice_signs_in(&b, &srv, &moved, &[]).await;
    let t = tokens(&srv, &moved, &signed_in).await;
    assert!(t["id_token"].is_string(), "{t}");

    // The checks of registration, each naming the field.
    for (body, says) in [
        (json!({ "mfa_policy": "always" }), "mfa_policy"),
        (json!({ "trust_policy": "some" }), "trust_policy"),
        (json!({ "id_token_alg": "HS256" }), "id_token_alg"),
        (json!({ "redirect_uris": [] }), "redirect_uris"),
        (
            json!({ "redirect_uris": ["http://app.example.com/cb"] }),
            "redirect_uris",
        ),
        (
            json!({ "post_logout_redirect_uris": ["https://a.example/x#y"] }),
            "post_logout_redirect_uris",
        ),
        (
            json!({ "access_token_ttl_secs": 0 }),
            "access_token_ttl_secs",
        ),
        (
            json!({ "refresh_token_ttl_secs": -1 }),
            "refresh_token_ttl_secs",
        ),
        (json!({ "scope": "openid" }), "scope"),
        (
            json!({ "web_origins": ["https://a.example/path"] }),
            "web_origins",
        ),
        (
            json!({ "backchannel_logout_uri": "com.example.app:/bc" }),
            "backchannel_logout_uri",
        ),
        (json!({ "name": " " }), "name"),
        (json!({ "first_party": "yes" }), "first_party"),
    ] {
        let (s, v) = api.patch_json(&path, &admin, &body).await;
        assert_eq!(s, 400, "{body}: {v}");
        problem(&v, "invalid");
        assert!(v["detail"].as_str().unwrap().contains(says), "{says}: {v}");
    }
    let (s, _, v) = api
        .patch_if_match(&path, &admin, &json!({}), Some("nope"))
        .await;
    assert_eq!(s, 400, "{v}");
    // A valid policy, and the URI removed with "".
    let (s, v) = api
        .patch_json(
            &path,
            &admin,
            &json!({ "mfa_policy": "required", "backchannel_logout_uri": "" }),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["mfa_policy"].clone(), v["backchannel_logout_uri"].clone()),
        (json!("required"), Value::Null)
    );
    let (_, events) = api
        .get(
            &format!("/api/v1/tenants/acme/audit-events?event=client.updated&client_id={id}"),
            &reader,
        )
        .await;
    let events = events["items"].as_array().unwrap().clone();
    assert_eq!(
        events.len(),
        4,
        "the stale and refused ones wrote nothing: {events:?}"
    );
    assert!(
        events
            .iter()
            .all(|e| e["actor"].as_str().unwrap().starts_with("api-key:")),
        "{events:?}"
    );
    assert_eq!(
        events[0]["detail"]["fields"],
        json!(["mfa_policy", "backchannel_logout_uri"])
    );
}
both_backends!(client_etags_and_changes, super::client_etags_and_changes);
