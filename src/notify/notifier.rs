//! [`Notifier`]: the mailer and the templates a security notice is written in, as one value the
//! web layer, the CLI and (next) the admin API each build once and hand to the services, so no
//! caller assembles its own mailer to tell a user what happened to their account.

use std::path::Path;
use std::sync::Arc;

use super::mail::{MailConfig, MailError, MailKind, Mailer};
use crate::store::tenants::Tenant;
use crate::store::users::User;
use crate::web::templates::Templates;

/// Sends security notices (cheap to clone: two `Arc`s inside).
#[derive(Clone)]
pub struct Notifier {
    /// `Err`: the mail set-up did not load (the CLI only; `serve` refuses to start then). Kept
    /// as a notifier that sends nothing, so an admin action is not held up by mail.
    mailer: Result<Mailer, String>,
    templates: Arc<Templates>,
}

impl Notifier {
    pub fn new(mailer: Mailer, templates: Arc<Templates>) -> Notifier {
        Notifier {
            mailer: Ok(mailer),
            templates,
        }
    }

    /// For a command-line run: `[mail]` and the themes from the configuration. A mail set-up
    /// that does not load (a missing template, an unwritable folder) yields a notifier whose
    /// every notice reports "not sent".
    pub fn from_config(mail: &MailConfig, themes_dir: &Path) -> Notifier {
        Notifier {
            mailer: Mailer::new(mail, themes_dir).map_err(|e| e.to_string()),
            templates: Arc::new(Templates::new(themes_dir)),
        }
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
