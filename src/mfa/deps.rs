//! [`MfaDeps`]: what the MFA services run with. They take this (and plain values), never
//! `AppState` or request headers, so the hosted pages, the CLI and the admin API call the same
//! functions: the web side builds one per request (`AppState::mfa_deps`), a command-line run
//! from its configuration.

use super::webauthn::RelyingParty;
use crate::config::OtpConfig;
use crate::crypto::secret::ServerSecret;
use crate::notify::Notifier;
use crate::store::Db;

#[derive(Clone, Copy)]
pub struct MfaDeps<'a> {
    pub db: &'a Db,
    /// Seals TOTP seeds and keys the HMAC of recovery codes.
    pub secret: &'a ServerSecret,
    /// Security notices ("two-factor authentication was turned on", ...), sent after commit.
    pub notifier: &'a Notifier,
    /// The limits on mailed one-time codes (the email factor's).
    pub otp: &'a OtpConfig,
    /// The WebAuthn relying party (`server.public_url`).
    pub rp: &'a RelyingParty,
    /// The time of the request, Unix seconds: every check and stored time of one call uses it.
    pub now: i64,
}
