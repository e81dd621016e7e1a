//! One user's page: their MFA status (factors, recovery codes, trusted devices) with
//! **Remove** per factor and **Reset MFA** (help page 002), their sessions, lock/unlock, and a
//! timeline in which each sign-in shows why MFA was or was not asked, beside an "explain"
//! of what the login would decide now. Each action is the service the CLI and the API call.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use serde::Serialize;

use super::{AdminIn, Confirm, Frame, done, notice, render, time};
use crate::admin::explain::{Imagined, explain};
use crate::ids::{ClientId, UserId};
use crate::mfa::reset::{self, Removal};
use crate::mfa::service::kind_label;
use crate::model::{TenantMfaPolicy, now};
use crate::state::AppState;
use crate::store::users::{self, User};
use crate::store::{audit, clients, devices, factors, recovery_codes};
use crate::web::{FormFields, Or500, PageError, PageResult};

const RESET_DONE: &str = "MFA was reset. The user sets up a factor again at their next sign-in \
    when MFA is required.";
const REMOVED: &str = "The factor was removed.";
const NOT_THEIRS: &str = "That factor was already removed.";
const LAST_FACTOR: &str = "The tenant requires MFA and this is the user's last factor: reset \
    their MFA instead.";
const LOCKED: &str = "The user is locked: every session and token of theirs has ended.";
const UNLOCKED: &str = "The user is unlocked.";
const ENDED: &str = "The session ended.";
const ALL_ENDED: &str = "Every session of the user ended.";
const NOTICES: &[&str] = &[
    RESET_DONE,
    REMOVED,
    NOT_THEIRS,
    LAST_FACTOR,
    LOCKED,
    UNLOCKED,
    ENDED,
    ALL_ENDED,
];

/// The user of the path in the admin's tenant; anyone else is a 404.
async fn subject(state: &AppState, at: &AdminIn, user_id: &str) -> Result<User, PageError> {
    users::get(&state.db, &at.tenant.id, &UserId::from(user_id.to_owned()))
        .await
        .map_err(|_| at.admin.not_found(state))
}

fn user_path(at: &AdminIn, u: &User) -> String {
    format!("/admin/t/{}/users/{}", at.tenant.slug, u.id)
}

#[derive(Serialize)]
struct FactorRow {
    id: String,
    label: String,
    kind: &'static str,
    added: String,
    last_used: Option<String>,
}

#[derive(Serialize)]
struct SessionRow {
    id: String,
    started: String,
    last_seen: String,
    device: String,
    ip: String,
    mfa: bool,
}

#[derive(Serialize)]
struct TimelineRow {
    at: String,
    event: String,
    actor: String,
    /// For a sign-in's MFA decision: the outcome, the client and the reason.
    why: Option<String>,
}

#[derive(Serialize)]
struct ClientChoice {
    id: String,
    name: String,
    selected: bool,
}

#[derive(Serialize)]
struct UserPage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    u: &'a User,
    path: String,
    created: String,
    factors: Vec<FactorRow>,
    recovery_remaining: i64,
    trusted_devices: usize,
    mfa_required: bool,
    sessions: Vec<SessionRow>,
    timeline: Vec<TimelineRow>,
    clients: Vec<ClientChoice>,
    acr: &'a str,
    /// The explain form's answer: outcome and reason.
    explained: Option<(String, String)>,
    notice: Option<&'static str>,
}

/// "Challenge: the user has an authenticator app …" from a recorded or computed decision.
fn outcome_words(decision: &serde_json::Value) -> (String, String) {
    let outcome = match decision["outcome"].as_str().unwrap_or("") {
        "pass" if decision["acr"] == "pwd" => "Passed on the password alone",
        "pass" if decision["device_vouched"] == true => "Passed: a trusted device",
        "pass" => "Passed: a second factor already proven",
        "challenge" => "Asked for a second factor",
        "enrol" if decision["skippable"] == true => "Offered to set up a factor (could skip)",
        "enrol" => "Had to set up a factor",
        "deny" => "Refused",
        _ => "Decided",
    };
    let reason = decision["reason"].as_str().unwrap_or("").to_owned();
    (outcome.to_owned(), reason)
}

