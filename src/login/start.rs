//! `GET|POST {issuer}/authorize`: validate (see `oidc::authorize`), then either answer at once
//! from the SSO session or start a hosted login transaction.

use crate::ids::ClientId;
use std::collections::HashMap;

use axum::extract::rejection::RawFormRejection;
use axum::extract::{RawForm, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};

use super::flow::{self, At, Event, Tx, TxState};
use crate::model::now;
use crate::oidc::authorize::{self, Rejection};
use crate::oidc::response;
use crate::state::{AppState, TenantCtx};
use crate::web::browser::Browser;
use crate::web::client_ip::ClientIp;
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
        Some(id) if !id.is_empty() => state
            .client(&ctx.tenant.id, &ClientId::from(id.as_str()))
            .await
            .or_500(state, ctx)?,
        _ => None,
    };
    let req = match authorize::validate(&params, client.as_deref()) {
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

    let ip = Some(client_ip.to_string());
    let mut res = match usable {
        // The session may still fall short of what this client or request demands (step-up):
        // the same decision as after a password, in memory until it needs a page.
        Some(s) => {
            let extra = TxState {
                session_id: Some(s.id.clone()),
                ..TxState::default()
            };
            let tx = Tx::begin(
                state,
                ctx,
                &browser,
                &req,
                client_ip,
                Some(&s.user_id),
                extra,
            );
            flow::advance(state, ctx, headers, ip, tx, &client, Event::Authenticated).await?
        }
        None if req.has_prompt("none") => {
            return Ok(deny("login_required", "the user is not signed in"));
        }
        None => {
            let tx = Tx::begin(
                state,
                ctx,
                &browser,
                &req,
                client_ip,
                None,
                TxState::default(),
            );
            let handle = tx.handle.clone();
            let res = flow::go(state, ctx, tx, At::Credentials).await?;
            // `prompt=create` (OpenID Connect "Initiating User Registration"): the form to
            // create an account, where the tenant offers one; else the sign-in page.
            if req.has_prompt("create") && ctx.tenant.registration_enabled {
                let to = format!("/t/{}/register?tx={handle}", ctx.tenant.slug);
                axum::response::IntoResponse::into_response(axum::response::Redirect::to(&to))
            } else {
                res
            }
        }
    };
    if browser.is_new {
        res.headers_mut()
            .append(header::SET_COOKIE, browser.cookie(secure));
    }
    Ok(res)
}
