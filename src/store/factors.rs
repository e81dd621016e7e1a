//! Enrolled second factors. The TOTP seed is sealed (see `crypto::seal`); `last_step` makes a
//! TOTP code single-use: it only moves forward, in one conditional UPDATE.

use crate::ids::{TenantId, UserId};
use serde::Serialize;

use super::{Conn, Db, StoreError, StoreResult, new_id};
use crate::model::MfaMethod;
use crate::{with_conn, with_db};

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Factor {
    pub id: String,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    #[sqlx(try_from = "String")]
    pub kind: MfaMethod,
    pub label: String,
    #[serde(skip)]
    pub secret_sealed: Option<String>,
    #[serde(skip)]
    pub last_step: Option<i64>,
    pub target: Option<String>,
    #[serde(skip)]
    pub credential: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

macro_rules! columns {
    () => {
        "id, tenant_id, user_id, kind, label, secret_sealed, last_step, target, credential, \
         created_at, last_used_at"
    };
}

pub struct NewFactor<'a> {
    pub tenant_id: &'a TenantId,
    pub user_id: &'a UserId,
    pub kind: MfaMethod,
    pub label: &'a str,
    pub secret_sealed: Option<&'a str>,
    pub last_step: Option<i64>,
    pub target: Option<&'a str>,
    /// A WebAuthn credential (JSON, `mfa::webauthn`).
    pub credential: Option<&'a str>,
    pub now: i64,
}

pub async fn create(conn: impl Into<Conn<'_>>, f: NewFactor<'_>) -> StoreResult<Factor> {
    let sql = concat!(
        "INSERT INTO factors (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10, $9, $9) RETURNING ",
        columns!()
    );
    with_conn!(conn.into(), |c| Ok(sqlx::query_as::<_, Factor>(sql)
        .bind(new_id())
        .bind(f.tenant_id)
        .bind(f.user_id)
        .bind(f.kind.as_str())
        .bind(f.label)
        .bind(f.secret_sealed)
        .bind(f.last_step)
        .bind(f.target)
        .bind(f.now)
        .bind(f.credential)
        .fetch_one(c)
        .await?))
}

pub async fn list_for_user(
    conn: impl Into<Conn<'_>>,
    user_id: &UserId,
) -> StoreResult<Vec<Factor>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM factors WHERE user_id = $1 ORDER BY created_at, id"
    );
    with_conn!(conn.into(), |c| Ok(sqlx::query_as::<_, Factor>(sql)
        .bind(user_id)
        .fetch_all(c)
        .await?))
}

pub async fn get(db: &Db, user_id: &UserId, id: &str) -> StoreResult<Factor> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM factors WHERE user_id = $1 AND id = $2"
    );
    let f = with_db!(db, |pool| sqlx::query_as::<_, Factor>(sql)
        .bind(user_id)
        .bind(id)
        .fetch_optional(pool)
        .await?);
    f.ok_or_else(|| StoreError::NotFound("unknown factor".into()))
}

