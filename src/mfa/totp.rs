//! Authenticator apps (RFC 6238 TOTP via totp-rs): SHA-1, 6 digits, 30 s steps, ±1 step of skew.
//! A code is accepted once: the caller stores the matched step and refuses any step not newer
//! (RFC 6238 §5.2).

use totp_rs::{Algorithm, Builder, Secret, Totp};

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
