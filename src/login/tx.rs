//! The login transaction: where an interaction is ([`At`], one typed value carrying each
//! stage's data), stored as a row bound to the browser that started it, loaded, and moved from
//! stage to stage once ([`go`]: a conditional UPDATE on the stage it is at, so a replayed or
//! out-of-order form changes nothing). A transaction continuing an SSO session starts in memory
//! and is stored only if the interaction needs a page.

use crate::ids::UserId;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::flow::Stage;
use crate::crypto::random;
use crate::mfa::factor::Confirmed;
use crate::mfa::proven::{self, Method, Proven};
use crate::model::{MfaMethod, TrustPolicy, now};
use crate::oidc::authz_request::AuthRequest;
use crate::state::{AppState, TenantCtx};
use crate::store::clients::Client;
use crate::store::transactions::{self, LoginTransaction};
use crate::store::users::User;
use crate::store::{self, rate_limits, sessions};
use crate::web::browser::Browser;
use crate::web::client_ip;
use crate::web::pages;
use crate::web::{Or500, PageError, PageResult};
use std::sync::Arc;

/// What an enrolment offers: the methods (the tenant's allowed ones this build can set up) and
/// whether it may be skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub methods: Vec<MfaMethod>,
    pub skippable: bool,
}

/// A set-up interrupted by the enrolment proof: the sealed enrolment and the number the user
/// asked a code for, so the code goes there once the mailbox is proven and nothing is typed
/// or chosen again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    pub pending: String,
    pub address: String,
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
        /// Only a security key or passkey answers (no recovery code): the client's or the
        /// request's essential `phr`.
        #[serde(default)]
        phishing_resistant: bool,
    },
    /// Proving the mailbox before a first factor is bound; `confirmed`: a factor whose first
    /// code was already checked, bound once the proof succeeds.
    EnrolProof {
        offer: Offer,
        confirmed: Option<Confirmed>,
        /// A text set-up whose "Send code" waited for the proof: resumed once it succeeds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<Resume>,
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
    /// Waiting for the registration's link or code, sent to `address` (the user is the
    /// transaction's; none when the address had an account already, which got a notice).
    Verify {
        address: String,
    },
    /// Waiting for the reset's link or code, sent to `address` (when it has an account: the
    /// user is in `reset_user`, not the transaction's user, until the mailbox is proven).
    ResetSent {
        address: String,
        reset_user: Option<UserId>,
    },
    NewPassword {
        why: NewPasswordWhy,
    },
}

/// A line the sign-in page shows once, saying what just happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    PasswordChanged,
    EmailVerified,
    /// A passkey was used without user verification: one factor, the password completes it.
    PasskeyNeedsPassword,
}

impl Notice {
    pub fn text(self) -> &'static str {
        match self {
            Notice::PasswordChanged => {
                "Your password has been changed. Sign in with your new password."
            }
            Notice::EmailVerified => "Your email address is verified. Sign in to continue.",
            Notice::PasskeyNeedsPassword => {
                "Your passkey was recognised, but it did not check your PIN or fingerprint. Enter your password to finish signing in."
            }
        }
    }
}

/// Why a new password is being chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NewPasswordWhy {
    /// A reset: the mailbox (and any second factor) is proven; the user signs in afterwards.
    Reset,
    /// An admin demands a new password; the sign-in continues once it is set.
    Required,
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
            At::Verify { .. } => Stage::Verify,
            At::ResetSent { .. } => Stage::ResetSent,
            At::NewPassword { .. } => Stage::NewPassword,
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
    /// The account this interaction registered (or whose email it verified): when that user
    /// signs in here, `registration.mfa_setup` applies, and the mailbox counts as proven.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered: Option<UserId>,
    /// This interaction is a password reset (the mailbox was proven): it ends on the sign-in
    /// page, never with a session or a code.
    #[serde(default)]
    pub reset: bool,
    /// What the next page says above its form (the sign-in after a reset, a verified email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
    /// The user signed in with a passkey, not a password: `auth_time` proves no password.
    #[serde(default)]
    pub passwordless: bool,
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
    /// Not stored yet: the address it came from, which its first move counts against.
    pub unsaved: Option<std::net::IpAddr>,
}

