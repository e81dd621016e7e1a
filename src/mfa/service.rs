//! MFA operations shared by the hosted login, the account pages and the admin CLI: reading a
//! user's factors into a policy decision, enrolling and verifying TOTP, recovery codes, trusted
//! devices and the admin reset. Every change writes an audit event.

use axum::http::HeaderMap;
use serde_json::json;

use super::inputs::{self, Situation};
use super::policy::Decision;
use super::{recovery, totp};
use crate::crypto::{random, seal};
use crate::model::{MfaMethod, TrustPolicy, now};
use crate::notify::mail::MailKind;
use crate::oidc::authz_request::AuthRequest;
use crate::state::AppState;
use crate::store::clients::Client;
use crate::store::factors::{self, Factor, NewFactor};
use crate::store::rate_limits::Limit;
use crate::store::tenants::Tenant;
use crate::store::users::User;
use crate::store::{StoreResult, audit, devices, recovery_codes};
use crate::web::cookies;

pub const DEVICE_COOKIE: &str = "gh_device";
const SEAL_TOTP: &str = "totp-seed";

/// Per-user limit on wrong second-factor codes across sign-ins. NIST SP 800-63B §5.2.2 allows
/// at most 100 consecutive failures; Gatehouse locks after 10 within 15 minutes, for 15 minutes.
pub const USER_LIMIT: Limit = Limit {
    max_failures: 10,
    window_secs: 900,
    lockout_secs: 900,
};

pub fn user_limit_key(user_id: &str) -> String {
    format!("mfa:user:{user_id}")
}

/// The user's factor set as one value: SHA-256 over the sorted factor ids. Adding, removing or
/// resetting a factor changes it (new factors get new ids), so a trusted device created under
/// one set never vouches under another.
pub async fn factor_set(state: &AppState, user_id: &str) -> StoreResult<String> {
    let mut ids: Vec<String> = factors::list_for_user(&state.db, user_id)
        .await?
        .into_iter()
        .map(|f| f.id)
        .collect();
    ids.sort();
    Ok(random::sha256_hex(&ids.join(",")))
}

/// Whether the browser holds a valid trusted-device token for this user, trusted under the
/// user's current factor set.
pub async fn trusted_device(
    state: &AppState,
    headers: &HeaderMap,
    user_id: &str,
) -> StoreResult<bool> {
    let Some(token) = cookies::get(headers, DEVICE_COOKIE) else {
        return Ok(false);
    };
    let set = factor_set(state, user_id).await?;
    Ok(
        devices::find_valid(&state.db, user_id, &random::sha256_hex(&token), &set, now())
            .await?
            .is_some(),
    )
}

/// Whether a trusted device stands in for the second factor for `client` here: the tenant has
/// trusted devices on, the client's trust policy accepts them (the rule `policy::decide` and
/// the login's "Trust this device" apply) and the browser holds a valid one.
pub async fn device_vouches(
    state: &AppState,
    headers: &HeaderMap,
    tenant: &Tenant,
    client: &Client,
    user_id: &str,
) -> StoreResult<bool> {
    if tenant.trusted_device_days <= 0 || client.trust_policy != TrustPolicy::Any {
        return Ok(false);
    }
    trusted_device(state, headers, user_id).await
}

/// What the policy needs to know about this request, user and session.
pub struct Context<'a> {
    pub tenant: &'a Tenant,
    pub client: &'a Client,
    pub req: &'a AuthRequest,
    pub user_id: &'a str,
    pub session_mfa_time: Option<i64>,
    pub enrolment_skipped: bool,
}

pub async fn decide(
    state: &AppState,
    headers: &HeaderMap,
    c: Context<'_>,
) -> StoreResult<Decision> {
    let kinds = inputs::user_factors(&state.db, c.user_id).await?;
    let trusted = trusted_device(state, headers, c.user_id).await?;
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
            trusted_device: trusted,
            enrolment_skipped: c.enrolment_skipped,
            now: now(),
        },
    ))
}

/// A fresh TOTP seed for enrolment, sealed so it can wait in the transaction or account session.
pub fn new_pending_totp(state: &AppState) -> Option<String> {
    seal::seal(&state.secret, SEAL_TOTP, &totp::new_secret()).ok()
}

