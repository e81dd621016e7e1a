//! Ending SSO sessions, in one place: logout, "Sign out of all other devices", MFA reset and
//! (later) password change all come here, so ending a session always revokes the grants bound
//! to it (DESIGN.md §5, OIDC Core §11: a refresh token is bound to its SSO session unless
//! `offline_access` was granted). No HTTP types: the CLI and the web layer share it.
//!
//! Order matters: the sessions end first, then their grants are revoked. A code redemption
//! that races the logout opens its grant and then checks the session (see
//! `oidc::grants::authorization_code`), so whichever way the two interleave, the grant ends up
//! revoked or the redemption fails.

use crate::ids::{TenantId, UserId};
use crate::store::sessions::{self, SsoSession};
use crate::store::{Db, StoreResult, grants};

/// What an ending did, for the audit log, the CLI and back-channel logout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ended {
    pub sessions: u64,
    pub grants: u64,
    /// The sessions that ended: their clients hear of it (`oidc::backchannel`).
    pub session_ids: Vec<String>,
}

impl Ended {
    /// Both endings together (the MFA reset ends sessions twice).
    pub fn and(mut self, other: Ended) -> Ended {
        self.sessions += other.sessions;
        self.grants += other.grants;
        self.session_ids.extend(other.session_ids);
        self
    }
}

/// Ends one session (logout) and revokes its session-bound grants.
pub async fn end_session(
    db: &Db,
    tenant_id: &TenantId,
    session_id: &str,
    now: i64,
) -> StoreResult<Ended> {
    sessions::end(db, session_id, now).await?;
    let grants = grants::revoke_for_session(db, tenant_id, session_id, now).await?;
    Ok(Ended {
        sessions: 1,
        grants,
        session_ids: vec![session_id.to_owned()],
    })
}

/// Which of a user's sessions end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sessions<'a> {
    /// Every one (MFA reset, password change).
    All,
    /// Every one but this session id ("Sign out of all other devices").
    AllBut(&'a str),
}

/// Whether `offline_access` grants end too. They outlive their session by design (OIDC Core
/// §11), so only an ending that voids what they vouch for revokes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfflineGrants {
    Keep,
    Revoke,
}

/// Ends the user's `which` sessions and revokes the grants bound to them; with
/// [`OfflineGrants::Revoke`] every offline grant of the user as well (a kept session's grants
/// stay either way). A password change will be `All` with `Keep`.
pub async fn end_user_sessions(
    db: &Db,
    tenant_id: &TenantId,
    user_id: &UserId,
    which: Sessions<'_>,
    offline: OfflineGrants,
    now: i64,
) -> StoreResult<Ended> {
    let (session_ids, keep) = match which {
        Sessions::All => (sessions::end_all_for_user(db, user_id, now).await?, ""),
        Sessions::AllBut(keep) => (sessions::end_others(db, user_id, keep, now).await?, keep),
    };
    let offline_too = offline == OfflineGrants::Revoke;
    let grants = grants::revoke_for_user(db, tenant_id, user_id, keep, offline_too, now).await?;
    Ok(Ended {
        sessions: session_ids.len() as u64,
        grants,
        session_ids,
    })
}

/// "Sign out of all other devices": every session but `keep`; offline grants stay.
pub async fn end_other_sessions(
    db: &Db,
    tenant_id: &TenantId,
    user_id: &UserId,
    keep: &str,
    now: i64,
) -> StoreResult<Ended> {
    let which = Sessions::AllBut(keep);
    end_user_sessions(db, tenant_id, user_id, which, OfflineGrants::Keep, now).await
}

/// MFA reset: every session and *every* grant, offline ones included: an offline grant's
/// refreshed ID tokens would go on claiming `amr` `otp`/`mfa` from a factor that no longer
/// exists, and a reset is what an admin does when a factor is lost.
pub async fn end_all_access(
    db: &Db,
    tenant_id: &TenantId,
    user_id: &UserId,
    now: i64,
) -> StoreResult<Ended> {
    end_user_sessions(
        db,
        tenant_id,
        user_id,
        Sessions::All,
        OfflineGrants::Revoke,
        now,
    )
    .await
}

/// A new sign-in in a browser that had a session: the old session ends. When the same user
/// signed in again it is the same person continuing, so the old session's grants move to the
/// new one (and a later logout still reaches them); another user's grants are revoked.
pub async fn replace_session(
    db: &Db,
    old: &SsoSession,
    new: &SsoSession,
    now: i64,
) -> StoreResult<()> {
    sessions::end(db, &old.id, now).await?;
    if old.user_id == new.user_id {
        grants::rebind_session(db, &old.tenant_id, &old.id, &new.id, new.expires_at).await?;
    } else {
        grants::revoke_for_session(db, &old.tenant_id, &old.id, now).await?;
    }
    Ok(())
}
