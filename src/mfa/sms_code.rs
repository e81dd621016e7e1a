//! The texted one-time code as a second factor (help pages 001, 004): "Text message (SMS)" →
//! (the enrolment proof, when the tenant asks for it) → a mobile number → "Send code" → the
//! 6-digit code → "Enable". At sign-in a code goes to the factor's number: the same codes and
//! limits as the email factor ([`crate::otp`], purposes `sms_setup` and `sms_sign_in`) plus the
//! texts' own caps and the tenant's country allow-list (`otp::sms`). `amr`
//! `["pwd","sms","otp","mfa"]`, `acr` `mfa` (DESIGN.md §6).
//!
//! A text proves nothing of the mailbox, so a first SMS factor always waits for the enrolment
//! proof; a bound factor marks its number verified on the user (`users::mark_phone_verified`).

use super::factor::{Confirmation, Confirmed, Description, Factor, Pending, Prompt, label_or};
use super::proven::Method;
use super::{MfaDeps, sent_code};
use crate::model::MfaMethod;
use crate::otp::{Checked, Purpose};
use crate::phone;
use crate::store::StoreResult;
use crate::store::factors::Factor as StoredFactor;
use crate::store::users::User;

pub struct SmsCode;

impl Factor for SmsCode {
    const KIND: MfaMethod = MfaMethod::Sms;
    const SIGN_IN: Option<Purpose> = Some(Purpose::SmsSignIn);
    const PROVES: Method = Method::Sms;

    fn describe() -> Description {
        Description {
            kind: MfaMethod::Sms,
            name: "Text message (SMS)",
            hint: "Get a one-time use code by text message each time you sign in.",
        }
    }

    fn prompt(factor: &StoredFactor) -> Prompt {
        Prompt {
            text: "We sent a code to {address}",
            address: phone::mask(factor.target.as_deref().unwrap_or_default()),
        }
    }

    fn begin(_deps: &MfaDeps<'_>) -> Option<Pending> {
        Some(Pending::Sms {
            number: None,
            replaces: None,
        })
    }

    async fn confirm(
        deps: &MfaDeps<'_>,
        user: &User,
        pending: &Pending,
        label: &str,
        code: &str,
    ) -> StoreResult<Confirmation> {
        let Pending::Sms {
            number: Some(number),
            replaces,
        } = pending
        else {
            return Ok(Confirmation::Refused(Checked::Expired));
        };
        let label = label_or(label, &phone::mask(number));
        let confirmed = Confirmed {
            replaces: replaces.clone(),
            ..Confirmed::sent_to(MfaMethod::Sms, label, number, false)
        };
        sent_code::confirm_setup(deps, Purpose::SmsSetup, user, code, confirmed).await
    }
}
