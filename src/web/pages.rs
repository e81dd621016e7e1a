//! Page rendering helpers for every hosted page (login, account, sign-out): the shared context
//! every page needs and the friendly error page used for every dead end (see `web::page_error`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub use super::page_error::BUSY_RETRY_SECS;
use super::page_error::{PageError, PageErrorKind};
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

/// The origin of a registered redirect URI: a safe "back to the application" link.
pub fn app_home(redirect_uri: &str) -> Option<String> {
    let url = url::Url::parse(redirect_uri).ok()?;
    match url.scheme() {
        "http" | "https" => Some(format!("{}/", url.origin().ascii_serialization())),
        _ => None,
    }
}

// The functions below are the same pages for code still on `Result<_, Response>`; new code
// returns a [`PageError`] (`web::page_error`), which renders them.

pub fn error(
    state: &AppState,
    tenant: &Tenant,
    status: StatusCode,
    title: &str,
    message: &str,
    back_url: Option<&str>,
) -> Response {
    let kind = PageErrorKind::Page {
        status,
        title: title.to_owned(),
        message: message.to_owned(),
    };
    PageError::for_tenant(state, tenant, kind, back_url).into_response()
}

/// The page for a transaction that is unknown, expired, finished or from another browser.
pub fn expired(state: &AppState, tenant: &Tenant, back_url: Option<&str>) -> Response {
    PageError::for_tenant(state, tenant, PageErrorKind::Expired, back_url).into_response()
}

/// The page for a request turned away because every password hasher is busy and the waiting
/// line is full: 503 with `Retry-After`. Nothing was evaluated, so the user just tries again.
pub fn busy(state: &AppState, tenant: &Tenant, back_url: Option<&str>) -> Response {
    PageError::for_tenant(state, tenant, PageErrorKind::Busy, back_url).into_response()
}

/// The 500 page for a step that failed inside (a store or sealing error): the detail goes to the
/// log only, the browser gets a generic page.
pub fn server_error(state: &AppState, ctx: &TenantCtx, e: impl std::fmt::Display) -> Response {
    PageError::internal(state, ctx, e).into_response()
}
