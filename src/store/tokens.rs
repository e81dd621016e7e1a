//! Issued tokens. Access tokens are self-contained JWTs (RFC 9068) that name their grant; none
//! is written when it is minted (the token endpoint's cost is the signature, not a database
//! write). What is stored for them is the list of those revoked one by one (RFC 7009), kept
//! until they would expire. Refresh tokens are opaque and stored as SHA-256 only. A *grant*
//! (`grant_id`, minted with the authorization code) ties together every token issued from one
//! authorization: rotation keeps the grant, and reuse of a spent code or refresh token revokes
//! all of it (OAuth Security BCP §4.14.2, RFC 6749 §10.4) by marking the grant row, which every
//! use of its access tokens reads.

use super::{Conn, Db, StoreResult};
use crate::ids::{ClientId, TenantId, UserId};
use crate::{with_conn, with_db, with_tx};

/// An access token minted before migration 0019, which does not name its grant: its row in
/// `access_tokens` (read-only now, emptied by the sweep) says which grant and user it is of.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LegacyAccessToken {
    pub grant_id: Option<String>,
    pub user_id: Option<UserId>,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

impl LegacyAccessToken {
    pub fn is_active(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

pub async fn find_legacy_access(
    db: &Db,
    tenant_id: &TenantId,
    jti: &str,
) -> StoreResult<Option<LegacyAccessToken>> {
    with_db!(db, |pool| Ok(sqlx::query_as::<_, LegacyAccessToken>(
        "SELECT grant_id, user_id, expires_at, revoked_at FROM access_tokens \
         WHERE tenant_id = $1 AND jti = $2"
    )
    .bind(tenant_id)
    .bind(jti)
    .fetch_optional(pool)
    .await?))
}

/// Puts one access token on the revocation list until `expires_at` (its `exp`); true when it
/// was not on it yet.
pub async fn revoke_access(
    db: &Db,
    tenant_id: &TenantId,
    jti: &str,
    expires_at: i64,
) -> StoreResult<bool> {
    let n = with_db!(db, |pool| sqlx::query(
        "INSERT INTO revoked_access_tokens (jti, tenant_id, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (jti) DO NOTHING"
    )
    .bind(jti)
    .bind(tenant_id)
    .bind(expires_at)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(n > 0)
}

/// Whether the access token `jti` was revoked on its own.
pub async fn access_revoked(db: &Db, tenant_id: &TenantId, jti: &str) -> StoreResult<bool> {
    let found: Option<i64> = with_db!(db, |pool| sqlx::query_scalar(
        "SELECT expires_at FROM revoked_access_tokens WHERE jti = $1 AND tenant_id = $2"
    )
    .bind(jti)
    .bind(tenant_id)
    .fetch_optional(pool)
    .await?);
    Ok(found.is_some())
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

pub async fn insert_refresh(conn: impl Into<Conn<'_>>, t: &RefreshToken) -> StoreResult<()> {
    let sql = concat!(
        "INSERT INTO refresh_tokens (",
        refresh_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL)"
    );
    with_conn!(conn.into(), |c| sqlx::query(sql)
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
        .execute(c)
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

/// Spends a refresh token atomically and stores `successor` with it: only one of two
/// concurrent callers gets the row back (and only its successor is stored). `None` means it is
/// unknown, another client's, expired, already rotated or revoked; the caller looks it up with
/// [`find_refresh`] to tell those apart.
pub async fn rotate(
    db: &Db,
    tenant_id: &TenantId,
    token_hash: &str,
    client_id: &ClientId,
    now: i64,
    successor: &RefreshToken,
) -> StoreResult<Option<RefreshToken>> {
    let sql = concat!(
        "UPDATE refresh_tokens SET rotated_at = $4 \
         WHERE id = $1 AND tenant_id = $2 AND client_id = $3 AND expires_at > $4 \
         AND rotated_at IS NULL AND revoked_at IS NULL RETURNING ",
        refresh_columns!()
    );
    // One write transaction: the spend and the successor commit together (one fsync on
    // SQLite, one round of locks), and a spend that loses the race stores nothing.
    let mut tx = db.begin().await?;
    let spent = with_tx!(&mut tx, |c| sqlx::query_as::<_, RefreshToken>(sql)
        .bind(token_hash)
        .bind(tenant_id)
        .bind(client_id)
        .bind(now)
        .fetch_optional(&mut *c)
        .await?);
    if spent.is_some() {
        insert_refresh(&mut tx, successor).await?;
        tx.commit().await?;
    }
    Ok(spent)
}

/// Revokes a grant and every refresh token of it (code reuse, refresh-token reuse, revocation
/// of a refresh token: RFC 7009 §2.1); its access tokens die with the grant row, which their
/// every use reads. The grant row is marked first: tokens a concurrent redemption mints
/// afterwards are dead on arrival. Idempotent; returns how many refresh tokens were live.
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
    Ok(refresh)
}

/// Removes tokens that expired more than a day ago (reuse of an older refresh token is then
/// simply unknown, which is refused all the same), and revocations of access tokens that have
/// expired (their `exp` refuses them now).
pub async fn purge_expired(db: &Db, now: i64, limit: i64) -> StoreResult<u64> {
    let cutoff = now - 86_400;
    let refresh = with_db!(db, |pool| sqlx::query(
        "DELETE FROM refresh_tokens WHERE id IN \
         (SELECT id FROM refresh_tokens WHERE expires_at < $1 LIMIT $2)"
    )
    .bind(cutoff)
    .bind(limit)
    .execute(pool)
    .await?
    .rows_affected());
    let access = with_db!(db, |pool| sqlx::query(
        "DELETE FROM access_tokens WHERE jti IN \
         (SELECT jti FROM access_tokens WHERE expires_at < $1 LIMIT $2)"
    )
    .bind(cutoff)
    .bind(limit)
    .execute(pool)
    .await?
    .rows_affected());
    let revoked = with_db!(db, |pool| sqlx::query(
        "DELETE FROM revoked_access_tokens WHERE jti IN \
         (SELECT jti FROM revoked_access_tokens WHERE expires_at < $1 LIMIT $2)"
    )
    .bind(now)
    .bind(limit)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(refresh + access + revoked)
}
