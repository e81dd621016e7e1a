//! Enrolment at sign-in: "Set up two-factor authentication" with every method the enrolment
//! offers (the same factor set-up as the account pages: `mfa::enrolment`, `web::setup`), then
//! "Note down your recovery codes" shown once. The Skip button appears only when the enrolment
//! is offered rather than required.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::flow::{self, At, Event, Offer, Stage, Tx};
use super::tx::{Resume, load_at, record_second_factor};
use super::tx_form::load_posted;
use crate::mfa::factor::{self, Confirmation, Confirmed, Pending};
use crate::mfa::proven::Method;
use crate::mfa::service::{self as mfa, Enrolment};
use crate::mfa::{enrolment, totp, webauthn};
use crate::model::{EnrollmentProof, MfaMethod};
use crate::state::{AppState, TenantCtx};
use crate::store::users::User;
use crate::web::browser::Browser;
use crate::web::client_ip::ClientIp;
use crate::web::pages::Base;
use crate::web::say::Say;
use crate::web::setup;
use crate::web::{FormFields, Or500, PageError, PageResult};

/// The enrolment this transaction offers (nothing outside the enrolment stages).
fn offer(tx: &Tx) -> Offer {
    match &tx.extra.at {
        At::Enrol { offer, .. } | At::EnrolProof { offer, .. } => offer.clone(),
        _ => Offer::default(),
    }
}

fn pending(tx: &Tx) -> Option<&String> {
    match &tx.extra.at {
        At::Enrol { pending, .. } => pending.as_ref(),
        _ => None,
    }
}

fn set_pending(tx: &mut Tx, sealed: Option<String>) {
    if let At::Enrol { pending, .. } = &mut tx.extra.at {
        *pending = sealed;
    }
}

#[derive(Serialize)]
struct TotpPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    tx: &'a str,
    csrf: String,
    pending: &'a str,
    key: String,
    otpauth_uri: String,
    qr: String,
    label: &'a str,
    skippable: bool,
    error: Option<&'a str>,
}

/// A set-up page's state: the enrolment, what the user typed, and what the page says.
struct Setup<'a> {
    pending: &'a Pending,
    sealed: &'a str,
    label: &'a str,
    say: Say,
}

async fn render(
    state: &AppState,
    ctx: &TenantCtx,
    tx: &Tx,
    browser: &Browser,
    user: &User,
    setup: Setup<'_>,
) -> Response {
    let status = setup.say.status.unwrap_or(StatusCode::OK);
    let csrf = browser.csrf_token(&state.secret);
    match setup.pending {
        Pending::Totp { seed } => {
            let Some(p) = totp::pending_provisioning(&state.secret, seed, &ctx.tenant, user) else {
                return PageError::expired(state, ctx, tx.back_url().as_deref()).into_response();
            };
            state.templates.page(
                status,
                &ctx.tenant.theme,
                "enrol.html",
                TotpPage {
                    base: Base::new(&ctx.tenant),
                    title: "Set up two-factor authentication",
                    tx: &tx.handle,
                    csrf,
                    pending: setup.sealed,
                    key: p.key,
                    otpauth_uri: p.uri,
                    qr: p.qr_png_base64,
                    label: setup.label,
                    skippable: offer(tx).skippable,
                    error: setup.say.error,
                },
            )
        }
        Pending::Webauthn { ceremony } => {
            let deps = state.mfa_deps();
            match webauthn::start_registration(&deps, &ctx.tenant.id, user, ceremony).await {
                Ok(ceremony) => setup::key_page(
                    state,
                    ctx,
                    setup::KeySetup {
                        action: &format!("/t/{}/enrol", ctx.tenant.slug),
                        tx: Some(&tx.handle),
                        csrf,
                        sealed: setup.sealed,
                        ceremony: &ceremony,
                        label: setup.label,
                        skippable: offer(tx).skippable,
                        back: None,
                        say: setup.say,
                    },
                ),
                Err(e) => PageError::internal(state, ctx, e).into_response(),
            }
        }
        // Absolute: after the enrolment proof this page answers a POST to `enrol/verify-email`.
        Pending::Email { .. } | Pending::Sms { .. } => setup::page(
            state,
            ctx,
            setup::CodeSetup {
                action: &format!("/t/{}/enrol", ctx.tenant.slug),
                tx: Some(&tx.handle),
                csrf,
                pending: setup.pending,
                sealed: setup.sealed,
                user,
                label: setup.label,
                skippable: offer(tx).skippable,
                back: None,
                say: setup.say,
            },
        ),
    }
}

