//! Outbound mail: every message kind through real SMTP (the test server in `common::smtp`), the
//! file transport, configuration errors that name the key, and failures that return in time.

use crate::common;

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::smtp::{SmtpServer, decode_qp, decode_words, path_arg};
use gatehouse::config::Config;
use gatehouse::notify::mail::{
    MailConfig, MailError, MailKind, MailTransport, Mailer, SmtpUrl, render,
};
use gatehouse::web::templates::Templates;
use lettre::Message;

const TO: &str = "ana@example.com";
const WAIT: Duration = Duration::from_secs(5);
const NOT_YOU: &str = "If this was not you";

fn themes() -> std::path::PathBuf {
    common::themes_dir()
}

async fn smtp_mailer() -> (SmtpServer, Mailer, Templates) {
    let smtp = SmtpServer::start().await;
    let mailer = Mailer::new(&smtp.mail_config(), &themes()).unwrap();
    (smtp, mailer, Templates::new(&themes()))
}

fn code(code: &str) -> MailKind {
    MailKind::EnrollmentCode {
        code: code.into(),
        minutes: 10,
    }
}

#[tokio::test]
async fn every_kind_is_delivered_with_its_subject_and_body() {
    let (smtp, mailer, templates) = smtp_mailer().await;
    // A non-ASCII tenant name makes lettre encode the subject/body; the server decodes them.
    let tenant = "Acme Café";
    let cases: Vec<(MailKind, &str, Vec<&str>)> = vec![
        (
            code("482913"),
            "Your verification code",
            vec!["    482913", "expires in 10 minutes", "Acme Café"],
        ),
        (
            MailKind::SignInCode {
                code: "004711".into(),
                minutes: 5,
            },
            "Your sign-in code",
            vec![
                "    004711",
                "expires in 5 minutes",
                "signing in to Acme Café",
            ],
        ),
        (
            MailKind::MfaEnabled {
                method_label: "Authenticator app \"Pixel\"".into(),
            },
            "Two-factor authentication was turned on",
            vec!["with this method: Authenticator app \"Pixel\"."],
        ),
        (
            MailKind::MfaFactorRemoved {
                method_label: "Security key <YubiKey>".into(),
            },
            "A two-factor method was removed",
            // Plain text: nothing is HTML-escaped.
            vec!["removed from your Acme Café account: Security key <YubiKey>."],
        ),
        (
            MailKind::RecoveryCodeUsed { remaining: 7 },
            "A recovery code was used",
            vec!["You have 7 recovery codes left."],
        ),
        (
            MailKind::RecoveryCodeUsed { remaining: 0 },
            "A recovery code was used",
            vec!["You have no recovery codes left"],
        ),
        (
            MailKind::RecoveryCodesRegenerated,
            "New recovery codes were generated",
            vec!["The old codes no longer work."],
        ),
        (
            MailKind::MfaReset,
            "Two-factor authentication was reset",
            vec![
                "An administrator removed all two-factor methods",
                "If you did not ask for this, contact your Acme Café administrator",
            ],
        ),
        (
            MailKind::PasswordChanged,
            "Your password was changed",
            vec![
                "The password of your Acme Café account was changed",
                "If you did not change it, choose \"Forgot your password?\"",
            ],
        ),
        (
            MailKind::VerifyEmail {
                code: "123456".into(),
                minutes: 30,
                link: "https://id.example.com/t/acme/register/confirm?token=abc".into(),
            },
            "Confirm your email address",
            vec![
                "https://id.example.com/t/acme/register/confirm?token=abc",
                "    123456",
                "30 minutes",
            ],
        ),
        (
            MailKind::AccountExists,
            "Someone tried to create an account with your address",
            vec!["no second one was created", "Forgot your password?"],
        ),
        (
            MailKind::PasswordReset {
                code: "654321".into(),
                minutes: 30,
                link: "https://id.example.com/t/acme/reset/confirm?token=def".into(),
            },
            "Reset your password",
            vec![
                "https://id.example.com/t/acme/reset/confirm?token=def",
                "    654321",
                "two-factor",
            ],
        ),
    ];
    for (kind, subject, needles) in cases {
        let security = kind.is_security_notice();
        let name = kind.name();
        mailer
            .notify(&templates, "default", tenant, TO, kind)
            .await
            .unwrap();
        let mail = smtp.wait_for(TO, WAIT).await;
        assert_eq!(mail.subject, subject, "{name}");
        assert_eq!(mail.rcpt_to, vec![TO.to_string()], "{name}");
        assert_eq!(mail.mail_from, "no-reply@localhost", "{name}");
        assert_eq!(mail.to, TO, "{name}");
        assert_eq!(mail.from, "Gatehouse <no-reply@localhost>", "{name}");
        assert!(
            mail.header("Content-Type")
                .unwrap()
                .starts_with("text/plain; charset=utf-8"),
            "{name}: {:?}",
            mail.header("Content-Type")
        );
        let id = mail.header("Message-ID").unwrap();
        assert!(
            id.starts_with('<') && id.ends_with("@localhost>"),
            "{name}: {id}"
        );
        assert!(mail.header("Date").is_some(), "{name}");
        assert!(mail.body.starts_with("Hello,\n\n"), "{name}: {}", mail.body);
        assert!(
            mail.body.ends_with("replies are not read.)\n"),
            "{name}: {:?}",
            mail.body
        );
        assert!(!mail.body.contains("\n\n\n"), "{name}: {}", mail.body);
        for n in needles {
            assert!(mail.body.contains(n), "{name}: {n:?} not in\n{}", mail.body);
        }
        if security {
            assert!(
                mail.body.contains(" UTC for the account ana@example.com."),
                "{name}"
            );
            if !["mfa_reset", "password_changed", "account_exists"].contains(&name) {
                assert!(mail.body.contains(NOT_YOU), "{name}: {}", mail.body);
            }
        } else {
            assert!(!mail.body.contains(" UTC "), "{name}");
        }
    }
    assert_eq!(smtp.count_to(TO), 12);
}

