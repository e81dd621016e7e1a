//! An account's life outside the admin's hands: self-registration with email verification, the
//! new password after a reset or an admin's demand (DESIGN.md §8), and a new email address. No HTTP types: the
//! hosted pages call these, and so can the admin API.
//!
//! Neither form may tell an attacker whether an address has an account: registering an address
//! that has one mails its owner a notice instead of creating a second account, a reset for an
//! unknown address sends nothing, and both answer with the same page after the same work (the
//! password is hashed either way; mails go out in the background, so the SMTP round trip does
//! not show in the answer's timing either).

use serde_json::json;

use crate::crypto::password::PasswordError;
use crate::notify::mail::MailKind;
use crate::otp::{Codes, Link, Purpose, Recipient, Sent, mask_email};
use crate::signout::{self, Ended, OfflineGrants, Sessions};
use crate::state::AppState;
use crate::store::tenants::Tenant;
use crate::store::users::{self, NewUser, User};
use crate::store::{StoreError, audit, devices};

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] PasswordError),
}

pub type LifecycleResult<T> = Result<T, LifecycleError>;

/// What a registration form asked for; the email is normalised and its shape checked, the
/// password judged by `password_policy`, before this is called.
pub struct Registration<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub password: &'a str,
}

/// Where a code's mail links to and what it was sent for: the page that takes the token, and
/// the sign-in (authorization request, as JSON) to continue on whatever device opens it.
#[derive(Clone)]
pub struct MailLink {
    pub page: String,
    pub context: String,
    /// The network the request came from (`web::client_ip::limit_key`).
    pub ip: String,
    /// The transaction or session the resend throttle counts against.
    pub scope: String,
}

