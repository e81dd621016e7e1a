//! The MFA decision (DESIGN.md §4 step 3, §5): a pure function of the tenant's and client's
//! rules, what the request asks for, the user's factors, what this SSO session already proved,
//! a trusted-device cookie and the time. No I/O, no clock.
//!
//! Like node-oidc-provider's prompt checks, every rule is a named check with a human reason; the
//! reasons go into the audit log and `gatehouse explain` prints the same words.

use serde::Serialize;

use super::proven::Acr;
use crate::model::{
    ClientMfaPolicy, MfaMethod, RegistrationMfaSetup, TenantMfaPolicy, TrustPolicy,
};

/// The PAPE multi-factor policy URI: a synonym of `mfa` in `acr_values`.
pub const PAPE_MFA: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

/// Methods this build can verify (the factors of `mfa::factor`); SMS and WebAuthn join as they
/// land.
pub use super::factor::IMPLEMENTED;

#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub tenant_policy: TenantMfaPolicy,
    pub prompt_enrollment: bool,
    pub allowed_methods: &'a [MfaMethod],
    pub client_policy: ClientMfaPolicy,
    pub trust_policy: TrustPolicy,
    /// `acr_values` of the request (voluntary).
    pub acr_values: &'a [String],
    /// `acr` values requested as essential through the `claims` parameter.
    pub essential_acr: &'a [String],
    pub max_age: Option<i64>,
    /// Kinds of the user's enrolled factors.
    pub user_factors: &'a [MfaMethod],
    /// When a second factor was last verified in this SSO session (None: never).
    pub session_mfa_time: Option<i64>,
    /// That second factor was a security key or passkey (the session's `acr` is `phr`).
    pub session_phishing_resistant: bool,
    /// The browser presented a valid trusted-device token for this user.
    pub trusted_device: bool,
    /// The user chose "Skip" on an optional enrolment earlier in this interaction.
    pub enrolment_skipped: bool,
    /// This interaction created the account (its email just verified): the tenant's
    /// `registration.mfa_setup`. None: an ordinary sign-in.
    pub registration_setup: Option<RegistrationMfaSetup>,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Decision {
    /// Nothing more to verify. `acr` is the assurance this pass rests on, for the audit log and
    /// `gatehouse explain`; the token's claims are computed from what was proven, at finish
    /// (`mfa::proven::claims`). `device_vouched`: a trusted device stands in for the second
    /// factor (only then is it in the JSON).
    Pass {
        acr: Acr,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        device_vouched: bool,
        reason: String,
    },
    /// Ask for one of these enrolled factors (recovery codes are offered too, unless
    /// `phishing_resistant`: then only a WebAuthn assertion will do).
    Challenge {
        methods: Vec<MfaMethod>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        phishing_resistant: bool,
        reason: String,
    },
    /// The user has no factor: set one up now (`skippable`: the tenant only offers it).
    Enrol {
        methods: Vec<MfaMethod>,
        skippable: bool,
        reason: String,
    },
    /// The requirement cannot be met; `error` is the OIDC error code for the client.
    Deny { error: &'static str, reason: String },
}

impl Decision {
    pub fn reason(&self) -> &str {
        match self {
            Decision::Pass { reason, .. }
            | Decision::Challenge { reason, .. }
            | Decision::Enrol { reason, .. }
            | Decision::Deny { reason, .. } => reason,
        }
    }
}

/// One named rule that demands a second factor.
struct Demand {
    name: &'static str,
    why: String,
    /// The client cannot do without it (essential): failing it denies instead of degrading.
    essential: bool,
    /// Only a phishing-resistant factor (WebAuthn) satisfies it.
    phishing_resistant: bool,
}

fn asks_mfa(v: &str) -> bool {
    v == "mfa" || v == PAPE_MFA || v == "phr"
}

/// The named checks, in order; each returns a demand when it applies.
fn demands(i: &Inputs) -> Vec<Demand> {
    let mut out = Vec::new();
    if i.tenant_policy == TenantMfaPolicy::Required {
        out.push(Demand {
            name: "tenant_requires_mfa",
            why: "the organisation requires two-factor authentication".into(),
            essential: true,
            phishing_resistant: false,
        });
    }
    match i.client_policy {
        ClientMfaPolicy::Inherit => {}
        ClientMfaPolicy::Required => out.push(Demand {
            name: "client_requires_mfa",
            why: "this application requires two-factor authentication".into(),
            essential: true,
            phishing_resistant: false,
        }),
        ClientMfaPolicy::PhishingResistant => out.push(Demand {
            name: "client_requires_phishing_resistant",
            why: "this application requires a security key or passkey".into(),
            essential: true,
            phishing_resistant: true,
        }),
    }
    if let Some(v) = i.essential_acr.iter().find(|v| asks_mfa(v)) {
        out.push(Demand {
            name: "acr_requested",
            why: format!("the application requires acr `{v}` (essential)"),
            essential: true,
            phishing_resistant: v == "phr",
        });
    } else if let Some(v) = i.acr_values.iter().find(|v| asks_mfa(v)) {
        out.push(Demand {
            name: "acr_requested",
            why: format!("the application asked for acr `{v}`"),
            essential: false,
            phishing_resistant: v == "phr",
        });
    }
    if i.registration_setup == Some(RegistrationMfaSetup::Required)
        && i.user_factors.is_empty()
        && i.tenant_policy != TenantMfaPolicy::Disabled
    {
        out.push(Demand {
            name: "registration_mfa_setup",
            why: "the organisation has new accounts set up two-factor authentication".into(),
            essential: true,
            phishing_resistant: false,
        });
    }
    if !i.user_factors.is_empty() && i.tenant_policy != TenantMfaPolicy::Disabled {
        out.push(Demand {
            name: "user_enrolled",
            why: "the user has set up two-factor authentication".into(),
            essential: true,
            phishing_resistant: false,
        });
    }
    out
}

fn describe(ds: &[&Demand]) -> String {
    ds.iter()
        .map(|d| format!("{} ({})", d.name, d.why))
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn decide(i: &Inputs) -> Decision {
    let all = demands(i);
    let usable: Vec<MfaMethod> = i
        .allowed_methods
        .iter()
        .copied()
        .filter(|m| IMPLEMENTED.contains(m))
        .collect();

    // Tenant disabled: no MFA stage at all. An essential demand cannot be met.
    if i.tenant_policy == TenantMfaPolicy::Disabled {
        if let Some(d) = all.iter().find(|d| d.essential) {
            return Decision::Deny {
                error: "unmet_authentication_requirements",
                reason: format!(
                    "mfa_disabled: two-factor authentication is disabled for this organisation, but {}",
                    describe(&[d])
                ),
            };
        }
        return Decision::Pass {
            acr: Acr::Pwd,
            device_vouched: false,
            reason: "mfa_disabled: the organisation has turned two-factor authentication off"
                .into(),
        };
    }

    // An essential phishing-resistant demand takes only a WebAuthn assertion: a session that
    // made one, a challenge for the user's keys (no codes), or enrolling a key first. A
    // trusted device never stands in for it. Voluntary `phr` is asked like `mfa` (below).
    if let Some(d) = all.iter().find(|d| d.phishing_resistant && d.essential) {
        return phishing_resistant(i, d, &usable);
    }

    let essential: Vec<&Demand> = all.iter().filter(|d| d.essential).collect();
    let voluntary: Vec<&Demand> = all.iter().filter(|d| !d.essential).collect();
    if all.is_empty() {
        let offered = if i.registration_setup == Some(RegistrationMfaSetup::Optional) {
            Some("registration_mfa_setup: the organisation offers new accounts two-factor set-up")
        } else if i.prompt_enrollment {
            Some("prompt_enrollment: the organisation offers two-factor set-up at sign-in")
        } else {
            None
        };
        if let Some(reason) = offered
            && i.tenant_policy == TenantMfaPolicy::Optional
            && i.user_factors.is_empty()
            && !i.enrolment_skipped
            && !usable.is_empty()
        {
            return Decision::Enrol {
                methods: usable,
                skippable: true,
                reason: reason.into(),
            };
        }
        return Decision::Pass {
            acr: Acr::Pwd,
            device_vouched: false,
            reason: "no_mfa_required: nothing requires a second factor".into(),
        };
    }
    let reason = describe(&all.iter().collect::<Vec<_>>());

    // Already proven in this SSO session, and fresh enough for max_age.
    if let Some(t) = i.session_mfa_time {
        let fresh = i.max_age.is_none_or(|m| m > 0 && i.now - t <= m);
        if fresh {
            return Decision::Pass {
                acr: Acr::Mfa,
                device_vouched: false,
                reason: format!(
                    "mfa_in_session: a second factor was verified in this session; required by {reason}"
                ),
            };
        }
    }
    // A trusted device vouches for the second factor where the client allows it, unless
    // max_age demands a fresh authentication.
    if i.trusted_device && i.trust_policy == TrustPolicy::Any && i.max_age.is_none() {
        return Decision::Pass {
            acr: Acr::Mfa,
            device_vouched: true,
            reason: format!("trusted_device: this device is trusted; required by {reason}"),
        };
    }
    // Every factor the user has answers the challenge, even of a method the tenant no longer
    // allows: that setting stops new enrolments, it does not lock anyone out (docs/mfa.md).
    let enrolled: Vec<MfaMethod> = i
        .user_factors
        .iter()
        .copied()
        .filter(|m| IMPLEMENTED.contains(m))
        .collect();
    if !enrolled.is_empty() {
        let mut methods = enrolled;
        methods.dedup();
        let why = if i.session_mfa_time.is_some() {
            format!("max_age_exceeded: a fresh second factor is needed; required by {reason}")
        } else {
            format!("required by {reason}")
        };
        return Decision::Challenge {
            methods,
            phishing_resistant: false,
            reason: why,
        };
    }
    if usable.is_empty() {
        if essential.is_empty() {
            return Decision::Pass {
                acr: Acr::Pwd,
                device_vouched: false,
                reason: format!(
                    "no_usable_method: no allowed method can be set up; asked by {reason}"
                ),
            };
        }
        return Decision::Deny {
            error: "unmet_authentication_requirements",
            reason: format!("no_usable_method: no allowed method can be set up, but {reason}"),
        };
    }
    // No factor yet. An essential demand means setting one up now. A voluntary `acr_values`
    // offers the set-up with Skip, as Keycloak's and Auth0's step-up do (whatever the tenant's
    // `prompt_enrollment`); once skipped, the best available (OIDC Core §3.1.2.1: values in
    // order of preference) and an honest `acr`.
    if essential.is_empty() {
        let asked = describe(&voluntary);
        if !i.enrolment_skipped {
            return Decision::Enrol {
                methods: usable,
                skippable: true,
                reason: format!(
                    "enrolment_offered: the user has no second factor, set-up offered; asked by {asked}"
                ),
            };
        }
        return Decision::Pass {
            acr: Acr::Pwd,
            device_vouched: false,
            reason: format!(
                "best_available: the user has no second factor and skipped the set-up; asked by {asked}"
            ),
        };
    }
    Decision::Enrol {
        methods: usable,
        skippable: false,
        reason: format!("no_factor: the user must set up a second factor; required by {reason}"),
    }
}

/// DESIGN.md §5: an essential `phr` (the client's `phishing_resistant` policy or the request's
/// essential `acr`) is met only by a security key or passkey.
fn phishing_resistant(i: &Inputs, d: &Demand, usable: &[MfaMethod]) -> Decision {
    let why = describe(&[d]);
    if let Some(t) = i.session_mfa_time
        && i.session_phishing_resistant
        && i.max_age.is_none_or(|m| m > 0 && i.now - t <= m)
    {
        return Decision::Pass {
            acr: Acr::Phr,
            device_vouched: false,
            reason: format!(
                "phr_in_session: a security key or passkey was used in this session; required by {why}"
            ),
        };
    }
    if i.user_factors.contains(&MfaMethod::Webauthn) {
        return Decision::Challenge {
            methods: vec![MfaMethod::Webauthn],
            phishing_resistant: true,
            reason: format!(
                "phishing_resistant: only a security key or passkey; required by {why}"
            ),
        };
    }
    if usable.contains(&MfaMethod::Webauthn) {
        return Decision::Enrol {
            methods: vec![MfaMethod::Webauthn],
            skippable: false,
            reason: format!(
                "no_security_key: the user must add a security key or passkey; required by {why}"
            ),
        };
    }
    Decision::Deny {
        error: "unmet_authentication_requirements",
        reason: format!(
            "phishing_resistant_unavailable: the organisation does not allow security keys or passkeys, but {why}"
        ),
    }
}

/// What a password reset asks for once the mailbox is proven (DESIGN.md §8: the link proves
/// only the mailbox, so it must never stand in for a second factor).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ResetStep {
    /// No second factor to pass (none enrolled, or the tenant has MFA off): the new password.
    NewPassword { reason: String },
    /// Pass one of these factors (or a recovery code) first.
    Challenge {
        methods: Vec<MfaMethod>,
        reason: String,
    },
    /// The tenant does not let users whose only factor is the emailed code reset by mail.
    Forbidden { reason: String },
}

/// The reset's rule: a user with any factor other than the emailed code passes one of those
/// (the mailbox is already proven, so a mailed code would add nothing); a user whose only
/// factor is the emailed code passes a fresh one, sent after the link was used, unless the
/// tenant forbids that (`email_only_allowed` false), since link and code then share one channel.
pub fn reset_step(
    tenant_policy: TenantMfaPolicy,
    user_factors: &[MfaMethod],
    email_only_allowed: bool,
) -> ResetStep {
    let enrolled: Vec<MfaMethod> = user_factors
        .iter()
        .copied()
        .filter(|m| IMPLEMENTED.contains(m))
        .collect();
    if tenant_policy == TenantMfaPolicy::Disabled || enrolled.is_empty() {
        return ResetStep::NewPassword {
            reason: "no_second_factor: the sign-in asks for no second factor, nor does the reset"
                .into(),
        };
    }
    let mut others: Vec<MfaMethod> = enrolled
        .iter()
        .copied()
        .filter(|m| *m != MfaMethod::Email)
        .collect();
    others.dedup();
    if !others.is_empty() {
        return ResetStep::Challenge {
            methods: others,
            reason: "second_factor: the user passes a factor the mailbox does not hold".into(),
        };
    }
    if !email_only_allowed {
        return ResetStep::Forbidden {
            reason: "email_only_forbidden: the only factor is the emailed code, and the \
                     organisation does not allow a reset by mail for such accounts"
                .into(),
        };
    }
    ResetStep::Challenge {
        methods: vec![MfaMethod::Email],
        reason: "email_code: the only factor is the emailed code; a fresh one is sent".into(),
    }
}

#[cfg(test)]
mod tests;
