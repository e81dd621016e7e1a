//! What the admin API answers, as typed views of the stored rows: the OpenAPI document's
//! schemas are derived from these very structs, so the document cannot drift from responses.

use serde::Serialize;
use utoipa::ToSchema;

use crate::profile::Profile;
use crate::store::audit::AuditEvent;
use crate::store::clients::Client;
use crate::store::factors::Factor;
use crate::store::sessions::SsoSession;
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
    /// Region for numbers typed without `+` (ISO 3166 code).
    pub sms_default_region: String,
    /// Country calling codes texts may go to.
    pub sms_allowed_countries: Vec<u16>,
    /// The sign-in page offers "Create an account".
    pub registration_enabled: bool,
    /// After a registration's email verification: `off`, `optional` (with Skip), `required`.
    pub registration_mfa_setup: String,
    /// Whether users whose only second factor is the emailed code may reset by mail:
    /// `allow` or `forbid`.
    pub password_reset_email_only: String,
    pub passkeys_passwordless: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// Bumped by every change; also the `ETag`.
    pub version: i64,
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
            sms_default_region: t.sms_default_region.clone(),
            sms_allowed_countries: t.sms_countries(),
            registration_enabled: t.registration_enabled,
            registration_mfa_setup: t.registration_mfa_setup.to_string(),
            password_reset_email_only: t.password_reset_email_only.to_string(),
            passkeys_passwordless: t.passkeys_passwordless,
            created_at: t.created_at,
            updated_at: t.updated_at,
            version: t.version,
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
    /// E.164.
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub locked: bool,
    /// Self-registered, email not verified yet: cannot sign in.
    pub pending_verification: bool,
    /// A new password is demanded at the next sign-in.
    pub password_change_required: bool,
    pub created_at: i64,
    /// The last change of the user's row (the `updated_at` claim).
    pub updated_at: i64,
    /// Bumped by every change of the user; also the `ETag`.
    pub version: i64,
    /// The other standard claims; `address` is the structured object.
    #[serde(flatten)]
    pub profile: Profile,
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
            phone: u.phone.clone(),
            phone_verified: u.phone_verified,
            locked: u.locked,
            pending_verification: u.pending_verification,
            password_change_required: u.password_change_required,
            created_at: u.created_at,
            updated_at: u.updated_at,
            version: u.version,
            profile: u.profile.clone(),
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

/// One live SSO session of a user.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Also the `sid` claim of the ID tokens issued in it.
    pub id: String,
    /// RFC 8176 methods verified in this session.
    pub amr: Vec<String>,
    pub acr: String,
    pub auth_time: i64,
    /// When a second factor was last verified, if one was.
    pub mfa_time: Option<i64>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

impl From<&SsoSession> for SessionView {
    fn from(s: &SsoSession) -> SessionView {
        SessionView {
            id: s.id.clone(),
            amr: s.amr_list(),
            acr: s.acr.clone(),
            auth_time: s.auth_time,
            mfa_time: s.mfa_time,
            user_agent: s.user_agent.clone(),
            ip: s.ip.clone(),
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
        }
    }
}

/// What ending sessions did.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndedView {
    pub sessions_ended: u64,
    pub grants_revoked: u64,
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    pub id: String,
    pub user_id: Option<String>,
    /// `cli`, `api-key:<id>`, `user:<id>` or `system`.
    pub actor: String,
    /// e.g. `mfa.reset`, `login.mfa_decision`, `session.revoked`.
    pub event: String,
    /// The event's facts (ids, names, reasons; never a secret).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub ip: Option<String>,
    pub created_at: i64,
}

impl From<&AuditEvent> for AuditEventView {
    fn from(e: &AuditEvent) -> AuditEventView {
        AuditEventView {
            id: e.id.clone(),
            user_id: e.user_id.as_ref().map(|u| u.to_string()),
            actor: e.actor.clone(),
            event: e.event.clone(),
            detail: serde_json::from_str(&e.detail).unwrap_or_default(),
            ip: e.ip.clone(),
            created_at: e.created_at,
        }
    }
}

/// A registered client (never its secret: that is shown once, at creation or rotation).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub is_public: bool,
    pub first_party: bool,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none`.
    pub token_endpoint_auth_method: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    /// `inherit`, `required` or `phishing_resistant`.
    pub mfa_policy: String,
    /// `any` or `none`: whether a trusted device may stand in for the second factor.
    pub trust_policy: String,
    pub id_token_alg: String,
    /// `RS256`, `ES256` or `EdDSA`: what the client's access tokens are signed with.
    pub access_token_alg: String,
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    pub scope: String,
    pub offline_access: bool,
    pub jwks_uri: Option<String>,
    /// Whether a JWK Set is registered inline (private_key_jwt).
    pub jwks: bool,
    pub web_origins: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// Bumped by every change of the client (its secret's rotation too); also the `ETag`.
    pub version: i64,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> ClientView {
        ClientView {
            client_id: c.id.to_string(),
            name: c.name.clone(),
            is_public: c.is_public,
            first_party: c.first_party,
            token_endpoint_auth_method: c.token_endpoint_auth_method.to_string(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            grant_types: c.grant_types.clone(),
            mfa_policy: c.mfa_policy.to_string(),
            trust_policy: c.trust_policy.to_string(),
            id_token_alg: c.id_token_alg.to_string(),
            access_token_alg: c.access_token_alg.to_string(),
            access_token_ttl_secs: c.access_token_ttl_secs,
            id_token_ttl_secs: c.id_token_ttl_secs,
            refresh_token_ttl_secs: c.refresh_token_ttl_secs,
            scope: c.scope.clone(),
            offline_access: c.offline_access,
            jwks_uri: c.jwks_uri.clone(),
            jwks: c.jwks.is_some(),
            web_origins: c.web_origins.clone(),
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: c.backchannel_logout_session_required,
            created_at: c.created_at,
            updated_at: c.updated_at,
            version: c.version,
        }
    }
}

/// A client with the secret it was just given (creation, rotation): the only time it is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientWithSecret {
    #[serde(flatten)]
    pub client: ClientView,
    pub client_secret: Option<String>,
}
