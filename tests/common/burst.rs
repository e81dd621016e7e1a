//! Fires many requests at the same instant, the way an attacker races a limit: every request is
//! built first, each in its own task, and a barrier releases them together (not a loop of sends).
#![allow(dead_code)]

use std::sync::Arc;

use tokio::sync::Barrier;

/// Sends every request at once and returns the responses in the order given. A transport error
/// panics: a race test must know every request reached the server.
pub async fn at_once(requests: Vec<reqwest::RequestBuilder>) -> Vec<reqwest::Response> {
    run_at_once(
        requests
            .into_iter()
            .map(|r| async move { r.send().await.expect("request reaches the server") })
            .collect(),
    )
    .await
}

/// Runs every future at the same instant (each in its own task, released by one barrier) and
/// returns their outputs in order. For races that are not a single request (a sign-in walk, a
/// store call).
pub async fn run_at_once<F, T>(futures: Vec<F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(Barrier::new(futures.len().max(1)));
    let tasks: Vec<_> = futures
        .into_iter()
        .map(|f| {
            let b = barrier.clone();
            tokio::spawn(async move {
                b.wait().await;
                f.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.expect("task finished"));
    }
    out
}
