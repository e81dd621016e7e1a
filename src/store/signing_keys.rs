//! Rows of `signing_keys`: each tenant's keys, the private JWK sealed under the server secret
//! ([`crate::crypto::key_store`] seals and opens them; this module only stores text).

use super::{Conn, Db, StoreResult, Tx};
use crate::ids::TenantId;
use crate::{with_conn, with_db, with_tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    pub tenant_id: TenantId,
    pub kid: String,
    pub alg: String,
    pub state: String,
    pub created_at: i64,
    pub retire_at: Option<i64>,
    pub private_jwk_sealed: String,
}

/// What decides a tenant's JWKS and signer, without the sealed part: the per-second check of
/// every node compares these and re-reads a tenant only when they changed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyHead {
    pub tenant_id: TenantId,
    pub kid: String,
    pub state: String,
    pub retire_at: Option<i64>,
}

pub async fn list(conn: impl Into<Conn<'_>>, tenant_id: &TenantId) -> StoreResult<Vec<KeyRow>> {
    Ok(with_conn!(conn.into(), |c| sqlx::query_as(
        "SELECT tenant_id, kid, alg, state, created_at, retire_at, private_jwk_sealed \
         FROM signing_keys WHERE tenant_id = $1 ORDER BY alg, created_at, kid"
    )
    .bind(tenant_id)
    .fetch_all(c)
    .await?))
}

/// Every tenant's key heads, ordered so two reads of the same rows compare equal.
pub async fn heads(db: &Db) -> StoreResult<Vec<KeyHead>> {
    Ok(with_db!(db, |pool| sqlx::query_as(
        "SELECT tenant_id, kid, state, retire_at FROM signing_keys ORDER BY tenant_id, kid"
    )
    .fetch_all(pool)
    .await?))
}

/// Every key of every tenant (for `gatehouse secrets reseal`).
pub async fn all(tx: &mut Tx) -> StoreResult<Vec<KeyRow>> {
    Ok(with_tx!(tx, |c| sqlx::query_as(
        "SELECT tenant_id, kid, alg, state, created_at, retire_at, private_jwk_sealed \
         FROM signing_keys ORDER BY tenant_id, kid"
    )
    .fetch_all(&mut *c)
    .await?))
}

/// Adds a key; a row with the same kid (the key's thumbprint, so the same key) is left as it is.
pub async fn insert(tx: &mut Tx, row: &KeyRow) -> StoreResult<()> {
    with_tx!(tx, |c| sqlx::query(
        "INSERT INTO signing_keys \
         (tenant_id, kid, alg, state, created_at, retire_at, private_jwk_sealed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, kid) DO NOTHING"
    )
    .bind(&row.tenant_id)
    .bind(&row.kid)
    .bind(&row.alg)
    .bind(&row.state)
    .bind(row.created_at)
    .bind(row.retire_at)
    .bind(&row.private_jwk_sealed)
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(())
}

pub async fn set_state(
    tx: &mut Tx,
    tenant_id: &TenantId,
    kid: &str,
    state: &str,
    retire_at: Option<i64>,
) -> StoreResult<()> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE signing_keys SET state = $1, retire_at = $2 WHERE tenant_id = $3 AND kid = $4"
    )
    .bind(state)
    .bind(retire_at)
    .bind(tenant_id)
    .bind(kid)
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(())
}

pub async fn delete(tx: &mut Tx, tenant_id: &TenantId, kid: &str) -> StoreResult<()> {
    with_tx!(tx, |c| sqlx::query(
        "DELETE FROM signing_keys WHERE tenant_id = $1 AND kid = $2"
    )
    .bind(tenant_id)
    .bind(kid)
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(())
}

pub async fn set_sealed(
    tx: &mut Tx,
    tenant_id: &TenantId,
    kid: &str,
    sealed: &str,
) -> StoreResult<()> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE signing_keys SET private_jwk_sealed = $1 WHERE tenant_id = $2 AND kid = $3"
    )
    .bind(sealed)
    .bind(tenant_id)
    .bind(kid)
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(())
}

/// Serializes key changes of one tenant across nodes for the rest of `tx`: a no-op UPDATE of
/// the tenant's row takes its row lock on PostgreSQL (SQLite's write transactions are serial
/// already), so two nodes creating a new tenant's first keys at once make one set, not two.
pub async fn lock_tenant(tx: &mut Tx, tenant_id: &TenantId) -> StoreResult<()> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE tenants SET id = id WHERE id = $1"
    )
    .bind(tenant_id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(())
}
