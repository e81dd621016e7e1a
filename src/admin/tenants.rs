use serde_json::json;

use super::{AdminError, AdminResult};
use crate::model::TenantMfaPolicy;
use crate::store::tenants::{self, Tenant, TenantChanges};
use crate::store::{Db, audit};

pub async fn create(
    db: &Db,
    actor: &str,
    slug: &str,
    name: Option<&str>,
    mfa: TenantMfaPolicy,
    prompt_enrollment: bool,
) -> AdminResult<Tenant> {
    tenants::validate_slug(slug).map_err(AdminError::Invalid)?;
    let name = name.unwrap_or(slug).trim();
    if name.is_empty() {
        return Err(AdminError::Invalid("tenant name must not be empty".into()));
    }
    let t = tenants::create(db, slug, name, mfa, prompt_enrollment).await?;
    audit::record(
        db,
        audit::NewEvent {
            tenant_id: Some(&t.id),
            actor,
            event: "tenant.created",
            detail: json!({ "slug": t.slug, "mfa_policy": t.mfa_policy }),
            ..Default::default()
        },
    )
    .await?;
    Ok(t)
}

pub async fn update(
    db: &Db,
    actor: &str,
    slug: &str,
    changes: &TenantChanges,
) -> AdminResult<Tenant> {
    if let Some(days) = changes.trusted_device_days
        && !(0..=365).contains(&days)
    {
        return Err(AdminError::Invalid(
            "trusted device days: expected 0 (off) to 365".into(),
        ));
    }
    if let Some(theme) = &changes.theme
        && (theme.is_empty()
            || !theme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(AdminError::Invalid(
            "theme: expected a folder name of letters, digits, - or _".into(),
        ));
    }
    if let Some(n) = changes.mfa_recovery_count
        && !(1..=16).contains(&n)
    {
        return Err(AdminError::Invalid(
            "recovery codes: expected 1 to 16".into(),
        ));
    }
    if let Some(p) = &changes.mfa_enrollment_proof
        && !["email", "none"].contains(&p.as_str())
    {
        return Err(AdminError::Invalid(format!(
            "invalid enrollment proof `{p}`: expected one of email, none"
        )));
    }
    if let Some(n) = changes.mfa_max_attempts
        && !(1..=10).contains(&n)
    {
        return Err(AdminError::Invalid(
            "MFA max attempts: expected 1 to 10".into(),
        ));
    }
    if let Some(n) = changes.account_reauth_secs
        && !(60..=86_400).contains(&n)
    {
        return Err(AdminError::Invalid(
            "account re-authentication window: expected 60 to 86400 seconds".into(),
        ));
    }
    if let Some(r) = &changes.sms_default_region
        && !crate::phone::is_region(r)
    {
        return Err(AdminError::Invalid(format!(
            "invalid SMS default region `{r}`: expected a region code such as US or GB"
        )));
    }
    if let Some(codes) = &changes.sms_allowed_countries
        && let Some(bad) = codes.iter().find(|c| !(1..=999).contains(*c))
    {
        return Err(AdminError::Invalid(format!(
            "invalid SMS country calling code `{bad}`: expected numbers such as 1,44"
        )));
    }
    if changes.mfa_methods.as_ref().is_some_and(|m| m.is_empty()) {
        return Err(AdminError::Invalid("MFA methods: name at least one".into()));
    }
    let before = tenants::get_by_slug(db, slug).await?;
    let t = tenants::update(db, slug, changes).await?;
    // Every node drops its cached copy now rather than after `server.cache_ttl_secs`.
    crate::changes::announce(db, crate::changes::Change::Tenant(&t.slug)).await;
    // Turning `required` off never removes a factor: only the policy column changes here.
    audit::record(
        db,
        audit::NewEvent {
            tenant_id: Some(&t.id),
            actor,
            event: "tenant.updated",
            detail: json!({
                "mfa_policy": { "from": before.mfa_policy, "to": t.mfa_policy },
                "mfa_prompt_enrollment": { "from": before.mfa_prompt_enrollment, "to": t.mfa_prompt_enrollment },
                "trusted_device_days": { "from": before.trusted_device_days, "to": t.trusted_device_days },
                "name": { "from": before.name, "to": t.name },
                "theme": { "from": before.theme, "to": t.theme },
                "sms_default_region": { "from": before.sms_default_region, "to": t.sms_default_region },
                "sms_allowed_countries": { "from": before.sms_countries(), "to": t.sms_countries() },
                "registration_enabled": { "from": before.registration_enabled, "to": t.registration_enabled },
                "registration_mfa_setup": { "from": before.registration_mfa_setup, "to": t.registration_mfa_setup },
                "password_reset_email_only": { "from": before.password_reset_email_only, "to": t.password_reset_email_only },
                "passkeys_passwordless": { "from": before.passkeys_passwordless, "to": t.passkeys_passwordless },
            }),
            ..Default::default()
        },
    )
    .await?;
    Ok(t)
}
