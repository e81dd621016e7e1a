//! Phone numbers for the SMS factor and the `phone_number` claim: parsed with the numbering plans
//! of libphonenumber (the `phonenumber` crate) and kept in E.164 (`+12015550100`). A number typed
//! without `+` is read in the tenant's default region. Only numbers that can receive a text
//! (mobile, or "fixed line or mobile" where the plan cannot tell, as in North America) are
//! accepted: a code sent to a landline would never arrive, and costs the same.

use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, Type, country};

/// A number that can receive a text, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mobile {
    /// `+12015550100`.
    pub e164: String,
    /// The country calling code (`1`, `44`): what the allow-list and the logs speak of.
    pub country_code: u16,
}

/// Why a typed number was refused; `message` is what the page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("not a phone number")]
    Invalid,
    #[error("not a mobile number")]
    NotMobile,
}

impl PhoneError {
    pub fn message(self) -> &'static str {
        match self {
            PhoneError::Invalid => {
                "Enter a valid mobile number, such as +1 201 555 0100, with the country code."
            }
            PhoneError::NotMobile => {
                "That number cannot receive text messages. Enter a mobile number."
            }
        }
    }
}

/// Whether `region` names a region of the numbering plans (`US`, `GB`, upper case).
pub fn is_region(region: &str) -> bool {
    region_code(region).is_some()
}

/// The country calling code of a region: `US` → 1, `GB` → 44.
pub fn region_code(region: &str) -> Option<u16> {
    DATABASE.by_id(region).map(|m| m.country_code())
}

/// Parses `typed` (spaces, dashes, brackets allowed; without `+` it is read in `default_region`)
/// into a number that can receive a text.
pub fn parse_mobile(typed: &str, default_region: &str) -> Result<Mobile, PhoneError> {
    let typed = typed.trim();
    if typed.is_empty() || typed.len() > 32 {
        return Err(PhoneError::Invalid);
    }
    let region = default_region.parse::<country::Id>().ok();
    let number = phonenumber::parse(region, typed).map_err(|_| PhoneError::Invalid)?;
    // An extension cannot be texted; neither can a number the plan does not know.
    if number.extension().is_some() || !phonenumber::is_valid(&number) {
        return Err(PhoneError::Invalid);
    }
    match number.number_type(&DATABASE) {
        Type::Mobile | Type::FixedLineOrMobile => Ok(Mobile {
            e164: number.format().mode(Mode::E164).to_string(),
            country_code: number.code().value(),
        }),
        _ => Err(PhoneError::NotMobile),
    }
}

/// The country calling code of a stored E.164 number (for logs and the allow-list), `None`
/// when it does not parse.
pub fn country_code(e164: &str) -> Option<u16> {
    phonenumber::parse(None, e164)
        .ok()
        .map(|n| n.code().value())
}

/// `+44` for `+447700900123`, `?` when the number does not parse: the only part of a number a
/// log line carries (enough to see which countries a pumping attack targets, not whose phone
/// it was).
pub fn calling_code(e164: &str) -> String {
    country_code(e164).map_or_else(|| "?".into(), |c| format!("+{c}"))
}

/// `•••• ••• 0100`: the last four digits, enough for the user to recognise their phone and
/// too little to harvest the number.
pub fn mask(e164: &str) -> String {
    let digits: Vec<char> = e164.chars().filter(char::is_ascii_digit).collect();
    let last: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("•••• ••• {last}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_normalised_to_e164_in_the_default_region() {
        for typed in [
            "(201) 555-0100",
            "201 555 0100",
            "+1 201-555-0100",
            " 2015550100 ",
        ] {
            let m = parse_mobile(typed, "US").unwrap();
            assert_eq!(m.e164, "+12015550100", "{typed}");
            assert_eq!(m.country_code, 1);
        }
        let uk = parse_mobile("07400 123456", "GB").unwrap();
        assert_eq!(uk.e164, "+447400123456");
        assert_eq!(uk.country_code, 44);
        // A `+` number is read as typed, whatever the region.
        assert_eq!(
            parse_mobile("+44 7400 123456", "US").unwrap().e164,
            "+447400123456"
        );
    }

    #[test]
    fn numbers_that_cannot_get_a_text_are_refused() {
        for bad in [
            "",
            "hello",
            "123",
            "+1 555",
            "+999 1234567",
            "201 555 0100 ext. 12",
        ] {
            assert_eq!(parse_mobile(bad, "US"), Err(PhoneError::Invalid), "{bad}");
        }
        // A UK landline and a UK freephone number.
        assert_eq!(
            parse_mobile("+44 20 7946 0958", "US"),
            Err(PhoneError::NotMobile)
        );
        assert_eq!(
            parse_mobile("+44 800 123 4567", "US"),
            Err(PhoneError::NotMobile)
        );
        assert!(PhoneError::NotMobile.message().contains("mobile number"));
    }

    #[test]
    fn regions_codes_and_masks() {
        assert_eq!(region_code("US"), Some(1));
        assert_eq!(region_code("GB"), Some(44));
        assert_eq!(region_code("XX"), None);
        assert!(is_region("DE") && !is_region("us"));
        assert_eq!(country_code("+447400123456"), Some(44));
        assert_eq!(country_code("nonsense"), None);
        assert_eq!(calling_code("+447400123456"), "+44");
        assert_eq!(calling_code("+15005550006"), "+1");
        assert_eq!(calling_code("+353851234567"), "+353");
        assert_eq!(calling_code("0100"), "?");
        assert_eq!(mask("+12015550100"), "•••• ••• 0100");
        assert_eq!(mask("+1"), "•••• ••• 1");
    }
}
