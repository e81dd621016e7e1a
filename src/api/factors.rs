//! `/api/v1/tenants/{slug}/users/{user_id}/factors[/{factor_id}]`: a user's factors, and an
//! admin removing one (help page 002, "Disable Two-Factor Authentication" for one method):
//! the same `mfa::reset::remove_factor` the "Manage two-factor" pages call.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::error::{ApiError, ApiResult};
use super::scope::ForUser;
use super::views::{FactorView, Page};
use crate::mfa::reset::{self, Removal};
use crate::state::AppState;
use crate::store::factors;

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/users/{user_id}/factors", tag = "users",
    params(("slug" = String, Path), ("user_id" = String, Path)),
    responses((status = 200, body = Page<FactorView>), (status = 404, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn list(State(state): State<AppState>, at: ForUser) -> ApiResult<Json<Page<FactorView>>> {
    let fs = factors::list_for_user(&state.db, &at.user.id).await?;
    Ok(Json(Page {
        items: fs.iter().map(FactorView::from).collect(),
        next_cursor: None,
    }))
}

/// Removes one factor. Every session of the user loses its second-factor proof and every
/// trusted device goes (the factor may be on a lost phone); the last factor of a user whose
/// tenant requires MFA cannot be removed this way (409: reset their MFA instead).
#[utoipa::path(delete, path = "/api/v1/tenants/{slug}/users/{user_id}/factors/{factor_id}",
    tag = "users",
    params(("slug" = String, Path), ("user_id" = String, Path), ("factor_id" = String, Path)),
    responses((status = 204), (status = 403, body = super::error::Problem),
        (status = 404, body = super::error::Problem), (status = 409, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    at: ForUser,
    Path((_, _, factor_id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    at.caller.may_write()?;
    let actor = at.caller.actor();
    // No session of the user is the admin's: none keeps its proof.
    let deps = state.mfa_deps();
    let removed = reset::remove_factor(&deps, &at.tenant, &at.user, &actor, &factor_id, "").await?;
    match removed {
        Removal::Removed => Ok(StatusCode::NO_CONTENT),
        Removal::NotFound => Err(ApiError::NotFound(format!("unknown factor `{factor_id}`"))),
        Removal::LastFactorRequired => Err(ApiError::Conflict(
            "the tenant requires MFA and this is the user's last factor: reset their MFA instead"
                .into(),
        )),
    }
}