/// Creates the account, unverified, and mails its link and code; or, when the address has an
/// account already, mails that account's owner a notice. The new user, or None: the caller
/// answers the same either way.
pub async fn register(
    state: &AppState,
    tenant: &Tenant,
    r: Registration<'_>,
    link: MailLink,
    now: i64,
) -> LifecycleResult<Option<User>> {
    // Hashed whether or not the address is taken: the work, and so the timing, is the same.
    let hash = state.passwords.hash(r.password).await?;
    let email = users::normalize_email(r.email);
    let existing = users::find_by_login(&state.db, &tenant.id, &email).await?;
    let owner = match existing {
        Some(owner) => Some(owner),
        None => {
            let new = NewUser {
                tenant_id: tenant.id.clone(),
                email: email.clone(),
                username: None,
                name: r.name.map(str::to_owned),
                email_verified: false,
                phone: None,
                phone_verified: false,
                password_hash: hash,
                pending_verification: true,
            };
            match users::create(&state.db, &new).await {
                Ok(user) => {
                    let detail = json!({ "email": user.email });
                    record(state, tenant, &user, "user.registered", detail).await?;
                    spawn_code(state, tenant, &user, Purpose::Registration, link, now);
                    return Ok(Some(user));
                }
                // Registered by a concurrent form a moment ago: that is an existing account.
                Err(StoreError::Conflict(_)) => {
                    users::find_by_login(&state.db, &tenant.id, &email).await?
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    if let Some(owner) = owner {
        record(
            state,
            tenant,
            &owner,
            "user.registration_duplicate",
            json!({}),
        )
        .await?;
        spawn_notice(state, tenant, &owner, now);
    }
    Ok(None)
}

/// "Send again" on the verification page: a new link and code for the account, or (for an
/// address that had an account) the notice again, within the same throttle either way.
pub async fn resend_verification(
    state: &AppState,
    tenant: &Tenant,
    user: Option<&User>,
    owner: Option<&User>,
    link: MailLink,
    now: i64,
) -> LifecycleResult<Sent> {
    match user {
        Some(u) => send_code(state, tenant, u, Purpose::Registration, &link, now).await,
        None => {
            let sent = throttle_decoy(state, Purpose::Registration, &link.scope, now).await?;
            if let (Sent::Sent { .. }, Some(owner)) = (sent, owner) {
                spawn_notice(state, tenant, owner, now);
            }
            Ok(sent)
        }
    }
}

/// A reset asked for `user` (None: no such account, and nothing is sent). The answer is the
/// same for both, so it is not returned.
pub async fn request_reset(
    state: &AppState,
    tenant: &Tenant,
    user: Option<&User>,
    link: MailLink,
    now: i64,
) -> LifecycleResult<()> {
    let Some(user) = user else {
        return Ok(());
    };
    record(
        state,
        tenant,
        user,
        "user.password_reset_requested",
        json!({}),
    )
    .await?;
    spawn_code(state, tenant, user, Purpose::PasswordReset, link, now);
    Ok(())
}

/// "Send again" on the reset page: a new link and code when the account exists, the same
/// throttle either way. The answer says only "sent" or "wait".
pub async fn resend_reset(
    state: &AppState,
    tenant: &Tenant,
    user: Option<&User>,
    link: MailLink,
    now: i64,
) -> LifecycleResult<Sent> {
    match user {
        Some(u) => send_code(state, tenant, u, Purpose::PasswordReset, &link, now).await,
        None => throttle_decoy(state, Purpose::PasswordReset, &link.scope, now).await,
    }
}

/// The same per-transaction throttle a real send takes, for an address without an account, so
/// "Send again" answers alike.
async fn throttle_decoy(
    state: &AppState,
    purpose: Purpose,
    scope: &str,
    now: i64,
) -> LifecycleResult<Sent> {
    let limit = Codes::new(state).send_limit();
    let key = crate::otp::send_scope_key(purpose, scope);
    Ok(
        match crate::store::rate_limits::reserve(&state.db, &key, limit, now).await? {
            crate::store::rate_limits::Reservation::Granted { .. } => Sent::Sent {
                expires_at: now + state.config.otp.link_ttl_secs,
            },
            crate::store::rate_limits::Reservation::Refused { until } => Sent::Throttled {
                retry_after: (until - now).max(1),
            },
        },
    )
}

async fn send_code(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    purpose: Purpose,
    link: &MailLink,
    now: i64,
) -> LifecycleResult<Sent> {
    let codes = Codes::new(state);
    let to = Recipient {
        tenant,
        user,
        address: &user.email,
        scope: &link.scope,
        ip: Some(&link.ip),
    };
    let l = Link {
        page: &link.page,
        context: &link.context,
    };
    match codes.send_linked(purpose, to, Some(l), now).await {
        Ok(sent) => Ok(sent),
        Err(crate::otp::OtpError::Store(e)) => Err(e.into()),
        // The page says "sent" whatever the relay did (it must not differ from an address
        // without an account); the failure is logged for the operator.
        Err(e) => {
            tracing::warn!(error = %e, user_id = %user.id, purpose = purpose.as_str(), "mail not delivered");
            Ok(Sent::Sent {
                expires_at: now + state.config.otp.link_ttl_secs,
            })
        }
    }
}

/// Sends the first code in the background (see the module comment on timing).
fn spawn_code(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    purpose: Purpose,
    link: MailLink,
    now: i64,
) {
    let (state, tenant, user) = (state.clone(), tenant.clone(), user.clone());
    tokio::spawn(async move {
        if let Err(e) = send_code(&state, &tenant, &user, purpose, &link, now).await {
            tracing::warn!(error = %e, purpose = purpose.as_str(), "code not issued");
        }
    });
}

/// "Someone tried to create an account with your address", in the background, at most once
/// per resend interval per account.
fn spawn_notice(state: &AppState, tenant: &Tenant, owner: &User, now: i64) {
    let (state, tenant, owner) = (state.clone(), tenant.clone(), owner.clone());
    tokio::spawn(async move {
        let key = format!("registration:notice:{}", owner.id);
        let limit = Codes::new(&state).send_limit();
        match crate::store::rate_limits::reserve(&state.db, &key, limit, now).await {
            Ok(crate::store::rate_limits::Reservation::Granted { .. }) => {
                state
                    .notifier
                    .security_notice(&tenant, &owner, MailKind::AccountExists)
                    .await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "registration notice not sent"),
        }
    });
}

/// The registration's email is verified: the account may sign in from now on.
pub async fn verified(state: &AppState, tenant: &Tenant, user: &User) -> LifecycleResult<()> {
    users::mark_email_verified(&state.db, &user.id).await?;
    record(
        state,
        tenant,
        user,
        "user.email_verified",
        json!({ "by": "registration" }),
    )
    .await?;
    Ok(())
}

/// The account's email becomes `new` (already normalised, and proven by the code the user
/// read there): the sign-in name and the `email` claim change, sessions stay (the change was
/// made in one, after a fresh sign-in). The old address hears of it, masked, so its owner can
/// act if it was not them; the audit event keeps both addresses masked.
/// `Err(Store(Conflict))`: another account of the tenant has the address.
pub async fn change_email(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    new: &str,
) -> LifecycleResult<()> {
    users::set_email(&state.db, &user.id, new).await?;
    let detail = json!({ "from": mask_email(&user.email), "to": mask_email(new) });
    record(state, tenant, user, "user.email_changed", detail).await?;
    let notice = MailKind::EmailChanged {
        new_address: mask_email(new),
    };
    // `user` still holds the old address: that is where the notice goes.
    state.notifier.security_notice(tenant, user, notice).await;
    Ok(())
}

/// Why a new password is set, which decides what else ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange<'a> {
    /// A reset. `factor_passed`: a second factor was passed in it, so the user's trusted
    /// devices may stay; otherwise they go with the old password.
    Reset { factor_passed: bool },
    /// An admin's demand, met while signing in; `continuing`: the session this sign-in goes
    /// on with (a step-up), which stays.
    Required { continuing: Option<&'a str> },
    /// The user changed it on the account pages, signed in as `keep`, which stays.
    Changed { keep: &'a str },
}

/// Sets the new password (already judged by `password_policy`): every SSO session of the user
/// ends and the grants bound to them are revoked (offline grants stay, DESIGN.md §5), the user
/// is told by mail, and the audit log says so. What the sessions' clients should hear by
/// back-channel logout is returned.
pub async fn set_password(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    password: &str,
    why: PasswordChange<'_>,
    now: i64,
) -> LifecycleResult<Ended> {
    let hash = state.passwords.hash(password).await?;
    users::set_password_hash(&state.db, &user.id, &hash).await?;
    let which = match why {
        PasswordChange::Required {
            continuing: Some(keep),
        }
        | PasswordChange::Changed { keep } => Sessions::AllBut(keep),
        _ => Sessions::All,
    };
    let ended = signout::end_user_sessions(
        &state.db,
        &tenant.id,
        &user.id,
        which,
        OfflineGrants::Keep,
        now,
    )
    .await?;
    let devices_revoked = match why {
        PasswordChange::Reset {
            factor_passed: false,
        } => devices::revoke_all_for_user(&state.db, &user.id, now).await?,
        _ => 0,
    };
    let (event, detail) = match why {
        PasswordChange::Reset { factor_passed } => (
            "user.password_reset",
            json!({
                "second_factor_passed": factor_passed,
                "sessions_ended": ended.sessions,
                "trusted_devices_revoked": devices_revoked,
            }),
        ),
        PasswordChange::Required { .. } => (
            "user.password_changed",
            json!({ "required_by_admin": true, "sessions_ended": ended.sessions }),
        ),
        PasswordChange::Changed { .. } => (
            "user.password_changed",
            json!({ "sessions_ended": ended.sessions, "grants_revoked": ended.grants }),
        ),
    };
    record(state, tenant, user, event, detail).await?;
    state
        .notifier
        .security_notice(tenant, user, MailKind::PasswordChanged)
        .await;
    Ok(ended)
}

/// An audit event of the user's own doing.
async fn record(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    event: &str,
    detail: serde_json::Value,
) -> LifecycleResult<()> {
    let actor = format!("user:{}", user.id);
    let e = audit::NewEvent {
        tenant_id: Some(&tenant.id),
        user_id: Some(&user.id),
        actor: &actor,
        event,
        detail,
        ..Default::default()
    };
    Ok(audit::record(&state.db, e).await?)
}
