//! One-time codes sent by email (or SMS later): hashed, short-lived, limited attempts, one live
//! code per user and purpose (issuing a new one voids the previous).

use super::{Db, StoreResult, new_id};
use crate::ids::{TenantId, UserId};
use crate::with_db;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OtpChallenge {
    pub id: String,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub purpose: String,
    pub target: String,
    pub code_hash: String,
    pub attempts: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// What the mail's link was sent for (a sign-in's authorization request), when it had one.
    pub context: Option<String>,
}

macro_rules! columns {
    () => {
        "id, tenant_id, user_id, purpose, target, code_hash, attempts, created_at, expires_at, \
         used_at, context"
    };
}

pub struct NewOtp<'a> {
    pub tenant_id: &'a TenantId,
    pub user_id: &'a UserId,
    pub purpose: &'a str,
    pub target: &'a str,
    pub code_hash: &'a str,
    pub now: i64,
    pub expires_at: i64,
    /// A mail with a link as well as the code: the link token's SHA-256, and its context.
    pub link: Option<(&'a str, &'a str)>,
}

pub async fn issue(db: &Db, o: NewOtp<'_>) -> StoreResult<()> {
    with_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query("DELETE FROM otp_challenges WHERE user_id = $1 AND purpose = $2")
            .bind(o.user_id)
            .bind(o.purpose)
            .execute(&mut *tx)
            .await?;
        sqlx::query(concat!(
            "INSERT INTO otp_challenges (",
            columns!(),
            ", link_hash) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, NULL, $9, $10)"
        ))
        .bind(new_id())
        .bind(o.tenant_id)
        .bind(o.user_id)
        .bind(o.purpose)
        .bind(o.target)
        .bind(o.code_hash)
        .bind(o.now)
        .bind(o.expires_at)
        .bind(o.link.map(|(_, context)| context))
        .bind(o.link.map(|(hash, _)| hash))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    });
    Ok(())
}

/// The live challenge for this user and purpose.
pub async fn current(
    db: &Db,
    user_id: &UserId,
    purpose: &str,
    now: i64,
) -> StoreResult<Option<OtpChallenge>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM otp_challenges WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3"
    );
    with_db!(db, |pool| Ok(sqlx::query_as::<_, OtpChallenge>(sql)
        .bind(user_id)
        .bind(purpose)
        .bind(now)
        .fetch_optional(pool)
        .await?))
}

/// Reserves one guess on a live challenge before the code is compared: counts it only while
/// the challenge is unspent, unexpired and below `max` attempts, in one statement, so a burst
/// of guesses can never compare more than `max` times. The attempt number, or None when the
/// challenge is dead (spent, expired or out of attempts).
pub async fn reserve_attempt(db: &Db, id: &str, max: i64, now: i64) -> StoreResult<Option<i64>> {
    with_db!(db, |pool| Ok(sqlx::query_scalar::<_, i64>(
        "UPDATE otp_challenges SET attempts = attempts + 1 \
         WHERE id = $1 AND used_at IS NULL AND expires_at > $3 AND attempts < $2 \
         RETURNING attempts"
    )
    .bind(id)
    .bind(max)
    .bind(now)
    .fetch_optional(pool)
    .await?))
}

/// Spends the challenge; false if someone else already did.
pub async fn consume(db: &Db, id: &str, now: i64) -> StoreResult<bool> {
    let n = with_db!(db, |pool| sqlx::query(
        "UPDATE otp_challenges SET used_at = $2 WHERE id = $1 AND used_at IS NULL"
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(n == 1)
}

/// Spends the live challenge of `purpose` whose link token hashes to `link_hash`, in one
/// statement (two clicks at once: one gets it). The challenge as it was, or None.
pub async fn redeem_link(
    db: &Db,
    purpose: &str,
    link_hash: &str,
    now: i64,
) -> StoreResult<Option<OtpChallenge>> {
    let sql = concat!(
        "UPDATE otp_challenges SET used_at = $3 \
         WHERE link_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 \
         RETURNING ",
        columns!()
    );
    with_db!(db, |pool| Ok(sqlx::query_as::<_, OtpChallenge>(sql)
        .bind(link_hash)
        .bind(purpose)
        .bind(now)
        .fetch_optional(pool)
        .await?))
}

/// The live challenge of `purpose` whose link token hashes to `link_hash`, unspent (the page
/// that asks "Continue?" before the link is used).
pub async fn find_link(
    db: &Db,
    purpose: &str,
    link_hash: &str,
    now: i64,
) -> StoreResult<Option<OtpChallenge>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM otp_challenges WHERE link_hash = $1 AND purpose = $2 AND used_at IS NULL \
         AND expires_at > $3"
    );
    with_db!(db, |pool| Ok(sqlx::query_as::<_, OtpChallenge>(sql)
        .bind(link_hash)
        .bind(purpose)
        .bind(now)
        .fetch_optional(pool)
        .await?))
}

/// Deletes codes past their expiry: a dead code proves nothing, and the guesses made on it are
/// counted per user in `rate_limits`, not here.
pub async fn purge_expired(db: &Db, now: i64, limit: i64) -> StoreResult<u64> {
    Ok(with_db!(db, |pool| sqlx::query(
        "DELETE FROM otp_challenges WHERE id IN \
         (SELECT id FROM otp_challenges WHERE expires_at < $1 LIMIT $2)"
    )
    .bind(now)
    .bind(limit)
    .execute(pool)
    .await?
    .rows_affected()))
}
