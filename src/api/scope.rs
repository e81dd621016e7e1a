//! What a path under `/api/v1/tenants/{slug}` names, resolved for the caller before a handler
//! runs: the key is checked first (401), then the tenant it may see (404 otherwise), then the
//! user of `{user_id}` in that tenant (404).

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use super::auth::Caller;
use super::error::ApiError;
use crate::ids::UserId;
use crate::state::AppState;
use crate::store::tenants::Tenant;
use crate::store::users::{self, User};

/// The caller and the tenant of `{slug}`.
pub struct InTenant {
    pub caller: Caller,
    pub tenant: Tenant,
}

/// The caller, the tenant of `{slug}` and its user `{user_id}`.
pub struct ForUser {
    pub caller: Caller,
    pub tenant: Tenant,
    pub user: User,
}

async fn params(parts: &mut Parts, state: &AppState) -> Result<HashMap<String, String>, ApiError> {
    Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map(|Path(p)| p)
        .map_err(|e| ApiError::Invalid(e.body_text()))
}

impl FromRequestParts<AppState> for InTenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let p = params(parts, state).await?;
        let slug = p.get("slug").map(String::as_str).unwrap_or_default();
        let tenant = caller.tenant(state, slug).await?;
        Ok(InTenant { caller, tenant })
    }
}

impl FromRequestParts<AppState> for ForUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let InTenant { caller, tenant } = InTenant::from_request_parts(parts, state).await?;
        let p = params(parts, state).await?;
        let id = UserId::from(p.get("user_id").map(String::as_str).unwrap_or_default());
        let user = users::get(&state.db, &tenant.id, &id).await?;
        Ok(ForUser {
            caller,
            tenant,
            user,
        })
    }
}
