//! The `gatehouse` command line: parse, load config, call into the library, print.
//! Admin commands print one JSON object with `--json`; every failure is one line on stderr and a
//! non-zero exit.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};

use gatehouse::admin::{self, CLI_ACTOR, clients::ClientRequest, users::UserRequest};
use gatehouse::config::{Config, LogFormat};
use gatehouse::crypto::keys::{self, KeySet};
use gatehouse::crypto::password::PasswordHasherPool;
use gatehouse::model::{
    self, ClientMfaPolicy, MfaMethod, SigningAlg, TenantMfaPolicy, TrustPolicy,
};
use gatehouse::store::{self, Db, tenants::TenantChanges};

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
    /// Print the MFA decision (and its reason) for a sign-in of USER to CLIENT.
    Explain {
        tenant: String,
        client_id: String,
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
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Show kid, algorithm, state and dates of every key.
    List,
    /// Make a new key active and retire the old one after the longest token lifetime.
    Rotate {
        /// Only this algorithm (default: all).
        #[arg(long)]
        alg: Option<SigningAlg>,
        /// Only publish a `next` key (promote it with a later plain rotate).
        #[arg(long)]
        stage: bool,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
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
        /// Methods users may enrol, comma-separated (totp; email, sms, webauthn later).
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
    },
    List,
}

#[derive(Args)]
struct ClientCreate {
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
    #[arg(long)]
    access_token_ttl: Option<i64>,
    #[arg(long)]
    id_token_ttl: Option<i64>,
    #[arg(long)]
    refresh_token_ttl: Option<i64>,
}

#[derive(Subcommand)]
enum ClientCommand {
    Create(ClientCreate),
    List { tenant: String },
}

