//! Creating and revoking admin API keys (the CLI now; the console later). The plain key is
//! returned once and never stored.

use serde_json::json;

use super::{AdminError, AdminResult};
use crate::crypto::random;
use crate::model::{ApiRole, now};
use crate::store::api_keys::{self, ApiKey};
use crate::store::{Db, audit, tenants};

/// Keys say what they are: `gh_` and 43 base64url characters (256 bits).
pub const PREFIX: &str = "gh_";

pub struct CreatedKey {
    pub key: ApiKey,
    pub secret: String,
}

pub fn hash(presented: &str) -> String {
    random::sha256_hex(presented)
}

pub async fn create(
    db: &Db,
    actor: &str,
    tenant_slug: Option<&str>,
    role: ApiRole,
    name: &str,
) -> AdminResult<CreatedKey> {
    let tenant = match tenant_slug {
        Some(s) => Some(tenants::get_by_slug(db, s).await?),
        None => None,
    };
    if role == ApiRole::TenantAdmin && tenant.is_none() {
        return Err(AdminError::Invalid(
            "--role tenant-admin needs --tenant SLUG (the one tenant it may change)".into(),
        ));
    }
    let secret = format!("{PREFIX}{}", random::token(32));
    let key = api_keys::create(
        db,
        &hash(&secret),
        tenant.as_ref().map(|t| &t.id),
        role,
        name.trim(),
        now(),
    )
    .await?;
    audit::record(
        db,
        audit::NewEvent {
            tenant_id: tenant.as_ref().map(|t| &t.id),
            actor,
            event: "api_key.created",
            detail: json!({ "key_id": key.id, "role": role }),
            ..Default::default()
        },
    )
    .await?;
    Ok(CreatedKey { key, secret })
}

pub async fn revoke(db: &Db, actor: &str, id: &str) -> AdminResult<()> {
    api_keys::revoke(db, id, now()).await?;
    audit::record(
        db,
        audit::NewEvent {
            actor,
            event: "api_key.revoked",
            detail: json!({ "key_id": id }),
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}
