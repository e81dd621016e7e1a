//! Fuzz harnesses for every parser that reads outside input, on the stable toolchain (proptest).
//! Each target feeds (a) arbitrary bytes or text and (b) structure-aware inputs, and checks that
//! the parser never panics and returns a value or its typed error, plus the cheap invariants it
//! documents (a repeated parameter voids the form, round trips where they exist).
//!
//! `FUZZ_CASES` sets the cases per target (default 256, so `cargo test` stays fast);
//! `scripts/fuzz-long` runs the same targets in release with many more (docs/security.md#fuzzing).
//! Every crash found becomes a named regression test at the end of this file.

use std::collections::HashMap;
use std::fmt::Debug;
use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Instant;

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use gatehouse::config::Config;
use gatehouse::crypto::jwt;
use gatehouse::crypto::keys::KeySet;
use gatehouse::model::{ClientMfaPolicy, SigningAlg, TokenAuthMethod, TrustPolicy};
use gatehouse::oidc::authorize::{self, MAX_LENGTHS, Rejection};
use gatehouse::oidc::client_auth::{self, Presented};
use gatehouse::oidc::scope::Scope;
use gatehouse::oidc::{bearer, claims, client_assertion, form as oidc_form};
use gatehouse::store::clients::Client;
use gatehouse::web::client_ip::{self, IpNet};
use gatehouse::web::i18n::Catalog;
use gatehouse::web::{cookies, form as web_form};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};

// --- the runner ----------------------------------------------------------------------------

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Runs `test` on `cases()` inputs drawn from `strategy`; a failure (a panic included) is
/// reported with the shrunk input. Prints the executions per second (`--nocapture`).
fn fuzz<S>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: Debug,
{
    let cases = cases();
    let mut runner = TestRunner::new(RunnerConfig {
        cases,
        // Crashes become named regression tests in this file, not files beside it.
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    let start = Instant::now();
    if let Err(e) = runner.run(&strategy, test) {
        panic!("fuzz target {name}: {e}");
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "fuzz {name}: {cases} cases in {secs:.2} s ({:.0}/s)",
        f64::from(cases) / secs
    );
}

// --- strategies ----------------------------------------------------------------------------

/// Any bytes, biased towards the separators and escapes the form parsers care about.
fn form_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => any::<u8>().prop_map(|b| vec![b]),
        2 => any::<u8>().prop_map(|b| format!("%{b:02X}").into_bytes()),
        1 => any::<u8>().prop_map(|b| format!("%{b:02x}").into_bytes()),
        1 => prop_oneof![
            Just(&b"%"[..]), Just(&b"%z"[..]), Just(&b"%4"[..]), Just(&b"+"[..]),
            Just(&b"="[..]), Just(&b"&"[..]), Just(&b"&&"[..]), Just(&b"=="[..]),
            Just(&b"%C3%A9"[..]), Just(&b"%F0%9F%98"[..]), Just(&b"\xff"[..]),
        ]
        .prop_map(<[u8]>::to_vec),
    ];
    vec(piece, 0..48).prop_map(|p| p.concat())
}

const NAMES: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "nonce",
    "prompt",
    "max_age",
    "code_challenge",
    "code_challenge_method",
    "login_hint",
    "acr_values",
    "ui_locales",
    "claims",
    "request",
    "request_uri",
    "id_token_hint",
    "grant_type",
    "code",
    "code_verifier",
    "refresh_token",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];

/// A parameter name: a known one (sometimes percent-encoded) or random text.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(NAMES).prop_map(str::to_owned),
        1 => proptest::sample::select(NAMES).prop_map(|n| {
            n.bytes().map(|b| format!("%{b:02X}")).collect()
        }),
        1 => "[a-z_%+=]{0,8}",
    ]
}

/// A value: short text, a huge run, or raw form bytes (random percent-encoding).
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[ -~]{0,24}",
        2 => form_bytes().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        1 => ("[a-zA-Z0-9%]{1,3}", 1000usize..20_000).prop_map(|(s, n)| s.repeat(n / 3 + 1)),
        1 => ".{0,16}",
    ]
}

