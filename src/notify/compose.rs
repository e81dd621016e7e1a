//! The messages Gatehouse sends and how they are rendered: one minijinja text template per
//! [`MailKind`] under `themes/{theme}/mail/`, overridable per theme by file name exactly like the
//! pages. A rendered template's first line is the subject; the rest is the plain-text body.

use std::fmt;

use serde::Serialize;
use time::OffsetDateTime;
use time::macros::format_description;

use super::mail::MailError;
use crate::web::templates::Templates;

/// One message Gatehouse sends. `Debug` never shows a code.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MailKind {
    /// A one-time code that confirms an email address while enrolling it as a factor.
    EnrollmentCode {
        code: String,
        minutes: u32,
    },
    /// A one-time code for signing in with the email factor.
    SignInCode {
        code: String,
        minutes: u32,
    },
    /// A factor was added and two-factor authentication is on.
    MfaEnabled {
        method_label: String,
    },
    MfaFactorRemoved {
        method_label: String,
    },
    RecoveryCodeUsed {
        remaining: u32,
    },
    RecoveryCodesRegenerated,
    /// An administrator reset the user's two-factor methods.
    MfaReset,
    /// Confirms a new account's address: a link and the same mail's code.
    VerifyEmail {
        code: String,
        minutes: u32,
        link: String,
    },
    /// Someone tried to create an account with this address, which has one already.
    AccountExists,
    /// A password reset: a link and the same mail's code.
    PasswordReset {
        code: String,
        minutes: u32,
        link: String,
    },
    /// The password was changed (by a reset or on the account pages).
    PasswordChanged,
    /// A code that confirms the new address of an account whose email is being changed.
    EmailChangeCode {
        code: String,
        minutes: u32,
    },
    /// Sent to the old address: the account's email is now `new_address` (masked).
    EmailChanged {
        new_address: String,
    },
}

impl MailKind {
    /// Every template file a kind renders, plus the shared base; checked at start-up.
    pub const TEMPLATE_FILES: [&'static str; 14] = [
        "base.txt",
        "enrollment_code.txt",
        "sign_in_code.txt",
        "mfa_enabled.txt",
        "mfa_factor_removed.txt",
        "recovery_code_used.txt",
        "recovery_codes_regenerated.txt",
        "mfa_reset.txt",
        "verify_email.txt",
        "account_exists.txt",
        "password_reset.txt",
        "password_changed.txt",
        "email_change_code.txt",
        "email_changed.txt",
    ];

    /// Stable name for logs and the template file (`mail/{name}.txt`).
    pub fn name(&self) -> &'static str {
        match self {
            MailKind::EnrollmentCode { .. } => "enrollment_code",
            MailKind::SignInCode { .. } => "sign_in_code",
            MailKind::MfaEnabled { .. } => "mfa_enabled",
            MailKind::MfaFactorRemoved { .. } => "mfa_factor_removed",
            MailKind::RecoveryCodeUsed { .. } => "recovery_code_used",
            MailKind::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            MailKind::MfaReset => "mfa_reset",
            MailKind::VerifyEmail { .. } => "verify_email",
            MailKind::AccountExists => "account_exists",
            MailKind::PasswordReset { .. } => "password_reset",
            MailKind::PasswordChanged => "password_changed",
            MailKind::EmailChangeCode { .. } => "email_change_code",
            MailKind::EmailChanged { .. } => "email_changed",
        }
    }

    /// A notice about a change to the account's security (as opposed to a code the user asked
    /// for): these end with what to do if it was not the user.
    pub fn is_security_notice(&self) -> bool {
        !matches!(
            self,
            MailKind::EnrollmentCode { .. }
                | MailKind::SignInCode { .. }
                | MailKind::VerifyEmail { .. }
                | MailKind::PasswordReset { .. }
                | MailKind::EmailChangeCode { .. }
        )
    }
}

impl fmt::Debug for MailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailKind::EnrollmentCode { minutes, .. }
            | MailKind::SignInCode { minutes, .. }
            | MailKind::EmailChangeCode { minutes, .. }
            | MailKind::VerifyEmail { minutes, .. }
            | MailKind::PasswordReset { minutes, .. } => f
                .debug_struct(self.name())
                .field("code", &"***")
                .field("minutes", minutes)
                .finish(),
            MailKind::MfaEnabled { method_label } | MailKind::MfaFactorRemoved { method_label } => {
                f.debug_struct(self.name())
                    .field("method_label", method_label)
                    .finish()
            }
            MailKind::RecoveryCodeUsed { remaining } => f
                .debug_struct(self.name())
                .field("remaining", remaining)
                .finish(),
            MailKind::EmailChanged { new_address } => f
                .debug_struct(self.name())
                .field("new_address", new_address)
                .finish(),
            MailKind::RecoveryCodesRegenerated
            | MailKind::MfaReset
            | MailKind::AccountExists
            | MailKind::PasswordChanged => f.write_str(self.name()),
        }
    }
}

