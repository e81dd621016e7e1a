//! The server secret: 32 random bytes in `keys/server.secret` (mode 0600), created on first
//! start beside the signing keys and shared by every node like them. It keys the HMACs that bind
//! CSRF tokens to a browser, and later the encryption of factor secrets at rest.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::keys::KeyError;

pub const FILE_NAME: &str = "server.secret";

#[derive(Clone)]
pub struct ServerSecret([u8; 32]);

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret(..)")
    }
}

impl ServerSecret {
    pub fn load_or_create(dir: &Path) -> Result<ServerSecret, KeyError> {
        let path = dir.join(FILE_NAME);
        let io = |source| KeyError::Io {
            path: path.clone(),
            source,
        };
        super::keys::ensure_dir(dir)?;
        if !path.exists() {
            let mut bytes = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(mut f) => f.write_all(STANDARD.encode(bytes).as_bytes()).map_err(io)?,
                // Another node created it first: read theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
        }
        crate::private_fs::tighten(&path, crate::private_fs::FILE_MODE)
            .map_err(KeyError::Insecure)?;
        let text = std::fs::read_to_string(&path).map_err(io)?;
        let bytes = STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| KeyError::Invalid {
                path: path.clone(),
                reason: "expected 32 bytes, base64".into(),
            })?;
        Ok(ServerSecret(bytes))
    }

    /// HMAC-SHA256 over `purpose` and `data`, base64url. `purpose` separates uses of the key.
    pub fn mac(&self, purpose: &str, data: &str) -> String {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("any key length");
        m.update(purpose.as_bytes());
        m.update(&[0]);
        m.update(data.as_bytes());
        URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
    }

    /// Constant-time check of a MAC produced by [`ServerSecret::mac`].
    pub fn verify_mac(&self, purpose: &str, data: &str, presented: &str) -> bool {
        let expected = self.mac(purpose, data);
        expected.as_bytes().ct_eq(presented.as_bytes()).into()
    }

    /// Key material derived for one purpose (e.g. the factor-secret encryption key).
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("any key length");
        m.update(b"derive\0");
        m.update(purpose.as_bytes());
        m.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = ServerSecret::load_or_create(dir.path()).unwrap();
        let b = ServerSecret::load_or_create(dir.path()).unwrap();
        assert_eq!(a.mac("csrf", "x"), b.mac("csrf", "x"));
        assert_ne!(a.mac("csrf", "x"), a.mac("other", "x"));
        assert!(a.verify_mac("csrf", "x", &a.mac("csrf", "x")));
        assert!(!a.verify_mac("csrf", "y", &a.mac("csrf", "x")));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
