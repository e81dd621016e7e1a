//! Form and query-string parsing shared by every hosted page and the OIDC endpoints.

use std::collections::HashMap;

/// Parses a form or query string, refusing a parameter given twice (RFC 6749 §3.1).
pub fn parse_params(raw: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw) {
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(format!("parameter `{k}` was given more than once"));
        }
    }
    Ok(out)
}
