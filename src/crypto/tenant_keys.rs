//! Each tenant signs with its own keys (tenants are separate organisations: a token of tenant A
//! must never verify under tenant B's JWKS). Releases before keys moved into the database
//! ([`super::key_store`]) kept them in `keys/tenants/{tenant_id}/`, one folder per tenant with
//! the layout and lifecycle of [`super::keys`]; this module reads those folders for the one-time
//! import.
//!
//! Upgrading from one key set for all tenants (the key files directly in `keys/`): a tenant
//! without its own folder starts with copies of those shared keys and rotates every algorithm
//! at once, so its fresh keys sign from then on while the shared ones stay published (retired)
//! for the longest token lifetime, until the tokens they signed have expired. Only during that
//! window can a token signed before the upgrade verify under another tenant's JWKS. The shared
//! files are left in place for the other tenants' first start; nothing signs with them.

use std::fs;
use std::path::{Path, PathBuf};

use super::keys::{self, KeyError, KeySet};
use crate::ids::TenantId;
use crate::model::SigningAlg;

pub fn tenant_dir(root: &Path, tenant: &TenantId) -> PathBuf {
    root.join("tenants").join(tenant.as_str())
}

/// The tenant's keys, creating its folder (and keys) when it has none yet; see the module
/// comment for what happens to shared keys from before per-tenant keys.
pub fn open(
    root: &Path,
    tenant: &TenantId,
    retire_after: i64,
    now: i64,
) -> Result<KeySet, KeyError> {
    let dir = tenant_dir(root, tenant);
    keys::ensure_dir(root)?;
    keys::ensure_dir(&root.join("tenants"))?;
    if dir.is_dir() {
        return KeySet::load_or_create(&dir, now);
    }
    // Built beside the final folder and renamed into place, so a crash half-way (or a second
    // node doing the same) never leaves a folder with some keys missing.
    let building = root
        .join("tenants")
        .join(format!(".{}.{}.tmp", tenant, std::process::id()));
    keys::ensure_dir(&building)?;
    let shared = KeySet::load(root)?;
    if shared.keys().is_empty() {
        KeySet::load_or_create(&building, now)?;
    } else {
        for entry in fs::read_dir(root).map_err(|source| io(root, source))? {
            let path = entry.map_err(|source| io(root, source))?.path();
            if path.extension().and_then(|e| e.to_str()) == Some("json") {
                let to = building.join(path.file_name().unwrap_or_default());
                fs::copy(&path, &to).map_err(|source| io(&to, source))?;
            }
        }
        for alg in SigningAlg::ALL {
            keys::rotate(&building, *alg, false, retire_after, now)?;
        }
        tracing::info!(
            tenant_id = %tenant,
            "the tenant now signs with its own keys; the shared keys stay published until the tokens they signed expire"
        );
    }
    match fs::rename(&building, &dir) {
        Ok(()) => {}
        // Another node (or process) got there first: use its folder.
        Err(_) if dir.is_dir() => {
            let _ = fs::remove_dir_all(&building);
        }
        Err(source) => return Err(io(&dir, source)),
    }
    KeySet::load_or_create(&dir, now)
}

/// Whether `root` holds key files from before per-tenant keys (false when it does not exist).
pub fn has_shared(root: &Path) -> bool {
    fs::read_dir(root).is_ok_and(|entries| {
        entries
            .filter_map(|e| e.ok())
            .any(|e| e.path().extension().and_then(|x| x.to_str()) == Some("json"))
    })
}

/// Once every tenant that existed has its own folder (the server's start does this), the shared
/// key files move to `keys/shared-before-tenants/`, so a tenant created later starts with fresh
/// keys only. Returns how many files moved.
pub fn set_aside_shared(root: &Path) -> Result<usize, KeyError> {
    let shared: Vec<PathBuf> = fs::read_dir(root)
        .map_err(|source| io(root, source))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
        .collect();
    if shared.is_empty() {
        return Ok(0);
    }
    let aside = root.join("shared-before-tenants");
    keys::ensure_dir(&aside)?;
    for p in &shared {
        let to = aside.join(p.file_name().unwrap_or_default());
        fs::rename(p, &to).map_err(|source| io(&to, source))?;
    }
    tracing::info!(
        files = shared.len(),
        "shared signing keys set aside: every tenant has its own"
    );
    Ok(shared.len())
}

fn io(path: &Path, source: std::io::Error) -> KeyError {
    KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_get_disjoint_keys_and_shared_keys_retire() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let (a, b) = (TenantId::from("a"), TenantId::from("b"));
        let ka = open(root, &a, 3600, 1000).unwrap();
        let kb = open(root, &b, 3600, 1000).unwrap();
        let kids = |s: &KeySet| s.keys().iter().map(|k| k.kid.clone()).collect::<Vec<_>>();
        assert_eq!(ka.keys().len(), 3);
        assert!(kids(&ka).iter().all(|k| !kids(&kb).contains(k)), "disjoint");
        // Opening again reads the same folder.
        assert_eq!(kids(&open(root, &a, 3600, 2000).unwrap()), kids(&ka));

        // Shared keys from before: copied in retired, fresh keys active.
        let legacy = tempfile::tempdir().unwrap();
        let shared = KeySet::load_or_create(legacy.path(), 500).unwrap();
        let c = open(legacy.path(), &TenantId::from("c"), 3600, 1000).unwrap();
        for old in shared.keys() {
            let k = c.find(&old.kid).expect("the shared key is still published");
            assert_eq!(k.state, keys::KeyState::Retired);
            assert_eq!(k.retire_at, Some(1000 + 3600));
        }
        for alg in SigningAlg::ALL {
            let active = c.active(*alg).unwrap();
            assert!(
                shared.find(&active.kid).is_none(),
                "a fresh {alg} key signs"
            );
        }
        // Set aside, later tenants start fresh.
        assert_eq!(set_aside_shared(legacy.path()).unwrap(), 3);
        let d = open(legacy.path(), &TenantId::from("d"), 3600, 1000).unwrap();
        assert_eq!(d.keys().len(), 3);
        assert!(d.keys().iter().all(|k| shared.find(&k.kid).is_none()));
    }
}
