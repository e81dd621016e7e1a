//! Who is on the console. Admins sign in through Gatehouse's own hosted login: the console is a
//! first-party client of the system tenant (MFA required, trusted devices not accepted), and
//! its callback redeems the code in-process. The console then keeps a session of its own:
//! short (`console.idle_timeout_secs`), bound to the SSO session that made it, remembering
//! when the admin last proved a second factor so destructive actions can ask for it again
//! (`console.step_up_secs`) through the same hosted login (`prompt=login`).

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::admin::builtin::{self, Builtin};
use crate::admin::console::{SYSTEM_SLUG, system_tenant};
use crate::crypto::random;
use crate::ids::ClientId;
use crate::model::{ClientMfaPolicy, TrustPolicy, now};
use crate::state::{AppState, TenantCtx};
use crate::store::clients::Client;
use crate::store::codes::{self, Redeemed};
use crate::store::console::{self, AdminScope, ConsoleSession, NewConsoleSession};
use crate::store::users::{self, User};
use crate::store::{audit, sessions};
use crate::web::browser::Browser;
use crate::web::client_ip::ClientIp;
use crate::web::return_to::{self, OwnClient};
use crate::web::{FormFields, Or500, PageError, PageResult, cookies};

const RETURN_PURPOSE: &str = "console-return";
pub const HOME: &str = "/admin";

/// The system tenant as a page context, created with its keys on the first visit.
pub async fn system_ctx(state: &AppState) -> Result<TenantCtx, PageError> {
    let tenant = match state.tenant(SYSTEM_SLUG).await {
        Ok(t) => t,
        Err(_) => {
            let t = system_tenant(&state.db).await.map_err(unavailable)?;
            state.keys.current(&t.id).await.map_err(unavailable)?;
            state.tenant(SYSTEM_SLUG).await.map_err(unavailable)?
        }
    };
    Ok(TenantCtx {
        issuer: state.issuer(&tenant.slug),
        tenant,
    })
}

/// Without the system tenant there is no page to render an error in: a plain 500.
fn unavailable(e: impl std::fmt::Display) -> PageError {
    tracing::error!(error = %e, "console: the system tenant is unavailable");
    (StatusCode::INTERNAL_SERVER_ERROR, "server_error")
        .into_response()
        .into()
}

fn callback_uri(state: &AppState) -> String {
    format!("{}/admin/callback", state.public_url)
}

fn client_id(system: &TenantCtx) -> ClientId {
    builtin::console_client_id(&system.tenant.id)
}

async fn console_client(state: &AppState, system: &TenantCtx) -> Result<Client, PageError> {
    let b = Builtin {
        id: client_id(system),
        tenant_id: &system.tenant.id,
        name: "Gatehouse admin console",
        redirect_uri: callback_uri(state),
        // Whatever the system tenant is set to, the console asks for a second factor, and a
        // trusted device does not stand in for it.
        mfa_policy: ClientMfaPolicy::Required,
        trust_policy: TrustPolicy::None,
    };
    builtin::ensure(&state.db, &state.config.tokens, b)
        .await
        .or_500(state, system)
}

/// A signed-in console admin.
pub struct Admin {
    pub user: User,
    pub scope: AdminScope,
    pub session: ConsoleSession,
    pub system: TenantCtx,
    pub csrf: String,
    browser: Browser,
}

impl Admin {
    /// How the audit log names this admin.
    pub fn actor(&self) -> String {
        format!("console:{}", self.user.id)
    }

    pub fn platform(&self) -> bool {
        self.scope == AdminScope::Platform
    }

    /// The form came from a page this browser was given.
    pub fn form_ok(&self, state: &AppState, form: &FormFields) -> bool {
        form.csrf_ok(state, &self.browser)
    }

    /// The second factor was proven recently enough for a destructive action.
    pub fn fresh(&self, state: &AppState) -> bool {
        now() - self.session.mfa_at <= state.config.console.step_up_secs
    }

    /// "Confirm it is you": a new sign-in with the second factor, then back to `path` (the
    /// confirmation page, which the admin submits again).
    pub fn step_up(&self, path: &str) -> PageError {
        signin_link(path, true).into()
    }

