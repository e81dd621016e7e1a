//! The consent stage for clients that are not first-party: the user sees what the application
//! asks for and allows or denies it. Allowed scopes are remembered per user and client.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;

use super::flow::{self, Stage};
use super::tx_form::TxForm;
use crate::model::now;
use crate::oidc::response;
use crate::state::{AppState, TenantCtx};
use crate::store::{self, consents};
use crate::web::client_ip::ClientIp;
use crate::web::csrf_form::AsExpired;
use crate::web::pages::Base;
use crate::web::{Or500, PageError, PageResult};

#[derive(Serialize)]
struct ScopeLine {
    name: String,
    description: &'static str,
}

#[derive(Serialize)]
struct ConsentPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    tx: &'a str,
    csrf: String,
    client_name: &'a str,
    scopes: Vec<ScopeLine>,
}

fn describe(scope: &str) -> &'static str {
    match scope {
        "openid" => "Know who you are (a stable identifier for your account)",
        "profile" => "See your name, username and profile details",
        "address" => "See your postal address",
        "email" => "See your email address",
        "phone" => "See your phone number",
        "offline_access" => "Stay connected when you are not using it",
        _ => "Other access",
    }
}

pub async fn show(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let (tx, browser) = flow::load(&state, &ctx, &headers, q.get("tx").map(String::as_str)).await?;
    match tx.stage() {
        Some(Stage::Consent) => {}
        Some(other) => return Ok(flow::redirect_to_stage(&ctx, other, &tx.handle)),
        None => return Err(PageError::expired(&state, &ctx, tx.back_url().as_deref())),
    }
    let client = super::tx::client_of(&state, &ctx, &tx).await?;
    Ok(state.templates.page(
        StatusCode::OK,
        &ctx.tenant.theme,
        "consent.html",
        ConsentPage {
            base: Base::new(&ctx.tenant),
            title: "Allow access",
            tx: &tx.handle,
            csrf: browser.csrf_token(&state.secret),
            client_name: &client.name,
            scopes: tx
                .req
                .scope
                .iter()
                .map(|s| ScopeLine {
                    name: s.to_owned(),
                    description: describe(s),
                })
                .collect(),
        },
    ))
}

/// Allow or deny. A bad token, like a transaction past this stage, is the "expired" page.
pub async fn submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    form: TxForm<AsExpired>,
) -> PageResult {
    let (state, ctx) = (&state, &ctx);
    let TxForm { tx, fields, .. } = form;
    if tx.stage() != Some(Stage::Consent) {
        return Err(PageError::expired(state, ctx, tx.back_url().as_deref()));
    }
    let client = super::tx::client_of(state, ctx, &tx).await?;
    let Some(user_id) = tx.row.user_id.clone() else {
        return Err(PageError::expired(state, ctx, None));
    };
    if fields.get("decision") != "allow" {
        store::transactions::delete(&state.db, &tx.row.id)
            .await
            .or_500(state, ctx)?;
        return Ok(response::send(
            &state.templates,
            &ctx.tenant,
            &ctx.issuer,
            &tx.req.redirect_uri,
            tx.req.response_mode,
            vec![
                ("error", Some("access_denied".into())),
                (
                    "error_description",
                    Some("the user denied the request".into()),
                ),
                ("state", tx.req.state.clone()),
            ],
        ));
    }
    consents::grant(
        &state.db,
        &ctx.tenant.id,
        &user_id,
        &client.id,
        tx.req.scope.iter(),
        now(),
    )
    .await
    .or_500(state, ctx)?;
    flow::advance(
        state,
        ctx,
        &headers,
        Some(client_ip.to_string()),
        tx,
        &client,
        flow::Event::Consented,
    )
    .await
}
