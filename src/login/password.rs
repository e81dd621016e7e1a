//! The credentials stage: email (or username) and password on one plain HTML form.
//! Wrong credentials get one generic message whether or not the account exists, and unknown
//! accounts cost the same argon2 time (a dummy hash), so neither the text nor the timing tells
//! an attacker which emails are registered. Failures count per submitted account name and per
//! client IP; past the limit the key is locked for a while and a "try again later" page shows.

use std::collections::HashMap;

use axum::extract::{Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;

use super::flow::{self, Stage, server_error};
use super::pages::{self, Base};
use crate::crypto::random;
use crate::model::now;
use crate::state::{AppState, TenantCtx};
use crate::store::rate_limits::{self, Limit};
use crate::store::transactions;
use crate::store::{self, users};
use crate::web::client_ip::ClientIp;

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
    back_url: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (tx, browser) =
        match flow::load(&state, &ctx, &headers, q.get("tx").map(String::as_str)).await {
            Ok(t) => t,
            Err(r) => return r,
        };
    match tx.stage() {
        Some(Stage::Credentials) => {}
        Some(other) => return flow::redirect_to_stage(&ctx, other, &tx.handle),
        None => return pages::expired(&state, &ctx.tenant, tx.back_url().as_deref()),
    }
    let client = match store::clients::find(&state.db, &ctx.tenant.id, &tx.req.client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return pages::expired(&state, &ctx.tenant, None),
        Err(e) => return server_error(&state, &ctx, e),
    };
    let login = tx.req.login_hint.clone().unwrap_or_default();
    render(
        &state,
        &ctx,
        &tx,
        &browser,
        &client.name,
        &login,
        None,
        StatusCode::OK,
    )
}

#[allow(clippy::too_many_arguments)]
fn render(
    state: &AppState,
    ctx: &TenantCtx,
    tx: &flow::Tx,
    browser: &crate::web::browser::Browser,
    client_name: &str,
    login: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    state.templates.page(
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
            back_url: tx.back_url(),
        },
    )
}

fn too_many(state: &AppState, ctx: &TenantCtx, back: Option<&str>) -> Response {
    pages::error(
        state,
        &ctx.tenant,
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        "There have been too many unsuccessful sign-in attempts. For your security, please wait \
         15 minutes and try again.",
        back,
    )
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
    let form = super::parse_params(body).unwrap_or_default();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let (mut tx, browser) = flow::load(state, ctx, headers, Some(field("tx"))).await?;
    let back = tx.back_url();
    if !browser.verify_csrf(&state.secret, field("csrf")) {
        return Err(pages::error(
            state,
            &ctx.tenant,
            StatusCode::FORBIDDEN,
            "This form has expired",
            "For your security the form could not be accepted. Go back to the application and \
             sign in again.",
            back.as_deref(),
        ));
    }
    if tx.stage() != Some(Stage::Credentials) {
        return Err(pages::expired(state, &ctx.tenant, back.as_deref()));
    }
    let client = store::clients::find(&state.db, &ctx.tenant.id, &tx.req.client_id)
        .await
        .map_err(|e| server_error(state, ctx, e))?
        .ok_or_else(|| pages::expired(state, &ctx.tenant, None))?;

    let login = field("login").trim();
    let password = field("password");
    let ts = now();
    let cfg = &state.config.login;
    let ip_key = format!("pwd:ip:{}", client_ip);
    // The account key hashes the name so the table holds no emails of strangers.
    let acct_key = format!(
        "pwd:acct:{}:{}",
        ctx.tenant.id,
        random::sha256_hex(&users::normalize_email(login))
    );
    let fail = |e| server_error(state, ctx, e);
    for key in [&ip_key, &acct_key] {
        if rate_limits::locked_until(&state.db, key, ts)
            .await
            .map_err(fail)?
            .is_some()
        {
            return Err(too_many(state, ctx, back.as_deref()));
        }
    }

    let user = if login.is_empty() {
        None
    } else {
        users::find_by_login(&state.db, &ctx.tenant.id, login)
            .await
            .map_err(fail)?
    };
    let ok = state
        .passwords
        .verify(
            password,
            user.as_ref().and_then(|u| u.password_hash.as_deref()),
        )
        .await;
    let user = user.filter(|u| ok && !u.locked);
    let Some(user) = user else {
        let window = |max| Limit {
            max_failures: max,
            window_secs: cfg.failure_window_secs,
            lockout_secs: cfg.lockout_secs,
        };
        let ip_locked =
            rate_limits::record_failure(&state.db, &ip_key, window(cfg.max_failures_per_ip), ts)
                .await
                .map_err(fail)?;
        let acct_locked = rate_limits::record_failure(
            &state.db,
            &acct_key,
            window(cfg.max_failures_per_account),
            ts,
        )
        .await
        .map_err(fail)?;
        transactions::add_attempt(&state.db, &tx.row.id)
            .await
            .map_err(fail)?;
        if ip_locked.is_some() || acct_locked.is_some() {
            tracing::warn!(ip = %client_ip, "sign-in locked after repeated failures");
            return Err(too_many(state, ctx, back.as_deref()));
        }
        return Err(render(
            state,
            ctx,
            &tx,
            &browser,
            &client.name,
            login,
            Some("Wrong email or password."),
            StatusCode::UNAUTHORIZED,
        ));
    };
    rate_limits::clear(&state.db, &acct_key)
        .await
        .map_err(fail)?;

    tx.row.user_id = Some(user.id.clone());
    tx.row.auth_time = Some(ts);
    tx.row.amr = serde_json::to_string(&["pwd"]).unwrap_or_default();
    flow::after_authentication(
        state,
        ctx,
        headers,
        Some(client_ip.to_string()),
        tx,
        &client,
        Stage::Credentials,
    )
    .await
}
