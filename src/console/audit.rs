//! The audit log of a tenant with the filters of `GET /api/v1/tenants/{slug}/audit-events`:
//! user (email, username or id), event, client and the last N days; newest first, one page
//! at a time (the cursor is the last event shown).

use std::collections::HashMap;

use axum::extract::{Query, State};
use serde::Serialize;

use super::{AdminIn, Frame, render, time};
use crate::ids::UserId;
use crate::model::now;
use crate::state::AppState;
use crate::store::audit::{self, Filter};
use crate::store::users;
use crate::web::{Or500, PageResult};

const PAGE: i64 = 100;

#[derive(Serialize)]
struct Row {
    at: String,
    event: String,
    actor: String,
    user_id: Option<String>,
    detail: String,
    ip: String,
}

#[derive(Serialize)]
struct AuditPage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    user: &'a str,
    event: &'a str,
    client: &'a str,
    days: &'a str,
    /// The user filter named nobody of this tenant.
    unknown_user: bool,
    rows: Vec<Row>,
    /// The query of the next page, when there is one.
    next: Option<String>,
}

/// `GET /admin/t/{slug}/audit?user=..&event=..&client=..&days=..&before=..`.
pub async fn list(
    State(state): State<AppState>,
    at: AdminIn,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let field = |k: &str| q.get(k).map_or("", |v| v.trim());
    let (user, event, client, days) = (
        field("user"),
        field("event"),
        field("client"),
        field("days"),
    );
    let sys = &at.admin.system;
    let user_id = match user {
        "" => None,
        login => match users::find_by_login(&state.db, &at.tenant.id, login)
            .await
            .or_500(&state, sys)?
        {
            Some(u) => Some(u.id),
            None => Some(UserId::from(login.to_owned())),
        },
    };
    let before = q
        .get("before")
        .and_then(|b| b.split_once(':'))
        .and_then(|(t, id)| Some((t.parse().ok()?, id.to_owned())));
    let filter = Filter {
        user_id: user_id.clone(),
        event: (!event.is_empty()).then(|| event.to_owned()),
        client_id: (!client.is_empty()).then(|| client.to_owned()),
        since: days.parse::<i64>().ok().map(|d| now() - d * 86_400),
        until: None,
        before,
    };
    let mut found = audit::search(&state.db, &at.tenant.id, &filter, PAGE + 1)
        .await
        .or_500(&state, sys)?;
    let more = found.len() as i64 > PAGE;
    found.truncate(PAGE as usize);
    let next = match (more, found.last()) {
        (true, Some(last)) => {
            let mut s = url::form_urlencoded::Serializer::new(String::new());
            s.append_pair("user", user)
                .append_pair("event", event)
                .append_pair("client", client)
                .append_pair("days", days)
                .append_pair("before", &format!("{}:{}", last.created_at, last.id));
            Some(s.finish())
        }
        _ => None,
    };
    let unknown_user = user_id.is_some() && found.is_empty();
    let page = AuditPage {
        frame: Frame::new(&at.admin, Some(&at.tenant), "audit", "Audit log"),
        user,
        event,
        client,
        days,
        unknown_user,
        rows: found
            .into_iter()
            .map(|e| Row {
                at: time(e.created_at),
                event: e.event,
                actor: e.actor,
                user_id: e.user_id.map(|u| u.to_string()),
                detail: e.detail,
                ip: e.ip.unwrap_or_default(),
            })
            .collect(),
        next,
    };
    Ok(render(&state, &at.admin, "admin_audit.html", page))
}
