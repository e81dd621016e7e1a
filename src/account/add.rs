//! "Add two-factor" on the account pages: choose a method, then its set-up — the same factor
//! enrolment as at sign-in (`mfa::enrolment`, `web::setup`), the pending enrolment sealed into
//! the form. A first factor comes after the mailbox proof (`proof`), unless the factor's own
//! code went to the account's address and so proved that mailbox itself.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;

use super::guard::{self, Visitor};
use super::manage::{actor, change, home, recent_visitor};
use super::proof::{self, Gate};
use crate::mfa::factor::{self, Confirmation, Pending};
use crate::mfa::service::{Enrolment, MailboxProof};
use crate::mfa::{enrolment, totp, webauthn};
use crate::model::{MfaMethod, TenantMfaPolicy, now};
use crate::state::{AppState, TenantCtx};
use crate::store::{factors, sessions};
use crate::web::client_ip::ClientIp;
use crate::web::pages::Base;
use crate::web::say::Say;
use crate::web::setup::{self, Choose, CodeSetup, MethodChoice};
use crate::web::{FormFields, Or500, PageResult};

fn add_path(ctx: &TenantCtx, kind: MfaMethod) -> String {
    format!("{}/add/{}", home(ctx), kind.as_str())
}

/// Methods the visitor may add here: the tenant's allowed ones this build can set up.
fn addable(ctx: &TenantCtx) -> Vec<MfaMethod> {
    if ctx.tenant.mfa_policy == TenantMfaPolicy::Disabled {
        return Vec::new();
    }
    let allowed = ctx.tenant.mfa_methods.as_slice().iter().copied();
    allowed
        .filter(|m| factor::IMPLEMENTED.contains(m))
        .collect()
}

pub fn can_add(ctx: &TenantCtx) -> bool {
    !addable(ctx).is_empty()
}

/// "Add two-factor" → "Select a method of authentication".
pub async fn choose_method(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
) -> PageResult {
    let path = format!("{}/add", home(&ctx));
    guard::visitor(&state, &ctx, &headers, &path).await?;
    let methods = addable(&ctx)
        .into_iter()
        .filter_map(factor::describe)
        .map(|d| MethodChoice {
            href: format!("add/{}", d.kind.as_str()),
            label: d.name,
            hint: d.hint,
        })
        .collect();
    let back = home(&ctx);
    Ok(setup::choose_page(
        &state,
        &ctx,
        Choose {
            title: "Add two-factor",
            methods,
            tx: None,
            csrf: None,
            skippable: false,
            back: Some(&back),
        },
    ))
}

#[derive(Serialize)]
struct TotpPage<'a> {
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

/// The set-up page of `pending`, with what it says.
async fn page(
    state: &AppState,
    ctx: &TenantCtx,
    v: &Visitor,
    pending: &Pending,
    label: &str,
    say: Say,
) -> PageResult {
    let ts = now();
    let sealed = enrolment::seal(&state.secret, &v.user.id, pending, ts)
        .ok_or("sealing failed")
        .or_500(state, ctx)?;
    let csrf = v.browser.csrf_token(&state.secret);
    match pending {
        Pending::Totp { seed } => {
            let p = totp::pending_provisioning(&state.secret, seed, &ctx.tenant, &v.user)
                .ok_or("provisioning failed")
                .or_500(state, ctx)?;
            Ok(state.templates.page(
                say.status.unwrap_or(StatusCode::OK),
                &ctx.tenant.theme,
                "account_add_totp.html",
                TotpPage {
                    base: Base::new(&ctx.tenant),
                    title: "Add an authenticator app",
                    csrf,
                    pending: sealed,
                    key: p.key,
                    qr: p.qr_png_base64,
                    label,
                    error: say.error,
                },
            ))
        }
        Pending::Webauthn { ceremony } => {
            let back = home(ctx);
            let ceremony =
                webauthn::start_registration(&state.mfa_deps(), &ctx.tenant.id, &v.user, ceremony)
                    .await
                    .or_500(state, ctx)?;
            Ok(setup::key_page(
                state,
                ctx,
                setup::KeySetup {
                    action: pending.kind().as_str(),
                    tx: None,
                    csrf,
                    sealed: &sealed,
                    ceremony: &ceremony,
                    label,
                    skippable: false,
                    back: Some(&back),
                    say,
                },
            ))
        }
        Pending::Email { .. } | Pending::Sms { .. } => {
            let back = home(ctx);
            Ok(setup::page(
                state,
                ctx,
                CodeSetup {
                    action: pending.kind().as_str(),
                    tx: None,
                    csrf,
                    pending,
                    sealed: &sealed,
                    user: &v.user,
                    label,
                    skippable: false,
                    back: Some(&back),
                    say,
                },
            ))
        }
    }
}

/// The method named in the path, when it is one this build knows.
fn method_of(method: &str) -> Option<MfaMethod> {
    method
        .parse::<MfaMethod>()
        .ok()
        .filter(|m| factor::IMPLEMENTED.contains(m))
}

/// Back to "Add two-factor" (an unknown method, or one the tenant does not allow).
fn to_chooser(ctx: &TenantCtx) -> Response {
    Redirect::to(&format!("{}/add", home(ctx))).into_response()
}

