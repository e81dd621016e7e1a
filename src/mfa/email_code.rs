//! The emailed one-time code as a second factor (help page 000): "Email" → the address (the
//! account's by default; another one is confirmed by the code sent to it) → "Send a one-time use
//! code" → "Verification code" → "Enable". At sign-in a code goes to the factor's address:
//! six digits, `[otp] code_ttl_secs`, single use, hashed, every limit of [`crate::otp`] (its
//! own purposes, `email_setup` and `email_sign_in`) beside the second-factor limits of
//! `attempts::check`. `amr` `["pwd","otp","mfa"]`, `acr` `mfa` (DESIGN.md §6).

use super::factor::{Confirmation, Confirmed, Description, Factor, Pending, Prompt, label_or};
use super::proven::Method;
use super::{MfaDeps, sent_code};
use crate::model::MfaMethod;
use crate::otp::{Checked, Purpose, mask_email};
use crate::store::StoreResult;
use crate::store::factors::Factor as StoredFactor;
use crate::store::users::User;

pub struct EmailCode;

/// An address as typed, trimmed and lower-cased in its domain; `None` when it cannot be one
/// (a code would never arrive, so nothing is sent).
pub fn parse_address(typed: &str) -> Option<String> {
    let a = typed.trim();
    let (local, domain) = a.rsplit_once('@')?;
    let ok = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && a.len() <= 254
        && !a
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
    ok.then(|| format!("{local}@{}", domain.to_ascii_lowercase()))
}

impl Factor for EmailCode {
    const KIND: MfaMethod = MfaMethod::Email;
    const SIGN_IN: Option<Purpose> = Some(Purpose::EmailSignIn);
    const PROVES: Method = Method::EmailCode;

    fn describe() -> Description {
        Description {
            kind: MfaMethod::Email,
            name: "Email",
            hint: "Get a one-time use code by email each time you sign in.",
        }
    }

    fn prompt(factor: &StoredFactor) -> Prompt {
        Prompt {
            text: "We sent a code to {address}",
            address: mask_email(factor.target.as_deref().unwrap_or_default()),
        }
    }

    fn begin(_deps: &MfaDeps<'_>) -> Option<Pending> {
        Some(Pending::Email { address: None })
    }

    async fn confirm(
        deps: &MfaDeps<'_>,
        user: &User,
        pending: &Pending,
        label: &str,
        code: &str,
    ) -> StoreResult<Confirmation> {
        let Pending::Email {
            address: Some(address),
        } = pending
        else {
            return Ok(Confirmation::Refused(Checked::Expired));
        };
        let proves_mailbox = address.eq_ignore_ascii_case(&user.email);
        let label = label_or(label, address);
        let confirmed = Confirmed::sent_to(MfaMethod::Email, label, address, proves_mailbox);
        sent_code::confirm_setup(deps, Purpose::EmailSetup, user, code, confirmed).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_before_anything_is_sent() {
        assert_eq!(
            parse_address("  Bob@Example.COM "),
            Some("Bob@example.com".into())
        );
        for bad in [
            "",
            "bob",
            "bob@",
            "@example.com",
            "bob@localhost",
            "a b@example.com",
            "bob@example.",
            "<bob@example.com>",
        ] {
            assert_eq!(parse_address(bad), None, "{bad}");
        }
    }
}
