//! The "try it" application of `serve --demo`: a page at `/demo/app` with three sign-in
//! buttons, each of which runs a real authorization-code flow (PKCE S256) with the demo client
//! against the demo tenant, and a callback that redeems the code at the token endpoint over
//! HTTP, validates the ID token and shows its claims (`amr`, `acr`, `auth_time`), so a newcomer
//! sees what an application receives after each kind of sign-in. Mounted only in demo mode
//! ([`router`]); a server started without `--demo` answers 404 here.
//!
//! The flow's state, nonce and PKCE verifier travel in one short-lived cookie, sealed (encrypted
//! and authenticated) under the server secret and HttpOnly, so the callback accepts only the
//! browser that started the flow.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::rp::{self, Exchange, Expected, Mode, Pending};
use super::{DemoFacts, TENANT};
use crate::crypto::seal;
use crate::model::now;
use crate::state::AppState;
use crate::store::tenants::Tenant;
use crate::web::cookies;
use crate::web::pages::Base;

pub const HOME: &str = "/demo/app";
const START: &str = "/demo/app/start";
pub const CALLBACK: &str = "/demo/app/callback";
const COOKIE: &str = "gh_demo_app";
/// Sealing purpose of the flow cookie: a value sealed for anything else does not open here.
const SEAL_PURPOSE: &str = "demo-app-flow";
/// Long enough to enrol an authenticator app on the way; the IdP's own transaction is shorter.
const FLOW_TTL_SECS: i64 = 15 * 60;

/// `{public_url}/demo/app`.
pub fn home_url(public_url: &str) -> String {
    format!("{public_url}{HOME}")
}

/// `{public_url}/demo/app/callback`: registered on the demo client by the seed.
pub fn callback_uri(public_url: &str) -> String {
    format!("{public_url}{CALLBACK}")
}

/// What the demo application knows: the demo client's credentials and where to reach the IdP.
#[derive(Clone)]
pub struct DemoApp {
    issuer: String,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    /// The token endpoint on the server's own socket: the public URL may name a proxy this
    /// host cannot reach (or a TLS front it need not go through).
    token_endpoint: String,
}

impl std::fmt::Debug for DemoApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoApp")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The address to call the server's own socket at: a wildcard bind is reached on loopback.
fn reachable(bound: SocketAddr) -> SocketAddr {
    let ip = match bound.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bound.port())
}

impl DemoApp {
    /// From what [`super::seed`] returned, the public URL and the socket the server listens on.
    pub fn new(facts: &DemoFacts, public_url: &str, bound: SocketAddr) -> DemoApp {
        DemoApp {
            issuer: facts.issuer.clone(),
            client_id: facts.client_id.to_string(),
            client_secret: facts.client_secret.clone(),
            redirect_uri: callback_uri(public_url),
            token_endpoint: format!("http://{}/t/{TENANT}/token", reachable(bound)),
        }
    }
}

/// The demo application's routes, for `build_app_with` beside the IdP's own.
pub fn router(app: DemoApp) -> Router<AppState> {
    Router::new()
        .route(HOME, get(home))
        .route(START, post(start))
        .route(CALLBACK, get(callback))
        .layer(Extension(Arc::new(app)))
}

/// One row of the claims table.
#[derive(Serialize)]
struct Row {
    name: &'static str,
    value: String,
    /// A second rendering of the value (`auth_time` as a UTC time).
    note: Option<String>,
}

#[derive(Serialize)]
struct Signed {
    rows: Vec<Row>,
    /// Every claim of the ID token, pretty-printed.
    raw_json: String,
    /// Which button started the flow.
    mode: Mode,
}

#[derive(Serialize)]
struct AppPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'static str,
    email: &'static str,
    signed: Option<Signed>,
}

#[derive(Serialize)]
struct ErrorPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    message: &'a str,
    back_url: &'static str,
    back_label: &'static str,
}

fn app_page(state: &AppState, tenant: &Tenant, signed: Option<Signed>) -> Response {
    let page = AppPage {
        base: Base::new(tenant),
        title: "Demo application",
        email: super::EMAIL,
        signed,
    };
    state
        .templates
        .page(StatusCode::OK, &tenant.theme, "demo_app.html", page)
}

