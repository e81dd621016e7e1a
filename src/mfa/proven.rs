//! What the user proved, as one typed value (method, when), and the one function that turns it
//! into the `amr` and `acr` claims (DESIGN.md §6). Pure: no I/O, no clock.
//!
//! Every place that records a proof (the challenge, the enrolment, the account pages) adds a
//! [`Method`] to a [`Proven`]; every place that writes `amr`/`acr` (the SSO session, the
//! authorization code, a session losing its second factor) derives them through [`claims`].

use serde::{Deserialize, Serialize};

use crate::model::TrustPolicy;

/// One way the user proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Method {
    Password,
    /// A code from an authenticator app.
    Totp,
    /// One of the user's printed recovery codes (the audit log records which kind was used).
    RecoveryCode,
    /// A one-time code mailed to the user (the emailed-code factor).
    EmailCode,
    /// A one-time code sent by SMS.
    Sms,
    /// A security key (`platform: false`) or a platform authenticator / passkey.
    WebAuthn {
        platform: bool,
        user_verified: bool,
    },
}

/// RFC 8176 §2 authentication method reference values Gatehouse emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmrValue {
    Pwd,
    Otp,
    Sms,
    Hwk,
    Swk,
    User,
    Mfa,
}

impl AmrValue {
    pub const ALL: &'static [AmrValue] = &[
        AmrValue::Pwd,
        AmrValue::Otp,
        AmrValue::Sms,
        AmrValue::Hwk,
        AmrValue::Swk,
        AmrValue::User,
        AmrValue::Mfa,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AmrValue::Pwd => "pwd",
            AmrValue::Otp => "otp",
            AmrValue::Sms => "sms",
            AmrValue::Hwk => "hwk",
            AmrValue::Swk => "swk",
            AmrValue::User => "user",
            AmrValue::Mfa => "mfa",
        }
    }

    pub fn parse(s: &str) -> Option<AmrValue> {
        Self::ALL.iter().copied().find(|v| v.as_str() == s)
    }
}

/// The assurance a finished login claims (`acr`, DESIGN.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Acr {
    /// One factor.
    Pwd,
    /// Two distinct factors verified, or vouched for by a trusted device the client accepts.
    Mfa,
    /// Multi-factor with WebAuthn (phishing-resistant).
    Phr,
}

impl Acr {
    pub fn as_str(self) -> &'static str {
        match self {
            Acr::Pwd => "pwd",
            Acr::Mfa => "mfa",
            Acr::Phr => "phr",
        }
    }
}

impl std::fmt::Display for Acr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Acr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Kinds of evidence (NIST SP 800-63B §5.1): "two or more distinct factors" means two kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Knowledge,
    Possession,
    /// The PIN or biometric that unlocked a WebAuthn authenticator (user verification).
    Verification,
}

impl Method {
    /// RFC 8176 values this method proves, in the order the claim lists them.
    fn amr(self) -> &'static [AmrValue] {
        use AmrValue::*;
        match self {
            Method::Password => &[Pwd],
            // A recovery code is a one-time password too (RFC 8176 `otp`).
            Method::Totp | Method::RecoveryCode | Method::EmailCode => &[Otp],
            Method::Sms => &[Sms, Otp],
            Method::WebAuthn {
                platform: false,
                user_verified: false,
            } => &[Hwk],
            Method::WebAuthn {
                platform: false,
                user_verified: true,
            } => &[Hwk, User],
            Method::WebAuthn {
                platform: true,
                user_verified: false,
            } => &[Swk],
            Method::WebAuthn {
                platform: true,
                user_verified: true,
            } => &[Swk, User],
        }
    }

    fn kinds(self) -> &'static [Kind] {
        match self {
            Method::Password => &[Kind::Knowledge],
            Method::WebAuthn {
                user_verified: true,
                ..
            } => &[Kind::Possession, Kind::Verification],
            _ => &[Kind::Possession],
        }
    }

    fn is_webauthn(self) -> bool {
        matches!(self, Method::WebAuthn { .. })
    }
}

/// What the user proved in one SSO session (or one interaction), each method with when.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proven {
    #[serde(default)]
    pub methods: Vec<(Method, i64)>,
    /// A trusted-device cookie stood in for the second factor: no method is added (`amr` lists
    /// only what was verified), but `acr` may say `mfa` where the client's trust policy allows.
    #[serde(default)]
    pub device_vouched: bool,
}

impl Proven {
    pub fn password(at: i64) -> Proven {
        let mut p = Proven::default();
        p.add(Method::Password, at);
        p
    }

    /// Records `method` at `at`; proving a method again only moves its time forward.
    pub fn add(&mut self, method: Method, at: i64) {
        match self.methods.iter_mut().find(|(m, _)| *m == method) {
            Some((_, t)) => *t = (*t).max(at),
            None => self.methods.push((method, at)),
        }
    }

