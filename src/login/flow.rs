//! The login state machine. A transaction moves `credentials → [mfa] → consent → finished`;
//! each stage is a row state, each POST advances it once (guarded by `stage = from` in the
//! UPDATE, so a replayed form changes nothing).

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::finish::{self, Completion, SessionChoice};
use crate::crypto::random;
use crate::mfa::factor::Confirmed;
use crate::mfa::policy::Decision;
use crate::mfa::proven::{self, Method, Proven};
use crate::mfa::service::{self as mfa, Context};
use crate::model::{EnrollmentProof, MfaMethod, TrustPolicy, now};
use crate::oidc::authz_request::AuthRequest;
use crate::state::{AppState, TenantCtx};
use crate::store::clients::Client;
use crate::store::transactions::{self, LoginTransaction};
use crate::store::{self, consents};
use crate::web::browser::Browser;
use crate::web::cookies;
use crate::web::pages::{self, server_error};

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
}

pub const ALL_STAGES: &[Stage] = &[
    Stage::Credentials,
    Stage::Mfa,
    Stage::EnrolProof,
    Stage::Enrol,
    Stage::RecoveryCodes,
    Stage::Consent,
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
        }
    }
}

/// What an enrolment offers: the methods (the tenant's allowed ones this build can set up) and
/// whether it may be skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub methods: Vec<MfaMethod>,
    pub skippable: bool,
}

/// Where the interaction is, with what that stage needs and nothing else: one typed value
/// stored with the transaction (its `stage` column is [`At::stage`], which the conditional
/// UPDATE guards, so a replayed or out-of-order form changes nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum At {
    #[default]
    Credentials,
    /// Asking for one of these enrolled kinds (or a recovery code).
    Mfa {
        methods: Vec<MfaMethod>,
    },
    /// Proving the mailbox before a first factor is bound; `confirmed`: a factor whose first
    /// code was already checked, bound once the proof succeeds.
    EnrolProof {
        offer: Offer,
        confirmed: Option<Confirmed>,
    },
    /// Setting up a factor; `pending`: the set-up in progress (`mfa::enrolment`, sealed).
    Enrol {
        offer: Offer,
        pending: Option<String>,
    },
    /// Showing recovery codes once (sealed); `replacement`: a fresh code for a used one.
    RecoveryCodes {
        sealed: String,
        replacement: bool,
    },
    Consent,
}

impl At {
    pub fn stage(&self) -> Stage {
        match self {
            At::Credentials => Stage::Credentials,
            At::Mfa { .. } => Stage::Mfa,
            At::EnrolProof { .. } => Stage::EnrolProof,
            At::Enrol { .. } => Stage::Enrol,
            At::RecoveryCodes { .. } => Stage::RecoveryCodes,
            At::Consent => Stage::Consent,
        }
    }
}

/// State carried on the transaction across stages.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TxState {
    /// The SSO session this transaction continues when no new authentication happened.
    pub session_id: Option<String>,
    /// What this interaction proved after the password (a second factor, a trusted device
    /// vouching); see [`Tx::proven`].
    #[serde(default)]
    pub proven: Proven,
    /// The user chose Skip.
    #[serde(default)]
    pub skipped: bool,
    /// The mailbox was proven with a one-time code (enrolment hole, see `login::enrol`).
    #[serde(default)]
    pub proof_done: bool,
    /// The stage and its data. A transaction stored before this field existed reads as
    /// `Credentials` and so fails the stage check: that sign-in starts over.
    #[serde(default)]
    pub at: At,
}

/// A loaded transaction with its decoded request.
pub struct Tx {
    pub row: LoginTransaction,
    pub req: AuthRequest,
    pub handle: String,
    pub extra: TxState,
}

impl Tx {
    /// The stage the row is at; it names the stage of the typed data too (written together).
    pub fn stage(&self) -> Option<Stage> {
        Stage::parse(&self.row.stage).filter(|s| *s == self.extra.at.stage())
    }
    pub fn back_url(&self) -> Option<String> {
        pages::app_home(&self.req.redirect_uri)
    }
    /// What this interaction proved. The credentials step (`login::password`) records the
    /// password as the transaction's `auth_time` (its `amr` column says `["pwd"]`); everything
    /// proven after it is in `extra.proven`. A step-up (no `auth_time`) continues a session,
    /// which holds the rest.
    pub fn proven(&self) -> Proven {
        let mut p = match self.row.auth_time {
            Some(t) => Proven::password(t),
            None => Proven::default(),
        };
        p.merge(&self.extra.proven);
        p
    }

