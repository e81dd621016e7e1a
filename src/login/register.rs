//! "Create an account" (tenant `registration.enabled`), inside the sign-in the application
//! started: the form, then "Check your inbox" until the mail's link or code verifies the email,
//! then the MFA set-up the tenant's `registration.mfa_setup` asks for, consent, and the code
//! back to the application. No answer tells whether the address had an account (see
//! `crate::lifecycle`).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;

use super::flow::{self, At, Notice, Stage, Tx};
use super::inbox::{self, AtInbox, Kind};
use super::tx_form::TxForm;
use crate::crypto::password::PasswordError;
use crate::lifecycle::{self, Registration};
use crate::model::now;
use crate::otp::{Checked, Codes};
use crate::state::{AppState, TenantCtx};
use crate::store::users::{self, User};
use crate::web::browser::Browser;
use crate::web::client_ip::ClientIp;
use crate::web::csrf_form::AsFormExpired;
use crate::web::pages::Base;
use crate::web::say::{say_checked, say_sent};
use crate::web::{FormFields, Or500, PageError, PageResult};

const MAX_NAME_CHARS: usize = 200;

#[derive(Serialize)]
struct RegisterPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    tx: &'a str,
    csrf: String,
    client_name: &'a str,
    email: &'a str,
    name: &'a str,
    error: Option<&'a str>,
    /// Which field the error is about (`email`, `name`, `password`).
    error_field: &'a str,
}

/// What the form had, shown again with an error (never the password).
struct Typed<'a> {
    email: &'a str,
    name: &'a str,
}

fn not_offered(state: &AppState, ctx: &TenantCtx, back: Option<&str>) -> PageError {
    PageError::page(
        state,
        ctx,
        StatusCode::NOT_FOUND,
        "Registration is not available",
        "New accounts can't be created here. Ask your administrator for an account.",
        back,
    )
}

/// The transaction at the sign-in form, where "Create an account" is a view of it.
async fn at_sign_in(
    state: &AppState,
    ctx: &TenantCtx,
    tx: &Tx,
) -> Result<std::sync::Arc<crate::store::clients::Client>, PageError> {
    let back = tx.back_url();
    if !ctx.tenant.registration_enabled {
        return Err(not_offered(state, ctx, back.as_deref()));
    }
    if tx.stage() != Some(Stage::Credentials) {
        return Err(match tx.stage() {
            Some(other) => flow::redirect_to_stage(ctx, other, &tx.handle).into(),
            None => PageError::expired(state, ctx, back.as_deref()),
        });
    }
    super::tx::client_of(state, ctx, tx).await
}

fn render_form(
    state: &AppState,
    ctx: &TenantCtx,
    tx: &Tx,
    browser: &Browser,
    client_name: &str,
    typed: Typed<'_>,
    error: Option<(&str, &str)>,
) -> Response {
    let status = match error {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    state.templates.page(
        status,
        &ctx.tenant.theme,
        "register.html",
        RegisterPage {
            base: Base::new(&ctx.tenant),
            tx: &tx.handle,
            csrf: browser.csrf_token(&state.secret),
            client_name,
            email: typed.email,
            name: typed.name,
            error: error.map(|(_, e)| e),
            error_field: error.map(|(f, _)| f).unwrap_or(""),
        },
    )
}

pub async fn show(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let (tx, browser) = flow::load(&state, &ctx, &headers, q.get("tx").map(String::as_str)).await?;
    let client = at_sign_in(&state, &ctx, &tx).await?;
    let email = tx.req.login_hint.clone().unwrap_or_default();
    let typed = Typed {
        email: &email,
        name: "",
    };
    Ok(render_form(
        &state,
        &ctx,
        &tx,
        &browser,
        &client.name,
        typed,
        None,
    ))
}

/// Checks the form: the error's field and words, or the normalised email and the name.
fn validate<'a>(
    email: &str,
    name: &'a str,
    password: &str,
) -> Result<(String, Option<&'a str>), (&'static str, String)> {
    let email = users::normalize_email(email);
    if users::validate_email(&email).is_err() {
        return Err((
            "email",
            "Enter an email address like name@example.com.".into(),
        ));
    }
    let name = name.trim();
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err((
            "name",
            format!("Enter a name of at most {MAX_NAME_CHARS} characters."),
        ));
    }
    crate::password_policy::check(password, &[&email, name])
        .map_err(|weak| ("password", weak.to_string()))?;
    Ok((email, (!name.is_empty()).then_some(name)))
}

pub async fn submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    form: TxForm<AsFormExpired>,
) -> PageResult {
    let (state, ctx) = (&state, &ctx);
    let TxForm {
        mut tx,
        browser,
        fields,
        ..
    } = form;
    let client = at_sign_in(state, ctx, &tx).await?;
    let back = tx.back_url();
    inbox::reserve_form(state, ctx, client_ip, back.as_deref()).await?;
    let (email, name, password) = (
        fields.get("email"),
        fields.get("name"),
        fields.get("password"),
    );
    let typed = Typed { email, name };
    let (email, name) = match validate(email, name, password) {
        Ok(v) => v,
        Err((field, why)) => {
            let error = Some((field, why.as_str()));
            return Ok(render_form(
                state,
                ctx,
                &tx,
                &browser,
                &client.name,
                typed,
                error,
            ));
        }
    };
    let link = inbox::mail_link(ctx, &tx, Kind::Registration, client_ip);
    let registration = Registration {
        email: &email,
        name,
        password,
    };
    let user = match lifecycle::register(state, &ctx.tenant, registration, link, now()).await {
        Ok(u) => u,
        Err(lifecycle::LifecycleError::Password(PasswordError::Busy)) => {
            return Err(PageError::busy(state, ctx, back.as_deref()));
        }
        Err(e) => return Err(PageError::internal(state, ctx, e)),
    };
    tx.row.user_id = user.as_ref().map(|u| u.id.clone());
    tx.extra.registered = tx.row.user_id.clone();
    flow::go(state, ctx, tx, At::Verify { address: email }).await
}

