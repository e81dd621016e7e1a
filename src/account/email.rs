//! "Change email" at `{issuer}/account/email`: the new address, then the 6-digit code mailed to
//! it (the `email_change` purpose of `crate::otp`: hashed, single use, every send and guess
//! limit). Only the code proves the new mailbox, so only then does the account change
//! (`lifecycle::change_email`, which tells the old address).
//!
//! It needs a recent sign-in like every security change: the email is where password resets go.
//! Whether another account has the address is told only after its code was entered, so the
//! form tells nobody who cannot read that mailbox whether it has an account.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;

use super::guard::Visitor;
use super::manage::{change, home, recent_visitor};
use crate::lifecycle::{self, LifecycleError};
use crate::model::now;
use crate::otp::{Checked, Codes, Purpose, Recipient};
use crate::state::{AppState, TenantCtx};
use crate::store::StoreError;
use crate::store::users;
use crate::web::pages::Base;
use crate::web::say::{Say, say_checked, say_sent};
use crate::web::{FormFields, Or500, PageError, PageResult};

fn path(ctx: &TenantCtx) -> String {
    format!("{}/email", home(ctx))
}

#[derive(Serialize)]
struct EmailPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    csrf: String,
    email: &'a str,
    /// The address a code went to: the page asks for the code. None: it asks for an address.
    new_email: Option<&'a str>,
    /// What the address field shows (what was typed, when it was refused).
    typed: &'a str,
    notice: Option<&'a str>,
    error: Option<&'a str>,
    minutes: i64,
}

fn render(
    state: &AppState,
    ctx: &TenantCtx,
    v: &Visitor,
    new_email: Option<&str>,
    typed: &str,
    say: Say,
) -> Response {
    state.templates.page(
        say.status.unwrap_or(StatusCode::OK),
        &ctx.tenant.theme,
        "account_email.html",
        EmailPage {
            base: Base::new(&ctx.tenant),
            title: "Change email",
            csrf: v.browser.csrf_token(&state.secret),
            email: &v.user.email,
            new_email,
            typed,
            notice: say.notice,
            error: say.error,
            minutes: say.minutes,
        },
    )
}

fn refused(error: &'static str) -> Say {
    Say {
        error: Some(error),
        status: Some(StatusCode::BAD_REQUEST),
        ..Say::default()
    }
}

pub async fn show(State(state): State<AppState>, ctx: TenantCtx, headers: HeaderMap) -> PageResult {
    let v = recent_visitor(&state, &ctx, &headers, &path(&ctx)).await?;
    Ok(render(&state, &ctx, &v, None, "", Say::default()))
}

/// `action`: `send` (the address typed), `resend`, or `confirm` (the code).
pub async fn submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    form: FormFields,
) -> PageResult {
    let v = change(&state, &ctx, &headers, &form, &path(&ctx)).await?;
    let typed = form.get("email");
    let new = users::normalize_email(typed);
    if users::validate_email(&new).is_err() {
        let say = refused("Enter an email address like name@example.com.");
        return Ok(render(&state, &ctx, &v, None, typed, say));
    }
    if new == v.user.email {
        let say = refused("This is already your email address.");
        return Ok(render(&state, &ctx, &v, None, typed, say));
    }
    let codes = Codes::new(&state);
    let action = form.get("action");
    if action == "send" || action == "resend" {
        let to = Recipient {
            tenant: &ctx.tenant,
            user: &v.user,
            address: &new,
            // The SSO session plays the login transaction's part for the per-scope throttle.
            scope: &v.session.id,
            ip: None,
        };
        let sent = codes.send(Purpose::EmailChange, to, now()).await.map(Some);
        let say = say_sent(sent, action == "resend").or_500(&state, &ctx)?;
        return Ok(render(&state, &ctx, &v, Some(&new), &new, say));
    }
    let checked = codes
        .verify_sent_to(
            Purpose::EmailChange,
            &v.user.id,
            Some(&new),
            form.get("code"),
            now(),
        )
        .await
        .or_500(&state, &ctx)?;
    if checked != Checked::Verified {
        return Ok(render(
            &state,
            &ctx,
            &v,
            Some(&new),
            &new,
            say_checked(checked),
        ));
    }
    match lifecycle::change_email(&state, &ctx.tenant, &v.user, &new).await {
        Ok(()) => Ok(Redirect::to(&format!("{}?done=email", home(&ctx))).into_response()),
        Err(LifecycleError::Store(StoreError::Conflict(_))) => {
            // Told only now, to whoever read the code at that address.
            let say = refused("Another account uses this email address. Enter a different one.");
            Ok(render(&state, &ctx, &v, None, &new, say))
        }
        Err(e) => Err(PageError::internal(&state, &ctx, e)),
    }
}
