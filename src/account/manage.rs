//! The changes a user makes on "Manage two-factor" (adding a method is `add`): rename or remove a
//! method, generate new recovery codes, revoke trusted devices, sign out elsewhere. Each one
//! checks the CSRF token and the re-authentication window, writes an audit event, emails the
//! user, and redirects (POST-redirect-GET).

use axum::extract::{Path, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;
use serde_json::json;

use super::guard::{self, Visitor};
use crate::mfa::devices as trusted_devices;
use crate::mfa::reset::{self, Removal};
use crate::mfa::service as mfa;
use crate::model::now;
use crate::signout;
use crate::state::{AppState, TenantCtx};
use crate::store::{devices, factors};
use crate::web::Or500;
use crate::web::cookies;
use crate::web::pages::server_error;
use crate::web::pages::{self, Base};

pub(super) fn home(ctx: &TenantCtx) -> String {
    format!("/t/{}/account", ctx.tenant.slug)
}

pub(super) fn actor(v: &Visitor) -> String {
    format!("user:{}", v.user.id)
}

/// A signed-in visitor who authenticated recently, or the page/redirect to show instead.
pub(super) async fn recent_visitor(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    path: &str,
) -> Result<Visitor, Response> {
    let v = guard::visitor(state, ctx, headers, path).await?;
    let has_factor = !factors::list_for_user(&state.db, &v.user.id)
        .await
        .or_500(state, ctx)?
        .is_empty();
    // A fresh password on a trusted device is a fresh sign-in: the device stood in for the
    // second factor at that sign-in (which then records no MFA time), so it stands in here too
    // — under the same rules as at the login, or the user would be sent round forever.
    let client = guard::account_client(state, ctx).await?;
    let device = cookies::device_token(headers);
    let vouched = has_factor
        && trusted_devices::vouches(
            &state.mfa_deps(),
            device.as_deref(),
            &ctx.tenant,
            &client,
            &v.user.id,
        )
        .await
        .or_500(state, ctx)?;
    if !v.recent(ctx.tenant.account_reauth_secs, has_factor, vouched) {
        return Err(reauth_page(state, ctx, path));
    }
    Ok(v)
}

#[derive(Serialize)]
struct ReauthPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    next: &'a str,
    minutes: i64,
    tenant_slug: &'a str,
}

fn reauth_page(state: &AppState, ctx: &TenantCtx, next: &str) -> Response {
    state.templates.page(
        StatusCode::FORBIDDEN,
        &ctx.tenant.theme,
        "account_reauth.html",
        ReauthPage {
            base: Base::new(&ctx.tenant),
            title: "Enter your password to continue",
            next,
            minutes: (ctx.tenant.account_reauth_secs / 60).max(1),
            tenant_slug: &ctx.tenant.slug,
        },
    )
}

/// Parses the form and checks its CSRF token against the visitor's browser.
pub(super) fn form(
    state: &AppState,
    v: &Visitor,
    body: &[u8],
) -> Option<std::collections::HashMap<String, String>> {
    let f = crate::web::form::parse_params(body).unwrap_or_default();
    let token = f.get("csrf").map(String::as_str).unwrap_or("");
    v.browser.verify_csrf(&state.secret, token).then_some(f)
}

/// A change request: a recently authenticated visitor and a genuine form (CSRF checked), or
/// the page to show instead.
pub(super) async fn change(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    body: &[u8],
    path: &str,
) -> Result<(Visitor, std::collections::HashMap<String, String>), Response> {
    let v = recent_visitor(state, ctx, headers, path).await?;
    let f = form(state, &v, body).ok_or_else(|| forged(state, ctx))?;
    Ok((v, f))
}

/// The answer to a form whose CSRF token does not check out.
pub(super) fn forged(state: &AppState, ctx: &TenantCtx) -> Response {
    pages::error(
        state,
        &ctx.tenant,
        StatusCode::FORBIDDEN,
        "This form has expired",
        "For your security the form could not be accepted. Reload the page and try again.",
        Some(&home(ctx)),
    )
}

// ---- rename / remove ----------------------------------------------------------------------

pub async fn rename(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Path((_, id)): Path<(String, String)>,
    RawForm(body): RawForm,
) -> Response {
    let (v, f) = match change(&state, &ctx, &headers, &body, &home(&ctx)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let label = f.get("label").map(String::as_str).unwrap_or("");
    let renamed = mfa::rename_factor(
        &state.mfa_deps(),
        &ctx.tenant,
        &v.user,
        &actor(&v),
        &id,
        label,
    )
    .await;
    match renamed {
        Ok(true) => Redirect::to(&format!("{}?done=renamed", home(&ctx))).into_response(),
        Ok(false) => Redirect::to(&home(&ctx)).into_response(),
        Err(e) => server_error(&state, &ctx, e),
    }
}

pub async fn remove(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Path((_, id)): Path<(String, String)>,
    RawForm(body): RawForm,
) -> Response {
    let (v, _) = match change(&state, &ctx, &headers, &body, &home(&ctx)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    // A removed factor voids the trust it vouched for and the MFA proof of the user's other
    // sessions; with no factor left the recovery codes go too (see `mfa::reset`).
    let removal = reset::remove_factor(
        &state.mfa_deps(),
        &ctx.tenant,
        &v.user,
        &actor(&v),
        &id,
        &v.session.id,
    )
    .await;
    match removal {
        Ok(Removal::Removed) => {
            Redirect::to(&format!("{}?done=removed", home(&ctx))).into_response()
        }
        Ok(Removal::NotFound) => Redirect::to(&home(&ctx)).into_response(),
        Ok(Removal::LastFactorRequired) => pages::error(
            &state,
            &ctx.tenant,
            StatusCode::CONFLICT,
            "This method cannot be removed",
            "Your organisation requires two-factor authentication, so you need at least one method. Add another method first, then remove this one.",
            Some(&home(&ctx)),
        ),
        Err(e) => server_error(&state, &ctx, e),
    }
}

// ---- devices and sessions -----------------------------------------------------------------

pub async fn revoke_device(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Path((_, id)): Path<(String, String)>,
    RawForm(body): RawForm,
) -> Response {
    let (v, _) = match change(&state, &ctx, &headers, &body, &home(&ctx)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let revoked =
        trusted_devices::revoke(&state.mfa_deps(), &ctx.tenant, &v.user, &actor(&v), &id).await;
    match revoked {
        Ok(true) => Redirect::to(&format!("{}?done=revoked", home(&ctx))).into_response(),
        Ok(false) => Redirect::to(&home(&ctx)).into_response(),
        Err(e) => server_error(&state, &ctx, e),
    }
}

/// "Sign out of all other devices": ends every other SSO session (revoking the refresh tokens
/// bound to them) and voids trusted devices.
pub async fn sign_out_others(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    let (v, _) = match change(&state, &ctx, &headers, &body, &home(&ctx)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let ts = now();
    let result = async {
        let ended =
            signout::end_other_sessions(&state.db, &ctx.tenant.id, &v.user.id, &v.session.id, ts)
                .await?;
        devices::revoke_all_for_user(&state.db, &v.user.id, ts).await?;
        mfa::record(
            &state.db,
            &ctx.tenant,
            &v.user,
            &actor(&v),
            "session.signed_out_elsewhere",
            json!({ "sessions_ended": ended.sessions, "grants_revoked": ended.grants }),
        )
        .await
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("{}?done=signed-out", home(&ctx))).into_response(),
        Err(e) => server_error(&state, &ctx, e),
    }
}
