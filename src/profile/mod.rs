//! The user's profile: the OIDC Core §5.1 standard claims beyond email and phone, as stored
//! ([`Profile`], a part of `store::users::User`), as asked for ([`ProfileEdit`]: the CLI's
//! `user update`, the admin API's user PATCH and the account pages' Profile form all build one),
//! and the one pure check between the two ([`validate`]). No I/O here.
//!
//! `preferred_username` is the user's `username` (unique per tenant, a sign-in name): one name
//! the user picks, rather than a second one that could disagree with the first.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[cfg(test)]
mod tests;

/// The profile columns of a user row (migration 0018), each `None` when the user has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct Profile {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub middle_name: Option<String>,
    pub nickname: Option<String>,
    /// URL of the user's profile page.
    pub profile: Option<String>,
    /// URL of the user's picture.
    pub picture: Option<String>,
    pub website: Option<String>,
    pub gender: Option<String>,
    /// `YYYY` or `YYYY-MM-DD` (`0000-MM-DD` when the year is withheld).
    pub birthdate: Option<String>,
    /// A tz database name (`Europe/Paris`).
    pub zoneinfo: Option<String>,
    /// A BCP 47 tag (`fr-CA`).
    pub locale: Option<String>,
    /// The JSON text of an [`Address`]; shown (and documented) as the object.
    #[serde(serialize_with = "address_object")]
    #[schema(value_type = Option<Address>)]
    pub address: Option<String>,
}

impl Profile {
    /// A profile claim by name (OIDC Core §5.1; `address` as its JSON text), when the user has it.
    pub fn get(&self, claim: &str) -> Option<&str> {
        match claim {
            "given_name" => self.given_name.as_deref(),
            "family_name" => self.family_name.as_deref(),
            "middle_name" => self.middle_name.as_deref(),
            "nickname" => self.nickname.as_deref(),
            "profile" => self.profile.as_deref(),
            "picture" => self.picture.as_deref(),
            "website" => self.website.as_deref(),
            "gender" => self.gender.as_deref(),
            "birthdate" => self.birthdate.as_deref(),
            "zoneinfo" => self.zoneinfo.as_deref(),
            "locale" => self.locale.as_deref(),
            "address" => self.address.as_deref(),
            _ => None,
        }
    }

    /// The structured address, when the user has one.
    pub fn address(&self) -> Option<Address> {
        self.address
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok())
    }
}

fn address_object<S: serde::Serializer>(a: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    a.as_deref()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .serialize(s)
}

/// OIDC Core §5.1.1, the members Gatehouse keeps. Unknown members are refused rather than
/// dropped, so a typo (`postcode`) is an error and not a silently lost value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// The full mailing address, lines separated by `\n`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// House number, street and the like; may hold several lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    /// City or locality.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// State, province, prefecture or region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl Address {
    /// An address from JSON text (`--address-json`), or a one-line reason.
    pub fn from_json(text: &str) -> Result<Address, String> {
        serde_json::from_str(text).map_err(|e| {
            format!(
                "expected a JSON object with formatted, street_address, locality, region, \
                 postal_code, country (strings): {e}"
            )
        })
    }

    /// As stored: `None` when every member is empty (which removes the address).
    fn to_stored(&self) -> Option<String> {
        (*self != Address::default()).then(|| serde_json::to_string(self).unwrap_or_default())
    }

    fn members_mut(&mut self) -> [(&'static str, &mut Option<String>, usize, bool); 6] {
        [
            ("formatted", &mut self.formatted, 1024, true),
            ("street_address", &mut self.street_address, 512, true),
            ("locality", &mut self.locality, MAX_TEXT, false),
            ("region", &mut self.region, MAX_TEXT, false),
            ("postal_code", &mut self.postal_code, 32, false),
            ("country", &mut self.country, MAX_TEXT, false),
        ]
    }
}

