//! Each tenant's signing keys in the database (`signing_keys`), the private JWK sealed under the
//! server secret: every node with the same `secrets.key` serves the same JWKS, whatever its
//! `keys/` folder holds. Lifecycle and rotation are those of [`super::keys`]; this module moves
//! them into transactions.
//!
//! Upgrading from key files: a tenant without rows whose folder `keys/tenants/{id}/` exists (or
//! who would have been given copies of the shared keys from before per-tenant keys, see
//! [`super::tenant_keys`]) has those keys taken into the database once, with a log line, and
//! the folder moved to `keys/imported/`, so no one mistakes it for live keys.

use std::path::Path;

use josekit::jwk::Jwk;

use super::keys::{KeyError, KeySet, KeyState, Rotation, SigningKey, generate, plan};
use super::seal;
use super::secret::ServerSecret;
use super::tenant_keys;
use crate::ids::TenantId;
use crate::model::SigningAlg;
use crate::store::signing_keys::{self, KeyRow};
use crate::store::{Db, Tx};

/// Keeps sealed signing keys apart from every other sealed value.
const SEAL_PURPOSE: &str = "signing-key";

fn seal_row(secret: &ServerSecret, tenant: &TenantId, k: &SigningKey) -> Result<KeyRow, KeyError> {
    let map: serde_json::Map<String, serde_json::Value> = k.private_jwk().clone().into();
    let json = serde_json::to_vec(&map).map_err(|e| KeyError::Generate(e.to_string()))?;
    let sealed = seal::seal(secret, SEAL_PURPOSE, &json).map_err(|_| sealed(tenant, &k.kid))?;
    Ok(KeyRow {
        tenant_id: tenant.clone(),
        kid: k.kid.clone(),
        alg: k.alg.as_str().to_owned(),
        state: k.state.as_str().to_owned(),
        created_at: k.created_at,
        retire_at: k.retire_at,
        private_jwk_sealed: sealed,
    })
}

fn sealed(tenant: &TenantId, kid: &str) -> KeyError {
    KeyError::Sealed {
        tenant: tenant.to_string(),
        kid: kid.to_owned(),
    }
}

fn invalid(row: &KeyRow, reason: String) -> KeyError {
    KeyError::Invalid {
        path: format!("signing_keys/{}/{}", row.tenant_id, row.kid).into(),
        reason,
    }
}

/// Opens one row; `known` is a key already built for the same kid (its signer is reused: building
/// one decodes the key through OpenSSL, see [`SigningKey`]).
pub(crate) fn open_row(
    secret: &ServerSecret,
    row: &KeyRow,
    known: Option<&SigningKey>,
) -> Result<SigningKey, KeyError> {
    let alg: SigningAlg = row
        .alg
        .parse()
        .map_err(|_| invalid(row, format!("unknown algorithm {}", row.alg)))?;
    let state = KeyState::parse(&row.state)
        .ok_or_else(|| invalid(row, format!("unknown state {}", row.state)))?;
    if let Some(k) = known.filter(|k| k.alg == alg) {
        let mut k = k.clone();
        k.state = state;
        k.retire_at = row.retire_at;
        return Ok(k);
    }
    let json = seal::open(secret, SEAL_PURPOSE, &row.private_jwk_sealed)
        .map_err(|_| sealed(&row.tenant_id, &row.kid))?;
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&json).map_err(|e| invalid(row, e.to_string()))?;
    let private = Jwk::from_map(map).map_err(|e| invalid(row, e.to_string()))?;
    SigningKey::new(
        row.kid.clone(),
        alg,
        state,
        row.created_at,
        row.retire_at,
        private,
    )
    .map_err(|e| invalid(row, e))
}

