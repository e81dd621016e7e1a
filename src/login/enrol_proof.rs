//! The enrolment hole, closed: before a factor is bound during sign-in (when MFA has just become
//! required for a user with no factor), the user proves they read the account's mailbox with a
//! one-time code. Someone holding only a stolen password cannot enrol their own authenticator.
//! The codes and every limit on them live in [`crate::otp`]; this is the page. The account
//! pages ask for the same proof through [`crate::account::proof`] with the same messages.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;

use super::flow::{self, Stage, Tx};
use super::tx::load_at;
use super::tx_form::load_posted;
use crate::mfa::enrolment;
use crate::model::now;
use crate::otp::{Checked, Codes, Purpose, Recipient, mask_email};
use crate::state::{AppState, TenantCtx};
use crate::store::users::User;
use crate::web::browser::Browser;
use crate::web::client_ip::ClientIp;
use crate::web::pages::Base;
use crate::web::say::{Say, say_checked, say_sent};
use crate::web::{FormFields, Or500, PageError, PageResult};

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
) -> PageResult {
    let handle = q.get("tx").map(String::as_str);
    let (tx, browser, _, user) = load_at(&state, &ctx, &headers, handle, Stage::EnrolProof).await?;
    // The first visit sends the code; reloading the page does not send another.
    let sent = Codes::new(&state)
        .ensure_sent(
            Purpose::EnrollmentProof,
            Recipient {
                tenant: &ctx.tenant,
                user: &user,
                address: &user.email,
                scope: &tx.row.id,
                ip: None,
            },
            now(),
        )
        .await;
    let say = say_sent(sent, false).or_500(&state, &ctx)?;
    Ok(render(&state, &ctx, &tx, &browser, &user, say))
}

pub async fn submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    form: FormFields,
) -> PageResult {
    let (state, ctx, headers) = (&state, &ctx, &headers);
    let ip = Some(client_ip.to_string());
    let (mut tx, browser, client, user) =
        load_posted(state, ctx, headers, &form, Stage::EnrolProof).await?;
    let codes = Codes::new(state);

    if form.get("action") == "resend" {
        let sent = codes
            .send(
                Purpose::EnrollmentProof,
                Recipient {
                    tenant: &ctx.tenant,
                    user: &user,
                    address: &user.email,
                    scope: &tx.row.id,
                    ip: None,
                },
                now(),
            )
            .await
            .map(Some);
        let say = say_sent(sent, true).or_500(state, ctx)?;
        return Ok(render(state, ctx, &tx, &browser, &user, say));
    }

    let checked = codes
        .verify(Purpose::EnrollmentProof, &user.id, form.get("code"), now())
        .await
        .or_500(state, ctx)?;
    if checked != Checked::Verified {
        return Ok(render(
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
        .or_500(state, ctx)?;
    tx.extra.proof_done = true;
    let flow::At::EnrolProof {
        offer,
        confirmed,
        resume,
    } = tx.extra.at.clone()
    else {
        return Err(PageError::expired(state, ctx, tx.back_url().as_deref()));
    };
    // A set-up checked its first code before the proof: bind it now.
    if let Some(confirmed) = confirmed {
        return match super::enrol::bind(state, ctx, &mut tx, &user, &confirmed).await? {
            Some(codes) => flow::go(state, ctx, tx, codes).await,
            None => {
                let verified = flow::Event::FactorVerified;
                flow::advance(state, ctx, headers, ip, tx, &client, verified).await
            }
        };
    }
    // A text set-up that was waiting for the proof: its code goes out now, to the number typed.
    if let Some(resume) = resume
        && let Some(pending) = enrolment::open(&state.secret, &resume.pending, &user.id, now())
    {
        let at = flow::At::Enrol {
            offer,
            pending: Some(resume.pending),
        };
        if !flow::shift(state, &mut tx, at).await.or_500(state, ctx)? {
            return Err(PageError::expired(state, ctx, tx.back_url().as_deref()));
        }
        let send = super::enrol::Send {
            address: &resume.address,
            label: "",
            resend: false,
            ip: client_ip,
        };
        return super::enrol::send_code(state, ctx, tx, &browser, &user, &pending, send).await;
    }
    let at = flow::At::Enrol {
        offer,
        pending: None,
    };
    flow::go(state, ctx, tx, at).await
}
