//! The admin REST API under `/api/v1` (docs/api.md): API keys as Bearer credentials
//! (`auth`), RFC 9457 problem details (`error`), typed views (`views`), and the OpenAPI 3.1
//! document generated from the handlers' annotations, served at `/api/v1/openapi.json`.
//! Every operation is the service function the CLI calls.

pub mod auth;
pub mod error;
pub mod tenants;
pub mod users;
pub mod views;

use axum::Json;
use axum::Router;
use axum::routing::{get, post};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Gatehouse admin API", version = "1"),
    paths(
        tenants::list,
        tenants::get,
        users::list,
        users::get,
        users::mfa_reset,
    ),
    modifiers(&BearerKeys),
)]
pub struct ApiDoc;

struct BearerKeys;

impl utoipa::Modify for BearerKeys {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build();
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("api_key", SecurityScheme::Http(scheme));
    }
}

const TENANTS: &str = "/api/v1/tenants";
const TENANT: &str = "/api/v1/tenants/{slug}";
const USERS: &str = "/api/v1/tenants/{slug}/users";
const USER: &str = "/api/v1/tenants/{slug}/users/{user_id}";
const MFA_RESET: &str = "/api/v1/tenants/{slug}/users/{user_id}/mfa-reset";

/// Every operation's path, as routed: the test holds the OpenAPI document to this list.
pub const ROUTES: &[&str] = &[TENANTS, TENANT, USERS, USER, MFA_RESET];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route(TENANTS, get(tenants::list))
        .route(TENANT, get(tenants::get))
        .route(USERS, get(users::list))
        .route(USER, get(users::get))
        .route(MFA_RESET, post(users::mfa_reset))
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
