//! `gatehouse audit list TENANT [--user EMAIL] [--limit N]`: the audit log, newest first.

use serde_json::{Value, json};

use crate::{Output, Result};
use gatehouse::model;
use gatehouse::store::{self, Db};

pub async fn list(db: &Db, tenant: &str, user: Option<&str>, limit: i64) -> Result<Output> {
    let t = store::tenants::get_by_slug(db, tenant).await?;
    let limit = limit.clamp(1, 10_000);
    let events = match user {
        Some(email) => {
            let u = store::users::find_by_login(db, &t.id, email)
                .await?
                .ok_or_else(|| format!("unknown user `{email}` in tenant `{tenant}`"))?;
            store::audit::list_for_user(db, &t.id, &u.id, limit).await?
        }
        None => store::audit::list_for_tenant(db, &t.id, limit).await?,
    };
    let rows: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "time": model::rfc3339(e.created_at),
                "event": e.event,
                "actor": e.actor,
                "user_id": e.user_id,
                "ip": e.ip,
                "detail": serde_json::from_str::<Value>(&e.detail).unwrap_or(Value::Null),
            })
        })
        .collect();
    let text = events
        .iter()
        .map(|e| {
            format!(
                "{}  {:<32} {:<20} {}",
                model::rfc3339(e.created_at),
                e.event,
                e.actor,
                e.detail
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Output::Value {
        json: json!({ "events": rows }),
        text,
    })
}
