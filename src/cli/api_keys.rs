//! `gatehouse api-key create|list|revoke`.

use serde_json::json;

use crate::ApiKeyCommand;
use crate::{Output, Result};
use gatehouse::admin::{self, CLI_ACTOR};
use gatehouse::model::rfc3339;
use gatehouse::store::{Db, api_keys};

pub async fn api_key_command(cmd: ApiKeyCommand, db: Db) -> Result<Output> {
    match cmd {
        ApiKeyCommand::Create { tenant, role, name } => {
            let c = admin::api_keys::create(&db, CLI_ACTOR, tenant.as_deref(), role, &name).await?;
            Ok(Output::Value {
                json: json!({ "id": c.key.id, "key": c.secret, "role": role, "tenant": tenant }),
                text: format!(
                    "id:  {}\nkey: {}\n(the key is shown only now; send it as Authorization: Bearer)",
                    c.key.id, c.secret
                ),
            })
        }
        ApiKeyCommand::List => {
            let keys = api_keys::list(&db).await?;
            let text = keys
                .iter()
                .map(|k| {
                    format!(
                        "{:<38} {:<13} {:<10} last used {}{}",
                        k.id,
                        k.role,
                        k.tenant_id.as_deref().unwrap_or("(all)"),
                        k.last_used_at
                            .map(rfc3339)
                            .unwrap_or_else(|| "never".into()),
                        if k.revoked_at.is_some() {
                            " (revoked)"
                        } else {
                            ""
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Output::Value {
                json: json!({ "api_keys": keys }),
                text,
            })
        }
        ApiKeyCommand::Revoke { id } => {
            admin::api_keys::revoke(&db, CLI_ACTOR, &id).await?;
            Ok(Output::Value {
                json: json!({ "revoked": id }),
                text: format!("revoked {id}"),
            })
        }
    }
}
