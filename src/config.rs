//! Typed configuration in three layers: the `config.toml` compiled into the binary (the only
//! place a default is written), then the operator's file (`./config.toml` when present, or
//! `--config PATH`), then `GATEHOUSE_SECTION__KEY` environment variables. Every section denies
//! unknown keys so a typo stops start-up instead of being silently ignored.
//!
//! The structs carry no `#[serde(default)]` and no hand-written values: the embedded layer
//! supplies every key (a partial operator file fills in the rest from it), keys commented out
//! there are `Option`s that stay `None`, and each `Default` is that file, parsed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub keys: KeysConfig,
    pub secrets: crate::crypto::secret::SecretsConfig,
    pub tokens: TokensConfig,
    pub password: PasswordConfig,
    pub login: LoginConfig,
    pub otp: OtpConfig,
    pub metrics: MetricsConfig,
    pub demo: DemoConfig,
    pub mail: crate::notify::mail::MailConfig,
    pub sms: crate::notify::sms::SmsConfig,
    pub api: ApiConfig,
    pub console: ConsoleConfig,
}

/// The hosted admin console (`/admin`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// A console session unused for this long ends (the admin signs in again).
    pub idle_timeout_secs: i64,
    /// A console session ends this long after its sign-in however busy it is.
    pub max_lifetime_secs: i64,
    /// Destructive actions (Reset MFA, delete, rotate a secret) want the admin's second factor
    /// proven within this many seconds; otherwise the console asks for it again first.
    pub step_up_secs: i64,
}

/// The admin REST API (`/api/v1`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Requests one API key may make per minute (a fixed window, counted in the database so
    /// every node shares it); more get 429 with `Retry-After`. A leaked key is slowed down,
    /// and a runaway script cannot starve the sign-in pages of database time.
    pub requests_per_minute_per_key: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginConfig {
    /// How long a user has to finish the hosted login once /authorize sent them there.
    pub transaction_ttl_secs: i64,
    /// Lifetime of an SSO session (absolute).
    pub session_ttl_secs: i64,
    /// Wrong passwords per account name within the window before it is locked. Counted per
    /// submitted name whether or not the account exists, so the lock reveals nothing.
    pub max_failures_per_account: i64,
    /// Wrong passwords per client IP within the window before the IP is locked.
    pub max_failures_per_ip: i64,
    pub failure_window_secs: i64,
    pub lockout_secs: i64,
    /// New login transactions (each a stored row) one client network may start per
    /// `transaction_window_secs`: an IPv4 address, or an IPv6 /64. Over it, /authorize answers
    /// 429 until one more window has passed.
    pub max_transactions_per_ip: i64,
    pub transaction_window_secs: i64,
    /// "Create an account" and "Forgot your password?" forms one client network may send per
    /// hour (each may send a mail).
    pub mail_forms_per_ip_per_hour: i64,
}

/// `[otp]`: limits shared by every kind of one-time code sent by mail (the enrolment proof now;
/// the email factor, registration and reset later). Deployment-wide rather than per tenant:
/// they protect the outbound mail reputation and bound guessing, which no tenant should loosen.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtpConfig {
    /// How long a mailed code works.
    pub code_ttl_secs: i64,
    /// How long the link and code of a registration or password-reset mail work.
    pub link_ttl_secs: i64,
    /// Wrong tries of one code before it is dead (the user asks for a new one).
    pub max_attempts_per_code: i64,
    /// Wrong codes per user and purpose within the window, across codes, transactions and
    /// sign-ins, before the user is locked out of that purpose.
    pub max_failures_per_user: i64,
    pub failure_window_secs: i64,
    pub lockout_secs: i64,
    /// At most one code per user, and per transaction or session, this often ("Send again").
    pub resend_interval_secs: i64,
    /// Codes mailed per user within 24 hours (all purposes together).
    pub max_mails_per_day: i64,
    /// `[otp.sms]`: the caps on texted codes.
    pub sms: SmsCaps,
}

/// `[otp.sms]`: texts cost money per message, so every send is reserved against a cap per
/// user, per number, per client IP and per tenant, each per hour and per day (SMS pumping
/// sends many codes to numbers an attacker is paid for; docs/security.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsCaps {
    pub user_per_hour: i64,
    pub user_per_day: i64,
    pub number_per_hour: i64,
    pub number_per_day: i64,
    pub ip_per_hour: i64,
    pub ip_per_day: i64,
    pub tenant_per_hour: i64,
    pub tenant_per_day: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Socket address to bind, e.g. `127.0.0.1:8080`; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Externally visible base URL. Issuers are `{public_url}/t/{slug}`. When unset it is
    /// `http://{bound address}`, which is right for local use only.
    pub public_url: Option<PublicUrl>,
    /// Folder holding `default/` and any other theme folders.
    pub themes_dir: PathBuf,
    pub log_format: LogFormat,
    /// `tracing` filter directive, e.g. `info` or `gatehouse=debug,info`.
    pub log_level: String,
    /// How long in-flight requests may take to finish after SIGTERM/Ctrl-C.
    pub shutdown_grace_secs: u64,
    /// Per-node cache lifetime for tenant settings (0 = no cache). A change made on another node
    /// or by the CLI is seen after at most this long.
    pub cache_ttl_secs: u64,
    /// How often the server re-reads the signing keys from the database, so a rotation on any
    /// node (or by the CLI) reaches every running node.
    pub keys_reload_secs: u64,
    /// Load balancers / reverse proxies (IPs or CIDRs) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,
    /// Largest request body any endpoint reads (and the largest `/authorize` query string).
    pub max_body_bytes: usize,
    /// How often expired codes, login transactions and tokens are deleted.
    pub sweep_interval_secs: u64,
    /// A request still running after this long is answered 503 with `Retry-After`.
    pub request_timeout_secs: u64,
}

