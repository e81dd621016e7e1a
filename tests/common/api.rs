//! Calling the admin API (`/api/v1`) in tests: keys made by `gatehouse api-key create`, and
//! problem-details checks.
#![allow(dead_code)]

use reqwest::Method;
use serde_json::Value;

use super::TestServer;

pub struct Api<'a> {
    pub srv: &'a TestServer,
}

impl Api<'_> {
    /// `body`: sent as JSON when `Some`. Returns the status, the JSON answer (Null when none)
    /// and the headers.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut req = self.srv.http().request(method, self.srv.url(path));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_owned());
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        (status, res.json().await.unwrap_or(Value::Null), headers)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        self.send(method, path, key, None).await
    }

    pub async fn get(&self, path: &str, key: &str) -> (u16, Value) {
        let (s, v, _) = self.call(Method::GET, path, Some(key)).await;
        (s, v)
    }

    pub async fn delete(&self, path: &str, key: &str) -> (u16, Value) {
        let (s, v, _) = self.call(Method::DELETE, path, Some(key)).await;
        (s, v)
    }

    pub async fn post_json(&self, path: &str, key: &str, body: &str) -> (u16, Value) {
        let (s, v, _) = self.send(Method::POST, path, Some(key), Some(body)).await;
        (s, v)
    }

    pub async fn patch_json(&self, path: &str, key: &str, body: &Value) -> (u16, Value) {
        let body = body.to_string();
        let (s, v, _) = self.send(Method::PATCH, path, Some(key), Some(&body)).await;
        (s, v)
    }

    /// `PATCH` with `If-Match: etag` when `Some`: the status, the answer's `ETag` and its JSON.
    pub async fn patch_if_match(
        &self,
        path: &str,
        key: &str,
        body: &Value,
        etag: Option<&str>,
    ) -> (u16, Option<String>, Value) {
        let mut req = self.srv.http().patch(self.srv.url(path)).bearer_auth(key);
        if let Some(e) = etag {
            req = req.header("if-match", e);
        }
        let res = req.json(body).send().await.unwrap();
        let status = res.status().as_u16();
        let etag = etag_of(res.headers());
        (status, etag, res.json().await.unwrap_or(Value::Null))
    }

    /// `GET`: the status, the `ETag` and the JSON.
    pub async fn get_versioned(&self, path: &str, key: &str) -> (u16, Option<String>, Value) {
        let (s, v, h) = self.call(Method::GET, path, Some(key)).await;
        (s, etag_of(&h), v)
    }

    /// The OpenAPI document the server publishes.
    pub async fn openapi(&self) -> Value {
        self.srv.get_json("/api/v1/openapi.json").await
    }
}

/// The `ETag` header, if any.
pub fn etag_of(h: &reqwest::header::HeaderMap) -> Option<String> {
    h.get("etag").map(|e| e.to_str().unwrap().to_owned())
}

/// A new API key (`args`: `--role ..`, `--tenant ..`).
pub async fn key(srv: &TestServer, args: &[&str]) -> String {
    let mut all = vec!["api-key", "create"];
    all.extend_from_slice(args);
    let out = srv.cli_json(&all).await;
    assert!(out["id"].is_string());
    out["key"].as_str().unwrap().to_owned()
}

/// Asserts an RFC 9457 problem of the stable `kind`.
pub fn problem(v: &Value, kind: &str) {
    assert_eq!(
        v["type"],
        format!("https://gatehouse.dev/problems/{kind}"),
        "{v}"
    );
    assert!(v["detail"].is_string() && v["status"].is_u64(), "{v}");
}
