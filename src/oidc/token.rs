//! `POST {issuer}/token` (RFC 6749 §3.2, OIDC Core §3.1.3). Reads the form strictly, checks
//! the grant type, authenticates the client, checks the client may use that grant, and hands
//! over to the grant's own file under `grants/`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::client_auth;
use super::error::OAuthError;
use super::form;
use super::grants::{self, GrantCtx, GrantType, TokenResponse};
use crate::model::now;
use crate::state::{AppState, TenantCtx};

pub async fn token(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match handle(&state, &ctx, &headers, body).await {
        Ok(res) => no_store(Json(res)),
        Err(e) => e.into_response(),
    }
}

async fn handle(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<TokenResponse, OAuthError> {
    let form = form::read(headers, body)?;
    let grant = grant_type(form.get("grant_type").map(String::as_str))?;
    let client = client_auth::authenticate(state, &ctx.tenant, &ctx.issuer, headers, &form).await?;
    let g = GrantCtx {
        state,
        tenant: &ctx.tenant,
        issuer: &ctx.issuer,
        client: &client,
        form: &form,
        now: now(),
    };
    // RFC 6749 §5.2 `unauthorized_client`: authenticated, but not registered for this grant.
    if !client.has_grant_type(grant.as_str()) {
        return Err(OAuthError::unauthorized_client(format!(
            "this client may not use the {} grant",
            grant.as_str()
        )));
    }
    match grant {
        GrantType::AuthorizationCode => grants::authorization_code::exchange(&g).await,
        GrantType::RefreshToken => grants::refresh_token::refresh(&g).await,
        GrantType::ClientCredentials => grants::client_credentials::exchange(&g).await,
    }
}

/// RFC 6749 §5.2: a missing grant_type is a malformed request; one we do not implement is
/// `unsupported_grant_type`. Checked before client authentication, which needs no grant.
fn grant_type(value: Option<&str>) -> Result<GrantType, OAuthError> {
    let value = value.ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    GrantType::parse(value).ok_or_else(|| {
        OAuthError::unsupported_grant_type(format!("grant_type `{value}` is not supported"))
    })
}

/// RFC 6749 §5.1: responses carrying tokens or token data must not be cached.
pub(crate) fn no_store(body: impl IntoResponse) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_type_errors() {
        assert_eq!(grant_type(None).unwrap_err().code, "invalid_request");
        assert_eq!(
            grant_type(Some("password")).unwrap_err().code,
            "unsupported_grant_type"
        );
        assert_eq!(
            grant_type(Some("refresh_token")).unwrap(),
            GrantType::RefreshToken
        );
    }
}
