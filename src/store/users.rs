//! Users: email unique per tenant (stored lowercased), optional username, argon2id PHC hash.

use crate::ids::{TenantId, UserId};
use serde::Serialize;

use super::{Db, StoreError, StoreResult, conflict, new_id};
use crate::model::now;
use crate::profile::{Profile, ProfileEdit};
use crate::with_db;

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub email: String,
    pub username: Option<String>,
    pub name: Option<String>,
    pub email_verified: bool,
    /// E.164 (`+12015550100`).
    pub phone: Option<String>,
    pub phone_verified: bool,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub locked: bool,
    /// Self-registered and not verified yet: may not sign in to a client.
    pub pending_verification: bool,
    /// An admin asked for a new password at the next sign-in.
    pub password_change_required: bool,
    pub created_at: i64,
    /// Moves with every change of the row; the `updated_at` claim (OIDC Core §5.1).
    pub updated_at: i64,
    /// Bumped by every change of the row (migration 0020): the admin API's `ETag`.
    pub version: i64,
    /// The other standard claims (migration 0018).
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub profile: Profile,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub tenant_id: TenantId,
    pub email: String,
    pub username: Option<String>,
    pub name: Option<String>,
    pub email_verified: bool,
    /// E.164, already parsed (`crate::phone`).
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub password_hash: String,
    /// A self-registration, which signs in only once its email is verified.
    pub pending_verification: bool,
}

/// The column list every query of this file selects, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "id, tenant_id, email, username, name, email_verified, phone, phone_verified, \
                       password_hash, locked, pending_verification, password_change_required, \
                       created_at, updated_at, given_name, family_name, middle_name, nickname, \
                       profile, picture, website, gender, birthdate, zoneinfo, locale, address, \
                       version"
    };
}

/// Emails compare case-insensitively; the stored form is trimmed and lowercased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A pragmatic shape check (one `@`, something on each side, a dot in the domain). Deliverability
/// is proven later by the email-verification code, not by a regex.
pub fn validate_email(email: &str) -> Result<(), String> {
    let bad = || format!("invalid email `{email}`: expected name@example.com");
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.len() < 3
        || !domain.contains('.')
        || domain.contains('@')
        || email.chars().any(char::is_whitespace)
        || email.len() > 254
    {
        return Err(bad());
    }
    Ok(())
}

pub async fn create(db: &Db, u: &NewUser) -> StoreResult<User> {
    let sql = concat!(
        "INSERT INTO users (id, tenant_id, email, username, name, email_verified, password_hash, \
         created_at, updated_at, phone, phone_verified, pending_verification) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11) RETURNING ",
        columns!(),
        ""
    );
    with_db!(db, |pool| sqlx::query_as::<_, User>(sql)
        .bind(new_id())
        .bind(&u.tenant_id)
        .bind(normalize_email(&u.email))
        .bind(u.username.as_deref())
        .bind(u.name.as_deref())
        .bind(u.email_verified)
        .bind(&u.password_hash)
        .bind(now())
        .bind(u.phone.as_deref())
        .bind(u.phone_verified)
        .bind(u.pending_verification)
        .fetch_one(pool)
        .await
        .map_err(|e| conflict(
            e,
            "a user with this email or username already exists in this tenant"
        )))
}

/// Finds a user by email or username (sign-in accepts either).
pub async fn find_by_login(
    db: &Db,
    tenant_id: &TenantId,
    login: &str,
) -> StoreResult<Option<User>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM users WHERE tenant_id = $1 AND (email = $2 OR username = $3)"
    );
    with_db!(db, |pool| Ok(sqlx::query_as::<_, User>(sql)
        .bind(tenant_id)
        .bind(normalize_email(login))
        .bind(login.trim())
        .fetch_optional(pool)
        .await?))
}

pub async fn get(db: &Db, tenant_id: &TenantId, user_id: &UserId) -> StoreResult<User> {
    find_by_id(db, tenant_id, user_id)
        .await?
        .ok_or_else(|| StoreError::NotFound("unknown user".into()))
}

/// The tenant's user with this id, if there is one.
pub async fn find_by_id(
    db: &Db,
    tenant_id: &TenantId,
    user_id: &UserId,
) -> StoreResult<Option<User>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM users WHERE tenant_id = $1 AND id = $2"
    );
    with_db!(db, |pool| Ok(sqlx::query_as::<_, User>(sql)
        .bind(tenant_id)
        .bind(user_id)
        .fetch_optional(pool)
        .await?))
}

