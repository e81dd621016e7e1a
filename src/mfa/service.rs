//! MFA operations shared by the hosted login, the account pages and the admin CLI: reading a
//! user's factors into a policy decision, binding a new factor (with a first factor's recovery
//! codes), renaming one, and the audit trail. A factor's own steps live in its file (`totp`),
//! recovery codes in `recovery`, trusted devices in `devices`, taking MFA away in `reset`.
//!
//! Every change runs in one database transaction with its audit event, so a change whose audit
//! event cannot be written does not happen; the user is mailed after the commit.

use crate::ids::UserId;
use serde_json::json;

use super::inputs::{self, Situation};
use super::policy::Decision;
use super::{MfaDeps, devices, recovery};
use crate::model::{EnrollmentProof, MfaMethod};
use crate::notify::mail::MailKind;
use crate::oidc::authz_request::AuthRequest;
use crate::store::clients::Client;
use crate::store::factors::{self, Factor, NewFactor};
use crate::store::rate_limits::Limit;
use crate::store::tenants::Tenant;
use crate::store::users::User;
use crate::store::{Conn, StoreError, StoreResult, audit};

/// Per-user limit on wrong second-factor codes across sign-ins. NIST SP 800-63B §5.2.2 allows
/// at most 100 consecutive failures; Gatehouse locks after 10 within 15 minutes, for 15 minutes.
pub const USER_LIMIT: Limit = Limit {
    max_failures: 10,
    window_secs: 900,
    lockout_secs: 900,
};

pub fn user_limit_key(user_id: &UserId) -> String {
    format!("mfa:user:{user_id}")
}

/// What the policy needs to know about this request, user and session.
pub struct Context<'a> {
    pub tenant: &'a Tenant,
    pub client: &'a Client,
    pub req: &'a AuthRequest,
    pub user_id: &'a UserId,
    pub session_mfa_time: Option<i64>,
    /// The session's second factor was a security key or passkey.
    pub session_phishing_resistant: bool,
    pub enrolment_skipped: bool,
    /// This interaction registered the account (`registration.mfa_setup` applies).
    pub registered: bool,
}

/// The policy decision for this request. `device_token`: the trusted-device cookie's value
/// when the browser sent one (the web layer reads the cookie; this never sees headers).
pub async fn decide(
    deps: &MfaDeps<'_>,
    device_token: Option<&str>,
    c: Context<'_>,
) -> StoreResult<Decision> {
    let kinds = inputs::user_factors(deps.db, c.user_id).await?;
    let trusted = devices::trusted(deps, device_token, c.user_id).await?;
    let essential = c.req.essential_acr();
    Ok(inputs::decide(
        c.tenant,
        c.client,
        &Situation {
            acr_values: &c.req.acr_values,
            essential_acr: &essential,
            max_age: c.req.max_age,
            user_factors: &kinds,
            session_mfa_time: c.session_mfa_time,
            session_phishing_resistant: c.session_phishing_resistant,
            trusted_device: trusted,
            enrolment_skipped: c.enrolment_skipped,
            registered: c.registered,
            now: deps.now,
        },
    ))
}

/// Whether the account's mailbox was proven (a mailed one-time code, `crate::otp`) in the flow
/// that binds a factor. A first factor needs it when the tenant's `mfa_enrollment_proof` is
/// `email`, on every path: otherwise whoever holds the password could bind their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailboxProof {
    Proven,
    NotProven,
}

/// Who binds a factor, for whom: the tenant and user, the actor for the audit log
/// (`user:{id}`, `cli`, `admin:{key}`) and what the flow proved of the mailbox.
pub struct Enrolment<'a> {
    pub tenant: &'a Tenant,
    pub user: &'a User,
    pub actor: &'a str,
    pub proof: MailboxProof,
    /// The SSO session making the change (the account pages; `None` at sign-in). A replaced
    /// factor costs every *other* session its second-factor proof, as a removal does.
    pub session: Option<&'a str>,
}

