use super::*;

#[test]
fn debug_shows_neither_code_nor_number_nor_body() {
    let k = SmsKind::SignInCode {
        code: "042917".into(),
        minutes: 10,
    };
    assert!(!format!("{k:?}").contains("042917"));
    let m = SmsMessage::new(
        "acme",
        "+447700900123",
        k.name(),
        "042917 is your code".into(),
    );
    let shown = format!("{m:?}");
    assert!(!shown.contains("7700900123"), "{shown}");
    assert!(!shown.contains("042917"), "{shown}");
    assert!(shown.contains("+44"), "{shown}");
}

#[test]
fn e164_is_plus_and_7_to_15_digits() {
    for ok in ["+447700900123", "+15005550006", "+6834002"] {
        assert!(is_e164(ok), "{ok}");
    }
    for bad in [
        "447700900123",
        "+4477009001234567",
        "+123456",
        "+0447700900",
        "+44 7700 900123",
        "",
    ] {
        assert!(!is_e164(bad), "{bad}");
    }
}

#[test]
fn scrub_blanks_numbers_and_keeps_codes() {
    assert_eq!(
        scrub("The 'To' number +15005550001 is not a valid phone number."),
        "The 'To' number [number] is not a valid phone number."
    );
    assert_eq!(
        scrub("number +1 (500) 555-0001, code 21211"),
        "number [number], code 21211"
    );
    assert_eq!(scrub("  HTTP 503 \n"), "HTTP 503");
    let long = "x".repeat(500);
    assert_eq!(scrub(&long).chars().count(), 201);
}

#[test]
fn errors_read_as_one_line_with_status_and_code() {
    let e = SmsError::Rejected {
        status: 400,
        code: Some("21211".into()),
        message: "invalid".into(),
    };
    assert_eq!(
        e.to_string(),
        "the SMS gateway refused the message (HTTP 400, code 21211): invalid"
    );
    let e = SmsError::Unavailable {
        status: None,
        message: "no answer within the timeout".into(),
    };
    assert_eq!(
        e.to_string(),
        "the SMS gateway is unavailable (no answer): no answer within the timeout"
    );
}
