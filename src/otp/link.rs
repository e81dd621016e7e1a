//! The link a registration, reset or verification mail carries beside its code: a 256-bit
//! token (stored hashed with the code) appended to the page it opens, spent once.

use super::{Codes, Purpose};
use crate::crypto::random;
use crate::store::StoreResult;
use crate::store::otp;

/// The link a registration or reset mail carries: the page it opens (the token is appended as
/// `?token=`), and what it was sent for (stored with the code, given back when it is used).
pub struct Link<'a> {
    pub page: &'a str,
    pub context: &'a str,
}

/// A link's token, made when its mail is sent: the hash stored with the code and the URL the
/// mail shows.
pub(super) struct Minted {
    pub(super) token_hash: String,
    pub(super) url: String,
}

impl Link<'_> {
    /// 256 bits: the link needs no attempt counting, a code of six digits does.
    pub(super) fn mint(&self) -> Minted {
        let token = random::token(32);
        let sep = if self.page.contains('?') { '&' } else { '?' };
        Minted {
            token_hash: random::sha256_hex(&token),
            url: format!("{}{sep}token={token}", self.page),
        }
    }
}

impl Codes<'_> {
    /// Spends the live code of `purpose` whose mail carried the link `token`: the challenge
    /// (its user and context), or None when the link is unknown, used or expired.
    pub async fn redeem_link(
        &self,
        purpose: Purpose,
        token: &str,
        now: i64,
    ) -> StoreResult<Option<otp::OtpChallenge>> {
        let hash = random::sha256_hex(token);
        otp::redeem_link(self.db, purpose.as_str(), &hash, now).await
    }

    /// Whether `token` is the link of a live code of `purpose`, without spending it.
    pub async fn link_is_live(&self, purpose: Purpose, token: &str, now: i64) -> StoreResult<bool> {
        let hash = random::sha256_hex(token);
        Ok(otp::find_link(self.db, purpose.as_str(), &hash, now)
            .await?
            .is_some())
    }
}
