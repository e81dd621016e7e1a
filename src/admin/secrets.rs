//! `gatehouse secrets reseal`: after `secrets.key` changed (the old key moved to
//! `secrets.previous`), every durable sealed value is sealed again under the new key, so the old
//! one can be dropped. The short-lived ones (a pending enrolment, a flash of codes shown once)
//! are not stored durably and open under `previous` until they expire.

use serde::Serialize;

use super::AdminError;
use crate::crypto::key_store;
use crate::crypto::secret::ServerSecret;
use crate::mfa::totp;
use crate::store::{Db, factors};

#[derive(Debug, Serialize)]
pub struct Resealed {
    pub signing_keys: u64,
    pub totp_seeds: u64,
    /// The key everything is now sealed under (its public id, not the key).
    pub key_id: String,
}

pub async fn reseal(db: &Db, secret: &ServerSecret) -> Result<Resealed, AdminError> {
    // One transaction: a seed that no accepted secret opens stops it with nothing changed.
    let mut tx = db.begin().await?;
    let mut totp_seeds = 0;
    for (id, sealed) in factors::sealed_seeds(&mut tx).await? {
        match totp::reseal_seed(secret, &sealed) {
            Some(None) => {}
            Some(Some(fresh)) => {
                factors::set_sealed_seed(&mut tx, &id, &fresh).await?;
                totp_seeds += 1;
            }
            None => {
                return Err(AdminError::Invalid(format!(
                    "the TOTP seed of factor {id} does not open under secrets.key or secrets.previous; nothing was re-sealed"
                )));
            }
        }
    }
    tx.commit().await?;
    // Its own transaction; should a key not open, the seeds above stay re-sealed, which is
    // harmless (the old key is still in `secrets.previous`).
    let signing_keys = key_store::reseal(db, secret).await?;
    tracing::info!(
        signing_keys,
        totp_seeds,
        "re-sealed under the current server secret"
    );
    Ok(Resealed {
        signing_keys,
        totp_seeds,
        key_id: secret.key_id(),
    })
}
