//! The `webhook` transport: `POST sms.webhook.url` with the JSON `{to, body, kind, tenant, id}`,
//! signed so the receiver knows it came from this Gatehouse and is fresh (docs/sms.md):
//!
//! ```text
//! X-Gatehouse-Timestamp: 1764651600
//! X-Gatehouse-Signature: v1=<hex HMAC-SHA256(secret, "{timestamp}.{raw body}")>
//! ```
//!
//! Any 2xx is delivered. 5xx, no connection and timeouts are tried again (bounded, see
//! `retry`) with the same `id`, so the receiver drops duplicates; each try is signed anew with
//! its own timestamp. Any 4xx (and 3xx: redirects are not followed) is final.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::config::WebhookConfig;
use super::retry::{self, RetryOn};
use super::{Delivery, Gateway, SmsError, SmsMessage};

pub(super) struct WebhookGateway {
    client: reqwest::Client,
    url: String,
    secret: Vec<u8>,
}

const RETRY: RetryOn = RetryOn {
    too_many_requests: false,
    lost_answer: true,
};

impl WebhookGateway {
    pub(super) fn new(config: &WebhookConfig) -> Result<WebhookGateway, SmsError> {
        let (Some(url), Some(secret)) = (&config.url, &config.secret) else {
            return Err(SmsError::Config(
                "sms.webhook.url and sms.webhook.secret are required".into(),
            ));
        };
        Ok(WebhookGateway {
            client: http_client(config.timeout())?,
            url: url.as_str().to_owned(),
            secret: secret.expose().as_bytes().to_vec(),
        })
    }
}

/// The one HTTP client shape both HTTP gateways use: bounded per try, never redirected.
pub(super) fn http_client(timeout: std::time::Duration) -> Result<reqwest::Client, SmsError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SmsError::Config(format!("HTTP client: {e}")))
}

/// `v1=` and the lowercase hex HMAC-SHA256 of `{timestamp}.{body}` under `secret`.
fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let mut out = String::with_capacity(3 + tag.len() * 2);
    out.push_str("v1=");
    for b in tag {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

impl Gateway for WebhookGateway {
    fn deliver<'a>(&'a self, msg: &'a SmsMessage) -> Delivery<'a> {
        Box::pin(async move {
            let body = serde_json::to_vec(&serde_json::json!({
                "to": msg.to,
                "body": msg.body,
                "kind": msg.kind,
                "tenant": msg.tenant,
                "id": msg.id,
            }))
            .map_err(|e| SmsError::Config(format!("webhook body: {e}")))?;
            retry::with_retries(|| {
                let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
                let request = self
                    .client
                    .post(&self.url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header("X-Gatehouse-Timestamp", timestamp.to_string())
                    .header(
                        "X-Gatehouse-Signature",
                        signature(&self.secret, timestamp, &body),
                    )
                    .body(body.clone());
                async move { retry::classify(request.send().await, RETRY, |_| None).await }
            })
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::signature;

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed independently, as docs/sms.md shows a receiver doing it:
        // printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            signature(b"secret", 1_700_000_000, br#"{"a":1}"#),
            "v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
    }
}
