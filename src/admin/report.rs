//! The MFA adoption report of a tenant (`gatehouse tenant mfa-report`, the admin API's
//! `.../reports/mfa`): who has a factor, of which kind, and over the last 7 and 30 days how
//! sign-ins were decided and what happened at the MFA stage. Everything is counted from the
//! factors table and the audit log, so it needs no counters of its own.

use serde::Serialize;
use utoipa::ToSchema;

use super::AdminResult;
use crate::model::MfaMethod;
use crate::store::tenants::Tenant;
use crate::store::{Db, audit, factors};

const DAY_SECS: i64 = 86_400;

#[derive(Debug, Serialize, ToSchema)]
pub struct MfaReport {
    pub tenant: String,
    pub generated_at: i64,
    pub users: i64,
    /// Users with at least one factor.
    pub enrolled: i64,
    /// `enrolled / users`, 0–100, one decimal.
    pub enrolled_percent: f64,
    /// Users with at least one factor of each kind (`totp`, `email`, `sms`, `webauthn`).
    pub by_method: Vec<MethodCount>,
    /// The last 7 and the last 30 days.
    pub windows: Vec<Window>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MethodCount {
    pub method: String,
    pub users: i64,
}

/// What the audit log says about one window.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Window {
    pub days: i64,
    /// Sign-in decisions that let the user through on the password alone.
    pub passed_without_mfa: i64,
    /// Decisions that let the user through on a second factor the session had already proven,
    /// or a trusted device.
    pub passed_with_mfa: i64,
    /// Decisions that asked for a second factor, and how many of those were answered.
    pub challenged: i64,
    pub challenges_passed: i64,
    /// Decisions that sent a user without a factor to set one up, and how many skipped it.
    pub enrolment_asked: i64,
    pub enrolments_skipped: i64,
    pub factors_added: i64,
    /// Sign-ins ended by too many wrong codes.
    pub lockouts: i64,
    pub recovery_codes_used: i64,
    pub mfa_resets: i64,
}

pub async fn mfa_report(db: &Db, tenant: &Tenant, now: i64) -> AdminResult<MfaReport> {
    let (users, enrolled, by_kind) = factors::adoption(db, &tenant.id).await?;
    let by_method = MfaMethod::ALL
        .iter()
        .map(|m| MethodCount {
            method: m.to_string(),
            users: by_kind
                .iter()
                .find(|(k, _)| k == m.as_str())
                .map_or(0, |(_, n)| *n),
        })
        .collect();
    let mut windows = Vec::new();
    for days in [7, 30] {
        windows.push(window(db, tenant, days, now - days * DAY_SECS).await?);
    }
    let percent = if users == 0 {
        0.0
    } else {
        (enrolled as f64 * 1000.0 / users as f64).round() / 10.0
    };
    Ok(MfaReport {
        tenant: tenant.slug.clone(),
        generated_at: now,
        users,
        enrolled,
        enrolled_percent: percent,
        by_method,
        windows,
    })
}

async fn window(db: &Db, tenant: &Tenant, days: i64, since: i64) -> AdminResult<Window> {
    let counts = audit::counts_since(db, &tenant.id, since).await?;
    let count = |event: &str| {
        counts
            .iter()
            .find(|(e, _)| e == event)
            .map_or(0, |(_, n)| *n)
    };
    let decided = |patterns| audit::count_decisions(db, &tenant.id, since, patterns);
    let pass = r#""outcome":"pass""#;
    let passed = decided([pass, ""]).await?;
    let passed_without_mfa = decided([pass, r#""acr":"pwd""#]).await?;
    Ok(Window {
        days,
        passed_without_mfa,
        passed_with_mfa: passed - passed_without_mfa,
        challenged: decided([r#""outcome":"challenge""#, ""]).await?,
        challenges_passed: count("mfa.challenge_passed"),
        enrolment_asked: decided([r#""outcome":"enrol""#, ""]).await?,
        enrolments_skipped: count("mfa.enrolment_skipped"),
        factors_added: count("mfa.factor_added"),
        lockouts: count("mfa.challenge_locked"),
        recovery_codes_used: count("mfa.recovery_code_used"),
        mfa_resets: count("mfa.reset"),
    })
}