fn open_rows(secret: &ServerSecret, rows: &[KeyRow], known: &KeySet) -> Result<KeySet, KeyError> {
    let keys = rows
        .iter()
        .map(|r| open_row(secret, r, known.find(&r.kid)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(KeySet::from_keys(keys))
}

/// The tenant's keys as stored (possibly none).
pub async fn load(db: &Db, secret: &ServerSecret, tenant: &TenantId) -> Result<KeySet, KeyError> {
    reload(db, secret, tenant, &KeySet::default()).await
}

/// [`load`], reusing the signers of `known` keys.
pub(crate) async fn reload(
    db: &Db,
    secret: &ServerSecret,
    tenant: &TenantId,
    known: &KeySet,
) -> Result<KeySet, KeyError> {
    let rows = signing_keys::list(db, tenant).await?;
    open_rows(secret, &rows, known)
}

/// The tenant's keys, creating what is missing: on first use the keys of its old folder (see
/// the module comment), then one active key per algorithm that has none.
pub async fn ensure(
    db: &Db,
    secret: &ServerSecret,
    keys_dir: &Path,
    tenant: &TenantId,
    retire_after: i64,
    now: i64,
) -> Result<KeySet, KeyError> {
    let set = load(db, secret, tenant).await?;
    if SigningAlg::ALL.iter().all(|a| set.active(*a).is_some()) {
        return Ok(set);
    }
    let mut tx = db.begin().await?;
    signing_keys::lock_tenant(&mut tx, tenant).await?;
    // Re-read under the lock: another node may have just made them.
    let rows = signing_keys::list(&mut tx, tenant).await?;
    let mut set = open_rows(secret, &rows, &set)?;
    if rows.is_empty()
        && let Some(imported) =
            import_files(&mut tx, secret, keys_dir, tenant, retire_after, now).await?
    {
        set = imported;
    }
    let mut made = Vec::new();
    for alg in SigningAlg::ALL {
        if set.active(*alg).is_none() {
            let key = generate(*alg, KeyState::Active, now)?;
            signing_keys::insert(&mut tx, &seal_row(secret, tenant, &key)?).await?;
            made.push(key);
        }
    }
    tx.commit().await?;
    let mut keys = set.keys().to_vec();
    keys.extend(made);
    Ok(KeySet::from_keys(keys))
}

/// Takes a tenant's key files into the database (inside the caller's transaction); `None` when
/// there were none. The folder moves aside only after the rows are written; should the commit
/// then fail, the next start finds the folder under `keys/imported/` and imports it from there.
async fn import_files(
    tx: &mut Tx,
    secret: &ServerSecret,
    keys_dir: &Path,
    tenant: &TenantId,
    retire_after: i64,
    now: i64,
) -> Result<Option<KeySet>, KeyError> {
    let live = tenant_keys::tenant_dir(keys_dir, tenant);
    let imported = keys_dir.join("imported").join(tenant.as_str());
    let from = if live.is_dir() {
        live.clone()
    } else if imported.is_dir() {
        imported.clone()
    } else if tenant_keys::has_shared(keys_dir) {
        // Keys from before per-tenant keys: the file logic gives the tenant its folder first.
        tenant_keys::open(keys_dir, tenant, retire_after, now)?;
        live.clone()
    } else {
        return Ok(None);
    };
    let set = KeySet::load(&from)?;
    if set.keys().is_empty() {
        return Ok(None);
    }
    for k in set.keys() {
        signing_keys::insert(tx, &seal_row(secret, tenant, k)?).await?;
    }
    if from == live {
        super::keys::ensure_dir(&keys_dir.join("imported"))?;
        std::fs::rename(&live, &imported).map_err(|source| KeyError::Io {
            path: imported.clone(),
            source,
        })?;
    }
    tracing::info!(
        tenant_id = %tenant,
        keys = set.keys().len(),
        from = %from.display(),
        moved_to = %imported.display(),
        "signing keys taken from files into the database (sealed under secrets.key)"
    );
    Ok(Some(set))
}

/// Rotates `alg` of the tenant in one transaction; see [`super::keys::plan`] for the states.
pub async fn rotate(
    db: &Db,
    secret: &ServerSecret,
    tenant: &TenantId,
    alg: SigningAlg,
    stage: bool,
    retire_after: i64,
    now: i64,
) -> Result<Rotation, KeyError> {
    let mut tx = db.begin().await?;
    signing_keys::lock_tenant(&mut tx, tenant).await?;
    let rows = signing_keys::list(&mut tx, tenant).await?;
    let set = open_rows(secret, &rows, &KeySet::default())?;
    let p = plan(&set, alg, stage, retire_after, now)?;
    if p.is_new {
        signing_keys::insert(&mut tx, &seal_row(secret, tenant, &p.key)?).await?;
    } else if !stage {
        signing_keys::set_state(&mut tx, tenant, &p.key.kid, "active", None).await?;
    }
    for kid in &p.retire {
        signing_keys::set_state(&mut tx, tenant, kid, "retired", p.rotation.retire_at).await?;
    }
    for kid in &p.delete {
        signing_keys::delete(&mut tx, tenant, kid).await?;
    }
    tx.commit().await?;
    crate::changes::announce(db, crate::changes::Change::Keys(tenant.as_str())).await;
    Ok(p.rotation)
}

/// Re-seals every signing key not sealed under the current secret; returns how many. One
/// transaction: a key that no accepted secret opens stops it with nothing changed.
pub async fn reseal(db: &Db, secret: &ServerSecret) -> Result<u64, KeyError> {
    let mut tx = db.begin().await?;
    let mut n = 0;
    for row in signing_keys::all(&mut tx).await? {
        if !seal::is_stale(secret, &row.private_jwk_sealed) {
            continue;
        }
        let key = open_row(secret, &row, None)?;
        let fresh = seal_row(secret, &row.tenant_id, &key)?;
        signing_keys::set_sealed(&mut tx, &row.tenant_id, &row.kid, &fresh.private_jwk_sealed)
            .await?;
        n += 1;
    }
    tx.commit().await?;
    Ok(n)
}
