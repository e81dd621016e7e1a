//! The [`Factor`] trait: what every kind of second factor does, so the sign-in challenge, the
//! sign-in enrolment and the account pages each handle "a factor" once instead of one copy per
//! kind. One file per factor implements it (`totp`, `email_code`, `sms_code`, `webauthn`), and
//! [`with_factor!`] is the one place a kind is mapped to its implementation.
//!
//! A factor's enrolment is a [`Pending`] value (sealed, so it can wait in the login transaction
//! or the account form alike) confirmed by the user's first code into a [`Confirmed`] factor,
//! which `service::bind_factor` stores. Recovery codes are not a factor a user enrols
//! (`recovery`), trusted devices vouch for one (`devices`).

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::MfaDeps;
use super::proven::Method;
use crate::model::MfaMethod;
use crate::otp::{Checked, OtpError, Purpose, Sent};
use crate::store::StoreResult;
use crate::store::factors::{Factor as StoredFactor, NewFactor};
use crate::store::tenants::Tenant;
use crate::store::users::User;

/// The words above the code field at sign-in.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Prompt {
    pub text: &'static str,
    pub address: String,
}

/// How a factor is named and explained on "Add two-factor" and in lists.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Description {
    pub kind: MfaMethod,
    /// "Authenticator app", "Email".
    pub name: &'static str,
    /// One line on "Add two-factor".
    pub hint: &'static str,
}

/// An enrolment waiting for the user's first code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pending {
    /// A fresh seed (sealed under the server secret) shown as a QR code and a key.
    Totp { seed: String },
    /// The address a code went to; `None` until the user asked for one.
    Email { address: Option<String> },
    /// The number (E.164) a code went to by text; `None` until the user asked for one.
    /// `replaces`: "Change number" — the user's SMS factor this one takes the place of, removed
    /// in the transaction that binds the new one (so the new number is verified first).
    Sms {
        number: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaces: Option<String>,
    },
    /// A security key or passkey: the ceremony this enrolment's page runs (its state waits in
    /// the database under this id, `mfa::webauthn`).
    Webauthn { ceremony: String },
}

impl Pending {
    pub fn kind(&self) -> MfaMethod {
        match self {
            Pending::Totp { .. } => MfaMethod::Totp,
            Pending::Email { .. } => MfaMethod::Email,
            Pending::Sms { .. } => MfaMethod::Sms,
            Pending::Webauthn { .. } => MfaMethod::Webauthn,
        }
    }

    /// Whether its set-up code is sent (email, SMS): "Send" applies to it.
    pub fn sends_codes(&self) -> bool {
        matches!(self, Pending::Email { .. } | Pending::Sms { .. })
    }

    /// Where the set-up code went, for a factor whose codes are sent (`None`: an app's, or
    /// none sent yet).
    pub fn sent_to(&self) -> Option<&String> {
        match self {
            Pending::Totp { .. } | Pending::Webauthn { .. } => None,
            Pending::Email { address } => address.as_ref(),
            Pending::Sms { number, .. } => number.as_ref(),
        }
    }

    /// The same enrolment with its code sent to `to` (or, `None`, to nowhere yet).
    #[must_use]
    pub fn with_sent_to(&self, to: Option<String>) -> Pending {
        match self {
            Pending::Totp { .. } | Pending::Webauthn { .. } => self.clone(),
            Pending::Email { .. } => Pending::Email { address: to },
            Pending::Sms { replaces, .. } => Pending::Sms {
                number: to,
                replaces: replaces.clone(),
            },
        }
    }
}

/// A factor whose possession was just checked, ready to be bound (it may wait in the
/// transaction while the mailbox is proven).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmed {
    pub kind: MfaMethod,
    pub label: String,
    pub secret_sealed: Option<String>,
    pub last_step: Option<i64>,
    pub target: Option<String>,
    /// A WebAuthn credential (JSON, `mfa::webauthn::StoredCredential`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// The code went to the account's own address: reading it proved that mailbox, which is
    /// the enrolment proof.
    pub proves_mailbox: bool,
    /// The user's factor this one replaces ("Change number"), removed when it is bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

impl Confirmed {
    /// A factor whose codes are sent to `address` (email, SMS), named `label`.
    pub fn sent_to(kind: MfaMethod, label: String, address: &str, proves_mailbox: bool) -> Self {
        Confirmed {
            kind,
            label,
            secret_sealed: None,
            last_step: None,
            target: Some(address.to_owned()),
            credential: None,
            proves_mailbox,
            replaces: None,
        }
    }

    pub fn new_factor<'a>(&'a self, tenant: &'a Tenant, user: &'a User, now: i64) -> NewFactor<'a> {
        NewFactor {
            tenant_id: &tenant.id,
            user_id: &user.id,
            kind: self.kind,
            label: &self.label,
            secret_sealed: self.secret_sealed.as_deref(),
            last_step: self.last_step,
            target: self.target.as_deref(),
            credential: self.credential.as_deref(),
            now,
        }
    }
}

/// The outcome of a first code on a pending enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    Confirmed(Confirmed),
    /// The code did not confirm it (for codes that were sent: why, see [`Checked`]).
    Refused(Checked),
}

/// Where a challenge's code goes: the tenant, the user, and the transaction or session it is for.
#[derive(Clone, Copy)]
pub struct ChallengeTo<'a> {
    pub tenant: &'a Tenant,
    pub user: &'a User,
    pub factor: &'a StoredFactor,
    pub scope: &'a str,
    /// The client's network, for the per-IP cap on texts.
    pub ip: Option<&'a str>,
}

