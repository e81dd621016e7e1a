//! Mail logging, in its own test binary: `tracing` caches per-callsite interest process-wide,
//! so a log-capturing test that shares a binary with other (parallel) tests is flaky.

mod common;

use std::sync::Mutex;

use common::smtp::SmtpServer;
use gatehouse::notify::mail::{MailConfig, MailKind, Mailer};
use gatehouse::web::templates::Templates;

const TO: &str = "ana@example.com";

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

/// Collects log output for one current-thread test.
#[derive(Clone, Default)]
struct LogBuf(std::sync::Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_name_the_kind_and_domain_never_the_code() {
    let logs = LogBuf::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (smtp, mailer, templates) = smtp_mailer().await;
    mailer
        .notify(&templates, "default", "Acme", TO, code("564738"))
        .await
        .unwrap();
    smtp.reject_recipients(true);
    let _ = mailer
        .notify(&templates, "default", "Acme", TO, code("564738"))
        .await
        .unwrap_err();
    let dir = tempfile::tempdir().unwrap();
    let file_config = MailConfig {
        dir: dir.path().to_path_buf(),
        ..MailConfig::default()
    };
    Mailer::new(&file_config, &themes())
        .unwrap()
        .notify(&templates, "default", "Acme", TO, code("564738"))
        .await
        .unwrap();

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("mail sent"), "{text}");
    assert!(text.contains("mail not sent"), "{text}");
    assert!(text.contains("mail written to file"), "{text}");
    assert!(text.contains("enrollment_code"), "{text}");
    assert!(text.contains("example.com"), "{text}");
    assert!(!text.contains("564738"), "{text}");
    assert!(!text.contains("ana@"), "{text}");
    assert!(!text.contains("verification"), "{text}");
}
