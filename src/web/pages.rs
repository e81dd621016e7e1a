//! Page rendering helpers for every hosted page (login, account, sign-out): the shared context
//! every page needs and the friendly error page used for every dead end (see `web::page_error`).

use serde::Serialize;

pub use super::page_error::BUSY_RETRY_SECS;
use crate::store::tenants::Tenant;

/// The context every page's base template reads.
#[derive(Serialize)]
pub struct Base<'a> {
    pub theme: &'a str,
    pub tenant_name: &'a str,
    /// For absolute form actions and links (`/t/{slug}/...`).
    pub slug: &'a str,
    pub lang: String,
}

impl<'a> Base<'a> {
    pub fn new(tenant: &'a Tenant) -> Self {
        Base {
            theme: &tenant.theme,
            tenant_name: &tenant.name,
            slug: &tenant.slug,
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
