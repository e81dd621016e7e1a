//! Real SMS gateways for tests, each an HTTP server on 127.0.0.1:0:
//!
//! - [`SmsSink`] receives Gatehouse's webhook: it checks the timestamp and the HMAC signature
//!   of every POST (a bad one gets 401 and is recorded: `assert_all_signed`), drops duplicate
//!   ids like a real receiver, and answers a scripted sequence of statuses.
//! - [`TwilioStub`] speaks Twilio's Messaging API: Basic auth and the form fields are checked,
//!   a message resource with a `sid` comes back (201), and errors have Twilio's real shapes
//!   (21211, 21614, 20429, 500), scripted or triggered by Twilio's magic test numbers.
//!
//! ```ignore
//! let sink = SmsSink::start("a-webhook-secret-of-16+").await;
//! let env = TestEnv::new(backend).await.with_sms_webhook(&sink);
//! // ... a sign-in texts a code to +447700900123 ...
//! let code = sink.wait_for_code("+447700900123").await;
//! sink.assert_all_signed();
//! ```

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse::notify::sms::{GatewayUrl, Secret, SmsConfig, SmsTransport};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::Notify;

use super::TestEnv;

/// How long `wait_for` waits for a message.
const WAIT: Duration = Duration::from_secs(10);

/// One delivered text message.
#[derive(Debug, Clone)]
pub struct Sms {
    /// Gatehouse's id (webhook) or the stub's `SM...` sid (Twilio).
    pub id: String,
    pub to: String,
    pub body: String,
    /// Webhook only: `sign_in_code` or `setup_code`, and the tenant's slug.
    pub kind: Option<String>,
    pub tenant: Option<String>,
    /// Twilio only: the sender fields as posted.
    pub from: Option<String>,
    pub messaging_service_sid: Option<String>,
}

impl Sms {
    /// The code of the WebOTP line (`@host #123456`), the last line of every message.
    pub fn code(&self) -> Option<String> {
        let last = self.body.lines().last()?;
        let (_, code) = last.rsplit_once(" #")?;
        (code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())).then(|| code.to_owned())
    }
}

/// Messages in arrival order; `wait_for` hands out each one once, oldest first, per number.
#[derive(Default)]
struct Inbox {
    messages: Mutex<(Vec<Sms>, HashSet<usize>)>,
    arrived: Notify,
}

impl Inbox {
    fn push(&self, sms: Sms) {
        self.messages.lock().unwrap().0.push(sms);
        self.arrived.notify_waiters();
    }

    fn all(&self) -> Vec<Sms> {
        self.messages.lock().unwrap().0.clone()
    }

    async fn wait_for(&self, to: &str) -> Sms {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let arrived = self.arrived.notified();
            {
                let mut guard = self.messages.lock().unwrap();
                let (messages, taken) = &mut *guard;
                if let Some(i) =
                    (0..messages.len()).find(|i| messages[*i].to == to && !taken.contains(i))
                {
                    taken.insert(i);
                    return messages[i].clone();
                }
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                let seen: Vec<String> = self.all().iter().map(|m| m.to.clone()).collect();
                panic!("no new SMS to {to} within {WAIT:?}; received for: {seen:?}");
            }
        }
    }

    async fn wait_for_code(&self, to: &str) -> String {
        let sms = self.wait_for(to).await;
        sms.code()
            .unwrap_or_else(|| panic!("no `@host #code` line in: {}", sms.body))
    }
}

/// A server that runs until dropped.
struct Running {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(router: axum::Router) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Running { addr, task }
}

/// What the sink answers to the next POST.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    Status(u16),
    /// Answer nothing for this long (then 503): Gatehouse's timeout fires first.
    Hang(Duration),
}

impl From<u16> for Reply {
    fn from(s: u16) -> Reply {
        Reply::Status(s)
    }
}

/// One POST the sink answered: the message id and the status (`None`: it hung).
#[derive(Debug, Clone)]
pub struct Attempt {
    pub id: String,
    pub status: Option<u16>,
    pub timestamp: i64,
}

#[derive(Default)]
struct SinkState {
    secret: String,
    script: Mutex<VecDeque<Reply>>,
    attempts: Mutex<Vec<Attempt>>,
    failures: Mutex<Vec<String>>,
    delivered: Mutex<HashSet<String>>,
    inbox: Inbox,
}

/// The webhook receiver. See the module docs.
pub struct SmsSink {
    server: Running,
    state: Arc<SinkState>,
}

