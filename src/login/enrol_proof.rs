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
use super::tx::load_at;
use crate::model::now;
use crate::otp::{Checked, Codes, Purpose, Recipient, mask_email};
use crate::state::{AppState, TenantCtx};
use crate::store::users::User;
use crate::web::Or500;
use crate::web::browser::Browser;
use crate::web::client_ip::ClientIp;
use crate::web::pages::server_error;
use crate::web::pages::{self, Base};
use crate::web::say::{Say, say_checked, say_sent};

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
                address: &user.email,
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
                    address: &user.email,
                    scope: &tx.row.id,
                },
                now(),
            )
            .await
            .map(Some);
        let say = say_sent(sent, true).or_500(state, ctx)?;
        return Ok(render(state, ctx, &tx, &browser, &user, say));
    }

    let checked = codes
        .verify(Purpose::EnrollmentProof, &user.id, field("code"), now())
        .await
        .or_500(state, ctx)?;
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
        .or_500(state, ctx)?;
    tx.extra.proof_done = true;
    let flow::At::EnrolProof { offer, confirmed } = tx.extra.at.clone() else {
        return Err(pages::expired(state, &ctx.tenant, tx.back_url().as_deref()));
    };
    // A set-up checked its first code before the proof: bind it now.
    if let Some(confirmed) = confirmed {
        return super::enrol::bind_and_continue(
            state, ctx, headers, ip, tx, &client, &user, &confirmed,
        )
        .await;
    }
    let at = flow::At::Enrol {
        offer,
        pending: None,
    };
    flow::go(state, ctx, tx, at).await
}
