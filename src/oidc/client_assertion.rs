//! `private_key_jwt` (OIDC Core §9, RFC 7523 §2.2 and §3): the client proves itself with a JWT
//! signed by its own key. Checked here, in order: the algorithm (RS256, ES256 or EdDSA, also
//! spelled `Ed25519` as RFC 9864 does; never `none` or HMAC), the signature under one of the
//! client's keys, `iss` = `sub` = client id, `aud`, the times, and last the single use of `jti`
//! (only a genuine assertion may reserve one). Every failure is `invalid_client` for the caller; the reason is logged, the assertion
//! never is.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use josekit::jws::{ES256, EdDSA, JwsVerifier, RS256};
use serde_json::{Map, Value};

use super::client_jwks;
use crate::model::SigningAlg;
use crate::store::{self, clients::Client};

/// RFC 7523 §2.2 `client_assertion_type`.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// An assertion is a few hundred bytes; this bounds the work an unsigned one can cause.
pub const MAX_ASSERTION_BYTES: usize = 8 * 1024;
/// `exp` may be at most this far ahead: an assertion is made for one request, and its `jti` is
/// kept until `exp`, so the bound also bounds the jti table.
pub const MAX_LIFETIME_SECS: i64 = 300;
/// Tolerated clock difference between the client and Gatehouse, for `exp`, `nbf` and `iat`.
pub const CLOCK_SKEW_SECS: i64 = 30;
/// Longest `jti` accepted (it is stored).
pub const MAX_JTI_BYTES: usize = 256;

/// Why an assertion was refused: for the log line only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Malformed,
    Algorithm,
    NoKeys,
    Signature,
    Issuer,
    Audience,
    Expired,
    TooLong,
    NotYetValid,
    Jti,
    Replayed,
    Store,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed assertion",
            Refusal::Algorithm => "algorithm not allowed",
            Refusal::NoKeys => "client keys unavailable",
            Refusal::Signature => "signature does not verify under the client's keys",
            Refusal::Issuer => "iss/sub is not the client id",
            Refusal::Audience => "aud names neither the token endpoint nor the issuer",
            Refusal::Expired => "exp missing or passed",
            Refusal::TooLong => "exp too far ahead",
            Refusal::NotYetValid => "nbf or iat in the future",
            Refusal::Jti => "jti missing or too long",
            Refusal::Replayed => "jti already used",
            Refusal::Store => "jti store failed",
        }
    }
}

/// The client id an assertion claims, read before any check so the client (and its keys) can
/// be found: `sub`, which must equal `iss` (checked later, once the signature holds).
pub fn claimed_client_id(assertion: &str) -> Option<String> {
    if assertion.len() > MAX_ASSERTION_BYTES {
        return None;
    }
    let payload = assertion.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

/// Verifies `assertion` for `client` of the issuer `issuer` at time `now`, and spends its
/// `jti`.
pub async fn verify(
    db: &store::Db,
    client: &Client,
    issuer: &str,
    assertion: &str,
    now: i64,
) -> Result<(), Refusal> {
    if assertion.len() > MAX_ASSERTION_BYTES {
        return Err(Refusal::Malformed);
    }
    let header = header(assertion).ok_or(Refusal::Malformed)?;
    // Extensions the client insists on (RFC 7515 §4.1.11) are ones Gatehouse does not know.
    if header.contains_key("crit") {
        return Err(Refusal::Malformed);
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(Refusal::Malformed)
        .and_then(assertion_alg)?;
    let kid = header.get("kid").and_then(Value::as_str);
    let claims = verified_claims(client, alg, kid, assertion).await?;
    check_claims(&claims, client.id.as_str(), issuer, now)?;
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_BYTES)
        .ok_or(Refusal::Jti)?;
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(now);
    let fresh = store::assertion_jtis::reserve(db, &client.tenant_id, &client.id, jti, exp)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "client assertion jti store failed");
            Refusal::Store
        })?;
    if !fresh {
        return Err(Refusal::Replayed);
    }
    Ok(())
}

