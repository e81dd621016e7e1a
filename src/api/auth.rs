//! Who is calling: an API key sent as `Authorization: Bearer gh_...`, its role and its tenant.
//! A key scoped to one tenant sees only that tenant: any other is "not found", so a tenant's
//! key cannot learn which other tenants exist.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::admin::api_keys;
use crate::model::{ApiRole, now};
use crate::state::AppState;
use crate::store::api_keys::ApiKey;
use crate::store::rate_limits::{self, Limit, Reservation};
use crate::store::tenants::{self, Tenant};

pub struct Caller {
    pub key: ApiKey,
}

impl Caller {
    /// What the audit log records as the actor.
    pub fn actor(&self) -> String {
        format!("api-key:{}", self.key.id)
    }

    /// Refuses a read-only key a change.
    pub fn may_write(&self) -> Result<(), ApiError> {
        match self.key.role {
            ApiRole::ReadOnly => Err(ApiError::Forbidden("this key is read-only")),
            ApiRole::Admin | ApiRole::TenantAdmin => Ok(()),
        }
    }

    /// The tenant `slug`, when this key may see it.
    pub async fn tenant(&self, state: &AppState, slug: &str) -> Result<Tenant, ApiError> {
        let unknown = || ApiError::NotFound(format!("unknown tenant `{slug}`"));
        let t = tenants::find_by_slug(&state.db, slug)
            .await?
            .ok_or_else(unknown)?;
        match &self.key.tenant_id {
            Some(own) if *own != t.id => Err(unknown()),
            _ => Ok(t),
        }
    }

    /// Whether this key sees every tenant.
    pub fn is_platform(&self) -> bool {
        self.key.tenant_id.is_none()
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| k.starts_with(api_keys::PREFIX))
            .ok_or(ApiError::Unauthenticated)?;
        let key =
            crate::store::api_keys::authenticate(&state.db, &api_keys::hash(presented), now())
                .await?
                .ok_or(ApiError::Unauthenticated)?;
        // Reserved before the request does anything, like every other limit.
        let limit = Limit {
            max_failures: state.config.api.requests_per_minute_per_key,
            window_secs: 60,
            lockout_secs: 60,
        };
        let now = now();
        let rate_key = format!("api:key:{}", key.id);
        if let Reservation::Refused { until } =
            rate_limits::reserve(&state.db, &rate_key, limit, now).await?
        {
            return Err(ApiError::RateLimited {
                retry_after: (until - now).max(1),
            });
        }
        Ok(Caller { key })
    }
}
