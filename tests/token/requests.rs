//! The token request itself: client authentication, grant types, client_credentials, and
//! malformed bodies (always an OAuth JSON error, never a framework error page).

use serde_json::Value;

use crate::common::Backend;
use crate::token::fixture::*;

async fn client_authentication_failures(backend: Backend) {
    let f = Fixture::new(backend).await;
    let wrong = Creds {
        id: f.conf.id.clone(),
        secret: Some("not-the-secret".into()),
    };
    let form = [("grant_type", "client_credentials")];
    // RFC 6749 §5.2: 401 with a Basic challenge when Basic was used...
    let res = f.call("token", &wrong, Auth::Basic, &form).await;
    assert_eq!(
        res.headers()["www-authenticate"],
        "Basic realm=\"gatehouse\""
    );
    assert_oauth_error(res, 401, "invalid_client").await;
    // ...and without one for client_secret_post.
    let res = f.call("token", &wrong, Auth::Post, &form).await;
    assert!(res.headers().get("www-authenticate").is_none());
    assert_oauth_error(res, 401, "invalid_client").await;

    let unknown = Creds {
        id: "nobody".into(),
        secret: Some("x".into()),
    };
    let res = f.call("token", &unknown, Auth::Basic, &form).await;
    assert_oauth_error(res, 401, "invalid_client").await;
    // A confidential client must present its secret.
    let bare = Creds {
        id: f.conf.id.clone(),
        secret: None,
    };
    let res = f.call("token", &bare, Auth::Post, &form).await;
    assert_oauth_error(res, 401, "invalid_client").await;
    // The same checks guard revocation and introspection.
    for endpoint in ["revoke", "introspect"] {
        let res = f
            .call(endpoint, &wrong, Auth::Basic, &[("token", "x")])
            .await;
        assert_oauth_error(res, 401, "invalid_client").await;
    }
}
both_backends!(
    client_authentication_failures,
    super::client_authentication_failures
);

async fn client_credentials(backend: Backend) {
    let f = Fixture::new(backend).await;
    let post = f
        .client(&[
            "--scope",
            "api.read",
            "--token-endpoint-auth-method",
            "client_secret_post",
        ])
        .await;
    for (client, auth) in [(&f.conf, Auth::Basic), (&post, Auth::Post)] {
        let form = [("grant_type", "client_credentials"), ("scope", "api.read")];
        let body = ok(f.call("token", client, auth, &form).await).await;
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "api.read");
        assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());
        let at = f.verify(str_of(&body, "access_token"));
        assert_eq!(at.typ.as_deref(), Some("at+jwt"));
        assert_eq!(at.claims["sub"], client.id);
        assert_eq!(at.claims["client_id"], client.id);
        assert_eq!(at.claims["aud"], f.issuer);
        assert!(at.claims.get("amr").is_none() && at.claims.get("auth_time").is_none());

        let at_form = [("token", str_of(&body, "access_token"))];
        let info = ok(f.call("introspect", client, auth, &at_form).await).await;
        assert_eq!(info["active"], true);
        assert_eq!(info["sub"], client.id);
        assert!(info.get("username").is_none(), "{info}");
        // No user, so nothing for UserInfo to say.
        let res = f.userinfo(str_of(&body, "access_token")).await;
        assert!(
            res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("error=\"insufficient_scope\"")
        );
        assert_oauth_error(res, 403, "insufficient_scope").await;
    }
    let no_scope = ok(f
        .token(&f.conf, &[("grant_type", "client_credentials")])
        .await)
    .await;
    // No scope asked: the registered ones (RFC 6749 §3.3 default).
    assert_eq!(no_scope["scope"], "api.read api.write");

    let openid = [("grant_type", "client_credentials"), ("scope", "openid")];
    assert_oauth_error(f.token(&f.conf, &openid).await, 400, "invalid_scope").await;
    let public = f
        .token(&f.public, &[("grant_type", "client_credentials")])
        .await;
    assert_oauth_error(public, 400, "unauthorized_client").await;
}
both_backends!(client_credentials, super::client_credentials);

