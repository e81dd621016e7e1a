//! The admin REST API under `/api/v1` (docs/api.md): API keys as Bearer credentials
//! (`auth`), RFC 9457 problem details (`error`), typed views (`views`), and the OpenAPI 3.1
//! document generated from the handlers' annotations, served at `/api/v1/openapi.json`.
//! Every operation is the service function the CLI calls.

pub mod audit;
pub mod auth;
pub mod clients;
pub mod error;
pub mod explain;
pub mod extract;
pub mod factors;
pub mod reports;
pub mod scope;
pub mod sessions;
pub mod tenants;
pub mod user_writes;
pub mod users;
pub mod views;

use axum::Json;
use axum::Router;
use axum::routing::{delete, get, post};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Gatehouse admin API", version = "1"),
    paths(
        tenants::list,
        tenants::get,
        tenants::update,
        clients::list,
        clients::get,
        clients::create,
        clients::update,
        clients::rotate_secret,
        clients::delete,
        users::list,
        users::get,
        user_writes::create,
        user_writes::update,
        user_writes::delete,
        users::mfa_reset,
        factors::list,
        factors::remove,
        sessions::list,
        sessions::end_all,
        sessions::end_one,
        audit::list,
        explain::explain,
        reports::mfa,
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
const CLIENTS: &str = "/api/v1/tenants/{slug}/clients";
const CLIENT: &str = "/api/v1/tenants/{slug}/clients/{client_id}";
const CLIENT_SECRET: &str = "/api/v1/tenants/{slug}/clients/{client_id}/secret";
const USERS: &str = "/api/v1/tenants/{slug}/users";
const USER: &str = "/api/v1/tenants/{slug}/users/{user_id}";
const MFA_RESET: &str = "/api/v1/tenants/{slug}/users/{user_id}/mfa-reset";
const FACTORS: &str = "/api/v1/tenants/{slug}/users/{user_id}/factors";
const FACTOR: &str = "/api/v1/tenants/{slug}/users/{user_id}/factors/{factor_id}";
const SESSIONS: &str = "/api/v1/tenants/{slug}/users/{user_id}/sessions";
const SESSION: &str = "/api/v1/tenants/{slug}/users/{user_id}/sessions/{session_id}";
const AUDIT: &str = "/api/v1/tenants/{slug}/audit-events";
const EXPLAIN: &str = "/api/v1/tenants/{slug}/explain";
const MFA_REPORT: &str = "/api/v1/tenants/{slug}/reports/mfa";

/// Every operation's path, as routed: the test holds the OpenAPI document to this list.
pub const ROUTES: &[&str] = &[
    TENANTS,
    TENANT,
    CLIENTS,
    CLIENT,
    CLIENT_SECRET,
    USERS,
    USER,
    MFA_RESET,
    FACTORS,
    FACTOR,
    SESSIONS,
    SESSION,
    AUDIT,
    EXPLAIN,
    MFA_REPORT,
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route(TENANTS, get(tenants::list))
        .route(TENANT, get(tenants::get).patch(tenants::update))
        .route(CLIENTS, get(clients::list).post(clients::create))
        .route(
            CLIENT,
            get(clients::get)
                .patch(clients::update)
                .delete(clients::delete),
        )
        .route(CLIENT_SECRET, post(clients::rotate_secret))
        .route(USERS, get(users::list).post(user_writes::create))
        .route(
            USER,
            get(users::get)
                .patch(user_writes::update)
                .delete(user_writes::delete),
        )
        .route(MFA_RESET, post(users::mfa_reset))
        .route(FACTORS, get(factors::list))
        .route(FACTOR, delete(factors::remove))
        .route(SESSIONS, get(sessions::list).delete(sessions::end_all))
        .route(SESSION, delete(sessions::end_one))
        .route(AUDIT, get(audit::list))
        .route(EXPLAIN, post(explain::explain))
        .route(MFA_REPORT, get(reports::mfa))
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
