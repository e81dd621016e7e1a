//! The hosted admin console at `/admin`: server-rendered pages over the same `admin::*`
//! services the CLI and the admin API call, for admins who sign in through Gatehouse itself
//! (see [`session`]). Plain HTML forms, CSRF on each, POST-redirect-GET; destructive actions
//! (Reset MFA, removing a factor, deleting a user or client, rotating a secret) want a fresh
//! second factor first. A tenant admin sees one tenant; any other is a 404, as in the API.

pub mod audit;
pub mod chart;
pub mod clients;
pub mod report;
pub mod session;
pub mod tenants;
pub mod user;
pub mod users;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Serialize;

use crate::state::AppState;
use crate::store::tenants::Tenant;
use crate::web::pages::Base;
use crate::web::{FormFields, PageError, PageResult};
pub use session::Admin;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(tenants::home))
        .route("/admin/signin", get(session::signin))
        .route("/admin/callback", get(session::callback))
        .route("/admin/signout", post(session::signout))
        .route("/admin/signed-out", get(session::signed_out))
        .route("/admin/t/{slug}", get(tenants::show).post(tenants::save))
        .route("/admin/t/{slug}/users", get(users::list))
        .route("/admin/t/{slug}/users/{user_id}", get(user::show))
        .route("/admin/t/{slug}/users/{user_id}/lock", post(user::lock))
        .route(
            "/admin/t/{slug}/users/{user_id}/delete",
            get(user::confirm_delete).post(user::delete),
        )
        .route(
            "/admin/t/{slug}/users/{user_id}/mfa-reset",
            get(user::confirm_reset).post(user::reset),
        )
        .route(
            "/admin/t/{slug}/users/{user_id}/factors/{factor_id}/remove",
            get(user::confirm_remove).post(user::remove_factor),
        )
        .route(
            "/admin/t/{slug}/users/{user_id}/sessions/end",
            post(user::end_sessions),
        )
        .route("/admin/t/{slug}/clients", get(clients::list))
        .route("/admin/t/{slug}/clients/{client_id}", get(clients::show))
        .route(
            "/admin/t/{slug}/clients/{client_id}/secret",
            get(clients::confirm_rotate).post(clients::rotate),
        )
        .route(
            "/admin/t/{slug}/clients/{client_id}/delete",
            get(clients::confirm_delete).post(clients::delete),
        )
        .route("/admin/t/{slug}/audit", get(audit::list))
        .route("/admin/t/{slug}/report", get(report::show))
}

/// A console admin on one tenant's pages (`/admin/t/{slug}/...`) that their scope covers.
pub struct AdminIn {
    pub admin: Admin,
    pub tenant: Arc<Tenant>,
}

impl FromRequestParts<AppState> for AdminIn {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let admin = Admin::from_request_parts(parts, state).await?;
        let Ok(Path(params)) =
            Path::<HashMap<String, String>>::from_request_parts(parts, state).await
        else {
            return Err(admin.not_found(state));
        };
        let tenant = match params.get("slug") {
            Some(slug) => state.tenant(slug).await.ok(),
            None => None,
        };
        match tenant {
            Some(t) if admin.scope.covers(&t.id) => Ok(AdminIn { admin, tenant: t }),
            _ => Err(admin.not_found(state)),
        }
    }
}

impl AdminIn {
    /// The checks of every action form: the CSRF token, and for a destructive one (`confirm`
    /// is its confirmation page) a second factor proven within `console.step_up_secs`, else
    /// the step-up, which comes back to that page.
    pub fn check(
        &self,
        state: &AppState,
        form: &FormFields,
        confirm: Option<&str>,
    ) -> Result<(), PageError> {
        if !self.admin.form_ok(state, form) {
            return Err(self.admin.form_expired(state));
        }
        match confirm {
            Some(path) if !self.admin.fresh(state) => Err(self.admin.step_up(path)),
            _ => Ok(()),
        }
    }
}

/// "Are you sure?" before a destructive action, naming what it does.
pub struct Confirm<'a> {
    /// The confirmation page's own path; its form posts there.
    pub here: String,
    pub section: &'a str,
    pub title: &'a str,
    pub heading: String,
    pub consequences: Vec<String>,
    pub button: &'a str,
    pub back: String,
}

#[derive(Serialize)]
struct ConfirmPage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    heading: String,
    consequences: Vec<String>,
    action: String,
    button: &'a str,
    back: String,
}

impl AdminIn {
    /// The confirmation page, reached only with a second factor proven within
    /// `console.step_up_secs` (else through the step-up, which comes back here).
    pub fn confirm(&self, state: &AppState, c: Confirm<'_>) -> PageResult {
        if !self.admin.fresh(state) {
            return Err(self.admin.step_up(&c.here));
        }
        let page = ConfirmPage {
            frame: Frame::new(&self.admin, Some(&self.tenant), c.section, c.title),
            heading: c.heading,
            consequences: c.consequences,
            action: c.here,
            button: c.button,
            back: c.back,
        };
        Ok(render(state, &self.admin, "admin_confirm.html", page))
    }
}

/// What every console page's layout reads.
#[derive(Serialize)]
pub struct Frame<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    admin_email: &'a str,
    csrf: &'a str,
    platform: bool,
    /// The tenant whose pages these are, for the navigation.
    nav_slug: Option<&'a str>,
    nav_name: Option<&'a str>,
    /// Which navigation entry is this page's (`aria-current`).
    section: &'a str,
}

impl<'a> Frame<'a> {
    pub fn new(
        admin: &'a Admin,
        tenant: Option<&'a Tenant>,
        section: &'a str,
        title: &'a str,
    ) -> Frame<'a> {
        Frame {
            base: Base::new(&admin.system.tenant),
            title,
            admin_email: &admin.user.email,
            csrf: &admin.csrf,
            platform: admin.platform(),
            nav_slug: tenant.map(|t| t.slug.as_str()),
            nav_name: tenant.map(|t| t.name.as_str()),
            section,
        }
    }
}

/// Renders a console page in the system tenant's theme.
pub fn render(state: &AppState, admin: &Admin, page: &str, ctx: impl Serialize) -> Response {
    let theme = &admin.system.tenant.theme;
    state.templates.page(StatusCode::OK, theme, page, ctx)
}

/// POST-redirect-GET: back to `path` with a notice the page shows once.
pub fn done(path: &str, notice: &str) -> Response {
    let sep = if path.contains('?') { '&' } else { '?' };
    let q: String = url::form_urlencoded::byte_serialize(notice.as_bytes()).collect();
    Redirect::to(&format!("{path}{sep}notice={q}")).into_response()
}

/// The notices [`done`] may carry: a page shows only these words, never text from the query.
pub fn notice(q: &HashMap<String, String>, known: &[&'static str]) -> Option<&'static str> {
    let asked = q.get("notice")?;
    known.iter().copied().find(|k| k == asked)
}

pub fn time(ts: i64) -> String {
    crate::model::human_time(ts)
}
