//! The emailed one-time code as a second factor (help page 000): "Email" → the address (the
//! account's by default; another one is confirmed by the code sent to it) → "Send a one-time use
//! code" → "Verification code" → "Enable". At sign-in a code goes to the factor's address:
//! six digits, `[otp] code_ttl_secs`, single use, hashed, every limit of [`crate::otp`] (its
//! own purposes, `email_setup` and `email_sign_in`) beside the second-factor limits of
//! `attempts::check`. `amr` `["pwd","otp","mfa"]`, `acr` `mfa` (DESIGN.md §6).

use super::MfaDeps;
use super::factor::{
    ChallengeTo, Confirmation, Confirmed, Description, Factor, Pending, Prompt, label_or,
};
use super::proven::Method;
use crate::model::MfaMethod;
use crate::otp::{Checked, Codes, OtpError, Purpose, Recipient, Sent, mask_email};
use crate::store::factors::{self, Factor as StoredFactor};
use crate::store::tenants::Tenant;
use crate::store::users::User;
use crate::store::{StoreResult, otp};

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

fn same_address(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Mails a set-up code to `address` for this user (the account page's session or the sign-in's
/// transaction is `scope`), within the `[otp]` throttles.
pub async fn send_setup_code(
    deps: &MfaDeps<'_>,
    tenant: &Tenant,
    user: &User,
    address: &str,
    scope: &str,
) -> Result<Sent, OtpError> {
    Codes::of(deps)
        .send(
            Purpose::EmailSetup,
            Recipient {
                tenant,
                user,
                address,
                scope,
            },
            deps.now,
        )
        .await
}

impl Factor for EmailCode {
    const KIND: MfaMethod = MfaMethod::Email;
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
        let checked = Codes::of(deps)
            .verify_sent_to(Purpose::EmailSetup, &user.id, Some(address), code, deps.now)
            .await?;
        if checked != Checked::Verified {
            return Ok(Confirmation::Refused(checked));
        }
        Ok(Confirmation::Confirmed(Confirmed {
            kind: MfaMethod::Email,
            label: label_or(label, address),
            secret_sealed: None,
            last_step: None,
            target: Some(address.clone()),
            proves_mailbox: same_address(address, &user.email),
        }))
    }

    async fn challenge(
        deps: &MfaDeps<'_>,
        to: ChallengeTo<'_>,
        resend: bool,
    ) -> Result<Option<Sent>, OtpError> {
        let address = to.factor.target.as_deref().unwrap_or_default();
        let codes = Codes::of(deps);
        let recipient = Recipient {
            tenant: to.tenant,
            user: to.user,
            address,
            scope: to.scope,
        };
        if resend {
            return codes
                .send(Purpose::EmailSignIn, recipient, deps.now)
                .await
                .map(Some);
        }
        codes
            .ensure_sent(Purpose::EmailSignIn, recipient, deps.now)
            .await
    }

    async fn verify(
        deps: &MfaDeps<'_>,
        user: &User,
        code: &str,
    ) -> StoreResult<Option<StoredFactor>> {
        // The live code names the address it went to, hence the factor it answers for.
        let Some(live) =
            otp::current(deps.db, &user.id, Purpose::EmailSignIn.as_str(), deps.now).await?
        else {
            return Ok(None);
        };
        let checked = Codes::of(deps)
            .verify_sent_to(
                Purpose::EmailSignIn,
                &user.id,
                Some(&live.target),
                code,
                deps.now,
            )
            .await?;
        if checked != Checked::Verified {
            return Ok(None);
        }
        let factor = factors::list_for_user(deps.db, &user.id)
            .await?
            .into_iter()
            .find(|f| {
                f.kind == MfaMethod::Email
                    && f.target
                        .as_deref()
                        .is_some_and(|t| same_address(t, &live.target))
            });
        if let Some(f) = &factor {
            factors::touch(deps.db, &f.id, deps.now).await?;
        }
        Ok(factor)
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