/// Records a TOTP use at `step`; false when that step (or a later one) was already used, i.e. a
/// replayed code. Atomic, so two concurrent submissions of one code cannot both pass.
pub async fn accept_step(db: &Db, id: &str, step: i64, now: i64) -> StoreResult<bool> {
    let n = with_db!(db, |pool| sqlx::query(
        "UPDATE factors SET last_step = $2, last_used_at = $3 \
         WHERE id = $1 AND (last_step IS NULL OR last_step < $2)"
    )
    .bind(id)
    .bind(step)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(n == 1)
}

/// Records a use of a factor whose code was checked elsewhere (an emailed code).
pub async fn touch(db: &Db, id: &str, now: i64) -> StoreResult<()> {
    with_db!(db, |pool| sqlx::query(
        "UPDATE factors SET last_used_at = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}

pub async fn rename(
    conn: impl Into<Conn<'_>>,
    user_id: &UserId,
    id: &str,
    label: &str,
) -> StoreResult<bool> {
    let n = with_conn!(conn.into(), |c| sqlx::query(
        "UPDATE factors SET label = $3 WHERE user_id = $1 AND id = $2"
    )
    .bind(user_id)
    .bind(id)
    .bind(label)
    .execute(c)
    .await?
    .rows_affected());
    Ok(n == 1)
}

pub async fn delete(conn: impl Into<Conn<'_>>, user_id: &UserId, id: &str) -> StoreResult<bool> {
    let n = with_conn!(conn.into(), |c| sqlx::query(
        "DELETE FROM factors WHERE user_id = $1 AND id = $2"
    )
    .bind(user_id)
    .bind(id)
    .execute(c)
    .await?
    .rows_affected());
    Ok(n == 1)
}

pub async fn delete_all_for_user(conn: impl Into<Conn<'_>>, user_id: &UserId) -> StoreResult<u64> {
    Ok(with_conn!(conn.into(), |c| sqlx::query(
        "DELETE FROM factors WHERE user_id = $1"
    )
    .bind(user_id)
    .execute(c)
    .await?
    .rows_affected()))
}

/// The tenant's users, and how many of them have at least one factor, in total and of each
/// kind (one query each; the adoption report).
pub async fn adoption(
    db: &Db,
    tenant_id: &TenantId,
) -> StoreResult<(i64, i64, Vec<(String, i64)>)> {
    let users = with_db!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM users WHERE tenant_id = $1"
    )
    .bind(tenant_id)
    .fetch_one(pool)
    .await?);
    let enrolled = with_db!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(DISTINCT user_id) FROM factors WHERE tenant_id = $1"
    )
    .bind(tenant_id)
    .fetch_one(pool)
    .await?);
    let by_kind = with_db!(db, |pool| sqlx::query_as::<_, (String, i64)>(
        "SELECT kind, COUNT(DISTINCT user_id) FROM factors WHERE tenant_id = $1 GROUP BY kind"
    )
    .bind(tenant_id)
    .fetch_all(pool)
    .await?);
    Ok((users, enrolled, by_kind))
}

/// Each user of the tenant: when they were created and when their oldest current factor was
/// added (`None`: no factor). The console's "enrolled over time" chart is drawn from it.
pub async fn enrolment_times(
    db: &Db,
    tenant_id: &TenantId,
) -> StoreResult<Vec<(i64, Option<i64>)>> {
    Ok(with_db!(db, |pool| {
        sqlx::query_as::<_, (i64, Option<i64>)>(
            "SELECT u.created_at, (SELECT MIN(f.created_at) FROM factors f WHERE f.user_id = u.id) \
         FROM users u WHERE u.tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_all(pool)
        .await?
    }))
}

/// Every sealed TOTP seed (for `gatehouse secrets reseal`), inside the caller's transaction.
pub async fn sealed_seeds(tx: &mut super::Tx) -> StoreResult<Vec<(String, String)>> {
    Ok(crate::with_tx!(tx, |c| sqlx::query_as(
        "SELECT id, secret_sealed FROM factors WHERE secret_sealed IS NOT NULL ORDER BY id"
    )
    .fetch_all(&mut *c)
    .await?))
}

pub async fn set_sealed_seed(tx: &mut super::Tx, id: &str, sealed: &str) -> StoreResult<()> {
    crate::with_tx!(tx, |c| sqlx::query(
        "UPDATE factors SET secret_sealed = $1 WHERE id = $2"
    )
    .bind(sealed)
    .bind(id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(())
}

/// The factor holding credential `credential_id` (base64url) in this tenant.
pub async fn factor_of_credential(
    db: &Db,
    tenant_id: &TenantId,
    credential_id: &str,
) -> StoreResult<Option<Factor>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM factors WHERE tenant_id = $1 AND kind = $2 AND target = $3"
    );
    with_db!(db, |pool| Ok(sqlx::query_as::<_, Factor>(sql)
        .bind(tenant_id)
        .bind(MfaMethod::Webauthn.as_str())
        .bind(credential_id)
        .fetch_optional(pool)
        .await?))
}

/// Stores a credential after an assertion (its counter and backup state moved), only if it is
/// still the one that assertion was checked against: of two assertions of one credential at
/// the same instant, one is recorded and the other refused (`false`), so a cloned
/// authenticator cannot slip a stale counter past the check.
pub async fn update_credential(
    db: &Db,
    factor_id: &str,
    checked: &str,
    updated: &str,
    now: i64,
) -> StoreResult<bool> {
    let n = with_db!(db, |pool| {
        sqlx::query(
        "UPDATE factors SET credential = $3, last_used_at = $4 WHERE id = $1 AND credential = $2"
    )
    .bind(factor_id)
    .bind(checked)
    .bind(updated)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected()
    });
    Ok(n == 1)
}
