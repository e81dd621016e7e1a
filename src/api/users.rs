//! `/api/v1/tenants/{slug}/users[/{user_id}]` and `POST .../mfa-reset`: the same store reads
//! and the same `mfa::reset::reset` the CLI uses.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ApiResult};
use super::extract::{self, ApiQuery, etag};
use super::scope::{ForUser, InTenant};
use super::views::{FactorView, MfaStatusView, Page, ResetView, UserView};
use crate::model::now;
use crate::state::AppState;
use crate::store::users::{self, User};
use crate::store::{Db, StoreResult, devices, factors, recovery_codes};

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    /// Exact email (case-insensitive).
    pub email: Option<String>,
    /// Exact username.
    pub username: Option<String>,
    /// Prefix of the email or username.
    pub q: Option<String>,
    /// `enrolled` (at least one factor) or `none`.
    pub mfa: Option<String>,
    /// `true` or `false`.
    pub locked: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub(super) async fn mfa_status(db: &Db, u: &User) -> StoreResult<MfaStatusView> {
    let fs = factors::list_for_user(db, &u.id).await?;
    Ok(MfaStatusView {
        enrolled: !fs.is_empty(),
        factors: fs.iter().map(FactorView::from).collect(),
        recovery_codes_remaining: recovery_codes::remaining(db, &u.id).await?,
        trusted_devices: devices::list_for_user(db, &u.id, now()).await?.len() as i64,
    })
}

/// Users ordered by email, filtered, one page at a time (the cursor is the last email seen).
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/users", tag = "users",
    params(("slug" = String, Path, description = "the tenant's slug"), UserQuery),
    responses((status = 200, body = Page<UserView>), (status = 400, body = super::error::Problem),
        (status = 404, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    InTenant { tenant: t, .. }: InTenant,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult<Json<Page<UserView>>> {
    let limit = extract::limit(q.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let want_mfa = match q.mfa.as_deref() {
        None => None,
        Some("enrolled") => Some(true),
        Some("none") => Some(false),
        Some(other) => {
            return Err(ApiError::Invalid(format!(
                "mfa: expected `enrolled` or `none`, got `{other}`"
            )));
        }
    };
    let locked = match q.locked.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            return Err(ApiError::Invalid(format!(
                "locked: expected `true` or `false`, got `{other}`"
            )));
        }
    };
    let search = users::Search {
        email: q.email.as_deref().map(users::normalize_email),
        username: q.username,
        prefix: q.q.as_deref().map(|p| p.trim().to_lowercase()),
        enrolled: want_mfa,
        locked,
        after: extract::decode_cursor(q.cursor.as_deref())?,
    };
    // One more than a page tells whether another page follows.
    let mut found = users::search(&state.db, &t.id, &search, limit as i64 + 1).await?;
    let next_cursor = if found.len() > limit {
        found.truncate(limit);
        found.last().map(|u| extract::encode_cursor(&u.email))
    } else {
        None
    };
    let mut items = Vec::with_capacity(found.len());
    for u in &found {
        items.push(UserView::new(u, mfa_status(&state.db, u).await?));
    }
    Ok(Json(Page { items, next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/users/{user_id}", tag = "users",
    params(("slug" = String, Path), ("user_id" = String, Path)),
    responses((status = 200, body = UserView, headers(("ETag" = String))),
        (status = 404, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    at: ForUser,
) -> ApiResult<(HeaderMap, Json<UserView>)> {
    let mfa = mfa_status(&state.db, &at.user).await?;
    Ok((etag(at.user.version), Json(UserView::new(&at.user, mfa))))
}

/// "Reset MFA" (help page 002): every factor, recovery code and trusted device goes, every
/// session and grant ends (clients are told by back-channel logout), the user is mailed; with
/// MFA required they enrol again at the next sign-in.
#[utoipa::path(post, path = "/api/v1/tenants/{slug}/users/{user_id}/mfa-reset", tag = "users",
    params(("slug" = String, Path), ("user_id" = String, Path)),
    responses((status = 200, body = ResetView), (status = 403, body = super::error::Problem),
        (status = 404, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn mfa_reset(State(state): State<AppState>, at: ForUser) -> ApiResult<Json<ResetView>> {
    at.caller.may_write()?;
    let ForUser {
        caller,
        tenant: t,
        user: u,
    } = at;
    let actor = caller.actor();
    let reset = crate::mfa::reset::reset(&state.db, &state.notifier, now(), &t, &u, &actor).await?;
    super::sessions::tell_clients(&state, t, &reset.ended);
    Ok(Json(ResetView {
        user_id: u.id.to_string(),
        factors_removed: reset.factors_removed,
        sessions_ended: reset.ended.sessions,
        grants_revoked: reset.ended.grants,
        user_notified: reset.notified,
    }))
}
