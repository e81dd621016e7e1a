//! Who is on the account pages. The pages are a first-party client of their own tenant: a
//! visitor without an SSO session that satisfies the tenant's MFA policy for that client goes
//! through the ordinary hosted login (`/authorize` with the built-in account client) and comes
//! back to the page they asked for. Changes additionally need a recent authentication (the
//! tenant's re-authentication window): "enter your password to continue".

use crate::ids::ClientId;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};
use serde::{Deserialize, Serialize};

use crate::crypto::random;
use crate::model::{ClientMfaPolicy, SigningAlg, TokenAuthMethod, TrustPolicy, now};
use crate::state::{AppState, TenantCtx};
use crate::store::clients::{self, Client, NewClient};
use crate::store::sessions::SsoSession;
use crate::store::users::{self, User};
use crate::web::browser::Browser;
use crate::web::session::current_session;
use crate::web::{Or500, PageError, PageResult};

/// The built-in client behind the account pages, one per tenant.
pub fn account_client_id(ctx: &TenantCtx) -> ClientId {
    ClientId::from(format!("account-{}", ctx.tenant.id))
}

pub fn callback_uri(ctx: &TenantCtx) -> String {
    format!("{}/account/callback", ctx.issuer)
}

/// Finds or creates the account client; keeps its redirect URI in step with the public URL.
pub async fn account_client(state: &AppState, ctx: &TenantCtx) -> Result<Client, PageError> {
    let id = account_client_id(ctx);
    let uri = callback_uri(ctx);
    let vanished = || PageError::internal(state, ctx, "account client vanished");
    if let Some(c) = clients::find(&state.db, &ctx.tenant.id, &id)
        .await
        .or_500(state, ctx)?
    {
        if c.redirect_uris != [uri.clone()] {
            clients::set_redirect_uris(&state.db, &c.id, &[uri])
                .await
                .or_500(state, ctx)?;
            return clients::find(&state.db, &ctx.tenant.id, &id)
                .await
                .or_500(state, ctx)?
                .ok_or_else(vanished);
        }
        return Ok(c);
    }
    let t = &state.config.tokens;
    let new = NewClient {
        id: id.clone(),
        tenant_id: ctx.tenant.id.clone(),
        name: "Your account".into(),
        // No secret: nobody can redeem its codes at /token; the account pages redeem them
        // internally.
        secret_hash: None,
        is_public: false,
        first_party: true,
        token_endpoint_auth_method: TokenAuthMethod::ClientSecretBasic,
        redirect_uris: vec![uri],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["authorization_code".into()],
        mfa_policy: ClientMfaPolicy::Inherit,
        trust_policy: TrustPolicy::Any,
        id_token_alg: SigningAlg::Rs256,
        access_token_alg: SigningAlg::Rs256,
        access_token_ttl_secs: t.default_access_token_ttl_secs,
        id_token_ttl_secs: t.default_id_token_ttl_secs,
        refresh_token_ttl_secs: t.default_access_token_ttl_secs,
        scope: String::new(),
        offline_access: false,
        web_origins: Vec::new(),
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
    };
    match clients::create(&state.db, &new).await {
        Ok(c) => Ok(c),
        // Another node created it at the same moment.
        Err(crate::store::StoreError::Conflict(_)) => clients::find(&state.db, &ctx.tenant.id, &id)
            .await
            .or_500(state, ctx)?
            .ok_or_else(vanished),
        Err(e) => Err(PageError::internal(state, ctx, e)),
    }
}

/// What `state` carries through the login: where to return, bound to this browser.
#[derive(Serialize, Deserialize)]
struct Return {
    path: String,
    nonce: String,
}

pub fn encode_return(state: &AppState, browser: &Browser, path: &str) -> String {
    let r = Return {
        path: path.to_owned(),
        nonce: random::token(12),
    };
    let body = base64_url(&serde_json::to_vec(&r).unwrap_or_default());
    let mac = state
        .secret
        .mac("account-return", &format!("{}.{body}", browser.hash()));
    format!("{body}.{mac}")
}

/// The return path of a genuine `state` from this browser; anything else is None.
pub fn decode_return(state: &AppState, browser: &Browser, value: &str) -> Option<String> {
    let (body, mac) = value.rsplit_once('.')?;
    if !state
        .secret
        .verify_mac("account-return", &format!("{}.{body}", browser.hash()), mac)
    {
        return None;
    }
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .ok()?;
    let r: Return = serde_json::from_slice(&bytes).ok()?;
    // Only paths under this tenant's account pages: never an open redirect.
    (r.path.starts_with("/t/") && r.path.contains("/account") && !r.path.contains("//"))
        .then_some(r.path)
}

fn base64_url(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
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
    let browser = Browser::from_headers(headers);
    let mut url = url::Url::parse(&format!("{}/authorize", ctx.issuer)).or_500(state, ctx)?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client.id)
        .append_pair("redirect_uri", &callback_uri(ctx))
        .append_pair("scope", "openid")
        .append_pair("state", &encode_return(state, &browser, path));
    if fresh {
        url.query_pairs_mut().append_pair("prompt", "login");
    }
    // A relative redirect keeps the browser on the host it used.
    let target = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    let mut res = Redirect::to(&target).into_response();
    if browser.is_new {
        res.headers_mut().append(
            axum::http::header::SET_COOKIE,
            browser.cookie(state.is_https()),
        );
    }
    Ok(res)
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
