//! An admin ending a user's sessions (the admin API's `.../users/{id}/sessions`): one, or all
//! of them. Through `signout`, so the session-bound grants end with them; offline grants
//! (`offline_access`) outlive sessions by design (OIDC Core §11) and stay: "Reset MFA" is the
//! action that ends those too.

use serde_json::json;

use super::AdminResult;
use crate::signout::{self, Ended, OfflineGrants, Sessions};
use crate::store::sessions::{self, SsoSession};
use crate::store::tenants::Tenant;
use crate::store::users::User;
use crate::store::{Db, audit};

/// The user's live sessions, newest sign-in first.
pub async fn list(db: &Db, user: &User, now: i64) -> AdminResult<Vec<SsoSession>> {
    let mut live = sessions::list_live_for_user(db, &user.id, now).await?;
    live.sort_by_key(|s| std::cmp::Reverse(s.created_at));
    Ok(live)
}

/// Ends one live session of the user (`None`: it is not one of theirs or already over), or
/// every one with `session_id` `None`. Records `session.revoked` either way something ended.
pub async fn end(
    db: &Db,
    actor: &str,
    tenant: &Tenant,
    user: &User,
    session_id: Option<&str>,
    now: i64,
) -> AdminResult<Option<Ended>> {
    let ended = match session_id {
        Some(id) => {
            let live = sessions::find_by_id(db, &tenant.id, id)
                .await?
                .filter(|s| s.user_id == user.id && s.ended_at.is_none() && s.expires_at > now);
            if live.is_none() {
                return Ok(None);
            }
            signout::end_session(db, &tenant.id, id, now).await?
        }
        None => {
            let (all, keep) = (Sessions::All, OfflineGrants::Keep);
            signout::end_user_sessions(db, &tenant.id, &user.id, all, keep, now).await?
        }
    };
    audit::record(
        db,
        audit::NewEvent {
            tenant_id: Some(&tenant.id),
            user_id: Some(&user.id),
            actor,
            event: "session.revoked",
            detail: json!({
                "sessions": ended.session_ids,
                "grants_revoked": ended.grants,
            }),
            ..Default::default()
        },
    )
    .await?;
    Ok(Some(ended))
}
