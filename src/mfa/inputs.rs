//! The policy's inputs, gathered in one place from plain values (no HTTP types), so the hosted
//! login, the account pages and `gatehouse explain` decide on the same facts the same way:
//! the tenant's allowed methods read by one rule, the user's factors read by one query.

use super::policy::{self, Decision, Inputs};
use crate::ids::UserId;
use crate::model::MfaMethod;
use crate::store::clients::Client;
use crate::store::tenants::Tenant;
use crate::store::{Db, StoreResult, factors};

/// One sign-in as the policy sees it, apart from the tenant and client rows.
#[derive(Debug, Clone)]
pub struct Situation<'a> {
    /// `acr_values` of the request (voluntary).
    pub acr_values: &'a [String],
    /// `acr` values requested as essential through the `claims` parameter.
    pub essential_acr: &'a [String],
    pub max_age: Option<i64>,
    /// Kinds of the user's enrolled factors ([`user_factors`]).
    pub user_factors: &'a [MfaMethod],
    /// When this SSO session last verified a second factor (None: no session, or never).
    pub session_mfa_time: Option<i64>,
    /// That second factor was a security key or passkey.
    pub session_phishing_resistant: bool,
    /// The browser holds a valid trusted-device token for this user.
    pub trusted_device: bool,
    /// The user chose Skip on an offered enrolment earlier in this interaction.
    pub enrolment_skipped: bool,
    /// This interaction registered the account: the tenant's `registration.mfa_setup` applies.
    pub registered: bool,
    pub now: i64,
}

/// Kinds of the user's enrolled factors, in enrolment order.
pub async fn user_factors(db: &Db, user_id: &UserId) -> StoreResult<Vec<MfaMethod>> {
    let mut kinds: Vec<MfaMethod> = factors::list_for_user(db, user_id)
        .await?
        .into_iter()
        .map(|f| f.kind)
        .collect();
    kinds.dedup();
    Ok(kinds)
}

/// The policy's inputs for this tenant, client and situation.
pub fn policy_inputs<'a>(tenant: &'a Tenant, client: &Client, s: &Situation<'a>) -> Inputs<'a> {
    Inputs {
        tenant_policy: tenant.mfa_policy,
        prompt_enrollment: tenant.mfa_prompt_enrollment,
        allowed_methods: tenant.mfa_methods.as_slice(),
        client_policy: client.mfa_policy,
        trust_policy: client.trust_policy,
        acr_values: s.acr_values,
        essential_acr: s.essential_acr,
        max_age: s.max_age,
        user_factors: s.user_factors,
        session_mfa_time: s.session_mfa_time,
        session_phishing_resistant: s.session_phishing_resistant,
        trusted_device: s.trusted_device,
        enrolment_skipped: s.enrolment_skipped,
        registration_setup: s.registered.then_some(tenant.registration_mfa_setup),
        now: s.now,
    }
}

/// The decision for this tenant, client and situation: [`policy_inputs`] into
/// [`policy::decide`]. The login, the account pages and `gatehouse explain` all call this.
pub fn decide(tenant: &Tenant, client: &Client, s: &Situation<'_>) -> Decision {
    policy::decide(&policy_inputs(tenant, client, s))
}
