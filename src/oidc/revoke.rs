//! `POST {issuer}/revoke` (RFC 7009). The client authenticates as at the token endpoint and
//! may revoke only its own tokens. The answer is 200 with an empty body whether or not the
//! token was known (§2.2), so the endpoint cannot be used to probe for valid tokens.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::OAuthError;
use super::token::no_store;
use super::{bearer, client_auth, form};
use crate::crypto::random;
use crate::model::now;
use crate::state::{AppState, TenantCtx};
use crate::store::clients::Client;
use crate::store::tokens;
use serde_json::Value;

pub async fn revoke(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match handle(&state, &ctx, &headers, body).await {
        Ok(()) => no_store(StatusCode::OK),
        Err(e) => e.into_response(),
    }
}

async fn handle(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(), OAuthError> {
    let form = form::read(headers, body)?;
    let client = client_auth::authenticate(state, &ctx.tenant, &ctx.issuer, headers, &form).await?;
    let token = form
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    // §2.1: the hint only orders the search; an unknown hint value is ignored, since the
    // token is looked up as both kinds anyway.
    let access_first = form.get("token_type_hint").map(String::as_str) == Some("access_token");
    let now = now();
    if access_first {
        if !revoke_access(state, ctx, &client, token, now).await? {
            revoke_refresh(state, ctx, &client, token, now).await?;
        }
    } else if !revoke_refresh(state, ctx, &client, token, now).await? {
        revoke_access(state, ctx, &client, token, now).await?;
    }
    Ok(())
}

/// §2.1: revoking a refresh token revokes its grant, access tokens included. True when the
/// token was a refresh token of this client.
async fn revoke_refresh(
    state: &AppState,
    ctx: &TenantCtx,
    client: &Client,
    token: &str,
    now: i64,
) -> Result<bool, OAuthError> {
    let db_err = |e| OAuthError::internal("revocation failed", e);
    let found = tokens::find_refresh(&state.db, &ctx.tenant.id, &random::sha256_hex(token))
        .await
        .map_err(db_err)?;
    let Some(t) = found.filter(|t| t.client_id == client.id) else {
        return Ok(false);
    };
    tokens::revoke_grant(&state.db, &ctx.tenant.id, &t.grant_id, now)
        .await
        .map_err(db_err)?;
    Ok(true)
}

/// An access token is revoked alone (§2.1 leaves its refresh token to the server; keeping it
/// lets a client drop one leaked access token without losing the session). True when the
/// token was an access token of this client.
async fn revoke_access(
    state: &AppState,
    ctx: &TenantCtx,
    client: &Client,
    token: &str,
    now: i64,
) -> Result<bool, OAuthError> {
    let db_err = |e| OAuthError::internal("revocation failed", e);
    let Some(d) = bearer::decode(state, ctx, token).await else {
        return Ok(false);
    };
    let of_client = d.claims.get("client_id").and_then(Value::as_str) == Some(client.id.as_str());
    if !of_client {
        return Ok(false);
    }
    // Listed until the token would expire anyway; an expired one needs no entry.
    let exp = d.claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    if exp > now {
        tokens::revoke_access(&state.db, &ctx.tenant.id, &d.jti, exp)
            .await
            .map_err(db_err)?;
    }
    Ok(true)
}
