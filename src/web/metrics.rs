//! Prometheus metrics: request counts and latency histograms by route, method and status.
//! Every label has a fixed, small set of values whatever clients send: the route is the matched
//! route template (`/t/{tenant}/jwks`) or `unmatched`, never the raw path; the method is one of
//! the nine standard methods or `OTHER` (2,000 invented method names used to make 32,000
//! series, 4.4 MB); the status is one the server produced.
//!
//! Who may read `/metrics` is decided by [`check_access`] from `[metrics]` in the config.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::MetricsConfig;

const BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Route → (method, status) → series. Nested so that counting a request of a route seen
/// before allocates nothing (the route is looked up by `&str`).
type ByRoute = BTreeMap<String, BTreeMap<(&'static str, u16), Series>>;

#[derive(Default)]
pub struct Metrics {
    series: Mutex<ByRoute>,
}

impl Metrics {
    pub fn observe(&self, route: &str, method: &'static str, status: u16, seconds: f64) {
        let mut map = self.series.lock().unwrap_or_else(|p| p.into_inner());
        if !map.contains_key(route) {
            map.insert(route.to_owned(), BTreeMap::new());
        }
        let Some(by_route) = map.get_mut(route) else {
            return;
        };
        let s = by_route.entry((method, status)).or_default();
        s.count += 1;
        s.sum += seconds;
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                s.buckets[i] += 1;
            }
        }
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let map = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str("# HELP gatehouse_http_requests_total HTTP requests served.\n");
        out.push_str("# TYPE gatehouse_http_requests_total counter\n");
        let all = || {
            map.iter().flat_map(|(route, by)| {
                by.iter()
                    .map(move |((method, status), s)| (route, method, status, s))
            })
        };
        for (route, method, status, s) in all() {
            let _ = writeln!(
                out,
                "gatehouse_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {}",
                s.count
            );
        }
        out.push_str("# HELP gatehouse_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE gatehouse_http_request_duration_seconds histogram\n");
        for (route, method, status, s) in all() {
            let labels = format!("route=\"{route}\",method=\"{method}\",status=\"{status}\"");
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "gatehouse_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "gatehouse_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "gatehouse_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "gatehouse_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out
    }
}

/// The method label: the RFC 9110 §9 methods and PATCH (RFC 5789), anything else `OTHER`.
pub fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::CONNECT,
        Method::OPTIONS,
        Method::TRACE,
        Method::PATCH,
    ];
    KNOWN
        .iter()
        .find(|m| *m == method)
        .map(Method::as_str)
        .unwrap_or("OTHER")
}

/// Where a `/metrics` request arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// `server.listen`, the public one.
    Main,
    /// `metrics.listen`, a separate address for scrapers only.
    Dedicated,
}

/// Who may read `/metrics`:
/// - with `metrics.listen` set, only that listener serves it (404 on the main one);
/// - with `metrics.token` set, `Authorization: Bearer {token}` is required wherever it is
///   served (compared in constant time over SHA-256 digests, so neither content nor length
///   leaks);
/// - with neither, the main listener serves it only while the public URL is loopback (a
///   development setup); a deployment with a real public URL gets 401 until one is configured.
pub fn check_access(
    cfg: &MetricsConfig,
    public_url: &str,
    on: Listener,
    headers: &HeaderMap,
) -> Result<(), StatusCode> {
    if on == Listener::Main && cfg.listen.is_some() {
        return Err(StatusCode::NOT_FOUND);
    }
    if let Some(token) = &cfg.token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let a = Sha256::digest(presented.as_bytes());
        let b = Sha256::digest(token.as_str().as_bytes());
        return if bool::from(a.ct_eq(&b)) && !presented.is_empty() {
            Ok(())
        } else {
            Err(StatusCode::UNAUTHORIZED)
        };
    }
    if on == Listener::Dedicated || is_loopback_url(public_url) {
        Ok(())
    } else {
        Err(StatusCode::UNAUTHORIZED)
    }
}

/// True for `http(s)://localhost`, `127.x.x.x` and `[::1]` URLs.
pub fn is_loopback_url(url: &str) -> bool {
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The `/metrics` response after [`check_access`]; `more`: other parts' series (the password
/// hashing pool).
pub fn respond(metrics: &Metrics, more: String, access: Result<(), StatusCode>) -> Response {
    match access {
        Ok(()) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            metrics.render() + &more,
        )
            .into_response(),
        Err(StatusCode::UNAUTHORIZED) => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
            "metrics require a bearer token (metrics.token) or a separate metrics.listen address\n",
        )
            .into_response(),
        Err(status) => status.into_response(),
    }
}

pub async fn track(
    State(metrics): State<std::sync::Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    // The matched route is shared (`Arc<str>` inside), so keeping it costs no copy.
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = method_label(req.method());
    let start = Instant::now();
    let res = next.run(req).await;
    metrics.observe(
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        method,
        res.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counter_and_histogram() {
        let m = Metrics::default();
        m.observe("/health", "GET", 200, 0.003);
        m.observe("/health", "GET", 200, 0.2);
        let text = m.render();
        assert!(text.contains(
            "gatehouse_http_requests_total{route=\"/health\",method=\"GET\",status=\"200\"} 2"
        ));
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"0.25\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 2"));
    }

    #[test]
    fn methods_outside_the_standard_set_are_other() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(method_label(&Method::from_bytes(b"JUNK").unwrap()), "OTHER");
        assert_eq!(method_label(&Method::from_bytes(b"get").unwrap()), "OTHER");
    }

    #[test]
    fn access_rules() {
        let none = MetricsConfig::default();
        let h = HeaderMap::new();
        let main = Listener::Main;
        assert!(check_access(&none, "http://127.0.0.1:8080", main, &h).is_ok());
        assert!(check_access(&none, "http://localhost:8080", main, &h).is_ok());
        assert_eq!(
            check_access(&none, "https://id.example.com", main, &h),
            Err(StatusCode::UNAUTHORIZED)
        );
        let token = MetricsConfig {
            token: Some("0123456789abcdef0123".to_string().try_into().unwrap()),
            listen: None,
        };
        let bearer = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            h
        };
        let url = "https://id.example.com";
        assert!(check_access(&token, url, main, &bearer("Bearer 0123456789abcdef0123")).is_ok());
        for wrong in [
            "Bearer 0123456789abcdef012",
            "Basic 0123456789abcdef0123",
            "Bearer ",
        ] {
            assert_eq!(
                check_access(&token, url, main, &bearer(wrong)),
                Err(StatusCode::UNAUTHORIZED)
            );
        }
        let separate = MetricsConfig {
            token: None,
            listen: Some("127.0.0.1:9090".parse().unwrap()),
        };
        assert_eq!(
            check_access(&separate, "http://127.0.0.1:8080", main, &h),
            Err(StatusCode::NOT_FOUND)
        );
        assert!(check_access(&separate, url, Listener::Dedicated, &h).is_ok());
    }
}
