//! Taking MFA away: the admin reset and the removal of one factor. Both must leave nothing that
//! still counts as MFA from a factor that is gone: sessions lose their proof (or end), trusted
//! devices are voided (and a device is bound to the factor set it was trusted under anyway,
//! see `service::factor_set`).

use serde_json::json;

use super::proven;
use crate::model::{TrustPolicy, now};
use crate::signout::{self, Ended};
use crate::state::AppState;
use crate::store::tenants::Tenant;
use crate::store::users::User;
use crate::store::{StoreResult, audit, devices, factors, recovery_codes, sessions};

/// What an admin MFA reset did.
#[derive(Debug, Clone, Copy)]
pub struct Reset {
    pub factors_removed: u64,
    pub ended: Ended,
}

/// The admin "Reset MFA": every factor, recovery code and trusted device goes, every SSO
/// session of the user ends (DESIGN.md §5) and every grant of the user is revoked, offline
/// ones included: a session or token that proved MFA with a factor now gone must not keep
/// counting as MFA.
pub async fn reset(
    state_db: &crate::store::Db,
    tenant: &Tenant,
    user: &User,
    actor: &str,
) -> StoreResult<Reset> {
    let ts = now();
    let removed = factors::delete_all_for_user(state_db, &user.id).await?;
    recovery_codes::delete_all_for_user(state_db, &user.id).await?;
    devices::revoke_all_for_user(state_db, &user.id, ts).await?;
    let ended = signout::end_all_access(state_db, &tenant.id, &user.id, ts).await?;
    audit::record(
        state_db,
        audit::NewEvent {
            tenant_id: Some(&tenant.id),
            user_id: Some(&user.id),
            actor,
            event: "mfa.reset",
            detail: json!({
                "factors_removed": removed,
                "sessions_ended": ended.sessions,
                "grants_revoked": ended.grants,
            }),
            ..Default::default()
        },
    )
    .await?;
    Ok(Reset {
        factors_removed: removed,
        ended,
    })
}

/// After a factor was removed: the user's *other* sessions lose their second-factor proof (it
/// may have come from the removed factor, on a device the user no longer controls), and every
/// trusted device goes (the factor set changed anyway).
///
/// The current session keeps its proof while the user still has a factor: the account pages
/// let the change through only after a recent sign-in with a second factor (or a trusted
/// device standing in for it), made by the person now removing a method they hold. With no
/// factor left it loses the proof too: its `amr` would otherwise claim a factor the user no
/// longer has.
pub async fn factor_removed(
    state: &AppState,
    user_id: &str,
    current_session: &str,
    factors_left: usize,
) -> StoreResult<()> {
    let ts = now();
    devices::revoke_all_for_user(&state.db, user_id, ts).await?;
    for s in sessions::list_live_for_user(&state.db, user_id, ts).await? {
        if s.id == current_session && factors_left > 0 {
            continue;
        }
        let first = s.proven().first_factor_only();
        let (amr, acr) = proven::claims(&first, TrustPolicy::None);
        sessions::drop_second_factor(&state.db, &s.id, &proven::amr_strings(&amr), acr.as_str())
            .await?;
    }
    Ok(())
}
