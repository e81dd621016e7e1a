//! `/authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2): validates the request through one ordered
//! list of named checks, then hands over to the hosted login (or answers at once when the SSO
//! session suffices). This module never renders HTML itself: it returns an [`Outcome`].
//!
//! Order matters: until the client and its redirect URI are known to be genuine, errors are shown
//! as a page and never redirected (RFC 6749 §4.1.2.1); after that, every error goes back to the
//! client with `error`, `error_description`, `state` and `iss`.

use std::collections::HashMap;

use super::authz_request::{AuthRequest, ResponseMode, SUPPORTED_SCOPES};
use super::scope::Scope;
use crate::ids::ClientId;
use crate::store::clients::Client;

/// A failed check: either a page for the user (client/redirect not trusted) or an error for the
/// client, delivered to its redirect URI.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejection {
    Page {
        title: &'static str,
        message: String,
    },
    Redirect(Box<ClientError>),
}

/// An error response to send to the client's redirect URI.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientError {
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub state: Option<String>,
    pub error: &'static str,
    pub description: String,
}

type Params = HashMap<String, String>;

/// The longest value accepted for each parameter, in bytes after URL decoding. Everything in
/// this table ends up in the login transaction row (or decides which client is asked), so the
/// table bounds what one unauthenticated request can make the server store: about 20 KiB in
/// all (a unit test pins 24 KiB), where a 1.9 MB `claims` used to be kept for the whole
/// transaction lifetime. Each number leaves ample room for real clients: `state` and
/// `redirect_uri` are opaque or URL values that clients keep to browser URL sizes (2 KiB is the
/// classic safe URL length); a `claims` request for every standard claim is under 1 KiB, so
/// 8 KiB is generous; the others are short tokens or enumerations. Parameters that are not kept
/// (unknown ones, `display`, `id_token_hint`) are bounded only by the request cap.
pub const MAX_LENGTHS: &[(&str, usize)] = &[
    ("client_id", 256),
    ("redirect_uri", 2048),
    ("state", 2048),
    ("nonce", 512),
    ("scope", 1024),
    ("response_type", 64),
    ("response_mode", 32),
    ("code_challenge", 128),
    ("code_challenge_method", 16),
    ("prompt", 64),
    // i64 seconds never need more than 19 digits; ten covers three centuries.
    ("max_age", 10),
    ("login_hint", 256),
    ("acr_values", 512),
    ("ui_locales", 128),
    ("claims", 8192),
];

/// The maximum length of `name`, if it has one.
pub fn max_length(name: &str) -> Option<usize> {
    MAX_LENGTHS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, max)| *max)
}

fn too_long(d: &Draft, name: &str) -> bool {
    max_length(name).is_some_and(|max| d.params.get(name).is_some_and(|v| v.len() > max))
}

/// What the checks build up as they pass.
struct Draft<'a> {
    params: &'a Params,
    client: Option<&'a Client>,
    redirect_uri: Option<String>,
    response_mode: ResponseMode,
    req: Option<AuthRequest>,
}

type Check = fn(&mut Draft) -> Result<(), Rejection>;

/// The validation order, one named check per line (cf. node-oidc-provider's authorization
/// actions). Checks before `check_redirect_uri` can only produce pages.
const CHECKS: &[(&str, Check)] = &[
    ("check_identity_lengths", check_identity_lengths),
    ("check_client", check_client),
    ("check_redirect_uri", check_redirect_uri),
    ("check_lengths", check_lengths),
    ("check_response_mode", check_response_mode),
    ("check_request_object", check_request_object),
    ("check_response_type", check_response_type),
    ("check_client_grant", check_client_grant),
    ("check_scope", check_scope),
    ("check_pkce", check_pkce),
    ("check_prompt", check_prompt),
    ("check_max_age", check_max_age),
    ("check_claims", check_claims),
];

/// Runs every check in order. `client` is the client named by `client_id` in this tenant.
pub fn validate(params: &Params, client: Option<&Client>) -> Result<AuthRequest, Rejection> {
    let mut d = Draft {
        params,
        client,
        redirect_uri: None,
        response_mode: ResponseMode::Query,
        req: None,
    };
    for (name, check) in CHECKS {
        if let Err(r) = check(&mut d) {
            tracing::debug!(check = name, "authorization request rejected");
            return Err(r);
        }
    }
    d.req
        .ok_or_else(|| page("Invalid request", "The request could not be understood."))
}

fn page(title: &'static str, message: &str) -> Rejection {
    Rejection::Page {
        title,
        message: message.to_owned(),
    }
}