/// `k=v&k=v...` written as the wire shows it (values percent-encoded or not), with the pairs.
fn query() -> impl Strategy<Value = (Vec<u8>, Vec<(String, String)>)> {
    vec((name(), value(), any::<bool>(), any::<bool>()), 0..12).prop_map(|pairs| {
        let mut raw = Vec::new();
        let mut plain = Vec::new();
        for (i, (k, v, encode, no_eq)) in pairs.into_iter().enumerate() {
            if i > 0 {
                raw.push(b'&');
            }
            raw.extend_from_slice(k.as_bytes());
            if !no_eq {
                raw.push(b'=');
            }
            if encode {
                raw.extend(form_urlencoded::byte_serialize(v.as_bytes()).flat_map(str::bytes));
            } else if !no_eq {
                raw.extend_from_slice(v.as_bytes());
            }
            plain.push((k, v));
        }
        (raw, plain)
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        proptest::sample::select(
            &[
                "id_token",
                "userinfo",
                "acr",
                "essential",
                "values",
                "value",
                "email",
                "sub"
            ][..]
        )
        .prop_map(str::to_owned),
        ".{0,6}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,10}".prop_map(Value::from),
        Just(json!("mfa")),
    ];
    leaf.prop_recursive(5, 48, 6, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// JSON text: a generated value, its text mangled, or deep nesting.
fn json_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => json_value().prop_map(|v| v.to_string()),
        2 => (json_value(), any::<usize>(), ".{0,3}").prop_map(|(v, at, junk)| {
            let mut s = v.to_string();
            let mut at = at % (s.len() + 1);
            while !s.is_char_boundary(at) {
                at -= 1;
            }
            s.insert_str(at, &junk);
            s
        }),
        1 => (1usize..5000, prop_oneof![Just("["), Just("{\"a\":"), Just("{\"id_token\":")])
            .prop_map(|(n, open)| open.repeat(n)),
        // Deep but well formed, around serde_json's nesting limit (128).
        1 => (100usize..140, any::<bool>()).prop_map(|(n, obj)| if obj {
            format!("{}1{}", "{\"id_token\":".repeat(n), "}".repeat(n))
        } else {
            format!("{{\"id_token\":{}{}}}", "[".repeat(n), "]".repeat(n))
        }),
        1 => ".{0,64}",
    ]
}

/// Base64url of random bytes, of JSON, or not base64 at all.
fn b64_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => vec(any::<u8>(), 0..64).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
        3 => json_value().prop_map(|v| URL_SAFE_NO_PAD.encode(v.to_string())),
        1 => "[A-Za-z0-9_=+/-]{0,40}",
        1 => ".{0,12}",
    ]
}

/// A JWS-looking `a.b.c` (sometimes two or four segments).
fn compact() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (b64_segment(), b64_segment(), b64_segment())
            .prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        1 => vec(b64_segment(), 0..6).prop_map(|s| s.join(".")),
        1 => ".{0,80}",
    ]
}

fn headers_with(name: header::HeaderName, values: &[Vec<u8>]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for v in values {
        if let Ok(v) = HeaderValue::from_bytes(v) {
            h.append(name.clone(), v);
        }
    }
    h
}

// --- fixtures ------------------------------------------------------------------------------

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

/// One key set (every algorithm) for the whole file, and one token signed with each key.
fn keys() -> &'static (tempfile::TempDir, KeySet, Vec<String>) {
    static KEYS: OnceLock<(tempfile::TempDir, KeySet, Vec<String>)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let set = KeySet::load_or_create(dir.path(), 1000).unwrap();
        let tokens = SigningAlg::ALL
            .iter()
            .map(|alg| {
                let mut c = Map::new();
                c.insert("sub".into(), "alice".into());
                c.insert("iss".into(), "https://idp.example".into());
                jwt::sign(&set, *alg, "JWT", c).unwrap()
            })
            .collect();
        (dir, set, tokens)
    })
}

// --- targets -------------------------------------------------------------------------------