/// GET `/account/add/{method}`.
pub async fn add_page(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Path((_, method)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let Some(kind) = method_of(&method) else {
        return Ok(to_chooser(&ctx));
    };
    let (state, ctx) = (&state, &ctx);
    let path = add_path(ctx, kind);
    let v = recent_visitor(state, ctx, &headers, &path).await?;
    if !addable(ctx).contains(&kind) {
        return Ok(to_chooser(ctx));
    }
    // An authenticator app's or a phone's first factor comes after the mailbox proof, as at
    // sign-in. An email code is asked for at "Send", when the address is known.
    if kind != MfaMethod::Email {
        proof::gate(state, ctx, &headers, &v, &path).await?;
    }
    let mut pending = factor::begin(&state.mfa_deps(), kind)
        .ok_or("no enrolment")
        .or_500(state, ctx)?;
    // "Change number": the new phone replaces one of the user's own, once it is verified.
    if let (Pending::Sms { replaces, .. }, Some(id)) = (&mut pending, q.get("replace")) {
        let old = factors::get(&state.db, &v.user.id, id).await.ok();
        *replaces = old.filter(|f| f.kind == MfaMethod::Sms).map(|f| f.id);
    }
    page(state, ctx, &v, &pending, "", Say::default()).await
}

/// POST `/account/add/{method}`.
pub async fn add(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    Path((_, method)): Path<(String, String)>,
    form: FormFields,
) -> PageResult {
    match method_of(&method) {
        Some(kind) => submit(&state, &ctx, &headers, &form, kind, client_ip).await,
        None => Ok(to_chooser(&ctx)),
    }
}

/// POST `/account/add/{method}`: "Send a one-time use code" / "Request a new code" (email),
/// or "Enable" with the first code.
async fn submit(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    form: &FormFields,
    kind: MfaMethod,
    client_ip: std::net::IpAddr,
) -> PageResult {
    let path = add_path(ctx, kind);
    let v = change(state, ctx, headers, form, &path).await?;
    let field = |k: &str| form.get(k);
    let deps = state.mfa_deps();
    let Some(pending) = enrolment::open(&state.secret, field("pending"), &v.user.id, deps.now)
        .filter(|p| p.kind() == kind)
    else {
        return Ok(Redirect::to(&path).into_response());
    };
    if matches!(field("action"), "send" | "resend") && pending.sends_codes() {
        let resend = field("action") == "resend";
        let address = setup::address_to_send(&ctx.tenant, &pending, field("address"), resend);
        // A code to another address, or any text, proves nothing of the account's mailbox:
        // a first factor needs the proof before it goes out.
        if address
            .as_deref()
            .is_ok_and(|a| !a.eq_ignore_ascii_case(&v.user.email))
        {
            proof::gate(state, ctx, headers, &v, &path).await?;
        }
        let from = setup::Sender {
            tenant: &ctx.tenant,
            user: &v.user,
            scope: &v.session.id,
            ip: client_ip,
        };
        let (say, pending) = setup::send_code(&deps, from, address, &pending, resend)
            .await
            .or_500(state, ctx)?;
        return page(state, ctx, &v, &pending, field("label"), say).await;
    }
    enable(
        state,
        ctx,
        headers,
        &v,
        &pending,
        field("label"),
        field("code"),
    )
    .await
}

/// Confirms the first code and binds the factor. The session carries MFA only when this
/// first factor's code was just verified *and* the mailbox was proven in this session (the
/// proof, or the factor's own code at the account's address): two things a stolen password
/// alone cannot give. Otherwise binding upgrades nothing: the new factor was chosen by whoever
/// held the session, so it counts once it answers a challenge.
async fn enable(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    v: &Visitor,
    pending: &Pending,
    label: &str,
    code: &str,
) -> PageResult {
    let path = add_path(ctx, pending.kind());
    let deps = state.mfa_deps();
    let confirmation = factor::confirm(&deps, &v.user, pending, label, code)
        .await
        .or_500(state, ctx)?;
    let confirmed = match confirmation {
        Confirmation::Confirmed(c) => c,
        Confirmation::Refused(checked) => {
            let say = setup::say_refused(pending.kind(), checked);
            return page(state, ctx, v, pending, label, say).await;
        }
    };
    // Checked again at the bind: the page may predate the tenant's proof or the proof expired.
    let gate = if confirmed.proves_mailbox {
        Gate::NotNeeded
    } else {
        proof::gate(state, ctx, headers, v, &path).await?
    };
    let actor = actor(v);
    let e = Enrolment {
        tenant: &ctx.tenant,
        user: &v.user,
        actor: &actor,
        proof: if gate == Gate::Proven {
            MailboxProof::Proven
        } else {
            MailboxProof::NotProven
        },
        session: Some(&v.session.id),
    };
    let (_, codes) = enrolment::bind(&deps, &e, &confirmed)
        .await
        .or_500(state, ctx)?;
    let first = codes.is_some();
    if first && (gate == Gate::Proven || confirmed.proves_mailbox) {
        let mut proven = v.session.proven();
        if let Some(method) = webauthn::proves_confirmed(&confirmed) {
            proven.add(method, deps.now);
        }
        sessions::record_proof(&state.db, &v.session, &proven, deps.now)
            .await
            .or_500(state, ctx)?;
    }
    let mut res = match codes {
        Some(codes) => super::codes::with_flash(
            state,
            ctx,
            v,
            codes,
            &format!("{}/recovery-codes?first=1", home(ctx)),
        ),
        None => Redirect::to(&format!("{}?done=added", home(ctx))).into_response(),
    };
    if gate == Gate::Proven {
        res.headers_mut()
            .append(header::SET_COOKIE, proof::forget(state, ctx));
    }
    Ok(res)
}
