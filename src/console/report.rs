//! The MFA adoption report of a tenant: `admin::report::mfa_report` (the same numbers as
//! `GET /api/v1/tenants/{slug}/reports/mfa`) with two server-drawn charts: the share of users
//! enrolled over the last 30 days and users by method.

use axum::extract::State;
use serde::Serialize;

use super::{AdminIn, Frame, chart, render};
use crate::admin::report::{MfaReport, mfa_report};
use crate::mfa::service::kind_label;
use crate::model::{MfaMethod, now};
use crate::state::AppState;
use crate::store::factors;
use crate::web::{Or500, PageResult};

const DAY: i64 = 86_400;
const DAYS: i64 = 30;

/// The share of users enrolled at the end of each of the last `DAYS` days, counting each user
/// from their creation and as enrolled from their oldest current factor (a factor removed
/// since is not in the table, so the past is drawn as today's factors remember it).
pub fn enrolled_over_time(times: &[(i64, Option<i64>)], now: i64) -> Vec<(String, f64)> {
    let fmt = time::macros::format_description!("[day padding:none] [month repr:short]");
    (0..DAYS)
        .map(|i| {
            let end = now - (DAYS - 1 - i) * DAY;
            let users = times.iter().filter(|(c, _)| *c <= end).count();
            let enrolled = times
                .iter()
                .filter(|(c, f)| *c <= end && f.is_some_and(|f| f <= end))
                .count();
            let pct = if users == 0 {
                0.0
            } else {
                enrolled as f64 * 100.0 / users as f64
            };
            let label = time::OffsetDateTime::from_unix_timestamp(end)
                .ok()
                .and_then(|t| t.format(&fmt).ok())
                .unwrap_or_default();
            (label, pct)
        })
        .collect()
}

#[derive(Serialize)]
struct ReportPage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    r: MfaReport,
    over_time: String,
    by_method: String,
    method_rows: Vec<(&'static str, i64)>,
}

/// `GET /admin/t/{slug}/report`.
pub async fn show(State(state): State<AppState>, at: AdminIn) -> PageResult {
    let sys = &at.admin.system;
    let ts = now();
    let r = mfa_report(&state.db, &at.tenant, ts)
        .await
        .or_500(&state, sys)?;
    let times = factors::enrolment_times(&state.db, &at.tenant.id)
        .await
        .or_500(&state, sys)?;
    let points = enrolled_over_time(&times, ts);
    let method_rows: Vec<(&'static str, i64)> = MfaMethod::ALL
        .iter()
        .map(|m| {
            let n = r
                .by_method
                .iter()
                .find(|c| c.method == m.as_str())
                .map_or(0, |c| c.users);
            (kind_label(*m), n)
        })
        .collect();
    let bars: Vec<(String, i64)> = method_rows
        .iter()
        .map(|(l, n)| ((*l).to_owned(), *n))
        .collect();
    let page = ReportPage {
        frame: Frame::new(&at.admin, Some(&at.tenant), "report", "MFA adoption"),
        over_time: chart::percent_line("enrolled", "Users enrolled in MFA, last 30 days", &points),
        by_method: chart::bars("methods", "Users by method", &bars, r.users),
        method_rows,
        r,
    };
    Ok(render(&state, &at.admin, "admin_report.html", page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_counts_from_creation_and_as_enrolled_from_the_first_factor() {
        let now = 100 * DAY;
        let times = [
            (now - 40 * DAY, Some(now - 10 * DAY)),
            (now - 40 * DAY, None),
            (now - 5 * DAY, Some(now - 5 * DAY)),
        ];
        let pts = enrolled_over_time(&times, now);
        assert_eq!(pts.len(), 30);
        assert_eq!(pts[0].1, 0.0);
        // Ten days ago: one of two users.
        assert_eq!(pts[19].1, 50.0);
        // Today: two of three.
        assert!((pts[29].1 - 66.666).abs() < 0.01);
        assert_eq!(enrolled_over_time(&[], now)[29].1, 0.0);
    }
}
