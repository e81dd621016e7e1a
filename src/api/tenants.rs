//! `/api/v1/tenants[/{slug}]`.

use axum::Json;
use axum::extract::{Path, State};

use super::auth::Caller;
use super::error::ApiResult;
use super::views::{Page, TenantView};
use crate::state::AppState;
use crate::store::tenants;

/// Every tenant the key may see (a tenant key: its own).
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants",
    responses((status = 200, body = Page<TenantView>), (status = 401, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Page<TenantView>>> {
    let all = tenants::list(&state.db).await?;
    let items = all
        .iter()
        .filter(|t| caller.is_platform() || caller.key.tenant_id.as_ref() == Some(&t.id))
        .map(TenantView::from)
        .collect();
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}", tag = "tenants",
    params(("slug" = String, Path, description = "the tenant's slug")),
    responses((status = 200, body = TenantView), (status = 404, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<TenantView>> {
    let t = caller.tenant(&state, &slug).await?;
    Ok(Json(TenantView::from(&t)))
}