#[derive(Subcommand)]
enum UserCommand {
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

enum Output {
    Quiet,
    Value { json: Value, text: String },
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

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
        Command::Keys(k) => keys_command(k, &config),
        Command::Tenant(t) => with_db(&config, |db| tenant_command(t, db)).await,
        Command::Client(c) => {
            let tokens = config.tokens.clone();
            with_db(&config, |db| client_command(c, db, tokens)).await
        }
        Command::Explain {
            tenant,
            client_id,
            email,
            acr_values,
            essential_acr,
            max_age,
            trusted_device,
        } => {
            with_db(&config, |db| async move {
                explain(
                    &db,
                    &tenant,
                    &client_id,
                    &email,
                    &acr_values,
                    essential_acr,
                    max_age,
                    trusted_device,
                )
                .await
            })
            .await
        }
        Command::User(u) => {
            let passwords = PasswordHasherPool::new(&config.password)?;
            with_db(&config, |db| user_command(u, db, passwords)).await
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
    let public_url = gatehouse::resolve_public_url(&config, bound);
    let state = gatehouse::build_state(config, public_url.clone()).await?;
    if demo {
        let facts = gatehouse::demo::seed(&state).await?;
        println!("{facts}");
    }
    tracing::info!(listen = %bound, public_url = %public_url, "gatehouse listening");
    println!("Listening on http://{bound} (public URL {public_url})");
    gatehouse::serve(state, listener, gatehouse::shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

fn key_json(k: &keys::SigningKey) -> Value {
    json!({
        "kid": k.kid,
        "alg": k.alg,
        "state": k.state.as_str(),
        "created_at": model::rfc3339(k.created_at),
        "retire_at": k.retire_at.map(model::rfc3339),
    })
}

fn keys_command(cmd: KeysCommand, config: &Config) -> Result<Output> {
    let dir = &config.keys.dir;
    match cmd {
        KeysCommand::List => {
            let set = KeySet::load_or_create(dir, model::now())?;
            let rows: Vec<Value> = set.keys().iter().map(key_json).collect();
            let mut text = format!(
                "{:<24} {:<6} {:<8} {:<22} RETIRES",
                "KID", "ALG", "STATE", "CREATED"
            );
            for k in set.keys() {
                text.push_str(&format!(
                    "\n{:<24} {:<6} {:<8} {:<22} {}",
                    k.kid,
                    k.alg.as_str(),
                    k.state.as_str(),
                    model::rfc3339(k.created_at),
                    k.retire_at
                        .map(model::rfc3339)
                        .unwrap_or_else(|| "-".into())
                ));
            }
            Ok(Output::Value {
                json: json!({ "keys": rows }),
                text,
            })
        }
        KeysCommand::Rotate { alg, stage } => {
            let now = model::now();
            KeySet::load_or_create(dir, now)?;
            let algs: Vec<SigningAlg> = alg
                .map(|a| vec![a])
                .unwrap_or_else(|| SigningAlg::ALL.to_vec());
            let mut rotated = Vec::new();
            let mut text = Vec::new();
            for a in algs {
                let r = keys::rotate(dir, a, stage, config.tokens.max_lifetime_secs, now)?;
                text.push(match &r.retired_kid {
                    Some(old) => format!(
                        "{}: {} is now {}; {} retires at {}",
                        a,
                        r.kid,
                        r.new_state.as_str(),
                        old,
                        r.retire_at.map(model::rfc3339).unwrap_or_default()
                    ),
                    None => format!("{}: {} is now {}", a, r.kid, r.new_state.as_str()),
                });
                rotated.push(json!({
                    "alg": a,
                    "kid": r.kid,
                    "state": r.new_state.as_str(),
                    "retired_kid": r.retired_kid,
                    "retire_at": r.retire_at.map(model::rfc3339),
                }));
            }
            Ok(Output::Value {
                json: json!({ "rotated": rotated }),
                text: text.join("\n"),
            })
        }
    }
}

fn tenant_json(t: &store::tenants::Tenant) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

async fn tenant_command(cmd: TenantCommand, db: Db) -> Result<Output> {
    match cmd {
        TenantCommand::Create {
            slug,
            name,
            mfa,
            prompt_enrollment,
        } => {
            let t = admin::tenants::create(
                &db,
                CLI_ACTOR,
                &slug,
                name.as_deref(),
                mfa,
                prompt_enrollment,
            )
            .await?;
            Ok(Output::Value {
                text: format!("created tenant {} (MFA {})", t.slug, t.mfa_policy),
                json: tenant_json(&t),
            })
        }
        TenantCommand::Update {
            slug,
            name,
            mfa,
            prompt_enrollment,
            trusted_device_days,
            theme,
            mfa_methods,
            recovery_codes,
            recovery_replace_on_use,
            enrollment_proof,
            mfa_max_attempts,
        } => {
            let changes = TenantChanges {
                name,
                mfa_policy: mfa,
                mfa_prompt_enrollment: prompt_enrollment,
                trusted_device_days,
                theme,
                mfa_methods,
                mfa_recovery_count: recovery_codes,
                mfa_recovery_replace_on_use: recovery_replace_on_use,
                mfa_enrollment_proof: enrollment_proof,
                mfa_max_attempts,
            };
            let t = admin::tenants::update(&db, CLI_ACTOR, &slug, &changes).await?;
            Ok(Output::Value {
                text: format!("updated tenant {} (MFA {})", t.slug, t.mfa_policy),
                json: tenant_json(&t),
            })
        }
        TenantCommand::List => {
            let ts = store::tenants::list(&db).await?;
            let text = ts
                .iter()
                .map(|t| format!("{:<24} {:<10} {}", t.slug, t.mfa_policy.as_str(), t.name))
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Output::Value {
                json: json!({ "tenants": ts.iter().map(tenant_json).collect::<Vec<_>>() }),
                text,
            })
        }
    }
}

async fn client_command(
    cmd: ClientCommand,
    db: Db,
    tokens: gatehouse::config::TokensConfig,
) -> Result<Output> {
    match cmd {
        ClientCommand::Create(c) => {
            let req = ClientRequest {
                name: c.name,
                redirect_uris: c.redirect_uris,
                post_logout_redirect_uris: c.post_logout_redirect_uris,
                public: c.public,
                first_party: c.first_party,
                mfa_policy: c.mfa_policy,
                trust_policy: c.trust_policy,
                id_token_alg: c.id_token_alg,
                access_token_ttl_secs: c.access_token_ttl,
                id_token_ttl_secs: c.id_token_ttl,
                refresh_token_ttl_secs: c.refresh_token_ttl,
            };
            let created = admin::clients::create(&db, &tokens, CLI_ACTOR, &c.tenant, req).await?;
            let mut value = serde_json::to_value(&created.client)?;
            value["client_secret"] = json!(created.secret);
            let text = match &created.secret {
                Some(s) => format!(
                    "client_id:     {}\nclient_secret: {s}\n(the secret is shown only now; store it safely)",
                    created.client.id
                ),
                None => format!(
                    "client_id:     {}\n(public client: no secret, PKCE S256 required)",
                    created.client.id
                ),
            };
            Ok(Output::Value { json: value, text })
        }
        ClientCommand::List { tenant } => {
            let t = store::tenants::get_by_slug(&db, &tenant).await?;
            let cs = store::clients::list(&db, &t.id).await?;
            let text = cs
                .iter()
                .map(|c| {
                    format!(
                        "{:<24} {:<8} {}",
                        c.id,
                        if c.is_public { "public" } else { "secret" },
                        c.name
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Output::Value {
                json: json!({ "clients": cs }),
                text,
            })
        }
    }
}

/// Reads a password without echo on a terminal, or the first line of piped input.
fn read_password() -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(rpassword::prompt_password("Password: ")?);
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

async fn user_command(cmd: UserCommand, db: Db, passwords: PasswordHasherPool) -> Result<Output> {
    match cmd {
        UserCommand::Create {
            tenant,
            email,
            password_stdin: _,
            username,
            name,
            email_verified,
        } => {
            let password = read_password()?;
            let req = UserRequest {
                email,
                username,
                name,
                email_verified,
            };
            let u =
                admin::users::create(&db, &passwords, CLI_ACTOR, &tenant, req, &password).await?;
            Ok(Output::Value {
                text: format!("created user {} ({})", u.id, u.email),
                json: serde_json::to_value(&u)?,
            })
        }
        UserCommand::List { tenant } => {
            let t = store::tenants::get_by_slug(&db, &tenant).await?;
            let us = store::users::list(&db, &t.id).await?;
            let mut rows = Vec::new();
            let mut text = Vec::new();
            for u in &us {
                let factors = store::factors::list_for_user(&db, &u.id).await?;
                let codes = store::recovery_codes::remaining(&db, &u.id).await?;
                let mut v = serde_json::to_value(u)?;
                v["mfa"] = json!({
                    "enabled": !factors.is_empty(),
                    "factors": factors,
                    "recovery_codes_remaining": codes,
                });
                let status = if factors.is_empty() {
                    "off".to_string()
                } else {
                    format!("on ({} factor(s), {codes} recovery codes)", factors.len())
                };
                text.push(format!("{:<38} {:<32} MFA {status}", u.id, u.email));
                rows.push(v);
            }
            Ok(Output::Value {
                json: json!({ "users": rows }),
                text: text.join("\n"),
            })
        }
        UserCommand::MfaReset { tenant, email } => {
            let t = store::tenants::get_by_slug(&db, &tenant).await?;
            let u = store::users::find_by_login(&db, &t.id, &email)
                .await?
                .ok_or_else(|| format!("unknown user `{email}` in tenant `{tenant}`"))?;
            let removed = gatehouse::mfa::service::reset(&db, &t, &u, CLI_ACTOR).await?;
            Ok(Output::Value {
                json: json!({
                    "user_id": u.id,
                    "email": u.email,
                    "factors_removed": removed,
                    "mfa_required_at_next_sign_in": t.mfa_policy == TenantMfaPolicy::Required,
                }),
                text: format!(
                    "reset MFA of {}: {removed} factor(s) removed, recovery codes and trusted devices voided",
                    u.email
                ),
            })
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn explain(
    db: &Db,
    tenant: &str,
    client_id: &str,
    email: &str,
    acr_values: &str,
    essential_acr: Option<String>,
    max_age: Option<i64>,
    trusted_device: bool,
) -> Result<Output> {
    use gatehouse::mfa::policy::{self, Inputs};
    let t = store::tenants::get_by_slug(db, tenant).await?;
    let c = store::clients::find(db, &t.id, client_id)
        .await?
        .ok_or_else(|| format!("unknown client `{client_id}` in tenant `{tenant}`"))?;
    let u = store::users::find_by_login(db, &t.id, email)
        .await?
        .ok_or_else(|| format!("unknown user `{email}` in tenant `{tenant}`"))?;
    let kinds: Vec<MfaMethod> = store::factors::list_for_user(db, &u.id)
        .await?
        .into_iter()
        .map(|f| f.kind)
        .collect();
    let allowed = t.mfa_methods()?;
    let acr: Vec<String> = acr_values.split_whitespace().map(str::to_owned).collect();
    let essential: Vec<String> = essential_acr.into_iter().collect();
    let d = policy::decide(&Inputs {
        tenant_policy: t.mfa_policy,
        prompt_enrollment: t.mfa_prompt_enrollment,
        allowed_methods: &allowed,
        client_policy: c.mfa_policy,
        trust_policy: c.trust_policy,
        acr_values: &acr,
        essential_acr: &essential,
        max_age,
        user_factors: &kinds,
        session_mfa_time: None,
        trusted_device,
        enrolment_skipped: false,
        now: model::now(),
    });
    let json = serde_json::to_value(&d)?;
    let text = format!(
        "{}: {}",
        json["outcome"].as_str().unwrap_or_default(),
        d.reason()
    );
    Ok(Output::Value {
        json: json!({ "decision": json }),
        text,
    })
}
