//! RFC 7517 JWK Set of the signing keys (public parts only), served from memory.

use axum::extract::State;
use axum::response::IntoResponse;

use crate::state::{AppState, TenantCtx};

/// Keys are shared by all tenants of a deployment; the JWKS is still served per issuer because
/// clients find it through that issuer's discovery document.
pub async fn jwks(State(state): State<AppState>, _ctx: TenantCtx) -> impl IntoResponse {
    (super::cacheable_json(), state.keys.current().jwks.clone())
}
