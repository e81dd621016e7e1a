//! "Your profile" at `{issuer}/account/profile`: the user edits the standard claims the
//! applications read (name, given and family name, username, locale, time zone, picture, postal
//! address). A plain form (works with JavaScript off); a refused value is shown next to its
//! field with everything typed kept; a change writes `user.profile_updated` and moves
//! `updated_at`.
//!
//! Unlike the two-factor changes it needs no fresh sign-in: nothing here lets anyone sign in or
//! past a factor. The username is a sign-in name, but the email keeps working beside it.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;
use serde_json::json;

use super::guard::{self, Visitor};
use super::manage::{actor, forged, home};
use crate::mfa::service as mfa;
use crate::profile::{self, Address, FieldError, ProfileEdit};
use crate::state::{AppState, TenantCtx};
use crate::store::StoreError;
use crate::store::users::{self, ProfileChanges, User};
use crate::web::pages::Base;
use crate::web::{FormFields, Or500, PageResult};

/// The form's fields: the plain ones are `ProfileEdit` fields of the same name, the rest are
/// members of the address.
const PLAIN: [&str; 7] = [
    "name",
    "given_name",
    "family_name",
    "username",
    "locale",
    "zoneinfo",
    "picture",
];
const ADDRESS: [&str; 5] = [
    "street_address",
    "locality",
    "region",
    "postal_code",
    "country",
];

fn path(ctx: &TenantCtx) -> String {
    format!("{}/profile", home(ctx))
}

#[derive(Serialize)]
struct ProfilePage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    csrf: String,
    email: &'a str,
    /// What the inputs show: the stored values, or what was typed when a value was refused.
    values: HashMap<&'static str, String>,
    /// Field name → the sentence shown next to it.
    errors: HashMap<String, String>,
    notice: Option<&'a str>,
}

/// The stored values, by form field.
fn stored(u: &User) -> HashMap<&'static str, String> {
    let address = u.profile.address().unwrap_or_default();
    let mut v: HashMap<&'static str, String> = PLAIN
        .iter()
        .map(|&f| {
            let value = match f {
                "name" => u.name.as_deref(),
                "username" => u.username.as_deref(),
                other => u.profile.get(other),
            };
            (f, value.unwrap_or_default().to_owned())
        })
        .collect();
    for (f, m) in ADDRESS.iter().zip(address_members(&address)) {
        v.insert(f, m.unwrap_or_default().to_owned());
    }
    v
}

fn address_members(a: &Address) -> [Option<&str>; 5] {
    [
        a.street_address.as_deref(),
        a.locality.as_deref(),
        a.region.as_deref(),
        a.postal_code.as_deref(),
        a.country.as_deref(),
    ]
}

fn render(
    state: &AppState,
    ctx: &TenantCtx,
    v: &Visitor,
    status: StatusCode,
    values: HashMap<&'static str, String>,
    errors: &[FieldError],
    notice: Option<&str>,
) -> Response {
    state.templates.page(
        status,
        &ctx.tenant.theme,
        "account_profile.html",
        ProfilePage {
            base: Base::new(&ctx.tenant),
            title: "Your profile",
            csrf: v.browser.csrf_token(&state.secret),
            email: &v.user.email,
            values,
            errors: errors
                .iter()
                .map(|e| (e.field.replace("address.", ""), e.message.clone()))
                .collect(),
            notice,
        },
    )
}

pub async fn show(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let v = guard::visitor(&state, &ctx, &headers, &path(&ctx)).await?;
    let notice =
        (q.get("done").map(String::as_str) == Some("saved")).then_some("Your profile was saved.");
    let values = stored(&v.user);
    Ok(render(
        &state,
        &ctx,
        &v,
        StatusCode::OK,
        values,
        &[],
        notice,
    ))
}

/// The change the form asks for. The address's `formatted` member, which the form does not
/// show, is kept only while the members it was written from stay as they were.
fn edit_from(form: &FormFields, user: &User) -> ProfileEdit {
    let plain = |f: &str| Some(form.get(f).to_owned());
    let old = user.profile.address().unwrap_or_default();
    let member = |f: &str| Some(form.get(f).trim().to_owned()).filter(|s| !s.is_empty());
    let mut address = Address {
        formatted: None,
        street_address: member("street_address"),
        locality: member("locality"),
        region: member("region"),
        postal_code: member("postal_code"),
        country: member("country"),
    };
    if address_members(&address) == address_members(&old) {
        address.formatted = old.formatted.clone();
    }
    ProfileEdit {
        name: plain("name"),
        username: plain("username"),
        given_name: plain("given_name"),
        family_name: plain("family_name"),
        locale: plain("locale"),
        zoneinfo: plain("zoneinfo"),
        picture: plain("picture"),
        address: Some(serde_json::to_string(&address).unwrap_or_default()),
        ..Default::default()
    }
}

/// The fields whose value the (validated) edit changes.
fn changed(edit: &ProfileEdit, user: &User) -> Vec<&'static str> {
    edit.asked()
        .into_iter()
        .filter(|(name, asked)| {
            let now = match *name {
                "name" => user.name.as_deref(),
                "username" => user.username.as_deref(),
                other => user.profile.get(other),
            };
            now.unwrap_or_default() != asked
        })
        .map(|(name, _)| name)
        .collect()
}

pub async fn save(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    form: FormFields,
) -> PageResult {
    let v = guard::visitor(&state, &ctx, &headers, &path(&ctx)).await?;
    if !form.csrf_ok(&state, &v.browser) {
        return Err(forged(&state, &ctx));
    }
    let typed = || -> HashMap<&'static str, String> {
        PLAIN
            .iter()
            .chain(ADDRESS.iter())
            .map(|&f| (f, form.get(f).to_owned()))
            .collect()
    };
    let refused = |errors: &[FieldError]| {
        render(
            &state,
            &ctx,
            &v,
            StatusCode::BAD_REQUEST,
            typed(),
            errors,
            None,
        )
    };
    let edit = match profile::validate(edit_from(&form, &v.user)) {
        Ok(e) => e,
        Err(errors) => return Ok(refused(&errors)),
    };
    let fields = changed(&edit, &v.user);
    // Saving the form unchanged is no change: `updated_at` tells applications when there was one.
    if fields.is_empty() {
        return Ok(Redirect::to(&format!("{}?done=saved", path(&ctx))).into_response());
    }
    let changes = ProfileChanges {
        profile: edit,
        ..Default::default()
    };
    match users::update_profile(&state.db, &v.user.id, &changes).await {
        Err(StoreError::Conflict(_)) => {
            return Ok(refused(&[FieldError {
                field: "username".into(),
                message: "This username is taken. Choose another.".into(),
            }]));
        }
        r => r.or_500(&state, &ctx)?,
    }
    // The values are the user's own; the log names which fields changed, not what to.
    mfa::record(
        &state.db,
        &ctx.tenant,
        &v.user,
        &actor(&v),
        "user.profile_updated",
        json!({ "fields": fields }),
    )
    .await
    .or_500(&state, &ctx)?;
    Ok(Redirect::to(&format!("{}?done=saved", path(&ctx))).into_response())
}
