//! The texted side of the one-time codes: the caps that keep SMS pumping (toll fraud: many
//! codes sent to numbers whose operator pays the attacker) from costing the deployment money,
//! the tenant's country allow-list, and the audit events behind the admin's counters.
//!
//! Every cap is a `rate_limits` key reserved *before* the text goes out, so a burst of requests
//! sends at most the documented number ([`super`] documents the keys; docs/security.md the
//! defaults, `[otp.sms]`). A send refused by one cap hands back what it took of the others.

use serde_json::json;

use super::{Codes, OtpError, Purpose, Recipient};
use crate::config::SmsCaps;
use crate::ids::TenantId;
use crate::notify::sms::{SmsError, SmsKind};
use crate::store::rate_limits::{self, Limit, Reservation};
use crate::store::{Db, StoreResult, audit};

const HOUR_SECS: i64 = 3_600;
const DAY_SECS: i64 = 86_400;

/// The audit events of each text, counted by `tenant get`.
pub const SENT: &str = "sms.sent";
pub const FAILED: &str = "sms.failed";

/// Which cap refused a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    User,
    Number,
    Ip,
    Tenant,
}

impl Cap {
    pub fn as_str(self) -> &'static str {
        match self {
            Cap::User => "user",
            Cap::Number => "number",
            Cap::Ip => "ip",
            Cap::Tenant => "tenant",
        }
    }
}

/// A tenant's texts over the last 24 hours: sent, and refused by the gateway or unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsStats {
    pub sent: i64,
    pub failed: i64,
}

pub async fn sms_stats(db: &Db, tenant_id: &TenantId, now: i64) -> StoreResult<SmsStats> {
    let since = now - DAY_SECS;
    Ok(SmsStats {
        sent: audit::count_since(db, tenant_id, SENT, since).await?,
        failed: audit::count_since(db, tenant_id, FAILED, since).await?,
    })
}

/// Whether the tenant lets texts go to this number's country.
pub fn country_allowed(to: &Recipient<'_>) -> bool {
    crate::phone::country_code(to.address).is_some_and(|c| to.tenant.sms_countries().contains(&c))
}

/// The cap keys of one send, in the order they are reserved (the narrowest first, so a single
/// abuser hits their own cap before using up the tenant's). The number is keyed by its HMAC:
/// the counters table holds no phone number.
fn keys(codes: &Codes<'_>, to: &Recipient<'_>) -> Vec<(String, Limit, Cap)> {
    let caps: &SmsCaps = &codes.limits.sms;
    let number = codes.secret.mac("otp:sms:number", to.address);
    let ip = to.ip.unwrap_or("unknown");
    let per = |max: i64, window: i64| Limit {
        max_failures: max,
        window_secs: window,
        lockout_secs: window,
    };
    let mut out = Vec::with_capacity(8);
    for (who, cap, hour, day) in [
        (
            to.user.id.as_str(),
            Cap::User,
            caps.user_per_hour,
            caps.user_per_day,
        ),
        (
            number.as_str(),
            Cap::Number,
            caps.number_per_hour,
            caps.number_per_day,
        ),
        (ip, Cap::Ip, caps.ip_per_hour, caps.ip_per_day),
        (
            to.tenant.id.as_str(),
            Cap::Tenant,
            caps.tenant_per_hour,
            caps.tenant_per_day,
        ),
    ] {
        let name = cap.as_str();
        out.push((
            format!("otp:sms:{name}:hour:{who}"),
            per(hour, HOUR_SECS),
            cap,
        ));
        out.push((format!("otp:sms:{name}:day:{who}"), per(day, DAY_SECS), cap));
    }
    out
}

/// Reserves one text on every cap; the first that is full refuses it (with when it frees up),
/// and what the others granted is handed back.
pub(super) async fn reserve(
    codes: &Codes<'_>,
    to: &Recipient<'_>,
    now: i64,
) -> StoreResult<Option<(Cap, i64)>> {
    let keys = keys(codes, to);
    for (i, (key, limit, cap)) in keys.iter().enumerate() {
        if let Reservation::Refused { until } =
            rate_limits::reserve(codes.db, key, *limit, now).await?
        {
            for (key, limit, _) in &keys[..i] {
                rate_limits::release(codes.db, key, *limit).await?;
            }
            return Ok(Some((*cap, until)));
        }
    }
    Ok(None)
}

/// Writes the audit event of one text (never the number or the code: its country, and for a
/// failure the gateway's words).
pub(super) async fn record(
    db: &Db,
    to: &Recipient<'_>,
    purpose: &str,
    failure: Option<serde_json::Value>,
) -> StoreResult<()> {
    let country = crate::phone::country_code(to.address);
    let (event, detail) = match failure {
        None => (SENT, json!({ "purpose": purpose, "country": country })),
        Some(error) => (
            FAILED,
            json!({ "purpose": purpose, "country": country, "error": error }),
        ),
    };
    audit::record(
        db,
        audit::NewEvent {
            tenant_id: Some(&to.tenant.id),
            user_id: Some(&to.user.id),
            actor: "system",
            event,
            detail,
            ip: to.ip,
        },
    )
    .await
}

/// What the audit log keeps of a failed text: the gateway's status and error code, never the
/// message (it may quote the number).
fn failure(e: &SmsError) -> serde_json::Value {
    match e {
        SmsError::Config(_) => json!({ "kind": "config" }),
        SmsError::Rejected { status, code, .. } => {
            json!({ "kind": "rejected", "status": status, "code": code })
        }
        SmsError::Unavailable { status, .. } => json!({ "kind": "unavailable", "status": status }),
    }
}

/// Texts the code through the configured gateway and records the outcome.
pub(super) async fn deliver(
    codes: &Codes<'_>,
    to: &Recipient<'_>,
    purpose: Purpose,
    kind: SmsKind,
) -> Result<(), OtpError> {
    // The notifier logs the outcome (country and gateway answer only); the audit log and the
    // counters get it here.
    let sent = codes.notifier.send_sms(to.tenant, to.address, kind).await;
    let failed = sent.as_ref().err().map(failure);
    record(codes.db, to, purpose.as_str(), failed).await?;
    sent.map(|_| ()).map_err(OtpError::Sms)
}
