//! `[sms]`: which gateway sends text messages and how to reach it. The keys are a public
//! interface (operators' deployment files rely on them, DESIGN.md §7); the defaults are written
//! once, in the embedded `config.toml`. Values parse at load, so a malformed URL stops start-up
//! naming its key; [`SmsConfig::validate`] checks what only the keys together can say.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// `file` (the embedded default), `webhook` or `twilio`.
    pub transport: SmsTransport,
    /// Folder the file transport writes one `{id}.json` per message into (created 0700).
    pub dir: PathBuf,
    pub webhook: WebhookConfig,
    pub twilio: TwilioConfig,
}

/// The `[sms]` part of the embedded `config.toml`, the one place its defaults are written.
impl Default for SmsConfig {
    fn default() -> Self {
        crate::config::Config::default().sms
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmsTransport {
    File,
    Webhook,
    Twilio,
}

impl SmsTransport {
    pub fn name(self) -> &'static str {
        match self {
            SmsTransport::File => "file",
            SmsTransport::Webhook => "webhook",
            SmsTransport::Twilio => "twilio",
        }
    }
}

/// `[sms.webhook]`: a signed JSON POST per message to the operator's own gateway.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: Option<GatewayUrl>,
    /// The HMAC-SHA256 key of `X-Gatehouse-Signature` (docs/sms.md).
    pub secret: Option<Secret>,
    /// Upper bound for one attempt (connect, request and answer).
    pub timeout_secs: u64,
}

/// `[sms.twilio]`: Twilio's Programmable Messaging API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioConfig {
    pub account_sid: Option<String>,
    pub auth_token: Option<Secret>,
    /// The sending number (E.164) or alphanumeric sender id; or else `messaging_service_sid`.
    pub from: Option<String>,
    pub messaging_service_sid: Option<String>,
    /// The API host; tests point it at a local stub that speaks the same API.
    pub base_url: GatewayUrl,
}

/// The shortest webhook secret accepted: a guessable key would let anyone forge deliveries
/// to the receiver's log, and a receiver checks nothing else.
const MIN_SECRET_CHARS: usize = 16;

impl SmsConfig {
    /// Checks what single values cannot; each message names the key, like every other
    /// configuration error. Only the chosen transport's keys are required.
    pub fn validate(&self) -> Result<(), String> {
        let w = &self.webhook;
        // Three tries: a sign-in page waits at most 3 × this (and a second of backoff).
        if !(1..=30).contains(&w.timeout_secs) {
            return Err("sms.webhook.timeout_secs: expected seconds between 1 and 30".into());
        }
        match self.transport {
            SmsTransport::File => Ok(()),
            SmsTransport::Webhook => {
                if w.url.is_none() {
                    return Err(required(
                        "sms.webhook.url",
                        "webhook",
                        "e.g. https://sms.example.com/gatehouse",
                    ));
                }
                match &w.secret {
                    None => Err(required(
                        "sms.webhook.secret",
                        "webhook",
                        "it signs every request; prefer GATEHOUSE_SMS__WEBHOOK__SECRET",
                    )),
                    Some(s) if s.0.chars().count() < MIN_SECRET_CHARS => Err(format!(
                        "sms.webhook.secret: expected at least {MIN_SECRET_CHARS} characters, e.g. from `openssl rand -hex 32`"
                    )),
                    Some(_) => Ok(()),
                }
            }
            SmsTransport::Twilio => self.twilio.validate(),
        }
    }
}

impl TwilioConfig {
    fn validate(&self) -> Result<(), String> {
        match self.account_sid.as_deref() {
            None => return Err(required("sms.twilio.account_sid", "twilio", "the AC... id")),
            // It becomes a path segment of the API URL.
            Some(sid) if sid.is_empty() || !sid.chars().all(|c| c.is_ascii_alphanumeric()) => {
                return Err(
                    "sms.twilio.account_sid: expected the account's AC... id (letters and digits)"
                        .into(),
                );
            }
            Some(_) => {}
        }
        if self.auth_token.as_ref().is_none_or(|t| t.0.is_empty()) {
            return Err(required(
                "sms.twilio.auth_token",
                "twilio",
                "prefer GATEHOUSE_SMS__TWILIO__AUTH_TOKEN",
            ));
        }
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        match (blank(&self.from), blank(&self.messaging_service_sid)) {
            (true, true) => Err(required(
                "sms.twilio.from or sms.twilio.messaging_service_sid",
                "twilio",
                "a Twilio number such as +15005550006, or a Messaging Service MG... id",
            )),
            // Twilio would silently prefer the service; say which one is meant instead.
            (false, false) => Err(
                "sms.twilio.from and sms.twilio.messaging_service_sid: set one of them, not both"
                    .into(),
            ),
            _ => Ok(()),
        }
    }
}

fn required(key: &str, transport: &str, hint: &str) -> String {
    format!("{key}: required when sms.transport = \"{transport}\" ({hint})")
}

impl WebhookConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

/// An absolute http(s) URL without fragment, kept as written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String", into = "String")]
pub struct GatewayUrl(String);

impl TryFrom<String> for GatewayUrl {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let expected =
            "expected an absolute http:// or https:// URL, e.g. https://sms.example.com/gatehouse";
        let url = url::Url::parse(&value).map_err(|e| format!("{e}: {expected}"))?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().is_none_or(str::is_empty)
            || url.fragment().is_some()
        {
            return Err(expected.into());
        }
        Ok(GatewayUrl(value))
    }
}

impl From<GatewayUrl> for String {
    fn from(value: GatewayUrl) -> Self {
        value.0
    }
}

impl GatewayUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A credential from the configuration (webhook secret, Twilio auth token): never printed by
/// `Debug`, so a logged config shows no secret.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}
