//! `gatehouse keys list|rotate`.

use serde_json::{Value, json};

use crate::KeysCommand;
use crate::{Output, Result};
use gatehouse::config::Config;
use gatehouse::crypto::keys::{self, KeySet};
use gatehouse::model::{self, SigningAlg};

fn key_json(k: &keys::SigningKey) -> Value {
    json!({
        "kid": k.kid,
        "alg": k.alg,
        "state": k.state.as_str(),
        "created_at": model::rfc3339(k.created_at),
        "retire_at": k.retire_at.map(model::rfc3339),
    })
}

pub fn keys_command(cmd: KeysCommand, config: &Config) -> Result<Output> {
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
