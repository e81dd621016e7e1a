//! The validated value types of the configuration: each parses once at load, so a bad value
//! stops start-up with a message naming the key and the expected form.

use serde::{Deserialize, Serialize};
use url::Url;

/// The metrics bearer token: at least 16 characters; never printed by `Debug`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String", into = "String")]
pub struct MetricsToken(String);

impl TryFrom<String> for MetricsToken {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        if value.chars().count() < 16 || value.chars().any(|c| c.is_whitespace()) {
            return Err(
                "expected at least 16 characters without spaces, e.g. from `openssl rand -hex 32`"
                    .into(),
            );
        }
        Ok(MetricsToken(value))
    }
}

impl From<MetricsToken> for String {
    fn from(value: MetricsToken) -> Self {
        value.0
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(..)")
    }
}

impl MetricsToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A public base URL: absolute http(s), no query or fragment, stored without a trailing slash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String", into = "String")]
pub struct PublicUrl(String);

impl TryFrom<String> for PublicUrl {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let expected = "expected an absolute http:// or https:// URL without query or fragment, e.g. https://id.example.com";
        let url = Url::parse(&value).map_err(|e| format!("{e}: {expected}"))?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().is_none()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(expected.to_string());
        }
        Ok(PublicUrl(url.as_str().trim_end_matches('/').to_string()))
    }
}

impl From<PublicUrl> for String {
    fn from(value: PublicUrl) -> Self {
        value.0
    }
}

impl PublicUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

/// Which backend a database URL names. Parsed at config load so a typo stops start-up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String", into = "String")]
pub struct DatabaseUrl(pub(super) String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl TryFrom<String> for DatabaseUrl {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let ok = value.starts_with("sqlite:")
            || value.starts_with("postgres://")
            || value.starts_with("postgresql://");
        if !ok || Url::parse(&value).is_err() {
            return Err("expected sqlite://PATH or postgres://USER@HOST[:PORT]/DB".to_string());
        }
        Ok(DatabaseUrl(value))
    }
}

impl From<DatabaseUrl> for String {
    fn from(value: DatabaseUrl) -> Self {
        value.0
    }
}

impl DatabaseUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn backend(&self) -> Backend {
        if self.0.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }
}
