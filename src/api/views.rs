//! What the admin API answers, as typed views of the stored rows: the OpenAPI document's
//! schemas are derived from these very structs, so the document cannot drift from responses.

use serde::Serialize;
use utoipa::ToSchema;

use crate::store::factors::Factor;
use crate::store::tenants::Tenant;
use crate::store::users::User;

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub theme: String,
    /// `disabled`, `optional` or `required`.
    pub mfa_policy: String,
    pub mfa_prompt_enrollment: bool,
    /// `totp`, `email`, `sms`, `webauthn`.
    pub mfa_methods: Vec<String>,
    pub trusted_device_days: i64,
    pub mfa_recovery_count: i64,
    pub mfa_recovery_replace_on_use: bool,
    /// `email` or `none`.
    pub mfa_enrollment_proof: String,
    pub mfa_max_attempts: i64,
    pub account_reauth_secs: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<&Tenant> for TenantView {
    fn from(t: &Tenant) -> TenantView {
        TenantView {
            id: t.id.to_string(),
            slug: t.slug.clone(),
            name: t.name.clone(),
            theme: t.theme.clone(),
            mfa_policy: t.mfa_policy.to_string(),
            mfa_prompt_enrollment: t.mfa_prompt_enrollment,
            mfa_methods: t
                .mfa_methods
                .as_slice()
                .iter()
                .map(|m| m.to_string())
                .collect(),
            trusted_device_days: t.trusted_device_days,
            mfa_recovery_count: t.mfa_recovery_count,
            mfa_recovery_replace_on_use: t.mfa_recovery_replace_on_use,
            mfa_enrollment_proof: t.mfa_enrollment_proof.to_string(),
            mfa_max_attempts: t.mfa_max_attempts,
            account_reauth_secs: t.account_reauth_secs,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FactorView {
    pub id: String,
    /// `totp`, `email`, `sms`, `webauthn`.
    pub kind: String,
    pub label: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl From<&Factor> for FactorView {
    fn from(f: &Factor) -> FactorView {
        FactorView {
            id: f.id.clone(),
            kind: f.kind.to_string(),
            label: f.label.clone(),
            created_at: f.created_at,
            last_used_at: f.last_used_at,
        }
    }
}

/// A user's MFA status, as the admin sees it (help page 003: "see each user's MFA status").
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaStatusView {
    pub enrolled: bool,
    pub factors: Vec<FactorView>,
    pub recovery_codes_remaining: i64,
    pub trusted_devices: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub username: Option<String>,
    pub name: Option<String>,
    pub email_verified: bool,
    pub locked: bool,
    pub created_at: i64,
    pub mfa: MfaStatusView,
}

impl UserView {
    pub fn new(u: &User, mfa: MfaStatusView) -> UserView {
        UserView {
            id: u.id.to_string(),
            email: u.email.clone(),
            username: u.username.clone(),
            name: u.name.clone(),
            email_verified: u.email_verified,
            locked: u.locked,
            created_at: u.created_at,
            mfa,
        }
    }
}

/// One page of a listing; `next_cursor` is `None` on the last page.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResetView {
    pub user_id: String,
    pub factors_removed: u64,
    pub sessions_ended: u64,
    pub grants_revoked: u64,
    pub user_notified: bool,
}