#[tokio::test]
async fn wait_for_hands_out_each_mail_once_and_last_to_peeks() {
    let (smtp, mailer, templates) = smtp_mailer().await;
    for c in ["111111", "222222"] {
        mailer
            .notify(&templates, "default", "Acme", TO, code(c))
            .await
            .unwrap();
    }
    mailer
        .notify(
            &templates,
            "default",
            "Acme",
            "bo@example.org",
            code("333333"),
        )
        .await
        .unwrap();
    assert_eq!(smtp.last_to(TO).unwrap().code().unwrap(), "222222");
    assert_eq!(smtp.wait_for(TO, WAIT).await.code().unwrap(), "111111");
    assert_eq!(smtp.wait_for(TO, WAIT).await.code().unwrap(), "222222");
    assert_eq!(
        smtp.last_to("BO@example.org").unwrap().code().unwrap(),
        "333333"
    );
    assert_eq!(smtp.messages().len(), 3);
    // A mail that arrives while waiting wakes the waiter.
    let later = {
        let (mailer, templates) = (mailer.clone(), Templates::new(&themes()));
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            mailer
                .notify(&templates, "default", "Acme", TO, code("444444"))
                .await
                .unwrap();
        })
    };
    assert_eq!(smtp.wait_for(TO, WAIT).await.code().unwrap(), "444444");
    later.await.unwrap();
}

#[tokio::test]
async fn raw_messages_keep_dots_and_long_lines() {
    let (smtp, mailer, _) = smtp_mailer().await;
    let long = "x".repeat(300);
    let body = format!(".leading dot\n..two dots\n.\nmiddle\n{long}\nend\n");
    let msg = Message::builder()
        .from(mailer.from().clone())
        .to(TO.parse().unwrap())
        .subject("dots")
        .body(body.clone())
        .unwrap();
    mailer.send(msg).await.unwrap();
    let mail = smtp.wait_for(TO, WAIT).await;
    assert_eq!(mail.subject, "dots");
    assert_eq!(mail.body.trim_end(), body.trim_end());
}

#[tokio::test]
async fn a_theme_overrides_mail_templates_by_file_name() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(themes().join("default"), dir.path().join("default")).unwrap();
    std::fs::create_dir_all(dir.path().join("acme/mail")).unwrap();
    std::fs::write(
        dir.path().join("acme/mail/base.txt"),
        "[Acme] {% block subject %}{% endblock %}\n{% block body %}{% endblock %}\nCall the Acme desk.\n",
    )
    .unwrap();
    let templates = Templates::new(dir.path());
    let at = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    // acme has only base.txt: the default mail is used inside acme's base.
    let m = render(&templates, "acme", "Acme", TO, &code("123456"), at).unwrap();
    assert_eq!(m.subject, "[Acme] Your verification code");
    assert!(m.body.contains("    123456\n"), "{}", m.body);
    assert!(m.body.ends_with("Call the Acme desk.\n"), "{}", m.body);
    // Other themes still get the default base; the time is UTC.
    let m = render(&templates, "other", "Acme", TO, &MailKind::MfaReset, at).unwrap();
    assert_eq!(m.subject, "Two-factor authentication was reset");
    assert!(
        m.body.contains("This happened on 2023-11-14 22:13 UTC"),
        "{}",
        m.body
    );
}

