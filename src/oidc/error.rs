//! OAuth 2.0 / OIDC wire errors (RFC 6749 §5.2, RFC 6750 §3, OIDC Core §3.1.2.6). The `code`
//! strings are the exact registered values; each one is pinned by a test. Descriptions are safe
//! to show to the client; internal detail goes to the log only.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: &'static str,
    pub description: String,
    pub status: StatusCode,
    /// Set for 401s: `Basic realm=...` (RFC 6749 §5.2) or `Bearer error=...` (RFC 6750 §3).
    pub www_authenticate: Option<String>,
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for OAuthError {}

impl OAuthError {
    pub fn new(code: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            code,
            description: description.into(),
            status: StatusCode::BAD_REQUEST,
            www_authenticate: None,
        }
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new("invalid_request", d)
    }
    /// RFC 6749 §5.2: 401, and `WWW-Authenticate` when the client tried HTTP Basic.
    pub fn invalid_client(used_basic: bool) -> Self {
        OAuthError {
            code: "invalid_client",
            description: "client authentication failed".into(),
            status: StatusCode::UNAUTHORIZED,
            www_authenticate: used_basic.then(|| "Basic realm=\"gatehouse\"".to_string()),
        }
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new("invalid_grant", d)
    }
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new("unauthorized_client", d)
    }
    pub fn unsupported_grant_type(d: impl Into<String>) -> Self {
        Self::new("unsupported_grant_type", d)
    }
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new("invalid_scope", d)
    }
    /// RFC 6750 §3.1: 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
    pub fn invalid_token(d: impl Into<String>) -> Self {
        let description = d.into();
        OAuthError {
            code: "invalid_token",
            www_authenticate: Some(format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                description.replace('"', "'")
            )),
            description,
            status: StatusCode::UNAUTHORIZED,
        }
    }
    /// RFC 6750 §3.1: 403 with `WWW-Authenticate: Bearer error="insufficient_scope"`.
    pub fn insufficient_scope(d: impl Into<String>) -> Self {
        let description = d.into();
        OAuthError {
            code: "insufficient_scope",
            www_authenticate: Some(format!(
                "Bearer realm=\"gatehouse\", error=\"insufficient_scope\", error_description=\"{}\"",
                description.replace('"', "'")
            )),
            description,
            status: StatusCode::FORBIDDEN,
        }
    }
    /// Logs `detail` (never sent to the client) and returns [`OAuthError::server_error`], so
    /// every 5xx reads the same on the wire.
    pub fn internal(context: &'static str, detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "{context}");
        Self::server_error()
    }
    pub fn server_error() -> Self {
        OAuthError {
            code: "server_error",
            description: "the server could not complete the request".into(),
            status: StatusCode::INTERNAL_SERVER_ERROR,
            www_authenticate: None,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            Json(json!({ "error": self.code, "error_description": self.description })),
        )
            .into_response();
        let h = res.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(v) = self
            .www_authenticate
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            h.insert(header::WWW_AUTHENTICATE, v);
        }
        res
    }
}
