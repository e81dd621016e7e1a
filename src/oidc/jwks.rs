//! RFC 7517 JWK Set of the signing keys (public parts only), served from memory.

use axum::extract::State;
use axum::response::IntoResponse;

use crate::error::AppError;
use crate::state::{AppState, TenantCtx};

/// The tenant's own keys (`crypto::tenant_keys`): a token of one tenant never verifies under
/// another's JWKS.
pub async fn jwks(
    State(state): State<AppState>,
    ctx: TenantCtx,
) -> Result<impl IntoResponse, AppError> {
    let keys = state.keys.current(&ctx.tenant.id).await?;
    Ok((super::cacheable_json(), keys.jwks.clone()))
}
