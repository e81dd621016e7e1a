//! Adding a security key or passkey: the options for the browser, then its answer checked
//! against the ceremony's state (taken once).

use webauthn_rs_core::proto::{
    AttestationConveyancePreference, ExtnState, RegisterPublicKeyCredential,
    RequestRegistrationExtensions, UserVerificationPolicy,
};

use super::{
    Answer, CEREMONY_TTL_SECS, Ceremony, CeremonyError, StoredCredential, b64, corrupt,
    credentials, parse_answer, refused,
};
use crate::ids::TenantId;
use crate::mfa::MfaDeps;
use crate::store::factors;
use crate::store::users::User;
use crate::store::webauthn::{self as store, NewCeremony, Purpose};

/// Begins adding a security key or passkey for `user` under ceremony `id` (shown again under
/// the same id, it replaces the challenge). The browser is asked for a discoverable credential
/// where it can make one ("preferred"), with user verification where it has it, so one button
/// serves a USB key and a passkey; the user's own credentials are excluded.
pub async fn start_registration(
    deps: &MfaDeps<'_>,
    tenant_id: &TenantId,
    user: &User,
    id: &str,
) -> Result<Ceremony, CeremonyError> {
    let handle = store::handle_for(deps.db, tenant_id, &user.id).await?;
    let handle = uuid::Uuid::parse_str(&handle).map_err(corrupt)?;
    let exclude = credentials(deps, user)
        .await?
        .into_iter()
        .map(|(_, c)| c.credential.cred_id)
        .collect();
    let display = user.name.clone().unwrap_or_else(|| user.email.clone());
    let builder = deps
        .rp
        .core
        .new_challenge_register_builder(handle.as_bytes(), &user.email, &display)
        .map_err(refused)?
        .attestation(AttestationConveyancePreference::None)
        .user_verification_policy(UserVerificationPolicy::Preferred)
        .require_resident_key(false)
        .exclude_credentials(Some(exclude))
        .extensions(Some(RequestRegistrationExtensions {
            // No credProtect: it would make a key without a PIN refuse to be a second factor.
            cred_protect: None,
            uvm: Some(true),
            cred_props: Some(true),
            min_pin_length: None,
            hmac_create_secret: None,
        }));
    let (ccr, state) = deps
        .rp
        .core
        .generate_challenge_register(builder)
        .map_err(refused)?;
    let mut options = serde_json::to_value(&ccr).map_err(corrupt)?;
    // webauthn-rs-core knows "required" and "discouraged" only; "preferred" lets a passkey be
    // discoverable and a security key without resident keys still register (the state does not
    // check residency: `discoverable` is read from the browser's credProps).
    if let Some(sel) = options.pointer_mut("/publicKey/authenticatorSelection") {
        sel["residentKey"] = "preferred".into();
        sel["requireResidentKey"] = false.into();
    }
    let state = serde_json::to_string(&state).map_err(corrupt)?;
    store::put(
        deps.db,
        NewCeremony {
            id,
            tenant_id,
            user_id: Some(&user.id),
            purpose: Purpose::Register,
            state: &state,
            expires_at: deps.now + CEREMONY_TTL_SECS,
        },
    )
    .await?;
    Ok(Ceremony {
        id: id.to_owned(),
        options: options.to_string(),
    })
}

/// Finishes adding a credential: the ceremony `id` is taken (once), the browser's answer
/// (`{"ceremony", "credential"}`) verified against it. The credential and its id, to bind.
pub async fn finish_registration(
    deps: &MfaDeps<'_>,
    user: &User,
    id: &str,
    answer: &str,
) -> Result<(String, StoredCredential), CeremonyError> {
    let answer: Answer<RegisterPublicKeyCredential> = parse_answer(answer)?;
    if answer.ceremony != id {
        return Err(CeremonyError::Expired);
    }
    let Some(state) = store::take(deps.db, id, Purpose::Register, Some(&user.id), deps.now).await?
    else {
        return Err(CeremonyError::Expired);
    };
    let state = serde_json::from_str(&state).map_err(corrupt)?;
    let credential = deps
        .rp
        .core
        .register_credential(&answer.credential, &state, None)
        .map_err(refused)?;
    let cred_id = b64(&credential.cred_id);
    if factors::factor_of_credential(deps.db, &user.tenant_id, &cred_id)
        .await?
        .is_some()
    {
        return Err(CeremonyError::Duplicate);
    }
    let discoverable = matches!(
        &credential.extensions.cred_props,
        ExtnState::Set(p) | ExtnState::Unsolicited(p) if p.rk == Some(true)
    );
    let last_verified = credential.user_verified;
    Ok((
        cred_id,
        StoredCredential {
            credential,
            discoverable,
            last_verified,
        },
    ))
}
