//! `gatehouse client create|update|get|list|rotate-secret|delete`.

use serde_json::json;

use crate::{ClientAuthArgs, ClientCommand};
use crate::{Output, Result};
use gatehouse::admin::client_auth::AuthRequest;
use gatehouse::admin::{
    self, CLI_ACTOR,
    clients::{ClientChange, ClientRequest},
};
use gatehouse::store::{self, Db, clients::Client};

/// Reads `--jwks-file` here, so the library sees only the document.
fn auth_request(a: ClientAuthArgs) -> Result<AuthRequest> {
    let jwks = match &a.jwks_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| format!("--jwks-file {}: {e}", path.display()))?,
        ),
        None => None,
    };
    Ok(AuthRequest {
        method: a.token_endpoint_auth_method,
        jwks,
        jwks_uri: a.jwks_uri,
    })
}

/// One client for people: id, kind, name and how it authenticates.
fn describe(c: &Client) -> String {
    let keys = match (&c.jwks, &c.jwks_uri) {
        (Some(_), _) => "\njwks:          registered".to_owned(),
        (None, Some(uri)) => format!("\njwks_uri:      {uri}"),
        (None, None) => String::new(),
    };
    format!(
        "client_id:     {}\nname:          {}\nauth method:   {}{keys}\naccess tokens: {}",
        c.id, c.name, c.token_endpoint_auth_method, c.access_token_alg
    )
}

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
                access_token_alg: c.access_token_alg,
                access_token_ttl_secs: c.access_token_ttl,
                id_token_ttl_secs: c.id_token_ttl,
                refresh_token_ttl_secs: c.refresh_token_ttl,
                scope: c.scope,
                offline_access: c.offline_access,
                auth: auth_request(c.auth)?,
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
                None if created.client.is_public => format!(
                    "client_id:     {}\n(public client: no secret, PKCE S256 required)",
                    created.client.id
                ),
                None => describe(&created.client),
            };
            Ok(Output::Value { json: value, text })
        }
        ClientCommand::Update(u) => {
            // A repeatable option not given changes nothing; given, it replaces the list, and
            // given only as "" it empties it.
            let list = |l: Vec<String>| {
                (!l.is_empty()).then(|| l.into_iter().filter(|v| !v.is_empty()).collect())
            };
            let change = ClientChange {
                name: u.name,
                redirect_uris: list(u.redirect_uris),
                post_logout_redirect_uris: list(u.post_logout_redirect_uris),
                first_party: u.first_party,
                mfa_policy: u.mfa_policy,
                trust_policy: u.trust_policy,
                id_token_alg: u.id_token_alg,
                access_token_alg: u.access_token_alg,
                access_token_ttl_secs: u.access_token_ttl,
                id_token_ttl_secs: u.id_token_ttl,
                refresh_token_ttl_secs: u.refresh_token_ttl,
                scope: u.scope,
                offline_access: u.offline_access,
                web_origins: list(u.web_origins),
                backchannel_logout_uri: u.backchannel_logout_uri,
                backchannel_logout_session_required: u.backchannel_logout_session_required,
                auth: auth_request(u.auth)?,
                expected_version: None,
            };
            let (tenant, id) = (&u.tenant, &u.client_id);
            let c = admin::clients::update(&db, &tokens, CLI_ACTOR, tenant, id, change).await?;
            Ok(Output::Value {
                json: serde_json::to_value(&c)?,
                text: describe(&c),
            })
        }
        ClientCommand::Get { tenant, client_id } => {
            let c = admin::clients::get(&db, &tenant, &client_id).await?;
            Ok(Output::Value {
                json: serde_json::to_value(&c)?,
                text: describe(&c),
            })
        }
        ClientCommand::RotateSecret { tenant, client_id } => {
            let (c, secret) =
                admin::clients::rotate_secret(&db, CLI_ACTOR, &tenant, &client_id).await?;
            let mut json = serde_json::to_value(&c)?;
            json["client_secret"] = json!(secret);
            Ok(Output::Value {
                json,
                text: format!(
                    "client_id:     {}\nclient_secret: {secret}\n(the old secret no longer works; the new one is shown only now)",
                    c.id
                ),
            })
        }
        ClientCommand::Delete { tenant, client_id } => {
            let now = gatehouse::model::now();
            let revoked = admin::clients::delete(&db, CLI_ACTOR, &tenant, &client_id, now).await?;
            Ok(Output::Value {
                json: json!({ "client_id": client_id, "deleted": true, "grants_revoked": revoked }),
                text: format!("deleted client {client_id} ({revoked} grants revoked)"),
            })
        }
        ClientCommand::List { tenant } => {
            let t = store::tenants::get_by_slug(&db, &tenant).await?;
            let cs = store::clients::list(&db, &t.id).await?;
            let text = cs
                .iter()
                .map(|c| {
                    format!(
                        "{:<24} {:<19} {}",
                        c.id, c.token_endpoint_auth_method, c.name
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
