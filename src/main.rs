//! The `gatehouse` command line: parse, load config, call into the library, print.
//! Admin commands print one JSON object with `--json`; every failure is one line on stderr and a
//! non-zero exit.

use gatehouse::ids::ClientId;
use std::path::PathBuf;
use std::process::ExitCode;

mod cli;

pub(crate) use cli::args::{
    AdminCommand, ApiKeyCommand, AuditCommand, ClientAuthArgs, ClientCommand, KeysCommand,
    SecretsCommand, TenantCommand, UserCommand,
};

use clap::{Parser, Subcommand};
use serde_json::{Value, json};

use gatehouse::config::{Config, LogFormat};
use gatehouse::crypto::password::PasswordHasherPool;
use gatehouse::store::Db;

#[derive(Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "OpenID Connect identity provider with built-in MFA"
)]
struct Cli {
    /// Configuration file (default: ./config.toml when present).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Print exactly one JSON object on stdout (admin commands).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the identity provider (migrates the database and creates keys on first start).
    Serve {
        /// Seed a demo tenant, client and user and print their URLs and credentials.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Signing-key lifecycle.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The server secret (`secrets.key`).
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Tenants (each one is an issuer).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// OAuth clients of a tenant.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Users of a tenant.
    #[command(subcommand)]
    User(UserCommand),
    /// The audit log of a tenant.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Keys for the admin API (`/api/v1`).
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Admins of the hosted console (`/admin`).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Print the MFA decision (and its reason) for a sign-in of USER to CLIENT.
    Explain {
        tenant: String,
        /// Generated client ids may begin with `-`: taken as the value, not as a flag.
        #[arg(allow_hyphen_values = true)]
        client_id: ClientId,
        email: String,
        /// acr_values of the imagined request, space-separated (e.g. "mfa").
        #[arg(long, default_value = "")]
        acr_values: String,
        /// An essential acr value requested through the claims parameter (e.g. phr).
        #[arg(long)]
        essential_acr: Option<String>,
        #[arg(long)]
        max_age: Option<i64>,
        /// Assume a valid "Trust this device" cookie.
        #[arg(long)]
        trusted_device: bool,
        /// Assume the browser's SSO session verified a second factor SECONDS ago (a step-up);
        /// without it, a fresh sign-in with no session.
        #[arg(long, value_name = "SECONDS")]
        session_mfa_age: Option<i64>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (path, required) = match &cli.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from("config.toml"), false),
    };
    let config = match Config::load(&path, required) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    init_logging(&config);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let json = cli.json;
    match runtime.block_on(run(cli.command, config)) {
        Ok(Output::Quiet) => ExitCode::SUCCESS,
        Ok(Output::Value { json: value, text }) => {
            if json {
                println!("{value}");
            } else {
                println!("{text}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&*e),
    }
}

fn fail(e: &dyn std::fmt::Display) -> ExitCode {
    // One line: an operator's script greps it, a person reads it.
    let msg = e.to_string().replace('\n', " ");
    eprintln!("error: {msg}");
    ExitCode::FAILURE
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.server.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.server.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Human => builder.init(),
    }
}

pub(crate) enum Output {
    Quiet,
    Value { json: Value, text: String },
}

pub(crate) type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

async fn run(command: Command, config: Config) -> Result<Output> {
    match command {
        Command::Serve { demo } => serve(config, demo).await.map(|_| Output::Quiet),
        Command::Migrate => {
            let db = Db::connect(&config.database).await?;
            db.migrate().await?;
            db.close().await;
            Ok(Output::Value {
                json: json!({ "migrated": true }),
                text: "database is up to date".into(),
            })
        }
        Command::Keys(k) => with_db(&config, |db| cli::keys::keys_command(k, db, &config)).await,
        Command::Secrets(SecretsCommand::Reseal) => {
            with_db(&config, |db| cli::keys::reseal(db, &config)).await
        }
        Command::Tenant(t) => {
            with_db(&config, |db| cli::tenants::tenant_command(t, db, &config)).await
        }
        Command::Client(c) => {
            let tokens = config.tokens.clone();
            with_db(&config, |db| cli::clients::client_command(c, db, tokens)).await
        }
        Command::Explain {
            tenant,
            client_id,
            email,
            acr_values,
            essential_acr,
            max_age,
            trusted_device,
            session_mfa_age,
        } => {
            let imagined = gatehouse::admin::explain::Imagined {
                acr_values,
                essential_acr,
                max_age,
                trusted_device,
                session_mfa_age,
            };
            with_db(&config, |db| async move {
                cli::explain::explain(&db, &tenant, &client_id, &email, imagined).await
            })
            .await
        }
        Command::ApiKey(k) => with_db(&config, |db| cli::api_keys::api_key_command(k, db)).await,
        Command::Admin(a) => {
            let passwords = PasswordHasherPool::new(&config.password)?;
            let base = gatehouse::resolve_public_url(&config, config.server.listen);
            let url = format!("{base}/admin");
            with_db(&config, |db| {
                cli::admins::admin_command(a, db, passwords, url)
            })
            .await
        }
        Command::Audit(AuditCommand::List {
            tenant,
            user,
            limit,
        }) => {
            with_db(&config, |db| async move {
                cli::audit::list(&db, &tenant, user.as_deref(), limit).await
            })
            .await
        }
        Command::User(u) => {
            let passwords = PasswordHasherPool::new(&config.password)?;
            let cfg = config.clone();
            with_db(&config, |db| {
                cli::users::user_command(u, db, passwords, cfg)
            })
            .await
        }
    }
}

async fn with_db<F, Fut>(config: &Config, f: F) -> Result<Output>
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = Result<Output>>,
{
    let db = Db::connect(&config.database).await?;
    db.migrate().await?;
    let out = f(db.clone()).await;
    db.close().await;
    out
}

async fn serve(config: Config, demo: bool) -> Result<()> {
    let addr = config.server.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| gatehouse::StartError::Listen { addr, source })?;
    let bound = listener.local_addr()?;
    let metrics = gatehouse::bind_metrics(&config).await?;
    let public_url = gatehouse::resolve_public_url(&config, bound);
    let state = gatehouse::build_state(config, public_url.clone()).await?;
    // The console's system tenant exists from the first start (with its keys).
    let system = gatehouse::admin::console::system_tenant(&state.db).await?;
    state.keys.current(&system.id).await?;
    // The demo application is mounted only in demo mode: without `--demo`, /demo/app is a 404.
    let mut extra = axum::Router::new();
    if demo {
        let facts = gatehouse::demo::seed(&state).await?;
        println!("{facts}");
        let app = gatehouse::demo::app::DemoApp::new(&facts, &public_url, bound);
        extra = gatehouse::demo::app::router(app);
    }
    // Handlers first: a SIGTERM right after the "Listening" line must still be graceful.
    let shutdown = gatehouse::shutdown_signal();
    tracing::info!(listen = %bound, public_url = %public_url, "gatehouse listening");
    println!("Listening on http://{bound} (public URL {public_url})");
    if let Some(m) = metrics.as_ref().and_then(|l| l.local_addr().ok()) {
        println!("Metrics on http://{m}/metrics");
    }
    gatehouse::serve_with_routes(state, listener, metrics, extra, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}