/// The methods this enrolment offers, when there is a choice to make.
fn chooser(state: &AppState, ctx: &TenantCtx, tx: &Tx, browser: &Browser) -> Response {
    let methods = offer(tx)
        .methods
        .into_iter()
        .filter_map(factor::describe)
        .map(|d| setup::MethodChoice {
            href: format!("enrol?tx={}&method={}", tx.handle, d.kind.as_str()),
            label: d.name,
            hint: d.hint,
        })
        .collect();
    setup::choose_page(
        state,
        ctx,
        setup::Choose {
            title: "Set up two-factor authentication",
            methods,
            tx: Some(&tx.handle),
            csrf: Some(browser.csrf_token(&state.secret)),
            skippable: offer(tx).skippable,
            back: None,
        },
    )
}

/// The enrolment this transaction holds, or a new one of `method` (when the enrolment offers
/// it, or when it is the only method on offer), saved on the transaction.
async fn pending_of(
    state: &AppState,
    tx: &mut Tx,
    user: &User,
    method: &str,
) -> Result<Option<(Pending, String)>, crate::store::StoreError> {
    let deps = state.mfa_deps();
    let current = pending(tx).and_then(|s| enrolment::open(&state.secret, s, &user.id, deps.now));
    let offered = offer(tx).methods;
    let wanted = match offered.as_slice() {
        [only] => Some(*only),
        offered => offered.iter().copied().find(|m| m.as_str() == method),
    };
    if let Some(p) = current
        && wanted.is_none_or(|w| w == p.kind())
    {
        let sealed = pending(tx).cloned().unwrap_or_default();
        return Ok(Some((p, sealed)));
    }
    let Some(p) = wanted.and_then(|kind| factor::begin(&deps, kind)) else {
        return Ok(None);
    };
    let Some(sealed) = enrolment::seal(&state.secret, &user.id, &p, deps.now) else {
        return Ok(None);
    };
    set_pending(tx, Some(sealed.clone()));
    flow::save(state, tx).await?;
    Ok(Some((p, sealed)))
}

pub async fn show(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let param = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let (mut tx, browser, _, user) =
        load_at(&state, &ctx, &headers, Some(param("tx")), Stage::Enrol).await?;
    let pending = pending_of(&state, &mut tx, &user, param("method"))
        .await
        .or_500(&state, &ctx)?;
    let Some((pending, sealed)) = pending else {
        return Ok(chooser(&state, &ctx, &tx, &browser));
    };
    let setup = Setup {
        pending: &pending,
        sealed: &sealed,
        label: "",
        say: Say::default(),
    };
    Ok(render(&state, &ctx, &tx, &browser, &user, setup).await)
}

