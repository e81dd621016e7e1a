//! Random secrets from the OS CSPRNG, and the one-way form they are stored in.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `bytes` random bytes as unpadded base64url (32 bytes = 256 bits = 43 characters).
pub fn token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 as lowercase hex: the stored form of high-entropy secrets (client secrets, session
/// ids, codes, refresh tokens). Not for passwords, which use argon2id.
pub fn sha256_hex(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares a presented secret with a stored SHA-256 hash in constant time.
pub fn verify_sha256(secret: &str, stored_hex: &str) -> bool {
    let computed = sha256_hex(secret);
    computed.as_bytes().ct_eq(stored_hex.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, token(32));
    }

    #[test]
    fn hash_verifies_only_its_secret() {
        let h = sha256_hex("s3cret");
        assert!(verify_sha256("s3cret", &h));
        assert!(!verify_sha256("s3creT", &h));
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
