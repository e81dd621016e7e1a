//! Outbound notifications. `mail`: one-time codes and security notices by email (SMTP or `.eml`
//! files), rendered from the theme's `mail/` templates by `compose`.

mod compose;
pub mod mail;
