//! The login state machine. A transaction moves `credentials → [mfa] → consent → finished`;
//! each stage is a row state, each POST advances it once (guarded by `stage = from` in the
//! UPDATE, so a replayed form changes nothing).

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::finish::{self, Completion, SessionChoice};
use super::pages;
use crate::crypto::random;
use crate::model::now;
use crate::oidc::authz_request::AuthRequest;
use crate::state::{AppState, TenantCtx};
use crate::store::clients::Client;
use crate::store::transactions::{self, LoginTransaction};
use crate::store::{self, consents};
use crate::web::browser::Browser;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Identify + password on one form.
    Credentials,
    /// The user has authenticated; the client needs their consent.
    Consent,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Credentials => "credentials",
            Stage::Consent => "consent",
        }
    }
    pub fn parse(s: &str) -> Option<Stage> {
        match s {
            "credentials" => Some(Stage::Credentials),
            "consent" => Some(Stage::Consent),
            _ => None,
        }
    }
    /// The hosted page that serves this stage.
    pub fn path(self) -> &'static str {
        match self {
            Stage::Credentials => "login",
            Stage::Consent => "consent",
        }
    }
}

/// Scratch state carried on the transaction.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TxState {
    /// The SSO session this transaction continues when no new authentication happened.
    pub session_id: Option<String>,
    /// The `acr` that the finished authentication reached.
    pub acr: Option<String>,
}

/// A loaded transaction with its decoded request.
pub struct Tx {
    pub row: LoginTransaction,
    pub req: AuthRequest,
    pub handle: String,
    pub extra: TxState,
}

impl Tx {
    pub fn stage(&self) -> Option<Stage> {
        Stage::parse(&self.row.stage)
    }
    pub fn back_url(&self) -> Option<String> {
        pages::app_home(&self.req.redirect_uri)
    }
    pub fn amr(&self) -> Vec<String> {
        serde_json::from_str(&self.row.amr).unwrap_or_default()
    }
}

/// DESIGN.md §6: `phr` when the second factor was WebAuthn, `mfa` when two or more distinct
/// factors were verified, else `pwd`.
pub fn acr_for(amr: &[String]) -> &'static str {
    let has = |m: &str| amr.iter().any(|x| x == m);
    if has("mfa") && (has("hwk") || has("swk")) {
        "phr"
    } else if has("mfa") {
        "mfa"
    } else {
        "pwd"
    }
}

/// Consent is needed for clients that are not first-party unless the user already granted every
/// requested scope; `prompt=consent` always asks.
pub async fn needs_consent(
    state: &AppState,
    client: &Client,
    req: &AuthRequest,
    user_id: &str,
) -> Result<bool, store::StoreError> {
    if req.has_prompt("consent") {
        return Ok(true);
    }
    if client.first_party {
        return Ok(false);
    }
    let granted = consents::granted(&state.db, user_id, &client.id).await?;
    Ok(!req.scope.iter().all(|s| granted.contains(s)))
}

/// Creates a transaction at `stage` bound to this browser and returns the redirect to its page.
pub async fn start(
    state: &AppState,
    ctx: &TenantCtx,
    browser: &Browser,
    req: &AuthRequest,
    stage: Stage,
    user_id: Option<&str>,
    extra: TxState,
) -> Result<Response, store::StoreError> {
    let handle = random::token(32);
    let ts = now();
    let row = LoginTransaction {
        id: random::sha256_hex(&handle),
        tenant_id: ctx.tenant.id.clone(),
        client_id: req.client_id.clone(),
        browser_hash: browser.hash(),
        request: serde_json::to_string(req).unwrap_or_default(),
        stage: stage.as_str().into(),
        user_id: user_id.map(str::to_owned),
        auth_time: None,
        amr: "[]".into(),
        attempts: 0,
        state: serde_json::to_string(&extra).unwrap_or_else(|_| "{}".into()),
        created_at: ts,
        expires_at: ts + state.config.login.transaction_ttl_secs,
    };
    transactions::create(&state.db, &row).await?;
    Ok(redirect_to_stage(ctx, stage, &handle))
}

pub fn redirect_to_stage(ctx: &TenantCtx, stage: Stage, handle: &str) -> Response {
    Redirect::to(&format!(
        "/t/{}/{}?tx={}",
        ctx.tenant.slug,
        stage.path(),
        handle
    ))
    .into_response()
}

