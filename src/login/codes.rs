//! "Note down your recovery codes" during sign-in: shown once after a first factor is bound (or
//! a replacement after one was used), with Download, then Done moves the sign-in on.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;

use super::flow::{self, At, Event, Stage, Tx};
use super::tx::load_at;
use super::tx_form::load_posted;
use crate::crypto::seal;
use crate::state::{AppState, TenantCtx};
use crate::web::client_ip::ClientIp;
use crate::web::pages::Base;
use crate::web::{FormFields, PageResult};

const SEAL_DISPLAY: &str = "recovery-display";

/// The stage that shows `codes` once (sealed in the transaction); `replacement`: a fresh code
/// for one just used, rather than a first set.
pub fn codes_stage(
    state: &AppState,
    codes: &[String],
    replacement: bool,
) -> Result<At, seal::SealError> {
    let sealed = seal::seal(
        &state.secret,
        SEAL_DISPLAY,
        serde_json::to_string(codes).unwrap_or_default().as_bytes(),
    )?;
    Ok(At::RecoveryCodes {
        sealed,
        replacement,
    })
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
    let At::RecoveryCodes { sealed, .. } = &tx.extra.at else {
        return Vec::new();
    };
    seal::open(&state.secret, SEAL_DISPLAY, sealed)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

pub async fn show_codes(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let handle = q.get("tx").map(String::as_str);
    let (tx, browser, _, _) = load_at(&state, &ctx, &headers, handle, Stage::RecoveryCodes).await?;
    Ok(state.templates.page(
        StatusCode::OK,
        &ctx.tenant.theme,
        "recovery_codes.html",
        CodesPage {
            base: Base::new(&ctx.tenant),
            title: "Note down your recovery codes",
            tx: &tx.handle,
            csrf: browser.csrf_token(&state.secret),
            codes: codes_of(&state, &tx),
            replacement: matches!(
                tx.extra.at,
                At::RecoveryCodes {
                    replacement: true,
                    ..
                }
            ),
        },
    ))
}

/// The same codes as a text file ("Download"), available until the user presses Done.
pub async fn download_codes(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let handle = q.get("tx").map(String::as_str);
    let (tx, _, _, user) = load_at(&state, &ctx, &headers, handle, Stage::RecoveryCodes).await?;
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
    Ok(res)
}

pub async fn codes_done(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    form: FormFields,
) -> PageResult {
    let (tx, _, client, _) =
        load_posted(&state, &ctx, &headers, &form, Stage::RecoveryCodes).await?;
    let ip = Some(client_ip.to_string());
    flow::advance(&state, &ctx, &headers, ip, tx, &client, Event::CodesSeen).await
}
