//! `GET /api/v1/tenants/{slug}/reports/mfa`: the MFA adoption report (`admin::report`, which
//! `gatehouse tenant mfa-report` prints too).

use axum::Json;
use axum::extract::State;

use super::error::ApiResult;
use super::scope::InTenant;
use crate::admin::report::{self, MfaReport};
use crate::model::now;
use crate::state::AppState;

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/reports/mfa", tag = "mfa",
    params(("slug" = String, Path)),
    responses((status = 200, body = MfaReport), (status = 404, body = super::error::Problem)),
    security(("api_key" = [])))]
pub async fn mfa(State(state): State<AppState>, at: InTenant) -> ApiResult<Json<MfaReport>> {
    Ok(Json(
        report::mfa_report(&state.db, &at.tenant, now()).await?,
    ))
}
