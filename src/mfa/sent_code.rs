//! What the factors whose codes are *sent* (email, SMS) do alike, through [`crate::otp`]: a
//! set-up code to the address being enrolled, the sign-in challenge (a code unless a live one
//! stands, or a fresh one for Resend), and the sign-in check that finds the factor the live code
//! went to. Each factor names its purposes and its kind; the rest is here once.

use super::MfaDeps;
use super::factor::{ChallengeTo, Confirmation, Confirmed};
use crate::model::MfaMethod;
use crate::otp::{Checked, Codes, OtpError, Purpose, Recipient, Sent};
use crate::store::factors::{self, Factor as StoredFactor};
use crate::store::users::User;
use crate::store::{StoreResult, otp};

/// Sends a set-up code for `purpose`, within every limit of [`crate::otp`].
pub async fn send_setup(
    deps: &MfaDeps<'_>,
    purpose: Purpose,
    to: Recipient<'_>,
) -> Result<Sent, OtpError> {
    Codes::of(deps).send(purpose, to, deps.now).await
}

/// The sign-in challenge of a factor with a `target`: sends `purpose`'s code there unless a
/// live one went there (`resend`: a fresh one, within the throttles).
pub async fn challenge(
    deps: &MfaDeps<'_>,
    purpose: Purpose,
    to: ChallengeTo<'_>,
    resend: bool,
) -> Result<Option<Sent>, OtpError> {
    let recipient = Recipient {
        tenant: to.tenant,
        user: to.user,
        address: to.factor.target.as_deref().unwrap_or_default(),
        scope: to.scope,
        ip: to.ip,
    };
    let codes = Codes::of(deps);
    if resend {
        return codes.send(purpose, recipient, deps.now).await.map(Some);
    }
    codes.ensure_sent(purpose, recipient, deps.now).await
}

/// Checks a sign-in code of `purpose` and returns the user's factor of `kind` it went to
/// (touched as used). The live code names its address, hence the factor it answers for.
pub async fn verify(
    deps: &MfaDeps<'_>,
    purpose: Purpose,
    kind: MfaMethod,
    user: &User,
    code: &str,
) -> StoreResult<Option<StoredFactor>> {
    let Some(live) = otp::current(deps.db, &user.id, purpose.as_str(), deps.now).await? else {
        return Ok(None);
    };
    let checked = Codes::of(deps)
        .verify_sent_to(purpose, &user.id, Some(&live.target), code, deps.now)
        .await?;
    if checked != Checked::Verified {
        return Ok(None);
    }
    let factor = factors::list_for_user(deps.db, &user.id)
        .await?
        .into_iter()
        .find(|f| {
            f.kind == kind
                && f.target
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case(&live.target))
        });
    if let Some(f) = &factor {
        factors::touch(deps.db, &f.id, deps.now).await?;
    }
    Ok(factor)
}

/// Checks the first code of a set-up: it must have gone to the address `confirmed` names,
/// which is then the factor to bind.
pub async fn confirm_setup(
    deps: &MfaDeps<'_>,
    purpose: Purpose,
    user: &User,
    code: &str,
    confirmed: Confirmed,
) -> StoreResult<Confirmation> {
    let address = confirmed.target.as_deref().unwrap_or_default();
    let checked = Codes::of(deps)
        .verify_sent_to(purpose, &user.id, Some(address), code, deps.now)
        .await?;
    Ok(if checked == Checked::Verified {
        Confirmation::Confirmed(confirmed)
    } else {
        Confirmation::Refused(checked)
    })
}
