//! `serve --demo`: seeds a demo tenant, a confidential client and a user, and prints how to use
//! them. The database keeps only hashes, so the generated secrets are kept in a local file
//! (mode 0600, `demo.credentials_file`) and a second start prints the same facts. The "try it"
//! application that signs in with the demo client lives in [`app`].

pub mod app;
pub mod rp;

use crate::ids::ClientId;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::admin::{self, AdminError, AdminResult};
use crate::crypto::random;
use crate::model::{ClientMfaPolicy, SigningAlg, TenantMfaPolicy, TrustPolicy};
use crate::state::AppState;
use crate::store::{clients, tenants, users};

pub const TENANT: &str = "demo";
pub const EMAIL: &str = "demo@example.com";
pub const ADMIN_EMAIL: &str = "admin@example.com";
const ACTOR: &str = "demo";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DemoCredentials {
    pub client_id: ClientId,
    pub client_secret: String,
    pub email: String,
    pub password: String,
    /// The demo console admin's password (files written before the console lack it).
    #[serde(default)]
    pub admin_password: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoFacts {
    pub issuer: String,
    pub discovery_url: String,
    pub client_id: ClientId,
    pub client_secret: String,
    pub redirect_uri: String,
    pub email: String,
    pub password: String,
    /// `{issuer}/account`: the self-service pages the demo user can sign in to.
    pub account_url: String,
    /// `{public_url}/demo/app`: the built-in demo application ([`app`]).
    pub try_it_url: String,
    /// `{public_url}/admin`: the admin console, and its demo admin (a platform admin).
    pub console_url: String,
    pub admin_email: String,
    pub admin_password: String,
    /// Where mail goes: the console's first sign-in sends a code to prove the admin's mailbox.
    pub mail: String,
}

impl DemoFacts {
    /// The console lines, in the order they are printed: `(label, value)`. Scripts read them by
    /// label, so a new fact is a new line at the end and no existing line moves or changes.
    pub fn lines(&self) -> [(&'static str, &str); 13] {
        [
            ("issuer", &self.issuer),
            ("discovery", &self.discovery_url),
            ("client_id", self.client_id.as_str()),
            ("client_secret", &self.client_secret),
            ("redirect_uri", &self.redirect_uri),
            ("user email", &self.email),
            ("user password", &self.password),
            ("account pages", &self.account_url),
            ("try it", &self.try_it_url),
            ("console", &self.console_url),
            ("admin email", &self.admin_email),
            ("admin password", &self.admin_password),
            ("mail", &self.mail),
        ]
    }
}

impl std::fmt::Display for DemoFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gatehouse demo is ready.")?;
        for (label, value) in self.lines() {
            // "  {label}:" padded to one column, as the first release printed them.
            write!(f, "\n  {:<16}{value}", format!("{label}:"))?;
        }
        Ok(())
    }
}

