//! `grant_type=authorization_code` (RFC 6749 §4.1.3, OIDC Core §3.1.3.2, RFC 7636 §4.5–4.6).
//!
//! Nothing changes until the request has proved it may use the code: parameter syntax, then
//! the code's binding (the authenticated client, the redirect URI, PKCE) are checked on the
//! stored row first. A code presented by another client, or without its PKCE proof, is refused
//! and stays redeemable by its own client: only whoever could have redeemed it may burn it or,
//! on a second use, revoke what it minted (RFC 6749 §4.1.2, OAuth Security BCP §4.5).
//!
//! Redemption then opens the code's grant, bound to the SSO session it came from unless
//! `offline_access` is granted (OIDC Core §11). Tokens are minted only while the grant is
//! live, and checked again after minting, so a revocation racing the redemption wins.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::issue::{self, UserGrant};
use super::{GrantCtx, TokenResponse, db_error};
use crate::crypto::random;
use crate::oidc::claims::{self, Authn};
use crate::oidc::error::OAuthError;
use crate::oidc::scope::{OFFLINE_ACCESS, Scope};
use crate::store::codes::{self, AuthCode};
use crate::store::grants::{self, NewGrant};
use crate::store::{parse_json_list, sessions, tokens};

pub async fn exchange(ctx: &GrantCtx<'_>) -> Result<TokenResponse, OAuthError> {
    let code = ctx.required("code")?;
    // OIDC Core §3.1.2.1 makes redirect_uri mandatory at /authorize, so RFC 6749 §4.1.3
    // makes it mandatory here.
    let redirect_uri = ctx.required("redirect_uri")?;
    let verifier = ctx
        .form
        .get("code_verifier")
        .map(|v| verifier_syntax(v))
        .transpose()?;

    let hash = random::sha256_hex(code);
    let stored = codes::find(&ctx.state.db, &hash, &ctx.tenant.id)
        .await
        .map_err(db_error)?
        .ok_or_else(bad_code)?;
    check_binding(ctx, &stored, redirect_uri)?;
    check_pkce(&stored, verifier, ctx.client.is_public)?;
    let spent = stored.used_at.is_none()
        && codes::spend(&ctx.state.db, &hash, &ctx.tenant.id, ctx.now)
            .await
            .map_err(db_error)?;
    if !spent {
        return Err(reused(ctx, &stored).await);
    }
    if stored.expires_at <= ctx.now {
        return Err(bad_code());
    }

    let user = ctx.active_user(&stored.user_id).await?;
    let amr = parse_json_list(&stored.amr).map_err(db_error)?;
    let asked = Scope::parse(&stored.scope)
        .map_err(|e| OAuthError::internal("stored code scope unreadable", e))?;
    let offline = offline_granted(ctx, &asked);
    // OIDC Core §11: an offline_access request the client may not have is ignored, and the
    // response's `scope` says so.
    let scope = if offline {
        asked
    } else {
        asked.without(OFFLINE_ACCESS)
    };
    open_grant(ctx, &stored, offline).await?;
    let requested = claims::requested_claims(stored.claims.as_deref(), "id_token");
    let grant = UserGrant {
        grant_id: &stored.grant_id,
        user: &user,
        authn: Authn {
            user_id: &stored.user_id,
            auth_time: stored.auth_time,
            acr: &stored.acr,
            amr: &amr,
        },
        scope: &scope,
        grant_scope: &scope,
        session_id: stored.session_id.as_deref(),
        nonce: stored.nonce.as_deref(),
        requested: &requested,
        refresh_expires_at: None,
        stored_refresh: None,
    };
    issue::for_user(ctx, &grant).await
}

/// The same description for every code that cannot be used, so a caller learns nothing about
/// codes it does not own.
fn bad_code() -> OAuthError {
    OAuthError::invalid_grant("the authorization code is invalid, expired or already used")
}

