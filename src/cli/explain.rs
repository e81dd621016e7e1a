//! `gatehouse explain`: the MFA decision and its reason for an imagined sign-in.

use serde_json::json;

use crate::{Output, Result};
use gatehouse::model;
use gatehouse::store::{self, Db};
#[allow(clippy::too_many_arguments)]
pub async fn explain(
    db: &Db,
    tenant: &str,
    client_id: &str,
    email: &str,
    acr_values: &str,
    essential_acr: Option<String>,
    max_age: Option<i64>,
    trusted_device: bool,
) -> Result<Output> {
    use gatehouse::mfa::inputs::{self, Situation};
    let t = store::tenants::get_by_slug(db, tenant).await?;
    let c = store::clients::find(db, &t.id, client_id)
        .await?
        .ok_or_else(|| format!("unknown client `{client_id}` in tenant `{tenant}`"))?;
    let u = store::users::find_by_login(db, &t.id, email)
        .await?
        .ok_or_else(|| format!("unknown user `{email}` in tenant `{tenant}`"))?;
    // The same facts and the same function as the hosted login (`mfa::service::decide`), for a
    // fresh sign-in: no SSO session yet, nothing skipped.
    let kinds = inputs::user_factors(db, &u.id).await?;
    let acr: Vec<String> = acr_values.split_whitespace().map(str::to_owned).collect();
    let essential: Vec<String> = essential_acr.into_iter().collect();
    let d = inputs::decide(
        &t,
        &c,
        &Situation {
            acr_values: &acr,
            essential_acr: &essential,
            max_age,
            user_factors: &kinds,
            session_mfa_time: None,
            trusted_device,
            enrolment_skipped: false,
            now: model::now(),
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
