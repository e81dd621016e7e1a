//! The mailbox proof on the account pages: before a user with no factor binds their first one,
//! they enter a one-time code mailed to the account's address, exactly as at sign-in (the
//! tenant's `mfa_enrollment_proof`). Without it, whoever holds the password alone could add
//! their own authenticator here and carry MFA to every client (issue 9). The result is held in
//! a sealed (JWE), HttpOnly, 10-minute cookie bound to the user *and* the SSO session, so it
//! can be neither set by the client nor carried to another session.

use crate::ids::UserId;
use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::guard::Visitor;
use super::manage::{change, home, recent_visitor};
use crate::crypto::seal;
use crate::model::{EnrollmentProof, now};
use crate::otp::{Checked, Codes, Purpose, Recipient, mask_email};
use crate::state::{AppState, TenantCtx};
use crate::store::{factors, users};
use crate::web::cookies;
use crate::web::pages::Base;
use crate::web::say::{Say, say_checked, say_sent};
use crate::web::{FormFields, Or500, PageError, PageResult};

const COOKIE: &str = "gh_proof";
const SEAL: &str = "account-enrolment-proof";
/// Long enough to scan a QR code and type the first code, short enough to go stale.
const PROOF_SECS: i64 = 600;

#[derive(Serialize, Deserialize)]
struct Held {
    user_id: UserId,
    session_id: String,
    exp: i64,
}

fn proof_path(ctx: &TenantCtx) -> String {
    format!("{}/verify-email", home(ctx))
}

/// Only pages under this tenant's account pages: never an open redirect.
fn next_of(ctx: &TenantCtx, asked: Option<&String>) -> String {
    let home = home(ctx);
    asked
        .filter(|p| p.starts_with(&format!("{home}/")) && !p.contains("//"))
        .cloned()
        .unwrap_or_else(|| format!("{home}/add/totp"))
}

fn held(state: &AppState, headers: &HeaderMap, v: &Visitor) -> bool {
    cookies::get(headers, COOKIE)
        .and_then(|s| seal::open(&state.secret, SEAL, &s).ok())
        .and_then(|b| serde_json::from_slice::<Held>(&b).ok())
        .is_some_and(|h| h.user_id == v.user.id && h.session_id == v.session.id && h.exp > now())
}

/// Where the visitor stands with the proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// The user already has a factor (the re-authentication window asked for it), or the tenant
    /// asks for no proof. Binding proves nothing beyond what the session holds.
    NotNeeded,
    /// The mailbox was proven in this session just now.
    Proven,
    /// A first factor may not be bound yet.
    Missing,
}

pub async fn status(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    v: &Visitor,
) -> Result<Gate, PageError> {
    let has_factor = !factors::list_for_user(&state.db, &v.user.id)
        .await
        .or_500(state, ctx)?
        .is_empty();
    Ok(
        if has_factor || ctx.tenant.mfa_enrollment_proof != EnrollmentProof::Email {
            Gate::NotNeeded
        } else if held(state, headers, v) {
            Gate::Proven
        } else {
            Gate::Missing
        },
    )
}

/// Checks the proof before a first factor is bound: `NotNeeded` or `Proven`, or the redirect to
/// the proof page (which comes back to `next`).
pub async fn gate(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    v: &Visitor,
    next: &str,
) -> Result<Gate, PageError> {
    match status(state, ctx, headers, v).await? {
        Gate::Missing => {
            let to = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("next", next)
                .finish();
            Err(Redirect::to(&format!("{}?{to}", proof_path(ctx)))
                .into_response()
                .into())
        }
        g => Ok(g),
    }
}

/// Spends the proof with the bind it allowed.
pub fn forget(state: &AppState, ctx: &TenantCtx) -> HeaderValue {
    cookies::delete(COOKIE, &home(ctx), state.is_https())
}

#[derive(Serialize)]
struct ProofPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    csrf: String,
    next: &'a str,
    masked_email: String,
    notice: Option<&'a str>,
    error: Option<&'a str>,
    minutes: i64,
}

fn render(state: &AppState, ctx: &TenantCtx, v: &Visitor, next: &str, say: Say) -> Response {
    state.templates.page(
        say.status.unwrap_or(StatusCode::OK),
        &ctx.tenant.theme,
        "account_verify_email.html",
        ProofPage {
            base: Base::new(&ctx.tenant),
            title: "Confirm it's you",
            csrf: v.browser.csrf_token(&state.secret),
            next,
            masked_email: mask_email(&v.user.email),
            notice: say.notice,
            error: say.error,
            minutes: say.minutes,
        },
    )
}

fn recipient<'a>(ctx: &'a TenantCtx, v: &'a Visitor) -> Recipient<'a> {
    Recipient {
        tenant: &ctx.tenant,
        user: &v.user,
        address: &v.user.email,
        // The SSO session plays the login transaction's part for the per-scope throttle.
        scope: &v.session.id,
        ip: None,
    }
}

/// `GET /account/verify-email?next=...`: sends the code on the first visit (not on a reload).
pub async fn show(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let next = next_of(&ctx, q.get("next"));
    let path = format!("{}?next={}", proof_path(&ctx), urlencode(&next));
    let v = recent_visitor(&state, &ctx, &headers, &path).await?;
    if status(&state, &ctx, &headers, &v).await? != Gate::Missing {
        return Ok(Redirect::to(&next).into_response());
    }
    let sent = Codes::new(&state)
        .ensure_sent(Purpose::EnrollmentProof, recipient(&ctx, &v), now())
        .await;
    let say = say_sent(sent, false).or_500(&state, &ctx)?;
    Ok(render(&state, &ctx, &v, &next, say))
}

/// `POST /account/verify-email`: "Continue" with the code, or "Send again".
pub async fn submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    form: FormFields,
) -> PageResult {
    let v = change(&state, &ctx, &headers, &form, &proof_path(&ctx)).await?;
    let next = next_of(&ctx, form.value("next"));
    let codes = Codes::new(&state);
    if form.get("action") == "resend" {
        let sent = codes
            .send(Purpose::EnrollmentProof, recipient(&ctx, &v), now())
            .await
            .map(Some);
        let say = say_sent(sent, true).or_500(&state, &ctx)?;
        return Ok(render(&state, &ctx, &v, &next, say));
    }
    let checked = codes
        .verify(
            Purpose::EnrollmentProof,
            &v.user.id,
            form.get("code"),
            now(),
        )
        .await
        .or_500(&state, &ctx)?;
    if checked != Checked::Verified {
        return Ok(render(&state, &ctx, &v, &next, say_checked(checked)));
    }
    // Reading the code proves the address works: it is verified from now on.
    users::mark_email_verified(&state.db, &v.user.id)
        .await
        .or_500(&state, &ctx)?;
    let held = Held {
        user_id: v.user.id.clone(),
        session_id: v.session.id.clone(),
        exp: now() + PROOF_SECS,
    };
    let Ok(sealed) = seal::seal(
        &state.secret,
        SEAL,
        &serde_json::to_vec(&held).unwrap_or_default(),
    ) else {
        return Err(PageError::internal(&state, &ctx, "sealing failed"));
    };
    let mut res = Redirect::to(&next).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(
            COOKIE,
            &sealed,
            &home(&ctx),
            Some(PROOF_SECS),
            state.is_https(),
        ),
    );
    Ok(res)
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
