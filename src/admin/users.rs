use serde_json::json;

use super::{AdminError, AdminResult};
use crate::crypto::password::PasswordHasherPool;
use crate::store::users::{self, NewUser, User};
use crate::store::{Db, audit, tenants};

#[derive(Debug, Clone, Default)]
pub struct UserRequest {
    pub email: String,
    pub username: Option<String>,
    pub name: Option<String>,
    pub email_verified: bool,
}

pub async fn create(
    db: &Db,
    passwords: &PasswordHasherPool,
    actor: &str,
    tenant_slug: &str,
    req: UserRequest,
    password: &str,
) -> AdminResult<User> {
    let tenant = tenants::get_by_slug(db, tenant_slug).await?;
    let email = users::normalize_email(&req.email);
    users::validate_email(&email).map_err(AdminError::Invalid)?;
    if let Some(u) = &req.username
        && (u.trim().is_empty() || u.contains('@') || u.len() > 64)
    {
        return Err(AdminError::Invalid(format!(
            "invalid username `{u}`: expected up to 64 characters without @"
        )));
    }
    let password_hash = passwords.hash(password).await?;
    let user = users::create(
        db,
        &NewUser {
            tenant_id: tenant.id.clone(),
            email,
            username: req.username.map(|u| u.trim().to_owned()),
            name: req.name,
            email_verified: req.email_verified,
            password_hash,
        },
    )
    .await?;
    audit::record(
        db,
        audit::NewEvent {
            tenant_id: Some(&tenant.id),
            user_id: Some(&user.id),
            actor,
            event: "user.created",
            detail: json!({ "email": user.email }),
            ..Default::default()
        },
    )
    .await?;
    Ok(user)
}
