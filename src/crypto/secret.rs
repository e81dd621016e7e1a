//! The server secret (`secrets.key`): 32 random bytes, the one secret every node must share.
//! It seals the signing keys in the database and the TOTP seeds ([`super::seal`]) and keys the
//! HMACs that bind CSRF tokens to a browser and hash recovery and one-time codes at rest.
//!
//! Where it comes from, first match wins: `secrets.key` (base64url; `GATEHOUSE_SECRETS__KEY`),
//! else the file `secrets.key_file` (default `{keys.dir}/secret.key`), which the embedded
//! default creates (mode 0600) on first start. `secrets.previous` lists older keys that still
//! open sealed values and still match MACs, so the secret itself can be rotated: put the old key
//! in `previous`, the new one in `key`, run `gatehouse secrets reseal`, and drop the old key once
//! nothing needs it (see docs/operations.md).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::keys::KeyError;

/// The file name of the generated secret inside `keys.dir`.
pub const FILE_NAME: &str = "secret.key";
/// Where releases before `secrets.key` kept the same 32 bytes (standard base64); taken over once.
const LEGACY_FILE_NAME: &str = "server.secret";

/// `[secrets]` of the configuration.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// base64url of 32 random bytes; wins over `key_file`.
    pub key: Option<String>,
    /// A file holding the key (base64url or base64), which must exist. Unset (and no `key`):
    /// `{keys.dir}/secret.key`, created on first start.
    pub key_file: Option<PathBuf>,
    /// Older keys (base64url) still accepted to open sealed values and match MACs.
    #[serde(default)]
    pub previous: Vec<String>,
}

impl std::fmt::Debug for SecretsConfig {
    // Never print a key, not even in a config dump.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsConfig")
            .field("key", &self.key.as_ref().map(|_| ".."))
            .field("key_file", &self.key_file)
            .field(
                "previous",
                &format_args!("[{} key(s)]", self.previous.len()),
            )
            .finish()
    }
}

impl SecretsConfig {
    /// Checks the shape of every configured key, so a typo stops start-up with the key's name.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(k) = &self.key {
            decode(k).map_err(|e| format!("secrets.key: {e}"))?;
        }
        for (i, k) in self.previous.iter().enumerate() {
            decode(k).map_err(|e| format!("secrets.previous[{i}]: {e}"))?;
        }
        Ok(())
    }
}

#[derive(Clone)]
pub struct ServerSecret {
    current: [u8; 32],
    previous: Vec<[u8; 32]>,
}

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret(..)")
    }
}

fn decode(text: &str) -> Result<[u8; 32], String> {
    let t = text.trim();
    URL_SAFE_NO_PAD
        .decode(t.trim_end_matches('='))
        .or_else(|_| STANDARD.decode(t))
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| "expected 32 bytes, base64url (e.g. `openssl rand -base64 32`)".to_string())
}

/// A fresh key in the form `secrets.key` takes.
pub fn generate_key_text() -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl ServerSecret {
    /// The secret the configuration names (see the module comment), creating the default file
    /// on first start.
    pub fn from_config(cfg: &SecretsConfig, keys_dir: &Path) -> Result<ServerSecret, KeyError> {
        let invalid = |what: &str, reason: String| KeyError::Invalid {
            path: PathBuf::from(what),
            reason,
        };
        let previous = cfg
            .previous
            .iter()
            .map(|k| decode(k).map_err(|e| invalid("secrets.previous", e)))
            .collect::<Result<Vec<_>, _>>()?;
        let current = match (&cfg.key, &cfg.key_file) {
            (Some(k), _) => decode(k).map_err(|e| invalid("secrets.key", e))?,
            (None, Some(file)) => read_given(file)?,
            (None, None) => read_or_create(
                &keys_dir.join(FILE_NAME),
                Some(&keys_dir.join(LEGACY_FILE_NAME)),
            )?,
        };
        Ok(ServerSecret { current, previous })
    }

    /// `{dir}/secret.key`, created when missing: the embedded default, and tests.
    pub fn load_or_create(dir: &Path) -> Result<ServerSecret, KeyError> {
        Self::from_config(&SecretsConfig::default(), dir)
    }

    /// A short, public name of the current key (it is no secret: an HMAC of a constant), carried
    /// as the `kid` of sealed values so opening one tries the right key first.
    pub fn key_id(&self) -> String {
        key_id(&self.current)
    }

    /// HMAC-SHA256 over `purpose` and `data` under the current key, base64url. `purpose`
    /// separates uses of the key.
    pub fn mac(&self, purpose: &str, data: &str) -> String {
        mac(&self.current, purpose, data)
    }

    /// The MAC under every accepted key, current first: for values looked up by their MAC
    /// (recovery codes), which must keep matching while `secrets.previous` holds the old key.
    pub fn macs(&self, purpose: &str, data: &str) -> Vec<String> {
        self.all().map(|k| mac(k, purpose, data)).collect()
    }

    /// Constant-time check of a MAC produced by [`ServerSecret::mac`] under any accepted key.
    pub fn verify_mac(&self, purpose: &str, data: &str, presented: &str) -> bool {
        self.all().fold(false, |ok, k| {
            ok | bool::from(mac(k, purpose, data).as_bytes().ct_eq(presented.as_bytes()))
        })
    }

    /// Key material derived for one purpose under the current key (what new values use).
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        derive(&self.current, purpose)
    }

    /// `(key id, derived key)` for every accepted key, current first: what opening tries.
    pub(crate) fn derive_all(&self, purpose: &str) -> Vec<(String, [u8; 32])> {
        self.all()
            .map(|k| (key_id(k), derive(k, purpose)))
            .collect()
    }

    fn all(&self) -> impl Iterator<Item = &[u8; 32]> {
        std::iter::once(&self.current).chain(self.previous.iter())
    }
}

