//! Authenticator apps (RFC 6238 TOTP via totp-rs): SHA-1, 6 digits, 30 s steps, ±1 step of skew.
//! A code is accepted once: the matched step is stored and any step not newer is refused
//! (RFC 6238 §5.2). The pure code functions come first, then the factor's services: a pending
//! seed (sealed, so it can wait in the transaction or the account form), the enrolment screen,
//! the bind, and the check of a signed-in user's code.

use crate::ids::UserId;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::MfaDeps;
use super::factor::{self, ChallengeTo, Confirmation, Confirmed, Description, Pending, Prompt};
use super::proven::Method;
use super::service::{self, Enrolment};
use crate::crypto::seal;
use crate::crypto::secret::ServerSecret;
use crate::model::MfaMethod;
use crate::otp::{Checked, OtpError, Sent};
use crate::store::StoreResult;
use crate::store::factors::{self, Factor, NewFactor};
use crate::store::tenants::Tenant;
use crate::store::users::User;

const SEAL_TOTP: &str = "totp-seed";

pub const DIGITS: u8 = 6;
pub const STEP: u64 = 30;

/// 160 random bits, as RFC 4226 §4 recommends.
pub fn new_secret() -> Vec<u8> {
    let mut b = vec![0u8; 20];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
    b
}

/// `:` separates issuer and account in `otpauth://` labels, so it cannot appear in either.
fn label(s: &str) -> String {
    s.replace(':', " ").trim().to_owned()
}

pub fn totp(secret: &[u8], issuer: &str, account: &str) -> Option<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(1)
        .with_step_duration(STEP)
        .with_secret(secret.to_vec())
        .with_issuer(Some(label(issuer)))
        .with_account_name(label(account))
        .build()
        .ok()
}

/// Checks `code` at `now`; returns the matched step only when it is newer than `last_step`.
pub fn verify(secret: &[u8], code: &str, last_step: Option<i64>, now: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret, "x", "x")?;
    let step = t.check(&code, u64::try_from(now).ok()?)? as i64;
    match last_step {
        Some(last) if step <= last => None,
        _ => Some(step),
    }
}

/// The current code (tests and the "explain" tooling use it; the server never shows it).
pub fn code_at(secret: &[u8], now: i64) -> String {
    totp(secret, "x", "x")
        .map(|t| t.generate(now as u64).to_string())
        .unwrap_or_default()
}

