//! A factor's enrolment, one component for the sign-in enrolment and the account pages: a
//! [`Pending`] enrolment sealed with the user's id and an expiry (so it can wait in the login
//! transaction or in the account form's hidden field, useless to anyone else), confirmed by the
//! factor's first code (`factor::confirm`) and bound with [`bind`].

use crate::ids::UserId;
use serde::{Deserialize, Serialize};

use super::MfaDeps;
use super::factor::{Confirmed, Pending};
use super::service::{self, Enrolment, MailboxProof};
use crate::crypto::seal;
use crate::crypto::secret::ServerSecret;
use crate::model::MfaMethod;
use crate::store::StoreResult;
use crate::store::factors::Factor;
use crate::store::users;

const SEAL_PENDING: &str = "pending-enrolment";

/// How long a set-up page stays valid.
pub const PENDING_TTL_SECS: i64 = 900;

#[derive(Serialize, Deserialize)]
struct Sealed {
    user_id: UserId,
    exp: i64,
    pending: Pending,
}

/// Seals `pending` for `user_id`, valid [`PENDING_TTL_SECS`] from `now`.
pub fn seal(
    secret: &ServerSecret,
    user_id: &UserId,
    pending: &Pending,
    now: i64,
) -> Option<String> {
    let s = Sealed {
        user_id: user_id.to_owned(),
        exp: now + PENDING_TTL_SECS,
        pending: pending.clone(),
    };
    seal::seal(secret, SEAL_PENDING, &serde_json::to_vec(&s).ok()?).ok()
}

/// The pending enrolment sealed for this user and not expired.
pub fn open(secret: &ServerSecret, sealed: &str, user_id: &UserId, now: i64) -> Option<Pending> {
    let bytes = seal::open(secret, SEAL_PENDING, sealed).ok()?;
    let s: Sealed = serde_json::from_slice(&bytes).ok()?;
    (s.user_id == *user_id && s.exp > now).then_some(s.pending)
}

/// Binds a confirmed factor (`service::bind_factor`: with a first factor's recovery codes and
/// the audit event, in one transaction). A code read at the account's own address is itself
/// the mailbox proof.
pub async fn bind(
    deps: &MfaDeps<'_>,
    e: &Enrolment<'_>,
    confirmed: &Confirmed,
) -> StoreResult<(Factor, Option<Vec<String>>)> {
    let proof = if confirmed.proves_mailbox {
        MailboxProof::Proven
    } else {
        e.proof
    };
    let e = Enrolment { proof, ..*e };
    let new = confirmed.new_factor(e.tenant, e.user, deps.now);
    let bound = service::bind_factor(deps, &e, new, confirmed.replaces.as_deref()).await?;
    // Reading a texted code proved the number (docs/mfa.md, "Phone numbers").
    if confirmed.kind == MfaMethod::Sms
        && let Some(number) = &confirmed.target
    {
        users::mark_phone_verified(deps.db, &e.user.id, number).await?;
    }
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::ids::UserId;

    #[test]
    fn a_pending_enrolment_opens_only_for_its_user_and_in_time() {
        let dir = tempfile::tempdir().unwrap();
        let secret = ServerSecret::load_or_create(dir.path()).unwrap();
        let p = Pending::Email {
            address: Some("a@example.com".into()),
        };
        let s = seal(&secret, &UserId::from("u1"), &p, 1000).unwrap();
        assert_eq!(open(&secret, &s, &UserId::from("u1"), 1001), Some(p));
        assert_eq!(open(&secret, &s, &UserId::from("u2"), 1001), None);
        assert_eq!(
            open(&secret, &s, &UserId::from("u1"), 1000 + PENDING_TTL_SECS),
            None
        );
        assert_eq!(open(&secret, "garbage", &UserId::from("u1"), 1001), None);
    }
}
