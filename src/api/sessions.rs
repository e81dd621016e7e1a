//! `/api/v1/tenants/{slug}/users/{user_id}/sessions[/{session_id}]`: a user's live sessions,
//! and an admin ending one or all of them (`admin::sessions`); the clients of an ended session
//! are told by back-channel logout.

use axum::Json;
use axum::extract::{Path, State};

use super::error::{ApiError, ApiResult};
use super::scope::ForUser;
use super::views::{EndedView, Page, SessionView};
use crate::admin::sessions;
use crate::model::now;
use crate::signout::Ended;
use crate::state::{AppState, TenantCtx};
use crate::store::tenants::Tenant;

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/users/{user_id}/sessions", tag = "users",
    params(("slug" = String, Path), ("user_id" = String, Path)),
    responses((status = 200, body = Page<SessionView>), (status = 404, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    at: ForUser,
) -> ApiResult<Json<Page<SessionView>>> {
    let live = sessions::list(&state.db, &at.user, now()).await?;
    Ok(Json(Page {
        items: live.iter().map(SessionView::from).collect(),
        next_cursor: None,
    }))
}

/// Ends every session of the user and the grants bound to them (offline grants stay; Reset
/// MFA ends those too).
#[utoipa::path(delete, path = "/api/v1/tenants/{slug}/users/{user_id}/sessions", tag = "users",
    params(("slug" = String, Path), ("user_id" = String, Path)),
    responses((status = 200, body = EndedView), (status = 403, body = super::error::Problem),
        (status = 404, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn end_all(State(state): State<AppState>, at: ForUser) -> ApiResult<Json<EndedView>> {
    end(&state, at, None).await
}

/// Ends one session of the user and the grants bound to it.
#[utoipa::path(delete, path = "/api/v1/tenants/{slug}/users/{user_id}/sessions/{session_id}",
    tag = "users",
    params(("slug" = String, Path), ("user_id" = String, Path), ("session_id" = String, Path)),
    responses((status = 200, body = EndedView), (status = 403, body = super::error::Problem),
        (status = 404, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn end_one(
    State(state): State<AppState>,
    at: ForUser,
    Path((_, _, session_id)): Path<(String, String, String)>,
) -> ApiResult<Json<EndedView>> {
    end(&state, at, Some(&session_id)).await
}

async fn end(
    state: &AppState,
    at: ForUser,
    session_id: Option<&str>,
) -> ApiResult<Json<EndedView>> {
    at.caller.may_write()?;
    let actor = at.caller.actor();
    let ended = sessions::end(&state.db, &actor, &at.tenant, &at.user, session_id, now())
        .await?
        .ok_or_else(|| ApiError::NotFound("no such live session of this user".into()))?;
    tell_clients(state, at.tenant, &ended);
    Ok(Json(EndedView {
        sessions_ended: ended.sessions,
        grants_revoked: ended.grants,
    }))
}

/// Back-channel logout to the clients of the ended sessions (in the background).
pub(crate) fn tell_clients(state: &AppState, tenant: Tenant, ended: &Ended) {
    let ctx = TenantCtx {
        issuer: state.issuer(&tenant.slug),
        tenant: tenant.into(),
    };
    crate::oidc::backchannel::spawn(state, &ctx, ended.session_ids.clone());
}
