//! Admin operations: the same actions the CLI offers now and the admin API will offer later.
//! Each validates everything before writing, writes once, and records an audit event.

pub mod api_keys;
pub mod builtin;
pub mod client_auth;
pub mod client_rules;
pub mod clients;
pub mod console;
pub mod explain;
pub mod report;
pub mod secrets;
pub mod sessions;
pub mod tenants;
pub mod users;

use crate::crypto::password::PasswordError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Bad input, phrased for the operator (names the value and the expected form).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Password(#[from] PasswordError),
    /// A tenant's signing keys could not be created or read.
    #[error(transparent)]
    Keys(#[from] crate::crypto::keys::KeyError),
}

pub type AdminResult<T> = Result<T, AdminError>;

/// Who performed an admin action, as written to the audit log.
pub const CLI_ACTOR: &str = "cli";
