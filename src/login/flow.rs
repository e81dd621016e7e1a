//! The login state machine. A transaction moves `credentials → [mfa] → consent → finished`;
//! each stage is a row state, each POST advances it once (guarded by `stage = from` in the
//! UPDATE, so a replayed form changes nothing).

use crate::ids::UserId;
use axum::http::HeaderMap;

use super::finish::{self, Completion, SessionChoice};
use crate::mfa::policy::Decision;
use crate::mfa::service::{self as mfa, Context};
use crate::model::EnrollmentProof;
use crate::oidc::authz_request::AuthRequest;
use crate::state::{AppState, TenantCtx};
use crate::store::clients::Client;
use crate::store::transactions;
use crate::store::{self, consents};
use crate::web::cookies;
use crate::web::{Or500, PageError, PageResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Identify + password on one form.
    Credentials,
    /// Enter a code from an enrolled factor (or a recovery code).
    Mfa,
    /// Prove the account's mailbox before enrolling a factor at sign-in.
    EnrolProof,
    /// Set up an authenticator app.
    Enrol,
    /// Show freshly issued recovery codes once.
    RecoveryCodes,
    /// The user has authenticated; the client needs their consent.
    Consent,
    /// "Check your inbox": the registration's link or code verifies the email.
    Verify,
    /// "Check your inbox": the reset's link or code proves the mailbox.
    ResetSent,
    /// Choosing a new password (after a reset, or when an admin demands one).
    NewPassword,
}

pub const ALL_STAGES: &[Stage] = &[
    Stage::Credentials,
    Stage::Mfa,
    Stage::EnrolProof,
    Stage::Enrol,
    Stage::RecoveryCodes,
    Stage::Consent,
    Stage::Verify,
    Stage::ResetSent,
    Stage::NewPassword,
];

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Credentials => "credentials",
            Stage::Mfa => "mfa",
            Stage::EnrolProof => "enrol_proof",
            Stage::Enrol => "enrol",
            Stage::RecoveryCodes => "recovery_codes",
            Stage::Consent => "consent",
            Stage::Verify => "verify_email",
            Stage::ResetSent => "reset_sent",
            Stage::NewPassword => "new_password",
        }
    }
    pub fn parse(s: &str) -> Option<Stage> {
        ALL_STAGES.iter().copied().find(|st| st.as_str() == s)
    }
    /// The hosted page that serves this stage.
    pub fn path(self) -> &'static str {
        match self {
            Stage::Credentials => "login",
            Stage::Mfa => "mfa",
            Stage::EnrolProof => "enrol/verify-email",
            Stage::Enrol => "enrol",
            Stage::RecoveryCodes => "recovery-codes",
            Stage::Consent => "consent",
            Stage::Verify => "register/verify",
            Stage::ResetSent => "reset/verify",
            Stage::NewPassword => "password",
        }
    }
}

pub use super::tx::{
    At, NewPasswordWhy, Notice, Offer, Tx, TxState, go, load, redirect_to_stage, save, shift,
};

/// Consent is needed for clients that are not first-party unless the user already granted every
/// requested scope; `prompt=consent` always asks.
async fn needs_consent(
    state: &AppState,
    client: &Client,
    req: &AuthRequest,
    user_id: &UserId,
) -> Result<bool, store::StoreError> {
    if req.has_prompt("consent") {
        return Ok(true);
    }
    if client.first_party {
        return Ok(false);
    }
    let granted = consents::granted(&state.db, user_id, &client.id).await?;
    Ok(!req.scope.iter().all(|s| granted.iter().any(|g| g == s)))
}

/// Where an MFA decision sends the interaction: a stage (with its scratch state), on to consent
/// and finish (`Ok(None)`), or back to the client with an error.
fn stage_for(
    tenant: &crate::store::tenants::Tenant,
    decision: &Decision,
    extra: &mut TxState,
) -> Result<Option<Stage>, (&'static str, String)> {
    match decision {
        // The claims come from what was proven, at finish; a device vouching is part of that.
        Decision::Pass { device_vouched, .. } => {
            extra.proven.device_vouched |= *device_vouched;
            Ok(None)
        }
        Decision::Challenge {
            methods,
            phishing_resistant,
            ..
        } => {
            extra.at = At::Mfa {
                methods: methods.clone(),
                phishing_resistant: *phishing_resistant,
            };
            Ok(Some(Stage::Mfa))
        }
        Decision::Enrol {
            skippable, methods, ..
        } => {
            let offer = Offer {
                methods: methods.clone(),
                skippable: *skippable,
            };
            // A required enrolment proves the mailbox first (the enrolment hole). An offered one
            // shows the set-up with Skip first; the proof comes when the user chooses Enable.
            extra.at = if tenant.mfa_enrollment_proof == EnrollmentProof::Email
                && !extra.proof_done
                && !*skippable
            {
                At::EnrolProof {
                    offer,
                    confirmed: None,
                    resume: None,
                }
            } else {
                At::Enrol {
                    offer,
                    pending: None,
                }
            };
            Ok(Some(extra.at.stage()))
        }
        Decision::Deny { error, reason } => Err((error, reason.clone())),
    }
}

