//! Enrolment at sign-in: "Set up two-factor authentication" (QR code, or the key in bold and
//! grouped; a device name; the first code to confirm), then "Note down your recovery codes"
//! shown once. The Skip button appears only when the tenant merely offers enrolment.

use std::collections::HashMap;

use axum::extract::{Query, RawForm, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::flow::{self, Stage, Tx};
use super::mfa::{load_at, record_second_factor};
use crate::crypto::seal;
use crate::mfa::proven::Method;
use crate::mfa::service::{self as mfa, Enrolment};
use crate::mfa::totp;
use crate::model::{EnrollmentProof, now};
use crate::state::{AppState, TenantCtx};
use crate::store::users::User;
use crate::web::browser::Browser;
use crate::web::client_ip::ClientIp;
use crate::web::pages::server_error;
use crate::web::pages::{self, Base};

const SEAL_DISPLAY: &str = "recovery-display";

#[derive(Serialize)]
struct EnrolPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    tx: &'a str,
    csrf: String,
    key: String,
    otpauth_uri: String,
    qr: String,
    label: &'a str,
    skippable: bool,
    error: Option<&'a str>,
}

#[allow(clippy::too_many_arguments)]
fn render(
    state: &AppState,
    ctx: &TenantCtx,
    tx: &Tx,
    browser: &Browser,
    user: &User,
    label: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let Some(p) = tx
        .extra
        .pending_totp
        .as_deref()
        .and_then(|s| totp::pending_provisioning(&state.secret, s, &ctx.tenant, user))
    else {
        return pages::expired(state, &ctx.tenant, tx.back_url().as_deref());
    };
    state.templates.page(
        status,
        &ctx.tenant.theme,
        "enrol.html",
        EnrolPage {
            base: Base::new(&ctx.tenant),
            title: "Set up two-factor authentication",
            tx: &tx.handle,
            csrf: browser.csrf_token(&state.secret),
            key: p.key,
            otpauth_uri: p.uri,
            qr: p.qr_png_base64,
            label,
            skippable: tx.extra.enrol_skippable,
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
    match load_at(
        &state,
        &ctx,
        &headers,
        q.get("tx").map(String::as_str),
        Stage::Enrol,
    )
    .await
    {
        Ok((tx, browser, _, user)) => {
            render(&state, &ctx, &tx, &browser, &user, "", None, StatusCode::OK)
        }
        Err(r) => r,
    }
}

pub async fn submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    match run(&state, &ctx, client_ip, &headers, &body).await {
        Ok(r) | Err(r) => r,
    }
}

async fn run(
    state: &AppState,
    ctx: &TenantCtx,
    client_ip: std::net::IpAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Response> {
    let form = crate::web::form::parse_params(body).unwrap_or_default();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let (mut tx, browser, client, user) =
        load_at(state, ctx, headers, Some(field("tx")), Stage::Enrol).await?;
    if !browser.verify_csrf(&state.secret, field("csrf")) {
        return Err(pages::expired(state, &ctx.tenant, tx.back_url().as_deref()));
    }
    let ip = Some(client_ip.to_string());
    if field("action") == "skip" {
        if !tx.extra.enrol_skippable {
            return Err(render(
                state,
                ctx,
                &tx,
                &browser,
                &user,
                field("label"),
                Some("Two-factor authentication is required for your account."),
                StatusCode::FORBIDDEN,
            ));
        }
        tx.extra.skipped = true;
        tx.extra.pending_totp = None;
        mfa::record(
            &state.db,
            &ctx.tenant,
            &user,
            &format!("user:{}", user.id),
            "mfa.enrolment_skipped",
            serde_json::json!({}),
        )
        .await
        .map_err(|e| server_error(state, ctx, e))?;
        return flow::after_authentication(state, ctx, headers, ip, tx, &client, Stage::Enrol)
            .await;
    }
    let sealed = tx.extra.pending_totp.clone().unwrap_or_default();
    // No attempt limit here, unlike the challenge: the seed being confirmed is shown on this
    // very page to whoever may post this form, so there is nothing to guess.
    let Some(step) = totp::check_pending(&state.secret, &sealed, field("code"), now()) else {
        return Err(render(
            state,
            ctx,
            &tx,
            &browser,
            &user,
            field("label"),
            Some(
                "That code didn't work. Check the time on your phone and enter the current 6-digit code.",
            ),
            StatusCode::UNAUTHORIZED,
        ));
    };
    // An offered set-up proves the mailbox now, before anything is bound; the checked code
    // waits in the transaction so the user does not type it again.
    if ctx.tenant.mfa_enrollment_proof == EnrollmentProof::Email && !tx.extra.proof_done {
        tx.extra.verified_totp = Some((field("label").to_owned(), step));
        return flow::move_to(state, ctx, tx, Stage::Enrol, Stage::EnrolProof).await;
    }
    bind_and_continue(
        state,
        ctx,
        headers,
        ip,
        tx,
        &client,
        &user,
        field("label"),
        step,
        Stage::Enrol,
    )
    .await
}

/// Binds the checked authenticator app, records the second factor on this sign-in, then shows
/// the recovery codes (first factor) or continues.
#[allow(clippy::too_many_arguments)]
pub async fn bind_and_continue(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    ip: Option<String>,
    mut tx: Tx,
    client: &crate::store::clients::Client,
    user: &crate::store::users::User,
    label: &str,
    step: i64,
    from: Stage,
) -> Result<Response, Response> {
    let sealed = tx.extra.pending_totp.clone().unwrap_or_default();
    let proof = if tx.extra.proof_done {
        mfa::MailboxProof::Proven
    } else {
        mfa::MailboxProof::NotProven
    };
    let actor = format!("user:{}", user.id);
    let enrolment = Enrolment {
        tenant: &ctx.tenant,
        user,
        actor: &actor,
        proof,
    };
    let (_factor, codes) = totp::bind(&state.mfa_deps(), &enrolment, &sealed, label, step)
        .await
        .map_err(|e| server_error(state, ctx, e))?;
    tx.extra.verified_totp = None;
    tx.extra.pending_totp = None;
    record_second_factor(state, ctx, &mut tx, Method::Totp).await?;
    match codes {
        Some(codes) => {
            tx.extra.recovery_codes = seal::seal(
                &state.secret,
                SEAL_DISPLAY,
                serde_json::to_string(&codes).unwrap_or_default().as_bytes(),
            )
            .ok();
            tx.extra.replacement = false;
            flow::move_to(state, ctx, tx, from, Stage::RecoveryCodes).await
        }
        None => flow::proceed(state, ctx, headers, ip, tx, client, from).await,
    }
}

#[derive(Serialize)]
struct CodesPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    tx: &'a str,
    csrf: String,
    codes: Vec<String>,
    replacement: bool,
}

fn codes_of(state: &AppState, tx: &Tx) -> Vec<String> {
    tx.extra
        .recovery_codes
        .as_deref()
        .and_then(|s| seal::open(&state.secret, SEAL_DISPLAY, s).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

pub async fn show_codes(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (tx, browser, _, _) = match load_at(
        &state,
        &ctx,
        &headers,
        q.get("tx").map(String::as_str),
        Stage::RecoveryCodes,
    )
    .await
    {
        Ok(t) => t,
        Err(r) => return r,
    };
    state.templates.page(
        StatusCode::OK,
        &ctx.tenant.theme,
        "recovery_codes.html",
        CodesPage {
            base: Base::new(&ctx.tenant),
            title: "Note down your recovery codes",
            tx: &tx.handle,
            csrf: browser.csrf_token(&state.secret),
            codes: codes_of(&state, &tx),
            replacement: tx.extra.replacement,
        },
    )
}

/// The same codes as a text file ("Download"), available until the user presses Done.
pub async fn download_codes(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (tx, _, _, user) = match load_at(
        &state,
        &ctx,
        &headers,
        q.get("tx").map(String::as_str),
        Stage::RecoveryCodes,
    )
    .await
    {
        Ok(t) => t,
        Err(r) => return r,
    };
    let mut text = format!(
        "Recovery codes for {} ({})\nEach code can be used once, instead of a code from your authenticator app.\n\n",
        user.email, ctx.tenant.name
    );
    for c in codes_of(&state, &tx) {
        text.push_str(&c);
        text.push('\n');
    }
    let mut res = text.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"recovery-codes.txt\""),
    );
    res
}

pub async fn codes_done(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    let form = crate::web::form::parse_params(&body).unwrap_or_default();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let (mut tx, browser, client, _) = match load_at(
        &state,
        &ctx,
        &headers,
        Some(field("tx")),
        Stage::RecoveryCodes,
    )
    .await
    {
        Ok(t) => t,
        Err(r) => return r,
    };
    if !browser.verify_csrf(&state.secret, field("csrf")) {
        return pages::expired(&state, &ctx.tenant, tx.back_url().as_deref());
    }
    tx.extra.recovery_codes = None;
    match flow::proceed(
        &state,
        &ctx,
        &headers,
        Some(client_ip.to_string()),
        tx,
        &client,
        Stage::RecoveryCodes,
    )
    .await
    {
        Ok(r) | Err(r) => r,
    }
}
