//! Choosing a new password inside an interaction: at the end of a reset (the mailbox and any
//! second factor proven), or when an admin demands a change (`user update
//! --require-password-change`) and the user has just signed in. Judged by `password_policy`;
//! setting it ends the user's sessions (`lifecycle::set_password`), whose clients hear it by
//! back-channel logout.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;

use super::flow::{self, At, NewPasswordWhy, Stage, Tx};
use super::tx::load_at;
use super::tx_form::load_posted;
use crate::crypto::password::PasswordError;
use crate::lifecycle::{self, LifecycleError, PasswordChange};
use crate::mfa::proven::Method;
use crate::model::now;
use crate::state::{AppState, TenantCtx};
use crate::store::users::User;
use crate::web::browser::Browser;
use crate::web::client_ip::ClientIp;
use crate::web::pages::Base;
use crate::web::{FormFields, PageError, PageResult};

#[derive(Serialize)]
struct NewPasswordPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    intro: &'a str,
    tx: &'a str,
    csrf: String,
    email: &'a str,
    error: Option<&'a str>,
}

fn why(tx: &Tx) -> NewPasswordWhy {
    match tx.extra.at {
        At::NewPassword { why } => why,
        _ => NewPasswordWhy::Reset,
    }
}

fn render(
    state: &AppState,
    ctx: &TenantCtx,
    tx: &Tx,
    browser: &Browser,
    user: &User,
    error: Option<&str>,
) -> axum::response::Response {
    let intro = match why(tx) {
        NewPasswordWhy::Reset => {
            "Choose a new password for your account. You will sign in with it next."
        }
        NewPasswordWhy::Required => {
            "Your administrator asks you to choose a new password before you continue."
        }
    };
    let status = match error {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    state.templates.page(
        status,
        &ctx.tenant.theme,
        "new_password.html",
        NewPasswordPage {
            base: Base::new(&ctx.tenant),
            intro,
            tx: &tx.handle,
            csrf: browser.csrf_token(&state.secret),
            email: &user.email,
            error,
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
    let (tx, browser, _, user) =
        load_at(&state, &ctx, &headers, handle, Stage::NewPassword).await?;
    Ok(render(&state, &ctx, &tx, &browser, &user, None))
}

pub async fn submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    form: FormFields,
) -> PageResult {
    let (state, ctx) = (&state, &ctx);
    let (tx, browser, client, user) =
        load_posted(state, ctx, &headers, &form, Stage::NewPassword).await?;
    let password = form.get("password");
    let context = [user.email.as_str(), user.name.as_deref().unwrap_or("")];
    if let Err(weak) = crate::password_policy::check(password, &context) {
        let error = weak.to_string();
        return Ok(render(state, ctx, &tx, &browser, &user, Some(&error)));
    }
    let change = match why(&tx) {
        NewPasswordWhy::Reset => PasswordChange::Reset {
            factor_passed: tx
                .extra
                .proven
                .methods
                .iter()
                .any(|(m, _)| *m != Method::Password),
        },
        NewPasswordWhy::Required => PasswordChange::Required {
            continuing: tx.extra.session_id.as_deref(),
        },
    };
    let ended =
        match lifecycle::set_password(state, &ctx.tenant, &user, password, change, now()).await {
            Ok(ended) => ended,
            Err(LifecycleError::Password(PasswordError::Busy)) => {
                return Err(PageError::busy(state, ctx, tx.back_url().as_deref()));
            }
            Err(e) => return Err(PageError::internal(state, ctx, e)),
        };
    crate::oidc::backchannel::spawn(state, ctx, ended.session_ids);
    flow::advance(
        state,
        ctx,
        &headers,
        Some(client_ip.to_string()),
        tx,
        &client,
        flow::Event::PasswordSet,
    )
    .await
}