/// Sends an error to the client and drops the transaction.
pub async fn deny(
    state: &AppState,
    ctx: &TenantCtx,
    tx: &Tx,
    error: &'static str,
    description: &str,
) -> PageResult {
    if tx.unsaved.is_none() {
        transactions::delete(&state.db, &tx.row.id)
            .await
            .or_500(state, ctx)?;
    }
    Ok(crate::oidc::response::send(
        &state.templates,
        &ctx.tenant,
        &ctx.issuer,
        &tx.req.redirect_uri,
        tx.req.response_mode,
        vec![
            ("error", Some(error.to_owned())),
            ("error_description", Some(description.to_owned())),
            ("state", tx.req.state.clone()),
        ],
    ))
}

/// What just happened in the interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The password was verified, or an SSO session continues and may need more (step-up).
    Authenticated,
    /// The user chose Skip on an offered enrolment.
    Skipped,
    /// A second factor was verified, or set up and bound.
    FactorVerified,
    /// The recovery codes on show were noted down.
    CodesSeen,
    /// The user allowed the client.
    Consented,
    /// A password reset's link or code proved the mailbox of the transaction's user.
    MailboxProven,
    /// A new password was set in this interaction.
    PasswordSet,
}

/// The one way an interaction moves on: the MFA decision after authentication or Skip (the
/// only caller of `mfa::service::decide` in the login), consent, and finish, each from here.
pub async fn advance(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    ip: Option<String>,
    tx: Tx,
    client: &Client,
    event: Event,
) -> PageResult {
    match event {
        Event::Authenticated | Event::Skipped => {
            after_authentication(state, ctx, headers, ip, tx, client).await
        }
        Event::FactorVerified | Event::CodesSeen => {
            proceed(state, ctx, headers, ip, tx, client).await
        }
        Event::Consented => finish_tx(state, ctx, headers, ip, tx, client).await,
        Event::MailboxProven => super::reset::begin(state, ctx, tx).await,
        Event::PasswordSet if tx.extra.reset => super::reset::done(state, ctx, tx).await,
        Event::PasswordSet => proceed(state, ctx, headers, ip, tx, client).await,
    }
}

/// The MFA decision for this browser (its trusted-device cookie) and context: the one call of
/// `mfa::service::decide` outside `gatehouse explain`.
async fn decide(
    state: &AppState,
    headers: &HeaderMap,
    c: Context<'_>,
) -> Result<Decision, store::StoreError> {
    let device = cookies::device_token(headers);
    mfa::decide(&state.mfa_deps(), device.as_deref(), c).await
}

/// Whether an SSO session already satisfies `client` for a plain sign-in with no request
/// parameters, as [`advance`] would decide it (the account pages ask before letting a visitor
/// in, and send them through the login otherwise). Skip counts as chosen: an offered enrolment
/// does not keep anyone out.
pub async fn session_passes(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    client: &Client,
    session: &store::sessions::SsoSession,
) -> Result<bool, store::StoreError> {
    let req = AuthRequest::plain(&client.id);
    let decision = decide(
        state,
        headers,
        Context {
            tenant: &ctx.tenant,
            client,
            req: &req,
            user_id: &session.user_id,
            session_mfa_time: session.mfa_time,
            session_phishing_resistant: session.acr == "phr",
            enrolment_skipped: true,
            registered: false,
        },
    )
    .await?;
    Ok(matches!(decision, Decision::Pass { .. }))
}