/// Before: client_credentials minted a token for any scope string the client sent. Now only
/// scopes registered with `client create --scope` are granted; anything else is
/// `invalid_scope`, and `openid` is refused (at registration and at the token endpoint).
async fn client_credentials_scope_is_the_registered_one(backend: Backend) {
    let f = Fixture::new(backend).await;
    let cc = |scope: &'static str| [("grant_type", "client_credentials"), ("scope", scope)];
    for scope in ["admin", "api.read admin", "api.readx"] {
        let res = f.token(&f.conf, &cc(scope)).await;
        assert_oauth_error(res, 400, "invalid_scope").await;
    }
    let body = ok(f.token(&f.conf, &cc("api.write")).await).await;
    assert_eq!(body["scope"], "api.write");
    let at = f.verify(str_of(&body, "access_token"));
    assert_eq!(at.claims["scope"], "api.write");
    assert_oauth_error(
        f.token(&f.conf, &cc("openid api.read")).await,
        400,
        "invalid_scope",
    )
    .await;

    // A client registered without --scope gets scope-less tokens only.
    let bare = f.client(&[]).await;
    assert_oauth_error(f.token(&bare, &cc("api.read")).await, 400, "invalid_scope").await;
    let body = ok(f
        .token(&bare, &[("grant_type", "client_credentials")])
        .await)
    .await;
    assert!(body.get("scope").is_none());

    // --json shows the registered scope; openid cannot be registered.
    let c = f
        .srv
        .cli_json(&[
            "client",
            "create",
            "acme",
            "--redirect-uri",
            REDIRECT,
            "--scope",
            "b a  b",
        ])
        .await;
    assert_eq!(c["scope"], "b a");
    let out = f
        .srv
        .env
        .cli(&[
            "client",
            "create",
            "acme",
            "--redirect-uri",
            REDIRECT,
            "--scope",
            "openid",
        ])
        .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("openid"));
}
both_backends!(
    client_credentials_scope_is_the_registered_one,
    super::client_credentials_scope_is_the_registered_one
);

async fn grant_type_errors(backend: Backend) {
    let f = Fixture::new(backend).await;
    let res = f.token(&f.conf, &[("grant_type", "password")]).await;
    assert_oauth_error(res, 400, "unsupported_grant_type").await;
    let res = f.token(&f.conf, &[("code", "x")]).await;
    let body = assert_oauth_error(res, 400, "invalid_request").await;
    assert_eq!(body["error_description"], "grant_type is required");
}
both_backends!(grant_type_errors, super::grant_type_errors);

/// POSTs a raw body with the form content type.
async fn raw(f: &Fixture, endpoint: &str, body: &'static str, media: &str) -> reqwest::Response {
    f.post(endpoint)
        .basic_auth(&f.conf.id, f.conf.secret.as_deref())
        .header("content-type", media)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn malformed_bodies(backend: Backend) {
    let f = Fixture::new(backend).await;
    let form = "application/x-www-form-urlencoded";
    for endpoint in ["token", "revoke", "introspect"] {
        // RFC 6749 §3.2: no parameter twice; the description names it.
        let res = raw(
            &f,
            endpoint,
            "grant_type=client_credentials&token=a&token=b",
            form,
        )
        .await;
        let body: Value = assert_oauth_error(res, 400, "invalid_request").await;
        let d = str_of(&body, "error_description");
        assert!(d.contains("`token`"), "{d}");
        let res = raw(&f, endpoint, "token=%zz&grant_type=x", form).await;
        assert_oauth_error(res, 400, "invalid_request").await;
        let res = raw(&f, endpoint, r#"{"token":"a"}"#, "application/json").await;
        assert_oauth_error(res, 400, "invalid_request").await;
    }
    let res = raw(
        &f,
        "token",
        "grant_type=client_credentials&grant_type=client_credentials",
        form,
    )
    .await;
    assert_oauth_error(res, 400, "invalid_request").await;
    let res = raw(&f, "userinfo", "access_token=a&access_token=b", form).await;
    assert_oauth_error(res, 400, "invalid_request").await;
    // The well-formed request still works.
    ok(raw(&f, "token", "grant_type=client_credentials", form).await).await;
}
both_backends!(malformed_bodies, super::malformed_bodies);

async fn unknown_tenant_is_404(backend: Backend) {
    let f = Fixture::new(backend).await;
    let res = f
        .srv
        .http()
        .post(f.srv.url("/t/nope/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}
both_backends!(unknown_tenant_is_404, super::unknown_tenant_is_404);
