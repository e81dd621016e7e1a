//! The admin API's one error type, answered as RFC 9457 problem details
//! (`application/problem+json`) with a stable `type` per kind of error, so scripts branch on
//! `type`, never on the wording of `detail`.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::admin::AdminError;
use crate::store::StoreError;

/// Where the `type` URIs point (documented in docs/api.md).
const TYPE_BASE: &str = "https://gatehouse.dev/problems/";

#[derive(Debug)]
pub enum ApiError {
    /// No key, an unknown or revoked key (401).
    Unauthenticated,
    /// The key's role may not do this (403).
    Forbidden(&'static str),
    /// Unknown, or outside the key's tenant (404: a tenant key cannot learn what else exists).
    NotFound(String),
    /// Input that does not hold, naming the field (400).
    Invalid(String),
    Conflict(String),
    /// `If-Match` named a version that is no longer current (412).
    Stale(String),
    /// The key used up its requests for this minute (429, `Retry-After` seconds).
    RateLimited {
        retry_after: i64,
    },
    Internal(String),
}

/// RFC 9457 §3.1.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str, String) {
        match self {
            ApiError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
                "send a live API key as Authorization: Bearer".into(),
            ),
            ApiError::Forbidden(why) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                (*why).into(),
            ),
            ApiError::NotFound(d) => (StatusCode::NOT_FOUND, "not-found", "Not found", d.clone()),
            ApiError::Invalid(d) => (
                StatusCode::BAD_REQUEST,
                "invalid",
                "Invalid request",
                d.clone(),
            ),
            ApiError::Conflict(d) => (StatusCode::CONFLICT, "conflict", "Conflict", d.clone()),
            ApiError::RateLimited { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
                format!("this key made too many requests: try again in {retry_after} s"),
            ),
            ApiError::Stale(d) => (
                StatusCode::PRECONDITION_FAILED,
                "stale",
                "Precondition failed",
                format!("{d}: read it again and reapply the change"),
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                "the server could not complete the request".into(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = %e, "admin API request failed");
        }
        let (status, kind, title, detail) = self.parts();
        let body = Problem {
            kind: format!("{TYPE_BASE}{kind}"),
            title,
            status: status.as_u16(),
            detail,
        };
        let mut res = (status, axum::Json(body)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        if let ApiError::RateLimited { retry_after } = &self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(*retry_after));
        }
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"gatehouse-admin\""),
            );
        }
        res
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound(d) => ApiError::NotFound(d),
            StoreError::Conflict(d) => ApiError::Conflict(d),
            StoreError::Stale(d) => ApiError::Stale(d),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> ApiError {
        match e {
            AdminError::Invalid(d) => ApiError::Invalid(d),
            AdminError::Store(s) => s.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