/// `web::form::parse_params`: the `/authorize` query and form, `end_session`, every hosted form.
#[test]
fn fuzz_web_form_parse_params() {
    fuzz("web::form::parse_params bytes", form_bytes(), |raw| {
        if let Ok(map) = web_form::parse_params(&raw) {
            // Round trip: what it read, written back and read again, is the same map.
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &map {
                s.append_pair(k, v);
            }
            prop_assert_eq!(web_form::parse_params(s.finish().as_bytes()), Ok(map));
        }
        Ok(())
    });
    fuzz("web::form::parse_params pairs", query(), |(mut raw, _)| {
        let parsed = web_form::parse_params(&raw);
        // A name given twice voids the form.
        if let Some(k) = parsed.as_ref().ok().and_then(|m| m.keys().next().cloned()) {
            raw.extend_from_slice(b"&");
            raw.extend(form_urlencoded::byte_serialize(k.as_bytes()).flat_map(str::bytes));
            raw.extend_from_slice(b"=again");
            prop_assert!(web_form::parse_params(&raw).is_err());
        }
        Ok(())
    });
}

/// `oidc::form::parse_unique`: the token, revocation, introspection and userinfo bodies.
#[test]
fn fuzz_oidc_form_parse_unique() {
    let check = |raw: &[u8]| -> Result<(), TestCaseError> {
        if let Ok(map) = oidc_form::parse_unique(raw) {
            prop_assert!(
                map.values().all(|v| !v.is_empty()),
                "an empty value is omitted"
            );
            // The strict parser accepts nothing the lenient one reads differently.
            let lenient = web_form::parse_params(raw);
            prop_assert!(lenient.is_ok(), "lenient parser refused {:?}", raw);
            let lenient: HashMap<_, _> = lenient
                .unwrap()
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .collect();
            prop_assert_eq!(&lenient, &map);
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &map {
                s.append_pair(k, v);
            }
            prop_assert_eq!(oidc_form::parse_unique(s.finish().as_bytes()), Ok(map));
        }
        Ok(())
    };
    fuzz("oidc::form::parse_unique bytes", form_bytes(), |raw| {
        check(&raw)
    });
    fuzz("oidc::form::parse_unique pairs", query(), |(mut raw, _)| {
        check(&raw)?;
        let parsed = oidc_form::parse_unique(&raw);
        if let Some(k) = parsed.as_ref().ok().and_then(|m| m.keys().next().cloned()) {
            raw.extend_from_slice(b"&");
            raw.extend(form_urlencoded::byte_serialize(k.as_bytes()).flat_map(str::bytes));
            raw.extend_from_slice(b"=x");
            prop_assert!(
                oidc_form::parse_unique(&raw).is_err(),
                "a repeat must void the form"
            );
        }
        Ok(())
    });
}

/// `web::cookies::get` (and `device_token`): the `Cookie` headers.
#[test]
fn fuzz_cookies_get() {
    let cookie_names = prop_oneof![
        Just(cookies::SESSION.to_owned()),
        Just(cookies::BROWSER.to_owned()),
        Just(cookies::DEVICE.to_owned()),
        "[ -~]{0,6}",
    ];
    let header_value = prop_oneof![
        2 => vec(any::<u8>(), 0..64),
        3 => vec((cookie_names.clone(), "[ -~]{0,12}", prop_oneof![Just("; "), Just(";"), Just(" ;"), Just("")]), 0..8)
            .prop_map(|pairs| pairs
                .into_iter()
                .map(|(k, v, sep)| format!("{k}={v}{sep}"))
                .collect::<String>()
                .into_bytes()),
    ];
    fuzz(
        "web::cookies::get",
        (vec(header_value, 0..4), cookie_names),
        |(values, name)| {
            let h = headers_with(header::COOKIE, &values);
            let _ = cookies::device_token(&h);
            if let Some(v) = cookies::get(&h, &name) {
                prop_assert!(!v.is_empty() && !v.contains(';'));
                let pair = format!("{name}={v}");
                prop_assert!(
                    h.get_all(header::COOKIE)
                        .iter()
                        .any(|hv| hv.to_str().is_ok_and(|s| s.contains(&pair)))
                );
            }
            Ok(())
        },
    );
}