fn get<'a>(d: &'a Draft, name: &str) -> Option<&'a str> {
    d.params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

impl Draft<'_> {
    fn reject(&self, error: &'static str, description: &str) -> Rejection {
        Rejection::Redirect(Box::new(ClientError {
            redirect_uri: self.redirect_uri.clone().unwrap_or_default(),
            response_mode: self.response_mode,
            // An oversized state is not echoed: the response must stay a sane URL, and the
            // client's own check will then refuse it.
            state: get(self, "state")
                .filter(|_| !too_long(self, "state"))
                .map(str::to_owned),
            error,
            description: description.to_owned(),
        }))
    }
}

/// Until the client and its redirect URI are genuine, an oversized value can only get a page.
fn check_identity_lengths(d: &mut Draft) -> Result<(), Rejection> {
    if ["client_id", "redirect_uri"].iter().any(|n| too_long(d, n)) {
        return Err(page(
            "Invalid request",
            "The sign-in request is longer than this service accepts, so it was not started.",
        ));
    }
    Ok(())
}

/// Every other bounded parameter: one byte over its maximum and the request goes back to the
/// client as `invalid_request` before anything is stored.
fn check_lengths(d: &mut Draft) -> Result<(), Rejection> {
    if let Some((name, max)) = MAX_LENGTHS.iter().find(|(n, _)| too_long(d, n)) {
        return Err(d.reject(
            "invalid_request",
            &format!("{name} is longer than {max} bytes"),
        ));
    }
    Ok(())
}

fn check_client(d: &mut Draft) -> Result<(), Rejection> {
    if get(d, "client_id").is_none() {
        return Err(page(
            "Unknown application",
            "The application did not say who it is (client_id is missing).",
        ));
    }
    if d.client.is_none() {
        return Err(page(
            "Unknown application",
            "The application that sent you here is not registered with this sign-in service.",
        ));
    }
    Ok(())
}

/// RFC 6749 §3.1.2.3 / OIDC Core §3.1.2.1: exact string match against a registered URI.
fn check_redirect_uri(d: &mut Draft) -> Result<(), Rejection> {
    let Some(uri) = get(d, "redirect_uri") else {
        return Err(page(
            "Invalid redirect",
            "The application did not say where to send you back (redirect_uri is missing).",
        ));
    };
    let registered = d
        .client
        .is_some_and(|c| c.redirect_uris.iter().any(|r| r == uri));
    if !registered {
        return Err(page(
            "Invalid redirect",
            "The address the application asked to return to is not registered for it, so you \
             were not sent there.",
        ));
    }
    d.redirect_uri = Some(uri.to_owned());
    Ok(())
}

fn check_response_mode(d: &mut Draft) -> Result<(), Rejection> {
    match get(d, "response_mode") {
        None | Some("query") => d.response_mode = ResponseMode::Query,
        Some("form_post") => d.response_mode = ResponseMode::FormPost,
        Some(_) => {
            return Err(d.reject("invalid_request", "unsupported response_mode"));
        }
    }
    Ok(())
}

/// OIDC Core §6: request objects are not supported (discovery says so).
fn check_request_object(d: &mut Draft) -> Result<(), Rejection> {
    if get(d, "request").is_some() {
        return Err(d.reject("request_not_supported", "request objects are not supported"));
    }
    if get(d, "request_uri").is_some() {
        return Err(d.reject("request_uri_not_supported", "request_uri is not supported"));
    }
    Ok(())
}

fn check_response_type(d: &mut Draft) -> Result<(), Rejection> {
    match get(d, "response_type") {
        None => Err(d.reject("invalid_request", "response_type is required")),
        Some("code") => Ok(()),
        Some(_) => Err(d.reject(
            "unsupported_response_type",
            "only response_type=code is supported",
        )),
    }
}

fn check_client_grant(d: &mut Draft) -> Result<(), Rejection> {
    let allowed = d
        .client
        .is_some_and(|c| c.has_grant_type("authorization_code"));
    if !allowed {
        return Err(d.reject(
            "unauthorized_client",
            "the client may not use the authorization code grant",
        ));
    }
    Ok(())
}

