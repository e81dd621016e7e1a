//! Multi-factor authentication: the policy decision, the factors (one file each), recovery codes
//! and trusted devices. Email, SMS and WebAuthn factors slot in as one new file each. The
//! services take [`MfaDeps`] and plain values, never HTTP types.

pub mod attempts;
pub mod deps;
pub mod devices;
pub mod email_code;
pub mod enrolment;
pub mod factor;
pub mod inputs;
pub mod policy;
pub mod proven;
pub mod recovery;
pub mod reset;
pub mod service;
pub mod totp;

pub use deps::MfaDeps;
