//! CORS for browser applications at the four endpoints a single-page app calls with `fetch`:
//! `/token`, `/userinfo`, `/revoke`, `/introspect` (discovery and JWKS are public documents and
//! carry `Access-Control-Allow-Origin: *` already).
//!
//! Each client registers its exact web origins (`client create --web-origin
//! https://app.example.com`; no wildcards, no paths). A response carries
//! `Access-Control-Allow-Origin: <origin>` (with `Vary: Origin`) only when the request's
//! `Origin` is registered by the client the request identifies: the Basic user, the form's
//! `client_id` or a client assertion's `sub` at the form endpoints, the access token's
//! `client_id` at UserInfo. An error
//! about that client (a wrong code, an expired token) is readable by its own page; a request
//! that identifies no client, or another client, gets no CORS header and the browser withholds
//! the answer. Credentials mode is never allowed (`Access-Control-Allow-Credentials` is never
//! sent): these endpoints take credentials in headers and bodies, not cookies.
//!
//! A preflight (`OPTIONS` with `Access-Control-Request-Method`) cannot say which client it is
//! for, so it is answered for an origin that some client of the tenant registered; the real
//! request is then held to its own client's origins as above.
//!
//! The middleware looks at requests with an `Origin` header only; server-to-server calls pass
//! through untouched.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use url::Url;

use crate::ids::ClientId;
use crate::state::{AppState, TenantCtx};
use crate::store::clients;

/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE_SECS: &str = "600";

/// An exact web origin as registered: `scheme://host[:port]`, lower-case, no path, query,
/// fragment or credentials; https, or http on loopback for local development.
pub fn validate_origin(text: &str) -> Result<String, String> {
    let bad = |why: &str| format!("invalid web origin `{text}`: {why}");
    if text.contains('*') {
        return Err(bad("wildcards are not allowed; list each origin"));
    }
    let url = Url::parse(text)
        .map_err(|e| bad(&format!("{e}; expected e.g. https://app.example.com")))?;
    let has_path =
        !(url.path().is_empty() || url.path() == "/") || text.trim_end_matches('/') != text;
    if has_path || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("an origin has no path, query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("an origin has no credentials"));
    }
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(bad(
                "http is allowed only for localhost/127.0.0.1; use https",
            ));
        }
        _ => return Err(bad("expected an https origin")),
    }
    // `ascii_serialization` is the form browsers send in `Origin`: default ports dropped.
    Ok(url.origin().ascii_serialization())
}

fn origin_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| *o != "null")
        .map(str::to_owned)
}

/// `OPTIONS` on one of the four endpoints.
pub async fn preflight(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
) -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    vary_origin(&mut res);
    let (Some(origin), Some(_)) = (
        origin_of(&headers),
        headers.get(header::ACCESS_CONTROL_REQUEST_METHOD),
    ) else {
        return res;
    };
    let known = match clients::list(&state.db, &ctx.tenant.id).await {
        Ok(cs) => cs.iter().any(|c| c.web_origins.contains(&origin)),
        Err(e) => {
            tracing::error!(error = %e, "client lookup for a CORS preflight failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    if !known {
        *res.status_mut() = StatusCode::FORBIDDEN;
        return res;
    }
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, Content-Type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE_SECS),
    );
    res
}

/// The middleware on the four endpoints' routes (preflights are answered by [`preflight`]).
pub async fn allow_client_origin(
    State(state): State<AppState>,
    ctx: TenantCtx,
    req: Request,
    next: Next,
) -> Response {
    let Some(origin) = origin_of(req.headers()).filter(|_| req.method() != Method::OPTIONS) else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, state.config.server.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
    };
    let client_id = identified_client(&parts.headers, &body);
    let mut res = next.run(Request::from_parts(parts, Body::from(body))).await;
    vary_origin(&mut res);
    let Some(client_id) = client_id else {
        return res;
    };
    let registered = state
        .client(&ctx.tenant.id, &client_id)
        .await
        .ok()
        .flatten()
        .is_some_and(|c| c.web_origins.contains(&origin));
    if registered && let Ok(v) = HeaderValue::from_str(&origin) {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        // UserInfo's RFC 6750 errors are in this header; let the page read them.
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("WWW-Authenticate"),
        );
    }
    res
}

fn vary_origin(res: &mut Response) {
    res.headers_mut()
        .append(header::VARY, HeaderValue::from_static("Origin"));
}

/// Which client the request names: the Basic user, the form's `client_id`, or the access
/// token's `client_id` claim (RFC 9068 §2.2). Naming is enough here: the handler still
/// authenticates, and the header only decides which page may read the answer it gives.
fn identified_client(headers: &HeaderMap, body: &Bytes) -> Option<ClientId> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Some(b64) = auth.strip_prefix("Basic ") {
        let decoded = STANDARD.decode(b64.trim()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (id, _) = text.split_once(':')?;
        return form_value(id).map(ClientId::from);
    }
    let form = super::form::parse_unique(body).unwrap_or_default();
    if let Some(id) = form.get("client_id") {
        return Some(ClientId::from(id.as_str()));
    }
    // private_key_jwt (RFC 7523 §3): the assertion's `sub` is the client id.
    if let Some(assertion) = form.get("client_assertion") {
        return jwt_claim(assertion, "sub").map(ClientId::from);
    }
    let token = auth
        .strip_prefix("Bearer ")
        .map(str::to_owned)
        .or_else(|| form.get("access_token").cloned())?;
    jwt_claim(&token, "client_id").map(ClientId::from)
}

/// RFC 6749 §2.3.1: the Basic user is form-urlencoded.
fn form_value(raw: &str) -> Option<String> {
    url::form_urlencoded::parse(format!("x={raw}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

/// A claim of a JWT (an access token, a client assertion), unverified (see
/// [`identified_client`]).
fn jwt_claim(token: &str, name: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get(name)?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_exact() {
        assert_eq!(
            validate_origin("https://App.Example.com").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            validate_origin("https://app.example.com:443").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            validate_origin("http://localhost:5173").unwrap(),
            "http://localhost:5173"
        );
        for bad in [
            "https://*.example.com",
            "*",
            "https://app.example.com/",
            "https://app.example.com/callback",
            "https://app.example.com?x=1",
            "http://app.example.com",
            "https://user:pw@app.example.com",
            "app.example.com",
            "ftp://app.example.com",
        ] {
            assert!(validate_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_request_names_its_client() {
        let mut h = HeaderMap::new();
        let basic = STANDARD.encode("my%20app:secret");
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {basic}").parse().unwrap(),
        );
        assert_eq!(identified_client(&h, &Bytes::new()).unwrap(), "my app");
        let body = Bytes::from_static(b"grant_type=refresh_token&client_id=spa");
        assert_eq!(identified_client(&HeaderMap::new(), &body).unwrap(), "spa");
        let claims = URL_SAFE_NO_PAD.encode(r#"{"client_id":"spa2","sub":"u"}"#);
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            format!("Bearer e30.{claims}.sig").parse().unwrap(),
        );
        assert_eq!(identified_client(&h, &Bytes::new()).unwrap(), "spa2");
        let assertion = URL_SAFE_NO_PAD.encode(r#"{"iss":"kc","sub":"kc"}"#);
        let body = format!("grant_type=client_credentials&client_assertion=e30.{assertion}.sig");
        assert_eq!(
            identified_client(&HeaderMap::new(), &Bytes::from(body)).unwrap(),
            "kc"
        );
        assert!(identified_client(&HeaderMap::new(), &Bytes::new()).is_none());
    }
}