pub async fn submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    form: FormFields,
) -> PageResult {
    let (state, ctx, headers) = (&state, &ctx, &headers);
    let (mut tx, browser, client, user) =
        load_posted(state, ctx, headers, &form, Stage::Enrol).await?;
    let ip = Some(client_ip.to_string());
    if form.get("action") == "skip" {
        if !offer(&tx).skippable {
            return Err(PageError::page(
                state,
                ctx,
                StatusCode::FORBIDDEN,
                "Two-factor authentication is required",
                "Two-factor authentication is required for your account.",
                tx.back_url().as_deref(),
            ));
        }
        tx.extra.skipped = true;
        mfa::record(
            &state.db,
            &ctx.tenant,
            &user,
            &format!("user:{}", user.id),
            "mfa.enrolment_skipped",
            serde_json::json!({}),
        )
        .await
        .or_500(state, ctx)?;
        return flow::advance(state, ctx, headers, ip, tx, &client, Event::Skipped).await;
    }
    // The enrolment the page was showing: the one this transaction holds, and no other.
    let deps = state.mfa_deps();
    let sealed = pending(&tx).cloned().unwrap_or_default();
    let Some(pending) = enrolment::open(&state.secret, &sealed, &user.id, deps.now) else {
        return Err(PageError::expired(state, ctx, tx.back_url().as_deref()));
    };
    if matches!(form.get("action"), "send" | "resend") && pending.sends_codes() {
        // A text proves nothing of the mailbox: the enrolment proof comes before any number
        // gets a code, so a stolen password alone cannot make the deployment text anyone.
        if pending.kind() == MfaMethod::Sms
            && ctx.tenant.mfa_enrollment_proof == EnrollmentProof::Email
            && !tx.extra.proof_done
        {
            let at = At::EnrolProof {
                offer: offer(&tx),
                confirmed: None,
                resume: Some(Resume {
                    pending: sealed,
                    address: form.get("address").to_owned(),
                }),
            };
            return flow::go(state, ctx, tx, at).await;
        }
        let send = Send {
            address: form.get("address"),
            label: form.get("label"),
            resend: form.get("action") == "resend",
            ip: client_ip,
        };
        return send_code(state, ctx, tx, &browser, &user, &pending, send).await;
    }
    let confirmed =
        match factor::confirm(&deps, &user, &pending, form.get("label"), form.get("code"))
            .await
            .or_500(state, ctx)?
        {
            Confirmation::Confirmed(c) => c,
            Confirmation::Refused(checked) => {
                let setup = Setup {
                    pending: &pending,
                    sealed: &sealed,
                    label: form.get("label"),
                    say: setup::say_refused(pending.kind(), checked),
                };
                return Ok(render(state, ctx, &tx, &browser, &user, setup).await);
            }
        };
    // The mailbox is proven now, before anything is bound, unless this factor's own code just
    // proved it; the checked factor waits in the transaction so nothing is typed again.
    if ctx.tenant.mfa_enrollment_proof == EnrollmentProof::Email
        && !tx.extra.proof_done
        && !confirmed.proves_mailbox
    {
        let at = At::EnrolProof {
            offer: offer(&tx),
            confirmed: Some(confirmed),
            resume: None,
        };
        return flow::go(state, ctx, tx, at).await;
    }
    match bind(state, ctx, &mut tx, &user, &confirmed).await? {
        Some(codes) => flow::go(state, ctx, tx, codes).await,
        None => flow::advance(state, ctx, headers, ip, tx, &client, Event::FactorVerified).await,
    }
}

/// What "Send code" (or "Request a new code") on a set-up page asked for.
pub struct Send<'a> {
    pub address: &'a str,
    pub label: &'a str,
    pub resend: bool,
    pub ip: std::net::IpAddr,
}

/// Sends the set-up code of `pending` (email, SMS) within the throttles, keeps the enrolment
/// (now naming where the code went) on the transaction, and shows the set-up page again.
pub async fn send_code(
    state: &AppState,
    ctx: &TenantCtx,
    mut tx: Tx,
    browser: &Browser,
    user: &User,
    pending: &Pending,
    send: Send<'_>,
) -> PageResult {
    let deps = state.mfa_deps();
    let address = setup::address_to_send(&ctx.tenant, pending, send.address, send.resend);
    let from = setup::Sender {
        tenant: &ctx.tenant,
        user,
        scope: &tx.row.id,
        ip: send.ip,
    };
    let (say, pending) = setup::send_code(&deps, from, address, pending, send.resend)
        .await
        .or_500(state, ctx)?;
    let sealed = enrolment::seal(&state.secret, &user.id, &pending, deps.now)
        .ok_or("sealing failed")
        .or_500(state, ctx)?;
    set_pending(&mut tx, Some(sealed.clone()));
    flow::save(state, &mut tx).await.or_500(state, ctx)?;
    let setup = Setup {
        pending: &pending,
        sealed: &sealed,
        label: send.label,
        say,
    };
    Ok(render(state, ctx, &tx, browser, user, setup).await)
}

/// Binds the checked factor and records it as this sign-in's second factor. `Some`: the
/// recovery-codes stage to show (a first factor); `None`: the caller advances with
/// [`Event::FactorVerified`].
pub async fn bind(
    state: &AppState,
    ctx: &TenantCtx,
    tx: &mut Tx,
    user: &User,
    confirmed: &Confirmed,
) -> Result<Option<At>, PageError> {
    let proof = if tx.extra.proof_done {
        mfa::MailboxProof::Proven
    } else {
        mfa::MailboxProof::NotProven
    };
    let actor = format!("user:{}", user.id);
    let e = Enrolment {
        tenant: &ctx.tenant,
        user,
        actor: &actor,
        proof,
        session: None,
    };
    let (_factor, codes) = enrolment::bind(&state.mfa_deps(), &e, confirmed)
        .await
        .or_500(state, ctx)?;
    let method = webauthn::proves_confirmed(confirmed).unwrap_or(Method::Totp);
    record_second_factor(state, ctx, tx, method).await?;
    codes
        .map(|codes| super::codes::codes_stage(state, &codes, false).or_500(state, ctx))
        .transpose()
}
