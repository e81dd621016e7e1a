//! UserInfo, revocation and introspection with tokens from real exchanges.

use serde_json::json;

use crate::common::Backend;
use crate::token::fixture::*;

async fn userinfo(backend: Backend) {
    let f = Fixture::new(backend).await;
    let body = f.exchange(&f.conf, &f.code(&f.conf).await).await;
    let access = str_of(&body, "access_token");
    let first = ok(f.userinfo(access).await).await;
    // `profile` always releases `updated_at` (OIDC Core §5.1), a number of seconds.
    assert!(first["updated_at"].is_i64(), "{first}");
    let expected = json!({ "sub": f.user_id, "email": EMAIL, "email_verified": true,
                           "name": "Alice Liddell", "preferred_username": "alice",
                           "updated_at": first["updated_at"] });
    let url = format!("{}/userinfo", f.issuer);
    let http = f.srv.http();

    assert_eq!(first, expected);
    let post_header = http.post(&url).bearer_auth(access).send().await.unwrap();
    assert_eq!(ok(post_header).await, expected);
    let post_form = http
        .post(&url)
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(ok(post_form).await, expected);
    // RFC 6750 §2: one method only.
    let both = http
        .post(&url)
        .bearer_auth(access)
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_oauth_error(both, 400, "invalid_request").await;

    // RFC 6750 §3.1: no credentials, no error code.
    for res in [
        http.get(&url).send().await.unwrap(),
        http.post(&url).send().await.unwrap(),
    ] {
        assert_eq!(res.status(), 401);
        assert_eq!(
            res.headers()["www-authenticate"],
            "Bearer realm=\"gatehouse\""
        );
        assert_eq!(res.text().await.unwrap(), "");
    }

    // Garbage, an ID token, and a token of another tenant are all invalid_token.
    f.srv.tenant("other", &[]).await;
    let other_tenant = http
        .get(f.srv.url("/t/other/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    for res in [
        f.userinfo("not-a-token").await,
        f.userinfo(str_of(&body, "id_token")).await,
        other_tenant,
    ] {
        let challenge = res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.starts_with("Bearer error=\"invalid_token\""),
            "{challenge}"
        );
        assert_oauth_error(res, 401, "invalid_token").await;
    }
}
both_backends!(userinfo, super::userinfo);

async fn expired_access_token(backend: Backend) {
    let f = Fixture::new(backend).await;
    let client = f.client(&["--access-token-ttl", "1"]).await;
    let body = f.exchange(&client, &f.code(&client).await).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let access = str_of(&body, "access_token");
    assert_oauth_error(f.userinfo(access).await, 401, "invalid_token").await;
    assert_eq!(
        f.introspect(&client, access).await,
        json!({ "active": false })
    );
}
both_backends!(expired_access_token, super::expired_access_token);

async fn revoke_then_introspect(backend: Backend) {
    let f = Fixture::new(backend).await;
    let body = f.exchange(&f.conf, &f.code(&f.conf).await).await;
    let access = str_of(&body, "access_token");
    let refresh = str_of(&body, "refresh_token");

    // Revoking the access token alone leaves the refresh token working.
    let res = f
        .call(
            "revoke",
            &f.conf,
            Auth::Basic,
            &[("token", access), ("token_type_hint", "access_token")],
        )
        .await;
    assert_no_store(&res);
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "");
    assert_eq!(
        f.introspect(&f.conf, access).await,
        json!({ "active": false })
    );
    assert_oauth_error(f.userinfo(access).await, 401, "invalid_token").await;
    let next = ok(f.refresh(&f.conf, refresh).await).await;

    // Revoking a refresh token (no hint) ends the whole grant.
    let refresh = str_of(&next, "refresh_token");
    let res = f
        .call("revoke", &f.conf, Auth::Basic, &[("token", refresh)])
        .await;
    assert_eq!(res.status(), 200);
    assert!(!f.is_active(&f.conf, refresh).await);
    assert!(!f.is_active(&f.conf, str_of(&next, "access_token")).await);
    assert_oauth_error(f.refresh(&f.conf, refresh).await, 400, "invalid_grant").await;

    // Unknown tokens and other clients' tokens: 200, and nothing happens.
    let other = f.exchange(&f.conf, &f.code(&f.conf).await).await;
    let stranger = f.client(&[]).await;
    for token in [
        str_of(&other, "access_token"),
        str_of(&other, "refresh_token"),
        "unknown",
    ] {
        let res = f
            .call("revoke", &stranger, Auth::Basic, &[("token", token)])
            .await;
        assert_eq!(res.status(), 200);
    }
    assert!(f.is_active(&f.conf, str_of(&other, "access_token")).await);
    assert!(f.is_active(&f.conf, str_of(&other, "refresh_token")).await);

    let res = f.call("revoke", &f.conf, Auth::Basic, &[]).await;
    assert_oauth_error(res, 400, "invalid_request").await;
}
both_backends!(revoke_then_introspect, super::revoke_then_introspect);

