//! Tenants: each one is an issuer at `{public_url}/t/{slug}` with its own MFA rules.

use crate::ids::TenantId;
use serde::Serialize;

use super::{Db, StoreError, StoreResult, conflict, new_id};
use crate::model::{
    AllowedMethods, EnrollmentProof, MfaMethod, RegistrationMfaSetup, ResetEmailOnly, SmsCountries,
    TenantMfaPolicy, now,
};
use crate::with_db;

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: String,
    pub name: String,
    pub theme: String,
    #[sqlx(try_from = "String")]
    pub mfa_policy: TenantMfaPolicy,
    pub mfa_prompt_enrollment: bool,
    #[sqlx(try_from = "String")]
    pub mfa_methods: AllowedMethods,
    pub trusted_device_days: i64,
    /// How many recovery codes a user gets (1–16).
    pub mfa_recovery_count: i64,
    /// Replace a recovery code with a fresh one the moment it is used.
    pub mfa_recovery_replace_on_use: bool,
    /// `email`: prove the mailbox before binding a first factor; `none`: don't.
    #[sqlx(try_from = "String")]
    pub mfa_enrollment_proof: EnrollmentProof,
    /// Wrong codes allowed in one sign-in before the transaction ends.
    pub mfa_max_attempts: i64,
    /// Changes on the account pages need a sign-in at most this many seconds old.
    pub account_reauth_secs: i64,
    /// The region a phone number typed without `+` is read in (`US`, `GB`).
    pub sms_default_region: String,
    /// Country calling codes texts may go to; empty: the default region's only.
    #[sqlx(try_from = "String")]
    pub sms_allowed_countries: SmsCountries,
    /// The sign-in page offers "Create an account".
    pub registration_enabled: bool,
    /// What follows a registration's email verification.
    #[sqlx(try_from = "String")]
    pub registration_mfa_setup: RegistrationMfaSetup,
    /// Whether users whose only second factor is the emailed code may reset by mail.
    #[sqlx(try_from = "String")]
    pub password_reset_email_only: ResetEmailOnly,
    /// "Sign in with a passkey" (and passkey autofill) on the sign-in page.
    pub passkeys_passwordless: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// Bumped by every update: the admin API's `ETag`.
    pub version: i64,
}

impl Tenant {
    /// The country calling codes an SMS code may be sent to: the allow-list, or when it is
    /// empty the default region's code (SMS pumping targets far-away premium ranges).
    pub fn sms_countries(&self) -> Vec<u16> {
        let listed = self.sms_allowed_countries.as_slice();
        if listed.is_empty() {
            crate::phone::region_code(&self.sms_default_region)
                .into_iter()
                .collect()
        } else {
            listed.to_vec()
        }
    }
}

/// What an admin may change on a tenant; `None` leaves the value as it is.
#[derive(Debug, Default, Clone)]
pub struct TenantChanges {
    pub name: Option<String>,
    pub mfa_policy: Option<TenantMfaPolicy>,
    pub mfa_prompt_enrollment: Option<bool>,
    pub trusted_device_days: Option<i64>,
    pub theme: Option<String>,
    pub mfa_methods: Option<Vec<MfaMethod>>,
    pub mfa_recovery_count: Option<i64>,
    pub mfa_recovery_replace_on_use: Option<bool>,
    pub mfa_enrollment_proof: Option<EnrollmentProof>,
    pub mfa_max_attempts: Option<i64>,
    pub account_reauth_secs: Option<i64>,
    pub sms_default_region: Option<String>,
    pub sms_allowed_countries: Option<Vec<u16>>,
    pub registration_enabled: Option<bool>,
    pub registration_mfa_setup: Option<RegistrationMfaSetup>,
    pub password_reset_email_only: Option<ResetEmailOnly>,
    pub passkeys_passwordless: Option<bool>,
    /// Change only if the tenant is still at this version (`If-Match`); else `StoreError::Stale`.
    pub expected_version: Option<i64>,
}

/// The column list every query of this file selects, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "id, slug, name, theme, mfa_policy, mfa_prompt_enrollment, mfa_methods, \
         trusted_device_days, mfa_recovery_count, mfa_recovery_replace_on_use, \
         mfa_enrollment_proof, mfa_max_attempts, account_reauth_secs, sms_default_region, \
         sms_allowed_countries, registration_enabled, registration_mfa_setup, \
         password_reset_email_only, passkeys_passwordless, created_at, updated_at, version"
    };
}

/// A slug is a URL path segment: lowercase letters, digits and inner hyphens, 1–63 characters.
pub fn validate_slug(slug: &str) -> Result<(), String> {
    let ok = !slug.is_empty()
        && slug.len() <= 63
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid tenant slug `{slug}`: expected 1-63 lowercase letters, digits or inner hyphens"
        ))
    }
}

