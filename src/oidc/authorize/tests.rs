use super::*;
use crate::model::{ClientMfaPolicy, SigningAlg, TokenAuthMethod, TrustPolicy};

fn client(public: bool) -> Client {
    Client {
        id: "app".into(),
        tenant_id: "t".into(),
        name: "App".into(),
        secret_hash: (!public).then(|| "h".into()),
        is_public: public,
        first_party: false,
        token_endpoint_auth_method: TokenAuthMethod::ClientSecretBasic,
        redirect_uris: vec!["https://app.example/cb".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        mfa_policy: ClientMfaPolicy::Inherit,
        trust_policy: TrustPolicy::Any,
        id_token_alg: SigningAlg::Rs256,
        access_token_alg: SigningAlg::Rs256,
        access_token_ttl_secs: 600,
        id_token_ttl_secs: 600,
        refresh_token_ttl_secs: 600,
        scope: String::new(),
        offline_access: false,
        jwks: None,
        jwks_uri: None,
        web_origins: Vec::new(),
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
        created_at: 0,
        updated_at: 0,
        version: 1,
    }
}

fn params(extra: &[(&str, &str)]) -> Params {
    let mut p: Params = [
        ("client_id", "app"),
        ("redirect_uri", "https://app.example/cb"),
        ("response_type", "code"),
        ("scope", "openid email bogus"),
        ("state", "s"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        p.insert(k.to_string(), v.to_string());
    }
    p
}

fn error_of(r: Result<AuthRequest, Rejection>) -> String {
    match r {
        Err(Rejection::Redirect(e)) => e.error.to_string(),
        Err(Rejection::Page { title, .. }) => format!("page: {title}"),
        Ok(_) => "ok".into(),
    }
}

#[test]
fn valid_request_is_normalised() {
    let c = client(false);
    let req = validate(
        &params(&[
            (
                "claims",
                r#"{"id_token":{"acr":{"essential":true,"values":["mfa"]}}}"#,
            ),
            ("acr_values", "mfa phr"),
            ("max_age", "60"),
        ]),
        Some(&c),
    )
    .unwrap();
    assert_eq!(
        req.scope.to_string(),
        "openid email",
        "unknown scopes dropped"
    );
    assert_eq!(req.acr_values, vec!["mfa", "phr"]);
    assert_eq!(req.max_age, Some(60));
    assert_eq!(req.essential_acr(), vec!["mfa"]);
    assert_eq!(req.response_mode, ResponseMode::Query);
}

#[test]
fn checks_run_in_order() {
    let c = client(false);
    let p = client(true);
    // (client, extra parameters, expected outcome)
    type Case<'a> = (Option<&'a Client>, &'a [(&'a str, &'a str)], &'a str);
    let table: &[Case] = &[
        (None, &[], "page: Unknown application"),
        (
            Some(&c),
            &[("redirect_uri", "https://app.example/other")],
            "page: Invalid redirect",
        ),
        // A bad redirect wins over every later error: nothing is redirected to it.
        (
            Some(&c),
            &[
                ("redirect_uri", "https://evil.example/cb"),
                ("response_type", "token"),
            ],
            "page: Invalid redirect",
        ),
        (
            Some(&c),
            &[("response_mode", "fragment")],
            "invalid_request",
        ),
        (
            Some(&c),
            &[("request", "x"), ("response_type", "token")],
            "request_not_supported",
        ),
        (
            Some(&c),
            &[("request_uri", "x")],
            "request_uri_not_supported",
        ),
        (
            Some(&c),
            &[("response_type", "token")],
            "unsupported_response_type",
        ),
        (Some(&c), &[("scope", "email")], "invalid_scope"),
        (Some(&p), &[], "invalid_request"),
        (
            Some(&c),
            &[
                ("code_challenge", "short"),
                ("code_challenge_method", "S256"),
            ],
            "invalid_request",
        ),
        (Some(&c), &[("prompt", "none consent")], "invalid_request"),
        (Some(&c), &[("max_age", "x")], "invalid_request"),
        (Some(&c), &[("claims", "[1]")], "invalid_request"),
        (Some(&c), &[], "ok"),
    ];
    for (cl, extra, want) in table {
        assert_eq!(error_of(validate(&params(extra), *cl)), *want, "{extra:?}");
    }
}

#[test]
fn pkce_s256_is_kept_for_public_clients() {
    let p = client(true);
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let req = validate(
        &params(&[
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ]),
        Some(&p),
    )
    .unwrap();
    assert_eq!(req.code_challenge.as_deref(), Some(challenge));
    assert_eq!(req.code_challenge_method.as_deref(), Some("S256"));
}

#[test]
fn lengths_are_checked_after_the_client_is_trusted() {
    let c = client(false);
    let long = |n: &str| "a".repeat(max_length(n).unwrap() + 1);
    // Over the maximum: back to the client; an oversized state is not echoed.
    for name in [
        "nonce",
        "login_hint",
        "claims",
        "acr_values",
        "ui_locales",
        "max_age",
    ] {
        let v = long(name);
        let r = validate(&params(&[(name, v.as_str())]), Some(&c));
        let Err(Rejection::Redirect(e)) = r else {
            panic!("{name}: {r:?}");
        };
        assert_eq!(e.error, "invalid_request", "{name}");
        assert_eq!(e.state.as_deref(), Some("s"), "{name}");
    }
    let v = long("state");
    let Err(Rejection::Redirect(e)) = validate(&params(&[("state", v.as_str())]), Some(&c)) else {
        panic!("state");
    };
    assert_eq!(e.state, None);
    // client_id / redirect_uri: a page, even for a known client.
    for name in ["client_id", "redirect_uri"] {
        let v = long(name);
        let r = validate(&params(&[(name, v.as_str())]), Some(&c));
        assert!(matches!(r, Err(Rejection::Page { .. })), "{name}: {r:?}");
    }
    // Before the client is known an oversized claims is still only a page.
    let v = long("claims");
    assert_eq!(
        error_of(validate(&params(&[("claims", v.as_str())]), None)),
        "page: Unknown application"
    );
}

/// What one request can make the server store: every kept parameter at its maximum, made of
/// characters JSON must escape where the parameter allows them. The README's worst case for
/// the transactions table uses this bound.
#[test]
fn worst_case_stored_request_is_bounded() {
    let mut c = client(false);
    let redirect = format!("https://app.example/cb?{}", "\"".repeat(2048 - 23));
    c.redirect_uris = vec![redirect.clone()];
    let quotes = |n: &str| "\"".repeat(max_length(n).unwrap());
    let claims = format!(r#"{{"x":"{}"}}"#, "\\\"".repeat((8192 - 8) / 2));
    let acr = "a ".repeat(256);
    let id = "i".repeat(256);
    let (state, nonce, hint, locales) = (
        quotes("state"),
        quotes("nonce"),
        quotes("login_hint"),
        quotes("ui_locales"),
    );
    let challenge = "a".repeat(128);
    let req = validate(
        &params(&[
            ("client_id", id.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("login_hint", hint.as_str()),
            ("ui_locales", locales.as_str()),
            ("claims", claims.as_str()),
            ("acr_values", acr.trim_end()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("scope", "openid profile email phone offline_access"),
            ("prompt", "login consent select_account"),
            ("max_age", "9999999999"),
        ]),
        Some(&c),
    )
    .unwrap();
    let stored = serde_json::to_string(&req).unwrap().len();
    assert!(stored <= 24 * 1024, "{stored} bytes");
}
