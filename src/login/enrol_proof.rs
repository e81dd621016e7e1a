//! The enrolment hole, closed: before a factor is bound during sign-in (when MFA has just become
//! required for a user with no factor), the user proves they read the account's mailbox with a
//! one-time code. Someone holding only a stolen password cannot enrol their own authenticator.
//! The codes and every limit on them live in [`crate::otp`]; this is the page. The account
//! pages ask for the same proof through [`crate::account::proof`] with the same messages.

use std::collections::HashMap;

use axum::extract::{Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;

use super::flow::{self, Stage, Tx};
use super::mfa::load_at;
use crate::model::now;
use crate::otp::{Checked, Codes, OtpError, Purpose, Recipient, Sent, mask_email};
use crate::state::{AppState, TenantCtx};
use crate::store::users::User;
use crate::web::browser::Browser;
use crate::web::client_ip::ClientIp;
use crate::web::pages::server_error;
use crate::web::pages::{self, Base};

/// What the proof page says: a notice or an error, and the status it is served with.
#[derive(Debug, Clone, Copy, Default)]
pub struct Say {
    pub notice: Option<&'static str>,
    pub error: Option<&'static str>,
    pub status: Option<StatusCode>,
    /// Minutes until a lock or a throttle ends, for the `{minutes}` placeholder.
    pub minutes: i64,
}

const LOCKED: &str =
    "Too many wrong codes were entered. For your security, wait {minutes} minutes, then try again.";

fn minutes_until(until: i64) -> i64 {
    ((until - now() + 59) / 60).max(1)
}

/// The words for a send outcome (first visit or "Send again"). A failed delivery is told as
/// such; the page still offers "Send again".
pub fn say_sent(sent: Result<Option<Sent>, OtpError>, resend: bool) -> Result<Say, OtpError> {
    Ok(match sent {
        Ok(None) => Say::default(),
        Ok(Some(Sent::Sent { .. })) => Say {
            notice: resend.then_some("We sent a new code."),
            ..Say::default()
        },
        Ok(Some(Sent::Throttled { retry_after })) => Say {
            notice: Some(
                "A code was sent less than a minute ago. Check your inbox, or try again shortly.",
            ),
            status: resend.then_some(StatusCode::TOO_MANY_REQUESTS),
            minutes: minutes_until(now() + retry_after),
            ..Say::default()
        },
        Ok(Some(Sent::DailyCapReached { until })) => Say {
            error: Some(
                "We have sent as many codes as we can today. Use the last code we sent, or try again tomorrow.",
            ),
            status: Some(StatusCode::TOO_MANY_REQUESTS),
            minutes: minutes_until(until),
            ..Say::default()
        },
        Ok(Some(Sent::Locked { until })) => Say {
            error: Some(LOCKED),
            status: Some(StatusCode::TOO_MANY_REQUESTS),
            minutes: minutes_until(until),
            ..Say::default()
        },
        Err(OtpError::Mail(e)) => {
            tracing::warn!(error = %e, "enrolment proof code not sent");
            Say {
                error: Some("We could not send the code just now. Select Send again in a moment."),
                status: Some(StatusCode::SERVICE_UNAVAILABLE),
                ..Say::default()
            }
        }
        Err(e) => return Err(e),
    })
}

/// The words for a checked code that did not verify.
pub fn say_checked(checked: Checked) -> Say {
    let (error, status, minutes) = match checked {
        Checked::Verified => (None, None, 0),
        Checked::Wrong { remaining: 0 } => (
            Some("Too many wrong codes. Select Send again for a new one."),
            Some(StatusCode::UNAUTHORIZED),
            0,
        ),
        Checked::Wrong { .. } => (
            Some("That code didn't work. Check the email and try again."),
            Some(StatusCode::UNAUTHORIZED),
            0,
        ),
        Checked::Locked { until } => (
            Some(LOCKED),
            Some(StatusCode::TOO_MANY_REQUESTS),
            minutes_until(until),
        ),
        Checked::Expired => (
            Some("That code has expired. Select Send again for a new one."),
            Some(StatusCode::UNAUTHORIZED),
            0,
        ),
    };
    Say {
        notice: None,
        error,
        status,
        minutes,
    }
}

#[derive(Serialize)]
struct ProofPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    tx: &'a str,
    csrf: String,
    masked_email: String,
    notice: Option<&'a str>,
    error: Option<&'a str>,
    minutes: i64,
}

fn render(
    state: &AppState,
    ctx: &TenantCtx,
    tx: &Tx,
    browser: &Browser,
    user: &User,
    say: Say,
) -> Response {
    state.templates.page(
        say.status.unwrap_or(StatusCode::OK),
        &ctx.tenant.theme,
        "enrol_proof.html",
        ProofPage {
            base: Base::new(&ctx.tenant),
            title: "Confirm it's you",
            tx: &tx.handle,
            csrf: browser.csrf_token(&state.secret),
            masked_email: mask_email(&user.email),
            notice: say.notice,
            error: say.error,
            minutes: say.minutes,
        },
    )
}

