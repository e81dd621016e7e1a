//! `/api/v1/tenants/{slug}/users[/{user_id}]` and `POST .../mfa-reset`: the same store reads
//! and the same `mfa::reset::reset` the CLI uses.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::views::{FactorView, MfaStatusView, Page, ResetView, UserView};
use crate::ids::UserId;
use crate::model::now;
use crate::state::{AppState, TenantCtx};
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
    /// 1–200, default 50.
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

async fn mfa_status(db: &Db, u: &User) -> StoreResult<MfaStatusView> {
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
    caller: Caller,
    Path(slug): Path<String>,
    query: Result<Query<UserQuery>, QueryRejection>,
) -> ApiResult<Json<Page<UserView>>> {
    // axum's own rejection is plain text; the API answers problem details naming the field.
    let Query(q) = query.map_err(|e| ApiError::Invalid(e.body_text()))?;
    let t = caller.tenant(&state, &slug).await?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::Invalid(format!(
            "limit: expected 1 to {MAX_LIMIT}"
        )));
    }
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
    let after = match &q.cursor {
        None => None,
        Some(c) => Some(
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| ApiError::Invalid("cursor: not a cursor this API gave".into()))?,
        ),
    };
    let email = q.email.as_deref().map(users::normalize_email);
    let prefix = q.q.as_deref().map(|p| p.trim().to_lowercase());
    let mut items = Vec::new();
    let mut next_cursor = None;
    for u in users::list(&state.db, &t.id).await? {
        let matches = email.as_ref().is_none_or(|e| *e == u.email)
            && q.username
                .as_ref()
                .is_none_or(|n| u.username.as_deref() == Some(n.as_str()))
            && prefix.as_ref().is_none_or(|p| {
                u.email.starts_with(p.as_str())
                    || u.username
                        .as_ref()
                        .is_some_and(|n| n.to_lowercase().starts_with(p.as_str()))
            })
            && after.as_ref().is_none_or(|a| u.email.as_str() > a.as_str());
        if !matches {
            continue;
        }
        let mfa = mfa_status(&state.db, &u).await?;
        if want_mfa.is_some_and(|w| w != mfa.enrolled) {
            continue;
        }
        if items.len() == limit {
            next_cursor = items
                .last()
                .map(|v: &UserView| URL_SAFE_NO_PAD.encode(v.email.as_bytes()));
            break;
        }
        items.push(UserView::new(&u, mfa));
    }
    Ok(Json(Page { items, next_cursor }))
}

async fn user_of(
    state: &AppState,
    caller: &Caller,
    slug: &str,
    id: &str,
) -> ApiResult<(crate::store::tenants::Tenant, User)> {
    let t = caller.tenant(state, slug).await?;
    let u = users::get(&state.db, &t.id, &UserId::from(id)).await?;
    Ok((t, u))
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/users/{user_id}", tag = "users",
    params(("slug" = String, Path), ("user_id" = String, Path)),
    responses((status = 200, body = UserView), (status = 404, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((slug, user_id)): Path<(String, String)>,
) -> ApiResult<Json<UserView>> {
    let (_, u) = user_of(&state, &caller, &slug, &user_id).await?;
    let mfa = mfa_status(&state.db, &u).await?;
    Ok(Json(UserView::new(&u, mfa)))
}

/// "Reset MFA" (help page 002): every factor, recovery code and trusted device goes, every
/// session and grant ends (clients are told by back-channel logout), the user is mailed; with
/// MFA required they enrol again at the next sign-in.
#[utoipa::path(post, path = "/api/v1/tenants/{slug}/users/{user_id}/mfa-reset", tag = "users",
    params(("slug" = String, Path), ("user_id" = String, Path)),
    responses((status = 200, body = ResetView), (status = 403, body = super::error::Problem),
        (status = 404, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn mfa_reset(
    State(state): State<AppState>,
    caller: Caller,
    Path((slug, user_id)): Path<(String, String)>,
) -> ApiResult<Json<ResetView>> {
    caller.may_write()?;
    let (t, u) = user_of(&state, &caller, &slug, &user_id).await?;
    let actor = caller.actor();
    let reset = crate::mfa::reset::reset(&state.db, &state.notifier, now(), &t, &u, &actor).await?;
    let ctx = TenantCtx {
        issuer: state.issuer(&t.slug),
        tenant: t,
    };
    crate::oidc::backchannel::spawn(&state, &ctx, reset.ended.session_ids.clone());
    Ok(Json(ResetView {
        user_id: u.id.to_string(),
        factors_removed: reset.factors_removed,
        sessions_ended: reset.ended.sessions,
        grants_revoked: reset.ended.grants,
        user_notified: reset.notified,
    }))
}
