//! Second-factor guesses under limits that hold in a race. Every TOTP or recovery-code guess
//! reserves its attempts — on the user (across sign-ins, [`USER_LIMIT`]) and on whatever the
//! caller adds (the sign-in's own budget) — *before* the code is checked, with one conditional
//! upsert per key ([`rate_limits::reserve`]). Checking first and counting afterwards let 80
//! simultaneous codes all be evaluated against limits of 5 and 10. [`check`] is the only way in
//! to the code checks of [`totp`] and [`recovery`], so no caller can forget the limit.

use super::MfaDeps;
use super::service::{USER_LIMIT, user_limit_key};
use super::{factor, recovery};
use crate::model::MfaMethod;
use crate::store::StoreResult;
use crate::store::factors::Factor;
use crate::store::rate_limits::{self, Limit, Reservation};
use crate::store::tenants::Tenant;
use crate::store::users::User;

/// What the user typed: a code of one of their factors, or a recovery code.
#[derive(Debug, Clone, Copy)]
pub enum Guess<'a> {
    Code { kind: MfaMethod, code: &'a str },
    RecoveryCode(&'a str),
}

/// The outcome of one guarded guess.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The code was right. `replacement`: a fresh recovery code to show once, when the tenant
    /// replaces codes on use. `factor`: the factor whose code it was (none for a recovery
    /// code), as it stands after the check (a security key's moved counter and flags).
    Passed {
        replacement: Option<String>,
        factor: Option<Box<Factor>>,
    },
    /// The code was wrong. `locked`: this attempt used up a limit, so the caller ends the
    /// sign-in; the reservation stays counted.
    Wrong { locked: bool },
    /// Not evaluated: a limit was already reached (nothing was checked or counted).
    Refused,
}

/// A counter the caller adds to the user's, e.g. the sign-in's `mfa:tx:{id}`.
pub struct Budget<'a> {
    pub key: &'a str,
    pub limit: Limit,
}

/// Checks `guess` for `user` once an attempt is reserved on `budget` (if any) and on the user.
/// The narrower budget is reserved first so that a burst at one sign-in spends the user's
/// allowance only for the attempts that sign-in may make. A right code hands the sign-in's
/// attempts back and ends the user's run of consecutive failures (NIST SP 800-63B §5.2.2).
/// A store error keeps the reservations: the code may have been compared.
pub async fn check(
    deps: &MfaDeps<'_>,
    tenant: &Tenant,
    user: &User,
    guess: Guess<'_>,
    budget: Option<Budget<'_>>,
) -> StoreResult<Outcome> {
    let (db, ts) = (deps.db, deps.now);
    let user_key = user_limit_key(&user.id);
    let mut last = false;
    if let Some(b) = &budget {
        match rate_limits::reserve(db, b.key, b.limit, ts).await? {
            Reservation::Granted { remaining } => last |= remaining == 0,
            Reservation::Refused { .. } => return Ok(Outcome::Refused),
        }
    }
    match rate_limits::reserve(db, &user_key, USER_LIMIT, ts).await? {
        Reservation::Granted { remaining } => last |= remaining == 0,
        Reservation::Refused { .. } => {
            if let Some(b) = &budget {
                rate_limits::release(db, b.key, b.limit).await?;
            }
            return Ok(Outcome::Refused);
        }
    }
    let passed = match guess {
        Guess::Code { kind, code } => factor::verify(deps, kind, user, code)
            .await?
            .map(|f| (None, Some(Box::new(f)))),
        Guess::RecoveryCode(code) => recovery::spend(deps, tenant, user, code)
            .await?
            .map(|r| (r, None)),
    };
    let Some((replacement, factor)) = passed else {
        return Ok(Outcome::Wrong { locked: last });
    };
    if let Some(b) = &budget {
        // The sign-in moves on; its counter has nothing left to count.
        rate_limits::clear(db, b.key).await?;
    }
    rate_limits::clear(db, &user_key).await?;
    Ok(Outcome::Passed {
        replacement,
        factor,
    })
}
