//! Recovery codes on the account pages: "Generate new recovery codes" and the page that shows a
//! fresh set once (carried by a sealed, short-lived cookie so no code ever sits in a URL).

use crate::ids::UserId;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::guard::{self, Visitor};
use super::manage::{actor, change, home};
use crate::crypto::seal;
use crate::mfa::recovery;
use crate::model::now;
use crate::state::{AppState, TenantCtx};
use crate::store::{factors, recovery_codes};
use crate::web::cookies;
use crate::web::pages::Base;
use crate::web::{FormFields, Or500, PageError, PageResult};

const FLASH: &str = "gh_flash";
const SEAL_FLASH: &str = "account-flash";

// ---- recovery codes -----------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
struct Flash {
    user_id: UserId,
    codes: Vec<String>,
    exp: i64,
}

/// Carries freshly issued codes to the next GET in a sealed, short-lived, HttpOnly cookie: no
/// secret in a URL, nothing stored, shown once.
pub(super) fn with_flash(
    state: &AppState,
    ctx: &TenantCtx,
    v: &Visitor,
    codes: Vec<String>,
    to: &str,
) -> Response {
    let flash = Flash {
        user_id: v.user.id.clone(),
        codes,
        exp: now() + 300,
    };
    let Ok(sealed) = seal::seal(
        &state.secret,
        SEAL_FLASH,
        &serde_json::to_vec(&flash).unwrap_or_default(),
    ) else {
        return PageError::internal(state, ctx, "sealing failed").into_response();
    };
    let mut res = Redirect::to(to).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(FLASH, &sealed, &home(ctx), Some(300), state.is_https()),
    );
    res
}

#[derive(Serialize)]
struct CodesPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    csrf: String,
    codes: Vec<String>,
    remaining: i64,
    /// Where Done leads: the first method was just added, or a new set was generated.
    done: &'a str,
}

pub async fn codes_page(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> PageResult {
    let path = format!("{}/recovery-codes", home(&ctx));
    let v = guard::visitor(&state, &ctx, &headers, &path).await?;
    let codes = cookies::get(&headers, FLASH)
        .and_then(|s| seal::open(&state.secret, SEAL_FLASH, &s).ok())
        .and_then(|b| serde_json::from_slice::<Flash>(&b).ok())
        .filter(|f| f.user_id == v.user.id && f.exp > now())
        .map(|f| f.codes)
        .unwrap_or_default();
    let remaining = recovery_codes::remaining(&state.db, &v.user.id)
        .await
        .unwrap_or(0);
    let mut res = state.templates.page(
        StatusCode::OK,
        &ctx.tenant.theme,
        "account_codes.html",
        CodesPage {
            base: Base::new(&ctx.tenant),
            title: "Note down your recovery codes",
            csrf: v.browser.csrf_token(&state.secret),
            codes,
            remaining,
            done: if q.contains_key("first") {
                "added"
            } else {
                "codes"
            },
        },
    );
    // Shown once: the cookie goes with this response.
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::delete(FLASH, &home(&ctx), state.is_https()),
    );
    Ok(res)
}

/// "Generate new recovery codes": the old set stops working.
pub async fn regenerate(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    form: FormFields,
) -> PageResult {
    let v = change(&state, &ctx, &headers, &form, &home(&ctx)).await?;
    let fs = factors::list_for_user(&state.db, &v.user.id)
        .await
        .unwrap_or_default();
    if fs.is_empty() {
        return Ok(Redirect::to(&home(&ctx)).into_response());
    }
    let codes = recovery::regenerate(&state.mfa_deps(), &ctx.tenant, &v.user, &actor(&v))
        .await
        .or_500(&state, &ctx)?;
    Ok(with_flash(
        &state,
        &ctx,
        &v,
        codes,
        &format!("{}/recovery-codes", home(&ctx)),
    ))
}
