//! The country calling code of an E.164 number, the only part of a number a log line carries
//! (enough to see which countries a pumping attack targets, not whose phone it was).
//!
//! ITU-T E.164 calling codes are prefix-free: `1` and `7` are the one-digit codes, the two-digit
//! codes are listed below, and every other number starts with a three-digit code. So no
//! numbering-plan library is needed for this (the SMS factor parses numbers with one).

/// The two-digit country calling codes (ITU-T E.164 assigned list).
const TWO_DIGIT: [u8; 44] = [
    20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56,
    57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
];

/// `+44` for `+447700900123`; `?` when `to` is not `+` followed by digits.
pub fn calling_code(to: &str) -> String {
    let Some(digits) = to.strip_prefix('+') else {
        return "?".into();
    };
    if digits.len() < 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return "?".into();
    }
    let two: u8 = digits[..2].parse().unwrap_or(0);
    let len = match digits.as_bytes()[0] {
        b'1' | b'7' => 1,
        _ if TWO_DIGIT.contains(&two) => 2,
        _ => 3,
    };
    format!("+{}", &digits[..len])
}

#[cfg(test)]
mod tests {
    use super::calling_code;

    #[test]
    fn one_two_and_three_digit_codes() {
        for (number, code) in [
            ("+15005550006", "+1"),
            ("+74951234567", "+7"),
            ("+447700900123", "+44"),
            ("+33612345678", "+33"),
            ("+4915112345678", "+49"),
            ("+8613812345678", "+86"),
            ("+353851234567", "+353"),
            ("+2348031234567", "+234"),
            ("+971501234567", "+971"),
            ("+5511912345678", "+55"),
        ] {
            assert_eq!(calling_code(number), code, "{number}");
        }
    }

    #[test]
    fn anything_else_is_unknown() {
        for bad in ["", "+", "447700900123", "+44 7700", "+12", "+44abc12345"] {
            assert_eq!(calling_code(bad), "?", "{bad:?}");
        }
    }
}
