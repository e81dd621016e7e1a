//! SMS logging, in its own test binary (see tests/common/logs.rs).
//! A sent and a failed text each log one line with the country calling code and the gateway's
//! status and code, never the code, the body or the whole number.

use crate::common;

use common::sms::TwilioStub;
use gatehouse::notify::sms::{self, SmsKind, SmsMessage, SmsSender};
use gatehouse::web::templates::Templates;

#[tokio::test]
async fn logs_carry_the_country_and_the_gateway_code_only() {
    let (logs, _guard) = common::logs::capture();
    let stub = TwilioStub::start().await;
    let sender = SmsSender::new(
        &stub.config_from(TwilioStub::FROM),
        "https://id.example.com",
        &common::themes_dir(),
    )
    .unwrap();
    let templates = Templates::new(&common::themes_dir());
    let send = |to: &'static str| {
        let kind = SmsKind::SignInCode {
            code: "864209".into(),
            minutes: 10,
        };
        let body = sms::render(&templates, "default", "Acme", sender.host(), &kind).unwrap();
        let msg = SmsMessage::new("acme", to, kind.name(), body);
        let sender = sender.clone();
        async move { sender.send(&msg).await }
    };
    send("+447700900123").await.unwrap();
    send(TwilioStub::NOT_MOBILE).await.unwrap_err();

    let text = logs.text();
    let sent: Vec<&str> = text.lines().filter(|l| l.contains("sms sent")).collect();
    let failed: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("sms not sent"))
        .collect();
    assert_eq!(sent.len(), 1, "{text}");
    assert_eq!(failed.len(), 1, "one line per failed delivery: {text}");
    assert!(
        sent[0].contains("country=\"+44\"") || sent[0].contains("country=+44"),
        "{text}"
    );
    assert!(failed[0].contains("+1"), "{text}");
    assert!(failed[0].contains("status=400"), "{text}");
    assert!(failed[0].contains("21614"), "{text}");
    for secret in [
        "864209",
        "7700900123",
        "5005550009",
        "Acme sign-in",
        TwilioStub::AUTH_TOKEN,
    ] {
        assert!(!text.contains(secret), "{secret} logged: {text}");
    }
}