/// The payload, once the signature verifies under a key of the client that fits `alg` (and
/// `kid`, when both the header and the key name one). An unknown `kid` fetches a `jwks_uri` set once more.
async fn verified_claims(
    client: &Client,
    alg: SigningAlg,
    kid: Option<&str>,
    assertion: &str,
) -> Result<Map<String, Value>, Refusal> {
    let no_keys = |e: client_jwks::KeysError| {
        tracing::warn!(client_id = %client.id, error = %e, "client assertion keys unavailable");
        Refusal::NoKeys
    };
    let (keys, just_fetched) = client_jwks::keys(client).await.map_err(no_keys)?;
    if let Some(claims) = try_keys(&keys, alg, kid, assertion) {
        return Ok(claims);
    }
    let knows_kid = kid.is_none_or(|k| keys.iter().any(|j| j.key_id() == Some(k)));
    if !knows_kid
        && !just_fetched
        && let Some(fresh) = client_jwks::refetch_for_unknown_kid(client).await
    {
        let keys = fresh.map_err(no_keys)?;
        if let Some(claims) = try_keys(&keys, alg, kid, assertion) {
            return Ok(claims);
        }
    }
    Err(Refusal::Signature)
}

/// The JWS algorithms an assertion may use. `Ed25519` is RFC 9864's fully specified name for
/// EdDSA with Ed25519, which current libraries (oauth4webapi, openid-client) send.
fn assertion_alg(name: &str) -> Result<SigningAlg, Refusal> {
    match name {
        "Ed25519" => Ok(SigningAlg::EdDsa),
        other => other.parse().map_err(|_| Refusal::Algorithm),
    }
}

/// The decoded JOSE header of a compact JWS.
fn header(assertion: &str) -> Option<Map<String, Value>> {
    let head = assertion.split('.').next()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).ok()?).ok()
}

fn try_keys(
    keys: &[Jwk],
    alg: SigningAlg,
    kid: Option<&str>,
    assertion: &str,
) -> Option<Map<String, Value>> {
    keys.iter()
        // A registered key without `kid` may sign with any kid (or none).
        .filter(|k| kid.is_none_or(|want| k.key_id().is_none_or(|have| have == want)))
        .filter_map(|k| verifier(k, alg))
        .find_map(|v| verify_compact(assertion, &*v))
}

