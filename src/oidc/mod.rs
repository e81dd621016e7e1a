//! The OpenID Connect / OAuth 2.0 endpoints, one file per endpoint, all under a tenant's issuer
//! `{public_url}/t/{tenant}`.

pub mod authorize;
pub mod authz_request;
pub mod bearer;
pub mod claims;
pub mod client_assertion;
pub mod client_auth;
pub mod client_jwks;
pub mod discovery;
pub mod end_session;
pub mod error;
pub mod form;
pub mod grants;
pub mod introspect;
pub mod jwks;
pub mod response;
pub mod revoke;
pub mod scope;
pub mod token;
pub mod userinfo;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/t/{tenant}/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/t/{tenant}/jwks", get(jwks::jwks))
        .route("/t/{tenant}/token", post(token::token))
        .route(
            "/t/{tenant}/userinfo",
            get(userinfo::get).post(userinfo::post),
        )
        .route("/t/{tenant}/revoke", post(revoke::revoke))
        .route("/t/{tenant}/introspect", post(introspect::introspect))
        .route(
            "/t/{tenant}/logout",
            get(end_session::logout_get).post(end_session::logout_post),
        )
}

/// Headers for public, briefly cacheable documents (discovery, JWKS): a short max-age keeps key
/// rotation and tenant changes visible within minutes; CORS lets browser-based clients read them.
pub(crate) fn cacheable_json() -> [(axum::http::HeaderName, &'static str); 3] {
    use axum::http::header;
    [
        (header::CONTENT_TYPE, "application/json"),
        (header::CACHE_CONTROL, "public, max-age=300"),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
    ]
}
