//! Domain values shared by the store, the CLI and the HTTP layer. Each enum is stored as its
//! lowercase wire name, and parses from it, so the database, `--json` output and the admin API
//! all read the same words.

use serde::{Deserialize, Serialize};

/// Declares a string-backed enum with `as_str`, `FromStr`, `TryFrom<String>` and `Display`.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "invalid {} `{}`: expected one of {}",
                        $what,
                        s,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl From<$name> for &'static str {
            fn from(v: $name) -> &'static str {
                v.as_str()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// Tenant-wide MFA rule (DESIGN.md §5).
    TenantMfaPolicy, "tenant MFA policy" {
        Disabled = "disabled",
        Optional = "optional",
        Required = "required",
    }
);

string_enum!(
    /// A client can raise the tenant's requirement, never lower it.
    ClientMfaPolicy, "client MFA policy" {
        Inherit = "inherit",
        Required = "required",
        PhishingResistant = "phishing_resistant",
    }
);

string_enum!(
    /// Whether a "Trust this device" cookie may satisfy this client's MFA challenge.
    TrustPolicy, "trust policy" {
        Any = "any",
        None = "none",
    }
);

string_enum!(
    /// What a user proves before binding a first factor (the "enrolment hole", docs/mfa.md):
    /// `email`, a one-time code sent to the account's address; `none`, nothing.
    EnrollmentProof, "enrollment proof" {
        None = "none",
        Email = "email",
    }
);

string_enum!(
    /// What follows a self-registration's email verification (`registration.mfa_setup`):
    /// nothing more (`off`, the tenant's MFA policy still applies), the MFA set-up with Skip
    /// (`optional`), or without it (`required`).
    RegistrationMfaSetup, "registration MFA setup" {
        Off = "off",
        Optional = "optional",
        Required = "required",
    }
);

string_enum!(
    /// Whether a user whose only second factor is the emailed code may reset the password by
    /// mail (the link and the code then travel the same channel; docs/security.md).
    ResetEmailOnly, "password reset for email-only users" {
        Allow = "allow",
        Forbid = "forbid",
    }
);

string_enum!(
    /// JWS algorithms Gatehouse signs with (RS256 is the OIDC default).
    SigningAlg, "signing algorithm" {
        Rs256 = "RS256",
        Es256 = "ES256",
        EdDsa = "EdDSA",
    }
);

string_enum!(
    /// RFC 6749 §2.3 / OIDC Core §9 client authentication at the token endpoint.
    TokenAuthMethod, "token endpoint auth method" {
        ClientSecretBasic = "client_secret_basic",
        ClientSecretPost = "client_secret_post",
        PrivateKeyJwt = "private_key_jwt",
        None = "none",
    }
);

string_enum!(
    /// What an admin API key may do: `admin` everything (within its tenant when it has one),
    /// `tenant-admin` everything within its one tenant, `read-only` read.
    ApiRole, "API key role" {
        Admin = "admin",
        TenantAdmin = "tenant-admin",
        ReadOnly = "read-only",
    }
);

string_enum!(
    /// Factor kinds; email, SMS and WebAuthn slot in as later issues land.
    MfaMethod, "MFA method" {
        Totp = "totp",
        Email = "email",
        Sms = "sms",
        Webauthn = "webauthn",
    }
);

/// A tenant's allowed MFA methods, parsed once when the row loads (stored as the JSON list of
/// their names). Gatehouse writes only lists it can read; a list edited by hand into something
/// unreadable falls back to the authenticator app, with a warning, rather than failing every
/// query that loads the tenant or locking its users out of MFA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AllowedMethods(Vec<MfaMethod>);

impl AllowedMethods {
    pub fn new(methods: Vec<MfaMethod>) -> AllowedMethods {
        AllowedMethods(methods)
    }

    pub fn as_slice(&self) -> &[MfaMethod] {
        &self.0
    }

    pub fn contains(&self, m: MfaMethod) -> bool {
        self.0.contains(&m)
    }

    /// The stored form: `["totp","email"]`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".into())
    }
}

impl From<String> for AllowedMethods {
    fn from(stored: String) -> AllowedMethods {
        match serde_json::from_str::<Vec<MfaMethod>>(&stored) {
            Ok(methods) => AllowedMethods(methods),
            Err(e) => {
                tracing::warn!(error = %e, "unreadable tenant mfa_methods, allowing totp only");
                AllowedMethods(vec![MfaMethod::Totp])
            }
        }
    }
}

/// A tenant's SMS country allow-list (country calling codes), parsed when the row loads;
/// empty: the default region's code only (`Tenant::sms_countries`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct SmsCountries(Vec<u16>);

impl SmsCountries {
    pub fn as_slice(&self) -> &[u16] {
        &self.0
    }

    /// The stored form: `[1,44]`.
    pub fn to_json(codes: &[u16]) -> String {
        serde_json::to_string(codes).unwrap_or_else(|_| "[]".into())
    }
}

impl From<String> for SmsCountries {
    fn from(stored: String) -> SmsCountries {
        match serde_json::from_str::<Vec<u16>>(&stored) {
            Ok(codes) => SmsCountries(codes),
            Err(e) => {
                // Empty falls back to the default region alone: the narrowest list.
                tracing::warn!(error = %e, "unreadable tenant sms_allowed_countries");
                SmsCountries::default()
            }
        }
    }
}

/// Current time as Unix seconds; the one clock read outside tests.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Formats Unix seconds as RFC 3339 for people and `--json` output.
pub fn rfc3339(ts: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Unix seconds as "23 Nov 2026, 13:27 UTC" for pages people read.
pub fn human_time(ts: i64) -> String {
    let fmt = time::macros::format_description!(
        "[day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
    );
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_methods_read_their_stored_form_and_fall_back_to_totp() {
        let stored = AllowedMethods::new(vec![MfaMethod::Totp, MfaMethod::Email]).to_json();
        assert_eq!(stored, r#"["totp","email"]"#);
        assert!(AllowedMethods::from(stored).contains(MfaMethod::Email));
        let hand_edited = AllowedMethods::from("totp, email".to_owned());
        assert_eq!(hand_edited.as_slice(), &[MfaMethod::Totp]);
        let unknown = AllowedMethods::from(r#"["totp","carrier-pigeon"]"#.to_owned());
        assert_eq!(unknown.as_slice(), &[MfaMethod::Totp]);
    }
}