/// Checks the signature of a compact JWS (`header.payload.signature`) and returns its claims.
/// The signature is checked here rather than by `josekit::jwt`, which would insist that the
/// header's `alg` is spelled as the key's algorithm (`EdDSA`, not `Ed25519`); the algorithm was
/// already fixed from the header, and the key decides the rest.
fn verify_compact(assertion: &str, verifier: &dyn JwsVerifier) -> Option<Map<String, Value>> {
    let mut parts = assertion.split('.');
    let (head, body, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let signature = URL_SAFE_NO_PAD.decode(sig).ok()?;
    verifier
        .verify(format!("{head}.{body}").as_bytes(), &signature)
        .ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
}

/// A verifier for `alg` from `jwk`; `None` when the key does not fit the algorithm (josekit
/// checks `kty`, `crv`, `use`, `key_ops`, `alg` and a 2048-bit RSA minimum). A key registered
/// with RFC 9864's `"alg": "Ed25519"` is read as the EdDSA key it is.
fn verifier(jwk: &Jwk, alg: SigningAlg) -> Option<Box<dyn JwsVerifier>> {
    let mut jwk = jwk.clone();
    if jwk.algorithm() == Some("Ed25519") {
        jwk.set_algorithm("EdDSA");
    }
    Some(match alg {
        SigningAlg::Rs256 => Box::new(RS256.verifier_from_jwk(&jwk).ok()?),
        SigningAlg::Es256 => Box::new(ES256.verifier_from_jwk(&jwk).ok()?),
        SigningAlg::EdDsa => Box::new(EdDSA.verifier_from_jwk(&jwk).ok()?),
    })
}

/// RFC 7523 §3 items 1–7 (the signature and jti aside): `iss` and `sub` are the client id,
/// `aud` names the token endpoint or the issuer, `exp` is present, not passed and at most
/// [`MAX_LIFETIME_SECS`] ahead, and `nbf`/`iat` are not in the future.
pub fn check_claims(
    claims: &Map<String, Value>,
    client_id: &str,
    issuer: &str,
    now: i64,
) -> Result<(), Refusal> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(client_id) || text("sub") != Some(client_id) {
        return Err(Refusal::Issuer);
    }
    let token_endpoint = format!("{issuer}/token");
    let ours = |a: &Value| {
        a.as_str()
            .is_some_and(|a| a == token_endpoint || a == issuer)
    };
    let aud_ok = match claims.get("aud") {
        Some(Value::Array(list)) => list.iter().any(ours),
        Some(single) => ours(single),
        None => false,
    };
    if !aud_ok {
        return Err(Refusal::Audience);
    }
    let time = |name: &str| claims.get(name).and_then(Value::as_i64);
    let exp = time("exp").ok_or(Refusal::Expired)?;
    if exp + CLOCK_SKEW_SECS <= now {
        return Err(Refusal::Expired);
    }
    if exp > now + MAX_LIFETIME_SECS + CLOCK_SKEW_SECS {
        return Err(Refusal::TooLong);
    }
    let future = |name: &str| time(name).is_some_and(|t| t > now + CLOCK_SKEW_SECS);
    if future("nbf") || future("iat") {
        return Err(Refusal::NotYetValid);
    }
    // A claim of the wrong JSON type is as bad as a missing one.
    for name in ["nbf", "iat"] {
        if claims.get(name).is_some() && time(name).is_none() {
            return Err(Refusal::Malformed);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISS: &str = "https://id.example.com/t/acme";

    fn claims(extra: Value) -> Map<String, Value> {
        let mut c = json!({
            "iss": "app", "sub": "app", "aud": format!("{ISS}/token"),
            "exp": 1_000 + 60, "iat": 1_000, "jti": "j1",
        });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c.as_object().unwrap().clone()
    }

    fn check(extra: Value) -> Result<(), Refusal> {
        check_claims(&claims(extra), "app", ISS, 1_000)
    }

    #[test]
    fn claim_rules() {
        assert_eq!(check(json!({})), Ok(()));
        assert_eq!(check(json!({ "aud": [ISS, "other"] })), Ok(()));
        assert_eq!(check(json!({ "aud": ISS })), Ok(()));
        assert_eq!(
            check(json!({ "aud": "https://other/token" })),
            Err(Refusal::Audience)
        );
        assert_eq!(check(json!({ "aud": null })), Err(Refusal::Audience));
        assert_eq!(check(json!({ "sub": "other" })), Err(Refusal::Issuer));
        assert_eq!(check(json!({ "iss": "other" })), Err(Refusal::Issuer));
        assert_eq!(check(json!({ "exp": null })), Err(Refusal::Expired));
        assert_eq!(check(json!({ "exp": 1_000 - 31 })), Err(Refusal::Expired));
        assert_eq!(check(json!({ "exp": "soon" })), Err(Refusal::Expired));
        assert_eq!(check(json!({ "exp": 1_000 + 330 })), Ok(()));
        assert_eq!(check(json!({ "exp": 1_000 + 331 })), Err(Refusal::TooLong));
        assert_eq!(
            check(json!({ "nbf": 1_000 + 31 })),
            Err(Refusal::NotYetValid)
        );
        assert_eq!(
            check(json!({ "iat": 1_000 + 31 })),
            Err(Refusal::NotYetValid)
        );
        assert_eq!(check(json!({ "iat": "x" })), Err(Refusal::Malformed));
    }

    #[test]
    fn reads_the_claimed_client() {
        let body = URL_SAFE_NO_PAD.encode(r#"{"sub":"app","iss":"app"}"#);
        assert_eq!(
            claimed_client_id(&format!("e30.{body}.sig")).as_deref(),
            Some("app")
        );
        assert_eq!(claimed_client_id("not-a-jwt"), None);
        assert_eq!(
            claimed_client_id(&format!("e30.{}.s", "A".repeat(9000))),
            None
        );
    }
}
