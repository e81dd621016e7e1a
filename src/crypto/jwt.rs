//! JWS-signed JWTs through josekit: ID tokens and RFC 9068 access tokens are signed with the
//! active key of the client's algorithm; verification picks the key by `kid` from the key set
//! (active, next or still-published retired keys).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::JwsHeader;
use josekit::jwt::{self, JwtPayload};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha512};

use super::keys::{KeyError, KeySet};
use crate::model::SigningAlg;

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("signing failed: {0}")]
    Sign(String),
    #[error("token is malformed or its signature does not verify")]
    Invalid,
    #[error(transparent)]
    Keys(#[from] KeyError),
}

/// Signs `claims` with the active key for `alg`, with `typ` in the header (`JWT`, `at+jwt`).
pub fn sign(
    keys: &KeySet,
    alg: SigningAlg,
    typ: &str,
    claims: Map<String, Value>,
) -> Result<String, JwtError> {
    let key = keys.active(alg).ok_or(KeyError::NoActiveKey(alg))?;
    let mut header = JwsHeader::new();
    header.set_token_type(typ);
    header.set_key_id(&key.kid);
    let payload = JwtPayload::from_map(claims).map_err(|e| JwtError::Sign(e.to_string()))?;
    jwt::encode_with_signer(&payload, &header, key.signer())
        .map_err(|e| JwtError::Sign(e.to_string()))
}

/// A verified token: its claims and header `typ`. Time-based checks (exp, iss, aud) are the
/// caller's, because each endpoint applies its own rules (RFC 9068 §4, OIDC Core §3.1.3.7).
pub struct Verified {
    pub claims: Map<String, Value>,
    pub typ: Option<String>,
    pub alg: SigningAlg,
}

pub fn verify(keys: &KeySet, token: &str) -> Result<Verified, JwtError> {
    let header = jwt::decode_header(token).map_err(|_| JwtError::Invalid)?;
    let kid = header
        .claim("kid")
        .and_then(Value::as_str)
        .ok_or(JwtError::Invalid)?;
    let key = keys.find(kid).ok_or(JwtError::Invalid)?;
    // The key decides the algorithm; a header naming another one is rejected by josekit.
    let (payload, header) =
        jwt::decode_with_verifier(token, key.verifier()).map_err(|_| JwtError::Invalid)?;
    Ok(Verified {
        claims: payload.claims_set().clone(),
        typ: header.token_type().map(str::to_owned),
        alg: key.alg,
    })
}

/// OIDC Core §3.1.3.6 `at_hash` / `c_hash`: base64url of the left half of the hash of the
/// ASCII value, with the hash of the signing algorithm (SHA-512 for Ed25519).
pub fn half_hash(alg: SigningAlg, value: &str) -> String {
    let digest: Vec<u8> = match alg {
        SigningAlg::Rs256 | SigningAlg::Es256 => Sha256::digest(value.as_bytes()).to_vec(),
        SigningAlg::EdDsa => Sha512::digest(value.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_every_algorithm() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeySet::load_or_create(dir.path(), 1000).unwrap();
        for alg in SigningAlg::ALL {
            let mut claims = Map::new();
            claims.insert("sub".into(), "alice".into());
            let token = sign(&keys, *alg, "at+jwt", claims).unwrap();
            let v = verify(&keys, &token).unwrap();
            assert_eq!(v.claims["sub"], "alice");
            assert_eq!(v.typ.as_deref(), Some("at+jwt"));
            assert_eq!(v.alg, *alg);
            // Tampering with the payload breaks the signature.
            let mut parts: Vec<&str> = token.split('.').collect();
            let forged = URL_SAFE_NO_PAD.encode(br#"{"sub":"mallory"}"#);
            parts[1] = &forged;
            assert!(verify(&keys, &parts.join(".")).is_err());
        }
        assert!(verify(&keys, "not.a.jwt").is_err());
    }

    fn kid_of(token: &str) -> String {
        let header = jwt::decode_header(token).unwrap();
        header.claim("kid").unwrap().as_str().unwrap().to_owned()
    }

    #[test]
    fn one_key_set_signs_many_tokens_and_a_rotated_set_signs_with_the_new_kid() {
        let dir = tempfile::tempdir().unwrap();
        let old = KeySet::load_or_create(dir.path(), 1000).unwrap();
        let claims = |n: usize| {
            let mut c = Map::new();
            c.insert("jti".into(), n.to_string().into());
            c
        };
        // The signers and verifiers built at load are reused, from several threads at once.
        let mut old_tokens = Vec::new();
        std::thread::scope(|s| {
            let handles: Vec<_> = SigningAlg::ALL
                .iter()
                .map(|alg| {
                    let old = &old;
                    s.spawn(move || {
                        (0..40)
                            .map(|n| {
                                let t = sign(old, *alg, "at+jwt", claims(n)).unwrap();
                                let v = verify(old, &t).unwrap();
                                assert_eq!(v.claims["jti"], n.to_string());
                                assert_eq!(v.alg, *alg);
                                assert_eq!(kid_of(&t), old.active(*alg).unwrap().kid);
                                (*alg, t)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                old_tokens.extend(h.join().unwrap());
            }
        });
        assert_eq!(old_tokens.len(), 40 * SigningAlg::ALL.len());

        for alg in SigningAlg::ALL {
            super::super::keys::rotate(dir.path(), *alg, false, 600, 2000).unwrap();
        }
        let new = KeySet::load(dir.path()).unwrap();
        for alg in SigningAlg::ALL {
            let (old_kid, new_kid) = (
                &old.active(*alg).unwrap().kid,
                &new.active(*alg).unwrap().kid,
            );
            assert_ne!(old_kid, new_kid);
            let t = sign(&new, *alg, "at+jwt", claims(0)).unwrap();
            assert_eq!(&kid_of(&t), new_kid);
            assert_eq!(verify(&new, &t).unwrap().alg, *alg);
            // The old set does not know the new key.
            assert!(verify(&old, &t).is_err());
        }
        // Tokens of the retired keys still verify: those keys are published and keep a verifier.
        for (alg, t) in &old_tokens {
            assert_eq!(verify(&new, t).unwrap().alg, *alg);
        }
    }

    #[test]
    fn at_hash_matches_the_spec_example() {
        // OIDC Core appendix A.3: access token and its at_hash (RS256).
        assert_eq!(
            half_hash(
                SigningAlg::Rs256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