/// A dead end of the demo flow: a page that says what happened, with a way back to the start.
fn error_page(
    state: &AppState,
    tenant: &Tenant,
    status: StatusCode,
    title: &str,
    message: &str,
) -> Response {
    let page = ErrorPage {
        base: Base::new(tenant),
        title,
        message,
        back_url: HOME,
        back_label: "Back to the demo application",
    };
    let mut res = state
        .templates
        .page(status, &tenant.theme, "error.html", page);
    // Whatever went wrong, this flow is over.
    res.headers_mut()
        .append(header::SET_COOKIE, clear_cookie(state));
    res
}

fn clear_cookie(state: &AppState) -> axum::http::HeaderValue {
    cookies::delete(COOKIE, HOME, state.is_https())
}

async fn demo_tenant(state: &AppState) -> Result<Arc<Tenant>, Response> {
    state
        .tenant(TENANT)
        .await
        .map_err(IntoResponse::into_response)
}

async fn home(State(state): State<AppState>) -> Response {
    match demo_tenant(&state).await {
        Ok(tenant) => app_page(&state, &tenant, None),
        Err(res) => res,
    }
}

#[derive(Deserialize)]
struct StartForm {
    mode: Mode,
}

/// A button: a fresh state, nonce and PKCE verifier, sealed into the flow cookie, and the
/// browser sent to the demo tenant's `/authorize`.
async fn start(
    State(state): State<AppState>,
    Extension(app): Extension<Arc<DemoApp>>,
    form: Result<Form<StartForm>, FormRejection>,
) -> Response {
    let tenant = match demo_tenant(&state).await {
        Ok(t) => t,
        Err(res) => return res,
    };
    let Ok(Form(StartForm { mode })) = form else {
        return error_page(
            &state,
            &tenant,
            StatusCode::BAD_REQUEST,
            "Unknown button",
            "Choose one of the sign-in buttons of the demo application.",
        );
    };
    let pending = Pending::new(mode, now(), FLOW_TTL_SECS);
    let sealed = serde_json::to_vec(&pending)
        .ok()
        .and_then(|json| seal::seal(&state.secret, SEAL_PURPOSE, &json).ok());
    let Some(sealed) = sealed else {
        tracing::error!("demo app: sealing the flow cookie failed");
        return error_page(
            &state,
            &tenant,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The demo application could not start a sign-in. Please try again.",
        );
    };
    let cookie = cookies::set(COOKIE, &sealed, HOME, Some(FLOW_TTL_SECS), state.is_https());
    let to = pending.authorize_url(
        &format!("{}/authorize", app.issuer),
        &app.client_id,
        &app.redirect_uri,
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&to)).into_response()
}

