use super::*;
use Method::*;

const T: i64 = 1_000;

fn proven(methods: &[Method], device_vouched: bool) -> Proven {
    let mut p = Proven::default();
    for (i, m) in methods.iter().enumerate() {
        p.add(*m, T + i as i64);
    }
    p.device_vouched = device_vouched;
    p
}

fn strings(amr: &[AmrValue]) -> String {
    amr_strings(amr).join(",")
}

const KEY: Method = WebAuthn {
    platform: false,
    user_verified: true,
};
const KEY_NO_UV: Method = WebAuthn {
    platform: false,
    user_verified: false,
};
const PASSKEY: Method = WebAuthn {
    platform: true,
    user_verified: true,
};
const PASSKEY_NO_UV: Method = WebAuthn {
    platform: true,
    user_verified: false,
};

/// Every row of DESIGN.md §6 (and of docs/mfa.md "Claims").
#[test]
fn claims_follow_the_design_table() {
    use TrustPolicy::{Any, None as NoTrust};
    type Row = (
        &'static str,
        &'static [Method],
        bool,
        TrustPolicy,
        &'static str,
        Acr,
    );
    let rows: &[Row] = &[
        ("password only", &[Password], false, Any, "pwd", Acr::Pwd),
        (
            "password + authenticator app",
            &[Password, Totp],
            false,
            Any,
            "pwd,otp,mfa",
            Acr::Mfa,
        ),
        (
            "password + email code",
            &[Password, EmailCode],
            false,
            Any,
            "pwd,otp,mfa",
            Acr::Mfa,
        ),
        (
            "password + recovery code",
            &[Password, RecoveryCode],
            false,
            Any,
            "pwd,otp,mfa",
            Acr::Mfa,
        ),
        (
            "password + SMS code",
            &[Password, Sms],
            false,
            Any,
            "pwd,sms,otp,mfa",
            Acr::Mfa,
        ),
        (
            "password + security key, verified",
            &[Password, KEY],
            false,
            Any,
            "pwd,hwk,user,mfa",
            Acr::Phr,
        ),
        (
            "password + security key, presence only",
            &[Password, KEY_NO_UV],
            false,
            Any,
            "pwd,hwk,mfa",
            Acr::Phr,
        ),
        (
            "password + platform passkey",
            &[Password, PASSKEY],
            false,
            Any,
            "pwd,swk,user,mfa",
            Acr::Phr,
        ),
        (
            "password + platform, presence only",
            &[Password, PASSKEY_NO_UV],
            false,
            Any,
            "pwd,swk,mfa",
            Acr::Phr,
        ),
        (
            "passkey alone, verified",
            &[KEY],
            false,
            Any,
            "hwk,user,mfa",
            Acr::Phr,
        ),
        (
            "passkey alone, presence only",
            &[KEY_NO_UV],
            false,
            Any,
            "hwk",
            Acr::Pwd,
        ),
        (
            "trusted device, trust policy any",
            &[Password],
            true,
            Any,
            "pwd",
            Acr::Mfa,
        ),
        (
            "trusted device, trust policy none",
            &[Password],
            true,
            NoTrust,
            "pwd",
            Acr::Pwd,
        ),
        (
            "trusted device beside a verified factor",
            &[Password, Totp],
            true,
            NoTrust,
            "pwd,otp,mfa",
            Acr::Mfa,
        ),
        (
            "two one-time codes are one kind of factor",
            &[Totp, RecoveryCode],
            false,
            Any,
            "otp",
            Acr::Pwd,
        ),
        (
            "the order of proof is the order of amr",
            &[Password, Sms, Totp],
            false,
            Any,
            "pwd,sms,otp,mfa",
            Acr::Mfa,
        ),
        ("nothing proven", &[], false, Any, "", Acr::Pwd),
    ];
    for (name, methods, vouched, trust, amr, acr) in rows {
        let (got_amr, got_acr) = claims(&proven(methods, *vouched), *trust);
        assert_eq!(strings(&got_amr), *amr, "amr: {name}");
        assert_eq!(got_acr, *acr, "acr: {name}");
    }
}

#[test]
fn acr_strings_are_the_wire_values() {
    assert_eq!(Acr::Pwd.as_str(), "pwd");
    assert_eq!(Acr::Mfa.as_str(), "mfa");
    assert_eq!(Acr::Phr.as_str(), "phr");
    for v in AmrValue::ALL {
        assert_eq!(AmrValue::parse(v.as_str()), Some(*v));
    }
}

/// The stored `amr` lists read back into a `Proven` that yields the same claims.
#[test]
fn stored_amr_reads_back_to_the_same_claims() {
    let stored: &[&[&str]] = &[
        &["pwd"],
        &["pwd", "otp", "mfa"],
        &["pwd", "sms", "otp", "mfa"],
        &["pwd", "hwk", "user", "mfa"],
        &["pwd", "swk", "user", "mfa"],
        &["pwd", "hwk", "mfa"],
        &["hwk", "user", "mfa"],
        &["hwk"],
    ];
    for amr in stored {
        let v: Vec<String> = amr.iter().map(|s| s.to_string()).collect();
        let p = Proven::from_amr(&v, T, Some(T + 5));
        assert_eq!(amr_strings(&claims(&p, TrustPolicy::Any).0), v, "{amr:?}");
    }
}

#[test]
fn mfa_time_is_the_latest_second_factor() {
    let mut p = Proven::password(T);
    assert_eq!(p.mfa_time(), None);
    p.add(Totp, T + 10);
    assert_eq!(p.mfa_time(), Some(T + 10));
    p.add(Totp, T + 20);
    assert_eq!(p.mfa_time(), Some(T + 20));
    assert_eq!(p.methods.len(), 2, "proving a method again moves its time");
    p.add(RecoveryCode, T + 15);
    assert_eq!(p.mfa_time(), Some(T + 20));
    let vouched = Proven {
        device_vouched: true,
        ..Proven::password(T)
    };
    assert_eq!(vouched.mfa_time(), None, "a device vouch verifies nothing");
}

#[test]
fn first_factor_only_drops_every_second_factor() {
    let mut p = Proven::password(T);
    p.add(Totp, T + 1);
    p.add(KEY, T + 2);
    p.device_vouched = true;
    let first = p.first_factor_only();
    assert_eq!(
        claims(&first, TrustPolicy::Any),
        (vec![AmrValue::Pwd], Acr::Pwd)
    );
}

#[test]
fn merge_keeps_both_sides() {
    let mut session = Proven::password(T);
    let mut now = Proven::default();
    now.add(Totp, T + 50);
    now.device_vouched = true;
    session.merge(&now);
    assert_eq!(session.methods, vec![(Password, T), (Totp, T + 50)]);
    assert!(session.device_vouched);
}

#[test]
fn authentication_completes_when_the_last_method_passes() {
    assert_eq!(Proven::default().completed_at(), None);
    let mut p = Proven::password(T);
    assert_eq!(p.completed_at(), Some(T));
    p.add(Totp, T + 45);
    assert_eq!(p.completed_at(), Some(T + 45), "45 s on the MFA page");
}
