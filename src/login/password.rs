//! The credentials stage: email (or username) and password on one plain HTML form.
//! Wrong credentials get one generic message whether or not the account exists, and unknown
//! accounts cost the same argon2 time (a dummy hash), so neither the text nor the timing tells
//! an attacker which emails are registered. Every attempt is reserved on the account (the user,
//! or the submitted name when no account matches) and on the client IP (IPv6 per /64) *before*
//! argon2 runs; past a limit the key is locked for a while and a "try again later" page shows.
//! When every hasher is busy and the waiting line is full, the attempt is handed back and a
//! "busy, try again" page (503) answers instead of a longer queue.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;

use super::flow::{self, Stage};
use super::tx_form::TxForm;
use crate::crypto::password::PasswordError;
use crate::crypto::random;
use crate::mfa::proven::Proven;
use crate::mfa::webauthn::{self, Ceremony};
use crate::model::now;
use crate::state::{AppState, TenantCtx};
use crate::store::rate_limits::{self, Limit, Reservation};
use crate::store::transactions;
use crate::store::{self, StoreResult, users};
use crate::web::client_ip::{self, ClientIp};
use crate::web::csrf_form::AsFormExpired;
use crate::web::pages::Base;
use crate::web::{Or500, PageError, PageResult};

#[derive(Serialize)]
struct LoginPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    tx: &'a str,
    csrf: String,
    client_name: &'a str,
    login: &'a str,
    error: Option<&'a str>,
    /// What just happened (a reset finished, an email was verified), once.
    notice: Option<&'a str>,
    /// The tenant offers "Create an account".
    registration: bool,
    back_url: Option<String>,
    /// "Sign in with a passkey": its ceremony, where the tenant allows passwordless sign-in.
    passkey: Option<Ceremony>,
}

pub async fn show(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let (tx, browser) = flow::load(&state, &ctx, &headers, q.get("tx").map(String::as_str)).await?;
    match tx.stage() {
        Some(Stage::Credentials) => {}
        Some(other) => return Ok(flow::redirect_to_stage(&ctx, other, &tx.handle)),
        None => return Err(PageError::expired(&state, &ctx, tx.back_url().as_deref())),
    }
    let client = super::tx::client_of(&state, &ctx, &tx).await?;
    let login = tx.req.login_hint.clone().unwrap_or_default();
    let view = View {
        client_name: &client.name,
        login: &login,
        error: None,
    };
    render(&state, &ctx, &tx, &browser, view).await
}

/// What the sign-in form shows besides its fields: the client, the login typed, an error.
pub(super) struct View<'a> {
    pub client_name: &'a str,
    pub login: &'a str,
    pub error: Option<&'a str>,
}

/// The sign-in form; with `error`, shown again after a wrong guess (401). Where the tenant
/// allows passwordless sign-in it carries a fresh passkey ceremony.
pub(super) async fn render(
    state: &AppState,
    ctx: &TenantCtx,
    tx: &flow::Tx,
    browser: &crate::web::browser::Browser,
    view: View<'_>,
) -> PageResult {
    let View {
        client_name,
        login,
        error,
    } = view;
    let status = match error {
        Some(_) => StatusCode::UNAUTHORIZED,
        None => StatusCode::OK,
    };
    let passkey = if ctx.tenant.passkeys_passwordless {
        let id = webauthn::ceremony_id_for(&tx.row.id, None);
        let c = webauthn::start_assertion(&state.mfa_deps(), &ctx.tenant.id, None, &id)
            .await
            .or_500(state, ctx)?;
        Some(c)
    } else {
        None
    };
    Ok(state.templates.page(
        status,
        &ctx.tenant.theme,
        "login.html",
        LoginPage {
            base: Base::new(&ctx.tenant),
            title: "Sign in",
            tx: &tx.handle,
            csrf: browser.csrf_token(&state.secret),
            client_name,
            login,
            error,
            notice: tx.extra.notice.map(flow::Notice::text),
            registration: ctx.tenant.registration_enabled,
            back_url: tx.back_url(),
            passkey,
        },
    ))
}