#[tokio::test]
async fn file_transport_writes_a_readable_eml() {
    let dir = tempfile::tempdir().unwrap();
    let mail_dir = dir.path().join("data/mail");
    let config = MailConfig {
        dir: mail_dir.clone(),
        ..MailConfig::default()
    };
    assert_eq!(config.effective_transport(), MailTransport::File);
    let mailer = Mailer::new(&config, &themes()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&mail_dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    let templates = Templates::new(&themes());
    mailer
        .notify(&templates, "default", "Acme", TO, code("918273"))
        .await
        .unwrap();
    let files: Vec<_> = std::fs::read_dir(&mail_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().unwrap(), "eml");
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(eml.contains("Subject: Your verification code\r\n"), "{eml}");
    assert!(eml.contains("To: ana@example.com\r\n"), "{eml}");
    assert!(
        eml.contains("From: Gatehouse <no-reply@localhost>\r\n"),
        "{eml}"
    );
    assert!(eml.contains("\r\n    918273\r\n"), "{eml}");
}

#[tokio::test]
async fn sending_to_a_closed_port_fails_quickly() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = MailConfig {
        smtp_url: Some(SmtpUrl::try_from(format!("smtp://127.0.0.1:{port}")).unwrap()),
        ..MailConfig::default()
    };
    assert_eq!(config.effective_transport(), MailTransport::Smtp);
    let mailer = Mailer::new(&config, &themes()).unwrap();
    let started = Instant::now();
    let err = mailer
        .notify(&Templates::new(&themes()), "default", "Acme", TO, code("1"))
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Smtp(_)), "{err:?}");
    assert!(
        started.elapsed() < config.timeout(),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            open.push(s); // accept, never greet
        }
    });
    let config = MailConfig {
        smtp_url: Some(SmtpUrl::try_from(format!("smtp://{addr}")).unwrap()),
        timeout_secs: 1,
        ..MailConfig::default()
    };
    let mailer = Mailer::new(&config, &themes()).unwrap();
    let started = Instant::now();
    let err = mailer
        .notify(&Templates::new(&themes()), "default", "Acme", TO, code("1"))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(err, MailError::Timeout(_) | MailError::Smtp(_)),
        "{err:?}"
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
    hold.abort();
}

#[tokio::test]
async fn a_rejected_recipient_or_address_is_an_error() {
    let (smtp, mailer, templates) = smtp_mailer().await;
    smtp.reject_recipients(true);
    let err = mailer
        .notify(&templates, "default", "Acme", TO, MailKind::MfaReset)
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Smtp(_)), "{err:?}");
    smtp.reject_recipients(false);
    let err = mailer
        .notify(
            &templates,
            "default",
            "Acme",
            "not an address",
            MailKind::MfaReset,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Recipient(_)), "{err:?}");
    assert!(smtp.messages().is_empty());
}

// Config::load reads GATEHOUSE_* variables: tests that load or set them take turns.
static ENV: Mutex<()> = Mutex::new(());

fn load(toml: &str) -> Result<Config, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, toml).unwrap();
    Config::load(&path, true).map_err(|e| e.to_string())
}

#[test]
fn bad_mail_settings_name_the_key() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    for (toml, key, hint) in [
        (
            "[mail]\nsmtp_url = \"http://mail.example.com\"\n",
            "mail.smtp_url",
            "smtp://",
        ),
        (
            "[mail]\nsmtp_url = \"not a url\"\n",
            "mail.smtp_url",
            "smtps://",
        ),
        (
            "[mail]\nsmtp_url = \"smtp://h.example.com?tls=maybe\"\n",
            "mail.smtp_url",
            "tls=required",
        ),
        ("[mail]\nfrom = \"Gatehouse\"\n", "mail.from", "no-reply@"),
        ("[mail]\nfrom = \"a@b@c\"\n", "mail.from", "mailbox"),
        ("[mail]\ntransport = \"pigeon\"\n", "mail.transport", "file"),
        ("[mail]\nsmtp_host = \"x\"\n", "smtp_host", "mail"),
    ] {
        let err = load(toml).unwrap_err();
        assert!(err.contains(key), "{toml}: {err}");
        assert!(err.contains(hint), "{toml}: {err}");
    }
    // A password in the URL is never echoed in the error.
    let err = load("[mail]\nsmtp_url = \"smtp://u:s3cret@h.example.com?tls=nope\"\n").unwrap_err();
    assert!(!err.contains("s3cret"), "{err}");

    // Together: smtp without a URL is refused at load (Config::validate calls
    // MailConfig::validate), by validate() itself, and by Mailer::new.
    let err = load("[mail]\ntransport = \"smtp\"\n").unwrap_err();
    assert!(err.contains("mail.smtp_url"), "{err}");
    let c = MailConfig {
        transport: Some(MailTransport::Smtp),
        ..MailConfig::default()
    };
    let err = c.validate().unwrap_err();
    assert!(err.contains("mail.smtp_url"), "{err}");
    let err = Mailer::new(&c, &themes()).unwrap_err().to_string();
    assert!(err.contains("mail.smtp_url"), "{err}");
}