/// Lowercase hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl SmsSink {
    pub async fn start(secret: &str) -> SmsSink {
        let state = Arc::new(SinkState {
            secret: secret.to_owned(),
            ..SinkState::default()
        });
        let router = axum::Router::new()
            .route("/sms", axum::routing::post(receive))
            .with_state(state.clone());
        SmsSink {
            server: run(router).await,
            state,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/sms", self.server.addr)
    }

    /// `[sms]` sending to this sink (2 s per try, so a hang costs little).
    pub fn config(&self) -> SmsConfig {
        let mut c = SmsConfig {
            transport: SmsTransport::Webhook,
            ..SmsConfig::default()
        };
        c.webhook.url = Some(GatewayUrl::try_from(self.url()).unwrap());
        c.webhook.secret = Some(Secret::new(self.state.secret.clone()));
        c.webhook.timeout_secs = 2;
        c
    }

    /// The answers to the next POSTs, in order; after them, 200.
    pub fn script<R: Into<Reply>>(&self, replies: impl IntoIterator<Item = R>) {
        let mut script = self.state.script.lock().unwrap();
        script.extend(replies.into_iter().map(Into::into));
    }

    /// Delivered messages, one per id however often it was posted.
    pub fn messages(&self) -> Vec<Sms> {
        self.state.inbox.all()
    }

    /// Every signed POST, in order.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.state.attempts.lock().unwrap().clone()
    }

    /// How many signed POSTs carried `id`, and how many of those were answered 2xx.
    pub fn requests_for(&self, id: &str) -> usize {
        self.attempts().iter().filter(|a| a.id == id).count()
    }

    pub fn deliveries_of(&self, id: &str) -> usize {
        self.attempts()
            .iter()
            .filter(|a| a.id == id && a.status.is_some_and(|s| (200..300).contains(&s)))
            .count()
    }

    /// Why POSTs were refused (bad or stale signature, malformed body).
    pub fn failures(&self) -> Vec<String> {
        self.state.failures.lock().unwrap().clone()
    }

    pub fn assert_all_signed(&self) {
        assert!(
            self.failures().is_empty(),
            "webhook requests refused: {:?}",
            self.failures()
        );
    }

    pub async fn wait_for(&self, to: &str) -> Sms {
        self.state.inbox.wait_for(to).await
    }

    /// The code of the next message to `to` (from its `@host #code` line).
    pub async fn wait_for_code(&self, to: &str) -> String {
        self.state.inbox.wait_for_code(to).await
    }
}

fn refuse(state: &SinkState, status: StatusCode, why: String) -> Response {
    state.failures.lock().unwrap().push(why.clone());
    (status, why).into_response()
}

