//! Recovery codes: 60 random bits each (12 base32 characters, shown as `xxxx-xxxx-xxxx`),
//! displayed once, stored as an HMAC under the server secret (a leaked table cannot be brute
//! forced offline), single use. A new set replaces the old one; spending one notifies the user.

use serde_json::json;

use super::MfaDeps;
use super::service::record;
use crate::crypto::secret::ServerSecret;
use crate::notify::mail::MailKind;
use crate::store::tenants::Tenant;
use crate::store::users::User;
use crate::store::{StoreResult, Tx, recovery_codes};

const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789"; // 32 symbols, no 0/o/1/l

pub fn generate(count: usize) -> Vec<String> {
    (0..count)
        .map(|_| {
            let mut b = [0u8; 12];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
            let s: String = b
                .iter()
                .map(|x| ALPHABET[(x & 31) as usize] as char)
                .collect();
            format!("{}-{}-{}", &s[0..4], &s[4..8], &s[8..12])
        })
        .collect()
}

/// The canonical form: lowercase, without separators or spaces.
pub fn normalize(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

const RECOVERY_MAC: &str = "recovery-code";

pub fn hash(secret: &ServerSecret, code: &str) -> String {
    secret.mac(RECOVERY_MAC, &normalize(code))
}

/// Voids the old set and stores `tenant.mfa_recovery_count` new codes inside the caller's
/// transaction; returns them, to show once.
pub(super) async fn replace_codes(
    tx: &mut Tx,
    deps: &MfaDeps<'_>,
    tenant: &Tenant,
    user: &User,
) -> StoreResult<Vec<String>> {
    let codes = generate(tenant.mfa_recovery_count.clamp(1, 16) as usize);
    let hashes: Vec<String> = codes.iter().map(|c| hash(deps.secret, c)).collect();
    recovery_codes::replace_set(tx, &tenant.id, &user.id, &hashes, deps.now).await?;
    Ok(codes)
}

/// "Generate new recovery codes": the new set (the old one stops working) and the audit event
/// in one transaction, the notice after the commit.
pub async fn regenerate(
    deps: &MfaDeps<'_>,
    tenant: &Tenant,
    user: &User,
    actor: &str,
) -> StoreResult<Vec<String>> {
    let mut tx = deps.db.begin().await?;
    tx.lock_user(&user.id).await?;
    let codes = replace_codes(&mut tx, deps, tenant, user).await?;
    record(
        &mut tx,
        tenant,
        user,
        actor,
        "mfa.recovery_codes_regenerated",
        json!({ "count": codes.len() }),
    )
    .await?;
    tx.commit().await?;
    deps.notifier
        .security_notice(tenant, user, MailKind::RecoveryCodesRegenerated)
        .await;
    Ok(codes)
}

/// Spends a recovery code. `Some(replacement)` on success, where `replacement` is a fresh code
/// when the tenant replaces codes on use. The spend, the replacement and the audit event are
/// one transaction; the notice follows the commit. Only through [`super::attempts::check`],
/// which reserves the attempt first.
pub(super) async fn spend(
    deps: &MfaDeps<'_>,
    tenant: &Tenant,
    user: &User,
    code: &str,
) -> StoreResult<Option<Option<String>>> {
    if normalize(code).len() != 12 {
        return Ok(None);
    }
    let mut tx = deps.db.begin().await?;
    // Codes hashed under a previous server secret (`secrets.previous`) still count: a rotated
    // secret must not void the codes a user keeps on paper.
    let mut spent = false;
    for h in deps.secret.macs(RECOVERY_MAC, &normalize(code)) {
        if recovery_codes::consume(&mut tx, &user.id, &h, deps.now).await? {
            spent = true;
            break;
        }
    }
    if !spent {
        return Ok(None);
    }
    let replacement = if tenant.mfa_recovery_replace_on_use {
        let fresh = generate(1).remove(0);
        let h = hash(deps.secret, &fresh);
        recovery_codes::add(&mut tx, &tenant.id, &user.id, &h, deps.now).await?;
        Some(fresh)
    } else {
        None
    };
    let remaining = recovery_codes::remaining(&mut tx, &user.id).await?;
    record(
        &mut tx,
        tenant,
        user,
        &format!("user:{}", user.id),
        "mfa.recovery_code_used",
        json!({ "remaining": remaining, "replaced": replacement.is_some() }),
    )
    .await?;
    tx.commit().await?;
    let remaining = u32::try_from(remaining).unwrap_or(0);
    deps.notifier
        .security_notice(tenant, user, MailKind::RecoveryCodeUsed { remaining })
        .await;
    Ok(Some(replacement))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_normalised() {
        let codes = generate(10);
        assert_eq!(codes.len(), 10);
        let mut u = codes.clone();
        u.sort();
        u.dedup();
        assert_eq!(u.len(), 10);
        assert_eq!(codes[0].len(), 14);
        // 12 symbols of 5 bits = 60 bits ≥ 50.
        assert_eq!(normalize(&codes[0]).len(), 12);
        assert_eq!(normalize(" ABCD-efgh-JKMN "), "abcdefghjkmn");
    }
}