    /// Records a method proven at `at`; the stored `amr` column stays derived from it.
    pub fn prove(&mut self, method: Method, at: i64) {
        self.extra.proven.add(method, at);
        let (amr, _) = proven::claims(&self.proven(), TrustPolicy::None);
        self.row.amr = serde_json::to_string(&proven::amr_strings(&amr)).unwrap_or_default();
    }
}

/// Consent is needed for clients that are not first-party unless the user already granted every
/// requested scope; `prompt=consent` always asks.
pub async fn needs_consent(
    state: &AppState,
    client: &Client,
    req: &AuthRequest,
    user_id: &str,
) -> Result<bool, store::StoreError> {
    if req.has_prompt("consent") {
        return Ok(true);
    }
    if client.first_party {
        return Ok(false);
    }
    let granted = consents::granted(&state.db, user_id, &client.id).await?;
    Ok(!req.scope.iter().all(|s| granted.contains(s)))
}

/// Creates a transaction at `stage` bound to this browser and returns the redirect to its page.
pub async fn start(
    state: &AppState,
    ctx: &TenantCtx,
    browser: &Browser,
    req: &AuthRequest,
    stage: Stage,
    user_id: Option<&str>,
    extra: TxState,
) -> Result<Response, store::StoreError> {
    let handle = random::token(32);
    let ts = now();
    let mut extra = extra;
    // The stages without data are named by the caller; the others were set with their data.
    if matches!(stage, Stage::Credentials | Stage::Consent) {
        extra.at = if stage == Stage::Consent {
            At::Consent
        } else {
            At::Credentials
        };
    }
    let stage = extra.at.stage();
    let row = LoginTransaction {
        id: random::sha256_hex(&handle),
        tenant_id: ctx.tenant.id.clone(),
        client_id: req.client_id.clone(),
        browser_hash: browser.hash(),
        request: serde_json::to_string(req).unwrap_or_default(),
        stage: stage.as_str().into(),
        user_id: user_id.map(str::to_owned),
        auth_time: None,
        amr: "[]".into(),
        attempts: 0,
        state: serde_json::to_string(&extra).unwrap_or_else(|_| "{}".into()),
        created_at: ts,
        expires_at: ts + state.config.login.transaction_ttl_secs,
    };
    transactions::create(&state.db, &row).await?;
    Ok(redirect_to_stage(ctx, stage, &handle))
}

pub fn redirect_to_stage(ctx: &TenantCtx, stage: Stage, handle: &str) -> Response {
    Redirect::to(&format!(
        "/t/{}/{}?tx={}",
        ctx.tenant.slug,
        stage.path(),
        handle
    ))
    .into_response()
}

/// Loads the transaction named by `handle`, checking expiry and that this browser started it.
/// Every failure is the same friendly "expired" page (no detail for an attacker).
pub async fn load(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    handle: Option<&str>,
) -> Result<(Tx, Browser), Response> {
    let expired = || pages::expired(state, &ctx.tenant, None);
    let handle = handle.filter(|h| !h.is_empty()).ok_or_else(expired)?;
    let row = transactions::find(&state.db, &ctx.tenant.id, &random::sha256_hex(handle))
        .await
        .map_err(|e| server_error(state, ctx, e))?
        .ok_or_else(expired)?;
    let req: AuthRequest = serde_json::from_str(&row.request).map_err(|_| expired())?;
    let back = pages::app_home(&req.redirect_uri);
    let browser = Browser::existing(headers)
        .filter(|b| b.hash() == row.browser_hash)
        .ok_or_else(|| pages::expired(state, &ctx.tenant, back.as_deref()))?;
    if row.expires_at <= now() {
        return Err(pages::expired(state, &ctx.tenant, back.as_deref()));
    }
    let extra = serde_json::from_str(&row.state).unwrap_or_default();
    Ok((
        Tx {
            row,
            req,
            handle: handle.to_owned(),
            extra,
        },
        browser,
    ))
}

