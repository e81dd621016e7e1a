//! The last step of every successful interaction: record the authentication on the SSO session,
//! mint a single-use authorization code (60 s, stored hashed) and answer the client.

use crate::ids::UserId;
use axum::http::{HeaderMap, header};

use crate::crypto::random;
use crate::mfa::proven::{self, Proven};
use crate::model::now;
use crate::oidc::authz_request::AuthRequest;
use crate::oidc::response;
use crate::state::{AppState, TenantCtx};
use crate::store::clients::Client;
use crate::store::codes::{self, AuthCode};
use crate::store::sessions::{self, NewSession};
use crate::web::cookies;
use crate::web::pages;
use crate::web::session::{current_session, session_cookie_path};
use crate::web::{Or500, PageError, PageResult};

/// RFC 6749 §4.1.2 recommends at most 10 minutes; one is plenty for a redirect.
pub const CODE_TTL_SECS: i64 = 60;

pub enum SessionChoice {
    /// The user authenticated in this interaction: start a fresh session (a new cookie value,
    /// so a planted cookie never becomes an authenticated one).
    New,
    /// Continue the SSO session with this id (no new authentication happened).
    Existing(String),
}

pub struct Completion<'a> {
    pub req: &'a AuthRequest,
    pub client: &'a Client,
    pub user_id: &'a UserId,
    /// When the first factor was verified in this interaction (None: from the session). The
    /// new session's `auth_time` is when the last method passed (`Proven::completed_at`).
    pub auth_time: Option<i64>,
    /// What this interaction proved (for `Existing`, added to what the session proved). The
    /// claims are computed from it here, once (`mfa::proven::claims`).
    pub proven: Proven,
    pub session: SessionChoice,
}

/// Records the authentication on the session (new or continued), mints the code and answers
/// the client.
pub async fn complete(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    ip: Option<String>,
    c: Completion<'_>,
) -> PageResult {
    let ts = now();
    let secure = state.is_https();
    let mut set_cookie = None;
    let trust = c.client.trust_policy;
    let (session_id, auth_time, amr, acr) = match c.session {
        SessionChoice::New => {
            let (amr, acr) = proven::claims(&c.proven, trust);
            let amr = proven::amr_strings(&amr);
            // Replace whatever session this browser had: the cookie value changes on login.
            let old = current_session(state, ctx, headers)
                .await
                .or_500(state, ctx)?;
            let token = random::token(32);
            let auth_time = c.proven.completed_at().or(c.auth_time).unwrap_or(ts);
            let user_agent = headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(256).collect::<String>());
            let s = sessions::create(
                &state.db,
                NewSession {
                    token_hash: &random::sha256_hex(&token),
                    tenant_id: &ctx.tenant.id,
                    user_id: c.user_id,
                    auth_time,
                    amr: &amr,
                    acr: acr.as_str(),
                    mfa_time: c.proven.mfa_time(),
                    user_agent: user_agent.as_deref(),
                    ip: ip.as_deref(),
                    now: ts,
                    expires_at: ts + state.config.login.session_ttl_secs,
                },
            )
            .await
            .or_500(state, ctx)?;
            if let Some(old) = &old {
                crate::signout::replace_session(&state.db, old, &s, ts)
                    .await
                    .or_500(state, ctx)?;
            }
            set_cookie = Some(cookies::set(
                cookies::SESSION,
                &token,
                &session_cookie_path(ctx),
                Some(state.config.login.session_ttl_secs),
                secure,
            ));
            (s.id, auth_time, amr, acr)
        }
        SessionChoice::Existing(id) => {
            let s = sessions::find_by_id(&state.db, &ctx.tenant.id, &id)
                .await
                .or_500(state, ctx)?
                .filter(|s| s.ended_at.is_none() && s.expires_at > ts && s.user_id == *c.user_id)
                .ok_or_else(|| {
                    PageError::expired(state, ctx, pages::app_home(&c.req.redirect_uri).as_deref())
                })?;
            sessions::touch(&state.db, &s.id, ts)
                .await
                .or_500(state, ctx)?;
            // What the session proved, plus this interaction: the acr may be higher than the
            // session's when a trusted device vouches for the second factor here.
            let mut all = s.proven();
            all.merge(&c.proven);
            let (amr, acr) = proven::claims(&all, trust);
            (s.id, s.auth_time, proven::amr_strings(&amr), acr)
        }
    };

    let code = random::token(32);
    let row = AuthCode {
        id: random::sha256_hex(&code),
        grant_id: uuid::Uuid::new_v4().to_string(),
        tenant_id: ctx.tenant.id.clone(),
        client_id: c.client.id.clone(),
        user_id: c.user_id.to_owned(),
        session_id: Some(session_id),
        redirect_uri: c.req.redirect_uri.clone(),
        scope: c.req.scope.to_string(),
        nonce: c.req.nonce.clone(),
        code_challenge: c.req.code_challenge.clone(),
        code_challenge_method: c.req.code_challenge_method.clone(),
        auth_time,
        amr: serde_json::to_string(&amr).unwrap_or_else(|_| "[]".into()),
        acr: acr.as_str().to_owned(),
        claims: c.req.claims.as_ref().map(|v| v.to_string()),
        created_at: ts,
        expires_at: ts + CODE_TTL_SECS,
        used_at: None,
    };
    codes::create(&state.db, &row).await.or_500(state, ctx)?;

    let mut res = response::send(
        &state.templates,
        &ctx.tenant,
        &ctx.issuer,
        &c.req.redirect_uri,
        c.req.response_mode,
        vec![("code", Some(code)), ("state", c.req.state.clone())],
    );
    if let Some(cookie) = set_cookie {
        res.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(res)
}
