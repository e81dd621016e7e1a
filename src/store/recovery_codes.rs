//! Recovery codes, stored as HMACs. A new set replaces the old one in one transaction; using a
//! code is one conditional UPDATE, so a code works exactly once.

use super::{Db, StoreResult, new_id};
use crate::with_db;

/// Replaces every code of the user with `hashes` (regenerating voids the old set).
pub async fn replace_set(
    db: &Db,
    tenant_id: &str,
    user_id: &str,
    hashes: &[String],
    now: i64,
) -> StoreResult<()> {
    with_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for h in hashes {
            sqlx::query(
                "INSERT INTO recovery_codes (id, tenant_id, user_id, code_hash, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(new_id())
            .bind(tenant_id)
            .bind(user_id)
            .bind(h)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    });
    Ok(())
}

/// Adds one code (the "replace on use" policy).
pub async fn add(db: &Db, tenant_id: &str, user_id: &str, hash: &str, now: i64) -> StoreResult<()> {
    with_db!(db, |pool| sqlx::query(
        "INSERT INTO recovery_codes (id, tenant_id, user_id, code_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(new_id())
    .bind(tenant_id)
    .bind(user_id)
    .bind(hash)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}

/// Spends the code with this hash; false when it does not exist or was already used.
pub async fn consume(db: &Db, user_id: &str, hash: &str, now: i64) -> StoreResult<bool> {
    let n = with_db!(db, |pool| {
        sqlx::query(
        "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL"
    )
    .bind(user_id)
    .bind(hash)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected()
    });
    Ok(n == 1)
}

pub async fn remaining(db: &Db, user_id: &str) -> StoreResult<i64> {
    with_db!(db, |pool| Ok(sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL"
    )
    .bind(user_id)
    .fetch_one(pool)
    .await?))
}

pub async fn delete_all_for_user(db: &Db, user_id: &str) -> StoreResult<()> {
    with_db!(db, |pool| sqlx::query(
        "DELETE FROM recovery_codes WHERE user_id = $1"
    )
    .bind(user_id)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}
