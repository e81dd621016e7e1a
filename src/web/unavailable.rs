//! Database faults reach clients as `503 Service Unavailable` with `Retry-After`, never as a 500
//! page or a request that hangs: when PostgreSQL restarts, a node's pooled connections break and
//! new ones are refused until it is back, and every request that needed the database fails.
//!
//! The layers below turn such a failure into a 500 of their own kind (an OAuth `server_error`,
//! an API problem, an error page) without carrying why the statement failed. This middleware
//! decides once a 500 is on its way out: did a statement of this process fail on a connection
//! fault in the last 3 s (`store::faults`: a dropped connection, a restart in progress, a
//! timeout), or does the database not answer a `SELECT 1` within a second? Then the answer
//! becomes a 503 in the same dialect (OAuth's
//! `temporarily_unavailable`, an API problem, a page), so a load balancer retries elsewhere and
//! a client library backs off. A 500 with the database up stays a 500: it is a bug to look at.
//! A request still running after `server.request_timeout_secs` is answered the same way. The
//! pool opens fresh connections by itself when the database is back (`/ready` says when).

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use crate::store::Db;

/// What a client is told to wait before retrying.
const RETRY_AFTER_SECS: u32 = 5;
/// A connection fault this recent explains a 500 without asking the database.
const RECENT_FAULT_MS: u64 = 3000;
/// How long the check of the database may take; longer counts as down.
const PING_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Guard {
    pub db: Db,
    pub request_timeout: Duration,
}

/// Which error dialect the caller speaks, decided before the request runs (a timed-out request
/// leaves no response to look at).
#[derive(Clone, Copy)]
enum Dialect {
    Html,
    Problem,
    OAuth,
}

fn dialect(req: &Request) -> Dialect {
    if req.uri().path().starts_with("/api/") {
        return Dialect::Problem;
    }
    let accepts_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if accepts_html || req.method() == axum::http::Method::GET && !is_json_endpoint(req) {
        Dialect::Html
    } else {
        Dialect::OAuth
    }
}

/// GET endpoints whose callers are programs (discovery, JWKS, UserInfo, health).
fn is_json_endpoint(req: &Request) -> bool {
    let p = req.uri().path();
    p.ends_with("/jwks")
        || p.ends_with("/userinfo")
        || p.contains("/.well-known/")
        || p == "/ready"
        || p == "/health"
        || p == "/metrics"
}

pub async fn guard(State(g): State<Guard>, req: Request, next: Next) -> Response {
    let dialect = dialect(&req);
    let res = match tokio::time::timeout(g.request_timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!(
                timeout_secs = g.request_timeout.as_secs(),
                "request timed out; answered 503"
            );
            return unavailable(dialect);
        }
    };
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    // A statement that failed on a dropped connection (a restart) while the database is already
    // back by now: still a fault, not a bug.
    if crate::store::faults::within(RECENT_FAULT_MS) {
        tracing::warn!("a database connection failed; answered 503 instead of 500");
        return unavailable(dialect);
    }
    let db_up = matches!(
        tokio::time::timeout(PING_TIMEOUT, g.db.ping()).await,
        Ok(Ok(()))
    );
    if db_up {
        return res;
    }
    tracing::warn!("the database is unreachable; answered 503 instead of 500");
    unavailable(dialect)
}

fn unavailable(dialect: Dialect) -> Response {
    let mut res = match dialect {
        Dialect::Html => (StatusCode::SERVICE_UNAVAILABLE, Html(PAGE)).into_response(),
        Dialect::Problem => {
            let mut r = (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({
                    "type": "https://gatehouse.dev/problems/unavailable",
                    "title": "Service unavailable",
                    "status": 503,
                    "detail": "the database is unavailable: try again shortly",
                })),
            )
                .into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            );
            r
        }
        // RFC 6749 §4.1.2.1 names this error for a server that is briefly overloaded or down.
        Dialect::OAuth => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": "the server is briefly unavailable: try again shortly",
            })),
        )
            .into_response(),
    };
    let h = res.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Self-contained (no template, no database): it must render when nothing else can.
const PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Briefly unavailable</title></head><body><main>\
<h1>Sign-in is briefly unavailable</h1>\
<p>We could not reach our database, so your last step did not go through. Go back and try \
again in a few seconds.</p></main></body></html>\n";
