//! A security key or passkey answering a challenge: for a known user (the second factor), or
//! for whoever the credential names (passwordless sign-in).

use webauthn_rs_core::proto::{PublicKeyCredential, UserVerificationPolicy};

use super::{
    Answer, CEREMONY_TTL_SECS, Ceremony, CeremonyError, StoredCredential, b64, corrupt,
    credentials, parse_answer, refused,
};
use crate::crypto::random;
use crate::ids::TenantId;
use crate::mfa::MfaDeps;
use crate::mfa::proven::Method;
use crate::store::audit;
use crate::store::factors::{self, Factor as StoredFactor};
use crate::store::users::User;
use crate::store::webauthn::{self as store, NewCeremony, Purpose};

/// The ceremony id of `scope` (a sign-in's transaction): one ceremony per page and sign-in, so
/// a page shown again replaces its challenge instead of adding a row.
pub fn ceremony_id_for(scope: &str, user: Option<&User>) -> String {
    let purpose = if user.is_some() { "assert" } else { "discover" };
    random::sha256_hex(&format!("webauthn:{purpose}:{scope}"))
}

/// Begins an assertion: for `user`'s credentials (a second factor), or for any discoverable
/// credential (`None`: "Sign in with a passkey"), as ceremony `id` ([`ceremony_id_for`]). User
/// verification is preferred, not required: whether it happened decides what the assertion
/// proves.
pub async fn start_assertion(
    deps: &MfaDeps<'_>,
    tenant_id: &TenantId,
    user: Option<&User>,
    id: &str,
) -> Result<Ceremony, CeremonyError> {
    let creds = match user {
        Some(u) => credentials(deps, u)
            .await?
            .into_iter()
            .map(|(_, c)| c.credential)
            .collect(),
        None => Vec::new(),
    };
    if user.is_some() && creds.is_empty() {
        return Err(CeremonyError::Refused(
            "no security key is registered".into(),
        ));
    }
    let builder = deps
        .rp
        .core
        .new_challenge_authenticate_builder(creds, Some(UserVerificationPolicy::Preferred))
        .map_err(refused)?
        .allow_backup_eligible_upgrade(true);
    let (rcr, state) = deps
        .rp
        .core
        .generate_challenge_authenticate(builder)
        .map_err(refused)?;
    let state = serde_json::to_string(&state).map_err(corrupt)?;
    store::put(
        deps.db,
        NewCeremony {
            id,
            tenant_id,
            user_id: user.map(|u| &u.id),
            purpose: if user.is_some() {
                Purpose::Assert
            } else {
                Purpose::Discover
            },
            state: &state,
            expires_at: deps.now + CEREMONY_TTL_SECS,
        },
    )
    .await?;
    Ok(Ceremony {
        id: id.to_owned(),
        options: serde_json::to_string(&rcr).map_err(corrupt)?,
    })
}

/// A verified assertion: the factor it used (its credential updated) and what it proved.
#[derive(Debug, Clone)]
pub struct Asserted {
    pub factor: StoredFactor,
    pub method: Method,
}

/// Finishes an assertion. For a second factor (`user` given) the credential must be one of
/// theirs; for a passwordless one the credential's user handle must name its owner. Every
/// assertion moves the stored counter and backup state; a counter that went backwards refuses
/// the assertion and writes `mfa.webauthn_counter_regressed`.
pub async fn finish_assertion(
    deps: &MfaDeps<'_>,
    tenant_id: &TenantId,
    user: Option<&User>,
    answer: &str,
) -> Result<Asserted, CeremonyError> {
    let answer: Answer<PublicKeyCredential> = parse_answer(answer)?;
    let purpose = if user.is_some() {
        Purpose::Assert
    } else {
        Purpose::Discover
    };
    let user_id = user.map(|u| &u.id);
    let Some(state) = store::take(deps.db, &answer.ceremony, purpose, user_id, deps.now).await?
    else {
        return Err(CeremonyError::Expired);
    };
    let state = serde_json::from_str(&state).map_err(corrupt)?;
    let rsp = answer.credential;
    let cred_id = b64(rsp.raw_id.as_ref());
    let Some(factor) = factors::factor_of_credential(deps.db, tenant_id, &cred_id).await? else {
        return Err(CeremonyError::Refused("unknown credential".into()));
    };
    let owner_ok = match user {
        Some(u) => factor.user_id == u.id,
        None => {
            let handle = rsp
                .get_user_unique_id()
                .and_then(|b| uuid::Uuid::from_slice(b).ok())
                .map(|u| u.hyphenated().to_string());
            match handle {
                Some(h) => {
                    store::user_of_handle(deps.db, tenant_id, &h).await?
                        == Some(factor.user_id.clone())
                }
                None => false,
            }
        }
    };
    if !owner_ok {
        return Err(CeremonyError::Refused(
            "the credential belongs to another account".into(),
        ));
    }
    let Some(mut stored) = StoredCredential::parse(&factor) else {
        return Err(corrupt("a credential does not parse"));
    };
    let result = match deps
        .rp
        .core
        .authenticate_single_credential(&rsp, &state, &stored.credential)
    {
        Ok(r) => r,
        Err(e) => {
            let e = refused(e);
            if matches!(e, CeremonyError::Cloned) {
                audit::record(
                    deps.db,
                    audit::NewEvent {
                        tenant_id: Some(tenant_id),
                        user_id: Some(&factor.user_id),
                        actor: "system",
                        event: "mfa.webauthn_counter_regressed",
                        detail: serde_json::json!({
                            "factor_id": factor.id,
                            "label": factor.label,
                            "stored_counter": stored.credential.counter,
                        }),
                        ip: None,
                    },
                )
                .await?;
            }
            return Err(e);
        }
    };
    let c = &mut stored.credential;
    c.counter = c.counter.max(result.counter());
    c.backup_state = result.backup_state();
    c.backup_eligible |= result.backup_eligible();
    stored.last_verified = result.user_verified();
    let checked = factor.credential.clone().unwrap_or_default();
    let updated = serde_json::to_string(&stored).map_err(corrupt)?;
    if !factors::update_credential(deps.db, &factor.id, &checked, &updated, deps.now).await? {
        return Err(CeremonyError::Refused(
            "the credential was used by another sign-in at the same moment".into(),
        ));
    }
    let method = stored.method();
    Ok(Asserted {
        factor: StoredFactor {
            credential: Some(updated),
            last_used_at: Some(deps.now),
            ..factor
        },
        method,
    })
}
