//! Signing keys as files: one JSON file per key (private JWK plus lifecycle metadata), mode
//! 0600 in a 0700 folder. Releases before keys moved into the database kept them so; the
//! one-time import ([`crate::crypto::key_store`]) reads such folders, and tests make them.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use josekit::jwk::Jwk;
use serde::{Deserialize, Serialize};

use super::{KeyError, KeySet, KeyState, Rotation, SigningKey, ensure_dir, generate, plan};
use crate::model::SigningAlg;

/// The on-disk form of one key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyFile {
    kid: String,
    alg: SigningAlg,
    state: KeyState,
    created_at: i64,
    retire_at: Option<i64>,
    /// The private JWK (contains `d`); never leaves this module except through a signer.
    private_jwk: serde_json::Map<String, serde_json::Value>,
}

impl KeySet {
    /// Loads the folder, creating it and one active key per algorithm that lacks one.
    pub fn load_or_create(dir: &Path, now: i64) -> Result<KeySet, KeyError> {
        ensure_dir(dir)?;
        let mut set = Self::load(dir)?;
        for alg in SigningAlg::ALL {
            if set.active(*alg).is_none() {
                let key = generate(*alg, KeyState::Active, now)?;
                write_key(dir, &key)?;
                set.keys.push(key);
            }
        }
        set.sort();
        Ok(set)
    }

    pub fn load(dir: &Path) -> Result<KeySet, KeyError> {
        let entries = fs::read_dir(dir).map_err(|source| KeyError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let mut keys = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|source| KeyError::Io {
                    path: dir.to_owned(),
                    source,
                })?
                .path();
            if path.extension().and_then(|e| e.to_str()) == Some("json") {
                // Files copied in by hand (or by a sync tool) may arrive 0644.
                crate::private_fs::tighten(&path, crate::private_fs::FILE_MODE)
                    .map_err(KeyError::Insecure)?;
                keys.push(read_key(&path)?);
            }
        }
        let mut set = KeySet { keys };
        set.sort();
        Ok(set)
    }
}

/// Rotates `alg` in the folder `dir` (see [`plan`]).
pub fn rotate(
    dir: &Path,
    alg: SigningAlg,
    stage: bool,
    retire_after: i64,
    now: i64,
) -> Result<Rotation, KeyError> {
    ensure_dir(dir)?;
    let set = KeySet::load(dir)?;
    let p = plan(&set, alg, stage, retire_after, now)?;
    // Write the new active key first: if we stop half-way, two active keys exist and the newest
    // signs, which is safe; the reverse order could leave none.
    if p.is_new || !stage {
        write_key(dir, &p.key)?;
    }
    for kid in &p.retire {
        if let Some(old) = set.find(kid) {
            let mut k = old.clone();
            k.state = KeyState::Retired;
            k.retire_at = p.rotation.retire_at;
            write_key(dir, &k)?;
        }
    }
    for kid in &p.delete {
        let path = key_path(dir, kid);
        fs::remove_file(&path).map_err(|source| KeyError::Io { path, source })?;
    }
    Ok(p.rotation)
}

pub(super) fn key_path(dir: &Path, kid: &str) -> PathBuf {
    dir.join(format!("{kid}.json"))
}

/// Writes via a temporary file and rename so a reader never sees half a key.
fn write_key(dir: &Path, key: &SigningKey) -> Result<(), KeyError> {
    let file = KeyFile {
        kid: key.kid.clone(),
        alg: key.alg,
        state: key.state,
        created_at: key.created_at,
        retire_at: key.retire_at,
        private_jwk: key.private.clone().into(),
    };
    let path = key_path(dir, &key.kid);
    let tmp = dir.join(format!(".{}.json.tmp", key.kid));
    let io = |source| KeyError::Io {
        path: path.clone(),
        source,
    };
    let body = serde_json::to_vec_pretty(&file).map_err(|e| KeyError::Generate(e.to_string()))?;
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    f.write_all(&body).map_err(io)?;
    f.sync_all().map_err(io)?;
    fs::rename(&tmp, &path).map_err(io)?;
    Ok(())
}

fn read_key(path: &Path) -> Result<SigningKey, KeyError> {
    let invalid = |reason: String| KeyError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let bytes = fs::read(path).map_err(|source| KeyError::Io {
        path: path.to_owned(),
        source,
    })?;
    let file: KeyFile = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    let private = Jwk::from_map(file.private_jwk).map_err(|e| invalid(e.to_string()))?;
    if private.parameter("d").is_none() {
        return Err(invalid("not a private key".into()));
    }
    SigningKey::new(
        file.kid,
        file.alg,
        file.state,
        file.created_at,
        file.retire_at,
        private,
    )
    .map_err(invalid)
}