pub async fn show(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (tx, browser, _, user) = match load_at(
        &state,
        &ctx,
        &headers,
        q.get("tx").map(String::as_str),
        Stage::EnrolProof,
    )
    .await
    {
        Ok(t) => t,
        Err(r) => return r,
    };
    // The first visit sends the code; reloading the page does not send another.
    let sent = Codes::new(&state)
        .ensure_sent(
            Purpose::EnrollmentProof,
            Recipient {
                tenant: &ctx.tenant,
                user: &user,
                scope: &tx.row.id,
            },
            now(),
        )
        .await;
    match say_sent(sent, false) {
        Ok(say) => render(&state, &ctx, &tx, &browser, &user, say),
        Err(e) => server_error(&state, &ctx, e),
    }
}

pub async fn submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    let ip = Some(client_ip.to_string());
    match run(&state, &ctx, &headers, ip, &body).await {
        Ok(r) | Err(r) => r,
    }
}

async fn run(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    ip: Option<String>,
    body: &[u8],
) -> Result<Response, Response> {
    let form = crate::web::form::parse_params(body).unwrap_or_default();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let (mut tx, browser, client, user) =
        load_at(state, ctx, headers, Some(field("tx")), Stage::EnrolProof).await?;
    if !browser.verify_csrf(&state.secret, field("csrf")) {
        return Err(pages::expired(state, &ctx.tenant, tx.back_url().as_deref()));
    }
    let codes = Codes::new(state);

    if field("action") == "resend" {
        let sent = codes
            .send(
                Purpose::EnrollmentProof,
                Recipient {
                    tenant: &ctx.tenant,
                    user: &user,
                    scope: &tx.row.id,
                },
                now(),
            )
            .await
            .map(Some);
        let say = say_sent(sent, true).map_err(|e| server_error(state, ctx, e))?;
        return Ok(render(state, ctx, &tx, &browser, &user, say));
    }

    let checked = codes
        .verify(Purpose::EnrollmentProof, &user.id, field("code"), now())
        .await
        .map_err(|e| server_error(state, ctx, e))?;
    if checked != Checked::Verified {
        return Err(render(
            state,
            ctx,
            &tx,
            &browser,
            &user,
            say_checked(checked),
        ));
    }
    // Reading the code proves the address works: it is verified from now on.
    crate::store::users::mark_email_verified(&state.db, &user.id)
        .await
        .map_err(|e| server_error(state, ctx, e))?;
    tx.extra.proof_done = true;
    // An offered set-up checked its first code before the proof: bind it now.
    if let Some((label, step)) = tx.extra.verified_totp.clone() {
        return super::enrol::bind_and_continue(
            state,
            ctx,
            headers,
            ip,
            tx,
            &client,
            &user,
            &label,
            step,
            Stage::EnrolProof,
        )
        .await;
    }
    flow::move_to(state, ctx, tx, Stage::EnrolProof, Stage::Enrol).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_codes_get_their_words_and_status() {
        let wrong = say_checked(Checked::Wrong { remaining: 3 });
        assert_eq!(wrong.status, Some(StatusCode::UNAUTHORIZED));
        assert!(wrong.error.unwrap().contains("didn't work"));
        let dead = say_checked(Checked::Wrong { remaining: 0 });
        assert!(dead.error.unwrap().contains("Select Send again"));
        let locked = say_checked(Checked::Locked { until: now() + 900 });
        assert_eq!(locked.status, Some(StatusCode::TOO_MANY_REQUESTS));
        assert_eq!(locked.minutes, 15);
        assert!(
            say_checked(Checked::Expired)
                .error
                .unwrap()
                .contains("expired")
        );
    }

    #[test]
    fn a_throttled_resend_is_429_but_a_first_visit_is_a_page() {
        let throttled = || Ok(Some(Sent::Throttled { retry_after: 20 }));
        let resend = say_sent(throttled(), true).unwrap();
        assert_eq!(resend.status, Some(StatusCode::TOO_MANY_REQUESTS));
        assert!(resend.notice.is_some());
        assert_eq!(say_sent(throttled(), false).unwrap().status, None);
        let sent = say_sent(Ok(Some(Sent::Sent { expires_at: 0 })), true).unwrap();
        assert_eq!(sent.notice, Some("We sent a new code."));
        let capped = say_sent(Ok(Some(Sent::DailyCapReached { until: 0 })), true).unwrap();
        assert_eq!(capped.status, Some(StatusCode::TOO_MANY_REQUESTS));
    }
}
