//! Issued tokens. Access tokens are JWTs (RFC 9068); the table keeps their `jti` so they can be
//! revoked and introspected. Refresh tokens are opaque and stored as SHA-256 only. A *grant*
//! (`grant_id`, minted with the authorization code) ties together every token issued from one
//! authorization: rotation keeps the grant, and reuse of a spent code or refresh token revokes
//! all of it (OAuth Security BCP §4.14.2, RFC 6749 §10.4).

use super::{Db, StoreResult};
use crate::ids::{ClientId, TenantId, UserId};
use crate::with_db;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccessToken {
    pub jti: String,
    /// `None` for client_credentials tokens, which belong to no grant.
    pub grant_id: Option<String>,
    pub tenant_id: TenantId,
    pub client_id: ClientId,
    /// `None` when the token acts for the client itself.
    pub user_id: Option<UserId>,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

impl AccessToken {
    pub fn is_active(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

macro_rules! access_columns {
    () => {
        "jti, grant_id, tenant_id, client_id, user_id, scope, created_at, expires_at, revoked_at"
    };
}

pub async fn insert_access(db: &Db, t: &AccessToken) -> StoreResult<()> {
    let sql = concat!(
        "INSERT INTO access_tokens (",
        access_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)"
    );
    with_db!(db, |pool| sqlx::query(sql)
        .bind(&t.jti)
        .bind(t.grant_id.as_deref())
        .bind(&t.tenant_id)
        .bind(&t.client_id)
        .bind(t.user_id.as_deref())
        .bind(&t.scope)
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

pub async fn find_access(
    db: &Db,
    tenant_id: &TenantId,
    jti: &str,
) -> StoreResult<Option<AccessToken>> {
    let sql = concat!(
        "SELECT ",
        access_columns!(),
        " FROM access_tokens WHERE tenant_id = $1 AND jti = $2"
    );
    with_db!(db, |pool| Ok(sqlx::query_as::<_, AccessToken>(sql)
        .bind(tenant_id)
        .bind(jti)
        .fetch_optional(pool)
        .await?))
}

/// Marks one access token revoked; true when it was active before.
pub async fn revoke_access(
    db: &Db,
    tenant_id: &TenantId,
    jti: &str,
    now: i64,
) -> StoreResult<bool> {
    let n = with_db!(db, |pool| sqlx::query(
        "UPDATE access_tokens SET revoked_at = $3 \
         WHERE tenant_id = $1 AND jti = $2 AND revoked_at IS NULL"
    )
    .bind(tenant_id)
    .bind(jti)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(n > 0)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshToken {
    /// SHA-256 of the token.
    pub id: String,
    pub grant_id: String,
    pub tenant_id: TenantId,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub session_id: Option<String>,
    /// The scope of the grant; a refresh may ask for less, never more.
    pub scope: String,
    pub auth_time: i64,
    /// JSON list of RFC 8176 methods, carried from the code.
    pub amr: String,
    pub acr: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub rotated_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl RefreshToken {
    pub fn is_active(&self, now: i64) -> bool {
        self.rotated_at.is_none() && self.revoked_at.is_none() && self.expires_at > now
    }
}

macro_rules! refresh_columns {
    () => {
        "id, grant_id, tenant_id, client_id, user_id, session_id, scope, auth_time, amr, acr, \
         created_at, expires_at, rotated_at, revoked_at"
    };
}

pub async fn insert_refresh(db: &Db, t: &RefreshToken) -> StoreResult<()> {
    let sql = concat!(
        "INSERT INTO refresh_tokens (",
        refresh_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL)"
    );
    with_db!(db, |pool| sqlx::query(sql)
        .bind(&t.id)
        .bind(&t.grant_id)
        .bind(&t.tenant_id)
        .bind(&t.client_id)
        .bind(&t.user_id)
        .bind(t.session_id.as_deref())
        .bind(&t.scope)
        .bind(t.auth_time)
        .bind(&t.amr)
        .bind(&t.acr)
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

pub async fn find_refresh(
    db: &Db,
    tenant_id: &TenantId,
    token_hash: &str,
) -> StoreResult<Option<RefreshToken>> {
    let sql = concat!(
        "SELECT ",
        refresh_columns!(),
        " FROM refresh_tokens WHERE tenant_id = $1 AND id = $2"
    );
    with_db!(db, |pool| Ok(sqlx::query_as::<_, RefreshToken>(sql)
        .bind(tenant_id)
        .bind(token_hash)
        .fetch_optional(pool)
        .await?))
}

/// Spends a refresh token atomically: only one of two concurrent callers gets the row back.
/// `None` means it is unknown, another client's, expired, already rotated or revoked; the
/// caller looks it up with [`find_refresh`] to tell those apart.
pub async fn rotate(
    db: &Db,
    tenant_id: &TenantId,
    token_hash: &str,
    client_id: &ClientId,
    now: i64,
) -> StoreResult<Option<RefreshToken>> {
    let sql = concat!(
        "UPDATE refresh_tokens SET rotated_at = $4 \
         WHERE id = $1 AND tenant_id = $2 AND client_id = $3 AND expires_at > $4 \
         AND rotated_at IS NULL AND revoked_at IS NULL RETURNING ",
        refresh_columns!()
    );
    with_db!(db, |pool| Ok(sqlx::query_as::<_, RefreshToken>(sql)
        .bind(token_hash)
        .bind(tenant_id)
        .bind(client_id)
        .bind(now)
        .fetch_optional(pool)
        .await?))
}

/// Revokes a grant and every refresh and access token of it (code reuse, refresh-token reuse,
/// revocation of a refresh token: RFC 7009 §2.1). The grant row is marked first: tokens a
/// concurrent redemption mints afterwards are dead on arrival. Idempotent; returns how many
/// tokens were live.
pub async fn revoke_grant(
    db: &Db,
    tenant_id: &TenantId,
    grant_id: &str,
    now: i64,
) -> StoreResult<u64> {
    super::grants::revoke(db, tenant_id, grant_id, now).await?;
    let refresh = with_db!(db, |pool| sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $3 \
         WHERE tenant_id = $1 AND grant_id = $2 AND revoked_at IS NULL"
    )
    .bind(tenant_id)
    .bind(grant_id)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected());
    let access = with_db!(db, |pool| sqlx::query(
        "UPDATE access_tokens SET revoked_at = $3 \
         WHERE tenant_id = $1 AND grant_id = $2 AND revoked_at IS NULL"
    )
    .bind(tenant_id)
    .bind(grant_id)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(refresh + access)
}

/// Removes tokens that expired more than a day ago (reuse of an older refresh token is then
/// simply unknown, which is refused all the same).
pub async fn purge_expired(db: &Db, now: i64) -> StoreResult<u64> {
    let cutoff = now - 86_400;
    let refresh = with_db!(db, |pool| sqlx::query(
        "DELETE FROM refresh_tokens WHERE expires_at < $1"
    )
    .bind(cutoff)
    .execute(pool)
    .await?
    .rows_affected());
    let access = with_db!(db, |pool| sqlx::query(
        "DELETE FROM access_tokens WHERE expires_at < $1"
    )
    .bind(cutoff)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(refresh + access)
}