/// A second use by the code's own client means it leaked (or a replay): the grant is revoked,
/// or blocked before its first redemption has even opened it.
async fn reused(ctx: &GrantCtx<'_>, c: &AuthCode) -> OAuthError {
    tracing::warn!(
        grant_id = %c.grant_id,
        client_id = %c.client_id,
        "authorization code reused; revoking every token of its grant"
    );
    let block = NewGrant {
        id: &c.grant_id,
        tenant_id: &c.tenant_id,
        client_id: &c.client_id,
        user_id: &c.user_id,
        session_id: c.session_id.as_deref(),
        offline: false,
        claims: c.claims.as_deref(),
        now: ctx.now,
        expires_at: ctx.now + grant_lifetime(ctx),
    };
    let db = &ctx.state.db;
    let result = async {
        grants::revoke_or_block(db, &block).await?;
        tokens::revoke_grant(db, &ctx.tenant.id, &c.grant_id, ctx.now).await
    }
    .await;
    match result {
        Ok(_) => bad_code(),
        Err(e) => db_error(e),
    }
}

/// OIDC Core §11: offline access only when the request asked for it, the user consented (the
/// consent stage covers every requested scope; first-party clients are exempt), the client is
/// registered for it (`client create --offline-access`) and can refresh at all.
fn offline_granted(ctx: &GrantCtx<'_>, scope: &Scope) -> bool {
    scope.contains(OFFLINE_ACCESS)
        && ctx.client.offline_access
        && ctx.client.has_grant_type("refresh_token")
}

/// How long a grant of this client can have live tokens.
fn grant_lifetime(ctx: &GrantCtx<'_>) -> i64 {
    let c = ctx.client;
    c.refresh_token_ttl_secs
        .max(c.access_token_ttl_secs)
        .max(c.id_token_ttl_secs)
}

fn session_ended() -> OAuthError {
    OAuthError::invalid_grant("the sign-in session of this authorization code has ended")
}

/// Opens the code's grant. A session-bound grant needs its SSO session live before *and*
/// after the row is written: a logout that ends the session in between then either sees the
/// grant (and revokes it) or is seen here.
async fn open_grant(ctx: &GrantCtx<'_>, c: &AuthCode, offline: bool) -> Result<(), OAuthError> {
    let db = &ctx.state.db;
    let live_session = || async {
        let Some(id) = c.session_id.as_deref() else {
            return Ok(None);
        };
        let s = sessions::find_by_id(db, &ctx.tenant.id, id)
            .await
            .map_err(db_error)?;
        Ok::<_, OAuthError>(
            s.filter(|s| s.ended_at.is_none() && s.expires_at > ctx.now && s.user_id == c.user_id),
        )
    };
    let expires_at = if offline {
        ctx.now + grant_lifetime(ctx)
    } else {
        match live_session().await? {
            // A session-bound grant never outlives its session.
            Some(s) => s.expires_at.min(ctx.now + grant_lifetime(ctx)),
            None => return Err(session_ended()),
        }
    };
    let row = NewGrant {
        id: &c.grant_id,
        tenant_id: &ctx.tenant.id,
        client_id: &c.client_id,
        user_id: &c.user_id,
        session_id: c.session_id.as_deref(),
        offline,
        claims: c.claims.as_deref(),
        now: ctx.now,
        expires_at,
    };
    grants::open(db, &row).await.map_err(db_error)?;
    if !offline && live_session().await?.is_none() {
        grants::revoke(db, &ctx.tenant.id, &c.grant_id, ctx.now)
            .await
            .map_err(db_error)?;
        return Err(session_ended());
    }
    // Revoked already: a concurrent second use of the code got there first.
    if !grants::live(db, &ctx.tenant.id, &c.grant_id, ctx.now)
        .await
        .map_err(db_error)?
    {
        return Err(bad_code());
    }
    Ok(())
}

/// RFC 6749 §4.1.3: the code must belong to this client and the redirect URI must be identical
/// to the one of the authorization request (simple string comparison, RFC 3986 §6.2.1; no
/// normalisation). Checked before the code is touched.
fn check_binding(ctx: &GrantCtx<'_>, c: &AuthCode, redirect_uri: &str) -> Result<(), OAuthError> {
    if c.client_id != ctx.client.id {
        return Err(bad_code());
    }
    if c.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    Ok(())
}

