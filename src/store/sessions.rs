//! SSO sessions. The browser holds a random token in a cookie; only its SHA-256 is stored. The
//! row's `id` is public (it is the `sid` claim) and never authenticates anything by itself.

use super::{Conn, Db, StoreResult, new_id};
use crate::ids::{TenantId, UserId};
use crate::mfa::proven::{self, Proven};
use crate::model::TrustPolicy;
use crate::{with_conn, with_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SsoSession {
    pub id: String,
    pub token_hash: String,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub auth_time: i64,
    /// JSON list of RFC 8176 methods verified in this session.
    pub amr: String,
    pub acr: String,
    pub mfa_time: Option<i64>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
}

impl SsoSession {
    pub fn amr_list(&self) -> Vec<String> {
        serde_json::from_str(&self.amr).unwrap_or_default()
    }

    /// What this session proved, read back from its stored `amr` (see `Proven::from_amr`).
    pub fn proven(&self) -> Proven {
        Proven::from_amr(&self.amr_list(), self.auth_time, self.mfa_time)
    }
}

macro_rules! columns {
    () => {
        "id, token_hash, tenant_id, user_id, auth_time, amr, acr, mfa_time, user_agent, ip, \
         created_at, last_seen_at, expires_at, ended_at"
    };
}

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub tenant_id: &'a TenantId,
    pub user_id: &'a UserId,
    pub auth_time: i64,
    pub amr: &'a [String],
    pub acr: &'a str,
    pub mfa_time: Option<i64>,
    pub user_agent: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub now: i64,
    pub expires_at: i64,
}

pub async fn create(db: &Db, s: NewSession<'_>) -> StoreResult<SsoSession> {
    let sql = concat!(
        "INSERT INTO sso_sessions (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, NULL) RETURNING ",
        columns!()
    );
    let amr = serde_json::to_string(s.amr).unwrap_or_else(|_| "[]".into());
    with_db!(db, |pool| Ok(sqlx::query_as::<_, SsoSession>(sql)
        .bind(new_id())
        .bind(s.token_hash)
        .bind(s.tenant_id)
        .bind(s.user_id)
        .bind(s.auth_time)
        .bind(&amr)
        .bind(s.acr)
        .bind(s.mfa_time)
        .bind(s.user_agent)
        .bind(s.ip)
        .bind(s.now)
        .bind(s.expires_at)
        .fetch_one(pool)
        .await?))
}

/// The live session for a cookie token hash in this tenant (not ended, not expired).
pub async fn find_live(
    db: &Db,
    tenant_id: &TenantId,
    token_hash: &str,
    now: i64,
) -> StoreResult<Option<SsoSession>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM sso_sessions WHERE token_hash = $1 AND tenant_id = $2 AND ended_at IS NULL \
         AND expires_at > $3"
    );
    with_db!(db, |pool| Ok(sqlx::query_as::<_, SsoSession>(sql)
        .bind(token_hash)
        .bind(tenant_id)
        .bind(now)
        .fetch_optional(pool)
        .await?))
}

pub async fn find_by_id(
    db: &Db,
    tenant_id: &TenantId,
    id: &str,
) -> StoreResult<Option<SsoSession>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM sso_sessions WHERE id = $1 AND tenant_id = $2"
    );
    with_db!(db, |pool| Ok(sqlx::query_as::<_, SsoSession>(sql)
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(pool)
        .await?))
}

