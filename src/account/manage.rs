//! The changes a user makes on "Manage two-factor": add an authenticator app, rename or remove a
//! method, generate new recovery codes, revoke trusted devices, sign out elsewhere. Each one
//! checks the CSRF token and the re-authentication window, writes an audit event, emails the
//! user, and redirects (POST-redirect-GET).

use axum::extract::{Path, RawForm, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::guard::{self, Visitor};
use super::proof::{self, Gate};
use crate::crypto::seal;
use crate::mfa::devices as trusted_devices;
use crate::mfa::proven::Method;
use crate::mfa::reset::{self, Removal};
use crate::mfa::service::{self as mfa, Enrolment};
use crate::mfa::totp;
use crate::model::now;
use crate::signout;
use crate::state::{AppState, TenantCtx};
use crate::store::{devices, factors, sessions};
use crate::web::cookies;
use crate::web::pages::server_error;
use crate::web::pages::{self, Base};

const SEAL_PENDING: &str = "account-pending-totp";

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
    let fail = |e| server_error(state, ctx, e);
    let has_factor = !factors::list_for_user(&state.db, &v.user.id)
        .await
        .map_err(fail)?
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
        .map_err(fail)?;
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

// ---- add an authenticator app -------------------------------------------------------------

/// The pending seed travels in the form, sealed with the user's id and an expiry, so nothing is
/// stored before the user confirms and a sealed seed is useless to anyone else.
#[derive(Serialize, Deserialize)]
struct Pending {
    user_id: String,
    seed: String,
    exp: i64,
}

#[derive(Serialize)]
struct AddPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    csrf: String,
    pending: String,
    key: String,
    qr: String,
    label: &'a str,
    error: Option<&'a str>,
}

fn add_page(
    state: &AppState,
    ctx: &TenantCtx,
    v: &Visitor,
    sealed_seed: &str,
    label: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let pending = Pending {
        user_id: v.user.id.clone(),
        seed: sealed_seed.to_owned(),
        exp: now() + 900,
    };
    let Ok(pending) = seal::seal(
        &state.secret,
        SEAL_PENDING,
        &serde_json::to_vec(&pending).unwrap_or_default(),
    ) else {
        return server_error(state, ctx, "sealing failed");
    };
    let Some(p) = totp::pending_provisioning(&state.secret, sealed_seed, &ctx.tenant, &v.user)
    else {
        return server_error(state, ctx, "provisioning failed");
    };
    state.templates.page(
        status,
        &ctx.tenant.theme,
        "account_add_totp.html",
        AddPage {
            base: Base::new(&ctx.tenant),
            title: "Add an authenticator app",
            csrf: v.browser.csrf_token(&state.secret),
            pending,
            key: p.key,
            qr: p.qr_png_base64,
            label,
            error,
        },
    )
}

pub async fn add_totp_page(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
) -> Response {
    let path = format!("{}/add/totp", home(&ctx));
    let v = match recent_visitor(&state, &ctx, &headers, &path).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    // A first factor comes after the mailbox proof, as at sign-in.
    if let Err(r) = proof::gate(&state, &ctx, &headers, &v, &path).await {
        return r;
    }
    let Some(seed) = totp::new_pending(&state.secret) else {
        return server_error(&state, &ctx, "no seed");
    };
    add_page(&state, &ctx, &v, &seed, "", None, StatusCode::OK)
}

pub async fn add_totp(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    let path = format!("{}/add/totp", home(&ctx));
    let (v, f) = match change(&state, &ctx, &headers, &body, &path).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let pending: Option<Pending> = seal::open(&state.secret, SEAL_PENDING, field("pending"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|p: &Pending| p.user_id == v.user.id && p.exp > now());
    let Some(pending) = pending else {
        return Redirect::to(&path).into_response();
    };
    // Checked again at the bind: the page may predate the tenant's proof or the proof expired.
    let gate = match proof::gate(&state, &ctx, &headers, &v, &path).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let mailbox = if gate == Gate::Proven {
        mfa::MailboxProof::Proven
    } else {
        mfa::MailboxProof::NotProven
    };
    let actor = actor(&v);
    let enrolment = Enrolment {
        tenant: &ctx.tenant,
        user: &v.user,
        actor: &actor,
        proof: mailbox,
    };
    let confirmed = totp::confirm(
        &state.mfa_deps(),
        &enrolment,
        &pending.seed,
        field("label"),
        field("code"),
    )
    .await;
    // The session carries MFA only when this first factor's code was just verified *and* the
    // mailbox was proven in this session: two things a stolen password alone cannot give. On
    // a tenant without the proof (or for a further factor) binding upgrades nothing: the new
    // factor was chosen by whoever held the session, so it counts once it answers a challenge.
    let mut spent_proof = None;
    if let (Ok(Some((_, Some(_)))), Gate::Proven) = (&confirmed, gate) {
        let ts = now();
        let mut proven = v.session.proven();
        proven.add(Method::Totp, ts);
        if let Err(e) = sessions::record_proof(&state.db, &v.session, &proven, ts).await {
            return server_error(&state, &ctx, e);
        }
        spent_proof = Some(proof::forget(&state, &ctx));
    }
    let mut res = match confirmed {
        Ok(Some((_, Some(codes)))) => super::codes::with_flash(
            &state,
            &ctx,
            &v,
            codes,
            &format!("{}/recovery-codes?first=1", home(&ctx)),
        ),
        Ok(Some((_, None))) => Redirect::to(&format!("{}?done=added", home(&ctx))).into_response(),
        Ok(None) => add_page(
            &state,
            &ctx,
            &v,
            &pending.seed,
            field("label"),
            Some(
                "That code didn't work. Check the time on your phone and enter the current 6-digit code.",
            ),
            StatusCode::UNAUTHORIZED,
        ),
        Err(e) => server_error(&state, &ctx, e),
    };
    if let Some(c) = spent_proof {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
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
