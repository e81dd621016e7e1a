//! Text messages: one-time codes by SMS. [`SmsSender`] moves a rendered message to the gateway
//! chosen by `[sms]` ([`SmsConfig`]): one file per transport implements [`Gateway`] (`file`,
//! `webhook`, `twilio`); `render` writes the words from `themes/{theme}/sms/*.txt`.
//!
//! Nothing here logs a code, a message body or a whole phone number: a log line carries the
//! kind of message, the tenant, the number's country calling code and the gateway's answer.
//! Gateway error texts that come back to the caller have digit runs (numbers) blanked out.

mod config;
mod file;
mod render;
mod retry;
mod twilio;
mod webhook;

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

pub use crate::phone::calling_code;
pub use config::{GatewayUrl, Secret, SmsConfig, SmsTransport, TwilioConfig, WebhookConfig};
pub use render::{TEMPLATE_FILES, render};

/// One text message Gatehouse sends. `Debug` never shows the code.
#[derive(Clone, PartialEq, Eq)]
pub enum SmsKind {
    /// A code for signing in with a phone that is already a factor.
    SignInCode { code: String, minutes: u32 },
    /// A code that proves a number while it is being set up as a factor.
    SetupCode { code: String, minutes: u32 },
}

impl SmsKind {
    /// Stable name for logs, the webhook's `kind` and the template file (`sms/{name}.txt`).
    pub fn name(&self) -> &'static str {
        match self {
            SmsKind::SignInCode { .. } => "sign_in_code",
            SmsKind::SetupCode { .. } => "setup_code",
        }
    }

    pub fn code(&self) -> &str {
        match self {
            SmsKind::SignInCode { code, .. } | SmsKind::SetupCode { code, .. } => code,
        }
    }

    pub fn minutes(&self) -> u32 {
        match self {
            SmsKind::SignInCode { minutes, .. } | SmsKind::SetupCode { minutes, .. } => *minutes,
        }
    }
}

impl fmt::Debug for SmsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(self.name())
            .field("code", &"***")
            .field("minutes", &self.minutes())
            .finish()
    }
}

/// Why a text was not sent. The caller writes the audit event and shows the page; nothing is
/// queued for later.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// SMS is not set up (a broken `[sms]`, a missing template, an unwritable folder).
    #[error("SMS is not set up: {0}")]
    Config(String),
    /// Final: the gateway refused this message (any 4xx; Twilio's `code` such as 21211 invalid
    /// number or 21614 not a mobile number). Sending it again would be refused again.
    #[error("the SMS gateway refused the message (HTTP {status}{}): {message}", code_suffix(.code))]
    Rejected {
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// The gateway did not take the message after the bounded retries (5xx, no connection, a
    /// timeout). Another try later may work.
    #[error("the SMS gateway is unavailable ({}): {message}", status_text(.status))]
    Unavailable {
        status: Option<u16>,
        message: String,
    },
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_deref()
        .map(|c| format!(", code {c}"))
        .unwrap_or_default()
}

fn status_text(status: &Option<u16>) -> String {
    status.map_or_else(|| "no answer".to_owned(), |s| format!("HTTP {s}"))
}

impl SmsError {
    /// The gateway's status and error code, for the one log line of a failed delivery.
    fn log_fields(&self) -> (Option<u16>, Option<&str>) {
        match self {
            SmsError::Config(_) => (None, None),
            SmsError::Rejected { status, code, .. } => (Some(*status), code.as_deref()),
            SmsError::Unavailable { status, .. } => (*status, None),
        }
    }
}

/// A message the gateway took. `id` is Gatehouse's own (the webhook's `id`, the file's name);
/// `gateway_id` is the gateway's id for it when it gives one (Twilio's `SM...` sid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsReceipt {
    pub id: String,
    pub gateway_id: Option<String>,
}

/// A rendered message on its way out. `Debug` shows neither the number nor the body.
#[derive(Clone)]
pub struct SmsMessage {
    /// Unique per message and the same on every retry, so a receiver can drop duplicates.
    pub id: String,
    /// E.164, e.g. `+447700900123`.
    pub to: String,
    pub body: String,
    /// [`SmsKind::name`].
    pub kind: &'static str,
    /// The tenant's slug.
    pub tenant: String,
}

impl SmsMessage {
    pub fn new(tenant: &str, to: &str, kind: &'static str, body: String) -> SmsMessage {
        SmsMessage {
            id: uuid::Uuid::new_v4().to_string(),
            to: to.to_owned(),
            body,
            kind,
            tenant: tenant.to_owned(),
        }
    }
}

impl fmt::Debug for SmsMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsMessage")
            .field("id", &self.id)
            .field("country", &calling_code(&self.to))
            .field("kind", &self.kind)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

/// What a gateway's delivery resolves to: the gateway's own id for the message, if any.
pub type Delivery<'a> = Pin<Box<dyn Future<Output = Result<Option<String>, SmsError>> + Send + 'a>>;

