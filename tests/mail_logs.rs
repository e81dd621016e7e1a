//! Mail logging, in its own test binary (see tests/common/logs.rs).

use crate::common;

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

#[tokio::test]
async fn logs_name_the_kind_and_domain_never_the_code() {
    let (logs, _guard) = common::logs::capture();

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

    let text = logs.text();
    assert!(text.contains("mail sent"), "{text}");
    assert!(text.contains("mail not sent"), "{text}");
    assert!(text.contains("mail written to file"), "{text}");
    assert!(text.contains("enrollment_code"), "{text}");
    assert!(text.contains("example.com"), "{text}");
    assert!(!text.contains("564738"), "{text}");
    assert!(!text.contains("ana@"), "{text}");
    assert!(!text.contains("verification"), "{text}");
}
