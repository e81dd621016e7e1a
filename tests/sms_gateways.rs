//! The SMS gateways through the library API (no sign-in needed): the file transport, the signed
//! webhook against a real receiving server that checks every signature, and the Twilio transport
//! against a local server speaking the Messaging API with its real error shapes. The last tests
//! go through a running server's `Notifier::send_sms` on both databases and through the binary.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::sms::twilio::TwilioReply;
use common::sms::{Reply, SmsSink, TwilioStub};
use common::{Backend, TestEnv, TestServer};
use gatehouse::notify::sms::{self, SmsConfig, SmsError, SmsKind, SmsMessage, SmsSender};
use gatehouse::web::templates::Templates;

const TO: &str = "+447700900123";
const SECRET: &str = "webhook-secret-0123456789";
const PUBLIC_URL: &str = "https://id.example.com";

fn sender(config: &SmsConfig) -> SmsSender {
    SmsSender::new(config, PUBLIC_URL, &common::themes_dir()).expect("SMS sender")
}

/// A sign-in code for `to`, rendered as the Notifier renders it.
fn message(sender: &SmsSender, to: &str, code: &str) -> SmsMessage {
    let kind = SmsKind::SignInCode {
        code: code.into(),
        minutes: 10,
    };
    let templates = Templates::new(&common::themes_dir());
    let body = sms::render(&templates, "default", "Acme", sender.host(), &kind).unwrap();
    SmsMessage::new("acme", to, kind.name(), body)
}

/// A sink and a sender posting to it.
async fn webhook() -> (SmsSink, SmsSender) {
    let sink = SmsSink::start(SECRET).await;
    let s = sender(&sink.config());
    (sink, s)
}

/// A Twilio stub and a sender using it with a `From` number.
async fn twilio() -> (TwilioStub, SmsSender) {
    let stub = TwilioStub::start().await;
    let s = sender(&stub.config_from(TwilioStub::FROM));
    (stub, s)
}