/// Subject and plain-text body, ready for [`super::mail::Mailer::message`].
#[derive(Clone, PartialEq, Eq)]
pub struct RenderedMail {
    pub subject: String,
    pub body: String,
}

impl fmt::Debug for RenderedMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body may hold a code.
        f.debug_struct("RenderedMail")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// What every mail template sees.
#[derive(Serialize)]
struct MailView<'a> {
    kind: &'static str,
    tenant_name: &'a str,
    email: &'a str,
    /// When the event happened, e.g. `2025-06-01 14:03 UTC`.
    time: String,
    security_notice: bool,
    code: Option<&'a str>,
    minutes: Option<u32>,
    method_label: Option<&'a str>,
    remaining: Option<u32>,
    /// The registration or reset link (holds a token, like the code).
    link: Option<&'a str>,
    /// The account's new address, masked (`EmailChanged`).
    new_address: Option<&'a str>,
}

/// Renders `mail/{kind}.txt` of `theme` (falling back to the default theme).
pub fn render(
    templates: &Templates,
    theme: &str,
    tenant_name: &str,
    to: &str,
    kind: &MailKind,
    at: OffsetDateTime,
) -> Result<RenderedMail, MailError> {
    let mut link = None;
    let mut new_address = None;
    let (code, minutes, method_label, remaining) = match kind {
        MailKind::EnrollmentCode { code, minutes }
        | MailKind::SignInCode { code, minutes }
        | MailKind::EmailChangeCode { code, minutes } => {
            (Some(code.as_str()), Some(*minutes), None, None)
        }
        MailKind::EmailChanged { new_address: a } => {
            new_address = Some(a.as_str());
            (None, None, None, None)
        }
        MailKind::VerifyEmail {
            code,
            minutes,
            link: l,
        }
        | MailKind::PasswordReset {
            code,
            minutes,
            link: l,
        } => {
            link = Some(l.as_str());
            (Some(code.as_str()), Some(*minutes), None, None)
        }
        MailKind::MfaEnabled { method_label } | MailKind::MfaFactorRemoved { method_label } => {
            (None, None, Some(method_label.as_str()), None)
        }
        MailKind::RecoveryCodeUsed { remaining } => (None, None, None, Some(*remaining)),
        MailKind::RecoveryCodesRegenerated
        | MailKind::MfaReset
        | MailKind::AccountExists
        | MailKind::PasswordChanged => (None, None, None, None),
    };
    let view = MailView {
        kind: kind.name(),
        tenant_name,
        email: to,
        time: format_time(at),
        security_notice: kind.is_security_notice(),
        code,
        minutes,
        method_label,
        remaining,
        link,
        new_address,
    };
    let template = format!("mail/{}.txt", kind.name());
    let text = templates
        .render(theme, &template, view)
        .map_err(|source| MailError::Template { template, source })?;
    Ok(split(&text))
}

fn format_time(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute] UTC"
    ))
    .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// First line → subject (control characters dropped: it becomes a header); the rest → body,
/// without leading/trailing blank lines, ending in one newline. Forgiving about the blank
/// lines template tags leave behind, so themes need not fight whitespace control.
fn split(text: &str) -> RenderedMail {
    let text = text.trim_start_matches(['\n', '\r']);
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let subject: String = first.chars().filter(|c| !c.is_control()).collect();
    let mut body = String::new();
    let mut blank_run = 0;
    for line in rest.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !body.is_empty() {
            // At most one blank line between paragraphs.
            body.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        body.push_str(line);
    }
    body.push('\n');
    RenderedMail {
        subject: subject.trim().to_string(),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_line_is_the_subject_and_blank_runs_collapse() {
        let m = split("\n Hello\r\x07 there \n\n\nline 1  \nline 2\n\n\n\nbye\n\n");
        assert_eq!(m.subject, "Hello there");
        assert_eq!(m.body, "line 1\nline 2\n\nbye\n");
    }

    #[test]
    fn debug_never_shows_a_code() {
        let k = MailKind::SignInCode {
            code: "123456".into(),
            minutes: 10,
        };
        assert!(!format!("{k:?}").contains("123456"));
        let r = RenderedMail {
            subject: "s".into(),
            body: "123456".into(),
        };
        assert!(!format!("{r:?}").contains("123456"));
    }

    #[test]
    fn time_is_utc_minutes() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(format_time(t), "2023-11-14 22:13 UTC");
    }
}