/// The flow this browser started, if its cookie opens and has not expired.
fn pending_flow(state: &AppState, headers: &HeaderMap) -> Option<Pending> {
    let sealed = cookies::get(headers, COOKIE)?;
    let json = seal::open(&state.secret, SEAL_PURPOSE, &sealed).ok()?;
    let pending: Pending = serde_json::from_slice(&json).ok()?;
    (pending.expires_at > now()).then_some(pending)
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

const EXPIRED_TITLE: &str = "This demo sign-in has expired";
const EXPIRED_MESSAGE: &str = "The demo application has no sign-in in progress in this browser \
    that matches this answer: it was already used, it timed out, or it was started in another \
    browser. Start again from the demo application.";

/// The redirect back from `/authorize`: checks `state` against the flow cookie, redeems the
/// code, validates the ID token and shows its claims.
async fn callback(
    State(state): State<AppState>,
    Extension(app): Extension<Arc<DemoApp>>,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Response {
    let tenant = match demo_tenant(&state).await {
        Ok(t) => t,
        Err(res) => return res,
    };
    let fail =
        |status, title: &str, message: &str| error_page(&state, &tenant, status, title, message);
    let expired = || fail(StatusCode::BAD_REQUEST, EXPIRED_TITLE, EXPIRED_MESSAGE);
    let Ok(Query(q)) = query else {
        return expired();
    };
    // RFC 6749 §10.12: an answer whose state is not this browser's flow is not acted on.
    let Some(pending) = pending_flow(&state, &headers) else {
        return expired();
    };
    if q.state.as_deref() != Some(pending.state.as_str()) {
        return expired();
    }
    // RFC 9207 §2.4: Gatehouse sends `iss` with every answer; another issuer's is refused.
    if q.iss.as_deref().is_some_and(|iss| iss != app.issuer) {
        return fail(
            StatusCode::BAD_REQUEST,
            "The answer came from another issuer",
            "The authorization response names an issuer other than the demo tenant.",
        );
    }
    if let Some(error) = q.error {
        let message = match q.error_description {
            Some(d) => format!("Gatehouse answered “{error}”: {d}"),
            None => format!("Gatehouse answered “{error}”."),
        };
        return fail(
            StatusCode::BAD_REQUEST,
            "The sign-in did not complete",
            &message,
        );
    }
    let Some(code) = q.code else {
        return fail(
            StatusCode::BAD_REQUEST,
            "The sign-in did not complete",
            "The answer carries neither a code nor an error.",
        );
    };
    let claims = match redeem(&state, &app, &tenant, &code, &pending).await {
        Ok(c) => c,
        Err(e) => {
            let status = match e {
                rp::RpError::Unreachable => StatusCode::BAD_GATEWAY,
                _ => StatusCode::BAD_REQUEST,
            };
            return fail(
                status,
                "The application could not finish the sign-in",
                &format!("The demo application stopped because {e}."),
            );
        }
    };
    let mut res = app_page(&state, &tenant, Some(signed(claims, pending.mode)));
    res.headers_mut()
        .append(header::SET_COOKIE, clear_cookie(&state));
    res
}

async fn redeem(
    state: &AppState,
    app: &DemoApp,
    tenant: &Tenant,
    code: &str,
    pending: &Pending,
) -> Result<Map<String, Value>, rp::RpError> {
    let exchange = Exchange {
        token_endpoint: &app.token_endpoint,
        client_id: &app.client_id,
        client_secret: &app.client_secret,
        redirect_uri: &app.redirect_uri,
    };
    let id_token = exchange
        .id_token(&state.http, code, &pending.code_verifier)
        .await?;
    // The keys the tenant's JWKS publishes, read from the key ring this process serves them from.
    let keys = state.keys.current(&tenant.id).await.map_err(|e| {
        tracing::error!(error = %e, "demo app: the demo tenant's keys are not loaded");
        rp::RpError::Signature
    })?;
    let expected = Expected {
        issuer: &app.issuer,
        client_id: &app.client_id,
        nonce: &pending.nonce,
    };
    rp::validate_id_token(&keys.set, &id_token, &expected, now())
}

/// A claim as table text: strings bare, lists joined, anything else as JSON; absent as "—".
fn show(claims: &Map<String, Value>, name: &str) -> String {
    match claims.get(name) {
        None | Some(Value::Null) => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(" "),
        Some(v) => v.to_string(),
    }
}

fn utc(secs: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(secs).ok()?;
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.format(&f).ok()
}

fn signed(claims: Map<String, Value>, mode: Mode) -> Signed {
    let row = |name: &'static str| Row {
        name,
        value: show(&claims, name),
        note: None,
    };
    let auth_time = Row {
        note: claims
            .get("auth_time")
            .and_then(Value::as_i64)
            .and_then(utc),
        ..row("auth_time")
    };
    Signed {
        rows: vec![row("sub"), row("amr"), row("acr"), auth_time, row("email")],
        raw_json: serde_json::to_string_pretty(&claims).unwrap_or_default(),
        mode,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_read_as_table_rows() {
        let Value::Object(claims) = json!({"sub": "u1", "amr": ["pwd", "otp", "mfa"],
            "acr": "mfa", "auth_time": 1_700_000_000, "email": "demo@example.com"})
        else {
            unreachable!()
        };
        let s = signed(claims, Mode::Mfa);
        let value = |n: &str| s.rows.iter().find(|r| r.name == n).unwrap();
        assert_eq!(value("amr").value, "pwd otp mfa");
        assert_eq!(value("acr").value, "mfa");
        assert_eq!(value("auth_time").value, "1700000000");
        assert_eq!(
            value("auth_time").note.as_deref(),
            Some("2023-11-14 22:13:20 UTC")
        );
        assert!(s.raw_json.contains("\"acr\": \"mfa\""));
        let empty = signed(Map::new(), Mode::Plain);
        assert!(
            empty
                .rows
                .iter()
                .all(|r| r.value == "—" && r.note.is_none())
        );
    }

    #[test]
    fn a_wildcard_bind_is_called_on_loopback() {
        let r = |s: &str| reachable(s.parse().unwrap()).to_string();
        assert_eq!(r("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(r("[::]:8080"), "[::1]:8080");
        assert_eq!(r("10.0.0.5:80"), "10.0.0.5:80");
    }
}
