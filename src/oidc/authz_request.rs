//! The authorization request after validation: what the login transaction carries from
//! `/authorize` to the finish, and the wire rules for answering it (RFC 6749 §4.1.2, RFC 9207,
//! OAuth 2.0 Form Post Response Mode).

use super::scope::Scope;
use crate::ids::ClientId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Query,
    FormPost,
}

/// The scopes Gatehouse knows; others are ignored (OIDC Core §3.1.2.1 lets servers ignore
/// unknown scope values).
pub const SUPPORTED_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];

/// A validated authorization request. `redirect_uri` is one of the client's registered URIs,
/// byte for byte; everything the MFA stage needs (`acr_values`, `claims`, `max_age`) is kept.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuthRequest {
    pub client_id: ClientId,
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub scope: Scope,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Vec<String>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    pub acr_values: Vec<String>,
    pub claims: Option<serde_json::Value>,
}

impl AuthRequest {
    /// A sign-in for `client_id` with nothing asked beyond `openid` (what the MFA policy sees
    /// when no request parameter raises it).
    pub fn plain(client_id: &ClientId) -> AuthRequest {
        AuthRequest {
            client_id: client_id.to_owned(),
            redirect_uri: String::new(),
            response_mode: ResponseMode::Query,
            scope: Scope::from_iter(["openid"]),
            state: None,
            nonce: None,
            code_challenge: None,
            code_challenge_method: None,
            prompt: vec![],
            max_age: None,
            login_hint: None,
            ui_locales: None,
            acr_values: vec![],
            claims: None,
        }
    }

    pub fn has_prompt(&self, p: &str) -> bool {
        self.prompt.iter().any(|x| x == p)
    }

    /// The `acr` values requested as essential through the `claims` parameter
    /// (OIDC Core §5.5.1.1), e.g. `{"id_token":{"acr":{"essential":true,"values":["mfa"]}}}`.
    pub fn essential_acr(&self) -> Vec<String> {
        let Some(acr) = self
            .claims
            .as_ref()
            .and_then(|c| c.get("id_token"))
            .and_then(|c| c.get("acr"))
        else {
            return Vec::new();
        };
        if acr.get("essential").and_then(|e| e.as_bool()) != Some(true) {
            return Vec::new();
        }
        let mut out: Vec<String> = acr
            .get("values")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(v) = acr.get("value").and_then(|v| v.as_str()) {
            out.push(v.to_owned());
        }
        out
    }
}