/// `oidc::authorize::validate` on what `parse_params` read: the whole `/authorize` check list,
/// including the `claims`, `scope`, `prompt`, `max_age` and PKCE parsing.
#[test]
fn fuzz_authorize_request() {
    let base: Vec<(String, String)> = [
        ("client_id", "app"),
        ("redirect_uri", "https://app.example/cb"),
        ("response_type", "code"),
        ("scope", "openid email"),
        ("state", "s"),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGmSFW-cM0",
        ),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let special = prop_oneof![
        json_text().prop_map(|v| ("claims".to_owned(), v)),
        ".{0,20}".prop_map(|v| ("max_age".to_owned(), v)),
        "(none|login|consent|create|x| ){0,6}".prop_map(|v| ("prompt".to_owned(), v)),
        "(openid|email|profile|offline_access|\u{0}| ){0,8}".prop_map(|v| ("scope".to_owned(), v)),
    ];
    let overrides = vec(
        prop_oneof![(name(), value()), special, (name(), Just(String::new()))],
        0..6,
    );
    fuzz(
        "oidc::authorize::validate",
        (overrides, query(), any::<u8>()),
        |(overrides, (raw, _), which)| {
            // Either a mostly valid request with some values changed, or a random query.
            let params = if which % 4 == 0 {
                match web_form::parse_params(&raw) {
                    Ok(p) => p,
                    Err(_) => return Ok(()),
                }
            } else {
                let mut p: HashMap<String, String> = base.iter().cloned().collect();
                p.extend(overrides);
                p
            };
            let c = match which % 3 {
                0 => None,
                1 => Some(client(true)),
                _ => Some(client(false)),
            };
            match authorize::validate(&params, c.as_ref()) {
                Ok(req) => {
                    prop_assert!(c.is_some());
                    prop_assert!(req.scope.contains("openid"));
                    for (name, max) in MAX_LENGTHS {
                        prop_assert!(params.get(*name).is_none_or(|v| v.len() <= *max));
                    }
                    let _ = req.essential_acr();
                    // What the login transaction stores reads back.
                    let text = serde_json::to_string(&req).unwrap();
                    let back: gatehouse::oidc::authz_request::AuthRequest =
                        serde_json::from_str(&text).unwrap();
                    prop_assert_eq!(back.redirect_uri, req.redirect_uri);
                    prop_assert_eq!(back.state, req.state);
                }
                Err(Rejection::Redirect(e)) => {
                    // A redirect goes only to a registered URI.
                    prop_assert_eq!(e.redirect_uri.as_str(), "https://app.example/cb");
                }
                Err(Rejection::Page { .. }) => {}
            }
            Ok(())
        },
    );
}

/// `claims::requested_claims` and `AuthRequest::essential_acr`: the stored `claims` parameter.
#[test]
fn fuzz_claims_parameter() {
    fuzz(
        "oidc::claims::requested_claims",
        (json_text(), prop_oneof![Just("id_token"), Just("userinfo")]),
        |(text, member)| {
            let names = claims::requested_claims(Some(&text), member);
            if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&text) {
                let want: Vec<String> = m
                    .get(member)
                    .and_then(Value::as_object)
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default();
                prop_assert_eq!(names, want);
                let mut req = gatehouse::oidc::authz_request::AuthRequest::plain(&"app".into());
                req.claims = Some(Value::Object(m));
                let _ = req.essential_acr();
            } else {
                prop_assert!(names.is_empty());
            }
            Ok(())
        },
    );
}

/// `Scope::parse`: the token request's `scope` (refresh, client_credentials).
#[test]
fn fuzz_scope_parse() {
    let text = prop_oneof![
        ".{0,40}",
        "(openid|email|[!-~]{1,6}| |  ){0,10}",
        vec(any::<u8>(), 0..40).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ];
    fuzz("oidc::scope::Scope::parse", text, |text| {
        if let Ok(scope) = Scope::parse(&text) {
            let again = Scope::parse(&scope.to_string());
            prop_assert_eq!(again.as_ref(), Ok(&scope));
            let tokens: Vec<&str> = scope.iter().collect();
            for (i, t) in tokens.iter().enumerate() {
                prop_assert!(!t.is_empty() && !t.contains(' '));
                prop_assert!(!tokens[..i].contains(t), "tokens are distinct");
            }
        }
        Ok(())
    });
}

