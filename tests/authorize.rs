//! `/authorize` validation: which errors are pages and which go back to the client, with the
//! exact RFC 6749 / OIDC error strings, `state` and `iss`.

use crate::common;

use common::browser::{Browser, location, query};
use common::flow::{REDIRECT, Rp};
use common::{Backend, TestServer};

async fn setup(backend: Backend) -> (TestServer, Rp, Rp) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &[]).await;
    let confidential = srv.rp("acme", &["--first-party"]).await;
    let public = srv.rp("acme", &["--public", "--first-party"]).await;
    (srv, confidential, public)
}

/// Requests `url` and asserts an HTML error page (never a redirect) mentioning `needle`.
async fn assert_page(srv: &TestServer, url: &str, needle: &str) {
    let res = srv.http().get(url).send().await.unwrap();
    assert_eq!(res.status(), 400, "{url}");
    assert!(res.headers().get("location").is_none());
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = res.text().await.unwrap();
    assert!(body.contains(needle), "`{needle}` in {body}");
}

/// Requests `url` and asserts a redirect to the client carrying `error`, `state` and `iss`.
async fn assert_redirect_error(srv: &TestServer, rp: &Rp, url: &str, error: &str) {
    let res = srv.http().get(url).send().await.unwrap();
    assert_eq!(res.status(), 303, "{url}");
    let loc = location(&res);
    assert!(loc.starts_with(REDIRECT), "{loc}");
    let q = query(&loc);
    assert_eq!(q.get("error").map(String::as_str), Some(error), "{loc}");
    assert!(q.contains_key("error_description"));
    assert_eq!(q.get("state").map(String::as_str), Some("st-123"));
    assert_eq!(q.get("iss"), Some(&srv.issuer(&rp.tenant)));
    assert!(!q.contains_key("code"));
}

async fn untrusted_client_or_redirect_is_a_page(backend: Backend) {
    let (srv, rp, _) = setup(backend).await;
    let unknown = Rp {
        client_id: "nope".into(),
        ..rp.clone()
    };
    assert_page(
        &srv,
        &srv.authorize_url(&unknown, &[]),
        "Unknown application",
    )
    .await;
    assert_page(
        &srv,
        &srv.authorize_url(&rp, &[("client_id", "")]),
        "Unknown application",
    )
    .await;
    let other = Rp {
        redirect_uri: "http://127.0.0.1:9/elsewhere".into(),
        ..rp.clone()
    };
    assert_page(&srv, &srv.authorize_url(&other, &[]), "not registered").await;
    // Prefix or case variations of a registered URI do not match either.
    let prefix = Rp {
        redirect_uri: format!("{REDIRECT}/x"),
        ..rp.clone()
    };
    assert_page(&srv, &srv.authorize_url(&prefix, &[]), "not registered").await;
    assert_page(
        &srv,
        &srv.authorize_url(&rp, &[("redirect_uri", "")]),
        "redirect_uri is missing",
    )
    .await;
    // Even a bad response_type is not redirected while the redirect URI is untrusted.
    assert_page(
        &srv,
        &srv.authorize_url(&other, &[("response_type", "token")]),
        "not registered",
    )
    .await;
    // A client of another tenant is unknown here.
    srv.tenant("other", &[]).await;
    let foreign = Rp {
        tenant: "other".into(),
        ..rp.clone()
    };
    assert_page(
        &srv,
        &srv.authorize_url(&foreign, &[]),
        "Unknown application",
    )
    .await;
}
both_backends!(
    untrusted_client_or_redirect_is_a_page,
    super::untrusted_client_or_redirect_is_a_page
);

