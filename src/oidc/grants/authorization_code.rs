//! `grant_type=authorization_code` (RFC 6749 §4.1.3, OIDC Core §3.1.3.2, RFC 7636 §4.5–4.6).
//!
//! Parameter syntax is checked before the code is redeemed, so a malformed request does not
//! burn a good code. The code is then spent atomically, and only afterwards compared with the
//! request (client, expiry, redirect URI, PKCE): a code presented with the wrong binding is
//! spent too, because whoever holds it is not to be trusted with a second try.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::issue::{self, UserGrant};
use super::{GrantCtx, TokenResponse, db_error};
use crate::crypto::random;
use crate::oidc::claims::{self, Authn};
use crate::oidc::error::OAuthError;
use crate::oidc::scope::Scope;
use crate::store::codes::{self, AuthCode, Redeemed};
use crate::store::{parse_json_list, tokens};

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

    let stored = redeem(ctx, code).await?;
    check_binding(ctx, &stored, redirect_uri)?;
    check_pkce(&stored, verifier, ctx.client.is_public)?;

    let user = ctx.active_user(&stored.user_id).await?;
    let amr = parse_json_list(&stored.amr).map_err(db_error)?;
    let scope = Scope::parse(&stored.scope)
        .map_err(|e| OAuthError::internal("stored code scope unreadable", e))?;
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
    };
    issue::for_user(ctx, &grant).await
}

/// The same description for every code that cannot be used, so a caller learns nothing about
/// codes it does not own.
fn bad_code() -> OAuthError {
    OAuthError::invalid_grant("the authorization code is invalid, expired or already used")
}

/// Spends the code. A second use means it leaked (or a replay): everything minted from it is
/// revoked (RFC 6749 §4.1.2, OAuth Security BCP §4.5).
async fn redeem(ctx: &GrantCtx<'_>, code: &str) -> Result<AuthCode, OAuthError> {
    let hash = random::sha256_hex(code);
    match codes::redeem(&ctx.state.db, &hash, &ctx.tenant.id, ctx.now)
        .await
        .map_err(db_error)?
    {
        Redeemed::Fresh(c) => Ok(c),
        Redeemed::Reused(c) => {
            tracing::warn!(
                grant_id = %c.grant_id,
                client_id = %c.client_id,
                "authorization code reused; revoking every token of its grant"
            );
            tokens::revoke_grant(&ctx.state.db, &ctx.tenant.id, &c.grant_id, ctx.now)
                .await
                .map_err(db_error)?;
            Err(bad_code())
        }
        Redeemed::Unknown => Err(bad_code()),
    }
}

/// RFC 6749 §4.1.3: the code must belong to this client, be unexpired, and the redirect URI
/// must be identical to the one of the authorization request (simple string comparison,
/// RFC 3986 §6.2.1; no normalisation).
fn check_binding(ctx: &GrantCtx<'_>, c: &AuthCode, redirect_uri: &str) -> Result<(), OAuthError> {
    if c.client_id != ctx.client.id || c.expires_at <= ctx.now {
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
