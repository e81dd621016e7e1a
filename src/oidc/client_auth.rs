//! Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3,
//! OIDC Core §9): `client_secret_basic`, `client_secret_post`, `private_key_jwt`, or `none` for
//! public clients. A client must use the one method it is registered with
//! (`token_endpoint_auth_method`); presenting more than one at once is refused.

use crate::ids::ClientId;
use std::collections::HashMap;

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::client_assertion::{self, ASSERTION_TYPE};
use super::error::OAuthError;
use crate::crypto::random;
use crate::model::{TokenAuthMethod, now};
use crate::state::AppState;
use crate::store::{clients::Client, tenants::Tenant};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    Basic { id: String, secret: String },
    Post { id: String, secret: String },
    None { id: String },
    Assertion { id: String, assertion: String },
}

impl Presented {
    pub fn client_id(&self) -> &str {
        match self {
            Presented::Basic { id, .. }
            | Presented::Post { id, .. }
            | Presented::None { id }
            | Presented::Assertion { id, .. } => id,
        }
    }
    /// The registered method these credentials belong to.
    fn method(&self) -> TokenAuthMethod {
        match self {
            Presented::Basic { .. } => TokenAuthMethod::ClientSecretBasic,
            Presented::Post { .. } => TokenAuthMethod::ClientSecretPost,
            Presented::None { .. } => TokenAuthMethod::None,
            Presented::Assertion { .. } => TokenAuthMethod::PrivateKeyJwt,
        }
    }
    fn used_basic(&self) -> bool {
        matches!(self, Presented::Basic { .. })
    }
}

/// RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64.
fn form_decode(s: &str) -> Option<String> {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

/// Reads which credentials the request presents, without checking them.
pub fn presented(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<Presented, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        });
    let form_id = form.get("client_id").filter(|s| !s.is_empty());
    let form_secret = form.get("client_secret").filter(|s| !s.is_empty());
    let assertion = form.get("client_assertion").filter(|s| !s.is_empty());
    let assertion_type = form.get("client_assertion_type").filter(|s| !s.is_empty());
    if assertion.is_some() || assertion_type.is_some() {
        if basic.is_some() || form_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use only one client authentication method",
            ));
        }
        return presented_assertion(form_id, assertion, assertion_type);
    }
    if let Some(b64) = basic {
        if form_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use only one client authentication method",
            ));
        }
        let decoded = STANDARD
            .decode(b64.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| OAuthError::invalid_client(true))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| OAuthError::invalid_client(true))?;
        let id = form_decode(id).ok_or_else(|| OAuthError::invalid_client(true))?;
        let secret = form_decode(secret).ok_or_else(|| OAuthError::invalid_client(true))?;
        if form_id.is_some_and(|f| *f != id) {
            return Err(OAuthError::invalid_request(
                "client_id does not match the credentials",
            ));
        }
        return Ok(Presented::Basic { id, secret });
    }
    match (form_id, form_secret) {
        (Some(id), Some(secret)) => Ok(Presented::Post {
            id: id.clone(),
            secret: secret.clone(),
        }),
        (Some(id), None) => Ok(Presented::None { id: id.clone() }),
        _ => Err(OAuthError::invalid_client(false)),
    }
}

/// RFC 7521 §4.2: both parameters, the jwt-bearer type, and a `client_id` (optional) naming the
/// client the assertion is about.
fn presented_assertion(
    form_id: Option<&String>,
    assertion: Option<&String>,
    assertion_type: Option<&String>,
) -> Result<Presented, OAuthError> {
    let (Some(assertion), Some(kind)) = (assertion, assertion_type) else {
        return Err(OAuthError::invalid_request(
            "client_assertion and client_assertion_type go together",
        ));
    };
    if kind != ASSERTION_TYPE {
        return Err(OAuthError::invalid_client(false));
    }
    let id = client_assertion::claimed_client_id(assertion)
        .ok_or_else(|| OAuthError::invalid_client(false))?;
    if form_id.is_some_and(|f| *f != id) {
        return Err(OAuthError::invalid_client(false));
    }
    Ok(Presented::Assertion {
        id,
        assertion: assertion.clone(),
    })
}

