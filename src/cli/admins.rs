//! `gatehouse admin create`: console admins (users of the system tenant).

use serde_json::json;

use crate::AdminCommand;
use crate::{Output, Result};
use gatehouse::admin::{CLI_ACTOR, console};
use gatehouse::crypto::password::PasswordHasherPool;
use gatehouse::store::Db;

pub async fn admin_command(
    cmd: AdminCommand,
    db: Db,
    passwords: PasswordHasherPool,
    console_url: String,
) -> Result<Output> {
    match cmd {
        AdminCommand::Create {
            email,
            password_stdin: _,
            tenant,
        } => {
            let password = super::users::read_password()?;
            let a = console::create_admin(
                &db,
                &passwords,
                CLI_ACTOR,
                &email,
                &password,
                tenant.as_deref(),
            )
            .await?;
            let scope = a.tenant.as_ref().map(|t| t.slug.clone());
            let what = scope
                .as_deref()
                .map_or("every tenant".to_owned(), |s| format!("tenant {s}"));
            Ok(Output::Value {
                text: format!(
                    "{} {} is an admin of {what}; sign in at {console_url}",
                    if a.created { "created" } else { "updated" },
                    a.user.email,
                ),
                json: json!({
                    "user_id": a.user.id,
                    "email": a.user.email,
                    "tenant": scope,
                    "created": a.created,
                    "console_url": console_url,
                }),
            })
        }
    }
}
