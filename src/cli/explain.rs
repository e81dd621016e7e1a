//! `gatehouse explain`: the MFA decision and its reason for an imagined sign-in.

use gatehouse::ids::ClientId;
use serde_json::json;

use crate::{Output, Result};
use gatehouse::model;
use gatehouse::store::{self, Db};

/// The sign-in `explain` imagines (its flags).
pub struct Imagined {
    /// `acr_values`, space-separated.
    pub acr_values: String,
    pub essential_acr: Option<String>,
    pub max_age: Option<i64>,
    pub trusted_device: bool,
    /// The SSO session verified a second factor this many seconds ago (None: no session).
    pub session_mfa_age: Option<i64>,
}

pub async fn explain(
    db: &Db,
    tenant: &str,
    client_id: &ClientId,
    email: &str,
    imagined: Imagined,
) -> Result<Output> {
    use gatehouse::mfa::inputs::{self, Situation};
    let t = store::tenants::get_by_slug(db, tenant).await?;
    let c = store::clients::find(db, &t.id, client_id)
        .await?
        .ok_or_else(|| format!("unknown client `{client_id}` in tenant `{tenant}`"))?;
    let u = store::users::find_by_login(db, &t.id, email)
        .await?
        .ok_or_else(|| format!("unknown user `{email}` in tenant `{tenant}`"))?;
    // The same facts and the same function as the hosted login (`mfa::service::decide`):
    // nothing skipped yet, and a session only when `--session-mfa-age` imagines one.
    let kinds = inputs::user_factors(db, &u.id).await?;
    let acr: Vec<String> = imagined
        .acr_values
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let essential: Vec<String> = imagined.essential_acr.into_iter().collect();
    let now = model::now();
    let d = inputs::decide(
        &t,
        &c,
        &Situation {
            acr_values: &acr,
            essential_acr: &essential,
            max_age: imagined.max_age,
            user_factors: &kinds,
            session_mfa_time: imagined.session_mfa_age.map(|age| now - age.max(0)),
            trusted_device: imagined.trusted_device,
            enrolment_skipped: false,
            now,
        },
    );
    let json = serde_json::to_value(&d)?;
    let text = format!(
        "{}: {}",
        json["outcome"].as_str().unwrap_or_default(),
        d.reason()
    );
    Ok(Output::Value {
        json: json!({ "decision": json }),
        text,
    })
}
