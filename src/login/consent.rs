//! The consent stage for clients that are not first-party: the user sees what the application
//! asks for and allows or denies it. Allowed scopes are remembered per user and client.

use std::collections::HashMap;

use axum::extract::{Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;

use super::flow::{self, Stage};
use crate::model::now;
use crate::oidc::response;
use crate::state::{AppState, TenantCtx};
use crate::store::{self, consents};
use crate::web::client_ip::ClientIp;
use crate::web::pages::server_error;
use crate::web::pages::{self, Base};

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
        "profile" => "See your name and username",
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
) -> Response {
    let (tx, browser) =
        match flow::load(&state, &ctx, &headers, q.get("tx").map(String::as_str)).await {
            Ok(t) => t,
            Err(r) => return r,
        };
    match tx.stage() {
        Some(Stage::Consent) => {}
        Some(other) => return flow::redirect_to_stage(&ctx, other, &tx.handle),
        None => return pages::expired(&state, &ctx.tenant, tx.back_url().as_deref()),
    }
    let client = match store::clients::find(&state.db, &ctx.tenant.id, &tx.req.client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return pages::expired(&state, &ctx.tenant, None),
        Err(e) => return server_error(&state, &ctx, e),
    };
    state.templates.page(
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
                    name: s.clone(),
                    description: describe(s),
                })
                .collect(),
        },
    )
}

pub async fn submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    match run(&state, &ctx, client_ip, &headers, &body).await {
        Ok(r) | Err(r) => r,
    }
}

async fn run(
    state: &AppState,
    ctx: &TenantCtx,
    client_ip: std::net::IpAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Response> {
    let form = crate::web::form::parse_params(body).unwrap_or_default();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let (tx, browser) = flow::load(state, ctx, headers, Some(field("tx"))).await?;
    let back = tx.back_url();
    if !browser.verify_csrf(&state.secret, field("csrf")) || tx.stage() != Some(Stage::Consent) {
        return Err(pages::expired(state, &ctx.tenant, back.as_deref()));
    }
    let client = store::clients::find(&state.db, &ctx.tenant.id, &tx.req.client_id)
        .await
        .map_err(|e| server_error(state, ctx, e))?
        .ok_or_else(|| pages::expired(state, &ctx.tenant, None))?;
    let user_id = tx.row.user_id.clone().unwrap_or_default();
    if field("decision") != "allow" {
        store::transactions::delete(&state.db, &tx.row.id)
            .await
            .map_err(|e| server_error(state, ctx, e))?;
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
        &tx.req.scope,
        now(),
    )
    .await
    .map_err(|e| server_error(state, ctx, e))?;
    flow::advance(
        state,
        ctx,
        headers,
        Some(client_ip.to_string()),
        tx,
        &client,
        flow::Event::Consented,
    )
    .await
}
