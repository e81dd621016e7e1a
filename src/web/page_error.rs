//! The one error type of the hosted HTML pages. A handler returns [`PageResult`] and leaves
//! early with `?`: a store failure becomes the generic 500 page (`.or_500(state, ctx)?`), a dead
//! transaction the "expired" page, and a ready response (a redirect to another stage, a form
//! shown again with its error) passes through unchanged, so each dead end is written once.
//!
//! A `PageError` carries what it needs to render itself (the templates, the tenant's theme and
//! name, the back link), so `into_response` needs no `AppState`. It renders inside the request,
//! so the page is in the request's language like any other.

use std::fmt::Display;
use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::pages::Base;
use super::templates::Templates;
use crate::state::{AppState, TenantCtx};
use crate::store::tenants::Tenant;

/// What a hosted-page handler returns: its page, or the page for the way it failed.
pub type PageResult = Result<Response, PageError>;

/// How long a "busy" answer asks the browser to wait (`Retry-After`, RFC 9110 §10.2.3).
pub const BUSY_RETRY_SECS: u32 = 5;

const EXPIRED_TITLE: &str = "This sign-in has expired";
const EXPIRED_MESSAGE: &str = "This sign-in page is no longer valid: it was already used, it \
    timed out, or it was opened in another browser. Go back to the application and sign in again.";
const BUSY_TITLE: &str = "Gatehouse is busy";
const BUSY_MESSAGE: &str = "Gatehouse is busy, try again in a few seconds. This attempt was not \
    checked and does not count against you.";
const INTERNAL_TITLE: &str = "Something went wrong";
const INTERNAL_MESSAGE: &str =
    "The sign-in service could not complete this step. Please try again.";

/// Which dead end a page error is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageErrorKind {
    /// A step failed inside (a store or sealing error): the detail was logged when the error was
    /// made, the browser gets a generic 500 without it.
    Internal,
    /// A transaction that is unknown, expired, finished or from another browser (400).
    Expired,
    /// Every password hasher is busy and the waiting line is full: 503 with `Retry-After`.
    /// Nothing was evaluated, so the user just tries again.
    Busy,
    /// Any other dead end with its own status and words (too many attempts, a refused request).
    Page {
        status: StatusCode,
        title: String,
        message: String,
    },
}

impl PageErrorKind {
    pub fn status(&self) -> StatusCode {
        match self {
            PageErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            PageErrorKind::Expired => StatusCode::BAD_REQUEST,
            PageErrorKind::Busy => StatusCode::SERVICE_UNAVAILABLE,
            PageErrorKind::Page { status, .. } => *status,
        }
    }

    fn words(&self) -> (&str, &str) {
        match self {
            PageErrorKind::Internal => (INTERNAL_TITLE, INTERNAL_MESSAGE),
            PageErrorKind::Expired => (EXPIRED_TITLE, EXPIRED_MESSAGE),
            PageErrorKind::Busy => (BUSY_TITLE, BUSY_MESSAGE),
            PageErrorKind::Page { title, message, .. } => (title, message),
        }
    }
}

/// A hosted page's early answer: an error page that renders itself, or a ready response.
/// Boxed: it travels in every handler's `Err`, and a pointer keeps the happy path small.
pub struct PageError(Box<Repr>);

enum Repr {
    Render { look: Look, kind: PageErrorKind },
    Ready(Response),
}

/// What the error page needs of the request: the tenant's look and where "back" leads.
struct Look {
    templates: Arc<Templates>,
    theme: String,
    tenant_name: String,
    back_url: Option<String>,
}

#[derive(Serialize)]
struct ErrorPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    message: &'a str,
    back_url: Option<&'a str>,
}

impl PageError {
    /// The error page `kind` for `tenant`, with an optional "back to the application" link.
    pub fn for_tenant(
        state: &AppState,
        tenant: &Tenant,
        kind: PageErrorKind,
        back_url: Option<&str>,
    ) -> PageError {
        PageError(Box::new(Repr::Render {
            look: Look {
                templates: state.templates.clone(),
                theme: tenant.theme.clone(),
                tenant_name: tenant.name.clone(),
                back_url: back_url.map(str::to_owned),
            },
            kind,
        }))
    }

    /// The generic 500 page; `e` goes to the log only.
    pub fn internal(state: &AppState, ctx: &TenantCtx, e: impl Display) -> PageError {
        tracing::error!(error = %e, "login step failed");
        PageError::for_tenant(state, &ctx.tenant, PageErrorKind::Internal, None)
    }

