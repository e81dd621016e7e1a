//! `grant_type=client_credentials` (RFC 6749 §4.4): a confidential client acting for itself.
//! The access token's `sub` is the client; no ID token (no user authenticated) and no refresh
//! token (§4.4.3: the client can simply authenticate again).

use super::issue;
use super::{GrantCtx, TokenResponse};
use crate::oidc::error::OAuthError;
use crate::oidc::scope::Scope;

/// Scope values that only make sense when a user is present.
const USER_SCOPES: &[&str] = &["openid", "offline_access"];

pub async fn exchange(ctx: &GrantCtx<'_>) -> Result<TokenResponse, OAuthError> {
    // RFC 6749 §4.4: "MUST only be used by confidential clients".
    if ctx.client.is_public {
        return Err(OAuthError::unauthorized_client(
            "public clients cannot use the client_credentials grant",
        ));
    }
    let registered = Scope::parse(&ctx.client.scope).unwrap_or_default();
    // RFC 6749 §3.3: without a scope the server uses a pre-defined default: the registered set.
    let scope = match ctx.form.get("scope") {
        Some(s) => Scope::parse(s).map_err(OAuthError::invalid_scope)?,
        None => registered.clone(),
    };
    if let Some(s) = USER_SCOPES.iter().find(|s| scope.contains(s)) {
        return Err(OAuthError::invalid_scope(format!(
            "`{s}` requires a user and is not available with client_credentials"
        )));
    }
    // The client acts for itself, so nobody consents: only what was registered for it (the
    // grant used to mint tokens for any scope string the client sent).
    if let Some(s) = scope.iter().find(|s| !registered.contains(s)) {
        return Err(OAuthError::invalid_scope(format!(
            "`{s}` is not registered for this client"
        )));
    }
    let access_token = issue::access_token(ctx, None, None, &scope).await?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ctx.client.access_token_ttl_secs,
        scope: (!scope.is_empty()).then(|| scope.to_string()),
        id_token: None,
        refresh_token: None,
    })
}