/// The name of a kind of factor as the user reads it in lists and notices.
pub fn kind_label(kind: MfaMethod) -> &'static str {
    match kind {
        MfaMethod::Totp => "Authenticator app",
        MfaMethod::Email => "Email code",
        MfaMethod::Sms => "Text message",
        MfaMethod::Webauthn => "Security key or passkey",
    }
}

/// A factor's name as typed: trimmed, at most 64 characters (possibly empty).
pub fn clean_label(label: &str) -> String {
    label.trim().chars().take(64).collect()
}

/// Stores a factor whose possession the caller already checked (for TOTP: its first code).
/// One transaction holds the factor, a first factor's fresh recovery codes and the audit event;
/// the "turned on" notice goes out after the commit. Returns the factor and, for a first
/// factor, the recovery codes to show once. Refuses a first factor without the mailbox proof
/// the tenant asks for (the callers check first; this is the last line).
pub async fn bind_factor(
    deps: &MfaDeps<'_>,
    e: &Enrolment<'_>,
    new: NewFactor<'_>,
    replaces: Option<&str>,
) -> StoreResult<(Factor, Option<Vec<String>>)> {
    let mut tx = deps.db.begin().await?;
    tx.lock_user(&e.user.id).await?;
    // Read inside the transaction, so "first" is decided on what the insert sees.
    let first = factors::list_for_user(&mut tx, &e.user.id)
        .await?
        .is_empty();
    if first
        && e.tenant.mfa_enrollment_proof == EnrollmentProof::Email
        && e.proof != MailboxProof::Proven
    {
        return Err(StoreError::Conflict(
            "a first factor needs the enrolment proof".into(),
        ));
    }
    let factor = factors::create(&mut tx, new).await?;
    // "Change number": the old factor goes with the bind of the new one, never before it, so
    // the user is never left without the factor they are replacing.
    if let Some(old) = replaces
        && factors::delete(&mut tx, &e.user.id, old).await?
    {
        super::reset::factor_removed(&mut tx, &e.user.id, e.session.unwrap_or(""), 1, deps.now)
            .await?;
        record(
            &mut tx,
            e.tenant,
            e.user,
            e.actor,
            "mfa.factor_replaced",
            json!({ "factor_id": old, "by": factor.id }),
        )
        .await?;
    }
    let codes = if first {
        Some(recovery::replace_codes(&mut tx, deps, e.tenant, e.user).await?)
    } else {
        None
    };
    record(
        &mut tx,
        e.tenant,
        e.user,
        e.actor,
        "mfa.factor_added",
        json!({ "factor_id": factor.id, "kind": factor.kind, "label": factor.label }),
    )
    .await?;
    tx.commit().await?;
    let method_label = format!("{} ({})", kind_label(factor.kind), factor.label);
    deps.notifier
        .security_notice(e.tenant, e.user, MailKind::MfaEnabled { method_label })
        .await;
    Ok((factor, codes))
}

/// Renames one of the user's factors, with its audit event, in one transaction. False when the
/// user has no such factor or the new name is empty: nothing changes then.
pub async fn rename_factor(
    deps: &MfaDeps<'_>,
    tenant: &Tenant,
    user: &User,
    actor: &str,
    factor_id: &str,
    label: &str,
) -> StoreResult<bool> {
    let label = clean_label(label);
    if label.is_empty() {
        return Ok(false);
    }
    let mut tx = deps.db.begin().await?;
    if !factors::rename(&mut tx, &user.id, factor_id, &label).await? {
        return Ok(false);
    }
    record(
        &mut tx,
        tenant,
        user,
        actor,
        "mfa.factor_renamed",
        json!({ "factor_id": factor_id, "label": label }),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Writes an audit event about `user`. Given a change's transaction (`&mut tx`), the event
/// commits or rolls back with the change.
pub async fn record(
    conn: impl Into<Conn<'_>>,
    tenant: &Tenant,
    user: &User,
    actor: &str,
    event: &str,
    detail: serde_json::Value,
) -> StoreResult<()> {
    audit::record(
        conn,
        audit::NewEvent {
            tenant_id: Some(&tenant.id),
            user_id: Some(&user.id),
            actor,
            event,
            detail,
            ..Default::default()
        },
    )
    .await
}
