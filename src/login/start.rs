//! `GET|POST {issuer}/authorize`: validate (see `oidc::authorize`), then either answer at once
//! from the SSO session or start a hosted login transaction.

use std::collections::HashMap;

use axum::extract::rejection::RawFormRejection;
use axum::extract::{RawForm, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;

use super::finish::{self, Completion, SessionChoice};
use super::flow::{self, Stage, TxState};
use crate::mfa::service::{self as mfa, Context};
use crate::model::now;
use crate::oidc::authorize::{self, Rejection};
use crate::oidc::authz_request::AuthRequest;
use crate::oidc::response;
use crate::state::{AppState, TenantCtx};
use crate::store::{self, rate_limits};
use crate::web::browser::Browser;
use crate::web::client_ip::{self, ClientIp};
use crate::web::cookies;
use crate::web::pages;
use crate::web::{Or500, PageError, PageResult};

pub async fn authorize_get(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> PageResult {
    let raw = query.unwrap_or_default();
    run(&state, &ctx, &headers, client_ip, raw.as_bytes()).await
}

/// OIDC Core §3.1.2.1: the authorization endpoint must also accept POST (form-encoded).
pub async fn authorize_post(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    body: Result<RawForm, RawFormRejection>,
) -> PageResult {
    match body {
        Ok(RawForm(body)) => run(&state, &ctx, &headers, client_ip, &body).await,
        // Over `server.max_body_bytes` (or not a form): a page, never a redirect, since nothing
        // about the client is known yet.
        Err(_) => Err(too_large(&state, &ctx)),
    }
}

fn too_large(state: &AppState, ctx: &TenantCtx) -> PageError {
    PageError::page(
        state,
        ctx,
        StatusCode::BAD_REQUEST,
        "Invalid request",
        "The sign-in request is longer than this service accepts, so it was not started.",
        None,
    )
}

/// Starts a login transaction, counting it against the client's network first: every
/// transaction is a stored row, so one address may start only `login.max_transactions_per_ip`
/// of them per `login.transaction_window_secs` (the attempt that reaches the limit locks the
/// key for one more window). Counted before the insert, atomically, so a burst cannot overshoot.
#[allow(clippy::too_many_arguments)]
async fn begin(
    state: &AppState,
    ctx: &TenantCtx,
    client_ip: std::net::IpAddr,
    browser: &Browser,
    req: &AuthRequest,
    stage: Stage,
    user_id: Option<&str>,
    extra: TxState,
) -> PageResult {
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
            pages::app_home(&req.redirect_uri).as_deref(),
        )
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&(until - ts).max(1).to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Err(res.into());
    }
    flow::start(state, ctx, browser, req, stage, user_id, extra)
        .await
        .or_500(state, ctx)
}

