//! Gatehouse: an OpenID Connect / OAuth 2.0 identity provider with a built-in MFA stage.
//!
//! `main.rs` is only the CLI; everything else lives here so integration tests can build the same
//! router and serve it on port 0.

pub mod account;
pub mod admin;
pub mod api;
pub mod cache;
pub mod changes;
pub mod client_cache;
pub mod config;
pub mod console;
pub mod crypto;
pub mod demo;
pub mod error;
pub mod housekeeping;
pub mod ids;
pub mod lifecycle;
pub mod login;
pub mod mfa;
pub mod model;
pub mod notify;
pub mod oidc;
pub mod ops;
pub mod otp;
pub mod password_policy;
pub mod phone;
pub mod private_fs;
pub mod profile;
pub mod signout;
pub mod state;
pub mod store;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::crypto::keyring::KeyRing;
use crate::crypto::password::PasswordHasherPool;
use crate::state::AppState;
use crate::store::Db;

/// Anything that stops start-up; each renders as one line naming the cause.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Keys(#[from] crypto::keys::KeyError),
    #[error(transparent)]
    Password(#[from] crypto::password::PasswordError),
    #[error(transparent)]
    Mail(#[from] notify::mail::MailError),
    #[error(transparent)]
    Sms(#[from] notify::sms::SmsError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

/// The public base URL: configured, or `http://{bound address}` for local use.
pub fn resolve_public_url(config: &Config, bound: SocketAddr) -> String {
    match &config.server.public_url {
        Some(u) => u.as_str().to_owned(),
        None => format!("http://{bound}"),
    }
}

/// Connects and migrates the database, loads (or creates) keys, prepares the password pool.
pub async fn build_state(config: Config, public_url: String) -> Result<AppState, StartError> {
    let db = Db::connect(&config.database).await?;
    db.migrate().await?;
    let tenants: Vec<_> = store::tenants::list(&db)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    let retire_after = config.tokens.max_lifetime_secs;
    let secret = crypto::secret::ServerSecret::from_config(&config.secrets, &config.keys.dir)?;
    let keys = KeyRing::open(
        db.clone(),
        secret.clone(),
        &config.keys.dir,
        &tenants,
        retire_after,
        model::now(),
    )
    .await?;
    let passwords = PasswordHasherPool::new(&config.password)?;
    let mailer = notify::mail::Mailer::new(&config.mail, &config.server.themes_dir)?;
    let sms = notify::sms::SmsSender::new(&config.sms, &public_url, &config.server.themes_dir)?;
    Ok(AppState::new(
        config, public_url, db, keys, secret, passwords, mailer, sms,
    ))
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A UUID v4 per request from the thread's CSPRNG: `MakeRequestUuid` asks the kernel
/// (`getrandom`) on every request, 2 % of the CPU of a JWKS request at 40k req/s.
#[derive(Clone, Copy)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        HeaderValue::from_str(&id.to_string())
            .ok()
            .map(RequestId::new)
    }
}

pub fn build_app(state: AppState) -> Router {
    build_app_with(state, Router::new())
}

/// [`build_app`] with `extra` routes beside the IdP's own, under the same layers (security
/// headers, body limit, metrics, request ids): the demo application of `serve --demo`.
pub fn build_app_with(state: AppState, extra: Router<AppState>) -> Router {
    let hsts = state.is_https();
    Router::new()
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .route("/static/{theme}/{*file}", get(ops::static_file))
        .merge(oidc::router(&state))
        .merge(login::router())
        .merge(account::router())
        .merge(api::router())
        .merge(console::router())
        .merge(extra)
        .layer(axum::middleware::from_fn_with_state(
            web::unavailable::Guard {
                db: state.db.clone(),
                request_timeout: Duration::from_secs(state.config.server.request_timeout_secs),
            },
            web::unavailable::guard,
        ))
        // One cap for every body any handler reads (forms, the token endpoint, /authorize POST):
        // axum's default is 2 MB, and no Gatehouse request legitimately needs more than a few KiB.
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.server.max_body_bytes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.templates.catalog.clone(),
            web::i18n::negotiate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            web::metrics::track,
        ))
        .layer(axum::middleware::from_fn_with_state(
            web::headers::HeaderPolicy { hsts },
            web::headers::security_headers,
        ))
        // Only method, path (never the query, which may carry codes) and the request id.
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, RandomRequestId))
        .with_state(state)
}

