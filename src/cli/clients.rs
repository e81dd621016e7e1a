//! `gatehouse client create|list`.

use serde_json::json;

use crate::ClientCommand;
use crate::{Output, Result};
use gatehouse::admin::{self, CLI_ACTOR, clients::ClientRequest};
use gatehouse::store::{self, Db};

pub async fn client_command(
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
                scope: c.scope,
                offline_access: c.offline_access,
                web_origins: c.web_origins,
                backchannel_logout_uri: c.backchannel_logout_uri,
                backchannel_logout_session_required: c.backchannel_logout_session_required,
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
