//! Operational endpoints at the root: liveness, readiness and Prometheus metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;
use crate::web::metrics;

/// Liveness: the process answers.
pub async fn health() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the database answers and signing keys are loaded.
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    // Bounded: while the database is down the pool would wait its whole acquire timeout.
    let db_ok = match tokio::time::timeout(std::time::Duration::from_secs(2), state.db.ping()).await
    {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            false
        }
        Err(_) => {
            tracing::warn!("readiness: the database did not answer within 2 s");
            false
        }
    };
    let keys = state.keys.is_ready();
    let ok = db_ok && keys;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "status": if ok { "ready" } else { "not_ready" },
            "database": if db_ok { "ok" } else { "unreachable" },
            "keys": if keys { "ok" } else { "missing" },
        })),
    )
}

/// `/metrics` on the main listener (see `web::metrics::check_access` for who may read it).
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let access = metrics::check_access(
        &state.config.metrics,
        &state.public_url,
        metrics::Listener::Main,
        &headers,
    );
    metrics::respond(&state.metrics, state.passwords.metrics_text(), access)
}

/// `/metrics` on the separate `metrics.listen` address.
pub async fn metrics_dedicated(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let access = metrics::check_access(
        &state.config.metrics,
        &state.public_url,
        metrics::Listener::Dedicated,
        &headers,
    );
    metrics::respond(&state.metrics, state.passwords.metrics_text(), access)
}

/// `/static/{theme}/{file}`: theme assets with fallback to the default theme.
pub async fn static_file(
    State(state): State<AppState>,
    axum::extract::Path((theme, file)): axum::extract::Path<(String, String)>,
) -> impl IntoResponse {
    match crate::web::templates::static_asset(&state.config.server.themes_dir, &theme, &file) {
        Some((mime, bytes)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, mime),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            bytes,
        )
            .into_response(),
        None => crate::error::AppError::NotFound.into_response(),
    }
}
