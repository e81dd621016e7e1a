//! `gatehouse explain`: the MFA decision and its reason for an imagined sign-in
//! (`admin::explain`, which the admin API calls too).

use gatehouse::admin::explain::{self, Imagined};
use gatehouse::ids::ClientId;
use gatehouse::model;
use gatehouse::store::{self, Db};
use serde_json::json;

use crate::{Output, Result};

pub async fn explain(
    db: &Db,
    tenant: &str,
    client_id: &ClientId,
    email: &str,
    imagined: Imagined,
) -> Result<Output> {
    let t = store::tenants::get_by_slug(db, tenant).await?;
    let d = explain::explain(db, &t, client_id, email, imagined, model::now()).await?;
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
