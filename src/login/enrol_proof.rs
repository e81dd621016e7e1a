//! The enrolment hole, closed: before a factor is bound during sign-in (when MFA has just become
//! required for a user with no factor), the user proves they read the account's mailbox with a
//! one-time code. Someone holding only a stolen password cannot enrol their own authenticator.
//! Codes: 6 digits, 10 minutes, HMAC-stored, 5 attempts, one resend per 30 seconds.

use std::collections::HashMap;

use axum::extract::{Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;

use super::flow::{self, Stage, Tx, server_error};
use super::mfa::load_at;
use super::pages::{self, Base};
use crate::model::now;
use crate::notify::mail::MailKind;
use crate::state::{AppState, TenantCtx};
use crate::store::otp::{self, NewOtp};
use crate::store::users::User;
use crate::web::browser::Browser;
use crate::web::client_ip::ClientIp;

const PURPOSE: &str = "enrollment_proof";
const CODE_MINUTES: i64 = 10;
const MAX_ATTEMPTS: i64 = 5;
const RESEND_AFTER_SECS: i64 = 30;

#[derive(Serialize)]
struct ProofPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    tx: &'a str,
    csrf: String,
    masked_email: String,
    notice: Option<&'a str>,
    error: Option<&'a str>,
}

/// `a•••@example.com`: enough to recognise the address, not enough to harvest it.
fn mask(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "your email address".into(),
    }
}

fn code_hash(state: &AppState, user_id: &str, code: &str) -> String {
    state.secret.mac(
        "otp:enrollment_proof",
        &format!("{user_id}:{}", code.trim()),
    )
}

/// Issues a fresh code and mails it. Errors are logged; the page still offers "Send again".
async fn send_code(state: &AppState, ctx: &TenantCtx, user: &User) -> Result<(), Response> {
    let code = format!("{:06}", rand::random_range(0..1_000_000u32));
    let ts = now();
    otp::issue(
        &state.db,
        NewOtp {
            tenant_id: &ctx.tenant.id,
            user_id: &user.id,
            purpose: PURPOSE,
            target: &user.email,
            code_hash: &code_hash(state, &user.id, &code),
            now: ts,
            expires_at: ts + CODE_MINUTES * 60,
        },
    )
    .await
    .map_err(|e| server_error(state, ctx, e))?;
    let kind = MailKind::EnrollmentCode {
        code,
        minutes: CODE_MINUTES as u32,
    };
    if let Err(e) = state
        .mailer
        .notify(
            &state.templates,
            &ctx.tenant.theme,
            &ctx.tenant.name,
            &user.email,
            kind,
        )
        .await
    {
        tracing::warn!(error = %e, "enrolment proof code not sent");
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn render(
    state: &AppState,
    ctx: &TenantCtx,
    tx: &Tx,
    browser: &Browser,
    user: &User,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    state.templates.page(
        status,
        &ctx.tenant.theme,
        "enrol_proof.html",
        ProofPage {
            base: Base::new(&ctx.tenant),
            title: "Confirm it's you",
            tx: &tx.handle,
            csrf: browser.csrf_token(&state.secret),
            masked_email: mask(&user.email),
            notice,
            error,
        },
    )
}

pub async fn show(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (tx, browser, _, user) = match load_at(
        &state,
        &ctx,
        &headers,
        q.get("tx").map(String::as_str),
        Stage::EnrolProof,
    )
    .await
    {
        Ok(t) => t,
        Err(r) => return r,
    };
    // The first visit sends the code; reloading the page does not send another.
    match otp::current(&state.db, &user.id, PURPOSE, now()).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            if let Err(r) = send_code(&state, &ctx, &user).await {
                return r;
            }
        }
        Err(e) => return server_error(&state, &ctx, e),
    }
    render(
        &state,
        &ctx,
        &tx,
        &browser,
        &user,
        None,
        None,
        StatusCode::OK,
    )
}

pub async fn submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    let ip = Some(client_ip.to_string());
    match run(&state, &ctx, &headers, ip, &body).await {
        Ok(r) | Err(r) => r,
    }
}

async fn run(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    ip: Option<String>,
    body: &[u8],
) -> Result<Response, Response> {
    let form = super::parse_params(body).unwrap_or_default();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let (mut tx, browser, client, user) =
        load_at(state, ctx, headers, Some(field("tx")), Stage::EnrolProof).await?;
    if !browser.verify_csrf(&state.secret, field("csrf")) {
        return Err(pages::expired(state, &ctx.tenant, tx.back_url().as_deref()));
    }
    let fail = |e| server_error(state, ctx, e);
    let ts = now();
    let current = otp::current(&state.db, &user.id, PURPOSE, ts)
        .await
        .map_err(fail)?;

    if field("action") == "resend" {
        if current
            .as_ref()
            .is_some_and(|c| c.created_at + RESEND_AFTER_SECS > ts)
        {
            return Err(render(
                state,
                ctx,
                &tx,
                &browser,
                &user,
                Some(
                    "A code was sent less than a minute ago. Check your inbox, or try again shortly.",
                ),
                None,
                StatusCode::TOO_MANY_REQUESTS,
            ));
        }
        send_code(state, ctx, &user).await?;
        return Ok(render(
            state,
            ctx,
            &tx,
            &browser,
            &user,
            Some("We sent a new code."),
            None,
            StatusCode::OK,
        ));
    }

    let Some(challenge) = current else {
        return Err(render(
            state,
            ctx,
            &tx,
            &browser,
            &user,
            None,
            Some("That code has expired. Select Send again for a new one."),
            StatusCode::UNAUTHORIZED,
        ));
    };
    let attempts = otp::add_attempt(&state.db, &challenge.id)
        .await
        .map_err(fail)?;
    let matches = state.secret.verify_mac(
        "otp:enrollment_proof",
        &format!("{}:{}", user.id, field("code").trim()),
        &challenge.code_hash,
    );
    if attempts > MAX_ATTEMPTS || !matches {
        let msg = if attempts >= MAX_ATTEMPTS {
            "Too many wrong codes. Select Send again for a new one."
        } else {
            "That code didn't work. Check the email and try again."
        };
        if attempts >= MAX_ATTEMPTS {
            otp::consume(&state.db, &challenge.id, ts)
                .await
                .map_err(fail)?;
        }
        return Err(render(
            state,
            ctx,
            &tx,
            &browser,
            &user,
            None,
            Some(msg),
            StatusCode::UNAUTHORIZED,
        ));
    }
    if !otp::consume(&state.db, &challenge.id, ts)
        .await
        .map_err(fail)?
    {
        return Err(pages::expired(state, &ctx.tenant, tx.back_url().as_deref()));
    }
    // Reading the code proves the address works: it is verified from now on.
    crate::store::users::mark_email_verified(&state.db, &user.id)
        .await
        .map_err(fail)?;
    tx.extra.proof_done = true;
    // An offered set-up checked its first code before the proof: bind it now.
    if let Some((label, step)) = tx.extra.verified_totp.clone() {
        return super::enrol::bind_and_continue(
            state,
            ctx,
            headers,
            ip,
            tx,
            &client,
            &user,
            &label,
            step,
            Stage::EnrolProof,
        )
        .await;
    }
    flow::move_to(state, ctx, tx, Stage::EnrolProof, Stage::Enrol).await
}