/// `/metrics` access control. With neither key set, `/metrics` on the main listener answers
/// only while the public URL is a loopback one (local development); otherwise it is 401.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// When set, `/metrics` requires `Authorization: Bearer {token}` wherever it is served.
    pub token: Option<MetricsToken>,
    /// When set, `/metrics` is served on this address only (and no longer on `server.listen`).
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`.
    pub url: DatabaseUrl,
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before it fails (503 while the
    /// database is down; see `web::unavailable`).
    pub acquire_timeout_secs: u64,
    /// PostgreSQL `statement_timeout`: a statement running longer is cancelled (0 = none).
    pub statement_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// Folder of the generated `secret.key` and of key files from before keys moved into the
    /// database (created with mode 0700, files 0600).
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokensConfig {
    /// Upper bound for any signed token's lifetime (ID and access tokens). A rotated-out signing
    /// key stays published this long so every token it signed can still be verified.
    pub max_lifetime_secs: i64,
    pub default_access_token_ttl_secs: i64,
    pub default_id_token_ttl_secs: i64,
    pub default_refresh_token_ttl_secs: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordConfig {
    /// argon2id memory cost in KiB (OWASP minimum: 19456 = 19 MiB).
    pub memory_kib: u32,
    /// argon2id iterations (OWASP minimum with 19 MiB: 2).
    pub iterations: u32,
    pub parallelism: u32,
    /// How many hashes may run at once on the blocking pool. Peak memory for hashing is
    /// `max_concurrent × memory_kib`, whatever the request rate.
    pub max_concurrent: usize,
    /// How many more may wait for a free hasher. When the line is full a sign-in answers
    /// "busy, try again" (503, `Retry-After`) at once instead of queueing without bound, so a
    /// burst from one address cannot make every other user's sign-in wait behind it.
    /// Unset: `4 × max_concurrent`.
    pub max_queue: Option<usize>,
}

impl PasswordConfig {
    /// The waiting line in effect (`max_queue`, or its default of 4 × `max_concurrent`).
    pub fn queue_len(&self) -> usize {
        self.max_queue
            .unwrap_or_else(|| self.max_concurrent.saturating_mul(4))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoConfig {
    /// Where `serve --demo` keeps the demo credentials it generated, so a second start prints
    /// the same facts (the database holds only hashes).
    pub credentials_file: PathBuf,
    pub redirect_uri: String,
}

/// `config.toml` from the repository root, compiled in: the base layer of every load.
const EMBEDDED: &str = include_str!("../config.toml");

fn embedded() -> Figment {
    Figment::from(Toml::string(EMBEDDED))
}

impl Default for Config {
    /// The embedded `config.toml` alone (no operator file, no environment): what tests start
    /// from. That it parses and validates is a unit test, so the panic cannot ship.
    fn default() -> Self {
        embedded()
            .extract()
            .unwrap_or_else(|e| panic!("the embedded config.toml: {}", describe(e)))
    }
}

/// Each section's `Default` is its part of the embedded file, for code and tests that need one
/// section (the hashing pool, the metrics gate). Not used while deserializing: no section asks
/// serde for defaults, which would recurse into this.
macro_rules! section_defaults {
    ($($section:ty => $key:ident),* $(,)?) => {$(
        impl Default for $section {
            fn default() -> Self {
                Config::default().$key
            }
        }
    )*};
}

section_defaults!(
    ServerConfig => server,
    DatabaseConfig => database,
    KeysConfig => keys,
    TokensConfig => tokens,
    PasswordConfig => password,
    LoginConfig => login,
    OtpConfig => otp,
    MetricsConfig => metrics,
    DemoConfig => demo,
    ConsoleConfig => console,
);

/// A configuration problem, phrased for an operator: it names the key and the expected form.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Loads the embedded defaults, then `path` over them (when it exists, or always when
    /// `required`), then the environment. `required` is true when the operator named the file
    /// with `--config`. Either file may set only some keys.
    pub fn load(path: &Path, required: bool) -> Result<Config, ConfigError> {
        if required && !path.is_file() {
            return Err(ConfigError(format!(
                "config file {} does not exist",
                path.display()
            )));
        }
        let figment = embedded()
            .merge(Toml::file(path))
            // Only GATEHOUSE_SECTION__KEY variables are configuration; other GATEHOUSE_* names
            // (e.g. GATEHOUSE_TEST_PG for the test suite) are not.
            .merge(
                Env::prefixed("GATEHOUSE_")
                    .filter(|k| k.as_str().contains("__"))
                    .split("__"),
            );
        let config: Config = figment.extract().map_err(|e| {
            // figment may collect several errors; one clear line is what an operator reads.
            let first = e.into_iter().next().map(describe).unwrap_or_default();
            ConfigError(first)
        })?;
        config.validate()?;
        Ok(config)
    }
}

/// Turns a figment error into "`server.listen`: invalid ... (from GATEHOUSE_SERVER__LISTEN)".
fn describe(e: figment::Error) -> String {
    let key = e
        .path
        .iter()
        .filter(|p| p.as_str() != "default")
        .cloned()
        .collect::<Vec<_>>()
        .join(".");
    let source = e
        .metadata
        .as_ref()
        .map(|m| format!(" (from {})", m.name))
        .unwrap_or_default();
    let kind = e.kind.to_string();
    if key.is_empty() {
        format!("{kind}{source}")
    } else {
        format!("`{key}`: {kind}{source}")
    }
}

#[cfg(test)]
mod tests;
mod validate;
mod values;

pub use values::{Backend, DatabaseUrl, MetricsToken, PublicUrl};
