//! Admin API keys. Only the SHA-256 of a key is stored: a key is 256 random bits, so a fast
//! hash is a sound stored form and lookups stay one indexed query per request.

use serde::Serialize;

use super::{Db, StoreError, StoreResult, new_id};
use crate::ids::TenantId;
use crate::model::ApiRole;
use crate::with_db;

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct ApiKey {
    pub id: String,
    #[serde(skip)]
    pub key_hash: String,
    /// `None`: every tenant (platform keys).
    pub tenant_id: Option<TenantId>,
    #[sqlx(try_from = "String")]
    pub role: ApiRole,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

macro_rules! columns {
    () => {
        "id, key_hash, tenant_id, role, name, created_at, last_used_at, revoked_at"
    };
}

pub async fn create(
    db: &Db,
    key_hash: &str,
    tenant_id: Option<&TenantId>,
    role: ApiRole,
    name: &str,
    now: i64,
) -> StoreResult<ApiKey> {
    let sql = concat!(
        "INSERT INTO api_keys (id, key_hash, tenant_id, role, name, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
        columns!()
    );
    Ok(with_db!(db, |pool| sqlx::query_as::<_, ApiKey>(sql)
        .bind(new_id())
        .bind(key_hash)
        .bind(tenant_id)
        .bind(role.as_str())
        .bind(name)
        .bind(now)
        .fetch_one(pool)
        .await?))
}

/// The live (not revoked) key with this hash, marking it used. The use is recorded at most
/// once a minute per key, so a busy script does not turn every read into a write.
pub async fn authenticate(db: &Db, key_hash: &str, now: i64) -> StoreResult<Option<ApiKey>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"
    );
    let key = with_db!(db, |pool| sqlx::query_as::<_, ApiKey>(sql)
        .bind(key_hash)
        .fetch_optional(pool)
        .await?);
    if let Some(k) = &key
        && k.last_used_at.is_none_or(|t| now - t >= 60)
    {
        with_db!(db, |pool| sqlx::query(
            "UPDATE api_keys SET last_used_at = $2 WHERE id = $1"
        )
        .bind(&k.id)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected());
    }
    Ok(key)
}

pub async fn list(db: &Db) -> StoreResult<Vec<ApiKey>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM api_keys ORDER BY created_at, id"
    );
    Ok(with_db!(db, |pool| sqlx::query_as::<_, ApiKey>(sql)
        .fetch_all(pool)
        .await?))
}

pub async fn revoke(db: &Db, id: &str, now: i64) -> StoreResult<()> {
    let done = with_db!(db, |pool| sqlx::query(
        "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL"
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected());
    if done == 0 {
        return Err(StoreError::NotFound(format!("no live API key `{id}`")));
    }
    Ok(())
}
