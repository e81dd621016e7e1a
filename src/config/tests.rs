use super::*;
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
