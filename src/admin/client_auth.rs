//! How a client authenticates at the token endpoint (`--token-endpoint-auth-method`) and, for
//! `private_key_jwt`, where its public keys come from (`--jwks-file` or `--jwks-uri`): the
//! rules shared by `client create` and `client update`.

use serde_json::Value;

use super::{AdminError, AdminResult};
use crate::model::TokenAuthMethod;
use crate::oidc::client_jwks;

/// What the admin asked for; every field is optional.
#[derive(Debug, Clone, Default)]
pub struct AuthRequest {
    pub method: Option<TokenAuthMethod>,
    /// The text of a JWK Set (the CLI reads `--jwks-file`).
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
}

/// What gets stored: the method and at most one key source.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenAuth {
    pub method: TokenAuthMethod,
    pub jwks: Option<Value>,
    pub jwks_uri: Option<String>,
}

impl TokenAuth {
    pub fn uses_secret(&self) -> bool {
        matches!(
            self.method,
            TokenAuthMethod::ClientSecretBasic | TokenAuthMethod::ClientSecretPost
        )
    }
}

/// Applies `req` to `current` (`None` when registering). Public clients use `none` and only it;
/// a confidential client one of the others (`client_secret_basic` by default, or
/// `private_key_jwt` when keys are given). `private_key_jwt` needs exactly one key source, and
/// an update that names no new one keeps the registered one; the secret methods take none.
pub fn resolve(
    public: bool,
    current: Option<&TokenAuth>,
    req: AuthRequest,
) -> AdminResult<TokenAuth> {
    let invalid = |m: &str| Err(AdminError::Invalid(m.into()));
    if req.jwks.is_some() && req.jwks_uri.is_some() {
        return invalid("give either --jwks-file or --jwks-uri, not both");
    }
    let jwks = req
        .jwks
        .as_deref()
        .map(|t| {
            client_jwks::parse(t).map_err(|e| AdminError::Invalid(format!("--jwks-file: {e}")))
        })
        .transpose()?;
    let jwks_uri = req
        .jwks_uri
        .as_deref()
        .map(client_jwks::validate_uri)
        .transpose()
        .map_err(AdminError::Invalid)?;
    let new_keys = jwks.is_some() || jwks_uri.is_some();
    let method = match (req.method, current) {
        (Some(m), _) => m,
        (None, _) if new_keys => TokenAuthMethod::PrivateKeyJwt,
        (None, Some(c)) => c.method,
        (None, None) if public => TokenAuthMethod::None,
        (None, None) => TokenAuthMethod::ClientSecretBasic,
    };
    if public != (method == TokenAuthMethod::None) {
        return invalid(if public {
            "--token-endpoint-auth-method: a public client has no credentials, so its method is `none`"
        } else {
            "--token-endpoint-auth-method none: only for public clients (--public)"
        });
    }
    if method != TokenAuthMethod::PrivateKeyJwt {
        if new_keys {
            return invalid(
                "--jwks-file and --jwks-uri are for --token-endpoint-auth-method private_key_jwt",
            );
        }
        return Ok(TokenAuth {
            method,
            jwks: None,
            jwks_uri: None,
        });
    }
    if new_keys {
        return Ok(TokenAuth {
            method,
            jwks,
            jwks_uri,
        });
    }
    match current {
        Some(c) if c.method == TokenAuthMethod::PrivateKeyJwt => Ok(c.clone()),
        _ => invalid(
            "private_key_jwt needs the client's public keys: --jwks-file PATH or --jwks-uri URL",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TokenAuthMethod as M;

    const JWKS: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;

    fn req(method: Option<TokenAuthMethod>, jwks: Option<&str>, uri: Option<&str>) -> AuthRequest {
        AuthRequest {
            method,
            jwks: jwks.map(str::to_owned),
            jwks_uri: uri.map(str::to_owned),
        }
    }

    #[test]
    fn defaults_and_rules() {
        let m = |public, r| resolve(public, None, r).map(|a| a.method);
        assert_eq!(
            m(false, req(None, None, None)).unwrap(),
            M::ClientSecretBasic
        );
        assert_eq!(m(true, req(None, None, None)).unwrap(), M::None);
        assert_eq!(
            m(false, req(Some(M::ClientSecretPost), None, None)).unwrap(),
            M::ClientSecretPost
        );
        assert_eq!(
            m(false, req(None, Some(JWKS), None)).unwrap(),
            M::PrivateKeyJwt
        );
        assert!(m(true, req(Some(M::ClientSecretBasic), None, None)).is_err());
        assert!(m(false, req(Some(M::None), None, None)).is_err());
        assert!(m(false, req(Some(M::PrivateKeyJwt), None, None)).is_err());
        assert!(m(false, req(Some(M::ClientSecretPost), Some(JWKS), None)).is_err());
        let both = req(None, Some(JWKS), Some("https://a.example/jwks"));
        assert!(m(false, both).is_err());
        assert!(m(false, req(None, Some("{}"), None)).is_err());
        assert!(m(false, req(None, None, Some("http://a.example/jwks"))).is_err());
    }

    #[test]
    fn an_update_keeps_or_replaces_the_key_source() {
        let current =
            resolve(false, None, req(None, None, Some("https://a.example/jwks"))).unwrap();
        let kept = resolve(
            false,
            Some(&current),
            req(Some(M::PrivateKeyJwt), None, None),
        )
        .unwrap();
        assert_eq!(kept, current);
        let replaced = resolve(false, Some(&current), req(None, Some(JWKS), None)).unwrap();
        assert!(replaced.jwks.is_some() && replaced.jwks_uri.is_none());
        let to_post = resolve(
            false,
            Some(&current),
            req(Some(M::ClientSecretPost), None, None),
        )
        .unwrap();
        assert_eq!((to_post.jwks, to_post.jwks_uri), (None, None));
    }
}
