//! Recovery codes, stored as HMACs. A new set replaces the old one inside the caller's
//! transaction; using a code is one conditional UPDATE, so a code works exactly once.

use super::{Conn, StoreResult, Tx, new_id};
use crate::ids::{TenantId, UserId};
use crate::{with_conn, with_tx};

/// Replaces every code of the user with `hashes` (regenerating voids the old set), inside the
/// caller's transaction: the new set, the factor it comes with and the audit event stand or
/// fall together.
pub async fn replace_set(
    tx: &mut Tx,
    tenant_id: &TenantId,
    user_id: &UserId,
    hashes: &[String],
    now: i64,
) -> StoreResult<()> {
    with_tx!(tx, |c| {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *c)
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
            .execute(&mut *c)
            .await?;
        }
    });
    Ok(())
}

/// Adds one code (the "replace on use" policy).
pub async fn add(
    conn: impl Into<Conn<'_>>,
    tenant_id: &TenantId,
    user_id: &UserId,
    hash: &str,
    now: i64,
) -> StoreResult<()> {
    with_conn!(conn.into(), |c| sqlx::query(
        "INSERT INTO recovery_codes (id, tenant_id, user_id, code_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(new_id())
    .bind(tenant_id)
    .bind(user_id)
    .bind(hash)
    .bind(now)
    .execute(c)
    .await?
    .rows_affected());
    Ok(())
}

/// Spends the code with this hash; false when it does not exist or was already used.
pub async fn consume(
    conn: impl Into<Conn<'_>>,
    user_id: &UserId,
    hash: &str,
    now: i64,
) -> StoreResult<bool> {
    let n = with_conn!(conn.into(), |c| {
        sqlx::query(
        "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL"
    )
    .bind(user_id)
    .bind(hash)
    .bind(now)
    .execute(c)
    .await?
    .rows_affected()
    });
    Ok(n == 1)
}

pub async fn remaining(conn: impl Into<Conn<'_>>, user_id: &UserId) -> StoreResult<i64> {
    with_conn!(conn.into(), |c| Ok(sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL"
    )
    .bind(user_id)
    .fetch_one(c)
    .await?))
}

pub async fn delete_all_for_user(conn: impl Into<Conn<'_>>, user_id: &UserId) -> StoreResult<()> {
    with_conn!(conn.into(), |c| sqlx::query(
        "DELETE FROM recovery_codes WHERE user_id = $1"
    )
    .bind(user_id)
    .execute(c)
    .await?
    .rows_affected());
    Ok(())
}
