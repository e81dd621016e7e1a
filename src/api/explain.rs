//! `POST /api/v1/tenants/{slug}/explain`: the MFA decision and its reason for an imagined
//! sign-in, from `admin::explain` (the function `gatehouse explain` calls, fed as the login
//! feeds `mfa::inputs::decide`).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiResult;
use super::extract::ApiJson;
use super::scope::InTenant;
use crate::admin::explain::{self, Imagined};
use crate::ids::ClientId;
use crate::model::now;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainRequest {
    pub client_id: String,
    /// The user's email or username.
    pub login: String,
    /// `acr_values` of the imagined request, space-separated.
    #[serde(default)]
    pub acr_values: String,
    /// An `acr` requested as essential through `claims`.
    pub essential_acr: Option<String>,
    pub max_age: Option<i64>,
    /// The browser brings a trusted-device cookie.
    #[serde(default)]
    pub trusted_device: bool,
    /// An SSO session verified a second factor this many seconds ago (absent: no session).
    pub session_mfa_age: Option<i64>,
}

/// `{"decision": {"outcome": "pass" | "challenge" | "enrol" | "deny", "reason": ..., ...}}`,
/// the same object `gatehouse explain --json` prints.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct ExplainView {
    #[schema(value_type = Object)]
    pub decision: serde_json::Value,
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/explain", tag = "mfa",
    params(("slug" = String, Path)),
    request_body = ExplainRequest,
    responses((status = 200, body = ExplainView), (status = 400, body = super::error::Problem),
        (status = 404, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn explain(
    State(state): State<AppState>,
    InTenant { tenant: t, .. }: InTenant,
    ApiJson(req): ApiJson<ExplainRequest>,
) -> ApiResult<Json<ExplainView>> {
    let imagined = Imagined {
        acr_values: req.acr_values,
        essential_acr: req.essential_acr,
        max_age: req.max_age,
        trusted_device: req.trusted_device,
        session_mfa_age: req.session_mfa_age,
    };
    let client = ClientId::from(req.client_id);
    let d = explain::explain(&state.db, &t, &client, &req.login, imagined, now()).await?;
    let decision =
        serde_json::to_value(&d).map_err(|e| super::error::ApiError::Internal(e.to_string()))?;
    Ok(Json(ExplainView { decision }))
}
