//! Range and shape checks of a loaded configuration, each failure phrased with the key's name
//! and the expected form (serde has already checked the types).

use super::{Config, ConfigError, OtpConfig, SmsCaps};

impl SmsCaps {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (key, v) in [
            ("user_per_hour", self.user_per_hour),
            ("user_per_day", self.user_per_day),
            ("number_per_hour", self.number_per_hour),
            ("number_per_day", self.number_per_day),
            ("ip_per_hour", self.ip_per_hour),
            ("ip_per_day", self.ip_per_day),
            ("tenant_per_hour", self.tenant_per_hour),
            ("tenant_per_day", self.tenant_per_day),
        ] {
            if !(1..=1_000_000).contains(&v) {
                return Err(ConfigError(format!(
                    "otp.sms.{key}: expected an integer between 1 and 1000000"
                )));
            }
        }
        Ok(())
    }
}

impl OtpConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (key, v, min, max) in [
            ("otp.code_ttl_secs", self.code_ttl_secs, 60, 3600),
            ("otp.link_ttl_secs", self.link_ttl_secs, 300, 86_400),
            (
                "otp.max_attempts_per_code",
                self.max_attempts_per_code,
                1,
                10,
            ),
            (
                "otp.max_failures_per_user",
                self.max_failures_per_user,
                1,
                100,
            ),
            (
                "otp.failure_window_secs",
                self.failure_window_secs,
                1,
                86_400,
            ),
            ("otp.lockout_secs", self.lockout_secs, 1, 86_400),
            (
                "otp.resend_interval_secs",
                self.resend_interval_secs,
                1,
                3600,
            ),
            ("otp.max_mails_per_day", self.max_mails_per_day, 1, 1000),
        ] {
            if v < min || v > max {
                return Err(ConfigError(format!(
                    "{key}: expected an integer between {min} and {max}"
                )));
            }
        }
        self.sms.validate()
    }
}

impl Config {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=1_000_000).contains(&self.api.requests_per_minute_per_key) {
            return Err(ConfigError(
                "api.requests_per_minute_per_key: expected an integer between 1 and 1000000".into(),
            ));
        }
        let c = &self.console;
        for (key, v) in [
            ("console.idle_timeout_secs", c.idle_timeout_secs),
            ("console.max_lifetime_secs", c.max_lifetime_secs),
            ("console.step_up_secs", c.step_up_secs),
        ] {
            if !(30..=7 * 86_400).contains(&v) {
                return Err(ConfigError(format!(
                    "{key}: expected seconds between 30 and 604800"
                )));
            }
        }
        self.secrets.validate().map_err(ConfigError)?;
        self.mail.validate().map_err(ConfigError)?;
        self.sms.validate().map_err(ConfigError)?;
        self.otp.validate()?;
        for p in &self.server.trusted_proxies {
            p.parse::<crate::web::client_ip::IpNet>()
                .map_err(|e| ConfigError(format!("server.trusted_proxies: {e}")))?;
        }
        let p = &self.password;
        // OWASP Password Storage Cheat Sheet: argon2id with at least m=19 MiB, t=2, p=1.
        if p.memory_kib < 19_456 || p.iterations < 2 || p.parallelism < 1 {
            return Err(ConfigError(
                "password.memory_kib must be >= 19456 and password.iterations >= 2 (OWASP minimum for argon2id)".into(),
            ));
        }
        if p.max_concurrent == 0 {
            return Err(ConfigError(
                "password.max_concurrent: expected a positive integer".into(),
            ));
        }
        if p.max_queue.is_some_and(|q| q > 100_000) {
            return Err(ConfigError(
                "password.max_queue: expected 0 to 100000 (how many sign-ins may wait for a hasher)"
                    .into(),
            ));
        }
        // /authorize must fit every parameter at its maximum (about 16 KiB decoded, unescaped).
        if self.server.max_body_bytes < 16 * 1024 {
            return Err(ConfigError(
                "server.max_body_bytes: expected at least 16384".into(),
            ));
        }
        if self.server.sweep_interval_secs == 0 {
            return Err(ConfigError(
                "server.sweep_interval_secs: expected a positive integer".into(),
            ));
        }
        let l = &self.login;
        if l.max_transactions_per_ip < 1
            || l.transaction_window_secs < 1
            || l.mail_forms_per_ip_per_hour < 1
        {
            return Err(ConfigError(
                "login.max_transactions_per_ip, login.transaction_window_secs and login.mail_forms_per_ip_per_hour: expected positive integers".into(),
            ));
        }
        if !(1..=300).contains(&self.database.acquire_timeout_secs) {
            return Err(ConfigError(
                "database.acquire_timeout_secs: expected seconds between 1 and 300".into(),
            ));
        }
        if !(1..=3600).contains(&self.server.request_timeout_secs) {
            return Err(ConfigError(
                "server.request_timeout_secs: expected seconds between 1 and 3600".into(),
            ));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError(
                "database.max_connections: expected a positive integer".into(),
            ));
        }
        let t = &self.tokens;
        for (key, v) in [
            (
                "tokens.default_access_token_ttl_secs",
                t.default_access_token_ttl_secs,
            ),
            (
                "tokens.default_id_token_ttl_secs",
                t.default_id_token_ttl_secs,
            ),
        ] {
            if v <= 0 || v > t.max_lifetime_secs {
                return Err(ConfigError(format!(
                    "{key}: expected seconds between 1 and tokens.max_lifetime_secs ({})",
                    t.max_lifetime_secs
                )));
            }
        }
        Ok(())
    }
}
