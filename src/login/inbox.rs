//! What registration and reset share: the "Check your inbox" stage (a code field, Send again,
//! Back to sign in), the mail's link (a page that asks "Continue?" before the link is used, so
//! a mail scanner that follows links spends nothing), and the per-network budget of the forms
//! that send mail.
//!
//! Either page may be about an address without an account (registration: one that had an
//! account already; reset: one that has none). Such a page looks and answers the same: a code
//! is "wrong" until the transaction's guesses run out, and Send again is throttled alike.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::flow::{self, At, Stage, Tx, TxState};
use crate::lifecycle::MailLink;
use crate::model::now;
use crate::otp::Checked;
use crate::state::{AppState, TenantCtx};
use crate::store::clients::Client;
use crate::store::rate_limits::{self, Limit, Reservation};
use crate::store::users::User;
use crate::store::{self, transactions};
use crate::web::browser::Browser;
use crate::web::client_ip;
use crate::web::pages::Base;
use crate::web::say::Say;
use crate::web::{FormFields, Or500, PageError, PageResult};
use std::sync::Arc;

/// One of the two mails with a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Registration,
    Reset,
}

impl Kind {
    fn stage(self) -> Stage {
        match self {
            Kind::Registration => Stage::Verify,
            Kind::Reset => Stage::ResetSent,
        }
    }
    pub fn purpose(self) -> crate::otp::Purpose {
        match self {
            Kind::Registration => crate::otp::Purpose::Registration,
            Kind::Reset => crate::otp::Purpose::PasswordReset,
        }
    }
    /// The page the mail's link opens.
    fn confirm_path(self) -> &'static str {
        match self {
            Kind::Registration => "register/confirm",
            Kind::Reset => "reset/confirm",
        }
    }
}

/// The link and throttle scope of a mail sent for this transaction, from this network.
pub fn mail_link(ctx: &TenantCtx, tx: &Tx, kind: Kind, ip: std::net::IpAddr) -> MailLink {
    MailLink {
        page: format!("{}/{}", ctx.issuer, kind.confirm_path()),
        context: serde_json::to_string(&tx.req).unwrap_or_default(),
        ip: client_ip::limit_key(ip),
        scope: tx.row.id.clone(),
    }
}

/// Reserves one mail-sending form on the client's network (`login.mail_forms_per_ip_per_hour`),
/// before anything is looked up or hashed: the 429 page when the budget is spent.
pub async fn reserve_form(
    state: &AppState,
    ctx: &TenantCtx,
    ip: std::net::IpAddr,
    back: Option<&str>,
) -> Result<(), PageError> {
    let limit = Limit {
        max_failures: state.config.login.mail_forms_per_ip_per_hour,
        window_secs: 3600,
        lockout_secs: 3600,
    };
    let key = format!("mailform:ip:{}", client_ip::limit_key(ip));
    let ts = now();
    let reserved = rate_limits::reserve(&state.db, &key, limit, ts)
        .await
        .or_500(state, ctx)?;
    if let Reservation::Refused { until } = reserved {
        let mut res = PageError::page(
            state,
            ctx,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "Too many requests came from your network. Please wait a while and try again.",
            back,
        )
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&(until - ts).max(1).to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Err(res.into());
    }
    Ok(())
}

/// The transaction at this inbox stage, its client, the address the mail went to, and the
/// user the code is for (None: an address without an account).
pub struct AtInbox {
    pub tx: Tx,
    pub browser: Browser,
    pub client: Arc<Client>,
    pub address: String,
    pub user: Option<User>,
}