pub fn open_seed(state: &AppState, sealed: &str) -> Option<Vec<u8>> {
    seal::open(&state.secret, SEAL_TOTP, sealed).ok()
}

/// The enrolment screen's material: grouped key, otpauth URI and QR code (base64 PNG).
pub struct Provisioning {
    pub key: String,
    pub uri: String,
    pub qr_png_base64: String,
}

pub fn provisioning(
    state: &AppState,
    sealed: &str,
    tenant: &Tenant,
    user: &User,
) -> Option<Provisioning> {
    let seed = open_seed(state, sealed)?;
    let (uri, qr) = totp::provisioning(&seed, &tenant.name, &user.email)?;
    Some(Provisioning {
        key: totp::grouped_key(&seed),
        uri,
        qr_png_base64: qr,
    })
}

/// Whether the account's mailbox was proven (a mailed one-time code, `crate::otp`) in the flow
/// that binds a factor. A first factor needs it when the tenant's `mfa_enrollment_proof` is
/// `email`, on every path: otherwise whoever holds the password could bind their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailboxProof {
    Proven,
    NotProven,
}

/// Confirms a pending TOTP enrolment with the user's first code. Returns the new factor and,
/// when it is the user's first factor, a fresh set of recovery codes to show once.
#[allow(clippy::too_many_arguments)]
pub async fn confirm_totp(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    sealed: &str,
    label: &str,
    code: &str,
    actor: &str,
    proof: MailboxProof,
) -> StoreResult<Option<(Factor, Option<Vec<String>>)>> {
    let Some(step) = check_pending(state, sealed, code) else {
        return Ok(None);
    };
    bind_totp(state, tenant, user, sealed, label, step, actor, proof)
        .await
        .map(Some)
}

/// Checks the first code of a pending enrolment; the matched step, when it is right.
pub fn check_pending(state: &AppState, sealed: &str, code: &str) -> Option<i64> {
    let seed = open_seed(state, sealed)?;
    totp::verify(&seed, code, None, now())
}

/// Stores a TOTP factor whose first code (at `step`) was already checked. Returns the factor
/// and, for a first factor, recovery codes to show once. Refuses a first factor without the
/// mailbox proof the tenant asks for (the callers check first; this is the last line).
#[allow(clippy::too_many_arguments)]
pub async fn bind_totp(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    sealed: &str,
    label: &str,
    step: i64,
    actor: &str,
    proof: MailboxProof,
) -> StoreResult<(Factor, Option<Vec<String>>)> {
    let ts = now();
    let first = factors::list_for_user(&state.db, &user.id)
        .await?
        .is_empty();
    if first && tenant.mfa_enrollment_proof == "email" && proof != MailboxProof::Proven {
        return Err(crate::store::StoreError::Conflict(
            "a first factor needs the enrolment proof".into(),
        ));
    }
    let label = label.trim();
    let label = if label.is_empty() {
        "Authenticator app"
    } else {
        label
    };
    let label: String = label.chars().take(64).collect();
    let factor = factors::create(
        &state.db,
        NewFactor {
            tenant_id: &tenant.id,
            user_id: &user.id,
            kind: MfaMethod::Totp,
            label: &label,
            secret_sealed: Some(sealed),
            last_step: Some(step),
            target: None,
            now: ts,
        },
    )
    .await?;
    let codes = if first {
        Some(regenerate_recovery_codes(state, tenant, user, actor, false).await?)
    } else {
        None
    };
    record(
        state,
        tenant,
        user,
        actor,
        "mfa.factor_added",
        json!({ "factor_id": factor.id, "kind": "totp", "label": factor.label }),
    )
    .await?;
    notify(
        state,
        tenant,
        user,
        MailKind::MfaEnabled {
            method_label: format!("Authenticator app ({})", factor.label),
        },
    )
    .await;
    Ok((factor, codes))
}

