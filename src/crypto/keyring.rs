//! The running server's view of the signing keys: each tenant's key set, read from the database
//! ([`super::key_store`]) on first use and kept in memory. Every `server.keys_reload_secs` (1 s
//! by default) one small query reads every key's id, state and retirement date; a tenant whose
//! keys changed (a `gatehouse keys rotate` on any node), or whose published set changed because
//! a retired key expired, is read again. Each JWKS document is rendered on load and served from
//! memory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use super::key_store;
use super::keys::{KeyError, KeySet};
use super::secret::ServerSecret;
use crate::ids::TenantId;
use crate::store::Db;
use crate::store::signing_keys::{self, KeyHead};

pub struct Loaded {
    pub set: KeySet,
    /// The public JWKS document, rendered once: served as shared bytes, never copied.
    pub jwks: axum::body::Bytes,
    /// What this set was read from, and which keys were published then: a difference in either
    /// means the set must be read again.
    heads: Vec<(KeyHead, bool)>,
}

impl Loaded {
    fn new(tenant: &TenantId, set: KeySet, now: i64) -> Result<Loaded, KeyError> {
        let jwks = axum::body::Bytes::from(set.jwks(now)?.to_string());
        let heads = set
            .keys()
            .iter()
            .map(|k| {
                let head = KeyHead {
                    tenant_id: tenant.clone(),
                    kid: k.kid.clone(),
                    state: k.state.as_str().to_owned(),
                    retire_at: k.retire_at,
                };
                (head, k.is_published(now))
            })
            .collect::<Vec<_>>();
        let mut l = Loaded { set, jwks, heads };
        l.heads.sort_by(|a, b| a.0.kid.cmp(&b.0.kid));
        Ok(l)
    }

    fn is_current(&self, heads: &[&KeyHead], now: i64) -> bool {
        self.heads.len() == heads.len()
            && self
                .heads
                .iter()
                .zip(heads)
                .all(|((mine, published), theirs)| {
                    mine == *theirs
                        && *published == key_published(&theirs.state, theirs.retire_at, now)
                })
    }
}

fn key_published(state: &str, retire_at: Option<i64>, now: i64) -> bool {
    state != "retired" || retire_at.is_some_and(|t| t > now)
}

pub struct KeyRing {
    db: Db,
    secret: ServerSecret,
    /// Where key files from before the database are found for the one-time import.
    keys_dir: PathBuf,
    /// How long a key retired by a rotation stays published (the longest token lifetime).
    retire_after: i64,
    tenants: RwLock<HashMap<TenantId, Arc<Loaded>>>,
}

impl KeyRing {
    /// Loads (creating or importing when missing) the keys of `tenants`, the ones that exist at
    /// start, so a key that does not open stops start-up rather than a later request.
    pub async fn open(
        db: Db,
        secret: ServerSecret,
        keys_dir: &Path,
        tenants: &[TenantId],
        retire_after: i64,
        now: i64,
    ) -> Result<KeyRing, KeyError> {
        let ring = KeyRing {
            db,
            secret,
            keys_dir: keys_dir.to_owned(),
            retire_after,
            tenants: RwLock::new(HashMap::new()),
        };
        for t in tenants {
            ring.load(t, now).await?;
        }
        if super::tenant_keys::has_shared(keys_dir) {
            super::tenant_keys::set_aside_shared(keys_dir)?;
        }
        Ok(ring)
    }

    async fn load(&self, tenant: &TenantId, now: i64) -> Result<Arc<Loaded>, KeyError> {
        let set = key_store::ensure(
            &self.db,
            &self.secret,
            &self.keys_dir,
            tenant,
            self.retire_after,
            now,
        )
        .await?;
        let loaded = Arc::new(Loaded::new(tenant, set, now)?);
        self.put(tenant, loaded.clone());
        Ok(loaded)
    }

    fn put(&self, tenant: &TenantId, loaded: Arc<Loaded>) {
        self.tenants
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant.clone(), loaded);
    }

    fn loaded(&self) -> Vec<(TenantId, Arc<Loaded>)> {
        self.tenants
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(t, l)| (t.clone(), l.clone()))
            .collect()
    }

    /// Re-reads every loaded tenant whose keys changed. A tenant that fails keeps its previous
    /// keys (the first error is returned for the caller to log).
    pub async fn reload(&self, now: i64) -> Result<(), KeyError> {
        let heads = signing_keys::heads(&self.db).await?;
        let mut by_tenant: HashMap<&TenantId, Vec<&KeyHead>> = HashMap::new();
        for h in &heads {
            by_tenant.entry(&h.tenant_id).or_default().push(h);
        }
        // In Rust's byte order, as `Loaded::heads` is (a database collation may order kids
        // otherwise, which would read every tenant again every second).
        for group in by_tenant.values_mut() {
            group.sort_by(|a, b| a.kid.cmp(&b.kid));
        }
        let mut first_error = None;
        for (t, old) in self.loaded() {
            let theirs = by_tenant.get(&t).map(Vec::as_slice).unwrap_or_default();
            if old.is_current(theirs, now) {
                continue;
            }
            let fresh = key_store::reload(&self.db, &self.secret, &t, &old.set)
                .await
                .and_then(|set| Loaded::new(&t, set, now));
            match fresh {
                Ok(l) => self.put(&t, Arc::new(l)),
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The tenant's keys if they are loaded already (no database call).
    pub fn cached(&self, tenant: &TenantId) -> Option<Arc<Loaded>> {
        self.tenants
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
            .cloned()
    }

    /// The tenant's keys, loading (or creating) them on its first use.
    pub async fn current(&self, tenant: &TenantId) -> Result<Arc<Loaded>, KeyError> {
        match self.cached(tenant) {
            Some(l) => Ok(l),
            None => self.load(tenant, crate::model::now()).await,
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
