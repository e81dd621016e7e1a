//! The OpenID Connect / OAuth 2.0 endpoints, one file per endpoint, all under a tenant's issuer
//! `{public_url}/t/{tenant}`.

pub mod authorize;
pub mod authz_request;
pub mod backchannel;
pub mod bearer;
pub mod claims;
pub mod client_assertion;
pub mod client_auth;
pub mod client_jwks;
pub mod cors;
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

pub fn router(state: &AppState) -> Router<AppState> {
    // The endpoints browser applications call with fetch: CORS for their clients' origins.
    let for_browsers = Router::new()
        .route(
            "/t/{tenant}/token",
            post(token::token).options(cors::preflight),
        )
        .route(
            "/t/{tenant}/userinfo",
            get(userinfo::get)
                .post(userinfo::post)
                .options(cors::preflight),
        )
        .route(
            "/t/{tenant}/revoke",
            post(revoke::revoke).options(cors::preflight),
        )
        .route(
            "/t/{tenant}/introspect",
            post(introspect::introspect).options(cors::preflight),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cors::allow_client_origin,
        ));
    Router::new()
        .merge(for_browsers)
        .route(
            "/t/{tenant}/.well-known/openid-configuration",
            get(discovery::provider_metadata),
        )
        .route(
            "/.well-known/oauth-authorization-server/t/{tenant}",
            get(discovery::provider_metadata),
        )
        .route(
            "/t/{tenant}/.well-known/oauth-authorization-server",
            get(discovery::provider_metadata),
        )
        .route("/t/{tenant}/jwks", get(jwks::jwks))
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