    /// Everything `other` proved too (its methods in order, its device vouch).
    pub fn merge(&mut self, other: &Proven) {
        for (m, t) in &other.methods {
            self.add(*m, *t);
        }
        self.device_vouched |= other.device_vouched;
    }

    /// A security key or passkey is among the methods (the `phr` evidence).
    pub fn has_webauthn(&self) -> bool {
        self.methods.iter().any(|(m, _)| m.is_webauthn())
    }

    pub fn has(&self, method: Method) -> bool {
        self.methods.iter().any(|(m, _)| *m == method)
    }

    /// Two or more distinct kinds of factor were verified (DESIGN.md §6: then `mfa`).
    pub fn is_multi_factor(&self) -> bool {
        let mut kinds: Vec<Kind> = Vec::new();
        for k in self.methods.iter().flat_map(|(m, _)| m.kinds()) {
            if !kinds.contains(k) {
                kinds.push(*k);
            }
        }
        kinds.len() >= 2
    }

    /// When the second factor was last verified, if the methods add up to MFA (the session's
    /// `mfa_time`, which `max_age` and the account pages' re-authentication read).
    pub fn mfa_time(&self) -> Option<i64> {
        if !self.is_multi_factor() {
            return None;
        }
        self.methods
            .iter()
            .filter(|(m, _)| *m != Method::Password)
            .map(|(_, t)| *t)
            .max()
    }

    /// When the last method was verified: the moment the authentication completed (OIDC Core
    /// §2 `auth_time`), which `max_age` is checked against. A second factor that took a minute
    /// moves it past the password's time.
    pub fn completed_at(&self) -> Option<i64> {
        self.methods.iter().map(|(_, t)| *t).max()
    }

    /// The first factor alone: what a session keeps when its second factor is taken away.
    pub fn first_factor_only(&self) -> Proven {
        Proven {
            methods: self
                .methods
                .iter()
                .copied()
                .filter(|(m, _)| *m == Method::Password)
                .collect(),
            device_vouched: false,
        }
    }

    /// Reads back what a stored `amr` list (RFC 8176 values: the SSO session's and the login
    /// transaction's representation today) says was proven: the password at `auth_time`, the
    /// rest at `mfa_time` (or `auth_time`). A stored `otp` does not say which one-time code it
    /// was; it reads as [`Method::Totp`], which yields the same claims as the others.
    pub fn from_amr(amr: &[String], auth_time: i64, mfa_time: Option<i64>) -> Proven {
        let has = |v: AmrValue| amr.iter().any(|x| AmrValue::parse(x) == Some(v));
        let second = mfa_time.unwrap_or(auth_time);
        let mut p = Proven::default();
        if has(AmrValue::Pwd) {
            p.add(Method::Password, auth_time);
        }
        if has(AmrValue::Sms) {
            p.add(Method::Sms, second);
        } else if has(AmrValue::Otp) {
            p.add(Method::Totp, second);
        }
        for (value, platform) in [(AmrValue::Hwk, false), (AmrValue::Swk, true)] {
            if has(value) {
                let user_verified = has(AmrValue::User);
                p.add(
                    Method::WebAuthn {
                        platform,
                        user_verified,
                    },
                    second,
                );
            }
        }
        p
    }
}

/// DESIGN.md §6: `amr` lists exactly the methods verified (RFC 8176 values, `mfa` added when two
/// or more distinct factors were); `acr` is `phr` when the second factor was WebAuthn, `mfa`
/// when any second factor was verified or a trusted device vouches for one and the client's
/// trust policy accepts that, else `pwd`.
pub fn claims(proven: &Proven, trust: TrustPolicy) -> (Vec<AmrValue>, Acr) {
    let mut amr: Vec<AmrValue> = Vec::new();
    for v in proven.methods.iter().flat_map(|(m, _)| m.amr()) {
        if !amr.contains(v) {
            amr.push(*v);
        }
    }
    let multi = proven.is_multi_factor();
    if multi {
        amr.push(AmrValue::Mfa);
    }
    let acr = if multi && proven.methods.iter().any(|(m, _)| m.is_webauthn()) {
        Acr::Phr
    } else if multi || (proven.device_vouched && trust == TrustPolicy::Any) {
        Acr::Mfa
    } else {
        Acr::Pwd
    };
    (amr, acr)
}

/// The `amr` values as the strings stored with sessions and codes and put in tokens.
pub fn amr_strings(amr: &[AmrValue]) -> Vec<String> {
    amr.iter().map(|v| v.as_str().to_owned()).collect()
}

#[cfg(test)]
mod tests;