/// One way of getting a message to a phone. Each transport retries what it may retry itself,
/// so a returned error is the final word.
pub trait Gateway: Send + Sync {
    fn deliver<'a>(&'a self, msg: &'a SmsMessage) -> Delivery<'a>;
}

/// Sends text messages through the configured gateway. Cheap to clone: one `Arc` inside.
#[derive(Clone)]
pub struct SmsSender {
    inner: Arc<Inner>,
}

struct Inner {
    gateway: Box<dyn Gateway>,
    transport: SmsTransport,
    /// The host of `server.public_url`, for the WebOTP line `@{host} #{code}`.
    host: String,
}

impl fmt::Debug for SmsSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsSender")
            .field("transport", &self.inner.transport.name())
            .field("host", &self.inner.host)
            .finish()
    }
}

impl SmsSender {
    /// Builds the configured gateway and checks that every message template exists under
    /// `{themes_dir}/default/sms/`, so a broken install fails at start-up rather than at the
    /// first sign-in. The file transport's folder is created here (0700: files hold codes).
    pub fn new(
        config: &SmsConfig,
        public_url: &str,
        themes_dir: &Path,
    ) -> Result<SmsSender, SmsError> {
        config.validate().map_err(SmsError::Config)?;
        for name in TEMPLATE_FILES {
            let path = themes_dir.join("default/sms").join(name);
            if !path.is_file() {
                return Err(SmsError::Config(format!(
                    "missing SMS template {}",
                    path.display()
                )));
            }
        }
        let host = url::Url::parse(public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .ok_or_else(|| SmsError::Config(format!("no host in the public URL {public_url}")))?;
        let gateway: Box<dyn Gateway> = match config.transport {
            SmsTransport::File => Box::new(file::FileGateway::new(&config.dir)?),
            SmsTransport::Webhook => Box::new(webhook::WebhookGateway::new(&config.webhook)?),
            SmsTransport::Twilio => Box::new(twilio::TwilioGateway::new(&config.twilio)?),
        };
        Ok(SmsSender {
            inner: Arc::new(Inner {
                gateway,
                transport: config.transport,
                host,
            }),
        })
    }

    /// The host the WebOTP line names (the host of `server.public_url`).
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    pub fn transport(&self) -> SmsTransport {
        self.inner.transport
    }

    /// Delivers one rendered message and logs the outcome in one line (country calling code,
    /// never the number; the gateway's status and code on failure).
    pub async fn send(&self, msg: &SmsMessage) -> Result<SmsReceipt, SmsError> {
        let transport = self.inner.transport.name();
        let country = calling_code(&msg.to);
        let result = if is_e164(&msg.to) {
            self.inner.gateway.deliver(msg).await
        } else {
            // The caller parses numbers; this only keeps a slip from reaching a paid gateway.
            Err(SmsError::Rejected {
                status: 400,
                code: Some("not_e164".into()),
                message: "the number is not in E.164 form (+ and 7 to 15 digits)".into(),
            })
        };
        match result {
            Ok(gateway_id) => {
                tracing::info!(
                    transport, kind = msg.kind, tenant = %msg.tenant, country, id = %msg.id,
                    gateway_id = gateway_id.as_deref().unwrap_or("-"), "sms sent"
                );
                Ok(SmsReceipt {
                    id: msg.id.clone(),
                    gateway_id,
                })
            }
            Err(e) => {
                let (status, code) = e.log_fields();
                tracing::warn!(
                    transport, kind = msg.kind, tenant = %msg.tenant, country, id = %msg.id,
                    status, code, error = %e, "sms not sent"
                );
                Err(e)
            }
        }
    }
}

/// `+` then 7 to 15 digits, the first not 0 (ITU-T E.164 allows 15 at most; the shortest
/// numbers in use, e.g. Niue's, have 7).
fn is_e164(to: &str) -> bool {
    to.strip_prefix('+').is_some_and(|d| {
        (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

/// A gateway's error text made safe to log and hand on: it often repeats the number ("The 'To'
/// number +15005550001 is not valid"), so every run of six or more digits (spaces, dashes,
/// dots and brackets between them included) becomes `[number]`; cut to 200 characters.
pub(crate) fn scrub(text: &str) -> String {
    fn flush(run: &mut String, out: &mut String) {
        let digits = run.bytes().filter(u8::is_ascii_digit).count();
        let end = run.rfind(|c: char| c.is_ascii_digit()).map_or(0, |i| i + 1);
        if digits >= 6 {
            out.push_str("[number]");
            out.push_str(&run[end..]);
        } else {
            out.push_str(run);
        }
        run.clear();
    }
    let mut out = String::new();
    let mut run = String::new();
    for c in text.chars() {
        let starts = c.is_ascii_digit() || c == '+';
        let continues = !run.is_empty() && matches!(c, ' ' | '-' | '.' | '(' | ')');
        if starts || continues {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    let out = out.trim();
    match out.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &out[..i]),
        None => out.to_owned(),
    }
}

#[cfg(test)]
mod tests;
