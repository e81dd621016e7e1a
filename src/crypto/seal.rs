//! Encryption at rest for factor secrets (TOTP seeds, pending enrolment state): compact JWE with
//! `alg: dir`, `enc: A256GCM` (authenticated), keyed by a key derived from the server secret.
//! josekit is already the JOSE library here, so no second crypto crate is needed.

use josekit::jwe::{self, Dir, JweHeader};

use super::secret::ServerSecret;

#[derive(Debug, thiserror::Error)]
#[error("sealed value could not be opened")]
pub struct SealError;

/// `purpose` separates keys: a value sealed for one purpose does not open under another.
pub fn seal(secret: &ServerSecret, purpose: &str, plaintext: &[u8]) -> Result<String, SealError> {
    let key = secret.derive(&format!("seal:{purpose}"));
    let mut header = JweHeader::new();
    header.set_content_encryption("A256GCM");
    let enc = Dir.encrypter_from_bytes(key).map_err(|_| SealError)?;
    jwe::serialize_compact(plaintext, &header, &enc).map_err(|_| SealError)
}

pub fn open(secret: &ServerSecret, purpose: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
    let key = secret.derive(&format!("seal:{purpose}"));
    let dec = Dir.decrypter_from_bytes(key).map_err(|_| SealError)?;
    let (plain, header) = jwe::deserialize_compact(sealed, &dec).map_err(|_| SealError)?;
    if header.content_encryption() != Some("A256GCM") {
        return Err(SealError);
    }
    Ok(plain)
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
}
