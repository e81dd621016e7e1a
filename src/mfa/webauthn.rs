//! Security keys and passkeys (WebAuthn), as a second factor, for phishing-resistant sign-in and
//! for passwordless sign-in. The ceremonies are webauthn-rs-core's (the engine of webauthn-rs
//! 0.6): its high-level API insists on user verification for anything discoverable, and DESIGN.md
//! §6 needs it optional (a passkey without verification is one factor, and the MFA stage asks
//! for another). Each ceremony's state waits in a database row (`store::webauthn`) for at most
//! [`CEREMONY_TTL_SECS`] and is taken once; never in a cookie or a form.
//!
//! The relying-party id is the host of `server.public_url`, and the origin must be exactly that
//! URL's origin (docs/mfa.md says what moving `public_url` does to enrolled keys).

use serde::{Deserialize, Serialize};
use url::Url;
use webauthn_rs_core::WebauthnCore;
use webauthn_rs_core::error::WebauthnError;
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, Credential, ExtnState, PublicKeyCredential,
    RegisterPublicKeyCredential, RequestRegistrationExtensions, UserVerificationPolicy,
};

use super::MfaDeps;
use super::factor::{self, Confirmation, Confirmed, Description, Factor, Pending, Prompt};
use super::proven::Method;
use crate::crypto::random;
use crate::ids::TenantId;
use crate::model::MfaMethod;
use crate::otp::Checked;
use crate::store::factors::{self, Factor as StoredFactor};
use crate::store::users::User;
use crate::store::webauthn::{self as store, NewCeremony, Purpose};
use crate::store::{StoreError, StoreResult, audit};

/// How long a page's ceremony can be answered (the browser's own timeout is the same).
pub const CEREMONY_TTL_SECS: i64 = 300;

/// The relying party: one per server, from `server.public_url`.
pub struct RelyingParty {
    core: WebauthnCore,
    pub id: String,
    pub origin: Url,
}

impl RelyingParty {
    /// `public_url` must be an absolute http(s) URL with a host (checked at config load).
    pub fn new(public_url: &str) -> Result<RelyingParty, String> {
        let url = Url::parse(public_url).map_err(|e| format!("server.public_url: {e}"))?;
        let host = url
            .host_str()
            .ok_or("server.public_url has no host to be the WebAuthn relying-party id")?
            .to_owned();
        if matches!(url.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_))) {
            tracing::info!(
                public_url,
                "browsers refuse an IP address as WebAuthn relying party: security keys and \
                 passkeys need server.public_url with a host name (http://localhost:PORT locally)"
            );
        }
        let origin = Url::parse(&url.origin().ascii_serialization())
            .map_err(|e| format!("server.public_url: {e}"))?;
        let core = WebauthnCore::new_unsafe_experts_only(
            "Gatehouse",
            &host,
            vec![origin.clone()],
            std::time::Duration::from_secs(CEREMONY_TTL_SECS as u64),
            Some(false),
            Some(false),
        );
        Ok(RelyingParty {
            core,
            id: host,
            origin,
        })
    }
}

/// Why a ceremony did not add or verify a credential.
#[derive(Debug, thiserror::Error)]
pub enum CeremonyError {
    /// No live ceremony of that id for this user: expired, already answered, or never begun.
    #[error("the security-key prompt expired or was already answered")]
    Expired,
    /// The browser's answer did not verify (wrong origin or RP id, bad signature, not this
    /// user's credential, malformed).
    #[error("the security key's answer was refused: {0}")]
    Refused(String),
    /// The signature counter did not move forward: the authenticator may have been cloned.
    #[error("the security key's counter went backwards; it may have been cloned")]
    Cloned,
    /// The credential is registered already (to this account or another).
    #[error("this security key or passkey is registered already")]
    Duplicate,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What is kept of a credential (`factors.credential`, JSON): webauthn-rs-core's credential and
/// what the ceremonies said about it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredCredential {
    pub credential: Credential,
    /// The browser reported a discoverable credential (credProps `rk`): it can sign in
    /// without a username.
    #[serde(default)]
    pub discoverable: bool,
    /// User verification (PIN, biometric) happened in the last ceremony that passed.
    #[serde(default)]
    pub last_verified: bool,
}

impl StoredCredential {
    pub fn parse(factor: &StoredFactor) -> Option<StoredCredential> {
        serde_json::from_str(factor.credential.as_deref()?).ok()
    }

    /// Synced (backup-eligible) passkeys live in software across devices: RFC 8176 `swk`;
    /// anything device-bound is `hwk`.
    pub fn synced(&self) -> bool {
        self.credential.backup_eligible
    }

    /// What the last ceremony that passed proved (`amr`: `hwk`/`swk`, `user`).
    pub fn method(&self) -> Method {
        Method::WebAuthn {
            platform: self.synced(),
            user_verified: self.last_verified,
        }
    }

    /// "Security key", "Passkey (synced)", "Passkey (device-bound)".
    pub fn kind_name(&self) -> &'static str {
        if self.synced() {
            "Passkey (synced)"
        } else if self.discoverable || self.credential.user_verified {
            "Passkey (device-bound)"
        } else {
            "Security key"
        }
    }
}