/// A final "try later": the gateway's last status (`None`: no answer at all).
fn assert_unavailable(err: &SmsError, expected: Option<u16>) {
    match err {
        SmsError::Unavailable { status, .. } => assert_eq!(*status, expected, "{err:?}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

fn webotp_line(code: &str) -> String {
    format!("\n\n@id.example.com #{code}")
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_file_transport_writes_one_private_json_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data/sms");
    let config = SmsConfig {
        dir: dir.clone(),
        ..SmsConfig::default()
    };
    let s = sender(&config);
    assert_eq!(mode(&dir), 0o700, "the folder is created private");
    let msg = message(&s, TO, "314159");
    let receipt = s.send(&msg).await.unwrap();
    assert_eq!(receipt.id, msg.id);
    assert_eq!(receipt.gateway_id, None);
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(files.len(), 1, "one file, no temporary left behind");
    let path = files[0].path();
    assert_eq!(path, dir.join(format!("{}.json", msg.id)));
    assert_eq!(mode(&path), 0o600);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(json["to"], TO);
    assert_eq!(json["kind"], "sign_in_code");
    assert_eq!(json["tenant"], "acme");
    assert_eq!(json["id"], msg.id.as_str());
    let body = json["body"].as_str().unwrap();
    assert!(body.starts_with("314159 "), "code first: {body}");
    assert!(body.ends_with(&webotp_line("314159")), "{body}");
    let created = json["created_at"].as_str().unwrap();
    time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
        .expect("created_at is RFC 3339");
}

#[tokio::test]
async fn the_webhook_is_signed_and_the_sink_verifies_it() {
    let (sink, s) = webhook().await;
    let msg = message(&s, TO, "271828");
    let receipt = s.send(&msg).await.unwrap();
    assert_eq!(receipt.id, msg.id);
    sink.assert_all_signed();
    let got = sink.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, msg.id);
    assert_eq!(got[0].to, TO);
    assert_eq!(got[0].kind.as_deref(), Some("sign_in_code"));
    assert_eq!(got[0].tenant.as_deref(), Some("acme"));
    assert!(got[0].body.ends_with(&webotp_line("271828")));
    assert_eq!(sink.wait_for_code(TO).await, "271828");

    // A receiver holding another secret refuses it: the check is real, and 401 is final.
    let other = SmsSink::start("another-secret-of-16-chars").await;
    let mut config = other.config();
    config.webhook.secret = Some(sms::Secret::new(SECRET));
    let err = sender(&config).send(&msg).await.unwrap_err();
    assert!(
        matches!(err, SmsError::Rejected { status: 401, .. }),
        "{err:?}"
    );
    assert_eq!(other.failures().len(), 1, "{:?}", other.failures());
    assert!(other.messages().is_empty());
}

#[tokio::test]
async fn a_webhook_answering_500_then_200_delivers_once_with_one_id() {
    let (sink, s) = webhook().await;
    sink.script([500, 200]);
    let msg = message(&s, TO, "161803");
    let receipt = s.send(&msg).await.unwrap();
    let attempts = sink.attempts();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert!(
        attempts.iter().all(|a| a.id == receipt.id),
        "the same id on every try"
    );
    assert_eq!(sink.requests_for(&receipt.id), 2);
    assert_eq!(sink.deliveries_of(&receipt.id), 1);
    assert_eq!(sink.messages().len(), 1);
    sink.assert_all_signed();
}

#[tokio::test]
async fn a_webhook_4xx_is_final() {
    let (sink, s) = webhook().await;
    sink.script([400]);
    let err = s.send(&message(&s, TO, "100000")).await.unwrap_err();
    match err {
        SmsError::Rejected {
            status,
            code,
            message,
        } => {
            assert_eq!(status, 400);
            assert_eq!(code.as_deref(), Some("scripted_400"), "the receiver's code");
            assert_eq!(message, "scripted failure");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sink.attempts().len(), 1, "no retry after a 4xx");
    assert!(sink.messages().is_empty());
    // 429 from a webhook is a 4xx like the others.
    sink.script([429]);
    let err = s.send(&message(&s, TO, "100000")).await.unwrap_err();
    assert!(
        matches!(err, SmsError::Rejected { status: 429, .. }),
        "{err:?}"
    );
    assert_eq!(sink.attempts().len(), 2);
}

#[tokio::test]
async fn a_webhook_that_times_out_or_fails_is_retried_then_unavailable() {
    let sink = SmsSink::start(SECRET).await;
    let mut config = sink.config();
    config.webhook.timeout_secs = 1;
    let s = sender(&config);
    sink.script([Reply::Hang(Duration::from_secs(3)); 3]);
    let started = Instant::now();
    let msg = message(&s, TO, "123123");
    let err = s.send(&msg).await.unwrap_err();
    assert_unavailable(&err, None);
    // Three hangs of 3 s would take 9 s without the 1 s timeout; the margin is for a loaded
    // machine (the backoff between tries is part of it).
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "bounded: {:?}",
        started.elapsed()
    );
    assert_eq!(sink.requests_for(&msg.id), 3, "three tries, one id");
    assert!(sink.messages().is_empty());

    sink.script([503, 502, 500]);
    let msg = message(&s, TO, "123123");
    let err = s.send(&msg).await.unwrap_err();
    assert_unavailable(&err, Some(500));
    assert_eq!(sink.requests_for(&msg.id), 3);
    sink.assert_all_signed();

    // Nobody listening: no connection, three quick tries, then unavailable.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    config.webhook.url =
        Some(sms::GatewayUrl::try_from(format!("http://127.0.0.1:{port}/sms")).unwrap());
    let err = sender(&config)
        .send(&message(&s, TO, "1"))
        .await
        .unwrap_err();
    assert_unavailable(&err, None);
}

#[tokio::test]
async fn twilio_sends_from_a_number_or_a_messaging_service() {
    let (stub, s) = twilio().await;
    let receipt = s.send(&message(&s, TO, "577215")).await.unwrap();
    let got = stub.wait_for(TO).await;
    assert_eq!(
        receipt.gateway_id.as_deref(),
        Some(got.id.as_str()),
        "the SM... sid"
    );
    assert!(got.id.starts_with("SM"));
    assert_eq!(got.from.as_deref(), Some(TwilioStub::FROM));
    assert_eq!(got.messaging_service_sid, None);
    assert!(got.body.ends_with(&webotp_line("577215")), "{}", got.body);

    let s = sender(&stub.config_service(TwilioStub::SERVICE_SID));
    s.send(&message(&s, TO, "414213")).await.unwrap();
    let got = stub.wait_for(TO).await;
    assert_eq!(got.from, None);
    assert_eq!(
        got.messaging_service_sid.as_deref(),
        Some(TwilioStub::SERVICE_SID)
    );
    assert_eq!(got.code().as_deref(), Some("414213"));
    assert_eq!(stub.requests(), [201, 201]);
    stub.assert_no_failures();
}

#[tokio::test]
async fn twilio_invalid_and_landline_numbers_are_rejected_with_their_code() {
    let (stub, s) = twilio().await;
    for (to, expected) in [
        (TwilioStub::INVALID_TO, "21211"),
        (TwilioStub::NOT_MOBILE, "21614"),
    ] {
        match s.send(&message(&s, to, "999999")).await.unwrap_err() {
            SmsError::Rejected {
                status,
                code,
                message,
            } => {
                assert_eq!(status, 400);
                assert_eq!(code.as_deref(), Some(expected));
                assert!(
                    !message.contains("5005550"),
                    "the number is blanked: {message}"
                );
                assert!(message.contains("[number]"), "{message}");
            }
            other => panic!("{to}: {other:?}"),
        }
    }
    assert_eq!(stub.requests(), [400, 400], "final at once");
    assert!(stub.messages().is_empty());
    stub.assert_no_failures();
}

#[tokio::test]
async fn twilio_429_then_201_delivers_once_and_5xx_gives_up() {
    let (stub, s) = twilio().await;
    stub.script([TwilioReply::TooManyRequests, TwilioReply::Created]);
    let receipt = s.send(&message(&s, TO, "662607")).await.unwrap();
    assert_eq!(stub.requests(), [429, 201]);
    assert_eq!(stub.messages().len(), 1);
    assert_eq!(
        receipt.gateway_id.as_deref(),
        Some(stub.messages()[0].id.as_str())
    );

    stub.script([TwilioReply::ServerError; 3]);
    let err = s.send(&message(&s, TO, "662607")).await.unwrap_err();
    assert_unavailable(&err, Some(500));
    assert_eq!(stub.requests().len(), 5, "three tries for the 500s");
    stub.assert_no_failures();
}

/// `Retry-After` is honoured when it is short (the second try waits as long as asked) and
/// ends the send at once when it is longer than a sign-in page can wait.
#[tokio::test]
async fn twilio_retry_after_is_honoured_within_a_bound() {
    let (stub, s) = twilio().await;
    stub.script([TwilioReply::RetryAfter(1), TwilioReply::Created]);
    let started = Instant::now();
    s.send(&message(&s, TO, "662607")).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited as asked"
    );
    assert_eq!(stub.requests(), [429, 201]);

    stub.script([TwilioReply::RetryAfter(60), TwilioReply::Created]);
    let started = Instant::now();
    let err = s.send(&message(&s, TO, "662607")).await.unwrap_err();
    assert_unavailable(&err, Some(429));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "not held for a minute"
    );
    assert_eq!(stub.requests(), [429, 201, 429], "no second try");
    assert_eq!(stub.messages().len(), 1);
}

