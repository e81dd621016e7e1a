//! Minting: signs the JWTs (the access token self-contained: nothing is written for it),
//! records the refresh token's hash, and assembles the token response. Shared by every grant so each token looks the same whichever
//! grant produced it.

use super::{GrantCtx, TokenResponse, db_error};
use crate::crypto::{jwt, random};
use crate::oidc::claims::{self, AccessTokenInput, Authn, IdTokenInput};
use crate::oidc::error::OAuthError;
use crate::oidc::scope::Scope;
use crate::store::grants;
use crate::store::tokens::{self, RefreshToken};
use crate::store::users::User;

/// What a user-bound grant (authorization code, refresh) hands to [`for_user`].
pub struct UserGrant<'a> {
    pub grant_id: &'a str,
    pub user: &'a User,
    pub authn: Authn<'a>,
    /// The scope of the tokens in this response.
    pub scope: &'a Scope,
    /// The scope of the whole grant, kept with the new refresh token (RFC 6749 §6: a narrowed
    /// refresh does not shrink the grant).
    pub grant_scope: &'a Scope,
    pub session_id: Option<&'a str>,
    pub nonce: Option<&'a str>,
    /// Claims the `claims` request parameter named for the ID token.
    pub requested: &'a [String],
    /// When the new refresh token expires; `None` starts a full lifetime (a new grant).
    pub refresh_expires_at: Option<i64>,
    /// A refresh token already stored for this response (a rotation's successor, written in
    /// the spend's transaction); `None` mints one here when the client may refresh.
    pub stored_refresh: Option<&'a str>,
}

/// Access token, ID token when `openid` was granted, refresh token when the client may use the
/// refresh_token grant. Whether that refresh token survives the SSO session is a property of
/// the grant (`offline_access`, see `authorization_code`), checked on every use.
pub async fn for_user(ctx: &GrantCtx<'_>, g: &UserGrant<'_>) -> Result<TokenResponse, OAuthError> {
    let access_token = access_token(ctx, Some(g.authn), Some(g.grant_id), g.scope).await?;
    let id_token = if g.scope.contains("openid") {
        Some(id_token(ctx, g, &access_token).await?)
    } else {
        None
    };
    let refresh_token = match g.stored_refresh {
        Some(stored) => Some(stored.to_owned()),
        None if ctx.client.has_grant_type("refresh_token") => Some(refresh_token(ctx, g).await?),
        None => None,
    };
    // A revocation (logout, code reuse) may have landed while these were minted: they are dead
    // on arrival then, and the client hears so rather than holding tokens that do not work.
    if !grants::live(&ctx.state.db, &ctx.tenant.id, g.grant_id, ctx.now)
        .await
        .map_err(db_error)?
    {
        tokens::revoke_grant(&ctx.state.db, &ctx.tenant.id, g.grant_id, ctx.now)
            .await
            .map_err(db_error)?;
        return Err(OAuthError::invalid_grant("the grant was revoked"));
    }
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ctx.client.access_token_ttl_secs,
        scope: Some(g.scope.to_string()),
        id_token,
        refresh_token,
    })
}

/// Signs an RFC 9068 access token with the client's `access_token_alg` (RS256 unless chosen
/// otherwise: RFC 9068 §4 has resource servers support it, so only the client's owner knows
/// whether its resource servers take another). Nothing is stored: the token names its grant,
/// whose row (and the revocation list) decides at UserInfo and introspection.
pub async fn access_token(
    ctx: &GrantCtx<'_>,
    authn: Option<Authn<'_>>,
    grant_id: Option<&str>,
    scope: &Scope,
) -> Result<String, OAuthError> {
    let jti = random::token(16);
    let ttl = ctx.client.access_token_ttl_secs;
    let body = claims::access_token(&AccessTokenInput {
        issuer: ctx.issuer,
        client_id: &ctx.client.id,
        authn,
        grant_id,
        scope,
        jti: &jti,
        now: ctx.now,
        ttl_secs: ttl,
    });
    let keys = tenant_keys(ctx).await?;
    jwt::sign(&keys.set, ctx.client.access_token_alg, "at+jwt", body)
        .map_err(|e| OAuthError::internal("signing an access token failed", e))
}

/// Signs the ID token with the client's registered algorithm (RS256 unless it chose another).
async fn id_token(
    ctx: &GrantCtx<'_>,
    g: &UserGrant<'_>,
    access_token: &str,
) -> Result<String, OAuthError> {
    let alg = ctx.client.id_token_alg;
    let body = claims::id_token(&IdTokenInput {
        issuer: ctx.issuer,
        client_id: &ctx.client.id,
        user: g.user,
        authn: g.authn,
        scope: g.scope,
        nonce: g.nonce,
        sid: g.session_id,
        access_token,
        alg,
        requested: g.requested,
        now: ctx.now,
        ttl_secs: ctx.client.id_token_ttl_secs,
    });
    let keys = tenant_keys(ctx).await?;
    jwt::sign(&keys.set, alg, "JWT", body)
        .map_err(|e| OAuthError::internal("signing an ID token failed", e))
}

/// The keys of the tenant the token is for.
async fn tenant_keys(
    ctx: &GrantCtx<'_>,
) -> Result<std::sync::Arc<crate::crypto::keyring::Loaded>, OAuthError> {
    ctx.state
        .keys
        .current(&ctx.tenant.id)
        .await
        .map_err(|e| OAuthError::internal("loading the tenant's signing keys failed", e))
}

/// A new opaque refresh token of the grant; only its SHA-256 is stored.
async fn refresh_token(ctx: &GrantCtx<'_>, g: &UserGrant<'_>) -> Result<String, OAuthError> {
    let token = random::token(32);
    let row = RefreshToken {
        id: random::sha256_hex(&token),
        grant_id: g.grant_id.to_owned(),
        tenant_id: ctx.tenant.id.clone(),
        client_id: ctx.client.id.clone(),
        user_id: g.authn.user_id.to_owned(),
        session_id: g.session_id.map(str::to_owned),
        scope: g.grant_scope.to_string(),
        auth_time: g.authn.auth_time,
        amr: crate::store::json_list(g.authn.amr),
        acr: g.authn.acr.to_owned(),
        created_at: ctx.now,
        expires_at: g
            .refresh_expires_at
            .unwrap_or(ctx.now + ctx.client.refresh_token_ttl_secs),
        rotated_at: None,
        revoked_at: None,
    };
    tokens::insert_refresh(&ctx.state.db, &row)
        .await
        .map_err(db_error)?;
    Ok(token)
}
