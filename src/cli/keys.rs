//! `gatehouse keys list|rotate [--tenant SLUG]`: each tenant's own signing keys, in the
//! database (sealed under `secrets.key`); without `--tenant`, every tenant's. A rotation here
//! reaches every running node within `server.keys_reload_secs`.

use serde_json::{Value, json};

use crate::KeysCommand;
use crate::{Output, Result};
use gatehouse::config::Config;
use gatehouse::crypto::key_store;
use gatehouse::crypto::keys::{self, KeySet};
use gatehouse::crypto::secret::ServerSecret;
use gatehouse::model::{self, SigningAlg};
use gatehouse::store::Db;
use gatehouse::store::tenants::{self, Tenant};

fn key_json(t: &Tenant, k: &keys::SigningKey) -> Value {
    json!({
        "tenant": t.slug,
        "kid": k.kid,
        "alg": k.alg,
        "state": k.state.as_str(),
        "created_at": model::rfc3339(k.created_at),
        "retire_at": k.retire_at.map(model::rfc3339),
    })
}

async fn selected(db: &Db, slug: Option<&str>) -> Result<Vec<Tenant>> {
    Ok(match slug {
        Some(s) => vec![tenants::get_by_slug(db, s).await?],
        None => tenants::list(db).await?,
    })
}

pub async fn keys_command(cmd: KeysCommand, db: Db, config: &Config) -> Result<Output> {
    let root = &config.keys.dir;
    let secret = ServerSecret::from_config(&config.secrets, root)?;
    let retire_after = config.tokens.max_lifetime_secs;
    let now = model::now();
    match cmd {
        KeysCommand::List { tenant } => {
            let mut rows = Vec::new();
            let mut text = format!(
                "{:<16} {:<24} {:<6} {:<8} {:<22} RETIRES",
                "TENANT", "KID", "ALG", "STATE", "CREATED"
            );
            for t in selected(&db, tenant.as_deref()).await? {
                let set: KeySet =
                    key_store::ensure(&db, &secret, root, &t.id, retire_after, now).await?;
                for k in set.keys() {
                    rows.push(key_json(&t, k));
                    text.push_str(&format!(
                        "\n{:<16} {:<24} {:<6} {:<8} {:<22} {}",
                        t.slug,
                        k.kid,
                        k.alg.as_str(),
                        k.state.as_str(),
                        model::rfc3339(k.created_at),
                        k.retire_at
                            .map(model::rfc3339)
                            .unwrap_or_else(|| "-".into())
                    ));
                }
            }
            Ok(Output::Value {
                json: json!({ "keys": rows }),
                text,
            })
        }
        KeysCommand::Rotate { tenant, alg, stage } => {
            let algs: Vec<SigningAlg> = alg
                .map(|a| vec![a])
                .unwrap_or_else(|| SigningAlg::ALL.to_vec());
            let mut rotated = Vec::new();
            let mut text = Vec::new();
            for t in selected(&db, tenant.as_deref()).await? {
                key_store::ensure(&db, &secret, root, &t.id, retire_after, now).await?;
                for a in &algs {
                    let r = key_store::rotate(&db, &secret, &t.id, *a, stage, retire_after, now)
                        .await?;
                    text.push(match &r.retired_kid {
                        Some(old) => format!(
                            "{}: {}: {} is now {}; {} retires at {}",
                            t.slug,
                            a,
                            r.kid,
                            r.new_state.as_str(),
                            old,
                            r.retire_at.map(model::rfc3339).unwrap_or_default()
                        ),
                        None => format!(
                            "{}: {}: {} is now {}",
                            t.slug,
                            a,
                            r.kid,
                            r.new_state.as_str()
                        ),
                    });
                    rotated.push(json!({
                        "tenant": t.slug,
                        "alg": a,
                        "kid": r.kid,
                        "state": r.new_state.as_str(),
                        "retired_kid": r.retired_kid,
                        "retire_at": r.retire_at.map(model::rfc3339),
                    }));
                }
            }
            Ok(Output::Value {
                json: json!({ "rotated": rotated }),
                text: text.join("\n"),
            })
        }
    }
}

/// `gatehouse secrets reseal`.
pub async fn reseal(db: Db, config: &Config) -> Result<Output> {
    let secret = ServerSecret::from_config(&config.secrets, &config.keys.dir)?;
    let r = gatehouse::admin::secrets::reseal(&db, &secret).await?;
    Ok(Output::Value {
        text: format!(
            "re-sealed {} signing key(s) and {} TOTP seed(s) under the current secrets.key ({})",
            r.signing_keys, r.totp_seeds, r.key_id
        ),
        json: serde_json::to_value(&r)?,
    })
}
