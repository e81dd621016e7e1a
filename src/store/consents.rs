//! Remembered consent per user and client: the union of scopes the user has granted.

use super::{Db, StoreResult};
use crate::ids::{ClientId, TenantId, UserId};
use crate::with_db;

pub async fn granted(db: &Db, user_id: &UserId, client_id: &ClientId) -> StoreResult<Vec<String>> {
    let scope = with_db!(db, |pool| sqlx::query_scalar::<_, String>(
        "SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2"
    )
    .bind(user_id)
    .bind(client_id)
    .fetch_optional(pool)
    .await?);
    Ok(scope
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default())
}

/// Adds `scopes` to what the user granted the client.
pub async fn grant(
    db: &Db,
    tenant_id: &TenantId,
    user_id: &UserId,
    client_id: &ClientId,
    scopes: impl Iterator<Item = &str>,
    now: i64,
) -> StoreResult<()> {
    let mut all = granted(db, user_id, client_id).await?;
    all.extend(scopes.map(str::to_owned));
    all.sort();
    all.dedup();
    let scope = all.join(" ");
    with_db!(db, |pool| sqlx::query(
        "INSERT INTO consents (tenant_id, user_id, client_id, scope, created_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope"
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(client_id)
    .bind(&scope)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}