/// Checks a TOTP code against the user's authenticator apps (each code once). Only through
/// [`super::attempts::check`], which reserves the attempt first.
pub(super) async fn verify_totp(
    state: &AppState,
    user_id: &str,
    code: &str,
) -> StoreResult<Option<Factor>> {
    let ts = now();
    for f in factors::list_for_user(&state.db, user_id).await? {
        if f.kind != MfaMethod::Totp {
            continue;
        }
        let Some(seed) = f.secret_sealed.as_deref().and_then(|s| open_seed(state, s)) else {
            continue;
        };
        if let Some(step) = totp::verify(&seed, code, f.last_step, ts)
            && factors::accept_step(&state.db, &f.id, step, ts).await?
        {
            return Ok(Some(f));
        }
    }
    Ok(None)
}

/// Voids the old set and returns `tenant.mfa_recovery_count` new codes (shown once).
pub async fn regenerate_recovery_codes(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    actor: &str,
    audit_it: bool,
) -> StoreResult<Vec<String>> {
    let codes = recovery::generate(tenant.mfa_recovery_count.clamp(1, 16) as usize);
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| recovery::hash(&state.secret, c))
        .collect();
    recovery_codes::replace_set(&state.db, &tenant.id, &user.id, &hashes, now()).await?;
    if audit_it {
        notify(state, tenant, user, MailKind::RecoveryCodesRegenerated).await;
        record(
            state,
            tenant,
            user,
            actor,
            "mfa.recovery_codes_regenerated",
            json!({ "count": codes.len() }),
        )
        .await?;
    }
    Ok(codes)
}

/// Spends a recovery code. `Some(replacement)` on success, where `replacement` is a fresh code
/// when the tenant replaces codes on use. Only through [`super::attempts::check`], which
/// reserves the attempt first.
pub(super) async fn use_recovery_code(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    code: &str,
) -> StoreResult<Option<Option<String>>> {
    if recovery::normalize(code).len() != 12 {
        return Ok(None);
    }
    let ts = now();
    if !recovery_codes::consume(
        &state.db,
        &user.id,
        &recovery::hash(&state.secret, code),
        ts,
    )
    .await?
    {
        return Ok(None);
    }
    let replacement = if tenant.mfa_recovery_replace_on_use {
        let fresh = recovery::generate(1).remove(0);
        recovery_codes::add(
            &state.db,
            &tenant.id,
            &user.id,
            &recovery::hash(&state.secret, &fresh),
            ts,
        )
        .await?;
        Some(fresh)
    } else {
        None
    };
    let remaining = recovery_codes::remaining(&state.db, &user.id).await?;
    record(
        state,
        tenant,
        user,
        &format!("user:{}", user.id),
        "mfa.recovery_code_used",
        json!({ "remaining": remaining, "replaced": replacement.is_some() }),
    )
    .await?;
    notify(
        state,
        tenant,
        user,
        MailKind::RecoveryCodeUsed {
            remaining: u32::try_from(remaining).unwrap_or(0),
        },
    )
    .await;
    Ok(Some(replacement))
}

/// Remembers this browser for the user; returns the cookie token (the database keeps its hash).
pub async fn trust_device(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    user_agent: Option<&str>,
) -> StoreResult<String> {
    let token = random::token(32);
    let ts = now();
    let set = factor_set(state, &user.id).await?;
    devices::create(
        &state.db,
        devices::NewDevice {
            tenant_id: &tenant.id,
            user_id: &user.id,
            token_hash: &random::sha256_hex(&token),
            user_agent,
            factor_set: &set,
            now: ts,
            expires_at: ts + tenant.trusted_device_days * 86_400,
        },
    )
    .await?;
    record(
        state,
        tenant,
        user,
        &format!("user:{}", user.id),
        "mfa.device_trusted",
        json!({}),
    )
    .await?;
    Ok(token)
}

pub use super::reset::{Reset, factor_removed, reset};

pub async fn record(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    actor: &str,
    event: &str,
    detail: serde_json::Value,
) -> StoreResult<()> {
    audit::record(
        &state.db,
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

/// Emails the user about a security event. Best effort: a mail outage must not lock anyone out
/// of their account, so a failure is logged (without the address) and the action stands.
pub async fn notify(state: &AppState, tenant: &Tenant, user: &User, kind: MailKind) {
    if let Err(e) = state
        .mailer
        .notify(
            &state.templates,
            &tenant.theme,
            &tenant.name,
            &user.email,
            kind,
        )
        .await
    {
        tracing::warn!(error = %e, user_id = %user.id, "security notification not sent");
    }
}