    /// The "this form has expired" dead end of a bad CSRF token.
    pub fn form_expired(&self, state: &AppState) -> PageError {
        PageError::page(
            state,
            &self.system,
            StatusCode::FORBIDDEN,
            "This form has expired",
            "Reload the page and try again.",
            Some(HOME),
        )
    }

    pub fn not_found(&self, state: &AppState) -> PageError {
        PageError::page(
            state,
            &self.system,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is nothing here, or it is not yours to see.",
            Some(HOME),
        )
    }
}

fn signin_link(next: &str, fresh: bool) -> Response {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("next", next);
    if fresh {
        q.append_pair("fresh", "1");
    }
    Redirect::to(&format!("/admin/signin?{}", q.finish())).into_response()
}

fn console_cookie(headers: &HeaderMap) -> Option<String> {
    cookies::get(headers, cookies::CONSOLE)
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let system = system_ctx(state).await?;
        // After the sign-in a GET comes back to where it was; a form goes back to the home.
        let next = match parts.method {
            Method::GET => parts
                .uri
                .path_and_query()
                .map_or(HOME.to_owned(), |p| p.as_str().to_owned()),
            _ => HOME.to_owned(),
        };
        let signin = || PageError::from(signin_link(&next, false));
        let Some(cookie) = console_cookie(&parts.headers) else {
            return Err(signin());
        };
        let idle = state.config.console.idle_timeout_secs;
        let hash = random::sha256_hex(&cookie);
        let Some(session) = console::touch(&state.db, &hash, now(), idle)
            .await
            .or_500(state, &system)?
        else {
            return Err(signin());
        };
        let user = users::get(&state.db, &system.tenant.id, &session.user_id)
            .await
            .ok()
            .filter(|u| !u.locked);
        let scope = match &user {
            Some(u) => console::scope(&state.db, &u.id)
                .await
                .or_500(state, &system)?,
            None => None,
        };
        let (Some(user), Some(scope), Some(browser)) =
            (user, scope, Browser::existing(&parts.headers))
        else {
            // Locked, deleted, or no longer an admin since the sign-in.
            console::end(&state.db, &hash)
                .await
                .or_500(state, &system)?;
            return Err(signin());
        };
        let csrf = browser.csrf_token(&state.secret);
        Ok(Admin {
            user,
            scope,
            session,
            system,
            csrf,
            browser,
        })
    }
}

/// `GET /admin/signin?next=..[&fresh=1]`: into the hosted login of the system tenant.
pub async fn signin(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let system = system_ctx(&state).await?;
    let client = console_client(&state, &system).await?;
    let next = q
        .get("next")
        .filter(|p| return_to::is_local_under(p, HOME))
        .map_or(HOME, String::as_str);
    let own = OwnClient {
        id: &client.id,
        redirect_uri: &callback_uri(&state),
        purpose: RETURN_PURPOSE,
    };
    let fresh = q.get("fresh").is_some_and(|v| v == "1");
    Ok(return_to::login_redirect(
        &state, &system, &headers, own, next, fresh,
    ))
}

