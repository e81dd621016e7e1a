//! Ending SSO sessions, in one place: logout, "Sign out of all other devices", MFA reset and
//! (later) password change all come here, so ending a session always revokes the grants bound
//! to it (DESIGN.md §5, OIDC Core §11: a refresh token is bound to its SSO session unless
//! `offline_access` was granted). No HTTP types: the CLI and the web layer share it.
//!
//! Order matters: the sessions end first, then their grants are revoked. A code redemption
//! that races the logout opens its grant and then checks the session (see
//! `oidc::grants::authorization_code`), so whichever way the two interleave, the grant ends up
//! revoked or the redemption fails.

use crate::store::sessions::{self, SsoSession};
use crate::store::{Db, StoreResult, grants};

/// What an ending did, for the audit log and the CLI.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ended {
    pub sessions: u64,
    pub grants: u64,
}

/// Ends one session (logout) and revokes its session-bound grants.
pub async fn end_session(
    db: &Db,
    tenant_id: &str,
    session_id: &str,
    now: i64,
) -> StoreResult<Ended> {
    sessions::end(db, session_id, now).await?;
    let grants = grants::revoke_for_session(db, tenant_id, session_id, now).await?;
    Ok(Ended {
        sessions: 1,
        grants,
    })
}

/// Ends every session of the user but `keep` ("Sign out of all other devices").
pub async fn end_other_sessions(
    db: &Db,
    tenant_id: &str,
    user_id: &str,
    keep: &str,
    now: i64,
) -> StoreResult<Ended> {
    let sessions = sessions::end_others(db, user_id, keep, now).await?;
    let grants = grants::revoke_for_user(db, tenant_id, user_id, keep, false, now).await?;
    Ok(Ended { sessions, grants })
}

/// Ends every session of the user and revokes their session-bound grants (password change).
pub async fn end_all_sessions(
    db: &Db,
    tenant_id: &str,
    user_id: &str,
    now: i64,
) -> StoreResult<Ended> {
    let sessions = sessions::end_all_for_user(db, user_id, now).await?;
    let grants = grants::revoke_for_user(db, tenant_id, user_id, "", false, now).await?;
    Ok(Ended { sessions, grants })
}

/// Ends every session of the user and revokes *every* grant, offline ones included (MFA
/// reset): an offline grant's refreshed ID tokens would go on claiming `amr` `otp`/`mfa` from a
/// factor that no longer exists, and a reset is what an admin does when a factor is lost.
pub async fn end_all_access(
    db: &Db,
    tenant_id: &str,
    user_id: &str,
    now: i64,
) -> StoreResult<Ended> {
    let sessions = sessions::end_all_for_user(db, user_id, now).await?;
    let grants = grants::revoke_for_user(db, tenant_id, user_id, "", true, now).await?;
    Ok(Ended { sessions, grants })
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
