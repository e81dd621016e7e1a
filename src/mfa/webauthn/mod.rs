//! Security keys and passkeys (WebAuthn), as a second factor, for phishing-resistant sign-in and
//! for passwordless sign-in. The ceremonies are webauthn-rs-core's (the engine of webauthn-rs
//! 0.6): its high-level API insists on user verification for anything discoverable, and DESIGN.md
//! §6 needs it optional (a passkey without verification is one factor, and the MFA stage asks
//! for another). Each ceremony's state waits in a database row (`store::webauthn`) for at most
//! [`CEREMONY_TTL_SECS`] and is taken once; never in a cookie or a form.
//!
//! The relying-party id is the host of `server.public_url`, and the origin must be exactly that
//! URL's origin (docs/mfa.md says what moving `public_url` does to enrolled keys).

mod assertion;
mod factor;
mod register;

pub use assertion::{Asserted, ceremony_id_for, finish_assertion, start_assertion};
pub use factor::SecurityKey;
pub use register::{finish_registration, start_registration};

use serde::{Deserialize, Serialize};
use url::Url;
use webauthn_rs_core::WebauthnCore;
use webauthn_rs_core::error::WebauthnError;
use webauthn_rs_core::proto::Credential;

use super::MfaDeps;
use super::factor::Confirmed;
use super::proven::Method;
use crate::crypto::random;
use crate::model::MfaMethod;
use crate::store::factors::{self, Factor as StoredFactor};
use crate::store::users::User;
use crate::store::{StoreError, StoreResult};

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

/// What a stored factor proves when it answers a challenge: for WebAuthn what its last
/// assertion said (kind of credential, user verification), for the others their constant.
pub fn proves(factor: &StoredFactor) -> Option<Method> {
    match factor.kind {
        MfaMethod::Webauthn => StoredCredential::parse(factor).map(|c| c.method()),
        kind => super::factor::proves(kind),
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
        kind => super::factor::proves(kind),
    }
}