fn check_scope(d: &mut Draft) -> Result<(), Rejection> {
    let requested: Vec<&str> = get(d, "scope").unwrap_or("").split_whitespace().collect();
    if !requested.contains(&"openid") {
        return Err(d.reject("invalid_scope", "scope must include openid"));
    }
    let scope: Scope = SUPPORTED_SCOPES
        .iter()
        .copied()
        .filter(|s| requested.contains(s))
        .collect();
    let req = AuthRequest {
        client_id: ClientId::from(get(d, "client_id").unwrap_or_default()),
        redirect_uri: d.redirect_uri.clone().unwrap_or_default(),
        response_mode: d.response_mode,
        scope,
        state: get(d, "state").map(str::to_owned),
        nonce: get(d, "nonce").map(str::to_owned),
        code_challenge: None,
        code_challenge_method: None,
        prompt: Vec::new(),
        max_age: None,
        login_hint: get(d, "login_hint").map(str::to_owned),
        ui_locales: get(d, "ui_locales").map(str::to_owned),
        acr_values: get(d, "acr_values")
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        claims: None,
    };
    d.req = Some(req);
    Ok(())
}

/// RFC 7636 and OAuth Security BCP §2.1.1: S256 only; required for public clients.
fn check_pkce(d: &mut Draft) -> Result<(), Rejection> {
    let challenge = get(d, "code_challenge");
    let method = get(d, "code_challenge_method");
    let public = d.client.is_some_and(|c| c.is_public);
    match (challenge, method) {
        (None, Some(_)) => Err(d.reject(
            "invalid_request",
            "code_challenge is required with code_challenge_method",
        )),
        (None, None) if public => Err(d.reject(
            "invalid_request",
            "PKCE with S256 is required for public clients",
        )),
        (None, None) => Ok(()),
        (Some(_), Some("plain")) | (Some(_), None) => Err(d.reject(
            "invalid_request",
            "code_challenge_method must be S256 (plain is not allowed)",
        )),
        (Some(_), Some(m)) if m != "S256" => {
            Err(d.reject("invalid_request", "code_challenge_method must be S256"))
        }
        (Some(c), Some(_)) => {
            // BASE64URL(SHA-256) is 43 characters; RFC 7636 §4.2 bounds 43-128.
            let ok = (43..=128).contains(&c.len())
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            if !ok {
                return Err(d.reject("invalid_request", "code_challenge is malformed"));
            }
            let c = c.to_owned();
            if let Some(req) = d.req.as_mut() {
                req.code_challenge = Some(c);
                req.code_challenge_method = Some("S256".into());
            }
            Ok(())
        }
    }
}

fn check_prompt(d: &mut Draft) -> Result<(), Rejection> {
    let values: Vec<String> = get(d, "prompt")
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if values
        .iter()
        .any(|v| !["none", "login", "consent", "select_account", "create"].contains(&v.as_str()))
    {
        return Err(d.reject("invalid_request", "unsupported prompt value"));
    }
    // OIDC Core §3.1.2.1: `none` must not be combined with any other value.
    if values.iter().any(|v| v == "none") && values.len() > 1 {
        return Err(d.reject(
            "invalid_request",
            "prompt=none cannot be combined with other values",
        ));
    }
    if let Some(req) = d.req.as_mut() {
        req.prompt = values;
    }
    Ok(())
}

fn check_max_age(d: &mut Draft) -> Result<(), Rejection> {
    if let Some(v) = get(d, "max_age") {
        let Ok(n) = v.parse::<i64>() else {
            return Err(d.reject("invalid_request", "max_age must be a non-negative integer"));
        };
        if n < 0 {
            return Err(d.reject("invalid_request", "max_age must be a non-negative integer"));
        }
        if let Some(req) = d.req.as_mut() {
            req.max_age = Some(n);
        }
    }
    Ok(())
}

/// How deeply a `claims` value may nest. OIDC Core §5.5 needs four levels
/// (`{"id_token":{"acr":{"values":[…]}}}`); the bound keeps the stored request, which wraps the
/// value one level deeper, under serde_json's nesting limit (128), so it always reads back.
pub const MAX_CLAIMS_DEPTH: usize = 32;

fn depth(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        serde_json::Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// OIDC Core §5.5: the `claims` parameter is a JSON object; kept for claim release and the MFA
/// stage (essential `acr`).
fn check_claims(d: &mut Draft) -> Result<(), Rejection> {
    if let Some(v) = get(d, "claims") {
        match serde_json::from_str::<serde_json::Value>(v) {
            Ok(obj @ serde_json::Value::Object(_)) if depth(&obj) <= MAX_CLAIMS_DEPTH => {
                if let Some(req) = d.req.as_mut() {
                    req.claims = Some(obj);
                }
            }
            _ => return Err(d.reject("invalid_request", "claims must be a JSON object")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
