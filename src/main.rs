//! The `gatehouse` command line: parse, load config, call into the library, print.
//! Admin commands print one JSON object with `--json`; every failure is one line on stderr and a
//! non-zero exit.

use gatehouse::ids::ClientId;
use std::path::PathBuf;
use std::process::ExitCode;

mod cli;

use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};

use gatehouse::config::{Config, LogFormat};
use gatehouse::crypto::password::PasswordHasherPool;
use gatehouse::model::{
    ApiRole, ClientMfaPolicy, MfaMethod, SigningAlg, TenantMfaPolicy, TokenAuthMethod, TrustPolicy,
};
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

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// Newest events first.
    List {
        tenant: String,
        /// Only this user's events.
        #[arg(long)]
        user: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Subcommand)]
pub(crate) enum ApiKeyCommand {
    /// A new key, printed once (`{"id","key"}` with --json); send it as `Authorization: Bearer`.
    Create {
        /// Only this tenant (required for tenant-admin).
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        role: ApiRole,
        /// A note for the listing (who or what uses it).
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Every key: id, tenant, role, created, last used, revoked.
    List,
    /// Revoke a key: it stops working at once.
    Revoke { id: String },
}

#[derive(Subcommand)]
pub(crate) enum KeysCommand {
    /// Show kid, algorithm, state and dates of every key (each tenant has its own).
    List {
        /// Only this tenant's keys (default: every tenant's).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Make a new key active and retire the old one after the longest token lifetime.
    Rotate {
        /// Only this tenant's keys (default: every tenant's).
        #[arg(long)]
        tenant: Option<String>,
        /// Only this algorithm (default: all).
        #[arg(long)]
        alg: Option<SigningAlg>,
        /// Only publish a `next` key (promote it with a later plain rotate).
        #[arg(long)]
        stage: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum TenantCommand {
    Create {
        slug: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value = "optional")]
        mfa: TenantMfaPolicy,
        #[arg(long, default_value_t = false, action = clap::ArgAction::Set)]
        prompt_enrollment: bool,
    },
    Update {
        slug: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        mfa: Option<TenantMfaPolicy>,
        #[arg(long, action = clap::ArgAction::Set)]
        prompt_enrollment: Option<bool>,
        /// Lifetime of "Trust this device" in days (0 hides the checkbox).
        #[arg(long)]
        trusted_device_days: Option<i64>,
        #[arg(long)]
        theme: Option<String>,
        /// Methods users may enrol, comma-separated (totp, email, sms; webauthn later).
        #[arg(long, value_delimiter = ',')]
        mfa_methods: Option<Vec<MfaMethod>>,
        /// Recovery codes per user (1-16).
        #[arg(long)]
        recovery_codes: Option<i64>,
        /// Give a fresh recovery code right after one is used.
        #[arg(long, action = clap::ArgAction::Set)]
        recovery_replace_on_use: Option<bool>,
        /// Prove the mailbox before enrolling at sign-in: email | none.
        #[arg(long)]
        enrollment_proof: Option<String>,
        /// Wrong codes allowed in one sign-in before it ends.
        #[arg(long)]
        mfa_max_attempts: Option<i64>,
        /// Changes on the account pages need a sign-in at most this many seconds old.
        #[arg(long)]
        account_reauth_secs: Option<i64>,
        /// The region a phone number typed without `+` is read in (US, GB, ...).
        #[arg(long)]
        sms_default_region: Option<String>,
        /// Country calling codes SMS codes may go to, comma-separated (1,44); default: the
        /// default region's.
        #[arg(long, value_delimiter = ',')]
        sms_allowed_countries: Option<Vec<u16>>,
    },
    /// One tenant's settings, with its SMS sends and failures of the last 24 hours.
    Get {
        slug: String,
    },
    /// MFA adoption: users enrolled, by method, and the last 7 and 30 days of sign-ins.
    MfaReport {
        slug: String,
    },
    List,
}

#[derive(Args)]
pub(crate) struct ClientCreate {
    tenant: String,
    #[arg(long = "redirect-uri", required = true)]
    redirect_uris: Vec<String>,
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    #[arg(long)]
    name: Option<String>,
    /// A public client (no secret; PKCE S256 required).
    #[arg(long)]
    public: bool,
    /// Skip the consent screen for this client.
    #[arg(long)]
    first_party: bool,
    #[arg(long, default_value = "inherit")]
    mfa_policy: ClientMfaPolicy,
    #[arg(long, default_value = "any")]
    trust_policy: TrustPolicy,
    #[arg(long, default_value = "RS256")]
    id_token_alg: SigningAlg,
    /// What its access tokens (RFC 9068 JWTs) are signed with: RS256, ES256 or EdDSA.
    #[arg(long, default_value = "RS256")]
    access_token_alg: SigningAlg,
    #[arg(long)]
    access_token_ttl: Option<i64>,
    #[arg(long)]
    id_token_ttl: Option<i64>,
    #[arg(long)]
    refresh_token_ttl: Option<i64>,
    /// Scopes the client may request with client_credentials, space-separated ("read write").
    /// Without it client_credentials issues only tokens without scope.
    #[arg(long)]
    scope: Option<String>,
    /// Allow `offline_access`: refresh tokens that survive logout (OIDC Core §11). Without it
    /// every refresh token ends with the sign-in session it came from.
    #[arg(long)]
    offline_access: bool,
    /// An exact origin (https://app.example.com) of a browser application that calls the
    /// token, userinfo, revocation or introspection endpoint; repeatable. No wildcards.
    #[arg(long = "web-origin")]
    web_origins: Vec<String>,
    /// Back-Channel Logout: where Gatehouse POSTs a logout token when a sign-in session this
    /// client got tokens in ends.
    #[arg(long)]
    backchannel_logout_uri: Option<String>,
    /// The client needs `sid` in the logout token (Gatehouse always sends it).
    #[arg(long)]
    backchannel_logout_session_required: bool,
    #[command(flatten)]
    auth: ClientAuthArgs,
}

/// How the client authenticates at /token, /revoke and /introspect (OIDC Core §9).
#[derive(Args)]
pub(crate) struct ClientAuthArgs {
    /// client_secret_basic (default for confidential clients), client_secret_post,
    /// private_key_jwt (with --jwks-file or --jwks-uri), or none (public clients only).
    #[arg(long)]
    token_endpoint_auth_method: Option<TokenAuthMethod>,
    /// private_key_jwt: a file holding the client's public keys as a JWK Set (RFC 7517).
    #[arg(long, value_name = "PATH", conflicts_with = "jwks_uri")]
    jwks_file: Option<PathBuf>,
    /// private_key_jwt: where the client publishes its JWK Set (https; http on loopback).
    #[arg(long, value_name = "URL")]
    jwks_uri: Option<String>,
}

#[derive(Args)]
pub(crate) struct ClientUpdate {
    tenant: String,
    /// Generated client ids may begin with `-`: taken as the value, not as a flag.
    #[arg(allow_hyphen_values = true)]
    client_id: ClientId,
    #[command(flatten)]
    auth: ClientAuthArgs,
    /// What its access tokens are signed with from now on: RS256, ES256 or EdDSA (tokens
    /// already issued keep working).
    #[arg(long)]
    access_token_alg: Option<SigningAlg>,
}

#[derive(Subcommand)]
pub(crate) enum ClientCommand {
    Create(ClientCreate),
    /// Change how a client authenticates at the token endpoint, or its access-token algorithm.
    Update(ClientUpdate),
    /// Show one client (never its secret).
    Get {
        tenant: String,
        #[arg(allow_hyphen_values = true)]
        client_id: ClientId,
    },
    List {
        tenant: String,
    },
    /// Replace a confidential client's secret (the new one is printed once).
    RotateSecret {
        tenant: String,
        #[arg(allow_hyphen_values = true)]
        client_id: ClientId,
    },
    /// Delete a client; its grants are revoked first.
    Delete {
        tenant: String,
        #[arg(allow_hyphen_values = true)]
        client_id: ClientId,
    },
}

#[derive(Subcommand)]
pub(crate) enum UserCommand {
    Create {
        tenant: String,
        email: String,
        /// Read the password from standard input (prompted without echo on a terminal).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long)]
        username: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email_verified: bool,
        /// A mobile number (E.164, or national in the tenant's SMS default region).
        #[arg(long)]
        phone: Option<String>,
        /// The number is known to be the user's.
        #[arg(long)]
        phone_verified: bool,
    },
    /// Changes a user's profile (name, phone number) or locks the account.
    Update {
        tenant: String,
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// A mobile number; an empty value removes it. A new number is unverified unless
        /// `--phone-verified true`.
        #[arg(long)]
        phone: Option<String>,
        #[arg(long, action = clap::ArgAction::Set)]
        phone_verified: Option<bool>,
        /// Lock (true: no sign-in, every session and grant ends) or unlock the account.
        #[arg(long, action = clap::ArgAction::Set)]
        locked: Option<bool>,
    },
    /// Deletes a user, their factors and sessions; their grants are revoked first.
    Delete {
        tenant: String,
        email: String,
    },
    List {
        tenant: String,
    },
    /// The admin "Reset MFA": removes every factor, recovery code and trusted device.
    MfaReset {
        tenant: String,
        email: String,
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
    if demo {
        let facts = gatehouse::demo::seed(&state).await?;
        println!("{facts}");
    }
    // Handlers first: a SIGTERM right after the "Listening" line must still be graceful.
    let shutdown = gatehouse::shutdown_signal();
    tracing::info!(listen = %bound, public_url = %public_url, "gatehouse listening");
    println!("Listening on http://{bound} (public URL {public_url})");
    if let Some(m) = metrics.as_ref().and_then(|l| l.local_addr().ok()) {
        println!("Metrics on http://{m}/metrics");
    }
    gatehouse::serve_with(state, listener, metrics, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}
