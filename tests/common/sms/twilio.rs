//! [`TwilioStub`]: Twilio's Programmable Messaging API on 127.0.0.1:0, enough of it to send:
//! `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with Basic auth and form fields,
//! answering 201 and a message resource, or an error in Twilio's shape
//! (`{"code", "message", "more_info", "status"}`). Twilio's magic test numbers work as with its
//! test credentials: `+15005550001` is 21211 (invalid 'To'), `+15005550009` is 21614 (not a
//! mobile number); anything not E.164 is 21211 too.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use gatehouse::notify::sms::{GatewayUrl, Secret, SmsConfig, SmsTransport};
use serde_json::json;

use super::{Inbox, Running, Sms, hex, run};

/// The next answer, whatever is posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwilioReply {
    Created,
    /// 400, code 21211.
    InvalidTo,
    /// 400, code 21614.
    NotMobile,
    /// 429, code 20429.
    TooManyRequests,
    /// 429, code 20429, with `Retry-After` in seconds.
    RetryAfter(u64),
    /// 500, code 20500.
    ServerError,
}

#[derive(Default)]
struct StubState {
    script: Mutex<VecDeque<TwilioReply>>,
    /// Every request that passed auth and form checks, with its answer status.
    requests: Mutex<Vec<u16>>,
    failures: Mutex<Vec<String>>,
    inbox: Inbox,
}

pub struct TwilioStub {
    server: Running,
    state: Arc<StubState>,
}

impl TwilioStub {
    pub const ACCOUNT_SID: &'static str = "AC0123456789abcdef0123456789abcdef";
    pub const AUTH_TOKEN: &'static str = "f00dfeedf00dfeedf00dfeedf00dfeed";
    /// A valid sending number (Twilio's magic "from" test number).
    pub const FROM: &'static str = "+15005550006";
    pub const SERVICE_SID: &'static str = "MG0123456789abcdef0123456789abcdef";
    /// Twilio's magic test numbers.
    pub const INVALID_TO: &'static str = "+15005550001";
    pub const NOT_MOBILE: &'static str = "+15005550009";

    pub async fn start() -> TwilioStub {
        let state = Arc::new(StubState::default());
        let router = axum::Router::new()
            .route(
                "/2010-04-01/Accounts/{sid}/Messages.json",
                axum::routing::post(create),
            )
            .with_state(state.clone());
        TwilioStub {
            server: run(router).await,
            state,
        }
    }

    /// For `sms.twilio.base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    fn config(&self) -> SmsConfig {
        let mut c = SmsConfig {
            transport: SmsTransport::Twilio,
            ..SmsConfig::default()
        };
        c.twilio.account_sid = Some(Self::ACCOUNT_SID.into());
        c.twilio.auth_token = Some(Secret::new(Self::AUTH_TOKEN));
        c.twilio.base_url = GatewayUrl::try_from(self.base_url()).unwrap();
        c
    }

    /// `[sms]` sending here with `From`.
    pub fn config_from(&self, from: &str) -> SmsConfig {
        let mut c = self.config();
        c.twilio.from = Some(from.into());
        c
    }

    /// `[sms]` sending here with `MessagingServiceSid`.
    pub fn config_service(&self, service_sid: &str) -> SmsConfig {
        let mut c = self.config();
        c.twilio.messaging_service_sid = Some(service_sid.into());
        c
    }

    /// The answers to the next requests, in order; after them, numbers decide.
    pub fn script(&self, replies: impl IntoIterator<Item = TwilioReply>) {
        self.state.script.lock().unwrap().extend(replies);
    }

    /// The status of every authenticated, well-formed request, in order.
    pub fn requests(&self) -> Vec<u16> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Messages the stub accepted (201), in order.
    pub fn messages(&self) -> Vec<Sms> {
        self.state.inbox.all()
    }

    /// Requests refused for bad auth or form fields: a Gatehouse bug, never a scripted answer.
    pub fn failures(&self) -> Vec<String> {
        self.state.failures.lock().unwrap().clone()
    }

    pub fn assert_no_failures(&self) {
        assert!(
            self.failures().is_empty(),
            "Twilio requests refused: {:?}",
            self.failures()
        );
    }

    pub async fn wait_for(&self, to: &str) -> Sms {
        self.state.inbox.wait_for(to).await
    }

    pub async fn wait_for_code(&self, to: &str) -> String {
        self.state.inbox.wait_for_code(to).await
    }
}