/// A change to a profile. Every field: `None` leaves it as it is, `Some("")` removes it, any
/// other value sets it (after [`validate`]). `address` is JSON text of an [`Address`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileEdit {
    pub name: Option<String>,
    /// `preferred_username`: the sign-in username.
    pub username: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub middle_name: Option<String>,
    pub nickname: Option<String>,
    pub profile: Option<String>,
    pub picture: Option<String>,
    pub website: Option<String>,
    pub gender: Option<String>,
    pub birthdate: Option<String>,
    pub zoneinfo: Option<String>,
    pub locale: Option<String>,
    pub address: Option<String>,
}

impl ProfileEdit {
    /// Every field with its name and its kind of value, for [`validate`].
    fn fields_mut(&mut self) -> [(&'static str, &mut Option<String>, Kind); 14] {
        [
            ("name", &mut self.name, Kind::Text),
            ("username", &mut self.username, Kind::Username),
            ("given_name", &mut self.given_name, Kind::Text),
            ("family_name", &mut self.family_name, Kind::Text),
            ("middle_name", &mut self.middle_name, Kind::Text),
            ("nickname", &mut self.nickname, Kind::Text),
            ("profile", &mut self.profile, Kind::Url),
            ("picture", &mut self.picture, Kind::Url),
            ("website", &mut self.website, Kind::Url),
            ("gender", &mut self.gender, Kind::Short),
            ("birthdate", &mut self.birthdate, Kind::Birthdate),
            ("zoneinfo", &mut self.zoneinfo, Kind::Zoneinfo),
            ("locale", &mut self.locale, Kind::Locale),
            ("address", &mut self.address, Kind::Address),
        ]
    }

    /// The fields that are set, with the value they ask for (`""`: remove).
    pub fn asked(&self) -> Vec<(&'static str, String)> {
        let mut copy = self.clone();
        copy.fields_mut()
            .into_iter()
            .filter_map(|(name, v, _)| v.take().map(|v| (name, v)))
            .collect()
    }
}

/// Names, nicknames, address lines: generous, but bounded (they travel in every ID token).
const MAX_TEXT: usize = 256;
/// OIDC does not bound URLs; 2048 is what browsers and the `/authorize` limits accept.
const MAX_URL: usize = 2048;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Short,
    Username,
    Url,
    Birthdate,
    Zoneinfo,
    Locale,
    Address,
}

/// Why one field was refused; `message` is the sentence shown next to the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The [`ProfileEdit`] field (`address.postal_code` for an address member).
    pub field: String,
    pub message: String,
}

/// All of them in one line, for the CLI and the admin API (`given_name: ...; locale: ...`).
pub fn one_line(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Checks and normalises a change: values trimmed, a locale's `_` written `-`, the address
/// re-serialised with only its non-empty members. Every refused field is reported, not just
/// the first, so a form can mark them all at once.
pub fn validate(mut edit: ProfileEdit) -> Result<ProfileEdit, Vec<FieldError>> {
    let mut errors = Vec::new();
    for (name, value, kind) in edit.fields_mut() {
        let Some(v) = value.as_mut() else { continue };
        let trimmed = v.trim().to_owned();
        *v = trimmed;
        if v.is_empty() {
            continue;
        }
        match check(kind, v) {
            Ok(normal) => *v = normal,
            Err(FieldFault::One(message)) => errors.push(FieldError {
                field: name.to_owned(),
                message,
            }),
            Err(FieldFault::Address(list)) => errors.extend(list),
        }
    }
    if errors.is_empty() {
        Ok(edit)
    } else {
        Err(errors)
    }
}

enum FieldFault {
    One(String),
    Address(Vec<FieldError>),
}

fn one<T>(message: impl Into<String>) -> Result<T, FieldFault> {
    Err(FieldFault::One(message.into()))
}

/// The normal form of a non-empty, trimmed value of `kind`, or why it is refused.
fn check(kind: Kind, v: &str) -> Result<String, FieldFault> {
    match kind {
        Kind::Text => text(v, MAX_TEXT, false).map_err(FieldFault::One),
        Kind::Short => text(v, 64, false).map_err(FieldFault::One),
        Kind::Username => {
            if v.contains('@') || v.chars().count() > 64 || v.chars().any(char::is_whitespace) {
                return one("up to 64 characters, without @ or spaces");
            }
            text(v, 64, false).map_err(FieldFault::One)
        }
        Kind::Url => url(v),
        Kind::Birthdate => birthdate(v),
        Kind::Zoneinfo => zoneinfo(v),
        Kind::Locale => locale(v),
        Kind::Address => address(v),
    }
}

/// Printable text of at most `max` characters; line breaks only where `lines` allows them.
fn text(v: &str, max: usize, lines: bool) -> Result<String, String> {
    if v.chars().count() > max {
        return Err(format!("at most {max} characters"));
    }
    if v.chars().any(|c| c.is_control() && !(lines && c == '\n')) {
        return Err("no control characters".into());
    }
    Ok(v.to_owned())
}

fn url(v: &str) -> Result<String, FieldFault> {
    if v.len() > MAX_URL {
        return one(format!("at most {MAX_URL} characters"));
    }
    match url::Url::parse(v) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            Ok(v.to_owned())
        }
        _ => one("an http:// or https:// URL"),
    }
}