/// Loads the transaction at `kind`'s inbox stage (one at another stage redirects there).
pub async fn load(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    handle: Option<&str>,
    kind: Kind,
) -> Result<AtInbox, PageError> {
    let (tx, browser) = flow::load(state, ctx, headers, handle).await?;
    match tx.stage() {
        Some(s) if s == kind.stage() => {}
        Some(other) => return Err(flow::redirect_to_stage(ctx, other, &tx.handle).into()),
        None => return Err(PageError::expired(state, ctx, tx.back_url().as_deref())),
    }
    let client = super::tx::client_of(state, ctx, &tx).await?;
    let (address, user_id) = match &tx.extra.at {
        At::Verify { address } => (address.clone(), tx.row.user_id.clone()),
        At::ResetSent {
            address,
            reset_user,
        } => (address.clone(), reset_user.clone()),
        _ => return Err(PageError::expired(state, ctx, tx.back_url().as_deref())),
    };
    let user = match user_id {
        Some(id) => store::users::find_by_id(&state.db, &ctx.tenant.id, &id)
            .await
            .or_500(state, ctx)?,
        None => None,
    };
    Ok(AtInbox {
        tx,
        browser,
        client,
        address,
        user,
    })
}

#[derive(Serialize)]
struct InboxPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    intro: &'a str,
    address: &'a str,
    ttl_minutes: i64,
    path: &'a str,
    tx: &'a str,
    csrf: String,
    notice: Option<&'a str>,
    error: Option<&'a str>,
    minutes: i64,
}

pub fn render(state: &AppState, ctx: &TenantCtx, at: &AtInbox, kind: Kind, say: Say) -> Response {
    // A registration's page after a sign-in attempt (the password was right, the email not
    // verified yet) says why it is shown.
    let (title, intro) = match kind {
        Kind::Registration if at.tx.row.auth_time.is_some() => (
            "Verify your email address",
            "Your account is not verified yet. Open the link in the email we sent to {email}, or \
             enter its code here. Select Send again for a new one.",
        ),
        Kind::Registration => (
            "Check your inbox",
            "We sent an email to {email} with a link and a 6-digit code. Open the link, or enter \
             the code here. Both work for {minutes} minutes.",
        ),
        Kind::Reset => (
            "Check your inbox",
            "If an account exists for {email}, we sent it an email with a link and a 6-digit \
             code. Open the link, or enter the code here. Both work for {minutes} minutes.",
        ),
    };
    state.templates.page(
        say.status.unwrap_or(StatusCode::OK),
        &ctx.tenant.theme,
        "check_inbox.html",
        InboxPage {
            base: Base::new(&ctx.tenant),
            title,
            intro,
            address: &at.address,
            ttl_minutes: state.config.otp.link_ttl_secs / 60,
            path: kind.stage().path(),
            tx: &at.tx.handle,
            csrf: at.browser.csrf_token(&state.secret),
            notice: say.notice,
            error: say.error,
            minutes: say.minutes,
        },
    )
}

/// A code typed for an address without an account: wrong, until the transaction has had as
/// many guesses as a real code allows; then "too many wrong codes", as for a real one.
pub async fn decoy_check(state: &AppState, tx: &Tx) -> store::StoreResult<Checked> {
    let attempts = transactions::add_attempt(&state.db, &tx.row.id).await?;
    let max = state.config.otp.max_attempts_per_code;
    Ok(Checked::Wrong {
        remaining: (max - attempts).max(0),
    })
}

/// "Back to sign in": the interaction returns to the sign-in form, forgetting the address.
pub async fn back_to_sign_in(state: &AppState, ctx: &TenantCtx, mut tx: Tx) -> PageResult {
    tx.row.user_id = None;
    tx.row.auth_time = None;
    tx.row.amr = "[]".into();
    tx.extra = TxState::default();
    flow::go(state, ctx, tx, At::Credentials).await
}

/// The form's CSRF token, checked once the transaction is found (see `login::tx_form`).
pub fn check_csrf(
    state: &AppState,
    ctx: &TenantCtx,
    at: &AtInbox,
    form: &FormFields,
) -> Result<(), PageError> {
    if form.csrf_ok(state, &at.browser) {
        Ok(())
    } else {
        Err(PageError::expired(state, ctx, at.tx.back_url().as_deref()))
    }
}

