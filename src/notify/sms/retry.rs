//! Bounded retries for the HTTP gateways (webhook, Twilio): at most [`ATTEMPTS`] tries with a
//! short backoff, so a sign-in page waits a few seconds at worst, never minutes. What may be
//! retried differs per gateway ([`RetryOn`]); everything else is final at the first answer.
//! A `Retry-After` of up to [`MAX_RETRY_AFTER`] is waited out before the next try; a longer
//! one ends the send at once.

use std::future::Future;
use std::time::Duration;

use super::{SmsError, scrub};

/// Tries per message, the first included.
pub(super) const ATTEMPTS: u32 = 3;

/// Waits before the second and the third try.
const BACKOFF: [Duration; 2] = [Duration::from_millis(250), Duration::from_millis(750)];

/// The longest `Retry-After` honoured: a gateway asking for more is answered "not sent" now
/// rather than holding the user's page (trying sooner than asked would only be refused again).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(2);

/// The most of a gateway's answer that is read (its error text is cut to 200 characters).
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// Which failures are worth another try with the same message.
#[derive(Clone, Copy)]
pub(super) struct RetryOn {
    /// 429 Too Many Requests (Twilio's 20429 asks for exactly that).
    pub too_many_requests: bool,
    /// A timeout or a dropped connection after the request may have gone out. Only safe when
    /// the receiver drops duplicates by `id` (the webhook); Twilio has no such key, so there
    /// only a connection that was never made is tried again.
    pub lost_answer: bool,
}

/// What one try came to.
pub(super) enum Outcome {
    /// Taken; the gateway's id for the message, if it gave one.
    Sent(Option<String>),
    Final(SmsError),
    /// Worth another try; the wait the gateway asked for (`Retry-After`), if it named one.
    Retry(SmsError, Option<Duration>),
}

/// Runs `attempt` until it is sent or final, at most [`ATTEMPTS`] times. Each failed try is a
/// debug line (status only); the caller logs the result once.
pub(super) async fn with_retries<F, Fut>(mut attempt: F) -> Result<Option<String>, SmsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Outcome>,
{
    let mut n = 0;
    loop {
        n += 1;
        match attempt().await {
            Outcome::Sent(id) => return Ok(id),
            Outcome::Final(e) => return Err(e),
            Outcome::Retry(e, _) if n >= ATTEMPTS => return Err(e),
            Outcome::Retry(e, Some(asked)) if asked > MAX_RETRY_AFTER => return Err(e),
            Outcome::Retry(e, asked) => {
                let status = match &e {
                    SmsError::Unavailable { status, .. } => *status,
                    SmsError::Rejected { status, .. } => Some(*status),
                    SmsError::Config(_) => None,
                };
                tracing::debug!(attempt = n, status, "sms gateway try failed; retrying");
                let backoff = BACKOFF[(n as usize - 1).min(BACKOFF.len() - 1)];
                tokio::time::sleep(asked.map_or(backoff, |a| a.max(backoff))).await;
            }
        }
    }
}

/// Classifies one HTTP exchange. `sent_id` reads the gateway's message id from a 2xx JSON
/// answer. 3xx is final too: the gateways are never followed elsewhere.
pub(super) async fn classify(
    result: reqwest::Result<reqwest::Response>,
    retry: RetryOn,
    sent_id: fn(&serde_json::Value) -> Option<String>,
) -> Outcome {
    let response = match result {
        Ok(r) => r,
        Err(e) => return unreachable_gateway(&e, retry),
    };
    let status = response.status();
    let retry_after = retry_after(response.headers());
    let text = match read_bounded(response).await {
        Ok(t) => t,
        // The status arrived, the body did not: judge by the status alone.
        Err(e) if status.is_success() => {
            tracing::debug!(error = %e, "sms gateway answer unreadable");
            String::new()
        }
        Err(e) => return unreachable_gateway(&e, retry),
    };
    let json = serde_json::from_str::<serde_json::Value>(&text).ok();
    if status.is_success() {
        return Outcome::Sent(json.as_ref().and_then(sent_id));
    }
    let (code, message) = error_fields(json.as_ref(), &text, status);
    let code_u16 = status.as_u16();
    if status.is_server_error() || (code_u16 == 429 && retry.too_many_requests) {
        let error = SmsError::Unavailable {
            status: Some(code_u16),
            message,
        };
        return Outcome::Retry(error, retry_after);
    }
    Outcome::Final(SmsError::Rejected {
        status: code_u16,
        code,
        message,
    })
}

fn unreachable_gateway(e: &reqwest::Error, retry: RetryOn) -> Outcome {
    let error = SmsError::Unavailable {
        status: None,
        message: if e.is_timeout() {
            "no answer within the timeout".into()
        } else if e.is_connect() {
            "cannot connect".into()
        } else {
            // reqwest's text names the URL, which may hold a token: keep only the kind.
            "the request failed".into()
        },
    };
    // A connection never made sent nothing, so it is always safe to try again.
    if e.is_connect() || retry.lost_answer {
        Outcome::Retry(error, None)
    } else {
        Outcome::Final(error)
    }
}

/// `Retry-After` in seconds (the form Twilio and most gateways send; an HTTP date is ignored
/// and the backoff applies).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The gateway's error `code` and `message` from a JSON answer (`{"code": 21211, "message":
/// "..."}`: Twilio's shape, and what a webhook receiver may answer), else the start of the text.
fn error_fields(
    json: Option<&serde_json::Value>,
    text: &str,
    status: reqwest::StatusCode,
) -> (Option<String>, String) {
    let code = json.and_then(|j| match &j["code"] {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    });
    let message = json
        .and_then(|j| j["message"].as_str())
        .unwrap_or(text)
        .trim();
    let message = if message.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        scrub(message)
    };
    (code.map(|c| scrub(&c)), message)
}

async fn read_bounded(mut response: reqwest::Response) -> reqwest::Result<String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_ANSWER_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}
