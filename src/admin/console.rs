//! The admin console's people: the system tenant they sign in to and who among its users is
//! an admin of what (`gatehouse admin create`, `serve --demo`). The console itself is in
//! `crate::console`.

use serde_json::json;

use super::{AdminError, AdminResult};
use crate::crypto::password::PasswordHasherPool;
use crate::model::{TenantMfaPolicy, now};
use crate::store::console;
use crate::store::tenants::{self, Tenant};
use crate::store::users::{self, User};
use crate::store::{Db, StoreError, audit};

/// The slug of the tenant console admins sign in to. Reserved: `tenant create system` makes
/// the system tenant early, nothing else.
pub const SYSTEM_SLUG: &str = "system";

/// The system tenant, created on first use: MFA required, so every admin has a second factor
/// (a new admin sets one up at the first sign-in).
pub async fn system_tenant(db: &Db) -> AdminResult<Tenant> {
    if let Some(t) = tenants::find_by_slug(db, SYSTEM_SLUG).await? {
        return Ok(t);
    }
    let made = super::tenants::create(
        db,
        "system",
        SYSTEM_SLUG,
        Some("Gatehouse administration"),
        TenantMfaPolicy::Required,
        false,
    )
    .await;
    match made {
        Ok(t) => Ok(t),
        // Another node (or process) made it at the same moment.
        Err(AdminError::Store(StoreError::Conflict(_))) => {
            Ok(tenants::get_by_slug(db, SYSTEM_SLUG).await?)
        }
        Err(e) => Err(e),
    }
}

pub struct ConsoleAdmin {
    pub user: User,
    /// `None`: every tenant.
    pub tenant: Option<Tenant>,
    /// False when the address was already a user of the system tenant (its password is then
    /// replaced by the one given).
    pub created: bool,
}

/// Makes `email` a console admin of every tenant, or of `tenant_slug` only.
pub async fn create_admin(
    db: &Db,
    passwords: &PasswordHasherPool,
    actor: &str,
    email: &str,
    password: &str,
    tenant_slug: Option<&str>,
) -> AdminResult<ConsoleAdmin> {
    let system = system_tenant(db).await?;
    let tenant = match tenant_slug {
        Some(SYSTEM_SLUG) => {
            return Err(AdminError::Invalid(
                "--tenant system: an admin of the system tenant is a platform admin; leave --tenant out"
                    .into(),
            ));
        }
        Some(slug) => Some(tenants::get_by_slug(db, slug).await?),
        None => None,
    };
    crate::password_policy::check(password, &[email])
        .map_err(|e| AdminError::Invalid(format!("password: {e}")))?;
    let (user, created) = match users::find_by_login(db, &system.id, email).await? {
        Some(u) => {
            let hash = passwords.hash(password).await?;
            users::set_password_hash(db, &u.id, &hash).await?;
            (u, false)
        }
        None => {
            let req = super::users::UserRequest {
                email: email.into(),
                email_verified: true,
                ..Default::default()
            };
            let u = super::users::create(db, passwords, actor, SYSTEM_SLUG, req, password).await?;
            (u, true)
        }
    };
    console::grant(db, &user.id, tenant.as_ref().map(|t| &t.id), now()).await?;
    audit::record(
        db,
        audit::NewEvent {
            tenant_id: Some(&system.id),
            user_id: Some(&user.id),
            actor,
            event: "console.admin_granted",
            detail: json!({ "tenant": tenant.as_ref().map(|t| &t.slug) }),
            ..Default::default()
        },
    )
    .await?;
    Ok(ConsoleAdmin {
        user,
        tenant,
        created,
    })
}
