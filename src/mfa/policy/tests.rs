use super::*;
use MfaMethod::*;

const NOW: i64 = 10_000;

fn base() -> Inputs<'static> {
    Inputs {
        tenant_policy: TenantMfaPolicy::Optional,
        prompt_enrollment: false,
        allowed_methods: &[Totp],
        client_policy: ClientMfaPolicy::Inherit,
        trust_policy: TrustPolicy::Any,
        acr_values: &[],
        essential_acr: &[],
        max_age: None,
        user_factors: &[],
        session_mfa_time: None,
        session_phishing_resistant: false,
        trusted_device: false,
        enrolment_skipped: false,
        registration_setup: None,
        now: NOW,
    }
}

fn s(v: &[&str]) -> &'static [String] {
    Box::leak(
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    )
}

/// A compact name for an outcome, so the table reads in one line per case.
fn short(d: &Decision) -> String {
    match d {
        Decision::Pass { acr, .. } => format!("pass:{acr}"),
        Decision::Challenge {
            phishing_resistant: true,
            ..
        } => "challenge:phr".into(),
        Decision::Challenge { .. } => "challenge".into(),
        Decision::Enrol { skippable, .. } => format!(
            "enrol:{}",
            if *skippable { "skippable" } else { "required" }
        ),
        Decision::Deny { error, .. } => format!("deny:{error}"),
    }
}

