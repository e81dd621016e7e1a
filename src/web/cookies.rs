//! Cookies, written by hand (three of them): the SSO session, the browser binding and the
//! trusted device. All are HttpOnly and SameSite=Lax, Secure when the public URL is https.

use axum::http::{HeaderMap, HeaderValue, header};

pub const SESSION: &str = "gh_session";
pub const BROWSER: &str = "gh_browser";
/// "Trust this device": the token `mfa::devices` checks (it never sees the headers).
pub const DEVICE: &str = "gh_device";
/// The admin console's session (path `/admin`).
pub const CONSOLE: &str = "gh_console";

/// The trusted-device token the browser sent, if any.
pub fn device_token(headers: &HeaderMap) -> Option<String> {
    get(headers, DEVICE)
}

/// The value of cookie `name` from the request, if present and non-empty.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value. `max_age` None = a browser-session cookie; Some(0) deletes it.
pub fn set(name: &str, value: &str, path: &str, max_age: Option<i64>, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub fn delete(name: &str, path: &str, secure: bool) -> HeaderValue {
    set(name, "", path, Some(0), secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; gh_session=abc; b=".parse().unwrap());
        assert_eq!(get(&h, SESSION).as_deref(), Some("abc"));
        assert_eq!(get(&h, "b"), None);
        let v = set(SESSION, "xyz", "/t/acme", Some(60), true);
        assert_eq!(
            v.to_str().unwrap(),
            "gh_session=xyz; Path=/t/acme; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
        );
    }
}
