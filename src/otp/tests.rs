use super::*;
use crate::ids::UserId;

#[test]
fn codes_are_six_digits_and_vary() {
    let codes: Vec<String> = (0..50).map(|_| generate()).collect();
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 6 && c.chars().all(|d| d.is_ascii_digit()))
    );
    let distinct: std::collections::HashSet<_> = codes.iter().collect();
    assert!(distinct.len() > 40, "{codes:?}");
}

#[test]
fn typed_codes_lose_their_spaces() {
    assert_eq!(normalize(" 123 456 "), "123456");
    assert_eq!(normalize("123456"), "123456");
}

#[test]
fn addresses_are_masked() {
    assert_eq!(mask_email("alice@example.com"), "a•••@example.com");
    assert_eq!(mask_email("nobody"), "your email address");
}

#[test]
fn keys_name_purpose_user_and_scope() {
    assert_eq!(
        fail_key(Purpose::EnrollmentProof, &UserId::from("u1")),
        "otp:fail:enrollment_proof:u1"
    );
    assert_eq!(
        send_user_key(Purpose::EmailSignIn, &UserId::from("u1")),
        "otp:send:user:email_sign_in:u1"
    );
    assert_eq!(
        send_scope_key(Purpose::EnrollmentProof, "tx9"),
        "otp:send:tx:enrollment_proof:tx9"
    );
    assert_eq!(day_key(&UserId::from("u1")), "otp:mail:day:u1");
}
