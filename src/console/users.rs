//! The users of a tenant: one search box that finds a user by the full and exact username or
//! email (help page 002), else by the start of one, with each user's MFA status.

use std::collections::HashMap;

use axum::extract::{Query, State};
use serde::Serialize;

use super::{AdminIn, Frame, render};
use crate::mfa::service::kind_label;
use crate::state::AppState;
use crate::store::users::{self, Search, User};
use crate::store::{StoreResult, factors};
use crate::web::{Or500, PageResult};

const PAGE: i64 = 50;
pub const DELETED: &str = "The user was deleted.";

#[derive(Serialize)]
struct UserRow {
    id: String,
    email: String,
    username: Option<String>,
    /// "Authenticator app, Email code"; empty: no factor.
    methods: String,
    locked: bool,
}

#[derive(Serialize)]
struct UsersPage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    q: &'a str,
    mfa: &'a str,
    /// The search found the user by their exact username or email.
    exact: bool,
    users: Vec<UserRow>,
    more: bool,
    notice: Option<&'static str>,
}

/// Exact email or username first; only when neither matches, the users whose email or
/// username starts with `q`.
async fn find(
    db: &crate::store::Db,
    t: &crate::ids::TenantId,
    q: &str,
    enrolled: Option<bool>,
) -> StoreResult<(bool, Vec<User>)> {
    let q = q.trim();
    if !q.is_empty() {
        let exact = Search {
            email: q.contains('@').then(|| users::normalize_email(q)),
            username: (!q.contains('@')).then(|| q.to_owned()),
            enrolled,
            ..Default::default()
        };
        let found = users::search(db, t, &exact, PAGE + 1).await?;
        if !found.is_empty() {
            return Ok((true, found));
        }
    }
    let prefix = Search {
        prefix: (!q.is_empty()).then(|| q.to_lowercase()),
        enrolled,
        ..Default::default()
    };
    Ok((false, users::search(db, t, &prefix, PAGE + 1).await?))
}

/// `GET /admin/t/{slug}/users?q=..&mfa=enrolled|none`.
pub async fn list(
    State(state): State<AppState>,
    at: AdminIn,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let AdminIn { admin, tenant } = &at;
    let q = query.get("q").map_or("", String::as_str);
    let mfa = query.get("mfa").map_or("", String::as_str);
    let enrolled = match mfa {
        "enrolled" => Some(true),
        "none" => Some(false),
        _ => None,
    };
    let (exact, mut found) = find(&state.db, &tenant.id, q, enrolled)
        .await
        .or_500(&state, &admin.system)?;
    let more = found.len() as i64 > PAGE;
    found.truncate(PAGE as usize);
    let mut rows = Vec::with_capacity(found.len());
    for u in found {
        let fs = factors::list_for_user(&state.db, &u.id)
            .await
            .or_500(&state, &admin.system)?;
        let mut kinds: Vec<&str> = fs.iter().map(|f| kind_label(f.kind)).collect();
        kinds.dedup();
        rows.push(UserRow {
            id: u.id.to_string(),
            email: u.email,
            username: u.username,
            methods: kinds.join(", "),
            locked: u.locked,
        });
    }
    let page = UsersPage {
        frame: Frame::new(admin, Some(tenant), "users", "Users"),
        q,
        mfa,
        exact,
        users: rows,
        more,
        notice: super::notice(&query, &[DELETED]),
    };
    Ok(render(&state, admin, "admin_users.html", page))
}
