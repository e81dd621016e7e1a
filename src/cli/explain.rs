//! `gatehouse explain`: the MFA decision and its reason for an imagined sign-in.

use serde_json::json;

use crate::{Output, Result};
use gatehouse::model::{self, MfaMethod};
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
    use gatehouse::mfa::policy::{self, Inputs};
    let t = store::tenants::get_by_slug(db, tenant).await?;
    let c = store::clients::find(db, &t.id, client_id)
        .await?
        .ok_or_else(|| format!("unknown client `{client_id}` in tenant `{tenant}`"))?;
    let u = store::users::find_by_login(db, &t.id, email)
        .await?
        .ok_or_else(|| format!("unknown user `{email}` in tenant `{tenant}`"))?;
    let kinds: Vec<MfaMethod> = store::factors::list_for_user(db, &u.id)
        .await?
        .into_iter()
        .map(|f| f.kind)
        .collect();
    let allowed = t.mfa_methods()?;
    let acr: Vec<String> = acr_values.split_whitespace().map(str::to_owned).collect();
    let essential: Vec<String> = essential_acr.into_iter().collect();
    let d = policy::decide(&Inputs {
        tenant_policy: t.mfa_policy,
        prompt_enrollment: t.mfa_prompt_enrollment,
        allowed_methods: &allowed,
        client_policy: c.mfa_policy,
        trust_policy: c.trust_policy,
        acr_values: &acr,
        essential_acr: &essential,
        max_age,
        user_factors: &kinds,
        session_mfa_time: None,
        trusted_device,
        enrolment_skipped: false,
        now: model::now(),
    });
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
