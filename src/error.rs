//! One error type for the HTTP layer. Handlers return `Result<_, AppError>`; this file decides,
//! once, how each error reaches the wire: an OAuth JSON error, or a JSON/HTML error body.
//! Internal detail goes to the log only; every 5xx is `server_error` without detail.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::crypto::keys::KeyError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("unknown tenant")]
    UnknownTenant,
    #[error("not found")]
    NotFound,
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("keys: {0}")]
    Keys(#[from] KeyError),
    #[error("internal: {0}")]
    Internal(String),
    /// An OAuth wire error for a JSON endpoint (token, userinfo, revoke, introspect).
    #[error("{0}")]
    OAuth(#[from] crate::oidc::error::OAuthError),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::OAuth(e) = self {
            return e.into_response();
        }
        let (status, code, description) = match &self {
            AppError::UnknownTenant => (StatusCode::NOT_FOUND, "not_found", "unknown tenant"),
            AppError::NotFound => (StatusCode::NOT_FOUND, "not_found", "no such resource"),
            AppError::Store(StoreError::NotFound(_)) => {
                (StatusCode::NOT_FOUND, "not_found", "no such resource")
            }
            AppError::Store(_) | AppError::Keys(_) | AppError::Internal(_) | AppError::OAuth(_) => {
                tracing::error!(error = %self, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the server could not complete the request",
                )
            }
        };
        (
            status,
            Json(json!({ "error": code, "error_description": description })),
        )
            .into_response()
    }
}