pub(super) fn too_many(state: &AppState, ctx: &TenantCtx, back: Option<&str>) -> PageError {
    PageError::page(
        state,
        ctx,
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        "There have been too many unsuccessful sign-in attempts. For your security, please wait \
         15 minutes and try again.",
        back,
    )
}

/// "Account locked": told only to whoever proved they hold the account (the right password, a
/// passkey).
pub(super) fn locked(state: &AppState, ctx: &TenantCtx, back: Option<&str>) -> PageError {
    PageError::page(
        state,
        ctx,
        StatusCode::FORBIDDEN,
        "Account locked",
        "Your account is locked, so you can't sign in. Contact your administrator to unlock it.",
        back,
    )
}

/// The `[login]` limit with `max` failures (one window and lockout for every sign-in counter).
fn login_limit(state: &AppState, max: i64) -> Limit {
    let cfg = &state.config.login;
    Limit {
        max_failures: max,
        window_secs: cfg.failure_window_secs,
        lockout_secs: cfg.lockout_secs,
    }
}

/// The client network's sign-in counter: wrong passwords and refused passkeys spend it.
pub(super) fn ip_budget(state: &AppState, ip: std::net::IpAddr) -> (String, Limit) {
    (
        format!("pwd:ip:{}", client_ip::limit_key(ip)),
        login_limit(state, state.config.login.max_failures_per_ip),
    )
}

/// The two counters a password guess is reserved on before argon2 runs (`[login]` limits, one
/// window and lockout for both).
struct AttemptKeys {
    ip: String,
    account: String,
    ip_limit: Limit,
    account_limit: Limit,
}

impl AttemptKeys {
    fn new(
        state: &AppState,
        ctx: &TenantCtx,
        ip: std::net::IpAddr,
        login: &str,
        user_id: Option<&str>,
    ) -> Self {
        let account = match user_id {
            // One account, one budget: its email and its username share the counter.
            Some(id) => format!("pwd:user:{id}"),
            // Unknown names are counted (and locked) alike, so the lock reveals nothing; the key
            // hashes the name so the table holds no strangers' emails.
            None => format!(
                "pwd:login:{}:{}",
                ctx.tenant.id,
                random::sha256_hex(&users::normalize_email(login))
            ),
        };
        let (ip, ip_limit) = ip_budget(state, ip);
        AttemptKeys {
            ip,
            account,
            ip_limit,
            account_limit: login_limit(state, state.config.login.max_failures_per_account),
        }
    }

    /// Reserves this attempt on both counters before the password is checked, so a burst can
    /// never have more guesses evaluated than the limits allow. `Some(last)` when both granted
    /// (`last`: this attempt reached a limit, which is now locked unless it succeeds); `None`
    /// when either refused, with the other handed back. The IP goes first so that a locked
    /// address cannot touch any account's counter.
    async fn reserve(&self, state: &AppState) -> StoreResult<Option<bool>> {
        let ts = now();
        let Reservation::Granted { remaining: ip_left } =
            rate_limits::reserve(&state.db, &self.ip, self.ip_limit, ts).await?
        else {
            return Ok(None);
        };
        let Reservation::Granted {
            remaining: account_left,
        } = rate_limits::reserve(&state.db, &self.account, self.account_limit, ts).await?
        else {
            rate_limits::release(&state.db, &self.ip, self.ip_limit).await?;
            return Ok(None);
        };
        Ok(Some(ip_left == 0 || account_left == 0))
    }

    /// Hands both reservations back: the password was never evaluated.
    async fn release(&self, state: &AppState) -> StoreResult<()> {
        rate_limits::release(&state.db, &self.account, self.account_limit).await?;
        rate_limits::release(&state.db, &self.ip, self.ip_limit).await
    }

    /// The right password: the IP gets its attempt back, and the account's run of consecutive
    /// failures ends (NIST SP 800-63B §5.2.2 limits consecutive failed attempts).
    async fn succeeded(&self, state: &AppState) -> StoreResult<()> {
        rate_limits::release(&state.db, &self.ip, self.ip_limit).await?;
        rate_limits::clear(&state.db, &self.account).await
    }
}

