//! The relying-party half of the demo application: what any OpenID Connect client does, written
//! out in full so a newcomer can read it. The authorization request with PKCE S256, state and
//! nonce (OIDC Core §3.1.2.1, RFC 7636 §4), the code exchange at the token endpoint over HTTP
//! with `client_secret_basic` (RFC 6749 §4.1.3, §2.3.1), and the ID token validation of OIDC
//! Core §3.1.3.7.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::crypto::jwt;
use crate::crypto::keys::KeySet;
use crate::crypto::random;

/// How long the token endpoint may take before the demo page gives up.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Which kind of sign-in a button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A plain authorization request: the tenant's policy decides.
    Plain,
    /// `acr_values=mfa`: a second factor, enrolled on the spot when the user has none.
    Mfa,
    /// `prompt=login`: authenticate again even with a live SSO session (OIDC Core §3.1.2.1).
    Again,
}

impl Mode {
    fn extra(self) -> Option<(&'static str, &'static str)> {
        match self {
            Mode::Plain => None,
            Mode::Mfa => Some(("acr_values", "mfa")),
            Mode::Again => Some(("prompt", "login")),
        }
    }
}

/// What the browser's flow cookie carries between the start and the callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub state: String,
    pub nonce: String,
    /// RFC 7636 §4.1: the secret half of PKCE, never sent to the browser in the clear.
    pub code_verifier: String,
    pub mode: Mode,
    /// Unix time after which the callback refuses it.
    pub expires_at: i64,
}

impl Pending {
    pub fn new(mode: Mode, now: i64, ttl_secs: i64) -> Pending {
        Pending {
            state: random::token(16),
            nonce: random::token(16),
            code_verifier: random::token(32),
            mode,
            expires_at: now + ttl_secs,
        }
    }

    /// RFC 7636 §4.2: `BASE64URL(SHA256(code_verifier))`.
    pub fn code_challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.code_verifier.as_bytes()))
    }

    /// The authorization request for `authorize_endpoint`.
    pub fn authorize_url(
        &self,
        authorize_endpoint: &str,
        client_id: &str,
        redirect_uri: &str,
    ) -> String {
        let challenge = self.code_challenge();
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", "openid email profile"),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ];
        params.extend(self.mode.extra());
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        format!("{authorize_endpoint}?{query}")
    }
}

/// Why the demo application could not show a signed-in result; each says what went wrong in
/// words a newcomer can act on (none of them carries a token or the secret).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpError {
    #[error("the token endpoint could not be reached")]
    Unreachable,
    #[error("the token endpoint refused the code: {0}")]
    Refused(String),
    #[error("the token endpoint's answer has no id_token")]
    NoIdToken,
    #[error("the ID token's signature does not verify against the tenant's keys")]
    Signature,
    #[error("the ID token's `{0}` claim is missing or wrong")]
    Claim(&'static str),
    #[error("the ID token has expired")]
    Expired,
}

/// The client's side of the code exchange.
pub struct Exchange<'a> {
    pub token_endpoint: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub redirect_uri: &'a str,
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
    error: Option<String>,
}

/// RFC 6749 §2.3.1: the id and secret are form-encoded before they go into the Basic header.
fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl Exchange<'_> {
    /// Redeems `code` and returns the ID token (the access token is not needed here).
    pub async fn id_token(
        &self,
        http: &reqwest::Client,
        code: &str,
        code_verifier: &str,
    ) -> Result<String, RpError> {
        let res = http
            .post(self.token_endpoint)
            .timeout(TOKEN_TIMEOUT)
            .basic_auth(
                form_encode(self.client_id),
                Some(form_encode(self.client_secret)),
            )
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", self.redirect_uri),
                ("code_verifier", code_verifier),
            ])
            .send()
            .await
            .map_err(|e| {
                // reqwest's error names the URL (no secret in it) and the cause.
                tracing::warn!(error = %e, "demo app: token endpoint unreachable");
                RpError::Unreachable
            })?;
        let status = res.status();
        let answer: TokenAnswer = res.json().await.map_err(|_| {
            RpError::Refused(format!("HTTP {} without a JSON body", status.as_u16()))
        })?;
        if !status.is_success() {
            return Err(RpError::Refused(
                answer
                    .error
                    .unwrap_or_else(|| format!("HTTP {}", status.as_u16())),
            ));
        }
        answer.id_token.ok_or(RpError::NoIdToken)
    }
}

/// What a valid ID token must say (OIDC Core §3.1.3.7).
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
}

