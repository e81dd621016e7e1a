//! Validation of the JWT access tokens this issuer minted, when they come back to it (UserInfo,
//! revocation, introspection). RFC 9068 §4: signature with a key of this issuer, `typ`
//! `at+jwt`, `iss` this issuer, `aud` including it, not expired; and, beyond the RFC, the `jti`
//! must not be on the revocation list and the grant the token names (`grant_id`) must be live,
//! which is what makes revocation and the end of the SSO session effective. A resource server
//! that validates the JWT locally sees neither; the token's short lifetime bounds what it
//! misses (docs/security.md#what-ends-what).

use serde_json::{Map, Value};

use super::error::OAuthError;
use crate::crypto::jwt;
use crate::ids::{ClientId, UserId};
use crate::state::{AppState, TenantCtx};
use crate::store::grants;
use crate::store::tokens;

/// A token whose signature, type and issuer check out; `jti` names its database row.
pub struct Decoded {
    pub claims: Map<String, Value>,
    pub jti: String,
}

/// An access token that may be used right now.
pub struct Active {
    pub claims: Map<String, Value>,
    pub client_id: ClientId,
    /// `None` when the token acts for the client itself (client_credentials).
    pub user_id: Option<UserId>,
    pub scope: String,
    /// The `claims` request parameter of the token's grant (JSON text; `None` for
    /// client_credentials tokens, which have no grant).
    pub requested: Option<String>,
}

/// Checks signature, `typ` and `iss`, but not time or revocation (revocation of an expired
/// token is harmless). `None` when the token is not one of ours.
pub async fn decode(state: &AppState, ctx: &TenantCtx, token: &str) -> Option<Decoded> {
    let keys = state.keys.current(&ctx.tenant.id).await.ok()?;
    let v = jwt::verify(&keys.set, token).ok()?;
    // RFC 9068 §4: `typ` is `at+jwt` (or the full media type); ID tokens are refused here.
    let typ = v.typ?.to_ascii_lowercase();
    if typ != "at+jwt" && typ != "application/at+jwt" {
        return None;
    }
    // Each tenant has its own keys; the issuer is checked as well.
    if v.claims.get("iss").and_then(Value::as_str) != Some(ctx.issuer.as_str()) {
        return None;
    }
    let jti = v.claims.get("jti")?.as_str()?.to_owned();
    Some(Decoded {
        claims: v.claims,
        jti,
    })
}

/// A fully valid access token, or `None` (expired, revoked, unknown, not ours).
pub async fn active(
    state: &AppState,
    ctx: &TenantCtx,
    token: &str,
    now: i64,
) -> Result<Option<Active>, OAuthError> {
    let Some(d) = decode(state, ctx, token).await else {
        return Ok(None);
    };
    let exp = d.claims.get("exp").and_then(Value::as_i64);
    let unexpired = exp.is_some_and(|e| e > now);
    if !unexpired || !audience_includes(&d.claims, &ctx.issuer) {
        return Ok(None);
    }
    let db_err = |e| OAuthError::internal("access token lookup failed", e);
    if tokens::access_revoked(&state.db, &ctx.tenant.id, &d.jti)
        .await
        .map_err(db_err)?
    {
        return Ok(None);
    }
    let text = |name: &str| {
        d.claims
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (grant_id, user_id) = match text("grant_id") {
        Some(g) => (Some(g), text("sub").map(UserId::from)),
        // A user's token minted before tokens named their grant: its row says which.
        None if d.claims.contains_key("auth_time") => {
            let row = tokens::find_legacy_access(&state.db, &ctx.tenant.id, &d.jti)
                .await
                .map_err(db_err)?;
            match row.filter(|r| r.is_active(now)) {
                Some(r) => (r.grant_id, r.user_id),
                None => return Ok(None),
            }
        }
        None => (None, None),
    };
    let Some(client_id) = text("client_id").map(ClientId::from) else {
        return Ok(None);
    };
    // The token's grant must be live too: ending the SSO session or revoking the grant kills
    // its access tokens without a row per token.
    let requested = match &grant_id {
        None => None,
        Some(grant_id) => {
            let grant = grants::find_live(&state.db, &ctx.tenant.id, grant_id, now)
                .await
                .map_err(|e| OAuthError::internal("grant lookup failed", e))?;
            let Some(grant) = grant else {
                return Ok(None);
            };
            grant.claims
        }
    };
    Ok(Some(Active {
        scope: text("scope").unwrap_or_default(),
        claims: d.claims,
        client_id,
        user_id,
        requested,
    }))
}

/// RFC 7519 §4.1.3: `aud` is a string or an array of strings.
fn audience_includes(claims: &Map<String, Value>, who: &str) -> bool {
    match claims.get("aud") {
        Some(Value::String(s)) => s == who,
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(who)),
        _ => false,
    }
}

/// The Bearer credential of an `Authorization` header (RFC 6750 §2.1; the scheme is
/// case-insensitive, RFC 7235 §2.1). `Err` when the header is present but is not Bearer.
pub fn from_header(headers: &axum::http::HeaderMap) -> Result<Option<String>, OAuthError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| OAuthError::invalid_request("malformed Authorization header"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(OAuthError::invalid_request(
            "the Authorization header must use the Bearer scheme",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, header};
    use serde_json::json;

    #[test]
    fn audience_forms() {
        let m = |v: Value| v.as_object().unwrap().clone();
        assert!(audience_includes(&m(json!({"aud": "i"})), "i"));
        assert!(audience_includes(&m(json!({"aud": ["x", "i"]})), "i"));
        assert!(!audience_includes(&m(json!({"aud": "x"})), "i"));
        assert!(!audience_includes(&m(json!({})), "i"));
    }

    #[test]
    fn bearer_header() {
        let mut h = HeaderMap::new();
        assert_eq!(from_header(&h).unwrap(), None);
        h.insert(header::AUTHORIZATION, "bearer abc".parse().unwrap());
        assert_eq!(from_header(&h).unwrap().as_deref(), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(from_header(&h).unwrap_err().code, "invalid_request");
        h.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert!(from_header(&h).is_err());
    }
}
