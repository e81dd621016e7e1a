//! `application/x-www-form-urlencoded` request bodies for the POST endpoints (token, userinfo,
//! revoke, introspect). Stricter than a generic form extractor, as the OAuth specs ask:
//!
//! - RFC 6749 §3.1/§3.2: a parameter must not be included more than once, so a repeated name is
//!   an error (a lenient "last one wins" parser lets a proxy and the server disagree on the
//!   value);
//! - RFC 6749 §3.1: a parameter sent without a value is treated as omitted;
//! - the percent-decoded bytes must be UTF-8 (replacing bad bytes would silently alter secrets).
//!
//! Errors are plain messages; the endpoints turn them into `invalid_request`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, header};

use super::error::OAuthError;

/// Parses a form body, refusing repeated parameters and invalid encodings.
pub fn parse_unique(body: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let name = decode(name)?;
        let value = decode(value).map_err(|e| format!("parameter `{name}`: {e}"))?;
        if !seen.insert(name.clone()) {
            return Err(format!("parameter `{name}` must not be repeated"));
        }
        if !value.is_empty() {
            out.insert(name, value);
        }
    }
    Ok(out)
}

/// Decodes one name or value: `+` is a space, `%XX` a byte, the result must be UTF-8.
fn decode(raw: &[u8]) -> Result<String, String> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => bytes.push(b' '),
            b'%' => {
                // Two hex digits exactly: `from_str_radix` alone also takes a sign (`%+a`).
                let hex = raw
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("malformed percent-encoding")?;
                bytes.push(hex);
                i += 2;
            }
            b => bytes.push(b),
        }
        i += 1;
    }
    String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_string())
}

/// The whole check an endpoint runs on its body: it must have been read, carry the form media
/// type when not empty (RFC 6749 §4.1.3, RFC 7009 §2.1, RFC 7662 §2.1), and parse.
pub fn read(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<HashMap<String, String>, OAuthError> {
    let body =
        body.map_err(|_| OAuthError::invalid_request("the request body could not be read"))?;
    if body.is_empty() {
        return Ok(HashMap::new());
    }
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if media.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    parse_unique(&body).map_err(OAuthError::invalid_request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pairs() {
        let f = parse_unique(
            b"grant_type=authorization_code&code=a%2Bb+c&redirect_uri=https%3A%2F%2Fx",
        )
        .unwrap();
        assert_eq!(f["grant_type"], "authorization_code");
        assert_eq!(f["code"], "a+b c");
        assert_eq!(f["redirect_uri"], "https://x");
        assert_eq!(f.len(), 3);
    }

    #[test]
    fn empty_values_count_as_omitted() {
        let f = parse_unique(b"scope=&state&&code=x").unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f["code"], "x");
        assert!(parse_unique(b"").unwrap().is_empty());
    }

    #[test]
    fn refuses_repeats_naming_the_parameter() {
        let e = parse_unique(b"code=a&code=b").unwrap_err();
        assert_eq!(e, "parameter `code` must not be repeated");
        // A repeat is a repeat even when one of them is empty.
        assert!(parse_unique(b"scope=&scope=openid").is_err());
        // Names are compared after decoding.
        assert!(parse_unique(b"code=a&c%6Fde=b").is_err());
    }

    #[test]
    fn refuses_bad_encodings() {
        assert!(parse_unique(b"code=%zz").is_err());
        assert!(parse_unique(b"code=%4").is_err());
        assert!(parse_unique(b"code=%ff%fe").is_err());
        assert!(parse_unique(b"code=\xff").is_err());
        // Found by tests/fuzz_parsers.rs: a sign is not a hex digit.
        assert!(parse_unique(b"code=%+a").is_err());
        assert!(parse_unique(b"code=%-1").is_err());
    }

    #[test]
    fn read_requires_the_form_media_type() {
        let mut h = HeaderMap::new();
        assert!(read(&h, Ok(Bytes::new())).unwrap().is_empty());
        assert_eq!(
            read(&h, Ok(Bytes::from_static(b"a=b"))).unwrap_err().code,
            "invalid_request"
        );
        h.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=UTF-8"
                .parse()
                .unwrap(),
        );
        assert_eq!(read(&h, Ok(Bytes::from_static(b"a=b"))).unwrap()["a"], "b");
        h.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        assert!(read(&h, Ok(Bytes::from_static(b"{}"))).is_err());
    }
}