#[test]
fn decision_table() {
    type Case = (
        &'static str,
        fn(&mut Inputs<'static>),
        &'static str,
        &'static str,
    );
    let cases: &[Case] = &[
        ("nothing required", |_| {}, "pass:pwd", "no_mfa_required"),
        (
            "optional + prompt enrolment offers a skippable set-up",
            |i| i.prompt_enrollment = true,
            "enrol:skippable",
            "prompt_enrollment",
        ),
        (
            "prompt enrolment skipped",
            |i| {
                i.prompt_enrollment = true;
                i.enrolment_skipped = true;
            },
            "pass:pwd",
            "no_mfa_required",
        ),
        (
            "registration set-up optional: a skippable set-up, prompt enrolment or not",
            |i| i.registration_setup = Some(RegistrationMfaSetup::Optional),
            "enrol:skippable",
            "registration_mfa_setup",
        ),
        (
            "registration set-up optional, skipped: on with a password",
            |i| {
                i.registration_setup = Some(RegistrationMfaSetup::Optional);
                i.enrolment_skipped = true;
            },
            "pass:pwd",
            "no_mfa_required",
        ),
        (
            "registration set-up required: enrol, no skip, on an optional tenant",
            |i| i.registration_setup = Some(RegistrationMfaSetup::Required),
            "enrol:required",
            "registration_mfa_setup",
        ),
        (
            "registration set-up off: the tenant's rules as usual",
            |i| {
                i.registration_setup = Some(RegistrationMfaSetup::Off);
                i.prompt_enrollment = true;
            },
            "enrol:skippable",
            "prompt_enrollment",
        ),
        (
            "registration set-up optional on a required tenant: no skip",
            |i| {
                i.registration_setup = Some(RegistrationMfaSetup::Optional);
                i.tenant_policy = TenantMfaPolicy::Required;
            },
            "enrol:required",
            "tenant_requires_mfa",
        ),
        (
            "registration set-up required on a disabled tenant: nothing to set up",
            |i| {
                i.registration_setup = Some(RegistrationMfaSetup::Required);
                i.tenant_policy = TenantMfaPolicy::Disabled;
            },
            "pass:pwd",
            "mfa_disabled",
        ),
        (
            "enrolled user is challenged even when optional",
            |i| i.user_factors = &[Totp],
            "challenge",
            "user_enrolled",
        ),
        (
            "tenant required, no factor: enrol, no skip",
            |i| i.tenant_policy = TenantMfaPolicy::Required,
            "enrol:required",
            "tenant_requires_mfa",
        ),
        (
            "tenant required, factor: challenge",
            |i| {
                i.tenant_policy = TenantMfaPolicy::Required;
                i.user_factors = &[Totp];
            },
            "challenge",
            "tenant_requires_mfa",
        ),
        (
            "client raises an optional tenant",
            |i| i.client_policy = ClientMfaPolicy::Required,
            "enrol:required",
            "client_requires_mfa",
        ),
        (
            "voluntary acr_values=mfa without a factor offers a skippable set-up",
            |i| i.acr_values = s(&["mfa"]),
            "enrol:skippable",
            "enrolment_offered",
        ),
        (
            "voluntary acr_values=mfa without a factor names the request",
            |i| i.acr_values = s(&["mfa"]),
            "enrol:skippable",
            "acr_requested",
        ),
        (
            "PAPE URI without a factor offers a skippable set-up too",
            |i| i.acr_values = s(&[PAPE_MFA]),
            "enrol:skippable",
            "enrolment_offered",
        ),
        (
            "voluntary acr_values=mfa, set-up skipped: best available, honest acr",
            |i| {
                i.acr_values = s(&["mfa"]);
                i.enrolment_skipped = true;
            },
            "pass:pwd",
            "best_available",
        ),
        (
            "voluntary acr_values=mfa never softens a required tenant",
            |i| {
                i.acr_values = s(&["mfa"]);
                i.tenant_policy = TenantMfaPolicy::Required;
            },
            "enrol:required",
            "no_factor",
        ),
        (
            "voluntary acr_values=mfa never softens a client that requires MFA",
            |i| {
                i.acr_values = s(&["mfa"]);
                i.client_policy = ClientMfaPolicy::Required;
            },
            "enrol:required",
            "client_requires_mfa",
        ),
        (
            "voluntary acr_values=mfa when no allowed method can be set up: password",
            |i| {
                i.acr_values = s(&["mfa"]);
                i.allowed_methods = &[];
            },
            "pass:pwd",
            "no_usable_method",
        ),
        (
            "voluntary acr_values=mfa while the tenant offers enrolment",
            |i| {
                i.acr_values = s(&["mfa"]);
                i.prompt_enrollment = true;
            },
            "enrol:skippable",
            "acr_requested",
        ),
        (
            "PAPE URI is a synonym",
            |i| {
                i.acr_values = s(&[PAPE_MFA]);
                i.user_factors = &[Totp];
            },
            "challenge",
            "acr_requested",
        ),
        (
            "voluntary acr after skip passes honestly",
            |i| {
                i.acr_values = s(&["mfa"]);
                i.prompt_enrollment = true;
                i.enrolment_skipped = true;
            },
            "pass:pwd",
            "best_available",
        ),
        (
            "voluntary phr without a factor offers the best available set-up",
            |i| i.acr_values = s(&["phr"]),
            "enrol:skippable",
            "enrolment_offered",
        ),
        (
            "essential acr=mfa cannot be skipped",
            |i| i.essential_acr = s(&["mfa"]),
            "enrol:required",
            "acr_requested",
        ),
        (
            "essential acr=mfa stays required even after a skip",
            |i| {
                i.essential_acr = s(&["mfa"]);
                i.acr_values = s(&["mfa"]);
                i.enrolment_skipped = true;
            },
            "enrol:required",
            "no_factor",
        ),
        (
            "step-up: MFA already in session",
            |i| {
                i.client_policy = ClientMfaPolicy::Required;
                i.user_factors = &[Totp];
                i.session_mfa_time = Some(NOW - 60);
            },
            "pass:mfa",
            "mfa_in_session",
        ),
        (
            "max_age exceeded needs a fresh factor",
            |i| {
                i.user_factors = &[Totp];
                i.session_mfa_time = Some(NOW - 600);
                i.max_age = Some(300);
            },
            "challenge",
            "max_age_exceeded",
        ),
        (
            "max_age within limit",
            |i| {
                i.user_factors = &[Totp];
                i.session_mfa_time = Some(NOW - 60);
                i.max_age = Some(300);
            },
            "pass:mfa",
            "mfa_in_session",
        ),
        (
            "trusted device satisfies trust_policy=any",
            |i| {
                i.user_factors = &[Totp];
                i.trusted_device = true;
            },
            "pass:mfa",
            "trusted_device",
        ),
        (
            "trusted device ignored for trust_policy=none",
            |i| {
                i.user_factors = &[Totp];
                i.trusted_device = true;
                i.trust_policy = TrustPolicy::None;
            },
            "challenge",
            "user_enrolled",
        ),
        (
            "trusted device ignored when max_age demands freshness",
            |i| {
                i.user_factors = &[Totp];
                i.trusted_device = true;
                i.max_age = Some(60);
            },
            "challenge",
            "user_enrolled",
        ),
        (
            "essential phr cannot be met without WebAuthn",
            |i| {
                i.essential_acr = s(&["phr"]);
                i.user_factors = &[Totp];
            },
            "deny:unmet_authentication_requirements",
            "phishing_resistant_unavailable",
        ),
        (
            "client phishing_resistant without WebAuthn allowed: unmet",
            |i| i.client_policy = ClientMfaPolicy::PhishingResistant,
            "deny:unmet_authentication_requirements",
            "phishing_resistant_unavailable",
        ),
        (
            "client phishing_resistant: a key holder is asked for the key only",
            |i| {
                i.allowed_methods = &[Totp, Webauthn];
                i.client_policy = ClientMfaPolicy::PhishingResistant;
                i.user_factors = &[Totp, Webauthn];
            },
            "challenge:phr",
            "phishing_resistant",
        ),
        (
            "client phishing_resistant: a TOTP-only user must add a key",
            |i| {
                i.allowed_methods = &[Totp, Webauthn];
                i.client_policy = ClientMfaPolicy::PhishingResistant;
                i.user_factors = &[Totp];
            },
            "enrol:required",
            "no_security_key",
        ),
        (
            "essential phr: a trusted device does not stand in",
            |i| {
                i.allowed_methods = &[Totp, Webauthn];
                i.essential_acr = s(&["phr"]);
                i.user_factors = &[Webauthn];
                i.trusted_device = true;
            },
            "challenge:phr",
            "phishing_resistant",
        ),
        (
            "essential phr: a TOTP second factor in the session is not enough",
            |i| {
                i.allowed_methods = &[Totp, Webauthn];
                i.essential_acr = s(&["phr"]);
                i.user_factors = &[Totp, Webauthn];
                i.session_mfa_time = Some(NOW - 60);
            },
            "challenge:phr",
            "phishing_resistant",
        ),
        (
            "essential phr: a key used in this session passes",
            |i| {
                i.allowed_methods = &[Totp, Webauthn];
                i.essential_acr = s(&["phr"]);
                i.user_factors = &[Webauthn];
                i.session_mfa_time = Some(NOW - 60);
                i.session_phishing_resistant = true;
            },
            "pass:phr",
            "phr_in_session",
        ),
        (
            "voluntary phr falls back to the best available",
            |i| {
                i.acr_values = s(&["phr"]);
                i.user_factors = &[Totp];
            },
            "challenge",
            "acr_requested",
        ),
        (
            "tenant disabled ignores enrolled factors",
            |i| {
                i.tenant_policy = TenantMfaPolicy::Disabled;
                i.user_factors = &[Totp];
            },
            "pass:pwd",
            "mfa_disabled",
        ),
        (
            "tenant disabled + client required: unmet",
            |i| {
                i.tenant_policy = TenantMfaPolicy::Disabled;
                i.client_policy = ClientMfaPolicy::Required;
            },
            "deny:unmet_authentication_requirements",
            "mfa_disabled",
        ),
        (
            "tenant disabled + voluntary acr: honest pwd",
            |i| {
                i.tenant_policy = TenantMfaPolicy::Disabled;
                i.acr_values = s(&["mfa"]);
            },
            "pass:pwd",
            "mfa_disabled",
        ),
        (
            "a factor of a method the tenant stopped allowing still answers the challenge",
            |i| {
                i.tenant_policy = TenantMfaPolicy::Required;
                i.allowed_methods = &[Email];
                i.user_factors = &[Totp];
            },
            "challenge",
            "tenant_requires_mfa",
        ),
        (
            "required but no method allowed",
            |i| {
                i.tenant_policy = TenantMfaPolicy::Required;
                i.allowed_methods = &[];
            },
            "deny:unmet_authentication_requirements",
            "no_usable_method",
        ),
    ];
    for (name, tweak, want, reason) in cases {
        let mut i = base();
        tweak(&mut i);
        let d = decide(&i);
        assert_eq!(short(&d), *want, "{name}: {d:?}");
        assert!(
            d.reason().contains(reason),
            "{name}: reason `{}` lacks `{reason}`",
            d.reason()
        );
    }
}

#[test]
fn a_client_can_raise_but_never_lower_the_tenant() {
    for client in [ClientMfaPolicy::Inherit, ClientMfaPolicy::Required] {
        let mut i = base();
        i.tenant_policy = TenantMfaPolicy::Required;
        i.client_policy = client;
        i.user_factors = &[Totp];
        assert_eq!(short(&decide(&i)), "challenge", "{client:?}");
    }
}

#[test]
fn challenge_lists_the_enrolled_methods() {
    let mut i = base();
    i.user_factors = &[Totp];
    assert_eq!(
        decide(&i),
        Decision::Challenge {
            methods: vec![Totp],
            phishing_resistant: false,
            reason: "required by user_enrolled (the user has set up two-factor authentication)"
                .into()
        }
    );
}

#[test]
fn reset_never_lets_the_mailbox_stand_in_for_a_second_factor() {
    use TenantMfaPolicy::*;
    let step = |p, f: &[MfaMethod], allowed| match reset_step(p, f, allowed) {
        ResetStep::NewPassword { .. } => "new_password".to_string(),
        ResetStep::Challenge { methods, .. } => format!(
            "challenge:{}",
            methods
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ),
        ResetStep::Forbidden { .. } => "forbidden".into(),
    };
    assert_eq!(step(Optional, &[], true), "new_password");
    assert_eq!(step(Required, &[], true), "new_password");
    assert_eq!(step(Optional, &[Totp], true), "challenge:totp");
    // The emailed code is left out when another factor exists: the mailbox is proven already.
    assert_eq!(step(Optional, &[Email, Totp], true), "challenge:totp");
    assert_eq!(step(Optional, &[Sms, Email], false), "challenge:sms");
    assert_eq!(step(Optional, &[Email], true), "challenge:email");
    assert_eq!(step(Required, &[Email], false), "forbidden");
    // MFA off: the sign-in asks for no factor, so neither does the reset.
    assert_eq!(step(Disabled, &[Totp], true), "new_password");
}
