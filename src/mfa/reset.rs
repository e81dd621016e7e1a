//! Taking MFA away: the admin reset and the removal of one factor. Both must leave nothing that
//! still counts as MFA from a factor that is gone: sessions lose their proof (or end), trusted
//! devices are voided (and a device is bound to the factor set it was trusted under anyway,
//! see `devices::factor_set`). Each runs its writes in one transaction with its audit event and
//! mails the user after the commit.

use crate::ids::UserId;
use serde_json::json;

use super::MfaDeps;
use super::proven;
use super::service::{kind_label, record};
use crate::model::{TenantMfaPolicy, TrustPolicy};
use crate::notify::Notifier;
use crate::notify::mail::MailKind;
use crate::signout::{self, Ended};
use crate::store::tenants::Tenant;
use crate::store::users::User;
use crate::store::{Db, StoreResult, Tx, audit, devices, factors, recovery_codes, sessions};

/// What an admin MFA reset did.
#[derive(Debug, Clone)]
pub struct Reset {
    pub factors_removed: u64,
    pub ended: Ended,
    /// Whether the "two-factor authentication was reset" notice went out.
    pub notified: bool,
}

/// The admin "Reset MFA" (`gatehouse user mfa-reset`, and the admin API next): every factor,
/// recovery code and trusted device goes, every SSO session of the user ends (DESIGN.md §5) and
/// every grant of the user is revoked, offline ones included: a session or token that proved
/// MFA with a factor now gone must not keep counting as MFA. The user is told by mail.
///
/// It takes what it uses, no server secret: the CLI runs it without loading `keys/`.
pub async fn reset(
    db: &Db,
    notifier: &Notifier,
    now: i64,
    tenant: &Tenant,
    user: &User,
    actor: &str,
) -> StoreResult<Reset> {
    // 1. Sessions and grants end first, each committed on its own, through `signout`: its order
    //    (sessions, then grants) is what stops a racing code redemption from keeping a grant,
    //    and inside a still-open transaction the ended sessions would be invisible to that
    //    redemption. Should the rest fail, the user merely signs in again.
    let ended = signout::end_all_access(db, &tenant.id, &user.id, now).await?;
    // 2. The factors, recovery codes and devices go with the audit event, or none of them does.
    let mut tx = db.begin().await?;
    let removed = factors::delete_all_for_user(&mut tx, &user.id).await?;
    recovery_codes::delete_all_for_user(&mut tx, &user.id).await?;
    devices::revoke_all_for_user(&mut tx, &user.id, now).await?;
    audit::record(
        &mut tx,
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
    tx.commit().await?;
    // 3. A sign-in that passed its second factor before step 2 committed may have opened a
    //    session (or redeemed a code) after step 1: end whatever is live now the factors are
    //    gone. Nearly always nothing.
    let late = signout::end_all_access(db, &tenant.id, &user.id, now).await?;
    let ended = ended.and(late);
    let notified = notifier
        .security_notice(tenant, user, MailKind::MfaReset)
        .await;
    Ok(Reset {
        factors_removed: removed,
        ended,
        notified,
    })
}

/// What a request to remove a factor came to.
#[derive(Debug)]
pub enum Removal {
    Removed,
    /// The user has no such factor (already removed, or not theirs).
    NotFound,
    /// The tenant requires MFA and this is the user's last factor.
    LastFactorRequired,
}

/// Removes one of the user's factors ("Manage two-factor" → Remove), from the session
/// `current_session`. One transaction holds the delete, the voided trusted devices, the other
/// sessions' lost second-factor proof (see [`factor_removed`]), the recovery codes when no
/// factor is left, and the audit event; the notice goes out after the commit.
pub async fn remove_factor(
    deps: &MfaDeps<'_>,
    tenant: &Tenant,
    user: &User,
    actor: &str,
    factor_id: &str,
    current_session: &str,
) -> StoreResult<Removal> {
    let mut tx = deps.db.begin().await?;
    tx.lock_user(&user.id).await?;
    let fs = factors::list_for_user(&mut tx, &user.id).await?;
    let left = fs.len().saturating_sub(1);
    let Some(factor) = fs.into_iter().find(|f| f.id == factor_id) else {
        return Ok(Removal::NotFound);
    };
    if left == 0 && tenant.mfa_policy == TenantMfaPolicy::Required {
        return Ok(Removal::LastFactorRequired);
    }
    factors::delete(&mut tx, &user.id, factor_id).await?;
    factor_removed(&mut tx, &user.id, current_session, left, deps.now).await?;
    if left == 0 {
        recovery_codes::delete_all_for_user(&mut tx, &user.id).await?;
    }
    record(
        &mut tx,
        tenant,
        user,
        actor,
        "mfa.factor_removed",
        json!({ "factor_id": factor.id, "kind": factor.kind, "label": factor.label }),
    )
    .await?;
    tx.commit().await?;
    let method_label = format!("{} ({})", kind_label(factor.kind), factor.label);
    deps.notifier
        .security_notice(tenant, user, MailKind::MfaFactorRemoved { method_label })
        .await;
    Ok(Removal::Removed)
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
pub(super) async fn factor_removed(
    tx: &mut Tx,
    user_id: &UserId,
    current_session: &str,
    factors_left: usize,
    now: i64,
) -> StoreResult<()> {
    devices::revoke_all_for_user(&mut *tx, user_id, now).await?;
    for s in sessions::list_live_for_user(&mut *tx, user_id, now).await? {
        if s.id == current_session && factors_left > 0 {
            continue;
        }
        let first = s.proven().first_factor_only();
        let (amr, acr) = proven::claims(&first, TrustPolicy::None);
        sessions::drop_second_factor(&mut *tx, &s.id, &proven::amr_strings(&amr), acr.as_str())
            .await?;
    }
    Ok(())
}