#[tokio::test]
async fn twilio_with_a_wrong_token_is_refused_by_the_stub() {
    let stub = TwilioStub::start().await;
    let mut config = stub.config_from(TwilioStub::FROM);
    config.twilio.auth_token = Some(sms::Secret::new("not-the-token"));
    let s = sender(&config);
    let err = s.send(&message(&s, TO, "1")).await.unwrap_err();
    assert!(
        matches!(&err, SmsError::Rejected { status: 401, code: Some(c), .. } if c == "20003"),
        "{err:?}"
    );
    assert_eq!(stub.failures().len(), 1);
}

#[tokio::test]
async fn a_number_not_in_e164_form_is_never_sent() {
    let (sink, s) = webhook().await;
    let err = s.send(&message(&s, "07700900123", "1")).await.unwrap_err();
    assert!(
        matches!(err, SmsError::Rejected { status: 400, .. }),
        "{err:?}"
    );
    assert!(sink.attempts().is_empty());
}

#[test]
fn a_sender_is_not_built_from_an_incomplete_set_up() {
    let config = SmsConfig {
        transport: sms::SmsTransport::Twilio,
        ..SmsConfig::default()
    };
    let err = SmsSender::new(&config, PUBLIC_URL, &common::themes_dir()).unwrap_err();
    assert!(err.to_string().contains("sms.twilio.account_sid"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    let err = SmsSender::new(&SmsConfig::default(), PUBLIC_URL, empty.path()).unwrap_err();
    assert!(err.to_string().contains("missing SMS template"), "{err}");
}

/// `serve` refuses to start on a broken `[sms]`, naming the key; the secret can come from the
/// environment.
#[tokio::test]
async fn serve_stops_naming_the_sms_key() {
    let env = TestEnv::new(Backend::Sqlite).await;
    for (vars, key) in [
        (vec![("GATEHOUSE_SMS__TRANSPORT", "fax")], "sms.transport"),
        (
            vec![("GATEHOUSE_SMS__TRANSPORT", "webhook")],
            "sms.webhook.url: required",
        ),
        (
            vec![
                ("GATEHOUSE_SMS__TRANSPORT", "twilio"),
                ("GATEHOUSE_SMS__TWILIO__ACCOUNT_SID", "AC1"),
            ],
            "sms.twilio.auth_token: required",
        ),
    ] {
        let out = env
            .command(&["serve"])
            .envs(vars.clone())
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{vars:?}: {stderr}");
        assert!(stderr.contains(key), "{vars:?}: {stderr}");
    }
}

/// Through a running server: the Notifier built at start-up texts the tenant's code through
/// the webhook, with the WebOTP line naming the server's host.
async fn the_server_notifier_sends(backend: Backend) {
    let sink = SmsSink::start(SECRET).await;
    let server = TestServer::start_with(TestEnv::new(backend).await.with_sms_webhook(&sink)).await;
    server.tenant("acme", &["--name", "Acme"]).await;
    let tenant = server.state.tenant("acme").await.unwrap();
    let kind = SmsKind::SetupCode {
        code: "246810".into(),
        minutes: 10,
    };
    let receipt = server
        .state
        .notifier
        .send_sms(&tenant, TO, kind)
        .await
        .unwrap();
    let got = sink.wait_for(TO).await;
    assert_eq!(got.id, receipt.id);
    assert_eq!(got.kind.as_deref(), Some("setup_code"));
    assert_eq!(got.tenant.as_deref(), Some("acme"));
    assert!(got.body.starts_with("246810 "), "{}", got.body);
    assert!(got.body.contains("Acme"), "{}", got.body);
    assert!(got.body.ends_with("\n\n@127.0.0.1 #246810"), "{}", got.body);
    sink.assert_all_signed();
}
both_backends!(
    the_server_notifier_sends_through_the_webhook,
    super::the_server_notifier_sends
);

/// The embedded default writes files where an operator (and a test) can read them.
async fn the_default_is_files(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.tenant("acme", &[]).await;
    let tenant = server.state.tenant("acme").await.unwrap();
    let kind = SmsKind::SignInCode {
        code: "135791".into(),
        minutes: 5,
    };
    server
        .state
        .notifier
        .send_sms(&tenant, TO, kind)
        .await
        .unwrap();
    assert_eq!(server.env.last_sms_file_code(TO).as_deref(), Some("135791"));
}
both_backends!(
    the_default_transport_writes_files,
    super::the_default_is_files
);