impl Tx {
    /// This interaction registered the account now signing in (see [`TxState::registered`]).
    pub fn registered_user(&self) -> bool {
        self.extra.registered.is_some() && self.extra.registered == self.row.user_id
    }

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
            Some(t) if !self.extra.passwordless => Proven::password(t),
            _ => Proven::default(),
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

impl Tx {
    /// A new interaction for `req` in this browser, not stored until it needs a page (a
    /// continued SSO session that passes is answered without a row). `user_id`: the session's
    /// user, when one continues.
    pub fn begin(
        state: &AppState,
        ctx: &TenantCtx,
        browser: &Browser,
        req: &AuthRequest,
        client_ip: std::net::IpAddr,
        user_id: Option<&UserId>,
        extra: TxState,
    ) -> Tx {
        let handle = random::token(32);
        let ts = now();
        let row = LoginTransaction {
            id: random::sha256_hex(&handle),
            tenant_id: ctx.tenant.id.clone(),
            client_id: req.client_id.clone(),
            browser_hash: browser.hash(),
            request: serde_json::to_string(req).unwrap_or_default(),
            stage: extra.at.stage().as_str().into(),
            user_id: user_id.cloned(),
            auth_time: None,
            amr: "[]".into(),
            attempts: 0,
            state: String::new(),
            created_at: ts,
            expires_at: ts + state.config.login.transaction_ttl_secs,
        };
        Tx {
            row,
            req: req.clone(),
            handle,
            extra,
            unsaved: Some(client_ip),
        }
    }
}

/// Stores a new transaction, counting it against the client's network first: every
/// transaction is a stored row, so one address may start only `login.max_transactions_per_ip`
/// of them per `login.transaction_window_secs` (the attempt that reaches the limit locks the
/// key for one more window). Counted before the insert, atomically, so a burst cannot overshoot.
async fn store_new(
    state: &AppState,
    ctx: &TenantCtx,
    client_ip: std::net::IpAddr,
    tx: &Tx,
) -> Result<(), PageError> {
    let cfg = &state.config.login;
    let limit = rate_limits::Limit {
        max_failures: cfg.max_transactions_per_ip,
        window_secs: cfg.transaction_window_secs,
        lockout_secs: cfg.transaction_window_secs,
    };
    let key = format!("authz:ip:{}", client_ip::limit_key(client_ip));
    let ts = now();
    let reservation = rate_limits::reserve(&state.db, &key, limit, ts)
        .await
        .or_500(state, ctx)?;
    if let rate_limits::Reservation::Refused { until } = reservation {
        let mut res = PageError::page(
            state,
            ctx,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-in attempts",
            "Too many sign-in attempts started from your network. Please wait a few minutes and \
             try again.",
            pages::app_home(&tx.req.redirect_uri).as_deref(),
        )
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&(until - ts).max(1).to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Err(res.into());
    }
    transactions::create(&state.db, &tx.row)
        .await
        .or_500(state, ctx)
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
) -> Result<(Tx, Browser), PageError> {
    let expired = || PageError::expired(state, ctx, None);
    let handle = handle.filter(|h| !h.is_empty()).ok_or_else(expired)?;
    let row = transactions::find(&state.db, &ctx.tenant.id, &random::sha256_hex(handle))
        .await
        .or_500(state, ctx)?
        .ok_or_else(expired)?;
    let req: AuthRequest = serde_json::from_str(&row.request).map_err(|_| expired())?;
    let back = pages::app_home(&req.redirect_uri);
    let browser = Browser::existing(headers)
        .filter(|b| b.hash() == row.browser_hash)
        .ok_or_else(|| PageError::expired(state, ctx, back.as_deref()))?;
    if row.expires_at <= now() {
        return Err(PageError::expired(state, ctx, back.as_deref()));
    }
    let extra = serde_json::from_str(&row.state).unwrap_or_default();
    Ok((
        Tx {
            row,
            req,
            handle: handle.to_owned(),
            extra,
            unsaved: None,
        },
        browser,
    ))
}

/// Saves the stage's data, staying at its stage (false: the transaction moved meanwhile).
pub async fn save(state: &AppState, tx: &mut Tx) -> Result<bool, store::StoreError> {
    tx.row.state = serde_json::to_string(&tx.extra).unwrap_or_else(|_| "{}".into());
    let stage = tx.extra.at.stage().as_str();
    transactions::advance(&state.db, &tx.row, stage, stage).await
}

/// Moves the transaction from the stage it is at to `at` (with its data), once: a concurrent
/// or replayed request that moved it first leaves this one on the "expired" page. A
/// transaction not stored yet is stored at `at`.
pub async fn go(state: &AppState, ctx: &TenantCtx, mut tx: Tx, at: At) -> PageResult {
    let from = tx.row.stage.clone();
    let to = at.stage();
    tx.extra.at = at;
    tx.row.state = serde_json::to_string(&tx.extra).unwrap_or_else(|_| "{}".into());
    if let Some(client_ip) = tx.unsaved {
        tx.row.stage = to.as_str().into();
        store_new(state, ctx, client_ip, &tx).await?;
        return Ok(redirect_to_stage(ctx, to, &tx.handle));
    }
    if !moved_from(state, &mut tx, &from).await.or_500(state, ctx)? {
        return Err(PageError::expired(state, ctx, tx.back_url().as_deref()));
    }
    Ok(redirect_to_stage(ctx, to, &tx.handle))
}

/// Moves a stored transaction to `at` for a caller that answers with that stage's page
/// itself (no redirect); false when a concurrent or replayed request moved it first.
pub async fn shift(state: &AppState, tx: &mut Tx, at: At) -> Result<bool, store::StoreError> {
    let from = tx.row.stage.clone();
    tx.extra.at = at;
    tx.row.state = serde_json::to_string(&tx.extra).unwrap_or_else(|_| "{}".into());
    moved_from(state, tx, &from).await
}

async fn moved_from(state: &AppState, tx: &mut Tx, from: &str) -> Result<bool, store::StoreError> {
    let to = tx.extra.at.stage().as_str();
    let moved = transactions::advance(&state.db, &tx.row, from, to).await?;
    if moved {
        tx.row.stage = to.into();
    }
    Ok(moved)
}

/// The client the transaction is for; one deleted since the sign-in began is the expired page.
pub async fn client_of(
    state: &AppState,
    ctx: &TenantCtx,
    tx: &Tx,
) -> Result<Arc<Client>, PageError> {
    state
        .client(&ctx.tenant.id, &tx.req.client_id)
        .await
        .or_500(state, ctx)?
        .ok_or_else(|| PageError::expired(state, ctx, None))
}

/// Loads the transaction at `stage` with its client and user, or the page to show instead.
pub async fn load_at(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    handle: Option<&str>,
    stage: Stage,
) -> Result<(Tx, Browser, Arc<Client>, User), PageError> {
    let (tx, browser) = load(state, ctx, headers, handle).await?;
    match tx.stage() {
        Some(s) if s == stage => {}
        Some(other) => return Err(redirect_to_stage(ctx, other, &tx.handle).into()),
        None => return Err(PageError::expired(state, ctx, tx.back_url().as_deref())),
    }
    let client = client_of(state, ctx, &tx).await?;
    let expired = || PageError::expired(state, ctx, tx.back_url().as_deref());
    let user_id = tx.row.user_id.as_ref().ok_or_else(expired)?;
    let user = store::users::get(&state.db, &ctx.tenant.id, user_id)
        .await
        .map_err(|_| expired())?;
    Ok((tx, browser, client, user))
}

/// Records a verified second factor: on the transaction (a fresh login finishes with it), and
/// on the session for a step-up (which then finishes on that session).
pub async fn record_second_factor(
    state: &AppState,
    ctx: &TenantCtx,
    tx: &mut Tx,
    method: Method,
) -> Result<(), PageError> {
    let ts = now();
    tx.prove(method, ts);
    if tx.row.auth_time.is_some() {
        return Ok(());
    }
    if let Some(id) = &tx.extra.session_id {
        let s = sessions::find_by_id(&state.db, &ctx.tenant.id, id)
            .await
            .or_500(state, ctx)?
            .ok_or_else(|| PageError::expired(state, ctx, tx.back_url().as_deref()))?;
        let mut proven = s.proven();
        proven.add(method, ts);
        sessions::record_proof(&state.db, &s, &proven, ts)
            .await
            .or_500(state, ctx)?;
    }
    Ok(())
}