/// base64url without padding, the form credential ids take in JSON.
fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What a page sends back: the ceremony it ran and the browser's credential (JSON).
#[derive(Deserialize)]
struct Answer<T> {
    ceremony: String,
    credential: T,
}

fn parse_answer<T: serde::de::DeserializeOwned>(code: &str) -> Result<Answer<T>, CeremonyError> {
    serde_json::from_str(code).map_err(|e| CeremonyError::Refused(format!("malformed answer: {e}")))
}

/// A ceremony to run on a page: its id and the options to hand to the browser (JSON).
#[derive(Debug, Clone, Serialize)]
pub struct Ceremony {
    pub id: String,
    pub options: String,
}

/// A fresh ceremony id, for a page that runs one.
pub fn new_ceremony_id() -> String {
    random::token(18)
}

fn refused(e: WebauthnError) -> CeremonyError {
    match e {
        WebauthnError::CredentialPossibleCompromise => CeremonyError::Cloned,
        e => CeremonyError::Refused(e.to_string()),
    }
}

fn corrupt(e: impl std::fmt::Display) -> CeremonyError {
    CeremonyError::Store(StoreError::Corrupt(format!("webauthn: {e}")))
}

/// The user's credentials, with their factors.
async fn credentials(
    deps: &MfaDeps<'_>,
    user: &User,
) -> StoreResult<Vec<(StoredFactor, StoredCredential)>> {
    Ok(factors::list_for_user(deps.db, &user.id)
        .await?
        .into_iter()
        .filter(|f| f.kind == MfaMethod::Webauthn)
        .filter_map(|f| StoredCredential::parse(&f).map(|c| (f, c)))
        .collect())
}

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

/// What a stored factor proves when it answers a challenge: for WebAuthn what its last
/// assertion said (kind of credential, user verification), for the others their constant.
pub fn proves(factor: &StoredFactor) -> Option<Method> {
    match factor.kind {
        MfaMethod::Webauthn => StoredCredential::parse(factor).map(|c| c.method()),
        kind => factor::proves(kind),
    }
}

/// What a factor just set up proves, as [`proves`] for one bound already.
pub fn proves_confirmed(c: &Confirmed) -> Option<Method> {
    match c.kind {
        MfaMethod::Webauthn => c
            .credential
            .as_deref()
            .and_then(|j| serde_json::from_str::<StoredCredential>(j).ok())
            .map(|s| s.method()),
        kind => factor::proves(kind),
    }
}

/// The WebAuthn factor: security keys and passkeys used after the password.
pub struct SecurityKey;

impl Factor for SecurityKey {
    const KIND: MfaMethod = MfaMethod::Webauthn;
    // The least an assertion proves; what one did prove is read from its credential (`proves`).
    const PROVES: Method = Method::WebAuthn {
        platform: false,
        user_verified: false,
    };

    fn describe() -> Description {
        Description {
            kind: MfaMethod::Webauthn,
            name: "Security key or passkey",
            hint: "Use a USB or NFC security key, or a passkey on this device or in your password manager.",
        }
    }

    fn prompt(_: &StoredFactor) -> Prompt {
        Prompt {
            text: "Use your security key or passkey",
            address: String::new(),
        }
    }

    fn begin(_: &MfaDeps<'_>) -> Option<Pending> {
        Some(Pending::Webauthn {
            ceremony: new_ceremony_id(),
        })
    }

    async fn confirm(
        deps: &MfaDeps<'_>,
        user: &User,
        pending: &Pending,
        label: &str,
        code: &str,
    ) -> StoreResult<Confirmation> {
        let Pending::Webauthn { ceremony } = pending else {
            return Ok(Confirmation::Refused(Checked::Expired));
        };
        match finish_registration(deps, user, ceremony, code).await {
            Ok((cred_id, stored)) => {
                let fallback = stored.kind_name();
                Ok(Confirmation::Confirmed(Confirmed {
                    kind: MfaMethod::Webauthn,
                    label: factor::label_or(label, fallback),
                    secret_sealed: None,
                    last_step: None,
                    target: Some(cred_id),
                    credential: Some(
                        serde_json::to_string(&stored).map_err(|e| {
                            StoreError::Corrupt(format!("webauthn credential: {e}"))
                        })?,
                    ),
                    proves_mailbox: false,
                    replaces: None,
                }))
            }
            Err(CeremonyError::Store(e)) => Err(e),
            Err(CeremonyError::Expired) => Ok(Confirmation::Refused(Checked::Expired)),
            Err(e) => {
                tracing::info!(error = %e, "webauthn registration refused");
                Ok(Confirmation::Refused(Checked::Wrong { remaining: 1 }))
            }
        }
    }

    /// `code` is the page's answer, `{"ceremony", "credential"}`; only through
    /// `attempts::check`, like every factor's.
    async fn verify(
        deps: &MfaDeps<'_>,
        user: &User,
        code: &str,
    ) -> StoreResult<Option<StoredFactor>> {
        match finish_assertion(deps, &user.tenant_id, Some(user), code).await {
            Ok(a) => Ok(Some(a.factor)),
            Err(CeremonyError::Store(e)) => Err(e),
            Err(e) => {
                tracing::info!(error = %e, "webauthn assertion refused");
                Ok(None)
            }
        }
    }
}