fn read_credentials(path: &Path) -> Option<DemoCredentials> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_credentials(path: &Path, c: &DemoCredentials) -> AdminResult<()> {
    let io =
        |e: std::io::Error| AdminError::Invalid(format!("cannot write {}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    f.write_all(&serde_json::to_vec_pretty(c).unwrap_or_default())
        .map_err(io)
}

/// Idempotent: reuses the tenant, client and user when present, repairing a lost secret.
pub async fn seed(state: &AppState) -> AdminResult<DemoFacts> {
    let db = &state.db;
    let cfg = &state.config.demo;
    let saved = read_credentials(&cfg.credentials_file);

    let tenant = match tenants::find_by_slug(db, TENANT).await? {
        Some(t) => t,
        None => {
            admin::tenants::create(
                db,
                ACTOR,
                TENANT,
                Some("Demo Organisation"),
                TenantMfaPolicy::Optional,
                false,
            )
            .await?
        }
    };
    // Its own signing keys now, as `tenant create` makes them.
    state.keys.current(&tenant.id).await?;

    let existing_client = match &saved {
        Some(s) => clients::find(db, &tenant.id, &s.client_id).await?,
        None => None,
    };
    let (client_id, client_secret) = match (existing_client, &saved) {
        (Some(c), Some(s)) => {
            let matches = c
                .secret_hash
                .as_deref()
                .is_some_and(|h| random::verify_sha256(&s.client_secret, h));
            if !matches {
                clients::set_secret_hash(db, &c.id, &random::sha256_hex(&s.client_secret)).await?;
            }
            (c.id, s.client_secret.clone())
        }
        _ => {
            let created = admin::clients::create(
                db,
                &state.config.tokens,
                ACTOR,
                TENANT,
                admin::clients::ClientRequest {
                    name: Some("Demo application".into()),
                    redirect_uris: vec![cfg.redirect_uri.clone()],
                    post_logout_redirect_uris: vec![cfg.redirect_uri.clone()],
                    public: false,
                    first_party: true,
                    mfa_policy: ClientMfaPolicy::Inherit,
                    trust_policy: TrustPolicy::Any,
                    id_token_alg: SigningAlg::Rs256,
                    access_token_alg: SigningAlg::Rs256,
                    access_token_ttl_secs: None,
                    id_token_ttl_secs: None,
                    refresh_token_ttl_secs: None,
                    scope: None,
                    offline_access: false,
                    auth: Default::default(),
                    web_origins: Vec::new(),
                    backchannel_logout_uri: None,
                    backchannel_logout_session_required: false,
                },
            )
            .await?;
            (created.client.id, created.secret.unwrap_or_default())
        }
    };

    // The demo application's callback, beside the configured redirect URI (exact match at
    // /authorize), added to a client seeded before the demo application existed too.
    let client = clients::find(db, &tenant.id, &client_id)
        .await?
        .ok_or_else(|| AdminError::Invalid(format!("demo client `{client_id}` vanished")))?;
    let callback = app::callback_uri(&state.public_url);
    if !client.redirect_uris.contains(&callback) {
        let mut uris = client.redirect_uris.clone();
        uris.push(callback);
        clients::set_redirect_uris(db, &client.id, &uris).await?;
    }

    let password = match (users::find_by_login(db, &tenant.id, EMAIL).await?, &saved) {
        (Some(u), Some(s)) => {
            if !state
                .passwords
                .verify(&s.password, u.password_hash.as_deref())
                .await?
            {
                let hash = state.passwords.hash(&s.password).await?;
                users::set_password_hash(db, &u.id, &hash).await?;
            }
            s.password.clone()
        }
        (Some(u), None) => {
            let pw = random::token(12);
            let hash = state.passwords.hash(&pw).await?;
            users::set_password_hash(db, &u.id, &hash).await?;
            pw
        }
        (None, _) => {
            let pw = saved
                .as_ref()
                .map(|s| s.password.clone())
                .unwrap_or_else(|| random::token(12));
            admin::users::create(
                db,
                &state.passwords,
                ACTOR,
                TENANT,
                admin::users::UserRequest {
                    email: EMAIL.into(),
                    username: Some("demo".into()),
                    name: Some("Demo User".into()),
                    email_verified: true,
                    ..Default::default()
                },
                &pw,
            )
            .await?;
            pw
        }
    };

    let admin_password = demo_admin(state, saved.as_ref()).await?;
    let creds = DemoCredentials {
        client_id,
        client_secret,
        email: EMAIL.into(),
        password,
        admin_password: Some(admin_password.clone()),
    };
    if saved.as_ref() != Some(&creds) {
        write_credentials(&cfg.credentials_file, &creds)?;
    }
    let issuer = state.issuer(TENANT);
    Ok(DemoFacts {
        discovery_url: format!("{issuer}/.well-known/openid-configuration"),
        client_id: creds.client_id,
        client_secret: creds.client_secret,
        redirect_uri: cfg.redirect_uri.clone(),
        email: creds.email,
        password: creds.password,
        account_url: format!("{issuer}/account"),
        try_it_url: app::home_url(&state.public_url),
        console_url: format!("{}/admin", state.public_url),
        admin_email: ADMIN_EMAIL.into(),
        admin_password,
        mail: match state.config.mail.effective_transport() {
            crate::notify::mail::MailTransport::File => format!(
                "{} (one .eml file per message)",
                state.config.mail.dir.display()
            ),
            crate::notify::mail::MailTransport::Smtp => "sent by SMTP".into(),
        },
        issuer,
    })
}

/// The demo's platform admin of the console, with the saved password (or a new one).
async fn demo_admin(state: &AppState, saved: Option<&DemoCredentials>) -> AdminResult<String> {
    let password = saved
        .and_then(|s| s.admin_password.clone())
        .unwrap_or_else(|| random::token(12));
    let system = admin::console::system_tenant(&state.db).await?;
    if let Some(u) = users::find_by_login(&state.db, &system.id, ADMIN_EMAIL).await?
        && crate::store::console::scope(&state.db, &u.id)
            .await?
            .is_some()
        && state
            .passwords
            .verify(&password, u.password_hash.as_deref())
            .await?
    {
        return Ok(password);
    }
    let (db, pw) = (&state.db, &state.passwords);
    admin::console::create_admin(db, pw, ACTOR, ADMIN_EMAIL, &password, None).await?;
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_lines_keep_their_order_and_columns() {
        let facts = DemoFacts {
            issuer: "http://127.0.0.1:8080/t/demo".into(),
            discovery_url: "http://127.0.0.1:8080/t/demo/.well-known/openid-configuration".into(),
            client_id: ClientId::from("cid"),
            client_secret: "sec".into(),
            redirect_uri: "http://localhost:9000/callback".into(),
            email: EMAIL.into(),
            password: "pw".into(),
            account_url: "http://127.0.0.1:8080/t/demo/account".into(),
            try_it_url: "http://127.0.0.1:8080/demo/app".into(),
            console_url: "http://127.0.0.1:8080/admin".into(),
            admin_email: ADMIN_EMAIL.into(),
            admin_password: "apw".into(),
            mail: "data/mail (one .eml file per message)".into(),
        };
        assert_eq!(
            facts.to_string(),
            "Gatehouse demo is ready.\n\
             \x20 issuer:         http://127.0.0.1:8080/t/demo\n\
             \x20 discovery:      http://127.0.0.1:8080/t/demo/.well-known/openid-configuration\n\
             \x20 client_id:      cid\n\
             \x20 client_secret:  sec\n\
             \x20 redirect_uri:   http://localhost:9000/callback\n\
             \x20 user email:     demo@example.com\n\
             \x20 user password:  pw\n\
             \x20 account pages:  http://127.0.0.1:8080/t/demo/account\n\
             \x20 try it:         http://127.0.0.1:8080/demo/app\n\
             \x20 console:        http://127.0.0.1:8080/admin\n\
             \x20 admin email:    admin@example.com\n\
             \x20 admin password: apw\n\
             \x20 mail:           data/mail (one .eml file per message)"
        );
    }
}