pub async fn create(
    db: &Db,
    slug: &str,
    name: &str,
    mfa_policy: TenantMfaPolicy,
    prompt_enrollment: bool,
) -> StoreResult<Tenant> {
    let ts = now();
    let id = new_id();
    let sql = concat!(
        "INSERT INTO tenants (id, slug, name, mfa_policy, mfa_prompt_enrollment, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING ",
        columns!(),
        ""
    );
    with_db!(db, |pool| {
        sqlx::query_as::<_, Tenant>(sql)
            .bind(&id)
            .bind(slug)
            .bind(name)
            .bind(mfa_policy.as_str())
            .bind(prompt_enrollment)
            .bind(ts)
            .fetch_one(pool)
            .await
            .map_err(|e| conflict(e, format!("tenant `{slug}` already exists")))
    })
}

pub async fn find_by_slug(db: &Db, slug: &str) -> StoreResult<Option<Tenant>> {
    let sql = concat!("SELECT ", columns!(), " FROM tenants WHERE slug = $1");
    with_db!(db, |pool| Ok(sqlx::query_as::<_, Tenant>(sql)
        .bind(slug)
        .fetch_optional(pool)
        .await?))
}

/// Like [`find_by_slug`] but a missing tenant is an error naming it.
pub async fn get_by_slug(db: &Db, slug: &str) -> StoreResult<Tenant> {
    find_by_slug(db, slug)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("unknown tenant `{slug}`")))
}

pub async fn list(db: &Db) -> StoreResult<Vec<Tenant>> {
    let sql = concat!("SELECT ", columns!(), " FROM tenants ORDER BY slug");
    with_db!(db, |pool| Ok(sqlx::query_as::<_, Tenant>(sql)
        .fetch_all(pool)
        .await?))
}

pub async fn update(db: &Db, slug: &str, changes: &TenantChanges) -> StoreResult<Tenant> {
    // COALESCE keeps every column the caller left as None: one statement, no read-modify-write.
    let sql = concat!(
        "UPDATE tenants SET name = COALESCE($2, name), mfa_policy = COALESCE($3, mfa_policy), \
         mfa_prompt_enrollment = COALESCE($4, mfa_prompt_enrollment), \
         trusted_device_days = COALESCE($5, trusted_device_days), theme = COALESCE($6, theme), \
         updated_at = $7, mfa_methods = COALESCE($8, mfa_methods), \
         mfa_recovery_count = COALESCE($9, mfa_recovery_count), \
         mfa_recovery_replace_on_use = COALESCE($10, mfa_recovery_replace_on_use), \
         mfa_enrollment_proof = COALESCE($11, mfa_enrollment_proof), \
         mfa_max_attempts = COALESCE($12, mfa_max_attempts), \
         account_reauth_secs = COALESCE($13, account_reauth_secs), \
         sms_default_region = COALESCE($14, sms_default_region), \
         sms_allowed_countries = COALESCE($15, sms_allowed_countries), \
         registration_enabled = COALESCE($17, registration_enabled), \
         registration_mfa_setup = COALESCE($18, registration_mfa_setup), \
         password_reset_email_only = COALESCE($19, password_reset_email_only), \
         passkeys_passwordless = COALESCE($20, passkeys_passwordless), \
         version = version + 1 \
         WHERE slug = $1 AND ($16 IS NULL OR version = $16) RETURNING ",
        columns!(),
        ""
    );
    let updated = with_db!(db, |pool| sqlx::query_as::<_, Tenant>(sql)
        .bind(slug)
        .bind(changes.name.as_deref())
        .bind(changes.mfa_policy.map(|p| p.as_str()))
        .bind(changes.mfa_prompt_enrollment)
        .bind(changes.trusted_device_days)
        .bind(changes.theme.as_deref())
        .bind(now())
        .bind(
            changes
                .mfa_methods
                .as_ref()
                .map(|m| AllowedMethods::new(m.clone()).to_json()),
        )
        .bind(changes.mfa_recovery_count)
        .bind(changes.mfa_recovery_replace_on_use)
        .bind(changes.mfa_enrollment_proof.map(|p| p.as_str()))
        .bind(changes.mfa_max_attempts)
        .bind(changes.account_reauth_secs)
        .bind(changes.sms_default_region.as_deref())
        .bind(
            changes
                .sms_allowed_countries
                .as_ref()
                .map(|c| SmsCountries::to_json(c)),
        )
        .bind(changes.expected_version)
        .bind(changes.registration_enabled)
        .bind(changes.registration_mfa_setup.map(|m| m.as_str()))
        .bind(changes.password_reset_email_only.map(|m| m.as_str()))
        .bind(changes.passkeys_passwordless)
        .fetch_optional(pool)
        .await?);
    match updated {
        Some(t) => Ok(t),
        None if changes.expected_version.is_some() && find_by_slug(db, slug).await?.is_some() => {
            Err(StoreError::Stale(format!(
                "tenant `{slug}` changed since version {}",
                changes.expected_version.unwrap_or_default()
            )))
        }
        None => Err(StoreError::NotFound(format!("unknown tenant `{slug}`"))),
    }
}
