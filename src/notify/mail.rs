//! Outbound mail: the `[mail]` configuration, and a [`Mailer`] that delivers a built message over
//! SMTP (lettre, native-tls) or writes it as an `.eml` file for the embedded setup.
//!
//! What a message says lives in `themes/{theme}/mail/*.txt` (see [`super::compose`]); this file
//! only moves bytes. Nothing here logs a code or a message body: log lines carry the kind of
//! message and the recipient's domain only.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

pub use super::compose::{MailKind, RenderedMail, render};
use crate::web::templates::Templates;

/// `[mail]`: how Gatehouse sends one-time codes and security notices.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// `file` or `smtp`. Unset: `smtp` when `smtp_url` is set, else `file`, so
    /// `GATEHOUSE_MAIL__SMTP_URL=...` alone switches a deployment to SMTP.
    pub transport: Option<MailTransport>,
    /// `smtp://HOST[:PORT]` (plain, port 25), `smtp://USER:PASS@HOST:587?tls=required`
    /// (STARTTLS, port 587) or `smtps://USER:PASS@HOST[:465]` (implicit TLS): lettre's
    /// `AsyncSmtpTransport::from_url` forms.
    pub smtp_url: Option<SmtpUrl>,
    /// The `From:` mailbox, e.g. `Gatehouse <no-reply@id.example.com>`.
    pub from: FromAddress,
    /// Folder the file transport writes `{uuid}.eml` files into (created with mode 0700).
    pub dir: PathBuf,
    /// Upper bound for one SMTP delivery (connect, dialogue and data), in seconds.
    pub timeout_secs: u64,
}

/// The `[mail]` part of the embedded `config.toml`, the one place its defaults are written.
impl Default for MailConfig {
    fn default() -> Self {
        crate::config::Config::default().mail
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    File,
    Smtp,
}

impl MailConfig {
    /// The transport in effect (see [`MailConfig::transport`]).
    pub fn effective_transport(&self) -> MailTransport {
        match (self.transport, &self.smtp_url) {
            (Some(t), _) => t,
            (None, Some(_)) => MailTransport::Smtp,
            (None, None) => MailTransport::File,
        }
    }

    /// Checks what single values cannot: the keys are validated one by one while loading
    /// (`smtp_url` and `from` parse or the load fails naming them), this checks them together.
    /// The message names the key, like every other configuration error.
    pub fn validate(&self) -> Result<(), String> {
        if self.effective_transport() == MailTransport::Smtp && self.smtp_url.is_none() {
            return Err(
                "mail.smtp_url: required when mail.transport = \"smtp\"; expected e.g. smtp://127.0.0.1:2525"
                    .into(),
            );
        }
        if self.timeout_secs == 0 {
            return Err("mail.timeout_secs: expected a positive integer".into());
        }
        Ok(())
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

const SMTP_URL_FORMS: &str = "expected smtp://HOST[:PORT], smtp://USER:PASS@HOST:587?tls=required (STARTTLS) or smtps://USER:PASS@HOST[:465]";

/// An SMTP connection URL that lettre accepts. Parsed at load so a typo stops start-up. Its
/// `Debug` hides the password; the error never repeats the URL (it may hold one).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String", into = "String")]
pub struct SmtpUrl(String);

impl TryFrom<String> for SmtpUrl {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let url = url::Url::parse(&value).map_err(|e| format!("{e}: {SMTP_URL_FORMS}"))?;
        if !matches!(url.scheme(), "smtp" | "smtps") || url.host_str().is_none_or(str::is_empty) {
            return Err(SMTP_URL_FORMS.to_string());
        }
        // lettre's own parser decides the rest (tls=required|opportunistic, credentials).
        AsyncSmtpTransport::<Tokio1Executor>::from_url(&value)
            .map_err(|e| format!("{e}: {SMTP_URL_FORMS}"))?;
        Ok(SmtpUrl(value))
    }
}

impl From<SmtpUrl> for String {
    fn from(value: SmtpUrl) -> Self {
        value.0
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(&self.0) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("***"));
                write!(f, "SmtpUrl({u})")
            }
            _ => write!(f, "SmtpUrl({})", self.0),
        }
    }
}

impl SmtpUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The `From:` mailbox (`Name <addr@domain>` or `addr@domain`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String", into = "String")]
pub struct FromAddress(Mailbox);

impl TryFrom<String> for FromAddress {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse::<Mailbox>().map(FromAddress).map_err(|e| {
            format!("{e}: expected a mailbox such as `Gatehouse <no-reply@id.example.com>` or `no-reply@id.example.com`")
        })
    }
}

impl From<FromAddress> for String {
    fn from(value: FromAddress) -> Self {
        value.0.to_string()
    }
}

impl FromAddress {
    pub fn mailbox(&self) -> &Mailbox {
        &self.0
    }
}

