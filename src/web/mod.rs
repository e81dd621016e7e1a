//! HTTP plumbing shared by every route: security headers, metrics, templates, static assets,
//! the hosted-page helpers (base context, error pages and their error type), form parsing and
//! the CSRF-checked form, and the session cookie.

pub mod browser;
pub mod client_ip;
pub mod cookies;
pub mod csrf_form;
pub mod form;
pub mod headers;
pub mod i18n;
pub mod metrics;
pub mod page_error;
pub mod pages;
pub mod return_to;
pub mod say;
pub mod session;
pub mod setup;
pub mod templates;
pub mod unavailable;

pub use csrf_form::{CsrfForm, FormFields};
pub use page_error::{Or500, PageError, PageErrorKind, PageResult};