/// A list column an operator broke by hand loads empty: that client's redirect URI is refused,
/// while listing the tenant's clients (and its other clients) keeps working.
async fn hand_edited_client_list_refuses_only_that_client(backend: Backend) {
    let (srv, rp, public) = setup(backend).await;
    gatehouse::with_db!(&srv.state.db, |pool| {
        sqlx::query("UPDATE clients SET redirect_uris = 'not json' WHERE id = $1")
            .bind(&rp.client_id)
            .execute(pool)
            .await
            .expect("corrupt redirect_uris");
    });
    assert_page(&srv, &srv.authorize_url(&rp, &[]), "not registered").await;
    // The other client's redirect URI is still trusted: its errors go back to it.
    let res = srv
        .http()
        .get(srv.authorize_url(&public, &[("response_type", "token")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with(REDIRECT));
    let listed = srv.cli_json(&["client", "list", "acme"]).await;
    let broken = listed["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == rp.client_id.as_str())
        .expect("the broken client is still listed");
    assert_eq!(broken["redirect_uris"], serde_json::json!([]));
}
both_backends!(
    hand_edited_client_list_refuses_only_that_client,
    super::hand_edited_client_list_refuses_only_that_client
);

async fn errors_redirect_with_exact_codes(backend: Backend) {
    let (srv, rp, public) = setup(backend).await;
    // (client, extra parameters, expected error)
    type Case<'a> = (&'a Rp, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (&rp, vec![("response_type", "")], "invalid_request"),
        (
            &rp,
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (
            &rp,
            vec![("response_type", "code id_token")],
            "unsupported_response_type",
        ),
        (&rp, vec![("scope", "email profile")], "invalid_scope"),
        (
            &rp,
            vec![("request", "eyJhbGciOiJub25lIn0.e30.")],
            "request_not_supported",
        ),
        (
            &rp,
            vec![("request_uri", "https://rp.example/req")],
            "request_uri_not_supported",
        ),
        (&rp, vec![("prompt", "none login")], "invalid_request"),
        (&rp, vec![("prompt", "bogus")], "invalid_request"),
        (&rp, vec![("max_age", "-1")], "invalid_request"),
        (&rp, vec![("max_age", "soon")], "invalid_request"),
        (&rp, vec![("claims", "not json")], "invalid_request"),
        (&rp, vec![("response_mode", "fragment")], "invalid_request"),
        (
            &rp,
            vec![
                (
                    "code_challenge",
                    "abcdefghijabcdefghijabcdefghijabcdefghij123",
                ),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
        ),
        (
            &rp,
            vec![("code_challenge_method", "S256")],
            "invalid_request",
        ),
        (&public, vec![], "invalid_request"),
        (&rp, vec![("prompt", "none")], "login_required"),
    ];
    for (client, extra, error) in cases {
        assert_redirect_error(&srv, client, &srv.authorize_url(client, &extra), error).await;
    }

    // A client without the authorization_code grant.
    let tenant = gatehouse::store::tenants::get_by_slug(&srv.state.db, "acme")
        .await
        .unwrap();
    let mut c = gatehouse::store::clients::NewClient {
        id: "m2m".into(),
        tenant_id: tenant.id,
        name: "Machine".into(),
        secret_hash: Some("x".into()),
        is_public: false,
        first_party: true,
        token_endpoint_auth_method: gatehouse::model::TokenAuthMethod::ClientSecretBasic,
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["client_credentials".into()],
        mfa_policy: gatehouse::model::ClientMfaPolicy::Inherit,
        trust_policy: gatehouse::model::TrustPolicy::Any,
        id_token_alg: gatehouse::model::SigningAlg::Rs256,
        access_token_alg: gatehouse::model::SigningAlg::Rs256,
        access_token_ttl_secs: 60,
        id_token_ttl_secs: 60,
        refresh_token_ttl_secs: 60,
        scope: String::new(),
        offline_access: false,
        web_origins: Vec::new(),
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
    };
    gatehouse::store::clients::create(&srv.state.db, &c)
        .await
        .unwrap();
    c.id = "m2m".into();
    let m2m = Rp {
        client_id: c.id.to_string(),
        ..rp.clone()
    };
    assert_redirect_error(
        &srv,
        &m2m,
        &srv.authorize_url(&m2m, &[]),
        "unauthorized_client",
    )
    .await;

    // Duplicated parameters are refused (RFC 6749 §3.1), as a page: nothing is trusted yet.
    let dup = format!("{}&state=again", srv.authorize_url(&rp, &[]));
    let res = srv.http().get(&dup).send().await.unwrap();
    assert_eq!(res.status(), 400);

    // POST /authorize works like GET.
    let url = url::Url::parse(&srv.authorize_url(&rp, &[("response_type", "token")])).unwrap();
    let res = srv
        .http()
        .post(format!("{}/authorize", srv.issuer("acme")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(url.query().unwrap().to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(query(&location(&res))["error"], "unsupported_response_type");
}
both_backends!(
    errors_redirect_with_exact_codes,
    super::errors_redirect_with_exact_codes
);

async fn form_post_errors_are_an_html_form(backend: Backend) {
    let (srv, rp, _) = setup(backend).await;
    let url = srv.authorize_url(&rp, &[("response_mode", "form_post"), ("prompt", "none")]);
    let res = Browser::new().get(&url).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let form = common::browser::form(&html, &url);
    assert_eq!(form.action, REDIRECT);
    assert_eq!(form.get("error"), Some("login_required"));
    assert_eq!(form.get("state"), Some("st-123"));
    assert_eq!(form.get("iss"), Some(srv.issuer("acme").as_str()));
    // No inline script: the auto-submit is an external file allowed by the CSP.
    assert!(html.contains("/static/default/form_post.js"));
    assert!(!html.contains("<script>"));
}
both_backends!(
    form_post_errors_are_an_html_form,
    super::form_post_errors_are_an_html_form
);