/// OIDC Core §5.1: `YYYY` or `YYYY-MM-DD`, `0000` standing for a withheld year.
fn birthdate(v: &str) -> Result<String, FieldFault> {
    let bad = || one("YYYY or YYYY-MM-DD");
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = v.split('-').collect();
    match parts.as_slice() {
        [y] if digits(y, 4) => Ok(v.to_owned()),
        [y, m, d] if digits(y, 4) && digits(m, 2) && digits(d, 2) => {
            // A withheld year is checked in a leap year, so 0000-02-29 stands.
            let year: i32 = if *y == "0000" {
                2000
            } else {
                y.parse().unwrap_or(0)
            };
            let month = m
                .parse::<u8>()
                .ok()
                .and_then(|m| time::Month::try_from(m).ok());
            match month.map(|m| time::Date::from_calendar_date(year, m, d.parse().unwrap_or(0))) {
                Some(Ok(_)) => Ok(v.to_owned()),
                _ => bad(),
            }
        }
        _ => bad(),
    }
}

/// A tz database name (`Europe/Paris`, `America/Argentina/Buenos_Aires`, `UTC`): a short
/// string of the characters those names use. The list itself changes, so it is not checked.
fn zoneinfo(v: &str) -> Result<String, FieldFault> {
    let ok = v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c));
    if ok {
        Ok(v.to_owned())
    } else {
        one("a time zone name such as Europe/Paris (up to 64 characters)")
    }
}

/// BCP 47, loosely (RFC 5646 §2.1): a 2–3 letter language, then subtags of 1–8 letters or
/// digits. `en_US` is read as `en-US`, which OIDC Core §5.1 notes some systems send.
fn locale(v: &str) -> Result<String, FieldFault> {
    let normal = v.replace('_', "-");
    let mut parts = normal.split('-');
    let lang_ok = parts
        .next()
        .is_some_and(|l| (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphabetic()));
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if lang_ok && rest_ok && normal.len() <= 35 {
        Ok(normal)
    } else {
        one("a language tag such as en or fr-CA")
    }
}

fn address(v: &str) -> Result<String, FieldFault> {
    let mut a = Address::from_json(v).map_err(FieldFault::One)?;
    let mut errors = Vec::new();
    for (name, member, max, lines) in a.members_mut() {
        let Some(m) = member.as_mut() else { continue };
        let trimmed = m.trim().to_owned();
        if trimmed.is_empty() {
            *member = None;
            continue;
        }
        match text(&trimmed, max, lines) {
            Ok(t) => *m = t,
            Err(message) => errors.push(FieldError {
                field: format!("address.{name}"),
                message,
            }),
        }
    }
    if !errors.is_empty() {
        return Err(FieldFault::Address(errors));
    }
    // All members empty: the same as removing the address.
    Ok(a.to_stored().unwrap_or_default())
}