/// Authenticates the client of `tenant` (whose issuer is `issuer`, the audience of assertions)
/// by its registered method only: the secret is compared in constant time against its stored
/// SHA-256, an assertion is verified against the client's keys, and a public client presents
/// its id alone.
pub async fn authenticate(
    state: &AppState,
    tenant: &Tenant,
    issuer: &str,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<Arc<Client>, OAuthError> {
    let p = presented(headers, form)?;
    let fail = || OAuthError::invalid_client(p.used_basic());
    let client = state
        .client(&tenant.id, &ClientId::from(p.client_id()))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "client lookup failed");
            OAuthError::server_error()
        })?
        .ok_or_else(fail)?;
    if p.method() != client.token_endpoint_auth_method {
        tracing::info!(client_id = %client.id, used = %p.method(),
            registered = %client.token_endpoint_auth_method, "client used another auth method");
        return Err(fail());
    }
    let ok = match (&p, client.is_public, client.secret_hash.as_deref()) {
        (Presented::None { .. }, true, _) => true,
        (Presented::Basic { secret, .. } | Presented::Post { secret, .. }, false, Some(hash)) => {
            random::verify_sha256(secret, hash)
        }
        (Presented::Assertion { assertion, .. }, false, _) => {
            match client_assertion::verify(&state.db, &client, issuer, assertion, now()).await {
                Ok(()) => true,
                Err(client_assertion::Refusal::Store) => return Err(OAuthError::server_error()),
                Err(why) => {
                    tracing::info!(client_id = %client.id, reason = why.as_str(), "client assertion refused");
                    false
                }
            }
        }
        _ => false,
    };
    if !ok {
        return Err(fail());
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_each_method() {
        let mut h = HeaderMap::new();
        let b = STANDARD.encode("my%20id:s%3Acret");
        h.insert(header::AUTHORIZATION, format!("Basic {b}").parse().unwrap());
        assert_eq!(
            presented(&h, &form(&[])).unwrap(),
            Presented::Basic {
                id: "my id".into(),
                secret: "s:cret".into()
            }
        );
        let empty = HeaderMap::new();
        assert_eq!(
            presented(&empty, &form(&[("client_id", "a"), ("client_secret", "b")])).unwrap(),
            Presented::Post {
                id: "a".into(),
                secret: "b".into()
            }
        );
        assert_eq!(
            presented(&empty, &form(&[("client_id", "a")])).unwrap(),
            Presented::None { id: "a".into() }
        );
        assert_eq!(
            presented(&empty, &form(&[])).unwrap_err().code,
            "invalid_client"
        );
        let both = presented(&h, &form(&[("client_secret", "x")])).unwrap_err();
        assert_eq!(both.code, "invalid_request");
    }

    #[test]
    fn reads_an_assertion() {
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"sub":"app"}"#);
        let jwt = format!("e30.{body}.c2ln");
        let empty = HeaderMap::new();
        let with = |extra: &[(&str, &str)]| {
            let mut pairs = vec![("client_assertion", jwt.as_str())];
            pairs.extend_from_slice(extra);
            presented(&empty, &form(&pairs))
        };
        assert_eq!(
            with(&[("client_assertion_type", ASSERTION_TYPE)]).unwrap(),
            Presented::Assertion {
                id: "app".into(),
                assertion: jwt.clone()
            }
        );
        let code = |r: Result<Presented, OAuthError>| r.unwrap_err().code;
        assert_eq!(code(with(&[])), "invalid_request");
        assert_eq!(
            code(with(&[("client_assertion_type", "saml")])),
            "invalid_client"
        );
        let other = [
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_id", "b"),
        ];
        assert_eq!(code(with(&other)), "invalid_client");
        let secret = [
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_secret", "s"),
        ];
        assert_eq!(code(with(&secret)), "invalid_request");
    }
}
