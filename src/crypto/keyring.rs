//! The running server's view of `keys/`: each tenant's key set (`keys/tenants/{id}/`, see
//! [`super::tenant_keys`]) loaded on first use and re-read periodically, so a `gatehouse keys
//! rotate` on any node (sharing the folder) reaches every node without a restart. Each JWKS
//! document is rendered on load and served from memory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use super::keys::{KeyError, KeySet};
use super::tenant_keys;
use crate::ids::TenantId;

pub struct Loaded {
    pub set: KeySet,
    /// The public JWKS document, rendered once: served as shared bytes, never copied.
    pub jwks: axum::body::Bytes,
}

impl Loaded {
    fn new(set: KeySet, now: i64) -> Result<Loaded, KeyError> {
        let jwks = axum::body::Bytes::from(set.jwks(now)?.to_string());
        Ok(Loaded { set, jwks })
    }
}

pub struct KeyRing {
    root: PathBuf,
    /// How long a key retired by a migration stays published (the longest token lifetime).
    retire_after: i64,
    tenants: RwLock<HashMap<TenantId, Arc<Loaded>>>,
}

impl KeyRing {
    /// Opens `root` and loads (creating when missing) the keys of `tenants`, the ones that
    /// exist at start, so a broken key file stops start-up rather than a later request.
    pub fn open(
        root: &Path,
        tenants: &[TenantId],
        retire_after: i64,
        now: i64,
    ) -> Result<KeyRing, KeyError> {
        super::keys::ensure_dir(root)?;
        let ring = KeyRing {
            root: root.to_owned(),
            retire_after,
            tenants: RwLock::new(HashMap::new()),
        };
        for t in tenants {
            ring.load(t, now)?;
        }
        tenant_keys::set_aside_shared(root)?;
        Ok(ring)
    }

    fn load(&self, tenant: &TenantId, now: i64) -> Result<Arc<Loaded>, KeyError> {
        let set = tenant_keys::open(&self.root, tenant, self.retire_after, now)?;
        let loaded = Arc::new(Loaded::new(set, now)?);
        self.tenants
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant.clone(), loaded.clone());
        Ok(loaded)
    }

    /// Re-reads every loaded tenant's folder. A folder that fails keeps its previous keys
    /// (the first error is returned for the caller to log).
    pub fn reload(&self, now: i64) -> Result<(), KeyError> {
        let loaded: Vec<TenantId> = self
            .tenants
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        let mut first_error = None;
        for t in loaded {
            let fresh = KeySet::load(&tenant_keys::tenant_dir(&self.root, &t))
                .and_then(|set| Loaded::new(set, now));
            match fresh {
                Ok(l) => {
                    self.tenants
                        .write()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(t, Arc::new(l));
                }
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The tenant's keys, loading (or creating) them on its first use.
    pub fn current(&self, tenant: &TenantId) -> Result<Arc<Loaded>, KeyError> {
        let known = self
            .tenants
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
            .cloned();
        match known {
            Some(l) => Ok(l),
            None => self.load(tenant, crate::model::now()),
        }
    }

    /// Ready means every loaded tenant has an active key per algorithm.
    pub fn is_ready(&self) -> bool {
        self.tenants
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .all(|l| {
                crate::model::SigningAlg::ALL
                    .iter()
                    .all(|a| l.set.active(*a).is_some())
            })
    }
}
