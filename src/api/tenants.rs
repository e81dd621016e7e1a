//! `/api/v1/tenants[/{slug}]`: list, get, and `PATCH` through `admin::tenants::update` (the
//! function `gatehouse tenant update` calls). A tenant's `ETag` is its version; `If-Match` on
//! a change makes it conditional, so a write made against a stale copy gets 412 instead of
//! undoing another admin's change.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, etag, if_match, parse_field};
use super::scope::InTenant;
use super::views::{Page, TenantView};
use crate::admin;
use crate::state::AppState;
use crate::store::tenants::{self, Tenant, TenantChanges};

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
    responses((status = 200, body = TenantView, headers(("ETag" = String))),
        (status = 404, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn get(at: InTenant) -> ApiResult<(HeaderMap, Json<TenantView>)> {
    Ok(versioned(&at.tenant))
}

/// The settings a `PATCH` may change; every one is optional, names as in [`TenantView`].
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    pub name: Option<String>,
    /// `disabled`, `optional` or `required`. Turning `required` off keeps every factor.
    pub mfa_policy: Option<String>,
    pub mfa_prompt_enrollment: Option<bool>,
    /// Of `totp`, `email`, `sms`, `webauthn`.
    pub mfa_methods: Option<Vec<String>>,
    pub trusted_device_days: Option<i64>,
    pub mfa_recovery_count: Option<i64>,
    pub mfa_recovery_replace_on_use: Option<bool>,
    /// `email` or `none`.
    pub mfa_enrollment_proof: Option<String>,
    pub mfa_max_attempts: Option<i64>,
    pub account_reauth_secs: Option<i64>,
    pub sms_default_region: Option<String>,
    pub sms_allowed_countries: Option<Vec<u16>>,
    pub theme: Option<String>,
    pub registration_enabled: Option<bool>,
    /// `off`, `optional` or `required`.
    pub registration_mfa_setup: Option<String>,
    /// `allow` or `forbid`.
    pub password_reset_email_only: Option<String>,
    /// "Sign in with a passkey" on the sign-in page.
    pub passkeys_passwordless: Option<bool>,
}

fn versioned(t: &Tenant) -> (HeaderMap, Json<TenantView>) {
    (etag(t.version), Json(TenantView::from(t)))
}

/// Changes the tenant's settings (help pages 001–003: MFA *Optional* or *Required*, the
/// methods offered, trusted devices, recovery codes); the answer is the tenant as it is now.
#[utoipa::path(patch, path = "/api/v1/tenants/{slug}", tag = "tenants",
    params(("slug" = String, Path), ("If-Match" = Option<String>, Header,
        description = "the ETag of the copy this change was made against")),
    request_body = TenantPatch,
    responses((status = 200, body = TenantView, headers(("ETag" = String))),
        (status = 400, body = super::error::Problem), (status = 403, body = super::error::Problem),
        (status = 404, body = super::error::Problem), (status = 412, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn update(
    State(state): State<AppState>,
    InTenant { caller, tenant: t }: InTenant,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<TenantPatch>,
) -> ApiResult<(HeaderMap, Json<TenantView>)> {
    caller.may_write()?;
    let mfa_methods = match patch.mfa_methods {
        None => None,
        Some(names) => Some(
            names
                .into_iter()
                .map(|n| {
                    n.parse()
                        .map_err(|e| ApiError::Invalid(format!("mfa_methods: {e}")))
                })
                .collect::<ApiResult<Vec<_>>>()?,
        ),
    };
    let changes = TenantChanges {
        name: patch.name,
        mfa_policy: parse_field("mfa_policy", patch.mfa_policy)?,
        mfa_prompt_enrollment: patch.mfa_prompt_enrollment,
        trusted_device_days: patch.trusted_device_days,
        theme: patch.theme,
        mfa_methods,
        mfa_recovery_count: patch.mfa_recovery_count,
        mfa_recovery_replace_on_use: patch.mfa_recovery_replace_on_use,
        mfa_enrollment_proof: parse_field("mfa_enrollment_proof", patch.mfa_enrollment_proof)?,
        mfa_max_attempts: patch.mfa_max_attempts,
        account_reauth_secs: patch.account_reauth_secs,
        sms_default_region: patch.sms_default_region.map(|r| r.to_ascii_uppercase()),
        sms_allowed_countries: patch.sms_allowed_countries,
        registration_enabled: patch.registration_enabled,
        registration_mfa_setup: parse_field(
            "registration_mfa_setup",
            patch.registration_mfa_setup,
        )?,
        password_reset_email_only: parse_field(
            "password_reset_email_only",
            patch.password_reset_email_only,
        )?,
        passkeys_passwordless: patch.passkeys_passwordless,
        expected_version: if_match(&headers)?,
    };
    let t = admin::tenants::update(&state.db, &caller.actor(), &t.slug, &changes).await?;
    // This node serves the change at once; others within `server.cache_ttl_secs`.
    state.tenants.put(&t.slug, std::sync::Arc::new(t.clone()));
    Ok(versioned(&t))
}
