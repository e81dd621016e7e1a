//! Trusted devices ("Trust this device"): a random token in an HttpOnly cookie (the web layer
//! sets and reads it and hands its value in), its SHA-256 in the database. A device vouches only
//! while the user's factors are exactly the set it was trusted under ([`factor_set`]).

use crate::ids::UserId;
use serde_json::json;

use super::MfaDeps;
use super::service::record;
use crate::crypto::random;
use crate::model::TrustPolicy;
use crate::store::clients::Client;
use crate::store::tenants::Tenant;
use crate::store::users::User;
use crate::store::{Conn, StoreResult, devices, factors};

/// The user's factor set as one value: SHA-256 over the sorted factor ids. Adding, removing or
/// resetting a factor changes it (new factors get new ids), so a trusted device created under
/// one set never vouches under another.
pub async fn factor_set(conn: impl Into<Conn<'_>>, user_id: &UserId) -> StoreResult<String> {
    let mut ids: Vec<String> = factors::list_for_user(conn, user_id)
        .await?
        .into_iter()
        .map(|f| f.id)
        .collect();
    ids.sort();
    Ok(random::sha256_hex(&ids.join(",")))
}

/// Whether `token` (the device cookie's value, if the browser sent one) is a valid trusted
/// device of this user, trusted under the user's current factor set.
pub async fn trusted(
    deps: &MfaDeps<'_>,
    token: Option<&str>,
    user_id: &UserId,
) -> StoreResult<bool> {
    let Some(token) = token else {
        return Ok(false);
    };
    let set = factor_set(deps.db, user_id).await?;
    let hash = random::sha256_hex(token);
    Ok(devices::find_valid(deps.db, user_id, &hash, &set, deps.now)
        .await?
        .is_some())
}

/// Whether a trusted device stands in for the second factor for `client` here: the tenant has
/// trusted devices on, the client's trust policy accepts them (the rule `policy::decide` and
/// the login's "Trust this device" apply) and `token` is a valid one.
pub async fn vouches(
    deps: &MfaDeps<'_>,
    token: Option<&str>,
    tenant: &Tenant,
    client: &Client,
    user_id: &UserId,
) -> StoreResult<bool> {
    if tenant.trusted_device_days <= 0 || client.trust_policy != TrustPolicy::Any {
        return Ok(false);
    }
    trusted(deps, token, user_id).await
}

/// Remembers this browser for the user; returns the cookie token (the database keeps its hash).
/// The device, under the factor set read in the same transaction, and its audit event commit
/// together.
pub async fn trust(
    deps: &MfaDeps<'_>,
    tenant: &Tenant,
    user: &User,
    user_agent: Option<&str>,
) -> StoreResult<String> {
    let token = random::token(32);
    let mut tx = deps.db.begin().await?;
    let set = factor_set(&mut tx, &user.id).await?;
    devices::create(
        &mut tx,
        devices::NewDevice {
            tenant_id: &tenant.id,
            user_id: &user.id,
            token_hash: &random::sha256_hex(&token),
            user_agent,
            factor_set: &set,
            now: deps.now,
            expires_at: deps.now + tenant.trusted_device_days * 86_400,
        },
    )
    .await?;
    let actor = format!("user:{}", user.id);
    record(
        &mut tx,
        tenant,
        user,
        &actor,
        "mfa.device_trusted",
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// Revokes one of the user's trusted devices, with its audit event, in one transaction. False
/// when the user has no such live device.
pub async fn revoke(
    deps: &MfaDeps<'_>,
    tenant: &Tenant,
    user: &User,
    actor: &str,
    device_id: &str,
) -> StoreResult<bool> {
    let mut tx = deps.db.begin().await?;
    if !devices::revoke(&mut tx, &user.id, device_id, deps.now).await? {
        return Ok(false);
    }
    record(
        &mut tx,
        tenant,
        user,
        actor,
        "mfa.device_revoked",
        json!({ "device_id": device_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