/// Where an MFA decision sends the interaction: a stage (with its scratch state), on to consent
/// and finish (`Ok(None)`), or back to the client with an error.
pub fn stage_for(
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
        Decision::Challenge { methods, .. } => {
            extra.at = At::Mfa {
                methods: methods.clone(),
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
) -> Result<Response, Response> {
    transactions::delete(&state.db, &tx.row.id)
        .await
        .map_err(|e| server_error(state, ctx, e))?;
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
) -> Result<Response, Response> {
    match event {
        Event::Authenticated | Event::Skipped => {
            after_authentication(state, ctx, headers, ip, tx, client).await
        }
        Event::FactorVerified | Event::CodesSeen => {
            proceed(state, ctx, headers, ip, tx, client).await
        }
        Event::Consented => finish_tx(state, ctx, headers, ip, tx, client).await,
    }
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
) -> Result<Response, Response> {
    let user_id = tx.row.user_id.clone().unwrap_or_default();
    // A step-up continues a session: what it already proved counts. A fresh login proves again.
    let session_mfa_time = match (&tx.row.auth_time, &tx.extra.session_id) {
        (None, Some(id)) => store::sessions::find_by_id(&state.db, &ctx.tenant.id, id)
            .await
            .map_err(|e| server_error(state, ctx, e))?
            .and_then(|s| s.mfa_time),
        _ => None,
    };
    let device = cookies::device_token(headers);
    let decision = mfa::decide(
        &state.mfa_deps(),
        device.as_deref(),
        Context {
            tenant: &ctx.tenant,
            client,
            req: &tx.req,
            user_id: &user_id,
            session_mfa_time,
            enrolment_skipped: tx.extra.skipped,
        },
    )
    .await
    .map_err(|e| server_error(state, ctx, e))?;
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
    .map_err(|e| server_error(state, ctx, e))?;
    match stage_for(&ctx.tenant, &decision, &mut tx.extra) {
        Err((error, reason)) => deny(state, ctx, &tx, error, &reason).await,
        Ok(Some(_)) => {
            let at = tx.extra.at.clone();
            go(state, ctx, tx, at).await
        }
        Ok(None) => proceed(state, ctx, headers, ip, tx, client).await,
    }
}

/// Saves the stage's data, staying at its stage (false: the transaction moved meanwhile).
pub async fn save(state: &AppState, tx: &mut Tx) -> Result<bool, store::StoreError> {
    tx.row.state = serde_json::to_string(&tx.extra).unwrap_or_else(|_| "{}".into());
    let stage = tx.extra.at.stage().as_str();
    transactions::advance(&state.db, &tx.row, stage, stage).await
}

/// Moves the transaction from the stage it is at to `at` (with its data), once: a concurrent
/// or replayed request that moved it first leaves this one on the "expired" page.
pub async fn go(
    state: &AppState,
    ctx: &TenantCtx,
    mut tx: Tx,
    at: At,
) -> Result<Response, Response> {
    let from = tx.row.stage.clone();
    let to = at.stage();
    tx.extra.at = at;
    tx.row.state = serde_json::to_string(&tx.extra).unwrap_or_else(|_| "{}".into());
    let moved = transactions::advance(&state.db, &tx.row, &from, to.as_str())
        .await
        .map_err(|e| server_error(state, ctx, e))?;
    if !moved {
        return Err(pages::expired(state, &ctx.tenant, tx.back_url().as_deref()));
    }
    Ok(redirect_to_stage(ctx, to, &tx.handle))
}

/// Authentication is complete: ask for consent if needed, else finish.
async fn proceed(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    ip: Option<String>,
    tx: Tx,
    client: &Client,
) -> Result<Response, Response> {
    let user_id = tx.row.user_id.clone().unwrap_or_default();
    let consent = needs_consent(state, client, &tx.req, &user_id)
        .await
        .map_err(|e| server_error(state, ctx, e))?;
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
) -> Result<Response, Response> {
    let removed = transactions::delete(&state.db, &tx.row.id)
        .await
        .map_err(|e| server_error(state, ctx, e))?;
    if !removed {
        return Err(pages::expired(state, &ctx.tenant, tx.back_url().as_deref()));
    }
    let session = match (tx.row.auth_time, &tx.extra.session_id) {
        (Some(_), _) => SessionChoice::New,
        (None, Some(id)) => SessionChoice::Existing(id.clone()),
        (None, None) => return Err(pages::expired(state, &ctx.tenant, tx.back_url().as_deref())),
    };
    finish::complete(
        state,
        ctx,
        headers,
        ip,
        Completion {
            req: &tx.req,
            client,
            user_id: tx.row.user_id.as_deref().unwrap_or_default(),
            auth_time: tx.row.auth_time,
            proven: tx.proven(),
            session,
        },
    )
    .await
}
