//! `grant_type=authorization_code`: the happy path with every claim checked, each signing
//! algorithm, PKCE, and every way a code can be refused.

use gatehouse::crypto::jwt::half_hash;
use gatehouse::model::{SigningAlg, now};
use serde_json::{Value, json};

use crate::common::Backend;
use crate::token::fixture::*;

/// Checks the response of a code exchange for `client` and the ID token signed with `alg`.
fn check_tokens(f: &Fixture, client: &Creds, body: &Value, alg: SigningAlg) {
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["scope"], "openid email profile");
    assert!(str_of(body, "refresh_token").len() >= 43);
    let access = str_of(body, "access_token");

    let id = f.verify(str_of(body, "id_token"));
    assert_eq!(id.alg, alg);
    assert_eq!(id.typ.as_deref(), Some("JWT"));
    let c = &id.claims;
    let iat = c["iat"].as_i64().unwrap();
    assert!((now() - iat).abs() < 30);
    assert_eq!(c["exp"].as_i64().unwrap(), iat + 600);
    assert!(c["auth_time"].as_i64().unwrap() <= iat);
    let expected = json!({
        "iss": f.issuer, "sub": f.user_id, "aud": client.id, "azp": client.id,
        "nonce": "n-0S6_WzA2Mj", "sid": f.session_id, "acr": "mfa", "amr": ["pwd", "otp", "mfa"],
        "at_hash": half_hash(alg, access),
        "email": EMAIL, "email_verified": true,
        "name": "Alice Liddell", "preferred_username": "alice",
    });
    for (k, v) in expected.as_object().unwrap() {
        assert_eq!(&c[k], v, "ID token claim `{k}`");
    }
    assert!(c.get("phone_number").is_none(), "phone scope not granted");

    // RFC 9068: typ at+jwt, RS256 whatever the client's ID token algorithm.
    let at = f.verify(access);
    assert_eq!(at.alg, SigningAlg::Rs256);
    assert_eq!(at.typ.as_deref(), Some("at+jwt"));
    let a = &at.claims;
    let expected = json!({
        "iss": f.issuer, "sub": f.user_id, "aud": f.issuer, "client_id": client.id,
        "scope": "openid email profile", "acr": "mfa", "amr": ["pwd", "otp", "mfa"],
        "auth_time": c["auth_time"],
    });
    for (k, v) in expected.as_object().unwrap() {
        assert_eq!(&a[k], v, "access token claim `{k}`");
    }
    assert_eq!(a["exp"].as_i64().unwrap(), a["iat"].as_i64().unwrap() + 600);
    assert!(str_of(&Value::Object(a.clone()), "jti").len() >= 16);
}

async fn happy_path(backend: Backend) {
    let f = Fixture::new(backend).await;
    let code = f.code(&f.conf).await;
    let body = f.exchange(&f.conf, &code).await;
    check_tokens(&f, &f.conf, &body, SigningAlg::Rs256);

    let mut info = ok(f.userinfo(str_of(&body, "access_token")).await).await;
    // `profile` always releases `updated_at` (OIDC Core §5.1), a number of seconds.
    let updated_at = info.as_object_mut().unwrap().remove("updated_at");
    assert!(updated_at.is_some_and(|v| v.is_i64()), "{info}");
    assert_eq!(
        info,
        json!({ "sub": f.user_id, "email": EMAIL, "email_verified": true,
                "name": "Alice Liddell", "preferred_username": "alice" })
    );
}
both_backends!(happy_path, super::happy_path);

async fn es256_and_eddsa_clients_with_post_auth(backend: Backend) {
    let f = Fixture::new(backend).await;
    for (flag, alg) in [("ES256", SigningAlg::Es256), ("EdDSA", SigningAlg::EdDsa)] {
        let client = f
            .client(&[
                "--id-token-alg",
                flag,
                "--token-endpoint-auth-method",
                "client_secret_post",
            ])
            .await;
        let code = f.code(&client).await;
        let res = f
            .call(
                "token",
                &client,
                Auth::Post,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                ],
            )
            .await;
        check_tokens(&f, &client, &ok(res).await, alg);
    }
}
both_backends!(
    es256_and_eddsa_clients_with_post_auth,
    super::es256_and_eddsa_clients_with_post_auth
);