/// Records a fresh authentication on an existing session (re-login, step-up).
pub async fn reauthenticate(
    db: &Db,
    id: &str,
    auth_time: i64,
    amr: &[String],
    acr: &str,
    mfa_time: Option<i64>,
    now: i64,
) -> StoreResult<()> {
    let amr = serde_json::to_string(amr).unwrap_or_else(|_| "[]".into());
    with_db!(db, |pool| sqlx::query(
        "UPDATE sso_sessions SET auth_time = $2, amr = $3, acr = $4, \
         mfa_time = COALESCE($5, mfa_time), last_seen_at = $6 WHERE id = $1"
    )
    .bind(id)
    .bind(auth_time)
    .bind(amr)
    .bind(acr)
    .bind(mfa_time)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}

/// Records on the session what it has now proven (a step-up, a factor verified on the account
/// pages): `amr`, `acr` and `mfa_time` derived from `proven` by `mfa::proven::claims`. A
/// verified second factor needs no trusted device, so the trust policy plays no part.
pub async fn record_proof(db: &Db, s: &SsoSession, proven: &Proven, now: i64) -> StoreResult<()> {
    let (amr, acr) = proven::claims(proven, TrustPolicy::None);
    reauthenticate(
        db,
        &s.id,
        s.auth_time,
        &proven::amr_strings(&amr),
        acr.as_str(),
        proven.mfa_time(),
        now,
    )
    .await
}

pub async fn touch(db: &Db, id: &str, now: i64) -> StoreResult<()> {
    with_db!(db, |pool| sqlx::query(
        "UPDATE sso_sessions SET last_seen_at = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}

pub async fn end(db: &Db, id: &str, now: i64) -> StoreResult<()> {
    with_db!(db, |pool| sqlx::query(
        "UPDATE sso_sessions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL"
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}

/// Ends every live session of the user except `keep` ("Sign out of all other devices"); the
/// ids of the sessions it ended (for back-channel logout).
pub async fn end_others(
    db: &Db,
    user_id: &UserId,
    keep: &str,
    now: i64,
) -> StoreResult<Vec<String>> {
    let ended: Vec<(String,)> = with_db!(db, |pool| sqlx::query_as(
        "UPDATE sso_sessions SET ended_at = $3 WHERE user_id = $1 AND id <> $2 \
         AND ended_at IS NULL RETURNING id"
    )
    .bind(user_id)
    .bind(keep)
    .bind(now)
    .fetch_all(pool)
    .await?);
    Ok(ended.into_iter().map(|(id,)| id).collect())
}

/// Ends every live session of the user (MFA reset, password change); the ids it ended.
pub async fn end_all_for_user(db: &Db, user_id: &UserId, now: i64) -> StoreResult<Vec<String>> {
    let ended: Vec<(String,)> = with_db!(db, |pool| sqlx::query_as(
        "UPDATE sso_sessions SET ended_at = $2 WHERE user_id = $1 AND ended_at IS NULL \
         RETURNING id"
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(pool)
    .await?);
    Ok(ended.into_iter().map(|(id,)| id).collect())
}

/// The user's sessions that are neither ended nor expired.
pub async fn list_live_for_user(
    conn: impl Into<Conn<'_>>,
    user_id: &UserId,
    now: i64,
) -> StoreResult<Vec<SsoSession>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM sso_sessions WHERE user_id = $1 AND ended_at IS NULL AND expires_at > $2"
    );
    with_conn!(conn.into(), |c| Ok(sqlx::query_as::<_, SsoSession>(sql)
        .bind(user_id)
        .bind(now)
        .fetch_all(c)
        .await?))
}

/// Takes the second-factor proof away from a session: `amr`/`acr` become what the first factor
/// alone proves and `mfa_time` is cleared, so the next client that needs MFA asks again.
pub async fn drop_second_factor(
    conn: impl Into<Conn<'_>>,
    id: &str,
    amr: &[String],
    acr: &str,
) -> StoreResult<()> {
    let amr = serde_json::to_string(amr).unwrap_or_else(|_| "[]".into());
    with_conn!(conn.into(), |c| sqlx::query(
        "UPDATE sso_sessions SET amr = $2, acr = $3, mfa_time = NULL WHERE id = $1"
    )
    .bind(id)
    .bind(amr)
    .bind(acr)
    .execute(c)
    .await?
    .rows_affected());
    Ok(())
}
