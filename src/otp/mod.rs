//! One-time codes sent by mail or by text, for every purpose (DESIGN.md §7): the enrolment proof now; the
//! email factor, registration and reset join here. Codes come from the CSPRNG, are stored only
//! as an HMAC under the server secret, expire, and die after a few wrong tries. Every limit is a
//! database counter reserved *before* the guarded action (`store::rate_limits::reserve`), so a
//! burst of requests is evaluated at most the documented number of times:
//!
//! | key | counts | limit (`[otp]` defaults) |
//! | --- | --- | --- |
//! | the challenge row | guesses of one code | 5, then the code is dead |
//! | `otp:fail:{purpose}:{user}` | wrong guesses across codes, transactions and sign-ins | 10 per 15 min, then 15 min lock |
//! | `otp:send:user:{purpose}:{user}` | codes sent to the user for one purpose | 1 per 30 s |
//! | `otp:send:tx:{purpose}:{scope}` | codes sent for one login transaction or session | 1 per 30 s |
//! | `otp:mail:day:{user}` | codes mailed to the user | 10 per 24 h |
//! | `otp:sms:{user,number,ip,tenant}:{hour,day}:{who}` | texts (`sms`; the number as its HMAC) | `[otp.sms]` |
//!
//! The send throttles do not look at the live code, so "Send again" after a code was used,
//! spent by wrong guesses or expired is throttled just the same. No HTTP types here: the login
//! pages, the account pages and later the CLI/admin API share it.

use crate::ids::UserId;
use rand::Rng;

use crate::config::OtpConfig;
use crate::crypto::secret::ServerSecret;
use crate::mfa::MfaDeps;
use crate::notify::Notifier;
use crate::notify::mail::{MailError, MailKind};
use crate::notify::sms::{SmsError, SmsKind};
use crate::state::AppState;
use crate::store::otp::{self, NewOtp};
use crate::store::rate_limits::{self, Limit, Reservation};
use crate::store::tenants::Tenant;
use crate::store::users::User;
use crate::store::{Db, StoreError, StoreResult};

mod link;
pub mod sms;
#[cfg(test)]
mod tests;

pub use link::Link;
pub use sms::{Cap, SmsStats, sms_stats};

const DAY_SECS: i64 = 86_400;

/// What a code is for. Each purpose has its own codes and its own failure count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Proves the account's mailbox before a first factor is bound (the enrolment hole).
    EnrollmentProof,
    /// Confirms the address being set up as an email factor.
    EmailSetup,
    /// The email factor's code at sign-in.
    EmailSignIn,
    /// Confirms the number being set up as an SMS factor (sent by text).
    SmsSetup,
    /// The SMS factor's code at sign-in (sent by text).
    SmsSignIn,
    /// Verifies a self-registered account's email (mailed with a link).
    Registration,
    /// Proves the mailbox for a password reset (mailed with a link).
    PasswordReset,
    /// Confirms the new address of an account whose email is being changed.
    EmailChange,
}

/// A code's message: a mail, or a text.
enum Message {
    Mail(MailKind),
    Text(SmsKind),
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::EnrollmentProof => "enrollment_proof",
            Purpose::EmailSetup => "email_setup",
            Purpose::EmailSignIn => "email_sign_in",
            Purpose::SmsSetup => "sms_setup",
            Purpose::SmsSignIn => "sms_sign_in",
            Purpose::Registration => "registration",
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailChange => "email_change",
        }
    }

    /// Whether its mail carries a link as well as the code (the code serves whoever reads the
    /// mail on another device than the one signing in).
    pub fn has_link(self) -> bool {
        matches!(self, Purpose::Registration | Purpose::PasswordReset)
    }

    /// Whether its codes go by text message (to an E.164 number) rather than by mail.
    pub fn is_text(self) -> bool {
        matches!(self, Purpose::SmsSetup | Purpose::SmsSignIn)
    }

    fn message(self, code: String, minutes: u32, link: Option<String>) -> Message {
        let link = link.unwrap_or_default();
        match self {
            Purpose::Registration => Message::Mail(MailKind::VerifyEmail {
                code,
                minutes,
                link,
            }),
            Purpose::PasswordReset => Message::Mail(MailKind::PasswordReset {
                code,
                minutes,
                link,
            }),
            Purpose::EnrollmentProof | Purpose::EmailSetup => {
                Message::Mail(MailKind::EnrollmentCode { code, minutes })
            }
            Purpose::EmailSignIn => Message::Mail(MailKind::SignInCode { code, minutes }),
            Purpose::EmailChange => Message::Mail(MailKind::EmailChangeCode { code, minutes }),
            Purpose::SmsSetup => Message::Text(SmsKind::SetupCode { code, minutes }),
            Purpose::SmsSignIn => Message::Text(SmsKind::SignInCode { code, minutes }),
        }
    }
}

