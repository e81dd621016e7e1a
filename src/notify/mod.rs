//! Outbound notifications. `mail`: one-time codes and security notices by email (SMTP or `.eml`
//! files), rendered from the theme's `mail/` templates by `compose`; `notifier`: the mailer and
//! its templates as the one value the services send security notices through.

mod compose;
pub mod mail;
pub mod notifier;

pub use notifier::Notifier;