async fn run(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    client_ip: std::net::IpAddr,
    raw: &[u8],
) -> PageResult {
    let bad_request = |msg: &str| {
        PageError::page(
            state,
            ctx,
            StatusCode::BAD_REQUEST,
            "Invalid request",
            msg,
            None,
        )
    };
    // The same cap as a form body (`server.max_body_bytes`), so GET and POST are bounded alike.
    if raw.len() > state.config.server.max_body_bytes {
        return Err(too_large(state, ctx));
    }
    let params: HashMap<String, String> =
        crate::web::form::parse_params(raw).map_err(|m| bad_request(&m))?;
    let client = match params.get("client_id") {
        Some(id) if !id.is_empty() => store::clients::find(&state.db, &ctx.tenant.id, id)
            .await
            .or_500(state, ctx)?,
        _ => None,
    };
    let req = match authorize::validate(&params, client.as_ref()) {
        Ok(r) => r,
        Err(Rejection::Page { title, message }) => {
            return Err(PageError::page(
                state,
                ctx,
                StatusCode::BAD_REQUEST,
                title,
                &message,
                None,
            ));
        }
        Err(Rejection::Redirect(e)) => {
            return Ok(response::send(
                &state.templates,
                &ctx.tenant,
                &ctx.issuer,
                &e.redirect_uri,
                e.response_mode,
                vec![
                    ("error", Some(e.error.to_owned())),
                    ("error_description", Some(e.description)),
                    ("state", e.state),
                ],
            ));
        }
    };
    let Some(client) = client else {
        return Err(bad_request("Unknown application."));
    };
    let deny = |error: &'static str, description: &str| {
        response::send(
            &state.templates,
            &ctx.tenant,
            &ctx.issuer,
            &req.redirect_uri,
            req.response_mode,
            vec![
                ("error", Some(error.to_owned())),
                ("error_description", Some(description.to_owned())),
                ("state", req.state.clone()),
            ],
        )
    };

    let ts = now();
    let session = crate::web::session::current_session(state, ctx, headers)
        .await
        .or_500(state, ctx)?;
    // A session answers this request only if the client did not ask for a fresh login and the
    // authentication is recent enough for max_age (OIDC Core §3.1.2.1).
    let usable = session.filter(|s| {
        !req.has_prompt("login")
            && !req.has_prompt("select_account")
            // max_age=0 means "authenticate now", whatever the clock granularity.
            && req.max_age.is_none_or(|m| m > 0 && ts - s.auth_time <= m)
    });
    let browser = Browser::from_headers(headers);
    let secure = state.is_https();

    let mut res = match usable {
        Some(s) => {
            // The session may still fall short of what this client or request demands (step-up).
            let device = cookies::device_token(headers);
            let decision = mfa::decide(
                &state.mfa_deps(),
                device.as_deref(),
                Context {
                    tenant: &ctx.tenant,
                    client: &client,
                    req: &req,
                    user_id: &s.user_id,
                    session_mfa_time: s.mfa_time,
                    enrolment_skipped: false,
                },
            )
            .await
            .or_500(state, ctx)?;
            let mut extra = TxState {
                session_id: Some(s.id.clone()),
                ..TxState::default()
            };
            match flow::stage_for(&ctx.tenant, &decision, &mut extra) {
                Err((error, reason)) => return Ok(deny(error, &reason)),
                // OIDC Core §3.1.2.6: prompt=none may not show the MFA pages.
                Ok(Some(_)) if req.has_prompt("none") => {
                    return Ok(deny(
                        "interaction_required",
                        "a second factor is required: the user must interact",
                    ));
                }
                Ok(Some(stage)) => {
                    begin(
                        state,
                        ctx,
                        client_ip,
                        &browser,
                        &req,
                        stage,
                        Some(&s.user_id),
                        extra,
                    )
                    .await?
                }
                Ok(None) => {
                    let consent = flow::needs_consent(state, &client, &req, &s.user_id)
                        .await
                        .or_500(state, ctx)?;
                    if consent && req.has_prompt("none") {
                        return Ok(deny(
                            "consent_required",
                            "the user has not consented to this client",
                        ));
                    }
                    if consent {
                        begin(
                            state,
                            ctx,
                            client_ip,
                            &browser,
                            &req,
                            Stage::Consent,
                            Some(&s.user_id),
                            extra,
                        )
                        .await?
                    } else {
                        let ip = Some(client_ip.to_string());
                        finish::complete(
                            state,
                            ctx,
                            headers,
                            ip,
                            Completion {
                                req: &req,
                                client: &client,
                                user_id: &s.user_id,
                                auth_time: None,
                                // Nothing new proven; perhaps a trusted device vouching.
                                proven: extra.proven.clone(),
                                session: SessionChoice::Existing(s.id.clone()),
                            },
                        )
                        .await?
                    }
                }
            }
        }
        None if req.has_prompt("none") => {
            return Ok(deny("login_required", "the user is not signed in"));
        }
        None => {
            begin(
                state,
                ctx,
                client_ip,
                &browser,
                &req,
                Stage::Credentials,
                None,
                TxState::default(),
            )
            .await?
        }
    };
    if browser.is_new {
        res.headers_mut()
            .append(header::SET_COOKIE, browser.cookie(secure));
    }
    Ok(res)
}
