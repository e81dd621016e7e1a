//! The `twilio` transport: Twilio's Programmable Messaging API,
//! `POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`, `From`
//! or `MessagingServiceSid`, and `Body`, with HTTP Basic auth `AccountSid:AuthToken`. A 201
//! answer is the message resource; its `sid` (`SM...`) is the receipt's `gateway_id`.
//!
//! Errors come back as `{"code": 21211, "message": "...", "more_info": "...", "status": 400}`:
//! the code goes to the caller (21211 invalid number, 21614 not a mobile number) and the log.
//! 429 (code 20429) and 5xx are tried again, bounded; other 4xx are final. A timeout is not
//! resent: Twilio has no idempotency key, and the first request may have gone through.

use std::time::Duration;

use super::config::{Secret, TwilioConfig};
use super::retry::{self, RetryOn};
use super::webhook::http_client;
use super::{Delivery, Gateway, SmsError, SmsMessage};

/// Upper bound for one request to Twilio. Not a key of its own: Twilio answers in well under a
/// second, and a sign-in page should not wait longer than this for it.
const TIMEOUT: Duration = Duration::from_secs(10);

const RETRY: RetryOn = RetryOn {
    too_many_requests: true,
    lost_answer: false,
};

pub(super) struct TwilioGateway {
    client: reqwest::Client,
    /// `{base_url}/2010-04-01/Accounts/{sid}/Messages.json`
    endpoint: String,
    account_sid: String,
    auth_token: Secret,
    /// `("From", number)` or `("MessagingServiceSid", id)`.
    sender: (&'static str, String),
}

impl TwilioGateway {
    pub(super) fn new(config: &TwilioConfig) -> Result<TwilioGateway, SmsError> {
        let missing = || SmsError::Config("sms.twilio is not complete".into());
        let account_sid = config.account_sid.clone().ok_or_else(missing)?;
        let auth_token = config.auth_token.clone().ok_or_else(missing)?;
        let set = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let sender = match (set(&config.from), set(&config.messaging_service_sid)) {
            (Some(from), None) => ("From", from),
            (None, Some(service)) => ("MessagingServiceSid", service),
            _ => return Err(missing()),
        };
        let endpoint = format!(
            "{}/2010-04-01/Accounts/{account_sid}/Messages.json",
            config.base_url.as_str().trim_end_matches('/')
        );
        Ok(TwilioGateway {
            client: http_client(TIMEOUT)?,
            endpoint,
            account_sid,
            auth_token,
            sender,
        })
    }
}

impl Gateway for TwilioGateway {
    fn deliver<'a>(&'a self, msg: &'a SmsMessage) -> Delivery<'a> {
        Box::pin(async move {
            let form = [
                ("To", msg.to.as_str()),
                (self.sender.0, self.sender.1.as_str()),
                ("Body", msg.body.as_str()),
            ];
            retry::with_retries(|| {
                let request = self
                    .client
                    .post(&self.endpoint)
                    .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
                    .form(&form);
                async move {
                    retry::classify(request.send().await, RETRY, |json| {
                        json["sid"].as_str().map(str::to_owned)
                    })
                    .await
                }
            })
            .await
        })
    }
}
