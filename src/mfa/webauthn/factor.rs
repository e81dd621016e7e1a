//! [`SecurityKey`]: WebAuthn as one [`Factor`] beside the others, so the sign-in challenge, the
//! sign-in enrolment and the account pages handle it as they handle every factor.

use super::{CeremonyError, finish_assertion, finish_registration, new_ceremony_id};
use crate::mfa::MfaDeps;
use crate::mfa::factor::{self, Confirmation, Confirmed, Description, Factor, Pending, Prompt};
use crate::mfa::proven::Method;
use crate::model::MfaMethod;
use crate::otp::Checked;
use crate::store::factors::Factor as StoredFactor;
use crate::store::users::User;
use crate::store::{StoreError, StoreResult};

/// The WebAuthn factor: security keys and passkeys used after the password.
pub struct SecurityKey;

impl Factor for SecurityKey {
    const KIND: MfaMethod = MfaMethod::Webauthn;
    // The least an assertion proves; what one did prove is read from its credential (`proves`).
    const PROVES: Method = Method::WebAuthn {
        platform: false,
        user_verified: false,
    };

    fn describe() -> Description {
        Description {
            kind: MfaMethod::Webauthn,
            name: "Security key or passkey",
            hint: "Use a USB or NFC security key, or a passkey on this device or in your password manager.",
        }
    }

    fn prompt(_: &StoredFactor) -> Prompt {
        Prompt {
            text: "Use your security key or passkey",
            address: String::new(),
        }
    }

    fn begin(_: &MfaDeps<'_>) -> Option<Pending> {
        Some(Pending::Webauthn {
            ceremony: new_ceremony_id(),
        })
    }

    async fn confirm(
        deps: &MfaDeps<'_>,
        user: &User,
        pending: &Pending,
        label: &str,
        code: &str,
    ) -> StoreResult<Confirmation> {
        let Pending::Webauthn { ceremony } = pending else {
            return Ok(Confirmation::Refused(Checked::Expired));
        };
        match finish_registration(deps, user, ceremony, code).await {
            Ok((cred_id, stored)) => {
                let fallback = stored.kind_name();
                Ok(Confirmation::Confirmed(Confirmed {
                    kind: MfaMethod::Webauthn,
                    label: factor::label_or(label, fallback),
                    secret_sealed: None,
                    last_step: None,
                    target: Some(cred_id),
                    credential: Some(
                        serde_json::to_string(&stored).map_err(|e| {
                            StoreError::Corrupt(format!("webauthn credential: {e}"))
                        })?,
                    ),
                    proves_mailbox: false,
                    replaces: None,
                }))
            }
            Err(CeremonyError::Store(e)) => Err(e),
            Err(CeremonyError::Expired) => Ok(Confirmation::Refused(Checked::Expired)),
            Err(e) => {
                tracing::info!(error = %e, "webauthn registration refused");
                Ok(Confirmation::Refused(Checked::Wrong { remaining: 1 }))
            }
        }
    }

    /// `code` is the page's answer, `{"ceremony", "credential"}`; only through
    /// `attempts::check`, like every factor's.
    async fn verify(
        deps: &MfaDeps<'_>,
        user: &User,
        code: &str,
    ) -> StoreResult<Option<StoredFactor>> {
        match finish_assertion(deps, &user.tenant_id, Some(user), code).await {
            Ok(a) => Ok(Some(a.factor)),
            Err(CeremonyError::Store(e)) => Err(e),
            Err(e) => {
                tracing::info!(error = %e, "webauthn assertion refused");
                Ok(None)
            }
        }
    }
}
