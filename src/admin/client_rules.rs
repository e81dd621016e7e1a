//! What a client registration may hold: the checks `client create` and `client update` (and
//! the admin API's POST and PATCH) share, so both refuse the same values with the same words.

use url::Url;

use super::AdminError;
use super::AdminResult;
use crate::oidc::scope::Scope;

/// RFC 6749 §3.1.2 and OAuth 2.0 Security BCP §4.1: an absolute URI without fragment, https
/// except on loopback (local development), or a private-use scheme for native apps (RFC 8252
/// §7.1, reverse-domain with a dot). Matching later is exact string comparison.
pub fn validate_redirect_uri(uri: &str) -> Result<String, String> {
    let bad = |why: &str| format!("invalid redirect URI `{uri}`: {why}");
    let url = Url::parse(uri).map_err(|e| {
        bad(&format!(
            "{e}; expected an absolute URL such as https://app.example.com/callback"
        ))
    })?;
    if url.fragment().is_some() {
        return Err(bad("must not contain a fragment"));
    }
    match url.scheme() {
        "https" => {}
        "http" => {
            let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            if !loopback {
                return Err(bad(
                    "http is allowed only for localhost/127.0.0.1; use https",
                ));
            }
        }
        s if s.contains('.') => {}
        _ => {
            return Err(bad(
                "expected https (or http on loopback, or a reverse-domain private scheme)",
            ));
        }
    }
    if url.host_str().is_none() && matches!(url.scheme(), "http" | "https") {
        return Err(bad("missing host"));
    }
    Ok(uri.to_owned())
}

/// Scope values that need a user, so they mean nothing for client_credentials (the only grant
/// the registered scope governs): refused at registration rather than silently dropped.
const USER_SCOPES: &[&str] = &["openid", "offline_access"];

/// A refresh token lives at most a year, whatever `tokens.max_lifetime_secs` says (that bounds
/// the signed tokens).
pub(super) const MAX_REFRESH_TTL_SECS: i64 = 365 * 86_400;

/// Back-Channel Logout 1.0 §2.2: an absolute http(s) URL without fragment (http only on
/// loopback, as for redirect URIs); Gatehouse POSTs to it from the server, so no app scheme.
pub fn validate_backchannel_uri(uri: &str) -> Result<String, String> {
    let checked = validate_redirect_uri(uri)
        .map_err(|e| e.replace("redirect URI", "back-channel logout URI"))?;
    if !(checked.starts_with("https://") || checked.starts_with("http://")) {
        return Err(format!(
            "invalid back-channel logout URI `{uri}`: expected an https URL"
        ));
    }
    Ok(checked)
}

/// A client's registered scope (RFC 6749 §3.3 tokens, normalised to single spaces, duplicates
/// dropped), at most 1024 bytes like the `scope` parameter at /authorize.
pub fn validate_scope(text: &str) -> Result<String, String> {
    if text.len() > 1024 {
        return Err("longer than 1024 bytes".into());
    }
    let scope = Scope::parse(text)?;
    if let Some(s) = USER_SCOPES.iter().find(|s| scope.contains(s)) {
        return Err(format!(
            "`{s}` needs a signed-in user; client_credentials tokens have none \
             (the authorization code flow asks for it at /authorize)"
        ));
    }
    Ok(scope.to_string())
}

// The checks `create` and `update` share. Each error names the field as the admin API and
// `client get --json` spell it, so a 400 says which value to fix.

pub(super) fn invalid(field: &str) -> impl Fn(String) -> AdminError + '_ {
    move |e| AdminError::Invalid(format!("{field}: {e}"))
}

/// A lifetime in seconds, 1 to `max`.
pub(super) fn ttl(v: i64, max: i64, field: &str) -> AdminResult<i64> {
    if v <= 0 || v > max {
        return Err(invalid(field)(format!(
            "expected seconds between 1 and {max}"
        )));
    }
    Ok(v)
}

/// Redirect URIs (or post-logout ones) as registered: each checked, matched exactly later.
pub(super) fn uri_list(field: &str, uris: &[String]) -> AdminResult<Vec<String>> {
    uris.iter()
        .map(|u| validate_redirect_uri(u))
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid(field))
}

pub(super) fn redirect_uris(uris: &[String]) -> AdminResult<Vec<String>> {
    if uris.is_empty() {
        return Err(invalid("redirect_uris")(
            "at least one is required (--redirect-uri)".into(),
        ));
    }
    uri_list("redirect_uris", uris)
}

pub(super) fn web_origins(origins: &[String]) -> AdminResult<Vec<String>> {
    origins
        .iter()
        .map(|o| crate::oidc::cors::validate_origin(o))
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid("web_origins"))
}

pub(super) fn backchannel_uri(uri: &str) -> AdminResult<String> {
    validate_backchannel_uri(uri).map_err(invalid("backchannel_logout_uri"))
}

/// The registered scope of a client, `public` or not (a public client has no
/// client_credentials, the only grant the scope governs).
pub(super) fn client_scope(public: bool, text: &str) -> AdminResult<String> {
    let scope = validate_scope(text).map_err(invalid("scope"))?;
    if public && !scope.is_empty() {
        return Err(invalid("scope")(
            "public clients cannot use client_credentials, the grant it governs".into(),
        ));
    }
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::{validate_redirect_uri as v, validate_scope};

    #[test]
    fn scope_rules() {
        assert_eq!(validate_scope("read  write read").unwrap(), "read write");
        assert_eq!(validate_scope("").unwrap(), "");
        assert!(
            validate_scope("read openid")
                .unwrap_err()
                .contains("openid")
        );
        assert!(validate_scope("offline_access").is_err());
        assert!(validate_scope("caf\u{e9}").is_err());
        assert!(validate_scope(&"a".repeat(1025)).is_err());
    }

    #[test]
    fn redirect_uri_rules() {
        assert!(v("https://app.example.com/cb").is_ok());
        assert!(v("http://localhost:9000/callback").is_ok());
        assert!(v("http://127.0.0.1:1234/cb").is_ok());
        assert!(v("com.example.app:/oauth2redirect").is_ok());
        assert!(v("http://app.example.com/cb").is_err());
        assert!(v("https://app.example.com/cb#frag").is_err());
        assert!(v("not a uri").is_err());
        assert!(v("/relative/cb").is_err());
        assert!(v("javascript:alert(1)").is_err());
    }
}
