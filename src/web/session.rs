//! The browser's SSO session cookie: which session it names and where it is scoped. Read by the
//! login (to continue or replace a session), the account pages and sign-out.

use axum::http::HeaderMap;

use crate::crypto::random;
use crate::model::now;
use crate::state::{AppState, TenantCtx};
use crate::store::sessions;
use crate::web::cookies;

/// The cookie path of a tenant's session: every hosted page of the tenant, nothing else.
pub fn session_cookie_path(ctx: &TenantCtx) -> String {
    format!("/t/{}", ctx.tenant.slug)
}

/// The live SSO session named by this browser's cookie, if any.
pub async fn current_session(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
) -> Result<Option<sessions::SsoSession>, crate::store::StoreError> {
    let Some(token) = cookies::get(headers, cookies::SESSION) else {
        return Ok(None);
    };
    sessions::find_live(
        &state.db,
        &ctx.tenant.id,
        &random::sha256_hex(&token),
        now(),
    )
    .await
}