/// `client_auth::presented`: the `Authorization: Basic` header beside the form's credentials.
#[test]
fn fuzz_client_auth_header() {
    let id_or_secret = prop_oneof!["[ -~]{0,16}", ".{0,8}", Just(":".to_owned())];
    let header_value = prop_oneof![
        // Well formed: form-urlencoded id and secret, then base64.
        3 => (id_or_secret.clone(), id_or_secret.clone(), prop_oneof![Just("Basic "), Just("basic "), Just("BASIC ")])
            .prop_map(|(id, secret, scheme)| {
                let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                let cred = STANDARD.encode(format!("{}:{}", enc(&id), enc(&secret)));
                format!("{scheme}{cred}").into_bytes()
            }),
        // Random base64 of random bytes with random colons.
        2 => vec(prop_oneof![any::<u8>(), Just(b':'), Just(b'%')], 0..40)
            .prop_map(|b| format!("Basic {}", STANDARD.encode(b)).into_bytes()),
        1 => "Basic [A-Za-z0-9+/=: ]{0,30}".prop_map(String::into_bytes),
        1 => vec(any::<u8>(), 0..40),
    ];
    let form_part = vec(
        (
            proptest::sample::select(
                &[
                    "client_id",
                    "client_secret",
                    "client_assertion",
                    "client_assertion_type",
                ][..],
            ),
            prop_oneof![
                "[ -~]{0,12}".boxed(),
                compact().boxed(),
                Just("urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned()).boxed(),
            ],
        ),
        0..4,
    );
    fuzz(
        "oidc::client_auth::presented",
        (proptest::option::of(header_value), form_part),
        |(value, form)| {
            let values: Vec<Vec<u8>> = value.into_iter().collect();
            let h = headers_with(header::AUTHORIZATION, &values);
            let form: HashMap<String, String> =
                form.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            let _ = client_auth::presented(&h, &form);
            Ok(())
        },
    );
    // Round trip: a Basic header built by the RFC 6749 §2.3.1 rules reads back as written.
    fuzz(
        "oidc::client_auth::presented basic round trip",
        ("[ -~]{1,16}", ".{1,16}"),
        |(id, secret)| {
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let cred = STANDARD.encode(format!("{}:{}", enc(&id), enc(&secret)));
            let h = headers_with(
                header::AUTHORIZATION,
                &[format!("Basic {cred}").into_bytes()],
            );
            let got = client_auth::presented(&h, &HashMap::new()).map_err(|e| e.code);
            prop_assert_eq!(got, Ok(Presented::Basic { id, secret }));
            Ok(())
        },
    );
}

/// `bearer::from_header`: the `Authorization: Bearer` header of userinfo.
#[test]
fn fuzz_bearer_header() {
    let value = prop_oneof![
        vec(any::<u8>(), 0..48),
        ("(Bearer|bearer|BEARER|Basic|)", "[ \t]{0,2}", compact())
            .prop_map(|(s, sp, t)| format!("{s} {sp}{t}").into_bytes()),
    ];
    fuzz("oidc::bearer::from_header", vec(value, 0..3), |values| {
        let h = headers_with(header::AUTHORIZATION, &values);
        if let Ok(Some(t)) = bearer::from_header(&h) {
            prop_assert!(!t.is_empty() && t.trim() == t);
        }
        Ok(())
    });
}

/// `crypto::jwt::verify`: every JWT that comes from outside (bearer access tokens,
/// `id_token_hint`), against a real key set.
#[test]
fn fuzz_jwt_verify() {
    let (_, set, tokens) = keys();
    let kids: Vec<String> = SigningAlg::ALL
        .iter()
        .map(|a| set.active(*a).unwrap().kid.clone())
        .collect();
    // A header that names one of our keys, with any algorithm, then random payload/signature.
    let forged_header = (
        proptest::sample::select(kids),
        prop_oneof![
            Just("RS256"),
            Just("ES256"),
            Just("EdDSA"),
            Just("none"),
            Just("HS256"),
            Just("PS256"),
            Just(""),
        ],
        proptest::option::of(prop_oneof![Just("JWT"), Just("at+jwt")]),
        b64_segment(),
        b64_segment(),
    )
        .prop_map(|(kid, alg, typ, payload, sig)| {
            let mut h = json!({"kid": kid, "alg": alg});
            if let Some(t) = typ {
                h["typ"] = t.into();
            }
            format!("{}.{payload}.{sig}", URL_SAFE_NO_PAD.encode(h.to_string()))
        });
    // A real token with one byte changed, a segment swapped or truncated.
    let mutated = (
        proptest::sample::select(tokens.clone()),
        any::<usize>(),
        any::<u8>(),
        0u8..4,
    )
        .prop_map(|(t, at, b, how)| {
            let mut bytes = t.into_bytes();
            let at = at % bytes.len();
            match how {
                0 => bytes[at] = b,
                1 => bytes.truncate(at),
                2 => bytes.insert(at, b),
                _ => bytes.retain(|c| *c != b'.' || at % 2 == 0),
            }
            String::from_utf8_lossy(&bytes).into_owned()
        });
    fuzz(
        "crypto::jwt::verify",
        prop_oneof![2 => compact(), 2 => forged_header, 3 => mutated],
        |token| {
            if let Ok(v) = jwt::verify(set, &token) {
                // Only a token we signed verifies, and it says what we signed.
                prop_assert_eq!(v.claims.get("sub"), Some(&json!("alice")));
                prop_assert_eq!(v.claims.len(), 2);
            }
            Ok(())
        },
    );
}

/// `client_assertion::claimed_client_id`: the unverified `sub` of a `private_key_jwt`
/// assertion, read before the client (and its keys) is known.
#[test]
fn fuzz_client_assertion_claimed_id() {
    fuzz(
        "oidc::client_assertion::claimed_client_id",
        prop_oneof![
            compact(),
            (b64_segment(), ".{0,20}", b64_segment()).prop_map(|(a, sub, c)| {
                let p = URL_SAFE_NO_PAD.encode(json!({"sub": sub, "iss": sub}).to_string());
                format!("{a}.{p}.{c}")
            }),
        ],
        |assertion| {
            let got = client_assertion::claimed_client_id(&assertion);
            if let Some(payload) = assertion.split('.').nth(1)
                && let Ok(bytes) = URL_SAFE_NO_PAD.decode(payload)
                && let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(&bytes)
                && let Some(Value::String(sub)) = m.get("sub")
                && assertion.len() <= client_assertion::MAX_ASSERTION_BYTES
            {
                prop_assert_eq!(got.as_deref(), Some(sub.as_str()));
            }
            Ok(())
        },
    );
}

/// `IpNet::from_str` (`server.trusted_proxies`) and `client_ip::resolve` (`X-Forwarded-For`).
#[test]
fn fuzz_client_ip() {
    let net = prop_oneof![
        ".{0,20}",
        (any::<[u8; 4]>(), 0u16..300).prop_map(|(a, p)| format!("{}/{p}", IpAddr::from(a))),
        (any::<[u8; 16]>(), 0u16..300).prop_map(|(a, p)| format!("{}/{p}", IpAddr::from(a))),
    ];
    let xff = prop_oneof![
        vec(any::<u8>(), 0..40),
        vec(
            prop_oneof![
                any::<[u8; 4]>().prop_map(|a| IpAddr::from(a).to_string()),
                any::<[u8; 16]>().prop_map(|a| IpAddr::from(a).to_string()),
                "[0-9a-f:. ]{0,12}",
            ],
            0..6
        )
        .prop_map(|v| v.join(",").into_bytes()),
    ];
    fuzz(
        "web::client_ip::{IpNet::from_str, resolve}",
        (vec(net, 0..4), vec(xff, 0..3), any::<[u8; 4]>()),
        |(nets, xff, peer)| {
            let nets: Vec<IpNet> = nets.iter().filter_map(|n| n.parse().ok()).collect();
            let h = headers_with(header::HeaderName::from_static("x-forwarded-for"), &xff);
            let peer = IpAddr::from(peer);
            let ip = client_ip::resolve(peer, &h, &nets);
            if !nets.iter().any(|n| n.contains(peer)) {
                prop_assert_eq!(ip, peer, "an untrusted peer cannot spoof its address");
            }
            let _ = client_ip::limit_key(ip);
            Ok(())
        },
    );
}

/// `Catalog::pick` / `negotiate`: `ui_locales`, the language cookie and `Accept-Language`.
#[test]
fn fuzz_language_negotiation() {
    let catalog = Catalog::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("themes"));
    let langs: Vec<String> = catalog.languages().iter().map(|s| s.to_string()).collect();
    fuzz(
        "web::i18n::Catalog::{pick, negotiate}",
        (
            proptest::option::of(".{0,30}"),
            vec(vec(any::<u8>(), 0..40), 0..2),
            "([a-zA-Z-]{0,6}(;q=[0-9.]{0,4})?[ ,]{0,2}){0,5}",
        ),
        |(ui, accept, prefs)| {
            if let Some(l) = catalog.pick(&prefs) {
                prop_assert!(langs.contains(&l));
            }
            let h = headers_with(header::ACCEPT_LANGUAGE, &accept);
            let _ = catalog.negotiate(ui.as_deref(), &h);
            Ok(())
        },
    );
}