async fn introspection_documents(backend: Backend) {
    let f = Fixture::new(backend).await;
    let body = f.exchange(&f.conf, &f.code(&f.conf).await).await;
    let access = str_of(&body, "access_token");
    let claims = f.verify(access).claims;

    let doc = f.introspect(&f.conf, access).await;
    assert_eq!(
        doc,
        json!({
            "active": true, "token_type": "Bearer", "scope": "openid email profile",
            "client_id": f.conf.id, "sub": f.user_id, "aud": f.issuer, "iss": f.issuer,
            "exp": claims["exp"], "iat": claims["iat"], "jti": claims["jti"], "username": EMAIL,
        })
    );

    let refresh = str_of(&body, "refresh_token");
    let hinted = f
        .call(
            "introspect",
            &f.conf,
            Auth::Basic,
            &[("token", refresh), ("token_type_hint", "refresh_token")],
        )
        .await;
    let doc = ok(hinted).await;
    assert_eq!(doc["active"], true);
    assert_eq!(doc["token_type"], "refresh_token");
    assert_eq!(doc["scope"], "openid email profile");
    assert_eq!(doc["client_id"], f.conf.id);
    assert_eq!(doc["sub"], f.user_id.as_str());
    assert_eq!(doc["username"], EMAIL);
    assert_eq!(doc["iss"], f.issuer);
    assert!(doc["exp"].as_i64().unwrap() > doc["iat"].as_i64().unwrap());
    assert!(doc.get("jti").is_none());

    // Another client learns nothing, even about a valid token.
    let stranger = f.client(&[]).await;
    for token in [access, refresh, "garbage"] {
        assert_eq!(
            f.introspect(&stranger, token).await,
            json!({ "active": false })
        );
    }
    // A public client may introspect its own tokens (it authenticates with `none`).
    let public = f.exchange(&f.public, &f.code(&f.public).await).await;
    assert!(
        f.is_active(&f.public, str_of(&public, "access_token"))
            .await
    );

    let res = f.call("introspect", &f.conf, Auth::Basic, &[]).await;
    assert_oauth_error(res, 400, "invalid_request").await;
}
both_backends!(introspection_documents, super::introspection_documents);

/// Rows in `table` (the stores behind the tokens, which the issue bounds).
async fn rows(f: &Fixture, table: &str) -> i64 {
    let sql = match table {
        "access_tokens" => "SELECT COUNT(*) FROM access_tokens",
        _ => "SELECT COUNT(*) FROM revoked_access_tokens",
    };
    gatehouse::with_db!(&f.srv.state.db, |pool| sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .unwrap())
}

/// Access tokens are self-contained (issue 15): minting writes nothing for them, they name
/// their grant, a revocation is one list entry kept until the token would expire, and a token
/// minted before that (no `grant_id`, a row in `access_tokens`) keeps working until its row or
/// its grant says otherwise.
async fn access_tokens_are_self_contained(backend: Backend) {
    let f = Fixture::new(backend).await;
    let body = f.exchange(&f.conf, &f.code(&f.conf).await).await;
    let access = str_of(&body, "access_token");
    let claims = f.verify(access).claims;
    let grant_id = claims["grant_id"].as_str().expect("grant_id").to_owned();
    assert_eq!(
        rows(&f, "access_tokens").await,
        0,
        "nothing written per token"
    );
    assert!(f.is_active(&f.conf, access).await);

    // Revoked on its own: one entry, gone once the token has expired.
    let res = f
        .call("revoke", &f.conf, Auth::Basic, &[("token", access)])
        .await;
    assert_eq!(res.status(), 200);
    assert!(!f.is_active(&f.conf, access).await);
    assert_eq!(rows(&f, "revoked_access_tokens").await, 1);
    let exp = claims["exp"].as_i64().unwrap();
    gatehouse::housekeeping::sweep(&f.srv.state.db, exp, 900)
        .await
        .unwrap();
    assert_eq!(rows(&f, "revoked_access_tokens").await, 1, "kept until exp");
    gatehouse::housekeeping::sweep(&f.srv.state.db, exp + 1, 900)
        .await
        .unwrap();
    assert_eq!(rows(&f, "revoked_access_tokens").await, 0);

    // A token of the same grant as minted before migration 0019: no `grant_id` claim.
    let mut legacy = claims.clone();
    legacy.remove("grant_id");
    legacy.insert("jti".into(), json!("legacy-1"));
    let keys = f.srv.keys("acme").await;
    let alg = gatehouse::model::SigningAlg::Rs256;
    let legacy = gatehouse::crypto::jwt::sign(&keys, alg, "at+jwt", legacy).unwrap();
    assert!(!f.is_active(&f.conf, &legacy).await, "no row: not ours");
    gatehouse::with_db!(&f.srv.state.db, |pool| sqlx::query(
        "INSERT INTO access_tokens (jti, grant_id, tenant_id, client_id, user_id, scope, \
         created_at, expires_at) VALUES ('legacy-1', $1, $2, $3, $4, 'openid', 0, $5)"
    )
    .bind(&grant_id)
    .bind(&f.tenant_id)
    .bind(&f.conf.id)
    .bind(&f.user_id)
    .bind(exp)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    assert!(f.is_active(&f.conf, &legacy).await);
    ok(f.userinfo(&legacy).await).await;
    // Revoking the grant (through its refresh token) ends it like the new ones.
    let refresh = str_of(&body, "refresh_token");
    let res = f
        .call("revoke", &f.conf, Auth::Basic, &[("token", refresh)])
        .await;
    assert_eq!(res.status(), 200);
    assert!(!f.is_active(&f.conf, &legacy).await);
}
both_backends!(
    access_tokens_are_self_contained,
    super::access_tokens_are_self_contained
);
