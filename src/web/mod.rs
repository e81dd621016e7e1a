//! HTTP plumbing shared by every route: security headers, metrics, templates, static assets.

pub mod browser;
pub mod client_ip;
pub mod cookies;
pub mod headers;
pub mod i18n;
pub mod metrics;
pub mod templates;