/// The user has authenticated in this transaction (password, or a continued SSO session
/// needing more). Runs the MFA decision and moves to the stage it asks for, or on to consent
/// and finish.
async fn after_authentication(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    ip: Option<String>,
    mut tx: Tx,
    client: &Client,
) -> PageResult {
    let Some(user_id) = tx.row.user_id.clone() else {
        return Err(PageError::expired(state, ctx, None));
    };
    // A step-up continues a session: what it already proved counts. A fresh login proves again.
    let session = match (&tx.row.auth_time, &tx.extra.session_id) {
        (None, Some(id)) => store::sessions::find_by_id(&state.db, &ctx.tenant.id, id)
            .await
            .or_500(state, ctx)?,
        _ => None,
    };
    // What this interaction proved already counts too: a passkey with user verification is
    // multi-factor on its own (DESIGN.md §6).
    let here = tx.proven();
    let (session_mfa_time, session_phishing_resistant) = match here.mfa_time() {
        Some(t) => (Some(t), here.has_webauthn()),
        None => (
            session.as_ref().and_then(|s| s.mfa_time),
            session.is_some_and(|s| s.acr == "phr"),
        ),
    };
    let decision = decide(
        state,
        headers,
        Context {
            tenant: &ctx.tenant,
            client,
            req: &tx.req,
            user_id: &user_id,
            session_mfa_time,
            session_phishing_resistant,
            enrolment_skipped: tx.extra.skipped,
            registered: tx.registered_user(),
        },
    )
    .await
    .or_500(state, ctx)?;
    tracing::info!(outcome = ?std::mem::discriminant(&decision), reason = decision.reason(), "mfa decision");
    store::audit::record(
        &state.db,
        store::audit::NewEvent {
            tenant_id: Some(&ctx.tenant.id),
            user_id: Some(&user_id),
            actor: "system",
            event: "login.mfa_decision",
            detail: serde_json::json!({
                "decision": decision,
                "client_id": client.id,
                "user_agent": headers
                    .get(axum::http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
            }),
            ip: ip.as_deref(),
        },
    )
    .await
    .or_500(state, ctx)?;
    match stage_for(&ctx.tenant, &decision, &mut tx.extra) {
        Err((error, reason)) => deny(state, ctx, &tx, error, &reason).await,
        // OIDC Core §3.1.2.6: prompt=none may not show the MFA pages.
        Ok(Some(_)) if tx.req.has_prompt("none") => {
            let why = "a second factor is required: the user must interact";
            deny(state, ctx, &tx, "interaction_required", why).await
        }
        Ok(Some(_)) => {
            let at = tx.extra.at.clone();
            go(state, ctx, tx, at).await
        }
        Ok(None) => proceed(state, ctx, headers, ip, tx, client).await,
    }
}

/// Authentication is complete: ask for consent if needed, else finish.
async fn proceed(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    ip: Option<String>,
    tx: Tx,
    client: &Client,
) -> PageResult {
    let Some(user_id) = tx.row.user_id.clone() else {
        return Err(PageError::expired(state, ctx, None));
    };
    // A reset proved a factor to set a password, not to sign in.
    if tx.extra.reset {
        let at = At::NewPassword {
            why: NewPasswordWhy::Reset,
        };
        return go(state, ctx, tx, at).await;
    }
    let user = store::users::get(&state.db, &ctx.tenant.id, &user_id)
        .await
        .or_500(state, ctx)?;
    if user.password_change_required {
        if tx.req.has_prompt("none") {
            let why = "the user must choose a new password";
            return deny(state, ctx, &tx, "interaction_required", why).await;
        }
        let at = At::NewPassword {
            why: NewPasswordWhy::Required,
        };
        return go(state, ctx, tx, at).await;
    }
    let consent = needs_consent(state, client, &tx.req, &user_id)
        .await
        .or_500(state, ctx)?;
    if consent && tx.req.has_prompt("none") {
        let why = "the user has not consented to this client";
        return deny(state, ctx, &tx, "consent_required", why).await;
    }
    if consent {
        return go(state, ctx, tx, At::Consent).await;
    }
    finish_tx(state, ctx, headers, ip, tx, client).await
}

/// Ends the transaction (once: a second concurrent finish sees it gone) and answers the client.
async fn finish_tx(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    ip: Option<String>,
    tx: Tx,
    client: &Client,
) -> PageResult {
    // A reset never ends in a session or a code (see `reset_done`).
    if tx.extra.reset {
        return Err(PageError::expired(state, ctx, tx.back_url().as_deref()));
    }
    let removed = tx.unsaved.is_some()
        || transactions::delete(&state.db, &tx.row.id)
            .await
            .or_500(state, ctx)?;
    if !removed {
        return Err(PageError::expired(state, ctx, tx.back_url().as_deref()));
    }
    let Some(user_id) = tx.row.user_id.as_ref() else {
        return Err(PageError::expired(state, ctx, tx.back_url().as_deref()));
    };
    let session = match (tx.row.auth_time, &tx.extra.session_id) {
        (Some(_), _) => SessionChoice::New,
        (None, Some(id)) => SessionChoice::Existing(id.clone()),
        (None, None) => return Err(PageError::expired(state, ctx, tx.back_url().as_deref())),
    };
    finish::complete(
        state,
        ctx,
        headers,
        ip,
        Completion {
            req: &tx.req,
            client,
            user_id,
            auth_time: tx.row.auth_time,
            proven: tx.proven(),
            session,
        },
    )
    .await
}