    /// The "this sign-in has expired" page.
    pub fn expired(state: &AppState, ctx: &TenantCtx, back_url: Option<&str>) -> PageError {
        PageError::for_tenant(state, &ctx.tenant, PageErrorKind::Expired, back_url)
    }

    /// The "busy, try again" page (503, `Retry-After`).
    pub fn busy(state: &AppState, ctx: &TenantCtx, back_url: Option<&str>) -> PageError {
        PageError::for_tenant(state, &ctx.tenant, PageErrorKind::Busy, back_url)
    }

    /// A dead end with its own status and words.
    pub fn page(
        state: &AppState,
        ctx: &TenantCtx,
        status: StatusCode,
        title: &str,
        message: &str,
        back_url: Option<&str>,
    ) -> PageError {
        let kind = PageErrorKind::Page {
            status,
            title: title.to_owned(),
            message: message.to_owned(),
        };
        PageError::for_tenant(state, &ctx.tenant, kind, back_url)
    }

    /// Which dead end this is; `None` for a ready response.
    pub fn kind(&self) -> Option<&PageErrorKind> {
        match &*self.0 {
            Repr::Render { kind, .. } => Some(kind),
            Repr::Ready(_) => None,
        }
    }
}

/// A ready page (a redirect, a form shown again with its error) leaves through `?` unchanged.
impl From<Response> for PageError {
    fn from(res: Response) -> PageError {
        PageError(Box::new(Repr::Ready(res)))
    }
}

/// For code still on `Result<_, Response>`: `?` on a `PageResult` renders the page there.
impl From<PageError> for Response {
    fn from(e: PageError) -> Response {
        e.into_response()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (look, kind) = match *self.0 {
            Repr::Ready(res) => return res,
            Repr::Render { look, kind } => (look, kind),
        };
        let (title, message) = kind.words();
        let mut res = look.templates.page(
            kind.status(),
            &look.theme,
            "error.html",
            ErrorPage {
                base: Base {
                    theme: &look.theme,
                    tenant_name: &look.tenant_name,
                    slug: "",
                    lang: super::i18n::current(),
                },
                title,
                message,
                back_url: look.back_url.as_deref(),
            },
        );
        if kind == PageErrorKind::Busy {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(BUSY_RETRY_SECS));
        }
        res
    }
}

/// `.or_500(state, ctx)?`: any failure becomes the generic 500 page, its detail logged.
pub trait Or500<T> {
    fn or_500(self, state: &AppState, ctx: &TenantCtx) -> Result<T, PageError>;
}

impl<T, E: Display> Or500<T> for Result<T, E> {
    fn or_500(self, state: &AppState, ctx: &TenantCtx) -> Result<T, PageError> {
        self.map_err(|e| PageError::internal(state, ctx, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(kind: PageErrorKind, back_url: Option<&str>) -> PageError {
        let look = Look {
            templates: Arc::new(Templates::new(std::path::Path::new("themes"))),
            theme: "default".into(),
            tenant_name: "Acme".into(),
            back_url: back_url.map(str::to_owned),
        };
        PageError(Box::new(Repr::Render { look, kind }))
    }

    async fn text(res: Response) -> String {
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn each_dead_end_renders_its_status_and_words_without_the_state() {
        let res = error(PageErrorKind::Expired, Some("https://app.example/")).into_response();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let html = text(res).await;
        assert!(html.contains(EXPIRED_TITLE) && html.contains("app.example"));

        let res = error(PageErrorKind::Busy, None).into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[header::RETRY_AFTER], "5");

        let res = error(PageErrorKind::Internal, None).into_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(text(res).await.contains(INTERNAL_TITLE));

        let kind = PageErrorKind::Page {
            status: StatusCode::TOO_MANY_REQUESTS,
            title: "Too many attempts".into(),
            message: "Wait.".into(),
        };
        let res = error(kind, None).into_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(res.headers().get(header::RETRY_AFTER).is_none());
        assert!(text(res).await.contains("Too many attempts"));
    }

    #[tokio::test]
    async fn a_ready_response_passes_through_unchanged() {
        let redirect = axum::response::Redirect::to("/t/acme/mfa?tx=x").into_response();
        let e = PageError::from(redirect);
        assert!(e.kind().is_none());
        let res = Response::from(e);
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()[header::LOCATION], "/t/acme/mfa?tx=x");
    }
}