/// OIDC Core §3.1.3.7: the signature (steps 6–8, by `kid` against the tenant's published keys,
/// the same set its JWKS serves), `iss` (2), `aud` and `azp` (3–5), `exp` (9) and `nonce` (11).
/// Returns the claims.
pub fn validate_id_token(
    keys: &KeySet,
    token: &str,
    expected: &Expected<'_>,
    now: i64,
) -> Result<Map<String, Value>, RpError> {
    let claims = jwt::verify(keys, token)
        .map_err(|_| RpError::Signature)?
        .claims;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(expected.issuer) {
        return Err(RpError::Claim("iss"));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(RpError::Claim("aud"));
    }
    if audiences.len() > 1 && text("azp") != Some(expected.client_id) {
        return Err(RpError::Claim("azp"));
    }
    match claims.get("exp").and_then(Value::as_i64) {
        None => return Err(RpError::Claim("exp")),
        Some(exp) if exp <= now => return Err(RpError::Expired),
        Some(_) => {}
    }
    if text("nonce") != Some(expected.nonce) {
        return Err(RpError::Claim("nonce"));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SigningAlg;
    use serde_json::json;

    const ISS: &str = "http://127.0.0.1:8080/t/demo";

    fn token(keys: &KeySet, claims: Value) -> String {
        let Value::Object(map) = claims else {
            unreachable!()
        };
        jwt::sign(keys, SigningAlg::Rs256, "JWT", map).unwrap()
    }

    fn good() -> Value {
        json!({"iss": ISS, "aud": "app", "sub": "u1", "exp": 2000, "iat": 1000,
               "nonce": "n1", "amr": ["pwd"], "acr": "pwd", "auth_time": 1000})
    }

    #[test]
    fn a_valid_token_passes_and_each_wrong_claim_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeySet::load_or_create(dir.path(), 1000).unwrap();
        let expected = Expected {
            issuer: ISS,
            client_id: "app",
            nonce: "n1",
        };
        let check =
            |claims: Value| validate_id_token(&keys, &token(&keys, claims), &expected, 1500);
        let claims = check(good()).unwrap();
        assert_eq!(claims["amr"], json!(["pwd"]));

        let with = |k: &str, v: Value| {
            let mut c = good();
            c[k] = v;
            c
        };
        let named = |r: Result<_, RpError>| match r {
            Err(RpError::Claim(c)) => c,
            other => panic!("a named claim, got {other:?}"),
        };
        assert_eq!(named(check(with("iss", json!("https://evil")))), "iss");
        assert_eq!(named(check(with("aud", json!("other")))), "aud");
        assert_eq!(named(check(with("aud", json!(["app", "other"])))), "azp");
        assert!(check(with("aud", json!(["app"]))).is_ok());
        let mut azp = with("aud", json!(["app", "other"]));
        azp["azp"] = json!("app");
        assert!(check(azp).is_ok());
        assert_eq!(named(check(with("nonce", json!("replayed")))), "nonce");
        let mut no_exp = good();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert_eq!(named(check(no_exp)), "exp");
        assert!(matches!(
            check(with("exp", json!(1500))),
            Err(RpError::Expired)
        ));

        // Signed by another key set (another tenant, a forger): refused.
        let other_dir = tempfile::tempdir().unwrap();
        let other = KeySet::load_or_create(other_dir.path(), 1000).unwrap();
        assert!(matches!(
            validate_id_token(&keys, &token(&other, good()), &expected, 1500),
            Err(RpError::Signature)
        ));
    }

    #[test]
    fn the_authorization_request_carries_pkce_state_nonce_and_the_mode() {
        let p = Pending::new(Mode::Mfa, 1000, 600);
        assert_eq!(p.expires_at, 1600);
        assert_ne!(p.state, p.nonce);
        let url = p.authorize_url(&format!("{ISS}/authorize"), "app", "http://x/cb");
        let q: std::collections::HashMap<String, String> = url::Url::parse(&url)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], p.code_challenge());
        assert_eq!(q["state"], p.state);
        assert_eq!(q["nonce"], p.nonce);
        assert_eq!(q["acr_values"], "mfa");
        assert!(!q.contains_key("prompt"));
        assert!(!url.contains(&p.code_verifier));
        let again = Pending::new(Mode::Again, 0, 1).authorize_url(ISS, "app", "http://x/cb");
        assert!(again.contains("prompt=login") && !again.contains("acr_values"));
        // RFC 7636 appendix B.
        let b = Pending {
            code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
            ..p
        };
        assert_eq!(
            b.code_challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