pub async fn list(db: &Db, tenant_id: &TenantId) -> StoreResult<Vec<User>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM users WHERE tenant_id = $1 ORDER BY email"
    );
    with_db!(db, |pool| Ok(sqlx::query_as::<_, User>(sql)
        .bind(tenant_id)
        .fetch_all(pool)
        .await?))
}

/// What a user search keeps; every field narrows it.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Exact, already normalised.
    pub email: Option<String>,
    /// Exact.
    pub username: Option<String>,
    /// A prefix of the email, or (case-insensitive) of the username.
    pub prefix: Option<String>,
    /// With at least one factor (`true`) or none (`false`).
    pub enrolled: Option<bool>,
    pub locked: Option<bool>,
    /// Emails after this one (the last of the previous page).
    pub after: Option<String>,
}

/// One page of the tenant's users matching `f`, by email, in one query (the MFA filter is an
/// EXISTS over the factors, so a page costs the same however many users the tenant has).
pub async fn search(
    db: &Db,
    tenant_id: &TenantId,
    f: &Search,
    limit: i64,
) -> StoreResult<Vec<User>> {
    let prefix = f
        .prefix
        .as_ref()
        .map(|p| format!("{}%", super::escape_like(p)));
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM users WHERE tenant_id = $1 AND ($2 IS NULL OR email = $2) \
         AND ($3 IS NULL OR username = $3) \
         AND ($4 IS NULL OR email LIKE $4 ESCAPE '\\' OR LOWER(username) LIKE $4 ESCAPE '\\') \
         AND ($5 IS NULL OR email > $5) AND ($6 IS NULL OR locked = $6) \
         AND ($7 IS NULL OR EXISTS (SELECT 1 FROM factors f WHERE f.user_id = users.id) = $7) \
         ORDER BY email LIMIT $8"
    );
    with_db!(db, |pool| Ok(sqlx::query_as::<_, User>(sql)
        .bind(tenant_id)
        .bind(f.email.as_deref())
        .bind(f.username.as_deref())
        .bind(prefix.as_deref())
        .bind(f.after.as_deref())
        .bind(f.locked)
        .bind(f.enrolled)
        .bind(limit)
        .fetch_all(pool)
        .await?))
}

