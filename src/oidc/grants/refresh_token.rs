//! `grant_type=refresh_token` (RFC 6749 §6, OIDC Core §12). Refresh tokens rotate: each use
//! spends the presented token and returns a new one of the same grant. Presenting a spent or
//! revoked token again means two parties hold it, so the whole grant is revoked (OAuth
//! Security BCP §4.14.2). The new token keeps the grant's expiry: rotation does not extend
//! how long a login can be refreshed.

use super::issue::{self, UserGrant};
use super::{GrantCtx, TokenResponse, db_error};
use crate::crypto::random;
use crate::oidc::claims::Authn;
use crate::oidc::error::OAuthError;
use crate::oidc::scope::Scope;
use crate::store::tokens::{self, RefreshToken};
use crate::store::{grants, parse_json_list};

pub async fn refresh(ctx: &GrantCtx<'_>) -> Result<TokenResponse, OAuthError> {
    let presented = ctx.required("refresh_token")?;
    let asked = ctx
        .form
        .get("scope")
        .map(|s| Scope::parse(s))
        .transpose()
        .map_err(OAuthError::invalid_scope)?;
    let hash = random::sha256_hex(presented);

    let current = usable(ctx, &hash).await?;
    let grant_scope = Scope::parse(&current.scope)
        .map_err(|e| OAuthError::internal("stored refresh scope unreadable", e))?;
    let scope = narrowed(asked, &grant_scope)?;
    let user = ctx.active_user(&current.user_id).await?;
    let (spent, successor) = spend(ctx, &hash, &current).await?;

    let amr = parse_json_list(&spent.amr).map_err(db_error)?;
    let grant = UserGrant {
        grant_id: &spent.grant_id,
        user: &user,
        authn: Authn {
            user_id: &spent.user_id,
            auth_time: spent.auth_time,
            acr: &spent.acr,
            amr: &amr,
        },
        scope: &scope,
        grant_scope: &grant_scope,
        session_id: spent.session_id.as_deref(),
        // OIDC Core §12.2: a refreshed ID token has no nonce; auth_time, amr and acr are
        // those of the original authentication.
        nonce: None,
        requested: &[],
        refresh_expires_at: Some(spent.expires_at),
        stored_refresh: Some(&successor),
    };
    issue::for_user(ctx, &grant).await
}

fn bad_token() -> OAuthError {
    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
}

/// Finds the presented token and decides whether it may be used, before anything is spent:
/// a request that fails for another reason (scope) must not cost the client its token.
async fn usable(ctx: &GrantCtx<'_>, hash: &str) -> Result<RefreshToken, OAuthError> {
    let found = tokens::find_refresh(&ctx.state.db, &ctx.tenant.id, hash)
        .await
        .map_err(db_error)?;
    // RFC 6749 §6: the token must have been issued to the authenticated client.
    let Some(t) = found.filter(|t| t.client_id == ctx.client.id) else {
        return Err(bad_token());
    };
    if t.rotated_at.is_some() || t.revoked_at.is_some() {
        return Err(reuse_detected(ctx, &t.grant_id).await);
    }
    if t.expires_at <= ctx.now {
        return Err(bad_token());
    }
    // OIDC Core §11: a session-bound grant ends with its SSO session (logout, sign-out
    // elsewhere, MFA reset), and any grant ends when revoked.
    if !grants::live(&ctx.state.db, &ctx.tenant.id, &t.grant_id, ctx.now)
        .await
        .map_err(db_error)?
    {
        return Err(bad_token());
    }
    Ok(t)
}

/// The atomic rotation. Losing the race to a concurrent request with the same token is reuse
/// as well: one of the two is not the legitimate client.
async fn spend(
    ctx: &GrantCtx<'_>,
    hash: &str,
    current: &RefreshToken,
) -> Result<(RefreshToken, String), OAuthError> {
    // The successor keeps everything of the grant (scope, authentication, session, the
    // refresh lifetime of the grant) and is stored in the spend's transaction.
    let token = random::token(32);
    let successor = RefreshToken {
        id: random::sha256_hex(&token),
        created_at: ctx.now,
        rotated_at: None,
        revoked_at: None,
        ..current.clone()
    };
    let spent = tokens::rotate(
        &ctx.state.db,
        &ctx.tenant.id,
        hash,
        &ctx.client.id,
        ctx.now,
        &successor,
    )
    .await
    .map_err(db_error)?;
    match spent {
        Some(t) => Ok((t, token)),
        None => Err(reuse_detected(ctx, &current.grant_id).await),
    }
}

async fn reuse_detected(ctx: &GrantCtx<'_>, grant_id: &str) -> OAuthError {
    tracing::warn!(
        grant_id = %grant_id,
        client_id = %ctx.client.id,
        "refresh token reused; revoking every token of its grant"
    );
    match tokens::revoke_grant(&ctx.state.db, &ctx.tenant.id, grant_id, ctx.now).await {
        Ok(_) => bad_token(),
        Err(e) => db_error(e),
    }
}

/// RFC 6749 §6: the requested scope must not include any scope not originally granted;
/// omitted means the original scope.
fn narrowed(asked: Option<Scope>, granted: &Scope) -> Result<Scope, OAuthError> {
    match asked {
        None => Ok(granted.clone()),
        Some(s) if s.is_empty() => Err(OAuthError::invalid_scope("scope must not be empty")),
        Some(s) if s.is_subset_of(granted) => Ok(s),
        Some(_) => Err(OAuthError::invalid_scope(
            "the requested scope exceeds the scope originally granted",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_may_narrow_never_widen() {
        let granted = Scope::parse("openid email profile").unwrap();
        assert_eq!(narrowed(None, &granted).unwrap(), granted);
        let less = Scope::parse("openid email").unwrap();
        assert_eq!(narrowed(Some(less.clone()), &granted).unwrap(), less);
        let more = Scope::parse("openid phone").unwrap();
        assert_eq!(
            narrowed(Some(more), &granted).unwrap_err().code,
            "invalid_scope"
        );
        assert_eq!(
            narrowed(Some(Scope::default()), &granted).unwrap_err().code,
            "invalid_scope"
        );
    }
}