/// The outcome of asking for a code to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    Sent {
        expires_at: i64,
    },
    /// A code went to this user (or for this transaction) too recently.
    Throttled {
        retry_after: i64,
    },
    /// The user's mails for the day are used up.
    DailyCapReached {
        until: i64,
    },
    /// A cap on texts (per user, number, IP or tenant) is reached until `until`.
    Capped {
        cap: Cap,
        until: i64,
    },
    /// The tenant does not send texts to this number's country.
    CountryNotAllowed,
    /// The user is locked out of this purpose by wrong guesses: a code could not be used.
    Locked {
        until: i64,
    },
}

/// The outcome of checking a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    Verified,
    /// Wrong; `remaining` more guesses on this code for this user (0: the code is dead, or the
    /// user is locked from now on).
    Wrong {
        remaining: i64,
    },
    /// Too many wrong codes for this user: nothing is compared until `until`.
    Locked {
        until: i64,
    },
    /// No live code (expired, spent or never sent): ask for a new one.
    Expired,
}

#[derive(Debug, thiserror::Error)]
pub enum OtpError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The code was stored but its mail could not be delivered.
    #[error(transparent)]
    Mail(#[from] MailError),
    /// The code was stored but the gateway refused its text or could not be reached.
    #[error("the text message was not delivered")]
    Sms(SmsError),
}

/// Who a code goes to (the user, at `address`: the account's email or an email factor's),
/// and the login transaction or session it is sent for (the per-transaction resend throttle).
pub struct Recipient<'a> {
    pub tenant: &'a Tenant,
    pub user: &'a User,
    pub address: &'a str,
    pub scope: &'a str,
    /// The client's network (`web::client_ip::limit_key`), for the per-IP cap on texts.
    pub ip: Option<&'a str>,
}

/// The service: the database, the server secret (HMAC at rest), the notifier that mails the
/// code, and the `[otp]` limits. The time is an argument of every call.
#[derive(Clone, Copy)]
pub struct Codes<'a> {
    pub db: &'a Db,
    pub secret: &'a ServerSecret,
    pub notifier: &'a Notifier,
    pub limits: &'a OtpConfig,
}

pub fn fail_key(purpose: Purpose, user_id: &UserId) -> String {
    format!("otp:fail:{}:{user_id}", purpose.as_str())
}

/// Per purpose: a code for one thing (the mailbox proof) must not hold up the next (the email
/// factor's set-up right after it); the daily cap counts them all.
pub fn send_user_key(purpose: Purpose, user_id: &UserId) -> String {
    format!("otp:send:user:{}:{user_id}", purpose.as_str())
}

pub fn send_scope_key(purpose: Purpose, scope: &str) -> String {
    format!("otp:send:tx:{}:{scope}", purpose.as_str())
}

pub fn day_key(user_id: &UserId) -> String {
    format!("otp:mail:day:{user_id}")
}

/// Six digits from the thread CSPRNG (ChaCha, seeded from the OS).
pub fn generate() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// What the user typed, without the spaces a grouped code may carry.
pub fn normalize(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace()).collect()
}

/// `a•••@example.com`: enough to recognise the address, not enough to harvest it.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "your email address".into(),
    }
}