/// Checks like a receiver following docs/sms.md: timestamp within 5 minutes, then the HMAC in
/// constant time, then the JSON.
async fn receive(State(state): State<Arc<SinkState>>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let Ok(timestamp) = header("x-gatehouse-timestamp").parse::<i64>() else {
        return refuse(
            &state,
            StatusCode::UNAUTHORIZED,
            "no X-Gatehouse-Timestamp".into(),
        );
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if (now - timestamp).abs() > 300 {
        return refuse(
            &state,
            StatusCode::UNAUTHORIZED,
            format!("stale timestamp {timestamp}"),
        );
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(state.secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&body);
    let expected = format!("v1={}", hex(&mac.finalize().into_bytes()));
    let given = header("x-gatehouse-signature");
    use subtle::ConstantTimeEq;
    if given.len() != expected.len() || !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        return refuse(
            &state,
            StatusCode::UNAUTHORIZED,
            format!("bad signature {given:?}"),
        );
    }
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let field = |k: &str| json[k].as_str().map(str::to_owned);
    let (Some(id), Some(to), Some(text), Some(kind), Some(tenant)) = (
        field("id"),
        field("to"),
        field("body"),
        field("kind"),
        field("tenant"),
    ) else {
        return refuse(
            &state,
            StatusCode::BAD_REQUEST,
            format!("malformed body {json}"),
        );
    };
    let reply = state
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Reply::Status(200));
    let status = match reply {
        Reply::Hang(d) => {
            state.attempts.lock().unwrap().push(Attempt {
                id,
                status: None,
                timestamp,
            });
            tokio::time::sleep(d).await;
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        Reply::Status(s) => s,
    };
    state.attempts.lock().unwrap().push(Attempt {
        id: id.clone(),
        status: Some(status),
        timestamp,
    });
    if (200..300).contains(&status) && state.delivered.lock().unwrap().insert(id.clone()) {
        state.inbox.push(Sms {
            id,
            to,
            body: text,
            kind: Some(kind),
            tenant: Some(tenant),
            from: None,
            messaging_service_sid: None,
        });
    }
    let status = StatusCode::from_u16(status).unwrap();
    if status.is_success() {
        return status.into_response();
    }
    let answer =
        json!({ "code": format!("scripted_{}", status.as_u16()), "message": "scripted failure" });
    (status, axum::Json(answer)).into_response()
}

pub mod twilio;
pub use twilio::TwilioStub;

/// The `GATEHOUSE_SMS__*` variables that give the binary the same `[sms]` as `config`.
pub fn env_vars(c: &SmsConfig) -> Vec<(String, String)> {
    let transport = match c.transport {
        SmsTransport::File => "file",
        SmsTransport::Webhook => "webhook",
        SmsTransport::Twilio => "twilio",
    };
    let mut vars = vec![
        (
            "GATEHOUSE_SMS__TRANSPORT".to_string(),
            transport.to_string(),
        ),
        (
            "GATEHOUSE_SMS__DIR".to_string(),
            c.dir.display().to_string(),
        ),
        (
            "GATEHOUSE_SMS__WEBHOOK__TIMEOUT_SECS".to_string(),
            c.webhook.timeout_secs.to_string(),
        ),
        (
            "GATEHOUSE_SMS__TWILIO__BASE_URL".to_string(),
            c.twilio.base_url.as_str().to_string(),
        ),
    ];
    let t = &c.twilio;
    for (name, value) in [
        (
            "WEBHOOK__URL",
            c.webhook.url.as_ref().map(|u| u.as_str().to_string()),
        ),
        (
            "WEBHOOK__SECRET",
            c.webhook.secret.as_ref().map(|s| s.expose().to_string()),
        ),
        ("TWILIO__ACCOUNT_SID", t.account_sid.clone()),
        (
            "TWILIO__AUTH_TOKEN",
            t.auth_token.as_ref().map(|s| s.expose().to_string()),
        ),
        ("TWILIO__FROM", t.from.clone()),
        (
            "TWILIO__MESSAGING_SERVICE_SID",
            t.messaging_service_sid.clone(),
        ),
    ] {
        if let Some(v) = value {
            vars.push((format!("GATEHOUSE_SMS__{name}"), v));
        }
    }
    vars
}

impl TestEnv {
    /// Texts go to `sink` (server and binary alike).
    pub fn with_sms_webhook(mut self, sink: &SmsSink) -> TestEnv {
        self.config.sms = SmsConfig {
            dir: self.config.sms.dir.clone(),
            ..sink.config()
        };
        self
    }

    /// Texts go to `stub`, sent from a Twilio number.
    pub fn with_twilio(mut self, stub: &TwilioStub) -> TestEnv {
        self.config.sms = SmsConfig {
            dir: self.config.sms.dir.clone(),
            ..stub.config_from(TwilioStub::FROM)
        };
        self
    }

    /// What the file transport wrote (`env.config.sms.dir`), oldest first (by file time:
    /// `created_at` has whole seconds only).
    pub fn sms_files(&self) -> Vec<Sms> {
        let Ok(entries) = std::fs::read_dir(&self.config.sms.dir) else {
            return Vec::new();
        };
        let mut found: Vec<(std::time::SystemTime, Sms)> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .map(|e| {
                let json: Value =
                    serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
                let field = |k: &str| json[k].as_str().unwrap_or_default().to_owned();
                let sms = Sms {
                    id: field("id"),
                    to: field("to"),
                    body: field("body"),
                    kind: Some(field("kind")),
                    tenant: Some(field("tenant")),
                    from: None,
                    messaging_service_sid: None,
                };
                (e.metadata().and_then(|m| m.modified()).unwrap(), sms)
            })
            .collect();
        found.sort_by_key(|(modified, _)| *modified);
        found.into_iter().map(|(_, s)| s).collect()
    }

    /// The code of the newest file-transport message to `to`.
    pub fn last_sms_file_code(&self, to: &str) -> Option<String> {
        self.sms_files()
            .into_iter()
            .rev()
            .find(|s| s.to == to)?
            .code()
    }
}