#[derive(Serialize)]
struct ConfirmPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    text: &'a str,
    path: &'a str,
    token: &'a str,
    csrf: String,
}

fn link_dead(state: &AppState, ctx: &TenantCtx) -> PageError {
    PageError::page(
        state,
        ctx,
        StatusCode::GONE,
        "This link has expired",
        "This link has expired or was already used. Go back to the application and start \
         again.",
        None,
    )
}

/// Which mail's link a route serves (the one `GET` handler [`confirm_page`] serves both).
pub trait LinkOf {
    const KIND: Kind;
}
pub struct RegistrationLink;
impl LinkOf for RegistrationLink {
    const KIND: Kind = Kind::Registration;
}
pub struct ResetLink;
impl LinkOf for ResetLink {
    const KIND: Kind = Kind::Reset;
}

/// `GET` of the mail's link: a page with one button, so that only a person (not a scanner
/// that fetches links) spends the link. A dead link says so at once.
pub async fn confirm_page<L: LinkOf>(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let (state, ctx, kind) = (&state, &ctx, L::KIND);
    let token = q.get("token").map(String::as_str).unwrap_or("");
    let codes = crate::otp::Codes::new(state);
    let live = !token.is_empty()
        && codes
            .link_is_live(kind.purpose(), token, now())
            .await
            .or_500(state, ctx)?;
    if !live {
        return Err(link_dead(state, ctx));
    }
    let browser = Browser::from_headers(&headers);
    let (title, text) = match kind {
        Kind::Registration => (
            "Confirm your email address",
            "Select Continue to confirm your email address.",
        ),
        Kind::Reset => (
            "Reset your password",
            "Select Continue to choose a new password.",
        ),
    };
    let mut res = state.templates.page(
        StatusCode::OK,
        &ctx.tenant.theme,
        "link_confirm.html",
        ConfirmPage {
            base: Base::new(&ctx.tenant),
            title,
            text,
            path: kind.confirm_path(),
            token,
            csrf: browser.csrf_token(&state.secret),
        },
    );
    if browser.is_new {
        res.headers_mut()
            .append(header::SET_COOKIE, browser.cookie(state.is_https()));
    }
    Ok(res)
}

/// The link was followed and confirmed: its code is spent, and the sign-in it was sent from
/// starts again in *this* browser (which may be another device) for the link's user.
pub struct Redeemed {
    pub tx: Tx,
    pub client: Arc<Client>,
    pub user: User,
}

/// `POST` of the confirm page: spends the link (once, whatever races it) and begins a new
/// interaction in this browser for the same authorization request.
pub async fn redeem(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    ip: std::net::IpAddr,
    form: &FormFields,
    kind: Kind,
) -> Result<Redeemed, PageError> {
    let browser = Browser::existing(headers)
        .filter(|b| form.csrf_ok(state, b))
        .ok_or_else(|| PageError::expired(state, ctx, None))?;
    let codes = crate::otp::Codes::new(state);
    let challenge = codes
        .redeem_link(kind.purpose(), form.get("token"), now())
        .await
        .or_500(state, ctx)?
        .filter(|c| c.tenant_id == ctx.tenant.id)
        .ok_or_else(|| link_dead(state, ctx))?;
    let req: crate::oidc::authz_request::AuthRequest = challenge
        .context
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .ok_or_else(|| link_dead(state, ctx))?;
    let client = state
        .client(&ctx.tenant.id, &req.client_id)
        .await
        .or_500(state, ctx)?
        .ok_or_else(|| link_dead(state, ctx))?;
    let user = store::users::find_by_id(&state.db, &ctx.tenant.id, &challenge.user_id)
        .await
        .or_500(state, ctx)?
        .ok_or_else(|| link_dead(state, ctx))?;
    // Whatever comes next ends at the sign-in form, which then knows whom to expect.
    let mut req = req;
    req.login_hint = Some(user.email.clone());
    let tx = Tx::begin(state, ctx, &browser, &req, ip, None, TxState::default());
    Ok(Redeemed { tx, client, user })
}