/// The email is verified in this interaction: the sign-in goes on for the new account as if
/// its password had just been entered, with its mailbox proven (so the MFA set-up does not
/// ask for it again) and `registration.mfa_setup` applying.
async fn continue_verified(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    ip: std::net::IpAddr,
    at: AtInbox,
    user: &User,
) -> PageResult {
    let mut tx = at.tx;
    tx.row.user_id = Some(user.id.clone());
    tx.row.auth_time.get_or_insert(now());
    tx.row.amr = serde_json::to_string(&["pwd"]).unwrap_or_default();
    tx.extra.registered = Some(user.id.clone());
    tx.extra.proof_done = true;
    tx.extra.notice = None;
    flow::advance(
        state,
        ctx,
        headers,
        Some(ip.to_string()),
        tx,
        &at.client,
        flow::Event::Authenticated,
    )
    .await
}

fn is_verified(user: Option<&User>) -> Option<&User> {
    user.filter(|u| u.email_verified && !u.pending_verification)
}

pub async fn verify_show(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let handle = q.get("tx").map(String::as_str);
    let at = inbox::load(&state, &ctx, &headers, handle, Kind::Registration).await?;
    // Verified meanwhile by the link (on this device or another): this sign-in goes on.
    if let Some(user) = is_verified(at.user.as_ref()).cloned() {
        return continue_verified(&state, &ctx, &headers, client_ip, at, &user).await;
    }
    Ok(inbox::render(
        &state,
        &ctx,
        &at,
        Kind::Registration,
        Default::default(),
    ))
}

pub async fn verify_submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    form: FormFields,
) -> PageResult {
    let (state, ctx, headers) = (&state, &ctx, &headers);
    let handle = Some(form.get("tx"));
    let at = inbox::load(state, ctx, headers, handle, Kind::Registration).await?;
    inbox::check_csrf(state, ctx, &at, &form)?;
    match form.get("action") {
        "back" => return inbox::back_to_sign_in(state, ctx, at.tx).await,
        "resend" => {
            let link = inbox::mail_link(ctx, &at.tx, Kind::Registration, client_ip);
            let owner = match &at.user {
                Some(_) => None,
                None => users::find_by_login(&state.db, &ctx.tenant.id, &at.address)
                    .await
                    .or_500(state, ctx)?,
            };
            let sent = lifecycle::resend_verification(
                state,
                &ctx.tenant,
                at.user.as_ref(),
                owner.as_ref(),
                link,
                now(),
            )
            .await
            .map_err(|e| PageError::internal(state, ctx, e))?;
            let say = say_sent(Ok(Some(sent)), true).or_500(state, ctx)?;
            return Ok(inbox::render(state, ctx, &at, Kind::Registration, say));
        }
        _ => {}
    }
    if let Some(user) = is_verified(at.user.as_ref()).cloned() {
        return continue_verified(state, ctx, headers, client_ip, at, &user).await;
    }
    let checked = match &at.user {
        Some(u) => Codes::new(state)
            .verify(
                crate::otp::Purpose::Registration,
                &u.id,
                form.get("code"),
                now(),
            )
            .await
            .or_500(state, ctx)?,
        None => inbox::decoy_check(state, &at.tx).await.or_500(state, ctx)?,
    };
    match (checked, at.user.clone()) {
        (Checked::Verified, Some(user)) => {
            lifecycle::verified(state, &ctx.tenant, &user)
                .await
                .map_err(|e| PageError::internal(state, ctx, e))?;
            continue_verified(state, ctx, headers, client_ip, at, &user).await
        }
        (checked, _) => Ok(inbox::render(
            state,
            ctx,
            &at,
            Kind::Registration,
            say_checked(checked),
        )),
    }
}

/// The link verifies the email. The sign-in it was sent from starts again in this browser at
/// the sign-in form (the password has not been typed here), saying the email is verified; the
/// original window, if still open, goes on by itself.
pub async fn confirm_submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    form: FormFields,
) -> PageResult {
    let (state, ctx) = (&state, &ctx);
    let inbox::Redeemed {
        mut tx,
        client: _,
        user,
    } = inbox::redeem(state, ctx, &headers, client_ip, &form, Kind::Registration).await?;
    if user.pending_verification || !user.email_verified {
        lifecycle::verified(state, &ctx.tenant, &user)
            .await
            .map_err(|e| PageError::internal(state, ctx, e))?;
    }
    tx.extra.registered = Some(user.id.clone());
    tx.extra.notice = Some(Notice::EmailVerified);
    flow::go(state, ctx, tx, At::Credentials).await
}