fn timeline_row(e: audit::AuditEvent) -> TimelineRow {
    let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or_default();
    let why = (e.event == "login.mfa_decision").then(|| {
        let (outcome, reason) = outcome_words(&detail["decision"]);
        let client = detail["client_id"].as_str().unwrap_or("?");
        format!("{outcome} at {client}: {reason}")
    });
    TimelineRow {
        at: time(e.created_at),
        event: e.event,
        actor: e.actor,
        why,
    }
}

/// `GET /admin/t/{slug}/users/{user_id}[?client=..&acr=..]`.
pub async fn show(
    State(state): State<AppState>,
    at: AdminIn,
    Path((_, user_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let u = subject(&state, &at, &user_id).await?;
    let (db, sys) = (&state.db, &at.admin.system);
    let ts = now();
    let factors = factors::list_for_user(db, &u.id)
        .await
        .or_500(&state, sys)?;
    let recovery_remaining = recovery_codes::remaining(db, &u.id)
        .await
        .or_500(&state, sys)?;
    let trusted_devices = devices::list_for_user(db, &u.id, ts)
        .await
        .or_500(&state, sys)?
        .len();
    let sessions = crate::admin::sessions::list(db, &u, ts)
        .await
        .or_500(&state, sys)?;
    let events = audit::list_for_user(db, &at.tenant.id, &u.id, 50)
        .await
        .or_500(&state, sys)?;
    let all_clients = clients::list(db, &at.tenant.id).await.or_500(&state, sys)?;
    let asked = q.get("client").filter(|c| !c.is_empty());
    let acr = q.get("acr").map_or("", |a| a.as_str());
    let explained = match asked {
        Some(c) => {
            let imagined = Imagined {
                acr_values: acr.to_owned(),
                essential_acr: None,
                max_age: None,
                trusted_device: false,
                session_mfa_age: None,
            };
            let client = ClientId::from(c.clone());
            match explain(db, &at.tenant, &client, &u.email, imagined, ts).await {
                Ok(d) => Some(outcome_words(&serde_json::to_value(&d).unwrap_or_default())),
                Err(e) => Some(("Cannot explain".to_owned(), e.to_string())),
            }
        }
        None => None,
    };
    let page = UserPage {
        frame: Frame::new(&at.admin, Some(&at.tenant), "users", &u.email),
        path: user_path(&at, &u),
        created: time(u.created_at),
        factors: factors
            .into_iter()
            .map(|f| FactorRow {
                id: f.id,
                label: f.label,
                kind: kind_label(f.kind),
                added: time(f.created_at),
                last_used: f.last_used_at.map(time),
            })
            .collect(),
        recovery_remaining,
        trusted_devices,
        mfa_required: at.tenant.mfa_policy == TenantMfaPolicy::Required,
        sessions: sessions
            .into_iter()
            .map(|s| SessionRow {
                started: time(s.created_at),
                last_seen: time(s.last_seen_at),
                device: s
                    .user_agent
                    .as_deref()
                    .map(crate::account::overview::describe_user_agent)
                    .unwrap_or_default(),
                ip: s.ip.unwrap_or_default(),
                mfa: s.mfa_time.is_some(),
                id: s.id,
            })
            .collect(),
        timeline: events.into_iter().map(timeline_row).collect(),
        clients: all_clients
            .into_iter()
            .map(|c| ClientChoice {
                selected: asked == Some(&c.id.to_string()),
                id: c.id.to_string(),
                name: c.name,
            })
            .collect(),
        acr,
        explained,
        notice: notice(&q, NOTICES),
        u: &u,
    };
    Ok(render(&state, &at.admin, "admin_user.html", page))
}

/// `POST .../lock` (`locked=true|false`): locking ends every session and grant of the user.
pub async fn lock(
    State(state): State<AppState>,
    at: AdminIn,
    Path((_, user_id)): Path<(String, String)>,
    form: FormFields,
) -> PageResult {
    at.check(&state, &form, None)?;
    let u = subject(&state, &at, &user_id).await?;
    let locked = form.get("locked") == "true";
    let req = crate::admin::users::ProfileRequest {
        locked: Some(locked),
        ..Default::default()
    };
    let actor = at.admin.actor();
    let (u, ended) = crate::admin::users::update(&state.db, &actor, &at.tenant, &u, req, now())
        .await
        .or_500(&state, &at.admin.system)?;
    crate::api::sessions::tell_clients(&state, (*at.tenant).clone(), &ended);
    Ok(done(
        &user_path(&at, &u),
        if locked { LOCKED } else { UNLOCKED },
    ))
}

/// `GET .../mfa-reset`: what a reset does, after a fresh second factor.
pub async fn confirm_reset(
    State(state): State<AppState>,
    at: AdminIn,
    Path((_, user_id)): Path<(String, String)>,
) -> PageResult {
    let u = subject(&state, &at, &user_id).await?;
    let n = factors::list_for_user(&state.db, &u.id)
        .await
        .or_500(&state, &at.admin.system)?
        .len();
    let mut consequences = vec![
        format!("All {n} of their factors, their recovery codes and their trusted devices are removed."),
        "Every session of theirs ends and every token is revoked; their applications are told (back-channel logout).".to_owned(),
        format!("{} gets an email saying their two-factor authentication was reset.", u.email),
    ];
    consequences.push(match at.tenant.mfa_policy {
        TenantMfaPolicy::Required => {
            "This tenant requires MFA: they set up a new factor at their next sign-in.".to_owned()
        }
        _ => "This tenant does not require MFA: they can sign in with the password alone until they set up a factor again.".to_owned(),
    });
    at.confirm(
        &state,
        Confirm {
            here: format!("{}/mfa-reset", user_path(&at, &u)),
            section: "users",
            title: "Reset MFA",
            heading: format!("Reset MFA for {}?", u.email),
            consequences,
            button: "Reset MFA",
            back: user_path(&at, &u),
        },
    )
}

/// `POST .../mfa-reset`.
pub async fn reset(
    State(state): State<AppState>,
    at: AdminIn,
    Path((_, user_id)): Path<(String, String)>,
    form: FormFields,
) -> PageResult {
    let u = subject(&state, &at, &user_id).await?;
    let here = format!("{}/mfa-reset", user_path(&at, &u));
    at.check(&state, &form, Some(&here))?;
    let actor = at.admin.actor();
    let done_reset = reset::reset(&state.db, &state.notifier, now(), &at.tenant, &u, &actor)
        .await
        .or_500(&state, &at.admin.system)?;
    crate::api::sessions::tell_clients(&state, (*at.tenant).clone(), &done_reset.ended);
    Ok(done(&user_path(&at, &u), RESET_DONE))
}

/// `GET .../factors/{factor_id}/remove`.
pub async fn confirm_remove(
    State(state): State<AppState>,
    at: AdminIn,
    Path((_, user_id, factor_id)): Path<(String, String, String)>,
) -> PageResult {
    let u = subject(&state, &at, &user_id).await?;
    let f = factors::list_for_user(&state.db, &u.id)
        .await
        .or_500(&state, &at.admin.system)?
        .into_iter()
        .find(|f| f.id == factor_id)
        .ok_or_else(|| at.admin.not_found(&state))?;
    at.confirm(&state, Confirm {
        here: format!("{}/factors/{factor_id}/remove", user_path(&at, &u)),
        section: "users",
        title: "Remove a factor",
        heading: format!("Remove {} ({}) from {}?", f.label, kind_label(f.kind), u.email),
        consequences: vec![
            "They can no longer use it to sign in.".to_owned(),
            "Their trusted devices are no longer trusted, and their sessions must prove a second factor again.".to_owned(),
            format!("{} gets an email saying the factor was removed.", u.email),
        ],
        button: "Remove factor",
        back: user_path(&at, &u),
    })
}

/// `POST .../factors/{factor_id}/remove`.
pub async fn remove_factor(
    State(state): State<AppState>,
    at: AdminIn,
    Path((_, user_id, factor_id)): Path<(String, String, String)>,
    form: FormFields,
) -> PageResult {
    let u = subject(&state, &at, &user_id).await?;
    let here = format!("{}/factors/{factor_id}/remove", user_path(&at, &u));
    at.check(&state, &form, Some(&here))?;
    let actor = at.admin.actor();
    let deps = state.mfa_deps();
    // No session of the user is the admin's: none keeps its proof.
    let removed = reset::remove_factor(&deps, &at.tenant, &u, &actor, &factor_id, "")
        .await
        .or_500(&state, &at.admin.system)?;
    let words = match removed {
        Removal::Removed => REMOVED,
        Removal::NotFound => NOT_THEIRS,
        Removal::LastFactorRequired => LAST_FACTOR,
    };
    Ok(done(&user_path(&at, &u), words))
}

/// `POST .../sessions/end` (`session=<id>` or `session=all`).
pub async fn end_sessions(
    State(state): State<AppState>,
    at: AdminIn,
    Path((_, user_id)): Path<(String, String)>,
    form: FormFields,
) -> PageResult {
    at.check(&state, &form, None)?;
    let u = subject(&state, &at, &user_id).await?;
    let which = form.get("session");
    let one = (which != "all").then_some(which);
    let actor = at.admin.actor();
    let ended = crate::admin::sessions::end(&state.db, &actor, &at.tenant, &u, one, now())
        .await
        .or_500(&state, &at.admin.system)?;
    if let Some(ended) = &ended {
        crate::api::sessions::tell_clients(&state, (*at.tenant).clone(), ended);
    }
    Ok(done(
        &user_path(&at, &u),
        if one.is_some() { ENDED } else { ALL_ENDED },
    ))
}

/// `GET .../delete`.
pub async fn confirm_delete(
    State(state): State<AppState>,
    at: AdminIn,
    Path((_, user_id)): Path<(String, String)>,
) -> PageResult {
    let u = subject(&state, &at, &user_id).await?;
    at.confirm(
        &state,
        Confirm {
            here: format!("{}/delete", user_path(&at, &u)),
            section: "users",
            title: "Delete user",
            heading: format!("Delete {}?", u.email),
            consequences: vec![
                "Every session of theirs ends and every token is revoked; their applications are told (back-channel logout).".into(),
                "The account goes with its factors, recovery codes, trusted devices and consents. This cannot be undone.".into(),
                "The audit log keeps its events, and the deletion names the email.".into(),
            ],
            button: "Delete user",
            back: user_path(&at, &u),
        },
    )
}

/// `POST .../delete`.
pub async fn delete(
    State(state): State<AppState>,
    at: AdminIn,
    Path((_, user_id)): Path<(String, String)>,
    form: FormFields,
) -> PageResult {
    let u = subject(&state, &at, &user_id).await?;
    at.check(
        &state,
        &form,
        Some(&format!("{}/delete", user_path(&at, &u))),
    )?;
    let actor = at.admin.actor();
    let ended = crate::admin::users::delete(&state.db, &actor, &at.tenant, &u, now())
        .await
        .or_500(&state, &at.admin.system)?;
    crate::api::sessions::tell_clients(&state, (*at.tenant).clone(), &ended);
    let list = format!("/admin/t/{}/users", at.tenant.slug);
    Ok(done(&list, super::users::DELETED))
}