/// One kind of second factor. Implementations are unit types; callers go through the
/// functions below, which pick the implementation for a [`MfaMethod`].
pub trait Factor {
    const KIND: MfaMethod;
    /// What a verified code of this factor proves (for `amr`/`acr`, `proven::claims`).
    const PROVES: Method;

    fn describe() -> Description;

    /// The words above the code field at sign-in for one enrolled factor: a text to translate,
    /// and what its `{address}` placeholder stands for (masked).
    fn prompt(factor: &StoredFactor) -> Prompt;

    /// A new enrolment for this user.
    fn begin(deps: &MfaDeps<'_>) -> Option<Pending>;

    /// Checks the first code of a pending enrolment.
    fn confirm(
        deps: &MfaDeps<'_>,
        user: &User,
        pending: &Pending,
        label: &str,
        code: &str,
    ) -> impl Future<Output = StoreResult<Confirmation>> + Send;

    /// The purpose of this factor's sign-in codes when they are *sent* (email, SMS): the
    /// default [`Self::challenge`] and [`Self::verify`] then send and check them through
    /// `sent_code`, the same for every such factor. `None`: the factor overrides both.
    const SIGN_IN: Option<Purpose> = None;

    /// Makes a sign-in challenge answerable: sends a code unless a live one stands (`resend`: a
    /// fresh one, within the throttles). Nothing to do for an authenticator app (`Ok(None)`).
    fn challenge(
        deps: &MfaDeps<'_>,
        to: ChallengeTo<'_>,
        resend: bool,
    ) -> impl Future<Output = Result<Option<Sent>, OtpError>> + Send {
        async move {
            match Self::SIGN_IN {
                Some(purpose) => super::sent_code::challenge(deps, purpose, to, resend).await,
                None => Ok(None),
            }
        }
    }

    /// Checks a sign-in code against the user's factors of this kind; the factor it matched.
    /// Only through `attempts::check`, which reserves the attempt first.
    fn verify(
        deps: &MfaDeps<'_>,
        user: &User,
        code: &str,
    ) -> impl Future<Output = StoreResult<Option<StoredFactor>>> + Send {
        async move {
            match Self::SIGN_IN {
                Some(purpose) => {
                    super::sent_code::verify(deps, purpose, Self::KIND, user, code).await
                }
                None => Ok(None),
            }
        }
    }
}

/// Runs `$body` with `$F` naming the implementation of `$kind`, or `$other` for a kind this
/// build cannot verify. The one mapping from a kind to its code: a new factor adds an arm.
macro_rules! with_factor {
    ($kind:expr, $F:ident => $body:expr, else $other:expr) => {
        match $kind {
            $crate::model::MfaMethod::Totp => {
                type $F = $crate::mfa::totp::AuthenticatorApp;
                $body
            }
            $crate::model::MfaMethod::Email => {
                type $F = $crate::mfa::email_code::EmailCode;
                $body
            }
            $crate::model::MfaMethod::Sms => {
                type $F = $crate::mfa::sms_code::SmsCode;
                $body
            }
            $crate::model::MfaMethod::Webauthn => {
                type $F = $crate::mfa::webauthn::SecurityKey;
                $body
            }
            #[allow(unreachable_patterns)]
            _ => $other,
        }
    };
}

/// Kinds this build can enrol and verify, in the order "Add two-factor" lists them.
pub const IMPLEMENTED: &[MfaMethod] = &[
    MfaMethod::Totp,
    MfaMethod::Email,
    MfaMethod::Sms,
    MfaMethod::Webauthn,
];

pub fn describe(kind: MfaMethod) -> Option<Description> {
    with_factor!(kind, F => Some(F::describe()), else None)
}

pub fn proves(kind: MfaMethod) -> Option<Method> {
    with_factor!(kind, F => Some(F::PROVES), else None)
}

pub fn prompt(factor: &StoredFactor) -> Prompt {
    with_factor!(factor.kind, F => F::prompt(factor), else Prompt::default())
}

pub fn begin(deps: &MfaDeps<'_>, kind: MfaMethod) -> Option<Pending> {
    with_factor!(kind, F => F::begin(deps), else None)
}

pub async fn confirm(
    deps: &MfaDeps<'_>,
    user: &User,
    pending: &Pending,
    label: &str,
    code: &str,
) -> StoreResult<Confirmation> {
    with_factor!(pending.kind(), F => F::confirm(deps, user, pending, label, code).await,
        else Ok(Confirmation::Refused(Checked::Expired)))
}

pub async fn challenge(
    deps: &MfaDeps<'_>,
    to: ChallengeTo<'_>,
    resend: bool,
) -> Result<Option<Sent>, OtpError> {
    with_factor!(to.factor.kind, F => F::challenge(deps, to, resend).await, else Ok(None))
}

/// See [`Factor::verify`]; `pub(super)`: only `attempts::check` may call it.
pub(super) async fn verify(
    deps: &MfaDeps<'_>,
    kind: MfaMethod,
    user: &User,
    code: &str,
) -> StoreResult<Option<StoredFactor>> {
    with_factor!(kind, F => F::verify(deps, user, code).await, else Ok(None))
}

/// A factor's name as typed: trimmed, at most 64 characters; `fallback` when empty.
pub fn label_or(label: &str, fallback: &str) -> String {
    let label: String = label.trim().chars().take(64).collect();
    if label.is_empty() {
        fallback.to_owned()
    } else {
        label
    }
}
