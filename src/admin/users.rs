use serde_json::json;

use super::{AdminError, AdminResult};
use crate::crypto::password::PasswordHasherPool;
use crate::profile::{self, ProfileEdit};
use crate::signout::{self, Ended};
use crate::store::tenants::Tenant;
use crate::store::users::{self, NewUser, User};
use crate::store::{Db, StoreError, audit, tenants};

#[derive(Debug, Clone, Default)]
pub struct UserRequest {
    pub email: String,
    pub username: Option<String>,
    pub name: Option<String>,
    pub email_verified: bool,
    /// As typed: parsed here in the tenant's SMS default region.
    pub phone: Option<String>,
    pub phone_verified: bool,
}

/// An admin's change to one user, for the audit log.
fn user_event<'a>(
    tenant: &'a tenants::Tenant,
    user: &'a User,
    actor: &'a str,
    event: &'a str,
    detail: serde_json::Value,
) -> audit::NewEvent<'a> {
    audit::NewEvent {
        tenant_id: Some(&tenant.id),
        user_id: Some(&user.id),
        actor,
        event,
        detail,
        ..Default::default()
    }
}

/// A typed number as stored (E.164), or the page's words for why it cannot be one.
fn parse_phone(tenant: &tenants::Tenant, typed: &str) -> AdminResult<String> {
    crate::phone::parse_mobile(typed, &tenant.sms_default_region)
        .map(|m| m.e164)
        .map_err(|e| AdminError::Invalid(format!("invalid phone `{typed}`: {}", e.message())))
}

pub async fn create(
    db: &Db,
    passwords: &PasswordHasherPool,
    actor: &str,
    tenant_slug: &str,
    req: UserRequest,
    password: &str,
) -> AdminResult<User> {
    let tenant = tenants::get_by_slug(db, tenant_slug).await?;
    let email = users::normalize_email(&req.email);
    users::validate_email(&email).map_err(AdminError::Invalid)?;
    if let Some(u) = &req.username
        && (u.trim().is_empty() || u.contains('@') || u.len() > 64)
    {
        return Err(AdminError::Invalid(format!(
            "invalid username `{u}`: expected up to 64 characters without @"
        )));
    }
    let phone = req
        .phone
        .as_deref()
        .map(|p| parse_phone(&tenant, p))
        .transpose()?;
    let password_hash = passwords.hash(password).await?;
    let user = users::create(
        db,
        &NewUser {
            tenant_id: tenant.id.clone(),
            email,
            username: req.username.map(|u| u.trim().to_owned()),
            name: req.name,
            email_verified: req.email_verified,
            phone_verified: req.phone_verified && phone.is_some(),
            phone,
            password_hash,
            pending_verification: false,
        },
    )
    .await?;
    audit::record(
        db,
        user_event(
            &tenant,
            &user,
            actor,
            "user.created",
            json!({ "email": user.email }),
        ),
    )
    .await?;
    Ok(user)
}

/// What `user update` changes; `phone: Some("")` removes the number, as `""` removes any
/// profile value (`address` is the JSON text of a `profile::Address`).
#[derive(Debug, Clone, Default)]
pub struct ProfileRequest {
    pub profile: ProfileEdit,
    pub email_verified: Option<bool>,
    pub phone: Option<String>,
    pub phone_verified: Option<bool>,
    /// Locking ends every session and grant of the user (offline ones too).
    pub locked: Option<bool>,
    /// Demand a new password at the next sign-in (after the password and any second factor).
    pub require_password_change: Option<bool>,
    /// `If-Match`: change only this version of the user (`Stale` otherwise).
    pub expected_version: Option<i64>,
}

/// The user `login` (email or username) of the tenant, or an error naming both.
pub async fn find(db: &Db, tenant_slug: &str, login: &str) -> AdminResult<(Tenant, User)> {
    let tenant = tenants::get_by_slug(db, tenant_slug).await?;
    let user = users::find_by_login(db, &tenant.id, login)
        .await?
        .ok_or_else(|| {
            AdminError::Invalid(format!("unknown user `{login}` in tenant `{tenant_slug}`"))
        })?;
    Ok((tenant, user))
}

/// Changes the profile (`user update`, the API's `PATCH`) in one statement, the version check
/// included when `req.expected_version` names one; the user after it, and what locking them
/// ended.
pub async fn update(
    db: &Db,
    actor: &str,
    tenant: &Tenant,
    user: &User,
    req: ProfileRequest,
    now: i64,
) -> AdminResult<(User, Ended)> {
    let tenant = tenant.clone();
    if let Some(v) = req.expected_version
        && v != user.version
    {
        return Err(AdminError::Store(StoreError::Stale(format!(
            "user changed since version {v}"
        ))));
    }
    let phone = match req.phone.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(p) => Some(Some(parse_phone(&tenant, p)?)),
    };
    let profile = profile::validate(req.profile)
        .map_err(|errors| AdminError::Invalid(profile::one_line(&errors)))?;
    let changed: Vec<&str> = profile.asked().into_iter().map(|(name, _)| name).collect();
    let changes = users::ProfileChanges {
        profile,
        phone,
        phone_verified: req.phone_verified,
        email_verified: req.email_verified,
        locked: req.locked,
        password_change_required: req.require_password_change,
        expected_version: req.expected_version,
    };
    users::update_profile(db, &user.id, &changes).await?;
    let after = users::get(db, &tenant.id, &user.id).await?;
    // A lock is an admin saying "no more access": every session and grant ends with it.
    let ended = if after.locked && !user.locked {
        signout::end_all_access(db, &tenant.id, &user.id, now).await?
    } else {
        Ended::default()
    };
    // Which fields, and the number's country, never the values (they are the user's, not the
    // log's).
    let detail = json!({
        "fields": changed,
        "name_changed": after.name != user.name,
        "phone_changed": after.phone != user.phone,
        "phone_country": after.phone.as_deref().and_then(crate::phone::country_code),
        "phone_verified": after.phone_verified,
        "email_verified": after.email_verified,
        "locked": after.locked,
        "password_change_required": after.password_change_required,
        "sessions_ended": ended.sessions,
        "version": after.version,
    });
    audit::record(db, user_event(&tenant, user, actor, "user.updated", detail)).await?;
    Ok((after, ended))
}

/// Deletes the user: every session and grant ends first, then the row goes with everything
/// hanging off it. The audit event keeps the email, since nothing else will name them.
pub async fn delete(
    db: &Db,
    actor: &str,
    tenant: &Tenant,
    user: &User,
    now: i64,
) -> AdminResult<Ended> {
    let ended = signout::end_all_access(db, &tenant.id, &user.id, now).await?;
    users::delete(db, &tenant.id, &user.id).await?;
    let detail = json!({ "email": user.email, "sessions_ended": ended.sessions });
    audit::record(db, user_event(tenant, user, actor, "user.deleted", detail)).await?;
    Ok(ended)
}
