//! "Change password" at `{issuer}/account/password`: the current password, then the new one.
//! A change ends the user's *other* SSO sessions (and the grants bound to them; the browser
//! making the change stays signed in), writes `user.password_changed` and mails the user.
//!
//! Like every change on the account pages it needs a recent sign-in (`manage::change`), and the
//! current password is a guess like any other: it is reserved on the account's sign-in counter
//! (`pwd:user:{id}`, the one the hosted login uses) before argon2 runs, so a stolen session
//! cannot try passwords faster than the login allows.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;

use super::guard::Visitor;
use super::manage::{change, home, recent_visitor};
use crate::crypto::password::PasswordError;
use crate::lifecycle::{self, LifecycleError, PasswordChange};
use crate::model::now;
use crate::state::{AppState, TenantCtx};
use crate::store::rate_limits::{self, Limit, Reservation};
use crate::web::pages::Base;
use crate::web::{FormFields, Or500, PageError, PageResult};

fn path(ctx: &TenantCtx) -> String {
    format!("{}/password", home(ctx))
}

#[derive(Serialize)]
struct PasswordPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    csrf: String,
    email: &'a str,
    /// The sentence next to the current password, or next to the new one.
    current_error: Option<&'a str>,
    new_error: Option<&'a str>,
}

fn render(
    state: &AppState,
    ctx: &TenantCtx,
    v: &Visitor,
    current_error: Option<&str>,
    new_error: Option<&str>,
) -> Response {
    let status = if current_error.is_some() || new_error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    state.templates.page(
        status,
        &ctx.tenant.theme,
        "account_password.html",
        PasswordPage {
            base: Base::new(&ctx.tenant),
            title: "Change password",
            csrf: v.browser.csrf_token(&state.secret),
            email: &v.user.email,
            current_error,
            new_error,
        },
    )
}

pub async fn show(State(state): State<AppState>, ctx: TenantCtx, headers: HeaderMap) -> PageResult {
    let v = recent_visitor(&state, &ctx, &headers, &path(&ctx)).await?;
    Ok(render(&state, &ctx, &v, None, None))
}

/// The login's account counter (`[login]` limits), so both places share one budget.
fn account_limit(state: &AppState) -> Limit {
    let cfg = &state.config.login;
    Limit {
        max_failures: cfg.max_failures_per_account,
        window_secs: cfg.failure_window_secs,
        lockout_secs: cfg.lockout_secs,
    }
}

fn too_many(state: &AppState, ctx: &TenantCtx) -> PageError {
    PageError::page(
        state,
        ctx,
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        "There have been too many unsuccessful attempts. For your security, please wait 15 \
         minutes and try again.",
        Some(&home(ctx)),
    )
}

/// Whether `password` is the user's current one, counted on the account's attempt counter.
async fn current_ok(
    state: &AppState,
    ctx: &TenantCtx,
    v: &Visitor,
    password: &str,
) -> Result<bool, PageError> {
    let key = format!("pwd:user:{}", v.user.id);
    let limit = account_limit(state);
    let reservation = rate_limits::reserve(&state.db, &key, limit, now())
        .await
        .or_500(state, ctx)?;
    if let Reservation::Refused { .. } = reservation {
        return Err(too_many(state, ctx));
    }
    let verified = state
        .passwords
        .verify(password, v.user.password_hash.as_deref())
        .await;
    match verified {
        Ok(true) => {
            rate_limits::clear(&state.db, &key)
                .await
                .or_500(state, ctx)?;
            Ok(true)
        }
        Ok(false) => Ok(false),
        Err(e) => {
            // Not evaluated: the attempt is handed back, it was no guess.
            rate_limits::release(&state.db, &key, limit)
                .await
                .or_500(state, ctx)?;
            Err(match e {
                PasswordError::Busy => PageError::busy(state, ctx, Some(&path(ctx))),
                e => PageError::internal(state, ctx, e),
            })
        }
    }
}

pub async fn submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    form: FormFields,
) -> PageResult {
    let v = change(&state, &ctx, &headers, &form, &path(&ctx)).await?;
    let (current, new) = (form.get("current_password"), form.get("new_password"));
    let context = [v.user.email.as_str(), v.user.name.as_deref().unwrap_or("")];
    if let Err(weak) = crate::password_policy::check(new, &context) {
        let msg = weak.to_string();
        return Ok(render(&state, &ctx, &v, None, Some(&msg)));
    }
    if !current_ok(&state, &ctx, &v, current).await? {
        let msg = "This is not your current password.";
        return Ok(render(&state, &ctx, &v, Some(msg), None));
    }
    if new == current {
        let msg = "Choose a password different from your current one.";
        return Ok(render(&state, &ctx, &v, None, Some(msg)));
    }
    // Whoever else held a session (perhaps the reason for the change) is out; offline grants
    // stay, as for "Sign out of all other devices" (signout.rs).
    let change = PasswordChange::Changed {
        keep: &v.session.id,
    };
    let ended =
        match lifecycle::set_password(&state, &ctx.tenant, &v.user, new, change, now()).await {
            Ok(ended) => ended,
            Err(LifecycleError::Password(PasswordError::Busy)) => {
                return Err(PageError::busy(&state, &ctx, Some(&path(&ctx))));
            }
            Err(e) => return Err(PageError::internal(&state, &ctx, e)),
        };
    crate::oidc::backchannel::spawn(&state, &ctx, ended.session_ids);
    Ok(Redirect::to(&format!("{}?done=password", home(&ctx))).into_response())
}
