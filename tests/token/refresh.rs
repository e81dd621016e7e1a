//! `grant_type=refresh_token`: rotation, reuse detection, scope narrowing.

use crate::common::Backend;
use crate::token::fixture::*;

async fn refresh_rotates(backend: Backend) {
    let f = Fixture::new(backend).await;
    let code = f.code(&f.conf).await;
    let first = f.exchange(&f.conf, &code).await;
    let first_id = f.verify(str_of(&first, "id_token")).claims;

    let second = ok(f.refresh(&f.conf, str_of(&first, "refresh_token")).await).await;
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_ne!(second["access_token"], first["access_token"]);
    assert_eq!(second["token_type"], "Bearer");
    assert_eq!(second["scope"], "openid email profile");
    let id = f.verify(str_of(&second, "id_token")).claims;
    // OIDC Core §12.2: same subject and authentication; no nonce.
    for k in [
        "iss",
        "sub",
        "aud",
        "azp",
        "auth_time",
        "acr",
        "amr",
        "sid",
        "email",
    ] {
        assert_eq!(id[k], first_id[k], "claim `{k}`");
    }
    assert!(id.get("nonce").is_none());
    let at = f.verify(str_of(&second, "access_token")).claims;
    assert_eq!(at["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(at["acr"], "mfa");

    // The spent token is no longer active; the new one is, and so is the first access token.
    assert!(!f.is_active(&f.conf, str_of(&first, "refresh_token")).await);
    assert!(f.is_active(&f.conf, str_of(&second, "refresh_token")).await);
    assert!(f.is_active(&f.conf, str_of(&first, "access_token")).await);

    // Narrowing the scope: the response says so, the ID token follows, the grant keeps all.
    let res = f
        .token(
            &f.conf,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", str_of(&second, "refresh_token")),
                ("scope", "openid email"),
            ],
        )
        .await;
    let third = ok(res).await;
    assert_eq!(third["scope"], "openid email");
    let id = f.verify(str_of(&third, "id_token")).claims;
    assert!(id.get("name").is_none() && id.get("email").is_some());
    let fourth = ok(f.refresh(&f.conf, str_of(&third, "refresh_token")).await).await;
    assert_eq!(fourth["scope"], "openid email profile");
}
both_backends!(refresh_rotates, super::refresh_rotates);

async fn refresh_reuse_revokes_the_family(backend: Backend) {
    let f = Fixture::new(backend).await;
    let first = f.exchange(&f.conf, &f.code(&f.conf).await).await;
    let old = str_of(&first, "refresh_token");
    let second = ok(f.refresh(&f.conf, old).await).await;

    assert_oauth_error(f.refresh(&f.conf, old).await, 400, "invalid_grant").await;
    // Every token of the grant is now dead, the newest ones included.
    let newest = str_of(&second, "refresh_token");
    assert!(!f.is_active(&f.conf, newest).await);
    assert!(!f.is_active(&f.conf, str_of(&second, "access_token")).await);
    assert!(!f.is_active(&f.conf, str_of(&first, "access_token")).await);
    assert_oauth_error(f.refresh(&f.conf, newest).await, 400, "invalid_grant").await;

    // Another grant of the same user and client is untouched.
    let other = f.exchange(&f.conf, &f.code(&f.conf).await).await;
    ok(f.refresh(&f.conf, str_of(&other, "refresh_token")).await).await;
}
both_backends!(
    refresh_reuse_revokes_the_family,
    super::refresh_reuse_revokes_the_family
);

async fn refresh_refusals(backend: Backend) {
    let f = Fixture::new(backend).await;
    let first = f.exchange(&f.conf, &f.code(&f.conf).await).await;
    let token = str_of(&first, "refresh_token");

    // Widening the scope is refused and does not spend the token.
    let widen = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token),
        ("scope", "openid phone"),
    ];
    assert_oauth_error(f.token(&f.conf, &widen).await, 400, "invalid_scope").await;

    // Another client cannot use it, and does not spend it either.
    let thief = f.client(&[]).await;
    assert_oauth_error(f.refresh(&thief, token).await, 400, "invalid_grant").await;
    assert_oauth_error(f.refresh(&f.conf, "unknown").await, 400, "invalid_grant").await;
    let missing = [("grant_type", "refresh_token")];
    let res = f.token(&f.conf, &missing).await;
    assert_oauth_error(res, 400, "invalid_request").await;

    ok(f.refresh(&f.conf, token).await).await;
}
both_backends!(refresh_refusals, super::refresh_refusals);

async fn expired_refresh_token(backend: Backend) {
    let f = Fixture::new(backend).await;
    let client = f.client(&["--refresh-token-ttl", "1"]).await;
    let first = f.exchange(&client, &f.code(&client).await).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let res = f.refresh(&client, str_of(&first, "refresh_token")).await;
    assert_oauth_error(res, 400, "invalid_grant").await;
}
both_backends!(expired_refresh_token, super::expired_refresh_token);
