//! "Forgot your password?": the email, then "Check your inbox" until the mail's link or code
//! proves the mailbox, then whatever second factor the account has (`mfa::policy::reset_step`;
//! the mailbox never stands in for it), then the new password, and back to the sign-in form,
//! where the user signs in with it like any other time. The reset itself creates no session,
//! code or trusted device. The same page answers whether or not the account exists, and an
//! unknown address gets no mail.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;

use super::flow::{self, At, Stage, Tx};
use super::inbox::{self, Kind};
use super::tx_form::TxForm;
use crate::lifecycle;
use crate::mfa::policy::ResetStep;
use crate::model::{ResetEmailOnly, now};
use crate::otp::{Checked, Codes, Purpose};
use crate::state::{AppState, TenantCtx};
use crate::store::users;
use crate::web::browser::Browser;
use crate::web::client_ip::ClientIp;
use crate::web::csrf_form::AsFormExpired;
use crate::web::pages::Base;
use crate::web::say::{say_checked, say_sent};
use crate::web::{FormFields, Or500, PageError, PageResult};

#[derive(Serialize)]
struct ResetPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    tx: &'a str,
    csrf: String,
    email: &'a str,
    error: Option<&'a str>,
}

fn render_form(
    state: &AppState,
    ctx: &TenantCtx,
    tx: &Tx,
    browser: &Browser,
    email: &str,
    error: Option<&str>,
) -> axum::response::Response {
    let status = match error {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    state.templates.page(
        status,
        &ctx.tenant.theme,
        "reset.html",
        ResetPage {
            base: Base::new(&ctx.tenant),
            tx: &tx.handle,
            csrf: browser.csrf_token(&state.secret),
            email,
            error,
        },
    )
}

/// "Forgot your password?" is a view of the sign-in stage.
fn at_sign_in(state: &AppState, ctx: &TenantCtx, tx: &Tx) -> Result<(), PageError> {
    match tx.stage() {
        Some(Stage::Credentials) => Ok(()),
        Some(other) => Err(flow::redirect_to_stage(ctx, other, &tx.handle).into()),
        None => Err(PageError::expired(state, ctx, tx.back_url().as_deref())),
    }
}

pub async fn show(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let (tx, browser) = flow::load(&state, &ctx, &headers, q.get("tx").map(String::as_str)).await?;
    at_sign_in(&state, &ctx, &tx)?;
    let email = tx.req.login_hint.clone().unwrap_or_default();
    Ok(render_form(&state, &ctx, &tx, &browser, &email, None))
}

pub async fn submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    form: TxForm<AsFormExpired>,
) -> PageResult {
    let (state, ctx) = (&state, &ctx);
    let TxForm {
        tx,
        browser,
        fields,
        ..
    } = form;
    at_sign_in(state, ctx, &tx)?;
    let back = tx.back_url();
    let typed = fields.get("email").trim();
    if typed.is_empty() || typed.chars().count() > 254 {
        let error = Some("Enter the email address of your account.");
        return Ok(render_form(state, ctx, &tx, &browser, typed, error));
    }
    inbox::reserve_form(state, ctx, client_ip, back.as_deref()).await?;
    // A locked or unverified account is not reset: the same page, and no mail.
    let user = users::find_by_login(&state.db, &ctx.tenant.id, typed)
        .await
        .or_500(state, ctx)?
        .filter(|u| !u.locked && !u.pending_verification);
    let link = inbox::mail_link(ctx, &tx, Kind::Reset, client_ip);
    lifecycle::request_reset(state, &ctx.tenant, user.as_ref(), link, now())
        .await
        .map_err(|e| PageError::internal(state, ctx, e))?;
    let at = At::ResetSent {
        address: typed.to_owned(),
        reset_user: user.map(|u| u.id),
    };
    flow::go(state, ctx, tx, at).await
}

pub async fn sent_show(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let handle = q.get("tx").map(String::as_str);
    let at = inbox::load(&state, &ctx, &headers, handle, Kind::Reset).await?;
    Ok(inbox::render(
        &state,
        &ctx,
        &at,
        Kind::Reset,
        Default::default(),
    ))
}

