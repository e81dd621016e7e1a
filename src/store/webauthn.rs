//! WebAuthn's rows beside the factors: each user's random user handle, and the state of a
//! ceremony between its two requests. A ceremony is taken (deleted and returned in one
//! statement) by the request that finishes it, so of two requests carrying the same answer
//! exactly one finds it: a replayed credential has no ceremony left to match.

use super::{Db, StoreResult};
use crate::ids::{TenantId, UserId};
use crate::with_db;

/// What a ceremony is for; its state only opens for the same purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Adding a security key or passkey to an account.
    Register,
    /// A second-factor challenge for a known user.
    Assert,
    /// "Sign in with a passkey": the user is not known until the credential names them.
    Discover,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::Assert => "assert",
            Purpose::Discover => "discover",
        }
    }
}

/// One ceremony waiting for its answer.
pub struct NewCeremony<'a> {
    pub id: &'a str,
    pub tenant_id: &'a TenantId,
    pub user_id: Option<&'a UserId>,
    pub purpose: Purpose,
    pub state: &'a str,
    pub expires_at: i64,
}

/// Stores a ceremony's state; a page shown again under the same id replaces its earlier
/// challenge (of the same purpose and user only).
pub async fn put(db: &Db, c: NewCeremony<'_>) -> StoreResult<()> {
    with_db!(db, |pool| sqlx::query(
        "INSERT INTO webauthn_ceremonies (id, tenant_id, user_id, purpose, state, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, expires_at = excluded.expires_at \
         WHERE webauthn_ceremonies.purpose = excluded.purpose \
         AND COALESCE(webauthn_ceremonies.user_id, '') = COALESCE(excluded.user_id, '')"
    )
    .bind(c.id)
    .bind(c.tenant_id)
    .bind(c.user_id)
    .bind(c.purpose.as_str())
    .bind(c.state)
    .bind(c.expires_at)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}

/// Takes the live ceremony `id` of `purpose` for `user_id` (`None`: a passwordless one): its
/// state, once. Expired, consumed, someone else's or another purpose's: `None`.
pub async fn take(
    db: &Db,
    id: &str,
    purpose: Purpose,
    user_id: Option<&UserId>,
    now: i64,
) -> StoreResult<Option<String>> {
    let user = user_id.map_or("", |u| u.as_str());
    let state: Option<(String,)> = with_db!(db, |pool| sqlx::query_as(
        "DELETE FROM webauthn_ceremonies WHERE id = $1 AND purpose = $2 \
         AND COALESCE(user_id, '') = $3 AND expires_at > $4 RETURNING state"
    )
    .bind(id)
    .bind(purpose.as_str())
    .bind(user)
    .bind(now)
    .fetch_optional(pool)
    .await?);
    Ok(state.map(|(s,)| s))
}

/// Ceremonies nobody finished: their challenge can no longer be answered.
pub async fn purge_expired(db: &Db, now: i64, limit: i64) -> StoreResult<u64> {
    Ok(with_db!(db, |pool| sqlx::query(
        "DELETE FROM webauthn_ceremonies WHERE id IN \
         (SELECT id FROM webauthn_ceremonies WHERE expires_at <= $1 LIMIT $2)"
    )
    .bind(now)
    .bind(limit)
    .execute(pool)
    .await?
    .rows_affected()))
}

/// The user's WebAuthn user handle, created on first use: random, so an authenticator that
/// shows or syncs it learns nothing of the account.
pub async fn handle_for(db: &Db, tenant_id: &TenantId, user_id: &UserId) -> StoreResult<String> {
    let fresh = uuid::Uuid::new_v4().hyphenated().to_string();
    let handle: (String,) = with_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO webauthn_handles (user_id, tenant_id, handle) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(tenant_id)
        .bind(&fresh)
        .execute(pool)
        .await?;
        sqlx::query_as("SELECT handle FROM webauthn_handles WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(pool)
            .await?
    });
    Ok(handle.0)
}

/// Whose handle this is, in this tenant.
pub async fn user_of_handle(
    db: &Db,
    tenant_id: &TenantId,
    handle: &str,
) -> StoreResult<Option<UserId>> {
    let row: Option<(UserId,)> = with_db!(db, |pool| sqlx::query_as(
        "SELECT user_id FROM webauthn_handles WHERE tenant_id = $1 AND handle = $2"
    )
    .bind(tenant_id)
    .bind(handle)
    .fetch_optional(pool)
    .await?);
    Ok(row.map(|(u,)| u))
}
