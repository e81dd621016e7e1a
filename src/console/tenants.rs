//! The tenants list and a tenant's settings: the MFA policy as the help pages describe it
//! (*Optional* offers Skip, *Required* has none; turning MFA off keeps users' factors), the
//! methods offered, trusted devices and recovery codes. Saving calls `admin::tenants::update`,
//! the function behind `gatehouse tenant update` and `PATCH /api/v1/tenants/{slug}`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Serialize;

use super::{Admin, AdminIn, Frame, done, notice, render};
use crate::admin::{self, AdminError};
use crate::mfa::service::kind_label;
use crate::model::{MfaMethod, TenantMfaPolicy};
use crate::state::AppState;
use crate::store::tenants::{Tenant, TenantChanges};
use crate::store::{StoreError, factors, tenants};
use crate::web::{FormFields, Or500, PageResult};

const SAVED: &str = "Settings saved.";

#[derive(Serialize)]
struct TenantRow {
    slug: String,
    name: String,
    mfa: String,
    users: i64,
    enrolled_percent: i64,
}

#[derive(Serialize)]
struct HomePage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    tenants: Vec<TenantRow>,
}

/// `GET /admin`: every tenant for a platform admin; a tenant admin goes straight to theirs.
pub async fn home(State(state): State<AppState>, admin: Admin) -> PageResult {
    let all = tenants::list(&state.db)
        .await
        .or_500(&state, &admin.system)?;
    let mine: Vec<Tenant> = all
        .into_iter()
        .filter(|t| admin.scope.covers(&t.id))
        .collect();
    if let [only] = mine.as_slice()
        && !admin.platform()
    {
        return Ok(Redirect::to(&format!("/admin/t/{}", only.slug)).into_response());
    }
    let mut rows = Vec::with_capacity(mine.len());
    for t in &mine {
        let (users, enrolled, _) = factors::adoption(&state.db, &t.id)
            .await
            .or_500(&state, &admin.system)?;
        rows.push(TenantRow {
            slug: t.slug.clone(),
            name: t.name.clone(),
            mfa: policy_label(t.mfa_policy).into(),
            users,
            enrolled_percent: (enrolled * 100).checked_div(users).unwrap_or(0),
        });
    }
    let page = HomePage {
        frame: Frame::new(&admin, None, "tenants", "Tenants"),
        tenants: rows,
    };
    Ok(render(&state, &admin, "admin_tenants.html", page))
}

fn policy_label(p: TenantMfaPolicy) -> &'static str {
    match p {
        TenantMfaPolicy::Disabled => "Off",
        TenantMfaPolicy::Optional => "Optional",
        TenantMfaPolicy::Required => "Required",
    }
}

#[derive(Serialize)]
struct MethodBox {
    value: &'static str,
    label: &'static str,
    checked: bool,
}

#[derive(Serialize)]
struct SettingsPage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    t: &'a Tenant,
    policy: &'static str,
    methods: Vec<MethodBox>,
    notice: Option<&'static str>,
    error: Option<String>,
}

fn settings<'a>(
    admin: &'a Admin,
    t: &'a Tenant,
    notice: Option<&'static str>,
    error: Option<String>,
) -> SettingsPage<'a> {
    SettingsPage {
        frame: Frame::new(admin, Some(t), "settings", "Tenant settings"),
        t,
        policy: t.mfa_policy.as_str(),
        methods: MfaMethod::ALL
            .iter()
            .map(|m| MethodBox {
                value: m.as_str(),
                label: kind_label(*m),
                checked: t.mfa_methods.contains(*m),
            })
            .collect(),
        notice,
        error,
    }
}

/// `GET /admin/t/{slug}`.
pub async fn show(
    State(state): State<AppState>,
    at: AdminIn,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let page = settings(&at.admin, &at.tenant, notice(&q, &[SAVED]), None);
    Ok(render(&state, &at.admin, "admin_tenant.html", page))
}

/// The form's fields as a change; an unreadable value is the error shown above the form.
fn changes(form: &FormFields) -> Result<TenantChanges, String> {
    let policy = form
        .get("mfa_policy")
        .parse::<TenantMfaPolicy>()
        .map_err(|_| "Choose Off, Optional or Required.".to_owned())?;
    let methods: Vec<MfaMethod> = MfaMethod::ALL
        .iter()
        .copied()
        .filter(|m| form.get(&format!("method_{m}")) == "on")
        .collect();
    if methods.is_empty() {
        return Err("Keep at least one method.".into());
    }
    let number = |name: &str, what: &str| {
        form.get(name)
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("{what}: enter a whole number."))
    };
    Ok(TenantChanges {
        mfa_policy: Some(policy),
        mfa_prompt_enrollment: Some(form.get("prompt_enrollment") == "on"),
        mfa_methods: Some(methods),
        passkeys_passwordless: Some(form.get("passkeys_passwordless") == "on"),
        trusted_device_days: Some(number("trusted_device_days", "Trusted device days")?),
        mfa_recovery_count: Some(number("recovery_count", "Recovery codes")?),
        expected_version: form.get("version").parse().ok(),
        ..Default::default()
    })
}

/// `POST /admin/t/{slug}`.
pub async fn save(State(state): State<AppState>, at: AdminIn, form: FormFields) -> PageResult {
    let AdminIn { admin, tenant } = at;
    if !admin.form_ok(&state, &form) {
        return Err(admin.form_expired(&state));
    }
    let again = |error: String| {
        let page = settings(&admin, &tenant, None, Some(error));
        let mut res = render(&state, &admin, "admin_tenant.html", page);
        *res.status_mut() = StatusCode::BAD_REQUEST;
        res
    };
    let changes = match changes(&form) {
        Ok(c) => c,
        Err(e) => return Ok(again(e)),
    };
    match admin::tenants::update(&state.db, &admin.actor(), &tenant.slug, &changes).await {
        Ok(t) => {
            // This node at once; others within `server.cache_ttl_secs`.
            state.tenants.put(&t.slug, Arc::new(t.clone()));
            Ok(done(&format!("/admin/t/{}", t.slug), SAVED))
        }
        Err(AdminError::Invalid(e)) => Ok(again(e)),
        Err(AdminError::Store(StoreError::Stale(_))) => Ok(again(
            "Someone else changed these settings while you were editing. Reload the page to see \
             them, then make your change again."
                .into(),
        )),
        Err(e) => Err(crate::web::PageError::internal(&state, &admin.system, e)),
    }
}