/// Loads the transaction named by `handle`, checking expiry and that this browser started it.
/// Every failure is the same friendly "expired" page (no detail for an attacker).
pub async fn load(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    handle: Option<&str>,
) -> Result<(Tx, Browser), Response> {
    let expired = || pages::expired(state, &ctx.tenant, None);
    let handle = handle.filter(|h| !h.is_empty()).ok_or_else(expired)?;
    let row = transactions::find(&state.db, &ctx.tenant.id, &random::sha256_hex(handle))
        .await
        .map_err(|e| server_error(state, ctx, e))?
        .ok_or_else(expired)?;
    let req: AuthRequest = serde_json::from_str(&row.request).map_err(|_| expired())?;
    let back = pages::app_home(&req.redirect_uri);
    let browser = Browser::existing(headers)
        .filter(|b| b.hash() == row.browser_hash)
        .ok_or_else(|| pages::expired(state, &ctx.tenant, back.as_deref()))?;
    if row.expires_at <= now() {
        return Err(pages::expired(state, &ctx.tenant, back.as_deref()));
    }
    let extra = serde_json::from_str(&row.state).unwrap_or_default();
    Ok((
        Tx {
            row,
            req,
            handle: handle.to_owned(),
            extra,
        },
        browser,
    ))
}

pub fn server_error(state: &AppState, ctx: &TenantCtx, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "login step failed");
    pages::error(
        state,
        &ctx.tenant,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The sign-in service could not complete this step. Please try again.",
        None,
    )
}

/// The user has just authenticated in this transaction (the password stage passed). Decides the
/// next stage: the MFA decision goes here, then consent, then finish.
pub async fn after_authentication(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    ip: Option<String>,
    mut tx: Tx,
    client: &Client,
    from: Stage,
) -> Result<Response, Response> {
    let user_id = tx.row.user_id.clone().unwrap_or_default();
    let amr = tx.amr();
    tx.extra.acr = Some(acr_for(&amr).to_owned());
    tx.row.state = serde_json::to_string(&tx.extra).unwrap_or_else(|_| "{}".into());
    let consent = needs_consent(state, client, &tx.req, &user_id)
        .await
        .map_err(|e| server_error(state, ctx, e))?;
    if consent {
        let moved =
            transactions::advance(&state.db, &tx.row, from.as_str(), Stage::Consent.as_str())
                .await
                .map_err(|e| server_error(state, ctx, e))?;
        if !moved {
            return Err(pages::expired(state, &ctx.tenant, tx.back_url().as_deref()));
        }
        return Ok(redirect_to_stage(ctx, Stage::Consent, &tx.handle));
    }
    finish_tx(state, ctx, headers, ip, tx, client).await
}

/// Ends the transaction (once: a second concurrent finish sees it gone) and answers the client.
pub async fn finish_tx(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    ip: Option<String>,
    tx: Tx,
    client: &Client,
) -> Result<Response, Response> {
    let removed = transactions::delete(&state.db, &tx.row.id)
        .await
        .map_err(|e| server_error(state, ctx, e))?;
    if !removed {
        return Err(pages::expired(state, &ctx.tenant, tx.back_url().as_deref()));
    }
    let amr = tx.amr();
    let session = match (tx.row.auth_time, &tx.extra.session_id) {
        (Some(_), _) => SessionChoice::New,
        (None, Some(id)) => SessionChoice::Existing(id.clone()),
        (None, None) => return Err(pages::expired(state, &ctx.tenant, tx.back_url().as_deref())),
    };
    let acr = tx
        .extra
        .acr
        .clone()
        .unwrap_or_else(|| acr_for(&amr).to_owned());
    finish::complete(
        state,
        ctx,
        headers,
        ip,
        Completion {
            req: &tx.req,
            client,
            user_id: tx.row.user_id.as_deref().unwrap_or_default(),
            auth_time: tx.row.auth_time,
            amr,
            acr,
            session,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn acr_follows_the_design_table() {
        assert_eq!(acr_for(&v(&["pwd"])), "pwd");
        assert_eq!(acr_for(&v(&["pwd", "otp", "mfa"])), "mfa");
        assert_eq!(acr_for(&v(&["pwd", "sms", "otp", "mfa"])), "mfa");
        assert_eq!(acr_for(&v(&["pwd", "hwk", "user", "mfa"])), "phr");
        assert_eq!(acr_for(&v(&["pwd", "swk", "user", "mfa"])), "phr");
        assert_eq!(acr_for(&v(&["hwk"])), "pwd");
    }
}
