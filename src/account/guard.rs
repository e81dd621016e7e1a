//! Who is on the account pages. The pages are a first-party client of their own tenant: a
//! visitor without an SSO session that satisfies the tenant's MFA policy for that client goes
//! through the ordinary hosted login (`/authorize` with the built-in account client) and comes
//! back to the page they asked for. Changes additionally need a recent authentication (the
//! tenant's re-authentication window): "enter your password to continue".

use crate::ids::ClientId;
use axum::http::HeaderMap;

use crate::model::{ClientMfaPolicy, TrustPolicy, now};
use crate::state::{AppState, TenantCtx};
use crate::store::clients::Client;
use crate::store::sessions::SsoSession;
use crate::store::users::{self, User};
use crate::web::browser::Browser;
use crate::web::return_to;
use crate::web::session::current_session;
use crate::web::{Or500, PageError, PageResult};

/// The built-in client behind the account pages, one per tenant.
pub fn account_client_id(ctx: &TenantCtx) -> ClientId {
    crate::admin::builtin::account_client_id(&ctx.tenant.id)
}

pub fn callback_uri(ctx: &TenantCtx) -> String {
    format!("{}/account/callback", ctx.issuer)
}

/// Finds or creates the account client; keeps its redirect URI in step with the public URL.
pub async fn account_client(state: &AppState, ctx: &TenantCtx) -> Result<Client, PageError> {
    let builtin = crate::admin::builtin::Builtin {
        id: account_client_id(ctx),
        tenant_id: &ctx.tenant.id,
        name: "Your account",
        redirect_uri: callback_uri(ctx),
        mfa_policy: ClientMfaPolicy::Inherit,
        trust_policy: TrustPolicy::Any,
    };
    crate::admin::builtin::ensure(&state.db, &state.config.tokens, builtin)
        .await
        .or_500(state, ctx)
}

const RETURN_PURPOSE: &str = "account-return";

/// The return path of a genuine `state` from this browser; anything else is None.
pub fn decode_return(state: &AppState, browser: &Browser, value: &str) -> Option<String> {
    let path = return_to::decode(state, browser, RETURN_PURPOSE, value)?;
    // Only paths under this tenant's account pages: never an open redirect.
    (return_to::is_local_under(&path, "/t/") && path.contains("/account")).then_some(path)
}

/// Sends the browser through the hosted login for the account client, back to `path`.
pub async fn login_redirect(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    path: &str,
    fresh: bool,
) -> PageResult {
    let client = account_client(state, ctx).await?;
    let own = return_to::OwnClient {
        id: &client.id,
        redirect_uri: &callback_uri(ctx),
        purpose: RETURN_PURPOSE,
    };
    Ok(return_to::login_redirect(
        state, ctx, headers, own, path, fresh,
    ))
}

/// A signed-in visitor of the account pages.
pub struct Visitor {
    pub session: SsoSession,
    pub user: User,
    pub browser: Browser,
}

impl Visitor {
    /// Authenticated recently enough to make changes: the password within the window, and the
    /// second factor too when the user has one, unless a trusted device the policy accepts
    /// (`device_vouches`) stands in for it, as it did at the sign-in.
    pub fn recent(&self, window_secs: i64, has_factor: bool, device_vouches: bool) -> bool {
        let ts = now();
        let pwd = ts - self.session.auth_time <= window_secs;
        let second = !has_factor
            || device_vouches
            || self.session.mfa_time.is_some_and(|t| ts - t <= window_secs);
        pwd && second
    }
}

/// The visitor, or the redirect into the hosted login (which enforces the MFA policy).
pub async fn visitor(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    path: &str,
) -> Result<Visitor, PageError> {
    let Some(session) = current_session(state, ctx, headers)
        .await
        .or_500(state, ctx)?
    else {
        return Err(login_redirect(state, ctx, headers, path, false)
            .await?
            .into());
    };
    let client = account_client(state, ctx).await?;
    // The account pages are a client like any other: the tenant's MFA policy applies.
    let passes = crate::login::flow::session_passes(state, ctx, headers, &client, &session)
        .await
        .or_500(state, ctx)?;
    if !passes {
        return Err(login_redirect(state, ctx, headers, path, false)
            .await?
            .into());
    }
    let user = users::get(&state.db, &ctx.tenant.id, &session.user_id)
        .await
        .map_err(|_| PageError::expired(state, ctx, None))?;
    let browser = Browser::existing(headers).ok_or_else(|| PageError::expired(state, ctx, None))?;
    Ok(Visitor {
        session,
        user,
        browser,
    })
}