/// `Config::load`: the operator's TOML file over the embedded defaults.
#[test]
fn fuzz_config_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let section = proptest::sample::select(
        &[
            "server", "database", "keys", "tokens", "password", "login", "otp", "metrics", "demo",
            "console", "mail", "sms", "api",
        ][..],
    );
    let key = prop_oneof![
        proptest::sample::select(
            &[
                "bind",
                "public_url",
                "max_body_bytes",
                "trusted_proxies",
                "url",
                "memory_kib",
                "iterations",
                "parallelism",
                "max_concurrent",
                "max_queue",
                "transport",
                "from",
                "idle_timeout_secs",
                "requests_per_minute_per_key",
                "sweep_interval_secs",
                "enabled",
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-z_]{1,8}",
    ];
    let toml_value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        "[ -~&&[^\"\\\\]]{0,16}".prop_map(|s| format!("\"{s}\"")),
        vec("[0-9./:a-f]{0,12}", 0..3).prop_map(|v| format!("{v:?}")),
        Just("{}".to_owned()),
        Just("1e999".to_owned()),
        "[ -~]{0,8}",
    ];
    let structured = vec((section, vec((key, toml_value), 0..4)), 0..4).prop_map(|sections| {
        sections
            .into_iter()
            .map(|(s, kv)| {
                let body: String = kv
                    .into_iter()
                    .map(|(k, v)| format!("{k} = {v}\n"))
                    .collect();
                format!("[{s}]\n{body}")
            })
            .collect::<String>()
    });
    fuzz(
        "config::Config::load",
        prop_oneof![3 => structured, 1 => ".{0,80}"],
        |text| {
            std::fs::write(&path, &text).unwrap();
            let _ = Config::load(&path, true);
            Ok(())
        },
    );
}

