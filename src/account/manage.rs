//! The changes a user makes on "Manage two-factor" (adding a method is `add`): rename or remove a
//! method, generate new recovery codes, revoke trusted devices, sign out elsewhere. Each one
//! checks the CSRF token and the re-authentication window, writes an audit event, emails the
//! user, and redirects (POST-redirect-GET).

use axum::extract::{Path, State};
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
use crate::web::cookies;
use crate::web::pages::Base;
use crate::web::{FormFields, Or500, PageError, PageResult};

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
) -> Result<Visitor, PageError> {
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
        return Err(reauth_page(state, ctx, path).into());
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

/// A change request: a recently authenticated visitor (else the login or the re-authentication
/// page, `path` being where it comes back to), then a genuine form: its CSRF token is checked
/// only once the visitor is known, so a visitor signed out meanwhile is sent to sign in again
/// rather than told the form expired.
pub(super) async fn change(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    form: &FormFields,
    path: &str,
) -> Result<Visitor, PageError> {
    let v = recent_visitor(state, ctx, headers, path).await?;
    if !form.csrf_ok(state, &v.browser) {
        return Err(forged(state, ctx));
    }
    Ok(v)
}

/// The answer to a form whose CSRF token does not check out.
pub(super) fn forged(state: &AppState, ctx: &TenantCtx) -> PageError {
    PageError::page(
        state,
        ctx,
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
    form: FormFields,
) -> PageResult {
    let v = change(&state, &ctx, &headers, &form, &home(&ctx)).await?;
    let label = form.get("label");
    let renamed = mfa::rename_factor(
        &state.mfa_deps(),
        &ctx.tenant,
        &v.user,
        &actor(&v),
        &id,
        label,
    )
    .await
    .or_500(&state, &ctx)?;
    let to = if renamed {
        format!("{}?done=renamed", home(&ctx))
    } else {
        home(&ctx)
    };
    Ok(Redirect::to(&to).into_response())
}

pub async fn remove(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Path((_, id)): Path<(String, String)>,
    form: FormFields,
) -> PageResult {
    let v = change(&state, &ctx, &headers, &form, &home(&ctx)).await?;
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
    .await
    .or_500(&state, &ctx)?;
    match removal {
        Removal::Removed => {
            Ok(Redirect::to(&format!("{}?done=removed", home(&ctx))).into_response())
        }
        Removal::NotFound => Ok(Redirect::to(&home(&ctx)).into_response()),
        Removal::LastFactorRequired => Err(PageError::page(
            &state,
            &ctx,
            StatusCode::CONFLICT,
            "This method cannot be removed",
            "Your organisation requires two-factor authentication, so you need at least one method. Add another method first, then remove this one.",
            Some(&home(&ctx)),
        )),
    }
}

// ---- devices and sessions -----------------------------------------------------------------

pub async fn revoke_device(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Path((_, id)): Path<(String, String)>,
    form: FormFields,
) -> PageResult {
    let v = change(&state, &ctx, &headers, &form, &home(&ctx)).await?;
    let revoked = trusted_devices::revoke(&state.mfa_deps(), &ctx.tenant, &v.user, &actor(&v), &id)
        .await
        .or_500(&state, &ctx)?;
    let to = if revoked {
        format!("{}?done=revoked", home(&ctx))
    } else {
        home(&ctx)
    };
    Ok(Redirect::to(&to).into_response())
}

/// "Sign out of all other devices": ends every other SSO session (revoking the refresh tokens
/// bound to them) and voids trusted devices.
pub async fn sign_out_others(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    form: FormFields,
) -> PageResult {
    let v = change(&state, &ctx, &headers, &form, &home(&ctx)).await?;
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
        .await?;
        Ok::<_, crate::store::StoreError>(ended)
    }
    .await;
    let ended = result.or_500(&state, &ctx)?;
    crate::oidc::backchannel::spawn(&state, &ctx, ended.session_ids);
    Ok(Redirect::to(&format!("{}?done=signed-out", home(&ctx))).into_response())
}