/// A new password; a demanded change is done with it.
pub async fn set_password_hash(db: &Db, user_id: &UserId, hash: &str) -> StoreResult<()> {
    with_db!(db, |pool| sqlx::query(
        "UPDATE users SET password_hash = $2, updated_at = $3, password_change_required = FALSE, \
         version = version + 1 WHERE id = $1"
    )
    .bind(user_id)
    .bind(hash)
    .bind(now())
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}

/// The account's mailbox was proven (a registration's verification too: it may sign in now).
pub async fn mark_email_verified(db: &Db, user_id: &UserId) -> StoreResult<()> {
    with_db!(db, |pool| sqlx::query(
        "UPDATE users SET email_verified = TRUE, pending_verification = FALSE, updated_at = $2, \
         version = version + 1 WHERE id = $1"
    )
    .bind(user_id)
    .bind(now())
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}

/// The account's new address, proven by the code sent to it (so verified). An address another
/// account of the tenant has is a conflict, decided by the unique index, not by a look first.
pub async fn set_email(db: &Db, user_id: &UserId, email: &str) -> StoreResult<()> {
    with_db!(db, |pool| sqlx::query(
        "UPDATE users SET email = $2, email_verified = TRUE, pending_verification = FALSE, \
         updated_at = $3, version = version + 1 WHERE id = $1"
    )
    .bind(user_id)
    .bind(normalize_email(email))
    .bind(now())
    .execute(pool)
    .await
    .map_err(|e| conflict(e, "another account has this email address"))?
    .rows_affected());
    Ok(())
}

/// What changes on a user; `None` leaves it. `phone: Some(None)` removes the number; the
/// profile's `Some("")` removes that value (`profile::ProfileEdit`, already validated).
#[derive(Debug, Default, Clone)]
pub struct ProfileChanges {
    pub profile: ProfileEdit,
    pub phone: Option<Option<String>>,
    pub phone_verified: Option<bool>,
    pub email_verified: Option<bool>,
    /// A locked user cannot sign in, refresh, or use a token at userinfo.
    pub locked: Option<bool>,
    /// Demand (or no longer demand) a new password at the next sign-in.
    pub password_change_required: Option<bool>,
    /// `If-Match`: apply only to this version of the row.
    pub expected_version: Option<i64>,
}

/// One statement, so concurrent changes to different fields do not undo each other. A text
/// value `$n` is `NULL` to keep the column, `''` to empty it (stored as NULL), else the value.
/// A username someone else has is a conflict. With `expected_version` the version check is
/// part of the statement, so of two writers holding the same version one gets `Stale`.
pub async fn update_profile(db: &Db, user_id: &str, c: &ProfileChanges) -> StoreResult<()> {
    // A new number is unverified unless the change says otherwise.
    let verified = c.phone_verified.or(c.phone.as_ref().map(|_| false));
    let p = &c.profile;
    let done = with_db!(db, |pool| sqlx::query(
        "UPDATE users SET \
         phone = CASE WHEN $2 THEN $3 ELSE phone END, \
         phone_verified = COALESCE($4, phone_verified), updated_at = $5, \
         locked = COALESCE($6, locked), email_verified = COALESCE($7, email_verified), \
         name = CASE WHEN $8 IS NULL THEN name ELSE NULLIF($8, '') END, \
         username = CASE WHEN $9 IS NULL THEN username ELSE NULLIF($9, '') END, \
         given_name = CASE WHEN $10 IS NULL THEN given_name ELSE NULLIF($10, '') END, \
         family_name = CASE WHEN $11 IS NULL THEN family_name ELSE NULLIF($11, '') END, \
         middle_name = CASE WHEN $12 IS NULL THEN middle_name ELSE NULLIF($12, '') END, \
         nickname = CASE WHEN $13 IS NULL THEN nickname ELSE NULLIF($13, '') END, \
         profile = CASE WHEN $14 IS NULL THEN profile ELSE NULLIF($14, '') END, \
         picture = CASE WHEN $15 IS NULL THEN picture ELSE NULLIF($15, '') END, \
         website = CASE WHEN $16 IS NULL THEN website ELSE NULLIF($16, '') END, \
         gender = CASE WHEN $17 IS NULL THEN gender ELSE NULLIF($17, '') END, \
         birthdate = CASE WHEN $18 IS NULL THEN birthdate ELSE NULLIF($18, '') END, \
         zoneinfo = CASE WHEN $19 IS NULL THEN zoneinfo ELSE NULLIF($19, '') END, \
         locale = CASE WHEN $20 IS NULL THEN locale ELSE NULLIF($20, '') END, \
         address = CASE WHEN $21 IS NULL THEN address ELSE NULLIF($21, '') END, \
         password_change_required = COALESCE($22, password_change_required), \
         version = version + 1 \
         WHERE id = $1 AND ($23 IS NULL OR version = $23)"
    )
    .bind(user_id)
    .bind(c.phone.is_some())
    .bind(c.phone.clone().flatten())
    .bind(verified)
    .bind(now())
    .bind(c.locked)
    .bind(c.email_verified)
    .bind(p.name.as_deref())
    .bind(p.username.as_deref())
    .bind(p.given_name.as_deref())
    .bind(p.family_name.as_deref())
    .bind(p.middle_name.as_deref())
    .bind(p.nickname.as_deref())
    .bind(p.profile.as_deref())
    .bind(p.picture.as_deref())
    .bind(p.website.as_deref())
    .bind(p.gender.as_deref())
    .bind(p.birthdate.as_deref())
    .bind(p.zoneinfo.as_deref())
    .bind(p.locale.as_deref())
    .bind(p.address.as_deref())
    .bind(c.password_change_required)
    .bind(c.expected_version)
    .execute(pool)
    .await
    .map_err(|e| conflict(e, "this username is taken in this tenant"))?
    .rows_affected());
    match (done, c.expected_version) {
        (0, Some(v)) => Err(StoreError::Stale(format!("user changed since version {v}"))),
        // Gone meanwhile: nothing to change, as before versions.
        _ => Ok(()),
    }
}

/// Deletes a user of the tenant; their factors, devices, recovery codes, sessions and consents
/// go with them (foreign keys, `ON DELETE CASCADE`). False when there was none.
pub async fn delete(db: &Db, tenant_id: &TenantId, user_id: &UserId) -> StoreResult<bool> {
    let done = with_db!(db, |pool| sqlx::query(
        "DELETE FROM users WHERE tenant_id = $1 AND id = $2"
    )
    .bind(tenant_id)
    .bind(user_id)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(done > 0)
}

/// A code texted to `e164` was read back: the number is verified when it is the user's, and
/// becomes the user's number when they had none (docs/mfa.md). Another number leaves the
/// profile as it is.
pub async fn mark_phone_verified(db: &Db, user_id: &str, e164: &str) -> StoreResult<()> {
    with_db!(db, |pool| sqlx::query(
        "UPDATE users SET phone = $2, phone_verified = TRUE, updated_at = $3, \
         version = version + 1 WHERE id = $1 AND (phone IS NULL OR phone = $2)"
    )
    .bind(user_id)
    .bind(e164)
    .bind(now())
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}
