//! The running server's view of `keys/`: loaded once at start, re-read periodically so a
//! `gatehouse keys rotate` on any node (sharing the folder) reaches every node without a restart.
//! The JWKS document is rendered on load and served from memory.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use super::keys::{KeyError, KeySet};

pub struct Loaded {
    pub set: KeySet,
    pub jwks: String,
}

pub struct KeyRing {
    dir: PathBuf,
    current: RwLock<Arc<Loaded>>,
}

impl KeyRing {
    /// Loads the keys, creating any that are missing (first start).
    pub fn open(dir: &Path, now: i64) -> Result<KeyRing, KeyError> {
        let set = KeySet::load_or_create(dir, now)?;
        let jwks = set.jwks(now)?.to_string();
        Ok(KeyRing {
            dir: dir.to_owned(),
            current: RwLock::new(Arc::new(Loaded { set, jwks })),
        })
    }

    /// Re-reads the folder. On error the previous keys stay in use (and the caller logs it).
    pub fn reload(&self, now: i64) -> Result<(), KeyError> {
        let set = KeySet::load(&self.dir)?;
        let jwks = set.jwks(now)?.to_string();
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Loaded { set, jwks });
        Ok(())
    }

    pub fn current(&self) -> Arc<Loaded> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Ready means at least one active key per algorithm is loaded.
    pub fn is_ready(&self) -> bool {
        let cur = self.current();
        crate::model::SigningAlg::ALL
            .iter()
            .all(|a| cur.set.active(*a).is_some())
    }
}
