//! Multi-factor authentication: the policy decision, the factors (one file each), recovery codes
//! and trusted devices. A new factor slots in as one new file. The
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
pub mod sent_code;
pub mod service;
pub mod sms_code;
pub mod totp;
pub mod webauthn;

pub use deps::MfaDeps;