/// The router of the separate `metrics.listen` address: `/metrics` and nothing else.
pub fn build_metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(ops::metrics_dedicated))
        .with_state(state)
}

/// Binds `metrics.listen` when it is configured.
pub async fn bind_metrics(config: &Config) -> Result<Option<TcpListener>, StartError> {
    let Some(addr) = config.metrics.listen else {
        return Ok(None);
    };
    TcpListener::bind(addr)
        .await
        .map(Some)
        .map_err(|source| StartError::Listen { addr, source })
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish (bounded by
/// `server.shutdown_grace_secs`) and closes the database pool. Binds `metrics.listen` itself
/// when it is configured.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let metrics = bind_metrics(&state.config).await?;
    serve_with(state, listener, metrics, shutdown).await
}

/// [`serve`] with the metrics listener already bound (tests bind it on port 0).
pub async fn serve_with(
    state: AppState,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    serve_with_routes(state, listener, metrics_listener, Router::new(), shutdown).await
}

/// [`serve_with`] with `extra` routes mounted beside the IdP's own ([`build_app_with`]).
pub async fn serve_with_routes(
    state: AppState,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    extra: Router<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let reload = spawn_key_reload(&state);
    let listener_task =
        changes::spawn_listener(&state.db, state.tenants.clone(), state.keys.clone());
    let every = Duration::from_secs(state.config.server.sweep_interval_secs.max(1));
    let sweeper = housekeeping::spawn(
        state.db.clone(),
        every,
        housekeeping::longest_limit_window(&state.config),
    );
    let metrics_server = metrics_listener.map(|l| {
        if let Ok(addr) = l.local_addr() {
            tracing::info!(listen = %addr, "metrics listening");
        }
        let app = build_metrics_app(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(l, app).await {
                tracing::error!(error = %e, "metrics listener failed");
            }
        })
    });
    let grace = Duration::from_secs(state.config.server.shutdown_grace_secs);
    let db = state.db.clone();
    let app = build_app_with(state, extra);
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = stopping_tx.send(());
    });
    let result = tokio::select! {
        r = server => r.map_err(StartError::Serve),
        _ = async {
            let _ = stopping_rx.await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!("shutdown grace period over; dropping remaining connections");
            Ok(())
        }
    };
    reload.abort();
    sweeper.abort();
    if let Some(l) = listener_task {
        l.abort();
    }
    if let Some(m) = metrics_server {
        m.abort();
    }
    db.close().await;
    result
}

/// Every `server.keys_reload_secs`: the signing keys' heads, and the clients' change counter
/// (a change made on another node or by the CLI reaches this node's client cache this fast).
fn spawn_key_reload(state: &AppState) -> tokio::task::JoinHandle<()> {
    let keys = state.keys.clone();
    let clients = state.clients.clone();
    let db = state.db.clone();
    let every = Duration::from_secs(state.config.server.keys_reload_secs.max(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        // The first tick is now, and the keys were just loaded: start one interval later.
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = clients.poll(&db).await {
                tracing::error!(error = %e, "reading the clients' change counter failed; cached clients live out their TTL");
            }
            if let Err(e) = keys.reload(model::now()).await {
                tracing::error!(error = %e, "reloading signing keys failed; keeping the loaded ones");
            }
        }
    })
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is called, not when the
/// future is first polled, so a SIGTERM that arrives right after "Listening on" (before the
/// server loop starts) still shuts down gracefully instead of killing the process.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate()).ok();
    let int = signal(SignalKind::interrupt()).ok();
    async move {
        let wait = |s: Option<tokio::signal::unix::Signal>| async move {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = wait(term) => {},
            _ = wait(int) => {},
        }
    }
}
