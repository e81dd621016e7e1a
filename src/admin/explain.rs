//! The MFA decision and its reason for an imagined sign-in (`gatehouse explain`, the admin
//! API's `POST .../explain`): the same facts and the same function as the hosted login
//! (`mfa::inputs::decide`), nothing skipped yet, and a session only when one is imagined.

use super::{AdminError, AdminResult};
use crate::ids::ClientId;
use crate::mfa::inputs::{self, Situation};
use crate::mfa::policy::Decision;
use crate::store::tenants::Tenant;
use crate::store::{Db, clients, users};

/// The sign-in to imagine.
#[derive(Debug, Clone, Default)]
pub struct Imagined {
    /// `acr_values`, space-separated.
    pub acr_values: String,
    pub essential_acr: Option<String>,
    pub max_age: Option<i64>,
    pub trusted_device: bool,
    /// The SSO session verified a second factor this many seconds ago (None: no session).
    pub session_mfa_age: Option<i64>,
}

/// What the login would decide for `login` (email or username) at `client_id` now.
pub async fn explain(
    db: &Db,
    tenant: &Tenant,
    client_id: &ClientId,
    login: &str,
    imagined: Imagined,
    now: i64,
) -> AdminResult<Decision> {
    let slug = &tenant.slug;
    let c = clients::find(db, &tenant.id, client_id)
        .await?
        .ok_or_else(|| {
            AdminError::Invalid(format!("unknown client `{client_id}` in tenant `{slug}`"))
        })?;
    let u = users::find_by_login(db, &tenant.id, login)
        .await?
        .ok_or_else(|| AdminError::Invalid(format!("unknown user `{login}` in tenant `{slug}`")))?;
    let kinds = inputs::user_factors(db, &u.id).await?;
    let acr: Vec<String> = imagined
        .acr_values
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let essential: Vec<String> = imagined.essential_acr.into_iter().collect();
    Ok(inputs::decide(
        tenant,
        &c,
        &Situation {
            acr_values: &acr,
            essential_acr: &essential,
            max_age: imagined.max_age,
            user_factors: &kinds,
            session_mfa_time: imagined.session_mfa_age.map(|age| now - age.max(0)),
            session_phishing_resistant: false,
            trusted_device: imagined.trusted_device,
            enrolment_skipped: false,
            registered: false,
            now,
        },
    ))
}