/// Why a message was not sent. The caller decides whether that fails its request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("mail template {template}: {source}")]
    Template {
        template: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("invalid recipient address: {0}")]
    Recipient(#[source] lettre::address::AddressError),
    #[error("cannot build the message: {0}")]
    Build(#[source] lettre::error::Error),
    #[error("SMTP delivery failed: {0}")]
    Smtp(#[source] lettre::transport::smtp::Error),
    #[error("SMTP delivery did not finish within {0:?}")]
    Timeout(Duration),
    #[error("cannot write the mail file: {0}")]
    File(#[source] lettre::transport::file::Error),
    #[error("mail folder {path}: {source}")]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Delivers messages. Cheap to clone: one `Arc` inside.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    from: Mailbox,
    timeout: Duration,
}

enum Transport {
    // Without lettre's `pool` feature every send opens (and closes) its own connection: mail is
    // rare here, and no idle connection can go stale between sends.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File {
        transport: AsyncFileTransport<Tokio1Executor>,
        dir: PathBuf,
    },
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = match &self.inner.transport {
            Transport::Smtp(_) => "smtp".to_string(),
            Transport::File { dir, .. } => format!("file:{}", dir.display()),
        };
        f.debug_struct("Mailer").field("transport", &t).finish()
    }
}

impl Mailer {
    /// Builds the transport from `[mail]` and checks that every message template exists under
    /// `{themes_dir}/default/mail/`, so a broken install fails at start-up, not at the first
    /// sign-in. The file transport's folder is created here (mode 0700: files hold codes).
    pub fn new(config: &MailConfig, themes_dir: &Path) -> Result<Mailer, MailError> {
        config.validate().map_err(MailError::Config)?;
        for name in MailKind::TEMPLATE_FILES {
            let path = themes_dir.join("default/mail").join(name);
            if !path.is_file() {
                return Err(MailError::Config(format!(
                    "missing mail template {}",
                    path.display()
                )));
            }
        }
        let transport = match config.effective_transport() {
            MailTransport::Smtp => {
                let url = config.smtp_url.as_ref().expect("validated above");
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.as_str())
                    .map_err(|e| MailError::Config(format!("mail.smtp_url: {e}")))?
                    .timeout(Some(config.timeout()))
                    .build();
                Transport::Smtp(transport)
            }
            MailTransport::File => {
                create_private_dir(&config.dir)?;
                Transport::File {
                    transport: AsyncFileTransport::<Tokio1Executor>::new(&config.dir),
                    dir: config.dir.clone(),
                }
            }
        };
        Ok(Mailer {
            inner: Arc::new(Inner {
                transport,
                from: config.from.mailbox().clone(),
                timeout: config.timeout(),
            }),
        })
    }

    /// The configured `From:` mailbox.
    pub fn from(&self) -> &Mailbox {
        &self.inner.from
    }

    /// Sends one built message. SMTP delivery is bounded by `mail.timeout_secs` as a whole.
    pub async fn send(&self, msg: Message) -> Result<(), MailError> {
        match &self.inner.transport {
            Transport::Smtp(t) => {
                let timeout = self.inner.timeout;
                match tokio::time::timeout(timeout, t.send(msg)).await {
                    Ok(r) => r.map(|_| ()).map_err(MailError::Smtp),
                    Err(_) => Err(MailError::Timeout(timeout)),
                }
            }
            Transport::File { transport, dir } => {
                let id = transport.send(msg).await.map_err(MailError::File)?;
                tracing::info!(file = %dir.join(format!("{id}.eml")).display(), "mail written to file");
                Ok(())
            }
        }
    }

    /// Renders `kind` with the tenant's theme and sends it to `to`. Logs the kind and the
    /// recipient's domain, never the code or the body.
    pub async fn notify(
        &self,
        templates: &Templates,
        theme: &str,
        tenant_name: &str,
        to: &str,
        kind: MailKind,
    ) -> Result<(), MailError> {
        let kind_name = kind.name();
        let to_domain = to.rsplit_once('@').map_or("-", |(_, d)| d).to_owned();
        let rendered = render(
            templates,
            theme,
            tenant_name,
            to,
            &kind,
            time::OffsetDateTime::now_utc(),
        )?;
        let msg = self.message(to, &rendered)?;
        match self.send(msg).await {
            Ok(()) => {
                tracing::info!(kind = kind_name, to_domain = %to_domain, "mail sent");
                Ok(())
            }
            Err(e) => {
                tracing::warn!(kind = kind_name, to_domain = %to_domain, error = %e, "mail not sent");
                Err(e)
            }
        }
    }

    /// A plain-text UTF-8 message from this mailer's `From:` to `to`.
    pub fn message(&self, to: &str, mail: &RenderedMail) -> Result<Message, MailError> {
        let to: Mailbox = to.parse().map_err(MailError::Recipient)?;
        // RFC 5322 §3.6.4: a unique id on the sender's domain (not this host's name).
        let id = format!(
            "<{}@{}>",
            uuid::Uuid::new_v4().simple(),
            self.inner.from.email.domain()
        );
        Message::builder()
            .message_id(Some(id))
            .from(self.inner.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(MailError::Build)
    }
}

fn create_private_dir(dir: &Path) -> Result<(), MailError> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| MailError::Dir {
            path: dir.to_path_buf(),
            source,
        })
}
