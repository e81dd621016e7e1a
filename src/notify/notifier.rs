//! [`Notifier`]: the mailer, the SMS sender and the templates their messages are written in, as
//! one value the web layer, the CLI and (next) the admin API each build once and hand to the
//! services, so no caller assembles its own mailer or gateway to reach a user.

use std::path::Path;
use std::sync::Arc;

use super::mail::{MailError, MailKind, Mailer};
use super::sms::{self, SmsError, SmsKind, SmsMessage, SmsReceipt, SmsSender};
use crate::config::Config;
use crate::store::tenants::Tenant;
use crate::store::users::User;
use crate::web::templates::Templates;

/// Sends security notices and codes (cheap to clone: three `Arc`s inside).
#[derive(Clone)]
pub struct Notifier {
    /// `Err`: the mail set-up did not load (the CLI only; `serve` refuses to start then). Kept
    /// as a notifier that sends nothing, so an admin action is not held up by mail.
    mailer: Result<Mailer, String>,
    /// `Err`: the `[sms]` set-up did not load (the CLI only, as for mail).
    sms: Result<SmsSender, String>,
    templates: Arc<Templates>,
}

impl Notifier {
    pub fn new(mailer: Mailer, sms: SmsSender, templates: Arc<Templates>) -> Notifier {
        Notifier {
            mailer: Ok(mailer),
            sms: Ok(sms),
            templates,
        }
    }

    /// For a command-line run: `[mail]`, `[sms]` and the themes from the configuration. A set-up
    /// that does not load (a missing template, an unwritable folder) yields a notifier whose
    /// every message of that kind reports "not sent".
    pub fn from_config(config: &Config) -> Notifier {
        let themes_dir: &Path = &config.server.themes_dir;
        // The CLI binds no socket: the public URL is the configured one, or the address the
        // server would listen on, as `serve` resolves it.
        let public_url = crate::resolve_public_url(config, config.server.listen);
        Notifier {
            mailer: Mailer::new(&config.mail, themes_dir).map_err(|e| e.to_string()),
            sms: SmsSender::new(&config.sms, &public_url, themes_dir).map_err(|e| e.to_string()),
            templates: Arc::new(Templates::new(themes_dir)),
        }
    }

    /// Renders `kind` in the tenant's theme (and the request's language) and texts it to
    /// `to_e164`. One log line either way, with the country calling code only; the caller
    /// writes the audit event and shows the page.
    pub async fn send_sms(
        &self,
        tenant: &Tenant,
        to_e164: &str,
        kind: SmsKind,
    ) -> Result<SmsReceipt, SmsError> {
        let prepared = self
            .sms
            .as_ref()
            .map_err(|e| SmsError::Config(e.clone()))
            .and_then(|sender| {
                let body = sms::render(
                    &self.templates,
                    &tenant.theme,
                    &tenant.name,
                    sender.host(),
                    &kind,
                )?;
                Ok((sender, body))
            });
        let (sender, body) = match prepared {
            Ok(p) => p,
            Err(e) => {
                // The sender logs every delivery it tries; this is the one line for a text
                // that never reached it.
                tracing::warn!(
                    kind = kind.name(), tenant = %tenant.slug,
                    country = %sms::calling_code(to_e164), error = %e, "sms not sent"
                );
                return Err(e);
            }
        };
        let msg = SmsMessage::new(&tenant.slug, to_e164, kind.name(), body);
        sender.send(&msg).await
    }

    /// Renders `kind` in the tenant's theme and sends it to the user.
    pub async fn send(
        &self,
        tenant: &Tenant,
        user: &User,
        kind: MailKind,
    ) -> Result<(), MailError> {
        self.send_to(tenant, &user.email, kind).await
    }

    /// Renders `kind` in the tenant's theme and sends it to `address` (an email factor's
    /// address may differ from the account's).
    pub async fn send_to(
        &self,
        tenant: &Tenant,
        address: &str,
        kind: MailKind,
    ) -> Result<(), MailError> {
        let mailer = self
            .mailer
            .as_ref()
            .map_err(|e| MailError::Config(e.clone()))?;
        mailer
            .notify(&self.templates, &tenant.theme, &tenant.name, address, kind)
            .await
    }

    /// Emails the user about a security event; whether it went out. Best effort: a mail outage
    /// must not lock anyone out of their account, so a failure is logged (without the address)
    /// and the change, already committed, stands.
    pub async fn security_notice(&self, tenant: &Tenant, user: &User, kind: MailKind) -> bool {
        match self.send(tenant, user, kind).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, user_id = %user.id, "security notification not sent");
                false
            }
        }
    }
}
