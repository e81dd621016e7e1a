//! Multi-factor authentication: the policy decision, the factors (one file each), recovery codes
//! and trusted devices. Email, SMS and WebAuthn factors slot in as one new file each.

pub mod attempts;
pub mod inputs;
pub mod policy;
pub mod proven;
pub mod recovery;
pub mod reset;
pub mod service;
pub mod totp;
