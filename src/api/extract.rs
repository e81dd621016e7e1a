//! Request extractors whose rejections are problem details naming the field (axum's own are
//! plain text), the opaque cursors of paginated listings, the `Location` of a creation, and
//! the `ETag`/`If-Match` of versioned resources (tenants, clients, users).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The query string as `T`; an unknown or malformed parameter is a 400 naming it.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| match e.path().to_string().as_str() {
                // An unknown parameter: serde's message names it.
                "." => ApiError::Invalid(e.inner().to_string()),
                field => ApiError::Invalid(format!("{field}: {}", e.inner())),
            })
    }
}

/// A JSON body as `T`; bad JSON, a wrong type or an unknown field is a 400 naming it.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| ApiJson(v))
            .map_err(|e| ApiError::Invalid(e.body_text()))
    }
}

/// An enum field of a body (`"mfa_policy": "required"`), naming the field on a bad value.
pub fn parse_field<T: std::str::FromStr<Err = String>>(
    field: &str,
    v: Option<String>,
) -> Result<Option<T>, ApiError> {
    v.map(|s| {
        s.parse()
            .map_err(|e| ApiError::Invalid(format!("{field}: {e}")))
    })
    .transpose()
}

/// `limit` within 1..=`max`, `default` when absent.
pub fn limit(asked: Option<usize>, default: usize, max: usize) -> Result<usize, ApiError> {
    let limit = asked.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::Invalid(format!("limit: expected 1 to {max}")))
    }
}

/// The cursor a listing hands out: its position, opaque to the caller.
pub fn encode_cursor(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(position.as_bytes())
}

/// The position of a cursor this API gave.
pub fn decode_cursor(cursor: Option<&str>) -> Result<Option<String>, ApiError> {
    cursor
        .map(|c| {
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| ApiError::Invalid("cursor: not a cursor this API gave".into()))
        })
        .transpose()
}

/// The headers of a 201: `Location` naming what was created.
pub fn location(path: &str) -> Result<axum::http::HeaderMap, ApiError> {
    let value = axum::http::HeaderValue::from_str(path)
        .map_err(|_| ApiError::Internal(format!("`{path}` is not a header value")))?;
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(axum::http::header::LOCATION, value);
    Ok(headers)
}

/// `If-Match: "7"` as the version 7; `*` or none: unconditional.
pub fn if_match(headers: &axum::http::HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(v) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(None);
    };
    let v = v.to_str().unwrap_or_default().trim();
    if v == "*" {
        return Ok(None);
    }
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::Invalid(format!(
                "If-Match: expected an ETag this API gave, got `{v}`"
            ))
        })
}

/// Adds `ETag: "{version}"` (the row's version, bumped by every change) to `headers`.
pub fn with_etag(mut headers: axum::http::HeaderMap, version: i64) -> axum::http::HeaderMap {
    let etag =
        axum::http::HeaderValue::from_str(&format!("\"{version}\"")).expect("digits are a header");
    headers.insert(axum::http::header::ETAG, etag);
    headers
}

/// The headers of an answer about a versioned resource: its `ETag`.
pub fn etag(version: i64) -> axum::http::HeaderMap {
    with_etag(axum::http::HeaderMap::new(), version)
}
