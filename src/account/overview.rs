//! The "Two-factor authentication" overview, the login callback and the re-authentication step.

use crate::ids::ClientId;
use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use serde::Serialize;

use super::guard::{self, Visitor};
use crate::crypto::random;
use crate::model::{human_time, now};
use crate::state::{AppState, TenantCtx};
use crate::store::{codes, devices, factors, recovery_codes};
use crate::web::browser::Browser;
use crate::web::pages::Base;
use crate::web::{Or500, PageError, PageResult};

#[derive(Serialize)]
struct FactorRow {
    id: String,
    label: String,
    kind: &'static str,
    added: String,
    last_used: Option<String>,
    /// "Change number" (a phone's set-up that replaces this one once the new number works).
    change: Option<String>,
}

#[derive(Serialize)]
struct DeviceRow {
    id: String,
    description: String,
    created: String,
    last_seen: String,
}

#[derive(Serialize)]
struct OverviewPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    csrf: String,
    email: &'a str,
    enabled: bool,
    required: bool,
    can_add: bool,
    factors: Vec<FactorRow>,
    recovery_remaining: i64,
    devices: Vec<DeviceRow>,
    notice: Option<&'a str>,
    back: Option<(String, String)>,
}

/// "Chrome on Linux" from a user agent: enough for a person to recognise a device.
pub fn describe_user_agent(ua: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map_or("A browser", |(_, name)| name);
    let os = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map_or("an unknown system", |(_, name)| name);
    format!("{browser} on {os}")
}

pub use crate::mfa::service::kind_label;

/// `?return_to=` back to the application, only when it is a registered redirect URI of the
/// named client (never an open redirect).
async fn back_link(
    state: &AppState,
    ctx: &TenantCtx,
    q: &HashMap<String, String>,
) -> Option<(String, String)> {
    let (client_id, ret) = (q.get("client_id")?, q.get("return_to")?);
    let client_id = ClientId::from(client_id.as_str());
    let client = state.client(&ctx.tenant.id, &client_id).await.ok()??;
    let ok = client.redirect_uris.iter().any(|u| u == ret)
        || client.post_logout_redirect_uris.iter().any(|u| u == ret);
    ok.then(|| (ret.clone(), client.name.clone()))
}

pub async fn show(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let path = format!("/t/{}/account", ctx.tenant.slug);
    let v = guard::visitor(&state, &ctx, &headers, &path).await?;
    render(&state, &ctx, &v, &q).await
}

async fn render(
    state: &AppState,
    ctx: &TenantCtx,
    v: &Visitor,
    q: &HashMap<String, String>,
) -> PageResult {
    let ts = now();
    let fs = factors::list_for_user(&state.db, &v.user.id)
        .await
        .or_500(state, ctx)?;
    let remaining = recovery_codes::remaining(&state.db, &v.user.id)
        .await
        .or_500(state, ctx)?;
    let ds = devices::list_for_user(&state.db, &v.user.id, ts)
        .await
        .or_500(state, ctx)?;
    let notice = match q.get("done").map(String::as_str) {
        Some("added") => Some("Two-factor authentication is on."),
        Some("removed") => Some("The method was removed."),
        Some("renamed") => Some("The name was changed."),
        Some("revoked") => Some("The device is no longer trusted."),
        Some("signed-out") => Some("You were signed out on all other devices."),
        Some("codes") => Some("Your new recovery codes are active; the old ones no longer work."),
        Some("email") => Some("Your email address was changed. Sign in with it from now on."),
        Some("password") => {
            Some("Your password was changed. You were signed out on all other devices.")
        }
        _ => None,
    };
    Ok(state.templates.page(
        StatusCode::OK,
        &ctx.tenant.theme,
        "account.html",
        OverviewPage {
            base: Base::new(&ctx.tenant),
            title: "Two-factor authentication",
            csrf: v.browser.csrf_token(&state.secret),
            email: &v.user.email,
            enabled: !fs.is_empty(),
            required: ctx.tenant.mfa_policy == crate::model::TenantMfaPolicy::Required,
            can_add: super::add::can_add(ctx),
            factors: fs
                .iter()
                .map(|f| FactorRow {
                    id: f.id.clone(),
                    label: f.label.clone(),
                    // A security key says which kind of credential it is.
                    kind: crate::mfa::webauthn::StoredCredential::parse(f)
                        .map_or(kind_label(f.kind), |c| c.kind_name()),
                    added: human_time(f.created_at),
                    last_used: f.last_used_at.map(human_time),
                    change: (f.kind == crate::model::MfaMethod::Sms)
                        .then(|| format!("account/add/sms?replace={}", f.id)),
                })
                .collect(),
            recovery_remaining: remaining,
            devices: ds
                .iter()
                .map(|d| DeviceRow {
                    id: d.id.clone(),
                    description: describe_user_agent(d.user_agent.as_deref().unwrap_or("")),
                    created: human_time(d.created_at),
                    last_seen: human_time(d.last_seen_at),
                })
                .collect(),
            notice,
            back: back_link(state, ctx, q).await,
        },
    ))
}

/// The account client's redirect URI: spends the code (nobody else may) and returns to the
/// page the visitor asked for. The SSO session was set by the login itself.
pub async fn callback(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let home = format!("/t/{}/account", ctx.tenant.slug);
    if q.contains_key("error") {
        return Err(PageError::page(
            &state,
            &ctx,
            StatusCode::BAD_REQUEST,
            "Could not sign you in",
            "The sign-in did not complete. Please try again.",
            Some(&home),
        ));
    }
    let expired = || PageError::expired(&state, &ctx, Some(&home));
    let browser = Browser::existing(&headers).ok_or_else(expired)?;
    let path = q
        .get("state")
        .and_then(|s| guard::decode_return(&state, &browser, s))
        .ok_or_else(expired)?;
    if let Some(code) = q.get("code") {
        let _ = codes::redeem(&state.db, &random::sha256_hex(code), &ctx.tenant.id, now()).await;
    }
    Ok(Redirect::to(&path).into_response())
}

/// "Enter your password to continue": a fresh sign-in (password, and the second factor when the
/// user has one) before a change, then back to the page.
pub async fn reauth(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let home = format!("/t/{}/account", ctx.tenant.slug);
    let next = q
        .get("next")
        .filter(|p| p.starts_with(&home) && !p.contains("//"))
        .cloned()
        .unwrap_or(home);
    guard::login_redirect(&state, &ctx, &headers, &next, true).await
}