fn mac(key: &[u8; 32], purpose: &str, data: &str) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    m.update(purpose.as_bytes());
    m.update(&[0]);
    m.update(data.as_bytes());
    URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
}

fn derive(key: &[u8; 32], purpose: &str) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    m.update(b"derive\0");
    m.update(purpose.as_bytes());
    m.finalize().into_bytes().into()
}

fn key_id(key: &[u8; 32]) -> String {
    mac(key, "key-id", "")[..11].to_string()
}

/// An operator's `secrets.key_file` (a mounted secret, say): read as it is. It is not created
/// when missing (a typo must not mint a new secret that opens nothing) and its folder and mode
/// are the operator's.
fn read_given(path: &Path) -> Result<[u8; 32], KeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.to_owned(),
        source,
    })?;
    decode(&text).map_err(|reason| KeyError::Invalid {
        path: path.to_owned(),
        reason,
    })
}

/// Reads the default key file, creating it (0600) when missing: from `legacy` when that file exists (the
/// same bytes, so nothing sealed before is lost), else fresh.
fn read_or_create(path: &Path, legacy: Option<&Path>) -> Result<[u8; 32], KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        super::keys::ensure_dir(dir)?;
    }
    if !path.exists() {
        let taken_over = legacy.filter(|l| l.is_file());
        let text = match taken_over {
            Some(l) => {
                let old = std::fs::read_to_string(l).map_err(|source| KeyError::Io {
                    path: l.to_owned(),
                    source,
                })?;
                let bytes = decode(&old).map_err(|reason| KeyError::Invalid {
                    path: l.to_owned(),
                    reason,
                })?;
                URL_SAFE_NO_PAD.encode(bytes)
            }
            None => generate_key_text(),
        };
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(mut f) => {
                f.write_all(text.as_bytes()).map_err(io)?;
                f.sync_all().map_err(io)?;
                if let Some(l) = taken_over {
                    std::fs::remove_file(l).map_err(|source| KeyError::Io {
                        path: l.to_owned(),
                        source,
                    })?;
                    tracing::info!(
                        from = %l.display(),
                        to = %path.display(),
                        "the server secret moved to the secrets.key_file"
                    );
                }
            }
            // Another process created it first: read theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
    }
    crate::private_fs::tighten(path, crate::private_fs::FILE_MODE).map_err(KeyError::Insecure)?;
    let text = std::fs::read_to_string(path).map_err(io)?;
    decode(&text).map_err(|reason| KeyError::Invalid {
        path: path.to_owned(),
        reason,
    })
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

    #[test]
    fn the_legacy_file_is_taken_over_with_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = [7u8; 32];
        std::fs::write(dir.path().join(LEGACY_FILE_NAME), STANDARD.encode(bytes)).unwrap();
        let s = ServerSecret::load_or_create(dir.path()).unwrap();
        assert_eq!(s.current, bytes);
        assert!(!dir.path().join(LEGACY_FILE_NAME).exists());
        assert_eq!(
            ServerSecret::load_or_create(dir.path()).unwrap().current,
            bytes
        );
    }

    #[test]
    fn configured_key_wins_and_previous_keys_still_match() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (generate_key_text(), generate_key_text());
        let before = ServerSecret::from_config(
            &SecretsConfig {
                key: Some(old.clone()),
                ..Default::default()
            },
            dir.path(),
        )
        .unwrap();
        assert!(
            !dir.path().join(FILE_NAME).exists(),
            "no file when a key is set"
        );
        let after = ServerSecret::from_config(
            &SecretsConfig {
                key: Some(new),
                key_file: None,
                previous: vec![old],
            },
            dir.path(),
        )
        .unwrap();
        let m = before.mac("recovery-code", "abc");
        assert_ne!(after.mac("recovery-code", "abc"), m);
        assert!(after.verify_mac("recovery-code", "abc", &m));
        assert_eq!(after.macs("recovery-code", "abc")[1], m);
        assert_ne!(before.key_id(), after.key_id());
        let bad = SecretsConfig {
            key: Some("short".into()),
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("secrets.key"));
        // A named key file must exist: a typo does not mint a fresh secret.
        let missing = SecretsConfig {
            key_file: Some(dir.path().join("nope.key")),
            ..Default::default()
        };
        assert!(ServerSecret::from_config(&missing, dir.path()).is_err());
        let given = dir.path().join("given.key");
        std::fs::write(&given, generate_key_text()).unwrap();
        let from_file = SecretsConfig {
            key_file: Some(given),
            ..Default::default()
        };
        assert!(ServerSecret::from_config(&from_file, dir.path()).is_ok());
    }
}