/// A form posted on the sign-in page (the password, or a passkey): its transaction, which
/// must still be at the credentials stage, and the client it is for.
pub(super) struct Posted {
    pub tx: flow::Tx,
    pub browser: crate::web::browser::Browser,
    pub fields: crate::web::FormFields,
    pub client: std::sync::Arc<store::clients::Client>,
    pub back: Option<String>,
}

pub(super) async fn posted(
    state: &AppState,
    ctx: &TenantCtx,
    form: TxForm<AsFormExpired>,
) -> Result<Posted, PageError> {
    let TxForm {
        tx,
        browser,
        fields,
        ..
    } = form;
    let back = tx.back_url();
    if tx.stage() != Some(Stage::Credentials) {
        return Err(PageError::expired(state, ctx, back.as_deref()));
    }
    let client = super::tx::client_of(state, ctx, &tx).await?;
    Ok(Posted {
        tx,
        browser,
        fields,
        client,
        back,
    })
}

pub async fn submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    form: TxForm<AsFormExpired>,
) -> PageResult {
    let (state, ctx) = (&state, &ctx);
    let Posted {
        mut tx,
        browser,
        fields,
        client,
        back,
    } = posted(state, ctx, form).await?;

    let login = fields.get("login").trim();
    let password = fields.get("password");
    let user = if login.is_empty() {
        None
    } else {
        users::find_by_login(&state.db, &ctx.tenant.id, login)
            .await
            .or_500(state, ctx)?
    };
    let keys = AttemptKeys::new(state, ctx, client_ip, login, user.as_ref().map(|u| &*u.id));
    let Some(last_try) = keys.reserve(state).await.or_500(state, ctx)? else {
        return Err(too_many(state, ctx, back.as_deref()));
    };

    let verified = state
        .passwords
        .verify(
            password,
            user.as_ref().and_then(|u| u.password_hash.as_deref()),
        )
        .await;
    let ok = match verified {
        Ok(ok) => ok,
        Err(e) => {
            // Not evaluated (busy or broken): the attempt is handed back, it was no guess.
            keys.release(state).await.or_500(state, ctx)?;
            if matches!(e, PasswordError::Busy) {
                tracing::warn!("password hashing queue full; sign-in turned away");
                return Err(PageError::busy(state, ctx, back.as_deref()));
            }
            return Err(PageError::internal(state, ctx, e));
        }
    };
    let user = user.filter(|_| ok);
    let Some(user) = user else {
        transactions::add_attempt(&state.db, &tx.row.id)
            .await
            .or_500(state, ctx)?;
        if last_try {
            tracing::warn!(ip = %client_ip, "sign-in locked after repeated failures");
            return Err(too_many(state, ctx, back.as_deref()));
        }
        let view = View {
            client_name: &client.name,
            login,
            error: Some("Wrong email or password."),
        };
        return render(state, ctx, &tx, &browser, view).await;
    };
    keys.succeeded(state).await.or_500(state, ctx)?;
    // Only the right password learns that the account is locked or unverified.
    if user.locked {
        return Err(locked(state, ctx, back.as_deref()));
    }

    let ts = now();
    // A passkey used without user verification waits here for this account's password; for
    // any other account it proves nothing.
    if tx.row.user_id.as_ref() != Some(&user.id) {
        tx.extra.proven = Proven::default();
    }
    tx.row.user_id = Some(user.id.clone());
    tx.row.auth_time = Some(ts);
    tx.row.amr = serde_json::to_string(&["pwd"]).unwrap_or_default();
    tx.extra.notice = None;
    if user.pending_verification {
        // A self-registered account signs in once its email is verified: the page offers
        // Send again, and the verification continues this sign-in.
        tx.extra.registered = Some(user.id.clone());
        let at = flow::At::Verify {
            address: user.email.clone(),
        };
        return flow::go(state, ctx, tx, at).await;
    }
    // The account this interaction registered: its mailbox was proven by the link.
    if tx.registered_user() {
        tx.extra.proof_done = true;
    }
    flow::advance(
        state,
        ctx,
        &headers,
        Some(client_ip.to_string()),
        tx,
        &client,
        flow::Event::Authenticated,
    )
    .await
}
