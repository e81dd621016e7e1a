//! Where a hosted login sends the browser back to: the `state` of Gatehouse's own clients
//! (the account pages, the admin console). It carries the path, MAC'd under the server secret
//! with this browser's hash, so a `state` is good only in the browser it was made for and
//! cannot be forged into an open redirect. Each caller checks the path is one of its own.

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::browser::Browser;
use crate::crypto::random;
use crate::state::AppState;

#[derive(Serialize, Deserialize)]
struct Return {
    path: String,
    nonce: String,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

/// A `state` value for `path`, for this browser; `purpose` keeps each client's apart.
pub fn encode(state: &AppState, browser: &Browser, purpose: &str, path: &str) -> String {
    let r = Return {
        path: path.to_owned(),
        nonce: random::token(12),
    };
    let body = b64().encode(serde_json::to_vec(&r).unwrap_or_default());
    let mac = state
        .secret
        .mac(purpose, &format!("{}.{body}", browser.hash()));
    format!("{body}.{mac}")
}

/// The path of a genuine `state` of `purpose` from this browser; anything else is None.
pub fn decode(state: &AppState, browser: &Browser, purpose: &str, value: &str) -> Option<String> {
    let (body, mac) = value.rsplit_once('.')?;
    if !state
        .secret
        .verify_mac(purpose, &format!("{}.{body}", browser.hash()), mac)
    {
        return None;
    }
    let bytes = b64().decode(body).ok()?;
    let r: Return = serde_json::from_slice(&bytes).ok()?;
    Some(r.path)
}

/// A local path of this server under `prefix`: never another host, never `//`.
pub fn is_local_under(path: &str, prefix: &str) -> bool {
    path.starts_with(prefix) && !path.contains("//") && !path.contains('\\')
}

/// One of Gatehouse's own clients, as a hosted login sees it.
pub struct OwnClient<'a> {
    pub id: &'a str,
    pub redirect_uri: &'a str,
    /// Keeps this client's `state` values apart from the others'.
    pub purpose: &'a str,
}

/// Sends the browser through `ctx`'s hosted login for `client`, back to `path` afterwards.
/// `fresh` asks for a new sign-in (`prompt=login`) even when a session would do.
pub fn login_redirect(
    state: &AppState,
    ctx: &crate::state::TenantCtx,
    headers: &axum::http::HeaderMap,
    client: OwnClient<'_>,
    path: &str,
    fresh: bool,
) -> axum::response::Response {
    use axum::response::{IntoResponse, Redirect};
    let browser = Browser::from_headers(headers);
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", client.id)
        .append_pair("redirect_uri", client.redirect_uri)
        .append_pair("scope", "openid")
        .append_pair("state", &encode(state, &browser, client.purpose, path));
    if fresh {
        query.append_pair("prompt", "login");
    }
    // A relative redirect keeps the browser on the host it used.
    let target = format!("/t/{}/authorize?{}", ctx.tenant.slug, query.finish());
    let mut res = Redirect::to(&target).into_response();
    if browser.is_new {
        res.headers_mut().append(
            axum::http::header::SET_COOKIE,
            browser.cookie(state.is_https()),
        );
    }
    res
}
