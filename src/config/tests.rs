use super::*;
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

fn load_str(toml: &str) -> Result<Config, ConfigError> {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(toml.as_bytes()).unwrap();
    Config::load(f.path(), true)
}

#[test]
fn defaults_are_the_embedded_setup() {
    let c = load_str("").unwrap();
    assert_eq!(c.database.url.backend(), Backend::Sqlite);
    assert_eq!(c.server.listen.port(), 8080);
    assert!(c.server.public_url.is_none());
    assert_eq!(c.password.memory_kib, 19_456);
}

#[test]
fn file_values_are_read() {
    let c = load_str(
        "[server]\nlisten = \"0.0.0.0:9000\"\npublic_url = \"https://id.example.com/\"\n[database]\nurl = \"postgres://postgres@127.0.0.1/test\"\n",
    )
    .unwrap();
    assert_eq!(c.server.listen.port(), 9000);
    let url = c.server.public_url.unwrap();
    assert_eq!(url.as_str(), "https://id.example.com");
    assert!(url.is_https());
    assert_eq!(c.database.url.backend(), Backend::Postgres);
}

#[test]
fn unknown_key_is_named() {
    let err = load_str("[server]\nlisten_port = 1\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("listen_port"), "{err}");
    assert!(err.contains("server"), "{err}");
}

#[test]
fn wrong_type_is_named() {
    let err = load_str("[database]\nmax_connections = \"many\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("database.max_connections"), "{err}");
}

#[test]
fn bad_urls_name_the_expected_form() {
    let err = load_str("[server]\npublic_url = \"not a url\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("server.public_url"), "{err}");
    assert!(err.contains("http"), "{err}");
    let err = load_str("[database]\nurl = \"mysql://x/y\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("database.url"), "{err}");
    assert!(err.contains("sqlite://"), "{err}");
}

#[test]
fn weak_argon2_parameters_are_refused() {
    let err = load_str("[password]\nmemory_kib = 1024\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("password.memory_kib"), "{err}");
}

#[test]
fn missing_named_file_is_an_error() {
    let err = Config::load(Path::new("/nonexistent/gatehouse.toml"), true).unwrap_err();
    assert!(err.to_string().contains("does not exist"));
}

#[test]
fn trusted_proxies_must_be_networks() {
    let err = load_str("[server]\ntrusted_proxies = [\"10.0.0.0/99\"]\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("server.trusted_proxies"), "{err}");
    let c = load_str("[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n").unwrap();
    assert_eq!(c.server.trusted_proxies.len(), 2);
}

#[test]
fn otp_limits_default_and_are_checked() {
    let c = load_str("").unwrap();
    assert_eq!(c.otp.max_attempts_per_code, 5);
    assert_eq!(c.otp.max_failures_per_user, 10);
    assert_eq!(c.otp.resend_interval_secs, 30);
    assert_eq!(c.otp.max_mails_per_day, 10);
    let err = load_str("[otp]\nmax_mails_per_day = 0\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("otp.max_mails_per_day"), "{err}");
    assert_eq!(c.otp.sms.user_per_hour, 5);
    assert_eq!(c.otp.sms.tenant_per_day, 1000);
    let err = load_str("[otp.sms]\nip_per_day = 0\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("otp.sms.ip_per_day"), "{err}");
}

#[test]
fn the_hashing_queue_defaults_to_four_per_hasher() {
    let c = load_str("[password]\nmax_concurrent = 3\n").unwrap();
    assert_eq!(c.password.queue_len(), 12);
    let c = load_str("[password]\nmax_queue = 0\n").unwrap();
    assert_eq!(c.password.queue_len(), 0);
    let err = load_str("[password]\nmax_queue = 1000000\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("password.max_queue"), "{err}");
}

/// `section.key` for every key written commented out in the embedded file (`# key = value`):
/// the optional keys, documented there with an example and left unset.
fn commented_out_keys() -> BTreeSet<String> {
    let mut section = "";
    let mut keys = BTreeSet::new();
    for line in EMBEDDED.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name;
        } else if let Some((key, _)) = line.strip_prefix('#').and_then(|l| l.split_once('=')) {
            let key = key.trim();
            if !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                keys.insert(format!("{section}.{key}"));
            }
        }
    }
    keys
}

/// The file as written (figment's reading of the TOML, before any type sees it), and the
/// defaults the code ends up with, both as JSON so they compare value by value.
fn file_and_code() -> (Map<String, Json>, Map<String, Json>) {
    let file: figment::value::Value = embedded().extract().unwrap();
    let Json::Object(file) = serde_json::to_value(file).unwrap() else {
        panic!("config.toml is not a table")
    };
    let Json::Object(code) = serde_json::to_value(Config::default()).unwrap() else {
        panic!("Config does not serialize to a table")
    };
    (file, code)
}

/// Every leaf of a table by its dotted name (`sms.webhook.url`), so nested sections such as
/// `[sms.webhook]` compare key by key like the flat ones.
fn leaves(table: &Map<String, Json>) -> BTreeMap<String, Json> {
    fn walk(prefix: &str, table: &Map<String, Json>, out: &mut BTreeMap<String, Json>) {
        for (key, value) in table {
            let name = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                Json::Object(inner) => walk(&name, inner, out),
                other => {
                    out.insert(name, other.clone());
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", table, &mut out);
    out
}

#[test]
fn the_embedded_file_and_the_code_agree_key_by_key() {
    let (file, code) = file_and_code();
    let (file, code) = (leaves(&file), leaves(&code));
    let commented = commented_out_keys();
    let mut wrong = Vec::new();
    for (name, value) in &file {
        match code.get(name) {
            None => wrong.push(format!("{name} is not a key the code knows")),
            Some(v) if v != value => {
                wrong.push(format!("{name}: the file says {value}, the code uses {v}"))
            }
            Some(_) => {}
        }
    }
    for (name, value) in &code {
        let in_file = file.contains_key(name);
        // An optional key is documented commented out and is None; every other key is set.
        match (value.is_null(), in_file, commented.contains(name)) {
            (false, true, false) | (true, false, true) => {}
            (true, _, false) => wrong.push(format!("{name} is unset but not shown commented out")),
            (false, false, _) => wrong.push(format!("{name} has a value the file does not give")),
            (_, true, true) => wrong.push(format!("{name} is both set and commented out")),
        }
    }
    for name in &commented {
        if !code.contains_key(name) {
            wrong.push(format!(
                "{name} is commented out but not a key the code knows"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "config.toml and src/config.rs disagree:\n{}",
        wrong.join("\n")
    );
    Config::default().validate().unwrap();
}

#[test]
fn each_sections_default_is_its_part_of_the_file() {
    let (_, code) = file_and_code();
    for (section, default) in [
        ("server", serde_json::to_value(ServerConfig::default())),
        ("database", serde_json::to_value(DatabaseConfig::default())),
        ("keys", serde_json::to_value(KeysConfig::default())),
        ("tokens", serde_json::to_value(TokensConfig::default())),
        ("password", serde_json::to_value(PasswordConfig::default())),
        ("login", serde_json::to_value(LoginConfig::default())),
        ("otp", serde_json::to_value(OtpConfig::default())),
        ("metrics", serde_json::to_value(MetricsConfig::default())),
        ("demo", serde_json::to_value(DemoConfig::default())),
        // Written by hand in notify/mail.rs (tests build mail settings from it): kept in step
        // with the file here.
        (
            "mail",
            serde_json::to_value(crate::notify::mail::MailConfig::default()),
        ),
        (
            "sms",
            serde_json::to_value(crate::notify::sms::SmsConfig::default()),
        ),
    ] {
        assert_eq!(default.unwrap(), code[section], "[{section}]");
    }
}

#[test]
fn commented_out_optional_keys_are_none() {
    for c in [Config::default(), load_str("").unwrap()] {
        assert!(c.server.public_url.is_none());
        assert!(c.password.max_queue.is_none());
        assert!(c.metrics.token.is_none());
        assert!(c.metrics.listen.is_none());
        assert!(c.mail.smtp_url.is_none());
        assert!(c.mail.transport.is_none());
        assert!(c.sms.webhook.url.is_none());
        assert!(c.sms.webhook.secret.is_none());
        assert!(c.sms.twilio.account_sid.is_none());
        assert!(c.sms.twilio.auth_token.is_none());
        assert!(c.sms.twilio.from.is_none());
        assert!(c.sms.twilio.messaging_service_sid.is_none());
    }
}

#[test]
fn a_partial_file_keeps_every_other_default() {
    let c = load_str("[login]\nlockout_secs = 60\n[mail]\nsmtp_url = \"smtp://127.0.0.1:2525\"\n")
        .unwrap();
    assert_eq!(c.login.lockout_secs, 60);
    assert!(c.mail.smtp_url.is_some());
    let mut expected = serde_json::to_value(Config::default()).unwrap();
    expected["login"]["lockout_secs"] = 60.into();
    expected["mail"]["smtp_url"] = "smtp://127.0.0.1:2525".into();
    assert_eq!(serde_json::to_value(&c).unwrap(), expected);
}

#[test]
fn sms_defaults_to_files_under_data() {
    use crate::notify::sms::SmsTransport;
    let c = load_str("").unwrap();
    assert_eq!(c.sms.transport, SmsTransport::File);
    assert_eq!(c.sms.dir, Path::new("data/sms"));
    assert_eq!(c.sms.twilio.base_url.as_str(), "https://api.twilio.com");
    assert_eq!(c.sms.webhook.timeout_secs, 5);
}

/// Each `[sms]` problem stops the load with a line naming the key.
#[test]
fn sms_errors_name_the_key() {
    const HOOK: &str = "[sms]\ntransport = \"webhook\"\n[sms.webhook]\n";
    const TWILIO: &str = "[sms]\ntransport = \"twilio\"\n[sms.twilio]\n";
    const SID: &str = "account_sid = \"AC0123456789abcdef0123456789abcdef\"\n";
    const TOKEN: &str = "auth_token = \"feedf00dfeedf00dfeedf00dfeedf00d\"\n";
    for (toml, key) in [
        (
            "[sms]\ntransport = \"carrier-pigeon\"\n".to_string(),
            "sms.transport",
        ),
        (
            HOOK.to_string(),
            "sms.webhook.url: required when sms.transport = \"webhook\"",
        ),
        (
            format!("{HOOK}url = \"https://sms.example.com/h\"\n"),
            "sms.webhook.secret: required when sms.transport = \"webhook\"",
        ),
        (
            format!("{HOOK}url = \"https://sms.example.com/h\"\nsecret = \"short\"\n"),
            "sms.webhook.secret: expected at least 16",
        ),
        (format!("{HOOK}url = \"ftp://x/\"\n"), "sms.webhook.url"),
        (
            "[sms.webhook]\ntimeout_secs = 0\n".to_string(),
            "sms.webhook.timeout_secs",
        ),
        (TWILIO.to_string(), "sms.twilio.account_sid: required"),
        (format!("{TWILIO}{SID}"), "sms.twilio.auth_token: required"),
        (
            format!("{TWILIO}{SID}{TOKEN}"),
            "sms.twilio.from or sms.twilio.messaging_service_sid: required",
        ),
        (
            format!(
                "{TWILIO}{SID}{TOKEN}from = \"+15005550006\"\nmessaging_service_sid = \"MG1\"\n"
            ),
            "set one of them, not both",
        ),
        (
            format!("{TWILIO}account_sid = \"AC/../x\"\n{TOKEN}from = \"+15005550006\"\n"),
            "sms.twilio.account_sid: expected",
        ),
        (
            "[sms.twilio]\nbase_url = \"not a url\"\n".to_string(),
            "sms.twilio.base_url",
        ),
        ("[sms.twilio]\nsid = \"AC1\"\n".to_string(), "sid"),
    ] {
        let err = load_str(&toml).unwrap_err().to_string();
        assert!(err.contains(key), "{toml}\n=> {err}");
    }
    let ok = load_str(&format!(
        "{TWILIO}{SID}{TOKEN}messaging_service_sid = \"MG1\"\n"
    ))
    .unwrap();
    assert!(ok.sms.twilio.from.is_none());
    // The token is never printed with the configuration.
    assert!(!format!("{ok:?}").contains("feedf00dfeedf00d"));
}