// --- regression tests: every crash the fuzzers found -----------------------------------------

/// `oidc::form::parse_unique` read `%+a` as the byte 0x0a (`u8::from_str_radix` takes a sign),
/// where every other form parser (and a proxy in front) keeps `%+a` as the text `% a`: the two
/// would disagree on the value of a secret or a code.
#[test]
fn regression_parse_unique_percent_sign_is_not_a_hex_digit() {
    assert!(oidc_form::parse_unique(b"=%+a=").is_err());
    assert!(oidc_form::parse_unique(b"client_secret=%+a").is_err());
    assert!(oidc_form::parse_unique(b"code=%-0").is_err());
    assert_eq!(oidc_form::parse_unique(b"code=%0a").unwrap()["code"], "\n");
}

/// A `claims` parameter nested 127 levels deep passed `/authorize` (serde_json reads up to
/// 128), but the login transaction stores it inside the request, one level deeper, and that
/// row no longer read back: the sign-in failed as "expired". Such nesting is now refused.
#[test]
fn regression_deep_claims_are_refused_so_the_stored_request_reads_back() {
    let base = [
        ("client_id", "app"),
        ("redirect_uri", "https://app.example/cb"),
        ("response_type", "code"),
        ("scope", "openid"),
    ];
    let with_claims = |claims: String| -> HashMap<String, String> {
        let mut p: HashMap<String, String> = base
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        p.insert("claims".into(), claims);
        p
    };
    let nested = |n: usize| format!("{}1{}", "{\"id_token\":".repeat(n), "}".repeat(n));
    let deep = authorize::validate(&with_claims(nested(127)), Some(&client(false)));
    match deep {
        Err(Rejection::Redirect(e)) => assert_eq!(e.error, "invalid_request"),
        other => panic!("expected invalid_request, got {other:?}"),
    }
    // The deepest accepted request round-trips through its stored form.
    let req = authorize::validate(
        &with_claims(nested(authorize::MAX_CLAIMS_DEPTH)),
        Some(&client(false)),
    )
    .unwrap();
    let text = serde_json::to_string(&req).unwrap();
    let back: gatehouse::oidc::authz_request::AuthRequest = serde_json::from_str(&text).unwrap();
    assert_eq!(back, req);
}