/// Twilio's error body.
fn error(status: u16, code: u32, message: &str) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    });
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

fn refuse(state: &StubState, status: u16, code: u32, message: String) -> Response {
    state.failures.lock().unwrap().push(message.clone());
    error(status, code, &message)
}

fn is_e164(to: &str) -> bool {
    to.strip_prefix('+')
        .is_some_and(|d| (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

async fn create(
    State(state): State<Arc<StubState>>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            TwilioStub::ACCOUNT_SID,
            TwilioStub::AUTH_TOKEN
        ))
    );
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if sid != TwilioStub::ACCOUNT_SID || auth != Some(expected.as_str()) {
        return refuse(&state, 401, 20003, format!("Authenticate (account {sid})"));
    }
    let form_type = headers.get("content-type").and_then(|v| v.to_str().ok());
    if form_type != Some("application/x-www-form-urlencoded") {
        return refuse(&state, 400, 20001, format!("not a form: {form_type:?}"));
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (to, text) = (get("To"), get("Body"));
    let (from, service) = (get("From"), get("MessagingServiceSid"));
    let Some(to) = to else {
        return refuse(
            &state,
            400,
            21604,
            "A 'To' phone number is required.".into(),
        );
    };
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return refuse(&state, 400, 21602, "Message body is required.".into());
    };
    match (&from, &service) {
        (Some(f), None) if !f.is_empty() => {}
        (None, Some(s)) if s.starts_with("MG") => {}
        _ => {
            return refuse(
                &state,
                400,
                21603,
                format!(
                    "A 'From' phone number is required (From {from:?}, MessagingServiceSid {service:?})."
                ),
            );
        }
    }
    let reply = state
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(match to.as_str() {
            TwilioStub::INVALID_TO => TwilioReply::InvalidTo,
            TwilioStub::NOT_MOBILE => TwilioReply::NotMobile,
            t if !is_e164(t) => TwilioReply::InvalidTo,
            _ => TwilioReply::Created,
        });
    let (status, response) = match reply {
        TwilioReply::InvalidTo => (
            400,
            error(
                400,
                21211,
                &format!("The 'To' number {to} is not a valid phone number."),
            ),
        ),
        TwilioReply::NotMobile => (
            400,
            error(
                400,
                21614,
                &format!("'To' number {to} is not a valid mobile number"),
            ),
        ),
        TwilioReply::TooManyRequests => (429, error(429, 20429, "Too Many Requests")),
        TwilioReply::RetryAfter(secs) => {
            let mut r = error(429, 20429, "Too Many Requests");
            r.headers_mut()
                .insert("retry-after", secs.to_string().parse().unwrap());
            (429, r)
        }
        TwilioReply::ServerError => (500, error(500, 20500, "Internal Server Error")),
        TwilioReply::Created => {
            let message_sid = format!("SM{}", hex(uuid::Uuid::new_v4().as_bytes()));
            let resource = resource(&sid, &message_sid, &to, &text, &from, &service);
            state.inbox.push(Sms {
                id: message_sid,
                to,
                body: text,
                kind: None,
                tenant: None,
                from,
                messaging_service_sid: service,
            });
            (
                201,
                (StatusCode::CREATED, axum::Json(resource)).into_response(),
            )
        }
    };
    state.requests.lock().unwrap().push(status);
    response
}

/// The message resource Twilio answers a create with (the fields a client reads).
fn resource(
    account: &str,
    sid: &str,
    to: &str,
    body: &str,
    from: &Option<String>,
    service: &Option<String>,
) -> serde_json::Value {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap();
    json!({
        "account_sid": account,
        "api_version": "2010-04-01",
        "body": body,
        "date_created": now,
        "date_sent": null,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": from,
        "messaging_service_sid": service,
        "num_media": "0",
        "num_segments": "1",
        "price": null,
        "price_unit": "USD",
        "sid": sid,
        // A Messaging Service picks the sender later: Twilio says "accepted" then.
        "status": if service.is_some() { "accepted" } else { "queued" },
        "subresource_uris": {
            "media": format!("/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json")
        },
        "to": to,
        "uri": format!("/2010-04-01/Accounts/{account}/Messages/{sid}.json"),
    })
}
