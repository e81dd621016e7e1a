//! `POST {issuer}/introspect` (RFC 7662). The caller authenticates as a client and learns
//! about its own tokens only: another client's token reads as inactive, exactly like an
//! unknown one (§4: do not help a caller probe tokens it does not hold).

use crate::ids::UserId;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::error::OAuthError;
use super::token::no_store;
use super::{bearer, client_auth, form};
use crate::crypto::random;
use crate::model::now;
use crate::state::{AppState, TenantCtx};
use crate::store::clients::Client;
use crate::store::{StoreError, grants, tokens, users};

pub async fn introspect(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match handle(&state, &ctx, &headers, body).await {
        Ok(doc) => no_store(Json(doc)),
        Err(e) => e.into_response(),
    }
}

async fn handle(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Value, OAuthError> {
    let form = form::read(headers, body)?;
    let client = client_auth::authenticate(state, &ctx.tenant, &ctx.issuer, headers, &form).await?;
    let token = form
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let now = now();
    // §2.1: `token_type_hint` may speed the search up; looking for both kinds is cheap, so
    // the hint only decides the order.
    let refresh_first = form.get("token_type_hint").map(String::as_str) == Some("refresh_token");
    let found = if refresh_first {
        match refresh_doc(state, ctx, &client, token, now).await? {
            Some(d) => Some(d),
            None => access_doc(state, ctx, &client, token, now).await?,
        }
    } else {
        match access_doc(state, ctx, &client, token, now).await? {
            Some(d) => Some(d),
            None => refresh_doc(state, ctx, &client, token, now).await?,
        }
    };
    let Some(mut doc) = found else {
        return Ok(json!({ "active": false }));
    };
    // `username` (§2.2) for tokens of a user; a user gone or locked makes the token inactive.
    if let Some(user_id) = doc
        .remove("user_id")
        .and_then(|v| v.as_str().map(UserId::from))
    {
        match users::get(&state.db, &ctx.tenant.id, &user_id).await {
            Ok(u) if !u.locked => {
                doc.insert("username".into(), json!(u.email));
            }
            Ok(_) | Err(StoreError::NotFound(_)) => return Ok(json!({ "active": false })),
            Err(e) => return Err(OAuthError::internal("user lookup failed", e)),
        }
    }
    Ok(Value::Object(doc))
}

/// An active access token of this client, described from its verified claims.
async fn access_doc(
    state: &AppState,
    ctx: &TenantCtx,
    client: &Client,
    token: &str,
    now: i64,
) -> Result<Option<Map<String, Value>>, OAuthError> {
    let Some(a) = bearer::active(state, ctx, token, now).await? else {
        return Ok(None);
    };
    if a.client_id != client.id {
        return Ok(None);
    }
    let mut doc = Map::new();
    doc.insert("active".into(), json!(true));
    doc.insert("token_type".into(), json!("Bearer"));
    for name in [
        "scope",
        "client_id",
        "exp",
        "iat",
        "sub",
        "aud",
        "iss",
        "jti",
    ] {
        if let Some(v) = a.claims.get(name) {
            doc.insert(name.into(), v.clone());
        }
    }
    if let Some(u) = a.user_id {
        doc.insert("user_id".into(), json!(u));
    }
    Ok(Some(doc))
}

/// An active refresh token of this client, described from its stored row. Its audience is
/// this issuer: only the token endpoint accepts it.
async fn refresh_doc(
    state: &AppState,
    ctx: &TenantCtx,
    client: &Client,
    token: &str,
    now: i64,
) -> Result<Option<Map<String, Value>>, OAuthError> {
    let found = tokens::find_refresh(&state.db, &ctx.tenant.id, &random::sha256_hex(token))
        .await
        .map_err(|e| OAuthError::internal("refresh token lookup failed", e))?;
    let Some(t) = found.filter(|t| t.client_id == client.id && t.is_active(now)) else {
        return Ok(None);
    };
    if !grants::live(&state.db, &ctx.tenant.id, &t.grant_id, now)
        .await
        .map_err(|e| OAuthError::internal("grant lookup failed", e))?
    {
        return Ok(None);
    }
    let doc = json!({
        "active": true,
        "token_type": "refresh_token",
        "scope": t.scope,
        "client_id": t.client_id,
        "exp": t.expires_at,
        "iat": t.created_at,
        "sub": t.user_id,
        "aud": ctx.issuer,
        "iss": ctx.issuer,
        "user_id": t.user_id,
    });
    Ok(doc.as_object().cloned())
}
