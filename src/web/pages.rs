//! Page rendering helpers for every hosted page (login, account, sign-out): the shared context
//! every page needs and the friendly error page used for every dead end.

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use crate::state::{AppState, TenantCtx};
use crate::store::tenants::Tenant;

/// The context every page's base template reads.
#[derive(Serialize)]
pub struct Base<'a> {
    pub theme: &'a str,
    pub tenant_name: &'a str,
    pub lang: String,
}

impl<'a> Base<'a> {
    pub fn new(tenant: &'a Tenant) -> Self {
        Base {
            theme: &tenant.theme,
            tenant_name: &tenant.name,
            lang: crate::web::i18n::current(),
        }
    }
}

#[derive(Serialize)]
struct ErrorPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    message: &'a str,
    back_url: Option<&'a str>,
}

/// The origin of a registered redirect URI: a safe "back to the application" link.
pub fn app_home(redirect_uri: &str) -> Option<String> {
    let url = url::Url::parse(redirect_uri).ok()?;
    match url.scheme() {
        "http" | "https" => Some(format!("{}/", url.origin().ascii_serialization())),
        _ => None,
    }
}

pub fn error(
    state: &AppState,
    tenant: &Tenant,
    status: StatusCode,
    title: &str,
    message: &str,
    back_url: Option<&str>,
) -> Response {
    state.templates.page(
        status,
        &tenant.theme,
        "error.html",
        ErrorPage {
            base: Base::new(tenant),
            title,
            message,
            back_url,
        },
    )
}

/// The page for a transaction that is unknown, expired, finished or from another browser.
pub fn expired(state: &AppState, tenant: &Tenant, back_url: Option<&str>) -> Response {
    error(
        state,
        tenant,
        StatusCode::BAD_REQUEST,
        "This sign-in has expired",
        "This sign-in page is no longer valid: it was already used, it timed out, or it was \
         opened in another browser. Go back to the application and sign in again.",
        back_url,
    )
}

/// How long a "busy" answer asks the browser to wait (`Retry-After`, RFC 9110 §10.2.3).
pub const BUSY_RETRY_SECS: u32 = 5;

/// The page for a request turned away because every password hasher is busy and the waiting
/// line is full: 503 with `Retry-After`. Nothing was evaluated, so the user just tries again.
pub fn busy(state: &AppState, tenant: &Tenant, back_url: Option<&str>) -> Response {
    let mut res = error(
        state,
        tenant,
        StatusCode::SERVICE_UNAVAILABLE,
        "Gatehouse is busy",
        "Gatehouse is busy, try again in a few seconds. This attempt was not checked and does not \
         count against you.",
        back_url,
    );
    res.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(BUSY_RETRY_SECS),
    );
    res
}

/// The 500 page for a step that failed inside (a store or sealing error): the detail goes to the
/// log only, the browser gets a generic page.
pub fn server_error(state: &AppState, ctx: &TenantCtx, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "login step failed");
    error(
        state,
        &ctx.tenant,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The sign-in service could not complete this step. Please try again.",
        None,
    )
}