impl<'a> Codes<'a> {
    pub fn new(state: &'a AppState) -> Codes<'a> {
        Codes::of(&state.mfa_deps())
    }

    /// The service the MFA services run with (the email factor's codes).
    pub fn of(deps: &MfaDeps<'a>) -> Codes<'a> {
        Codes {
            db: deps.db,
            secret: deps.secret,
            notifier: deps.notifier,
            limits: deps.otp,
        }
    }

    pub fn fail_limit(&self) -> Limit {
        Limit {
            max_failures: self.limits.max_failures_per_user,
            window_secs: self.limits.failure_window_secs,
            lockout_secs: self.limits.lockout_secs,
        }
    }

    /// One send per `otp.resend_interval_secs` ("Send again"); also the throttle an address
    /// without an account answers with (`crate::lifecycle`).
    pub fn send_limit(&self) -> Limit {
        Limit {
            max_failures: 1,
            window_secs: self.limits.resend_interval_secs,
            lockout_secs: self.limits.resend_interval_secs,
        }
    }

    fn day_limit(&self) -> Limit {
        Limit {
            max_failures: self.limits.max_mails_per_day,
            window_secs: DAY_SECS,
            lockout_secs: DAY_SECS,
        }
    }

    fn hash(&self, purpose: Purpose, user_id: &UserId, code: &str) -> String {
        self.secret.mac(
            &format!("otp:{}", purpose.as_str()),
            &format!("{user_id}:{code}"),
        )
    }

    /// When the user is locked out of this purpose by wrong guesses, until when.
    pub async fn locked_until(
        &self,
        purpose: Purpose,
        user_id: &UserId,
        now: i64,
    ) -> StoreResult<Option<i64>> {
        rate_limits::locked_until(self.db, &fail_key(purpose, user_id), now).await
    }

    /// Sends a code unless a live one went to this address (a page reload sends nothing; a code
    /// to another of the user's addresses does not answer for this one). `None`: the live code
    /// stands.
    pub async fn ensure_sent(
        &self,
        purpose: Purpose,
        to: Recipient<'_>,
        now: i64,
    ) -> Result<Option<Sent>, OtpError> {
        // A locked user hears so even while a code is live: it would be refused.
        if let Some(until) = self.locked_until(purpose, &to.user.id, now).await? {
            return Ok(Some(Sent::Locked { until }));
        }
        if otp::current(self.db, &to.user.id, purpose.as_str(), now)
            .await?
            .is_some_and(|c| c.target.eq_ignore_ascii_case(to.address))
        {
            return Ok(None);
        }
        self.send(purpose, to, now).await.map(Some)
    }

    /// Issues a fresh code (voiding the previous one) and mails it, within the throttles and
    /// the daily cap. Reservations are taken before anything is sent, so however many requests
    /// arrive at once, one per interval gets through.
    pub async fn send(
        &self,
        purpose: Purpose,
        to: Recipient<'_>,
        now: i64,
    ) -> Result<Sent, OtpError> {
        self.send_linked(purpose, to, None, now).await
    }

    /// [`Self::send`] for a purpose whose mail carries a link too ([`Purpose::has_link`]).
    pub async fn send_linked(
        &self,
        purpose: Purpose,
        to: Recipient<'_>,
        link: Option<Link<'_>>,
        now: i64,
    ) -> Result<Sent, OtpError> {
        let user_id = &to.user.id;
        // A code the user could not enter would only fill the inbox.
        if let Some(until) = self.locked_until(purpose, user_id, now).await? {
            return Ok(Sent::Locked { until });
        }
        // Checked again here, not only where the number was typed: the tenant may have
        // narrowed its list since the number was enrolled.
        if purpose.is_text() && !sms::country_allowed(&to) {
            return Ok(Sent::CountryNotAllowed);
        }
        let scope_key = send_scope_key(purpose, to.scope);
        let send = self.send_limit();
        if let Reservation::Refused { until } =
            rate_limits::reserve(self.db, &scope_key, send, now).await?
        {
            return Ok(Sent::Throttled {
                retry_after: (until - now).max(1),
            });
        }
        if let Reservation::Refused { until } =
            rate_limits::reserve(self.db, &send_user_key(purpose, user_id), send, now).await?
        {
            // Nothing went out for this transaction: its own interval has not started.
            rate_limits::release(self.db, &scope_key, send).await?;
            return Ok(Sent::Throttled {
                retry_after: (until - now).max(1),
            });
        }
        // Texts have their own caps (per user, number, IP, tenant); mails the daily one.
        if purpose.is_text() {
            if let Some((cap, until)) = sms::reserve(self, &to, now).await? {
                return Ok(Sent::Capped { cap, until });
            }
        } else if let Reservation::Refused { until } =
            rate_limits::reserve(self.db, &day_key(user_id), self.day_limit(), now).await?
        {
            return Ok(Sent::DailyCapReached { until });
        }
        let code = generate();
        let ttl = if purpose.has_link() {
            self.limits.link_ttl_secs
        } else {
            self.limits.code_ttl_secs
        };
        let expires_at = now + ttl;
        let minted = link.as_ref().map(Link::mint);
        otp::issue(
            self.db,
            NewOtp {
                tenant_id: &to.tenant.id,
                user_id,
                purpose: purpose.as_str(),
                target: to.address,
                code_hash: &self.hash(purpose, user_id, &code),
                now,
                expires_at,
                link: link
                    .as_ref()
                    .zip(minted.as_ref())
                    .map(|(l, m)| (m.token_hash.as_str(), l.context)),
            },
        )
        .await?;
        let minutes = u32::try_from((ttl / 60).max(1)).unwrap_or(10);
        let delivered = match purpose.message(code, minutes, minted.map(|m| m.url)) {
            Message::Mail(kind) => self
                .notifier
                .send_to(to.tenant, to.address, kind)
                .await
                .map_err(OtpError::from),
            Message::Text(kind) => sms::deliver(self, &to, purpose, kind).await,
        };
        if let Err(e) = delivered {
            // Nothing reached the inbox, so "Send again" may try at once. The attempt still
            // counts toward the daily cap, which bounds what a flapping relay might deliver.
            rate_limits::release(self.db, &scope_key, send).await?;
            rate_limits::release(self.db, &send_user_key(purpose, user_id), send).await?;
            return Err(e);
        }
        Ok(Sent::Sent { expires_at })
    }

    /// Checks a code. The guess is reserved on the user's failure count and on the code's own
    /// attempts before it is compared (in constant time); a success hands the user reservation
    /// back, a wrong guess keeps it. The code is spent by its success or by its last attempt.
    pub async fn verify(
        &self,
        purpose: Purpose,
        user_id: &UserId,
        presented: &str,
        now: i64,
    ) -> StoreResult<Checked> {
        self.verify_sent_to(purpose, user_id, None, presented, now)
            .await
    }

    /// [`Self::verify`], for a code that must have been sent to `address` (an email factor
    /// being set up: the code proves that mailbox, not whichever one got the last code).
    pub async fn verify_sent_to(
        &self,
        purpose: Purpose,
        user_id: &UserId,
        address: Option<&str>,
        presented: &str,
        now: i64,
    ) -> StoreResult<Checked> {
        let key = fail_key(purpose, user_id);
        let limit = self.fail_limit();
        if let Some(until) = rate_limits::locked_until(self.db, &key, now).await? {
            return Ok(Checked::Locked { until });
        }
        let Some(challenge) = otp::current(self.db, user_id, purpose.as_str(), now)
            .await?
            .filter(|c| address.is_none_or(|a| c.target == a))
        else {
            return Ok(Checked::Expired);
        };
        let user_left = match rate_limits::reserve(self.db, &key, limit, now).await? {
            Reservation::Granted { remaining } => remaining,
            Reservation::Refused { until } => return Ok(Checked::Locked { until }),
        };
        let max = self.limits.max_attempts_per_code;
        let Some(attempt) = otp::reserve_attempt(self.db, &challenge.id, max, now).await? else {
            // The code died meanwhile: this guess was never compared.
            rate_limits::release(self.db, &key, limit).await?;
            return Ok(Checked::Expired);
        };
        let data = format!("{user_id}:{}", normalize(presented));
        let label = format!("otp:{}", purpose.as_str());
        if self.secret.verify_mac(&label, &data, &challenge.code_hash) {
            rate_limits::release(self.db, &key, limit).await?;
            // Two right answers at once: only one spends the code.
            return Ok(if otp::consume(self.db, &challenge.id, now).await? {
                Checked::Verified
            } else {
                Checked::Expired
            });
        }
        if attempt >= max {
            otp::consume(self.db, &challenge.id, now).await?;
        }
        // A guess that was compared is always told as wrong (with nothing left when it used
        // the user's last try); the lock shows from the next request on.
        Ok(Checked::Wrong {
            remaining: (max - attempt).clamp(0, user_left),
        })
    }
}
