//! Creating, changing, locking and deleting users: `POST .../users`, `PATCH` and `DELETE
//! .../users/{user_id}`, through `admin::users` (the functions `gatehouse user create|update|
//! delete` call). Locking and deleting end every session and grant; the clients of the ended
//! sessions are told by back-channel logout. A user's `ETag` is its version; `If-Match` on a
//! `PATCH` makes the change conditional (412 when stale).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiResult;
use super::extract::{ApiJson, etag, if_match, with_etag};
use super::scope::{ForUser, InTenant};
use super::sessions::tell_clients;
use super::users::mfa_status;
use super::views::UserView;
use crate::admin::users::{self, ProfileRequest, UserRequest};
use crate::model::now;
use crate::profile::{Address, ProfileEdit};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    pub email: String,
    /// The initial password (hashed with argon2id; never stored or logged as sent).
    pub password: String,
    pub username: Option<String>,
    pub name: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    /// A mobile number, read in the tenant's SMS default region when it has no `+`.
    pub phone: Option<String>,
    #[serde(default)]
    pub phone_verified: bool,
}

/// Every field optional, as the flags of `gatehouse user update`; `""` removes a value (the
/// phone number, a profile field), `address: {}` the address.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub name: Option<String>,
    /// The sign-in username, released as `preferred_username`.
    pub username: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub middle_name: Option<String>,
    pub nickname: Option<String>,
    /// URL of the user's profile page (http or https).
    pub profile: Option<String>,
    /// URL of the user's picture (http or https).
    pub picture: Option<String>,
    pub website: Option<String>,
    pub gender: Option<String>,
    /// `YYYY` or `YYYY-MM-DD`.
    pub birthdate: Option<String>,
    /// A time zone name (`Europe/Paris`).
    pub zoneinfo: Option<String>,
    /// A BCP 47 language tag (`fr-CA`).
    pub locale: Option<String>,
    pub address: Option<Address>,
    pub email_verified: Option<bool>,
    pub phone: Option<String>,
    pub phone_verified: Option<bool>,
    /// `true`: no more sign-ins, and every session and grant ends now; `false`: unlock.
    pub locked: Option<bool>,
    /// `true`: a new password is demanded at the next sign-in.
    pub password_change_required: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/users", tag = "users",
    params(("slug" = String, Path)),
    request_body = UserCreate,
    responses((status = 201, body = UserView, headers(("Location" = String), ("ETag" = String))),
        (status = 400, body = super::error::Problem), (status = 403, body = super::error::Problem),
        (status = 409, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    InTenant { caller, tenant }: InTenant,
    ApiJson(u): ApiJson<UserCreate>,
) -> ApiResult<(StatusCode, HeaderMap, Json<UserView>)> {
    caller.may_write()?;
    let req = UserRequest {
        email: u.email,
        username: u.username,
        name: u.name,
        email_verified: u.email_verified,
        phone: u.phone,
        phone_verified: u.phone_verified,
    };
    let actor = caller.actor();
    let user = users::create(
        &state.db,
        &state.passwords,
        &actor,
        &tenant.slug,
        req,
        &u.password,
    )
    .await?;
    let location = format!("/api/v1/tenants/{}/users/{}", tenant.slug, user.id);
    let headers = with_etag(super::extract::location(&location)?, user.version);
    let mfa = mfa_status(&state.db, &user).await?;
    Ok((
        StatusCode::CREATED,
        headers,
        Json(UserView::new(&user, mfa)),
    ))
}

/// Changes the user (as `gatehouse user update`); with `If-Match` only the version named.
#[utoipa::path(patch, path = "/api/v1/tenants/{slug}/users/{user_id}", tag = "users",
    params(("slug" = String, Path), ("user_id" = String, Path), ("If-Match" = Option<String>,
        Header, description = "the ETag of the copy this change was made against")),
    request_body = UserPatch,
    responses((status = 200, body = UserView, headers(("ETag" = String))),
        (status = 400, body = super::error::Problem), (status = 403, body = super::error::Problem),
        (status = 404, body = super::error::Problem), (status = 409, body = super::error::Problem),
        (status = 412, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn update(
    State(state): State<AppState>,
    at: ForUser,
    headers: HeaderMap,
    ApiJson(p): ApiJson<UserPatch>,
) -> ApiResult<(HeaderMap, Json<UserView>)> {
    at.caller.may_write()?;
    let req = ProfileRequest {
        profile: ProfileEdit {
            name: p.name,
            username: p.username,
            given_name: p.given_name,
            family_name: p.family_name,
            middle_name: p.middle_name,
            nickname: p.nickname,
            profile: p.profile,
            picture: p.picture,
            website: p.website,
            gender: p.gender,
            birthdate: p.birthdate,
            zoneinfo: p.zoneinfo,
            locale: p.locale,
            // The same JSON text `--address-json` takes, so both go through one check.
            address: p
                .address
                .map(|a| serde_json::to_string(&a).unwrap_or_default()),
        },
        email_verified: p.email_verified,
        phone: p.phone,
        phone_verified: p.phone_verified,
        locked: p.locked,
        require_password_change: p.password_change_required,
        expected_version: if_match(&headers)?,
    };
    let actor = at.caller.actor();
    let (user, ended) = users::update(&state.db, &actor, &at.tenant, &at.user, req, now()).await?;
    tell_clients(&state, at.tenant, &ended);
    let mfa = mfa_status(&state.db, &user).await?;
    Ok((etag(user.version), Json(UserView::new(&user, mfa))))
}

#[utoipa::path(delete, path = "/api/v1/tenants/{slug}/users/{user_id}", tag = "users",
    params(("slug" = String, Path), ("user_id" = String, Path)),
    responses((status = 204), (status = 403, body = super::error::Problem),
        (status = 404, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn delete(State(state): State<AppState>, at: ForUser) -> ApiResult<StatusCode> {
    at.caller.may_write()?;
    let actor = at.caller.actor();
    let ended = users::delete(&state.db, &actor, &at.tenant, &at.user, now()).await?;
    tell_clients(&state, at.tenant, &ended);
    Ok(StatusCode::NO_CONTENT)
}
