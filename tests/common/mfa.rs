//! MFA helpers: read the key from the enrolment page as a user would type it, compute codes.
#![allow(dead_code)]

use gatehouse::mfa::totp;

/// The secret behind the bold, grouped key on the enrolment page.
pub fn key_from_page(html: &str) -> Vec<u8> {
    let start =
        html.find(r#"id="totp-key">"#).expect("key on the page") + r#"id="totp-key">"#.len();
    let end = html[start..].find("</strong>").unwrap() + start;
    totp::parse_key(&html[start..end]).expect("base32 key")
}

/// The code for `now + offset_steps × 30 s`.
pub fn code(secret: &[u8], offset_steps: i64) -> String {
    totp::code_at(secret, gatehouse::model::now() + offset_steps * 30)
}

/// Recovery codes listed on the recovery-codes page.
pub fn recovery_codes_from_page(html: &str) -> Vec<String> {
    html.split("<li><code>")
        .skip(1)
        .map(|s| s[..s.find("</code>").unwrap()].to_owned())
        .collect()
}