/// RFC 7636 §4.1: `code-verifier = 43*128unreserved`. A verifier of the wrong shape is a
/// malformed request (`invalid_request`), not a failed proof.
fn verifier_syntax(v: &str) -> Result<&str, OAuthError> {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if (43..=128).contains(&v.len()) && v.bytes().all(unreserved) {
        Ok(v)
    } else {
        Err(OAuthError::invalid_request(
            "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)",
        ))
    }
}

/// RFC 7636 §4.6, S256 only (`plain` is never accepted at /authorize). Public clients must
/// have used PKCE (OAuth Security BCP §2.1.1); a verifier without a stored challenge is
/// refused so a downgrade cannot go unnoticed (BCP §4.8.2).
fn check_pkce(c: &AuthCode, verifier: Option<&str>, public: bool) -> Result<(), OAuthError> {
    match (c.code_challenge.as_deref(), verifier) {
        (Some(challenge), Some(verifier)) => {
            let s256 = c.code_challenge_method.as_deref() == Some("S256");
            if s256 && s256_matches(verifier, challenge) {
                Ok(())
            } else {
                Err(OAuthError::invalid_grant("PKCE verification failed"))
            }
        }
        (Some(_), None) => Err(OAuthError::invalid_grant(
            "code_verifier is required for this authorization code",
        )),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier given, but the authorization request had no code_challenge",
        )),
        (None, None) if public => Err(OAuthError::invalid_grant(
            "PKCE is required for public clients",
        )),
        (None, None) => Ok(()),
    }
}

/// `BASE64URL(SHA256(ASCII(verifier))) == challenge`, compared in constant time.
fn s256_matches(verifier: &str, challenge: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn code(challenge: Option<&str>, method: Option<&str>) -> AuthCode {
        AuthCode {
            id: "h".into(),
            grant_id: "g".into(),
            tenant_id: "t".into(),
            client_id: "c".into(),
            user_id: "u".into(),
            session_id: None,
            redirect_uri: "https://app/cb".into(),
            scope: "openid".into(),
            nonce: None,
            code_challenge: challenge.map(str::to_owned),
            code_challenge_method: method.map(str::to_owned),
            auth_time: 0,
            amr: "[]".into(),
            acr: "pwd".into(),
            claims: None,
            created_at: 0,
            expires_at: 60,
            used_at: None,
        }
    }

    #[test]
    fn s256_matches_the_rfc_example() {
        assert!(s256_matches(VERIFIER, CHALLENGE));
        assert!(!s256_matches(VERIFIER, &CHALLENGE.replace('E', "F")));
    }

    #[test]
    fn pkce_outcomes() {
        let with = code(Some(CHALLENGE), Some("S256"));
        assert!(check_pkce(&with, Some(VERIFIER), true).is_ok());
        let wrong = "x".repeat(43);
        assert_eq!(
            check_pkce(&with, Some(&wrong), true).unwrap_err().code,
            "invalid_grant"
        );
        assert_eq!(
            check_pkce(&with, None, false).unwrap_err().code,
            "invalid_grant"
        );
        let plain = code(Some(VERIFIER), Some("plain"));
        assert!(check_pkce(&plain, Some(VERIFIER), false).is_err());
        let without = code(None, None);
        assert!(check_pkce(&without, None, false).is_ok());
        assert!(check_pkce(&without, None, true).is_err());
        assert!(check_pkce(&without, Some(VERIFIER), false).is_err());
    }

    #[test]
    fn verifier_syntax_follows_rfc_7636() {
        assert!(verifier_syntax(VERIFIER).is_ok());
        assert!(verifier_syntax(&"a".repeat(128)).is_ok());
        assert!(verifier_syntax(&"a".repeat(42)).is_err());
        assert!(verifier_syntax(&"a".repeat(129)).is_err());
        let e = verifier_syntax(&format!("{}+", "a".repeat(43))).unwrap_err();
        assert_eq!(e.code, "invalid_request");
    }
}