/// The base32 key grouped in fours for reading aloud or typing: `ABCD EFGH ...`.
pub fn grouped_key(secret: &[u8]) -> String {
    let b32 = Secret::from(secret.to_vec()).to_base32();
    b32.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `otpauth://totp/...` URI and its QR code as a base64 PNG (rendered on the server).
pub fn provisioning(secret: &[u8], issuer: &str, account: &str) -> Option<(String, String)> {
    let t = totp(secret, issuer, account)?;
    Some((t.to_url().ok()?, t.to_qr_base64().ok()?))
}

pub fn parse_key(grouped: &str) -> Option<Vec<u8>> {
    let compact: String = grouped.chars().filter(|c| !c.is_whitespace()).collect();
    Secret::try_from_base32(compact)
        .ok()
        .map(|s| s.as_ref().to_vec())
}

// ---- the factor's services ------------------------------------------------------------------

/// A fresh seed for enrolment, sealed so it can wait in the transaction or the account form.
pub fn new_pending(secret: &ServerSecret) -> Option<String> {
    seal::seal(secret, SEAL_TOTP, &new_secret()).ok()
}

pub fn open_seed(secret: &ServerSecret, sealed: &str) -> Option<Vec<u8>> {
    seal::open(secret, SEAL_TOTP, sealed).ok()
}

/// The seed sealed again under the current server secret; `None` when no accepted secret opens
/// it. Already current: `Some(None)`.
pub fn reseal_seed(secret: &ServerSecret, sealed: &str) -> Option<Option<String>> {
    if !seal::is_stale(secret, sealed) {
        return Some(None);
    }
    let seed = open_seed(secret, sealed)?;
    Some(Some(seal::seal(secret, SEAL_TOTP, &seed).ok()?))
}

/// The enrolment screen's material: grouped key, otpauth URI and QR code (base64 PNG).
pub struct Provisioning {
    pub key: String,
    pub uri: String,
    pub qr_png_base64: String,
}

/// The screen for a pending (sealed) seed, labelled with the tenant's name and the user's email.
pub fn pending_provisioning(
    secret: &ServerSecret,
    sealed: &str,
    tenant: &Tenant,
    user: &User,
) -> Option<Provisioning> {
    let seed = open_seed(secret, sealed)?;
    let (uri, qr) = provisioning(&seed, &tenant.name, &user.email)?;
    Some(Provisioning {
        key: grouped_key(&seed),
        uri,
        qr_png_base64: qr,
    })
}

/// Checks the first code of a pending enrolment; the matched step, when it is right.
pub fn check_pending(secret: &ServerSecret, sealed: &str, code: &str, now: i64) -> Option<i64> {
    let seed = open_seed(secret, sealed)?;
    verify(&seed, code, None, now)
}

/// Confirms a pending enrolment with the user's first code and binds it ([`bind`]); `None`
/// when the code is wrong.
pub async fn confirm(
    deps: &MfaDeps<'_>,
    e: &Enrolment<'_>,
    sealed: &str,
    label: &str,
    code: &str,
) -> StoreResult<Option<(Factor, Option<Vec<String>>)>> {
    let Some(step) = check_pending(deps.secret, sealed, code, deps.now) else {
        return Ok(None);
    };
    bind(deps, e, sealed, label, step).await.map(Some)
}

/// Stores an authenticator app whose first code (at `step`) was already checked, named
/// `label` ("Authenticator app" when empty); see [`service::bind_factor`].
pub async fn bind(
    deps: &MfaDeps<'_>,
    e: &Enrolment<'_>,
    sealed: &str,
    label: &str,
    step: i64,
) -> StoreResult<(Factor, Option<Vec<String>>)> {
    let label = service::clean_label(label);
    let label = if label.is_empty() {
        service::kind_label(MfaMethod::Totp)
    } else {
        &label
    };
    let new = NewFactor {
        tenant_id: &e.tenant.id,
        user_id: &e.user.id,
        kind: MfaMethod::Totp,
        label,
        secret_sealed: Some(sealed),
        last_step: Some(step),
        target: None,
        credential: None,
        now: deps.now,
    };
    service::bind_factor(deps, e, new, None).await
}

/// The authenticator app as a [`factor::Factor`].
pub struct AuthenticatorApp;

impl factor::Factor for AuthenticatorApp {
    const KIND: MfaMethod = MfaMethod::Totp;
    const PROVES: Method = Method::Totp;

    fn describe() -> Description {
        Description {
            kind: MfaMethod::Totp,
            name: "Authenticator app",
            hint: "Use an app such as Google Authenticator, Microsoft Authenticator or Authy to get codes.",
        }
    }

    fn prompt(_factor: &Factor) -> Prompt {
        Prompt {
            text: "Enter the code from your authenticator app",
            address: String::new(),
        }
    }

    fn begin(deps: &MfaDeps<'_>) -> Option<Pending> {
        new_pending(deps.secret).map(|seed| Pending::Totp { seed })
    }

    async fn confirm(
        deps: &MfaDeps<'_>,
        _user: &User,
        pending: &Pending,
        label: &str,
        code: &str,
    ) -> StoreResult<Confirmation> {
        // No attempt limit here, unlike the challenge: the seed being confirmed is shown to
        // whoever may post this form, so there is nothing to guess.
        let Pending::Totp { seed } = pending else {
            return Ok(Confirmation::Refused(Checked::Expired));
        };
        Ok(match check_pending(deps.secret, seed, code, deps.now) {
            Some(step) => Confirmation::Confirmed(Confirmed {
                kind: MfaMethod::Totp,
                label: factor::label_or(label, service::kind_label(MfaMethod::Totp)),
                secret_sealed: Some(seed.clone()),
                last_step: Some(step),
                target: None,
                credential: None,
                proves_mailbox: false,
                replaces: None,
            }),
            None => Confirmation::Refused(Checked::Wrong { remaining: 1 }),
        })
    }

    async fn challenge(
        _deps: &MfaDeps<'_>,
        _to: ChallengeTo<'_>,
        _resend: bool,
    ) -> Result<Option<Sent>, OtpError> {
        Ok(None)
    }

    async fn verify(deps: &MfaDeps<'_>, user: &User, code: &str) -> StoreResult<Option<Factor>> {
        verify_for_user(deps, &user.id, code).await
    }
}

/// Checks a code against the user's authenticator apps (each code once). Only through
/// [`super::attempts::check`], which reserves the attempt first.
async fn verify_for_user(
    deps: &MfaDeps<'_>,
    user_id: &UserId,
    code: &str,
) -> StoreResult<Option<Factor>> {
    for f in factors::list_for_user(deps.db, user_id).await? {
        if f.kind != MfaMethod::Totp {
            continue;
        }
        let Some(seed) = f
            .secret_sealed
            .as_deref()
            .and_then(|s| open_seed(deps.secret, s))
        else {
            continue;
        };
        if let Some(step) = verify(&seed, code, f.last_step, deps.now)
            && factors::accept_step(deps.db, &f.id, step, deps.now).await?
        {
            return Ok(Some(f));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vector() {
        // RFC 6238 appendix B: secret "12345678901234567890", T = 59 → 94287082 (8 digits);
        // the 6-digit code is its last six digits.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59), "287082");
        assert_eq!(verify(secret, "287082", None, 59), Some(1));
    }

    #[test]
    fn skew_and_replay() {
        let s = new_secret();
        let now = 1_700_000_000;
        let code = code_at(&s, now);
        let step = verify(&s, &code, None, now).unwrap();
        assert_eq!(verify(&s, &code, Some(step), now), None, "replay refused");
        assert!(
            verify(&s, &code_at(&s, now - 30), None, now).is_some(),
            "one step back"
        );
        assert!(
            verify(&s, &code_at(&s, now - 90), None, now).is_none(),
            "three steps back"
        );
        assert!(verify(&s, "12345", None, now).is_none());
        assert!(verify(&s, "abcdef", None, now).is_none());
    }

    #[test]
    fn key_is_grouped_and_parses_back() {
        let s = new_secret();
        let g = grouped_key(&s);
        assert_eq!(g.split(' ').next().unwrap().len(), 4);
        assert_eq!(parse_key(&g).unwrap(), s);
        let (url, png) = provisioning(&s, "Acme: Corp", "alice@example.com").unwrap();
        assert!(
            url.starts_with("otpauth://totp/Acme%20%20Corp:alice%40example.com?")
                || url.starts_with("otpauth://totp/"),
            "{url}"
        );
        assert!(url.contains("issuer=Acme"));
        assert!(!png.is_empty());
    }
}
