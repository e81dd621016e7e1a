//! The browser binding: a random HttpOnly cookie identifying this browser to the hosted pages.
//! Login transactions are bound to it, and CSRF tokens are an HMAC of it under the server secret,
//! so a form token is valid only in the browser it was issued to (signed double-submit).

use axum::http::HeaderMap;

use super::cookies;
use crate::crypto::random;
use crate::crypto::secret::ServerSecret;

pub struct Browser {
    value: String,
    /// True when the cookie was absent and must be set on the response.
    pub is_new: bool,
}

impl Browser {
    pub fn from_headers(headers: &HeaderMap) -> Browser {
        match cookies::get(headers, cookies::BROWSER).filter(|v| v.len() >= 32 && v.len() <= 64) {
            Some(value) => Browser {
                value,
                is_new: false,
            },
            None => Browser {
                value: random::token(32),
                is_new: true,
            },
        }
    }

    /// Only an existing cookie counts when a form is posted: a new one proves nothing.
    pub fn existing(headers: &HeaderMap) -> Option<Browser> {
        let b = Browser::from_headers(headers);
        (!b.is_new).then_some(b)
    }

    pub fn hash(&self) -> String {
        random::sha256_hex(&self.value)
    }

    pub fn csrf_token(&self, secret: &ServerSecret) -> String {
        secret.mac("csrf", &self.value)
    }

    pub fn verify_csrf(&self, secret: &ServerSecret, presented: &str) -> bool {
        secret.verify_mac("csrf", &self.value, presented)
    }

    /// The `Set-Cookie` header value (one year, whole site).
    pub fn cookie(&self, secure: bool) -> axum::http::HeaderValue {
        cookies::set(
            cookies::BROWSER,
            &self.value,
            "/",
            Some(365 * 86_400),
            secure,
        )
    }
}
