//! Outbound notifications. `mail`: one-time codes and security notices by email (SMTP or `.eml`
//! files), rendered from the theme's `mail/` templates by `compose`; `sms`: one-time codes by
//! text message (file, signed webhook or Twilio), from the theme's `sms/` templates;
//! `notifier`: the mailer, the SMS sender and their templates as the one value the services
//! send through.

mod compose;
pub mod mail;
pub mod notifier;
pub mod sms;

pub use notifier::Notifier;