pub async fn sent_submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    form: FormFields,
) -> PageResult {
    let (state, ctx, headers) = (&state, &ctx, &headers);
    let at = inbox::load(state, ctx, headers, Some(form.get("tx")), Kind::Reset).await?;
    inbox::check_csrf(state, ctx, &at, &form)?;
    match form.get("action") {
        "back" => return inbox::back_to_sign_in(state, ctx, at.tx).await,
        "resend" => {
            let link = inbox::mail_link(ctx, &at.tx, Kind::Reset, client_ip);
            let sent = lifecycle::resend_reset(state, &ctx.tenant, at.user.as_ref(), link, now())
                .await
                .map_err(|e| PageError::internal(state, ctx, e))?;
            let say = say_sent(Ok(Some(sent)), true).or_500(state, ctx)?;
            return Ok(inbox::render(state, ctx, &at, Kind::Reset, say));
        }
        _ => {}
    }
    let checked = match &at.user {
        Some(u) => Codes::new(state)
            .verify(Purpose::PasswordReset, &u.id, form.get("code"), now())
            .await
            .or_500(state, ctx)?,
        None => inbox::decoy_check(state, &at.tx).await.or_500(state, ctx)?,
    };
    match (checked, &at.user) {
        (Checked::Verified, Some(user)) => {
            let mut tx = at.tx;
            tx.row.user_id = Some(user.id.clone());
            flow::advance(
                state,
                ctx,
                headers,
                Some(client_ip.to_string()),
                tx,
                &at.client,
                flow::Event::MailboxProven,
            )
            .await
        }
        (checked, _) => Ok(inbox::render(
            state,
            ctx,
            &at,
            Kind::Reset,
            say_checked(checked),
        )),
    }
}

/// The link proves the mailbox: the reset goes on in this browser (another device, perhaps),
/// in a new interaction for the same application.
pub async fn confirm_submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    form: FormFields,
) -> PageResult {
    let (state, ctx) = (&state, &ctx);
    let inbox::Redeemed {
        mut tx,
        client,
        user,
    } = inbox::redeem(state, ctx, &headers, client_ip, &form, Kind::Reset).await?;
    if user.locked {
        return Err(PageError::expired(state, ctx, tx.back_url().as_deref()));
    }
    tx.row.user_id = Some(user.id.clone());
    flow::advance(
        state,
        ctx,
        &headers,
        Some(client_ip.to_string()),
        tx,
        &client,
        flow::Event::MailboxProven,
    )
    .await
}

/// A reset's mailbox is proven: the second factor the reset needs (`mfa::policy::reset_step`),
/// or straight to the new password.
pub(super) async fn begin(state: &AppState, ctx: &TenantCtx, mut tx: Tx) -> PageResult {
    let Some(user_id) = tx.row.user_id.clone() else {
        return Err(PageError::expired(state, ctx, tx.back_url().as_deref()));
    };
    let kinds = crate::mfa::inputs::user_factors(&state.db, &user_id)
        .await
        .or_500(state, ctx)?;
    let allowed = ctx.tenant.password_reset_email_only == ResetEmailOnly::Allow;
    let step = crate::mfa::policy::reset_step(ctx.tenant.mfa_policy, &kinds, allowed);
    tracing::info!(step = ?std::mem::discriminant(&step), "password reset step");
    tx.extra.reset = true;
    tx.extra.proof_done = true;
    match step {
        ResetStep::NewPassword { .. } => {
            let at = At::NewPassword {
                why: flow::NewPasswordWhy::Reset,
            };
            flow::go(state, ctx, tx, at).await
        }
        ResetStep::Challenge { methods, .. } => {
            let at = At::Mfa {
                methods,
                phishing_resistant: false,
            };
            flow::go(state, ctx, tx, at).await
        }
        ResetStep::Forbidden { .. } => {
            if tx.unsaved.is_none() {
                crate::store::transactions::delete(&state.db, &tx.row.id)
                    .await
                    .or_500(state, ctx)?;
            }
            Err(PageError::page(
                state,
                ctx,
                axum::http::StatusCode::FORBIDDEN,
                "Password reset not available",
                "This account can't reset its password by email. Contact your administrator to \
                 regain access.",
                tx.back_url().as_deref(),
            ))
        }
    }
}

/// A reset set the new password: the interaction starts over at the sign-in form, where the
/// user signs in with it (and their second factor) like any other sign-in. Nothing the reset
/// proved carries over.
pub(super) async fn done(state: &AppState, ctx: &TenantCtx, mut tx: Tx) -> PageResult {
    tx.row.user_id = None;
    tx.row.auth_time = None;
    tx.row.amr = "[]".into();
    tx.extra = flow::TxState {
        session_id: None,
        notice: Some(flow::Notice::PasswordChanged),
        ..flow::TxState::default()
    };
    flow::go(state, ctx, tx, At::Credentials).await
}