/// `GET /admin/callback`: the hosted login's answer. Redeems the code in-process, checks the
/// user is a console admin and opens a console session.
pub async fn callback(
    State(state): State<AppState>,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let system = system_ctx(&state).await?;
    let again = "/admin/signin";
    if q.contains_key("error") {
        return Err(PageError::page(
            &state,
            &system,
            StatusCode::BAD_REQUEST,
            "Could not sign you in",
            "The sign-in did not complete. Please try again.",
            Some(again),
        ));
    }
    let expired = || PageError::expired(&state, &system, Some(again));
    let browser = Browser::existing(&headers).ok_or_else(expired)?;
    let path = q
        .get("state")
        .and_then(|s| return_to::decode(&state, &browser, RETURN_PURPOSE, s))
        .filter(|p| return_to::is_local_under(p, HOME))
        .ok_or_else(expired)?;
    let code = q.get("code").ok_or_else(expired)?;
    let hash = random::sha256_hex(code);
    let redeemed = codes::redeem(&state.db, &hash, &system.tenant.id, now())
        .await
        .or_500(&state, &system)?;
    let Redeemed::Fresh(code) = redeemed else {
        return Err(expired());
    };
    if code.client_id != client_id(&system) || code.redirect_uri != callback_uri(&state) {
        return Err(expired());
    }
    let sso = match &code.session_id {
        Some(id) => sessions::find_by_id(&state.db, &system.tenant.id, id)
            .await
            .or_500(&state, &system)?,
        None => None,
    };
    let Some((sso, mfa_at)) = sso
        .filter(|s| s.ended_at.is_none())
        .and_then(|s| s.mfa_time.map(|t| (s, t)))
    else {
        return Err(expired());
    };
    let scope = console::scope(&state.db, &code.user_id)
        .await
        .or_500(&state, &system)?;
    let ip = Some(client_ip.to_string());
    let Some(scope) = scope else {
        audit::record(
            &state.db,
            audit::NewEvent {
                tenant_id: Some(&system.tenant.id),
                user_id: Some(&code.user_id),
                actor: "system",
                event: "console.refused",
                detail: serde_json::json!({ "reason": "not a console admin" }),
                ip: ip.as_deref(),
            },
        )
        .await
        .or_500(&state, &system)?;
        return Err(PageError::page(
            &state,
            &system,
            StatusCode::FORBIDDEN,
            "Not an administrator",
            "You signed in, but this account may not use the admin console. Ask a platform \
             admin to run `gatehouse admin create` for you.",
            None,
        ));
    };
    if let Some(old) = console_cookie(&headers) {
        console::end(&state.db, &random::sha256_hex(&old))
            .await
            .or_500(&state, &system)?;
    }
    let token = random::token(32);
    let cfg = &state.config.console;
    console::create(
        &state.db,
        &NewConsoleSession {
            id_hash: &random::sha256_hex(&token),
            user_id: &code.user_id,
            sso_session_id: &sso.id,
            mfa_at,
            now: now(),
            lifetime_secs: cfg.max_lifetime_secs,
        },
    )
    .await
    .or_500(&state, &system)?;
    audit::record(
        &state.db,
        audit::NewEvent {
            tenant_id: Some(&system.tenant.id),
            user_id: Some(&code.user_id),
            actor: "system",
            event: "console.signed_in",
            detail: serde_json::json!({
                "scope": match &scope {
                    AdminScope::Platform => "platform".to_owned(),
                    AdminScope::Tenant(t) => format!("tenant:{t}"),
                },
                "amr": code.amr,
            }),
            ip: ip.as_deref(),
        },
    )
    .await
    .or_500(&state, &system)?;
    let mut res = Redirect::to(&path).into_response();
    // A browser-session cookie: the server-side idle timeout is what ends it.
    let cookie = cookies::set(cookies::CONSOLE, &token, HOME, None, state.is_https());
    res.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(res)
}

/// `POST /admin/signout`: ends the console session and the SSO session behind it, so the next
/// console visit asks for the password and the second factor again.
pub async fn signout(State(state): State<AppState>, admin: Admin, form: FormFields) -> PageResult {
    if !admin.form_ok(&state, &form) {
        return Err(admin.form_expired(&state));
    }
    console::end(&state.db, &admin.session.id)
        .await
        .or_500(&state, &admin.system)?;
    let tenant = &admin.system.tenant.id;
    let sso = &admin.session.sso_session_id;
    crate::signout::end_session(&state.db, tenant, sso, now())
        .await
        .or_500(&state, &admin.system)?;
    let mut res = Redirect::to("/admin/signed-out").into_response();
    let secure = state.is_https();
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::delete(cookies::CONSOLE, HOME, secure),
    );
    Ok(res)
}

/// `GET /admin/signed-out`.
pub async fn signed_out(State(state): State<AppState>) -> PageResult {
    let system = system_ctx(&state).await?;
    Err(PageError::page(
        &state,
        &system,
        StatusCode::OK,
        "You have signed out of the admin console",
        "Sign in again to continue.",
        Some(HOME),
    ))
}
