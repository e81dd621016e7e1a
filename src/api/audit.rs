//! `GET /api/v1/tenants/{slug}/audit-events`: the tenant's audit log, newest first, filtered by
//! user, event, client and time range, one page at a time.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ApiResult};
use super::extract::{self, ApiQuery};
use super::scope::InTenant;
use super::views::{AuditEventView, Page};
use crate::ids::UserId;
use crate::state::AppState;
use crate::store::audit::{self, Filter};

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub user_id: Option<String>,
    /// An exact event name, e.g. `mfa.reset` or `login.mfa_decision`.
    pub event: Option<String>,
    /// Events that name this client (sign-in decisions, client changes).
    pub client_id: Option<String>,
    /// From this time on (unix seconds, inclusive).
    pub since: Option<i64>,
    /// Before this time (unix seconds, exclusive).
    pub until: Option<i64>,
    /// 1–500, default 100.
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/audit-events", tag = "audit",
    params(("slug" = String, Path), AuditQuery),
    responses((status = 200, body = Page<AuditEventView>), (status = 400, body = super::error::Problem),
        (status = 404, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    InTenant { tenant: t, .. }: InTenant,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<AuditEventView>>> {
    let limit = extract::limit(q.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let before = match extract::decode_cursor(q.cursor.as_deref())? {
        None => None,
        Some(position) => Some(
            position
                .split_once(' ')
                .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_owned())))
                .ok_or_else(|| ApiError::Invalid("cursor: not a cursor this API gave".into()))?,
        ),
    };
    let filter = Filter {
        user_id: q.user_id.map(UserId::from),
        event: q.event,
        client_id: q.client_id,
        since: q.since,
        until: q.until,
        before,
    };
    // One more than a page tells whether another page follows.
    let mut events = audit::search(&state.db, &t.id, &filter, limit as i64 + 1).await?;
    let next_cursor = if events.len() > limit {
        events.truncate(limit);
        events
            .last()
            .map(|e| extract::encode_cursor(&format!("{} {}", e.created_at, e.id)))
    } else {
        None
    };
    Ok(Json(Page {
        items: events.iter().map(AuditEventView::from).collect(),
        next_cursor,
    }))
}