#[test]
fn mail_settings_load_from_file_and_environment() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let c = load("").unwrap();
    assert_eq!(c.mail.effective_transport(), MailTransport::File);
    assert_eq!(c.mail.dir, Path::new("data/mail"));
    assert_eq!(
        c.mail.from.mailbox().to_string(),
        "Gatehouse <no-reply@localhost>"
    );
    assert_eq!(c.mail.timeout_secs, 10);
    c.mail.validate().unwrap();
    // The shipped config.toml says the same.
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
    let c = Config::load(&shipped, true).unwrap();
    assert_eq!(c.mail.effective_transport(), MailTransport::File);
    assert_eq!(c.mail.dir, Path::new("data/mail"));
    assert_eq!(c.mail.from, MailConfig::default().from);

    let c = load(
        "[mail]\nsmtp_url = \"smtps://u%40x:p%3Aw@mail.example.com\"\nfrom = \"Acme ID <id@acme.example>\"\n",
    )
    .unwrap();
    assert_eq!(c.mail.effective_transport(), MailTransport::Smtp);
    assert_eq!(c.mail.from.mailbox().email.to_string(), "id@acme.example");
    let debug = format!("{:?}", c.mail);
    assert!(!debug.contains("p%3Aw"), "{debug}");

    // An explicit transport wins over a configured URL.
    let c =
        load("[mail]\ntransport = \"file\"\nsmtp_url = \"smtp://127.0.0.1:2525?tls=required\"\n")
            .unwrap();
    assert_eq!(c.mail.effective_transport(), MailTransport::File);

    // SAFETY: every test in this binary that reads the environment holds ENV.
    unsafe { std::env::set_var("GATEHOUSE_MAIL__SMTP_URL", "smtp://127.0.0.1:2525") };
    let ok = load("");
    unsafe { std::env::set_var("GATEHOUSE_MAIL__SMTP_URL", "ftp://127.0.0.1") };
    let bad = load("");
    unsafe { std::env::remove_var("GATEHOUSE_MAIL__SMTP_URL") };
    let c = ok.unwrap();
    assert_eq!(
        c.mail.smtp_url.as_ref().unwrap().as_str(),
        "smtp://127.0.0.1:2525"
    );
    assert_eq!(c.mail.effective_transport(), MailTransport::Smtp);
    let err = bad.unwrap_err();
    assert!(err.contains("mail.smtp_url"), "{err}");
    assert!(err.contains("GATEHOUSE_"), "{err}");
}

#[test]
fn test_server_decoders() {
    assert_eq!(
        decode_qp("caf=C3=A9 =3D x=\nyz\nend"),
        "café = xyz\nend".as_bytes()
    );
    assert_eq!(decode_qp("a  \nb\n"), b"a\nb\n");
    assert_eq!(
        decode_words("=?utf-8?b?Q2Fmw6k=?=  =?utf-8?q?_au_lait?= ok"),
        "Café au lait ok"
    );
    assert_eq!(decode_words("plain  subject"), "plain  subject");
    assert_eq!(path_arg("FROM:<a@b> SIZE=10", "FROM:").unwrap(), "a@b");
    assert_eq!(path_arg("to: <c@d>", "TO:").unwrap(), "c@d");
    assert_eq!(path_arg("FROM:<>", "FROM:").unwrap(), "");
    assert!(path_arg("TO:c@d", "TO:").is_none());
}

#[tokio::test]
async fn starttls_required_is_never_downgraded() {
    // The test server offers no STARTTLS: a `tls=required` URL must fail, not send in clear.
    let smtp = SmtpServer::start().await;
    let config = MailConfig {
        smtp_url: Some(SmtpUrl::try_from(format!("{}?tls=required", smtp.url())).unwrap()),
        timeout_secs: 5,
        ..MailConfig::default()
    };
    let mailer = Mailer::new(&config, &themes()).unwrap();
    let err = mailer
        .notify(&Templates::new(&themes()), "default", "Acme", TO, code("1"))
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Smtp(_)), "{err:?}");
    assert!(smtp.messages().is_empty());
}