async fn scope_and_claims_parameter_decide_user_claims(backend: Backend) {
    let f = Fixture::new(backend).await;
    let db = &f.srv.state.db;
    gatehouse::with_db!(db, |pool| sqlx::query(
        "UPDATE users SET phone = $1 WHERE id = $2"
    )
    .bind("+15550100")
    .bind(&f.user_id)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    let (code, mut row) = f.code_row(&f.conf);
    row.scope = "openid phone".into();
    row.claims = Some(r#"{"id_token":{"email":{"essential":true}},"userinfo":{}}"#.into());
    f.store_code(&row).await;
    let body = f.exchange(&f.conf, &code).await;
    let id = f.verify(str_of(&body, "id_token")).claims;
    assert_eq!(id["phone_number"], "+15550100");
    assert_eq!(id["email"], EMAIL, "named in the claims parameter");
    assert!(id.get("name").is_none() && id.get("email_verified").is_none());
    let info = ok(f.userinfo(str_of(&body, "access_token")).await).await;
    assert_eq!(
        info,
        json!({ "sub": f.user_id, "phone_number": "+15550100", "phone_number_verified": false })
    );

    // Without `openid` there is no ID token.
    let (code, mut row) = f.code_row(&f.conf);
    row.scope = "email".into();
    f.store_code(&row).await;
    let body = f.exchange(&f.conf, &code).await;
    assert!(body.get("id_token").is_none(), "{body}");
    assert_eq!(body["scope"], "email");
}
both_backends!(
    scope_and_claims_parameter_decide_user_claims,
    super::scope_and_claims_parameter_decide_user_claims
);

/// OIDC Core §5.5: the `userinfo` member of the claims request is honoured at UserInfo,
/// essential or voluntary, for the first access token and for refreshed ones (it is kept with
/// the grant). Before, `{"userinfo":{"name":null}}` with scope `openid` returned only `sub`.
async fn userinfo_honours_the_claims_request(backend: Backend) {
    let f = Fixture::new(backend).await;
    let (code, mut row) = f.code_row(&f.conf);
    row.scope = "openid".into();
    row.claims = Some(r#"{"userinfo":{"name":null,"email":{"essential":true}}}"#.into());
    f.store_code(&row).await;
    let body = f.exchange(&f.conf, &code).await;
    let id = f.verify(str_of(&body, "id_token")).claims;
    assert!(
        id.get("email").is_none(),
        "the id_token member asked for nothing"
    );
    let expected = json!({ "sub": f.user_id, "email": EMAIL, "name": "Alice Liddell" });
    let info = ok(f.userinfo(str_of(&body, "access_token")).await).await;
    assert_eq!(info, expected);
    let refreshed = ok(f.refresh(&f.conf, str_of(&body, "refresh_token")).await).await;
    let info = ok(f.userinfo(str_of(&refreshed, "access_token")).await).await;
    assert_eq!(info, expected, "a refreshed access token keeps the request");

    // Without a claims request, scope `openid` alone gives `sub`.
    let (code, mut row) = f.code_row(&f.conf);
    row.scope = "openid".into();
    f.store_code(&row).await;
    let body = f.exchange(&f.conf, &code).await;
    let info = ok(f.userinfo(str_of(&body, "access_token")).await).await;
    assert_eq!(info, json!({ "sub": f.user_id }));
}
both_backends!(
    userinfo_honours_the_claims_request,
    super::userinfo_honours_the_claims_request
);

async fn public_client_with_pkce(backend: Backend) {
    let f = Fixture::new(backend).await;
    let code = f.code(&f.public).await;
    let body = f.exchange(&f.public, &code).await;
    assert!(body["refresh_token"].is_string());
    assert_eq!(
        f.verify(str_of(&body, "id_token")).claims["aud"],
        f.public.id
    );
}
both_backends!(public_client_with_pkce, super::public_client_with_pkce);

fn code_form<'a>(code: &'a str, redirect: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
    ]
}

async fn pkce_failures(backend: Backend) {
    let f = Fixture::new(backend).await;
    let wrong = "x".repeat(43);
    // A malformed verifier is a malformed request, and the code survives it.
    let code = f.code(&f.public).await;
    let mut form = code_form(&code, PUBLIC_REDIRECT);
    form.push(("code_verifier", "too-short"));
    assert_oauth_error(f.token(&f.public, &form).await, 400, "invalid_request").await;
    f.exchange(&f.public, &code).await;

    // Mismatch, then missing verifier: invalid_grant.
    for verifier in [Some(wrong.as_str()), None] {
        let code = f.code(&f.public).await;
        let mut form = code_form(&code, PUBLIC_REDIRECT);
        form.extend(verifier.map(|v| ("code_verifier", v)));
        assert_oauth_error(f.token(&f.public, &form).await, 400, "invalid_grant").await;
    }

    // A verifier for a code that had no challenge.
    let code = f.code(&f.conf).await;
    let mut form = code_form(&code, REDIRECT);
    form.push(("code_verifier", VERIFIER));
    assert_oauth_error(f.token(&f.conf, &form).await, 400, "invalid_grant").await;

    // A public client's code without PKCE is refused.
    let (code, mut row) = f.code_row(&f.public);
    row.code_challenge = None;
    row.code_challenge_method = None;
    f.store_code(&row).await;
    let form = code_form(&code, PUBLIC_REDIRECT);
    assert_oauth_error(f.token(&f.public, &form).await, 400, "invalid_grant").await;

    // A confidential client's code with a challenge needs the verifier too.
    let (code, mut row) = f.code_row(&f.conf);
    row.code_challenge = Some(CHALLENGE.into());
    row.code_challenge_method = Some("S256".into());
    f.store_code(&row).await;
    let mut form = code_form(&code, REDIRECT);
    form.push(("code_verifier", VERIFIER));
    ok(f.token(&f.conf, &form).await).await;
}
both_backends!(pkce_failures, super::pkce_failures);

async fn code_reuse_revokes_the_grant(backend: Backend) {
    let f = Fixture::new(backend).await;
    let code = f.code(&f.conf).await;
    let first = f.exchange(&f.conf, &code).await;
    let access = str_of(&first, "access_token");
    let refresh = str_of(&first, "refresh_token");
    assert!(f.is_active(&f.conf, access).await);
    assert!(f.is_active(&f.conf, refresh).await);

    let form = code_form(&code, REDIRECT);
    assert_oauth_error(f.token(&f.conf, &form).await, 400, "invalid_grant").await;
    assert!(!f.is_active(&f.conf, access).await);
    assert!(!f.is_active(&f.conf, refresh).await);
    assert_oauth_error(f.userinfo(access).await, 401, "invalid_token").await;
    assert_oauth_error(f.refresh(&f.conf, refresh).await, 400, "invalid_grant").await;
}
both_backends!(
    code_reuse_revokes_the_grant,
    super::code_reuse_revokes_the_grant
);

async fn bad_codes(backend: Backend) {
    let f = Fixture::new(backend).await;
    let grant =
        |e: reqwest::Response| async move { assert_oauth_error(e, 400, "invalid_grant").await };

    let (expired, mut row) = f.code_row(&f.conf);
    row.expires_at = now();
    f.store_code(&row).await;
    grant(f.token(&f.conf, &code_form(&expired, REDIRECT)).await).await;

    let code = f.code(&f.conf).await;
    let other = "https://app.example.com/cb/";
    grant(f.token(&f.conf, &code_form(&code, other)).await).await;

    let other_client = f.client(&[]).await;
    let code = f.code(&f.conf).await;
    grant(f.token(&other_client, &code_form(&code, REDIRECT)).await).await;

    grant(f.token(&f.conf, &code_form("no-such-code", REDIRECT)).await).await;

    let code = f.code(&f.conf).await;
    let missing_code = [
        ("grant_type", "authorization_code"),
        ("redirect_uri", REDIRECT),
    ];
    let body = assert_oauth_error(
        f.token(&f.conf, &missing_code).await,
        400,
        "invalid_request",
    );
    assert_eq!(body.await["error_description"], "code is required");
    let missing_redirect = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
    ];
    let res = f.token(&f.conf, &missing_redirect).await;
    assert_oauth_error(res, 400, "invalid_request").await;
    // Neither malformed request spent the code.
    f.exchange(&f.conf, &code).await;
}
both_backends!(bad_codes, super::bad_codes);
