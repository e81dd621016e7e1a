//! `GET` and `POST {issuer}/userinfo` (OIDC Core §5.3). The access token comes in the
//! `Authorization: Bearer` header (RFC 6750 §2.1) or, on POST, as the `access_token` form
//! parameter (§2.2); the query-string form (§2.3) is not accepted because URLs end up in logs.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::error::OAuthError;
use super::scope::Scope;
use super::token::no_store;
use super::{bearer, claims, form};
use crate::model::now;
use crate::state::{AppState, TenantCtx};
use crate::store::{StoreError, users};

pub async fn get(State(state): State<AppState>, ctx: TenantCtx, headers: HeaderMap) -> Response {
    match bearer::from_header(&headers) {
        Ok(token) => respond(&state, &ctx, token).await,
        Err(e) => e.into_response(),
    }
}

pub async fn post(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match token_from_post(&headers, body) {
        Ok(token) => respond(&state, &ctx, token).await,
        Err(e) => e.into_response(),
    }
}

/// RFC 6750 §2: a client must not use more than one method to send the token.
fn token_from_post(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Option<String>, OAuthError> {
    let from_header = bearer::from_header(headers)?;
    let mut form = form::read(headers, body)?;
    match (from_header, form.remove("access_token")) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "send the access token in the header or the body, not both",
        )),
        (h, f) => Ok(h.or(f)),
    }
}

async fn respond(state: &AppState, ctx: &TenantCtx, token: Option<String>) -> Response {
    let Some(token) = token else {
        return challenge();
    };
    match claims_for(state, ctx, &token).await {
        Ok(c) => no_store(Json(Value::Object(c))),
        Err(e) => e.into_response(),
    }
}

/// RFC 6750 §3.1: a request without any credentials gets the bare challenge, no error code.
fn challenge() -> Response {
    let mut res = no_store(StatusCode::UNAUTHORIZED);
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"gatehouse\""),
    );
    res
}

async fn claims_for(
    state: &AppState,
    ctx: &TenantCtx,
    token: &str,
) -> Result<Map<String, Value>, OAuthError> {
    let active = bearer::active(state, ctx, token, now())
        .await?
        .ok_or_else(|| {
            OAuthError::invalid_token("the access token is invalid, expired or revoked")
        })?;
    let scope = Scope::parse(&active.scope).unwrap_or_default();
    // OIDC Core §5.3.1: UserInfo needs a token issued for an OpenID request, i.e. for a user.
    let user_id = match active.user_id.as_ref() {
        Some(u) if scope.contains("openid") => u,
        _ => {
            return Err(OAuthError::insufficient_scope(
                "the access token was not issued with the openid scope for a user",
            ));
        }
    };
    let user = match users::get(&state.db, &ctx.tenant.id, user_id).await {
        Ok(u) if !u.locked => u,
        Ok(_) | Err(StoreError::NotFound(_)) => {
            return Err(OAuthError::invalid_token(
                "the user of this token is not active",
            ));
        }
        Err(e) => return Err(OAuthError::internal("user lookup failed", e)),
    };
    // OIDC Core §5.5: the `userinfo` member of the authorization's claims request, essential
    // or voluntary, adds claims beyond the scope's.
    let requested = claims::requested_claims(active.requested.as_deref(), "userinfo");
    Ok(claims::user_claims(&user, &scope, &requested))
}
