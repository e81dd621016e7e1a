//! Encryption at rest for factor secrets (TOTP seeds, pending enrolment state): compact JWE with
//! `alg: dir`, `enc: A256GCM` (authenticated), keyed by a key derived from the server secret.
//! josekit is already the JOSE library here, so no second crypto crate is needed.

use josekit::jwe::{self, Dir, JweHeader};

use super::secret::ServerSecret;

#[derive(Debug, thiserror::Error)]
#[error("sealed value could not be opened")]
pub struct SealError;

/// `purpose` separates keys: a value sealed for one purpose does not open under another. The
/// header's `kid` names the server secret it was sealed under ([`ServerSecret::key_id`]).
pub fn seal(secret: &ServerSecret, purpose: &str, plaintext: &[u8]) -> Result<String, SealError> {
    let key = secret.derive(&format!("seal:{purpose}"));
    let mut header = JweHeader::new();
    header.set_content_encryption("A256GCM");
    header.set_key_id(secret.key_id());
    let enc = Dir.encrypter_from_bytes(key).map_err(|_| SealError)?;
    jwe::serialize_compact(plaintext, &header, &enc).map_err(|_| SealError)
}

/// Opens a value sealed under the current secret or one of `secrets.previous`: the key its
/// `kid` names first, then the others (values sealed before the `kid` existed carry none).
pub fn open(secret: &ServerSecret, purpose: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
    let named = sealed_kid(sealed);
    let mut keys = secret.derive_all(&format!("seal:{purpose}"));
    keys.sort_by_key(|(kid, _)| Some(kid.as_str()) != named.as_deref());
    for (_, key) in keys {
        let dec = Dir.decrypter_from_bytes(key).map_err(|_| SealError)?;
        if let Ok((plain, header)) = jwe::deserialize_compact(sealed, &dec) {
            if header.content_encryption() != Some("A256GCM") {
                return Err(SealError);
            }
            return Ok(plain);
        }
    }
    Err(SealError)
}

/// Whether `sealed` was sealed under another key than the current one (`gatehouse secrets
/// reseal` re-seals those).
pub fn is_stale(secret: &ServerSecret, sealed: &str) -> bool {
    sealed_kid(sealed).as_deref() != Some(secret.key_id().as_str())
}

/// The `kid` of a compact JWE's protected header, read without opening it.
fn sealed_kid(sealed: &str) -> Option<String> {
    use base64::Engine;
    let head = sealed.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(head)
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("kid")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_purpose_separation() {
        let dir = tempfile::tempdir().unwrap();
        let s = ServerSecret::load_or_create(dir.path()).unwrap();
        let sealed = seal(&s, "totp", b"JBSWY3DPEHPK3PXP").unwrap();
        assert!(!sealed.contains("JBSWY3DP"));
        assert_eq!(open(&s, "totp", &sealed).unwrap(), b"JBSWY3DPEHPK3PXP");
        assert!(open(&s, "other", &sealed).is_err());
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push('A');
        assert!(open(&s, "totp", &tampered).is_err() || tampered == sealed);
    }

    #[test]
    fn sealed_under_a_previous_secret_still_opens_and_is_stale() {
        use crate::crypto::secret::{SecretsConfig, generate_key_text};
        let dir = tempfile::tempdir().unwrap();
        let old = generate_key_text();
        let with = |key: &str, previous: Vec<String>| {
            ServerSecret::from_config(
                &SecretsConfig {
                    key: Some(key.to_owned()),
                    key_file: None,
                    previous,
                },
                dir.path(),
            )
            .unwrap()
        };
        let before = with(&old, vec![]);
        let sealed = seal(&before, "signing-key", b"private").unwrap();
        assert!(!is_stale(&before, &sealed));
        let new = generate_key_text();
        let rotated = with(&new, vec![old]);
        assert_eq!(open(&rotated, "signing-key", &sealed).unwrap(), b"private");
        assert!(is_stale(&rotated, &sealed));
        assert!(open(&with(&new, vec![]), "signing-key", &sealed).is_err());
    }
}
