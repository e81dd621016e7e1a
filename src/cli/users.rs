//! `gatehouse user create|update|delete|list|mfa-reset`.

use std::io::{BufRead, IsTerminal};

use serde_json::json;

use crate::UserCommand;
use crate::{Output, Result};
use gatehouse::admin::users::{ProfileRequest, UserRequest};
use gatehouse::admin::{self, CLI_ACTOR};
use gatehouse::crypto::password::PasswordHasherPool;
use gatehouse::mfa;
use gatehouse::model::{TenantMfaPolicy, now};
use gatehouse::notify::Notifier;
use gatehouse::oidc::backchannel;
use gatehouse::store::{self, Db};

/// Reads a password without echo on a terminal, or the first line of piped input.
pub(crate) fn read_password() -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(rpassword::prompt_password("Password: ")?);
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

pub async fn user_command(
    cmd: UserCommand,
    db: Db,
    passwords: PasswordHasherPool,
    config: gatehouse::config::Config,
) -> Result<Output> {
    match cmd {
        UserCommand::Create {
            tenant,
            email,
            password_stdin: _,
            username,
            name,
            email_verified,
            phone,
            phone_verified,
        } => {
            let password = read_password()?;
            let req = UserRequest {
                email,
                username,
                name,
                email_verified,
                phone,
                phone_verified,
            };
            let u =
                admin::users::create(&db, &passwords, CLI_ACTOR, &tenant, req, &password).await?;
            Ok(Output::Value {
                text: format!("created user {} ({})", u.id, u.email),
                json: serde_json::to_value(&u)?,
            })
        }
        UserCommand::Update {
            tenant,
            email,
            profile,
            phone,
            phone_verified,
            email_verified,
            locked,
            require_password_change,
        } => {
            let req = ProfileRequest {
                profile: profile.into_edit(),
                email_verified,
                phone,
                phone_verified,
                locked,
                require_password_change,
                expected_version: None,
            };
            let (t, u) = admin::users::find(&db, &tenant, &email).await?;
            let now = gatehouse::model::now();
            let (u, ended) = admin::users::update(&db, CLI_ACTOR, &t, &u, req, now).await?;
            let mut json = serde_json::to_value(&u)?;
            json["sessions_ended"] = json!(ended.sessions);
            Ok(Output::Value {
                text: format!("updated user {} ({})", u.id, u.email),
                json,
            })
        }
        UserCommand::Delete { tenant, email } => {
            let (t, u) = admin::users::find(&db, &tenant, &email).await?;
            let now = gatehouse::model::now();
            let ended = admin::users::delete(&db, CLI_ACTOR, &t, &u, now).await?;
            Ok(Output::Value {
                text: format!("deleted user {} ({})", u.id, u.email),
                json: json!({ "user_id": u.id, "deleted": true, "sessions_ended": ended.sessions }),
            })
        }
        UserCommand::List { tenant } => {
            let t = store::tenants::get_by_slug(&db, &tenant).await?;
            let us = store::users::list(&db, &t.id).await?;
            let mut rows = Vec::new();
            let mut text = Vec::new();
            for u in &us {
                let factors = store::factors::list_for_user(&db, &u.id).await?;
                let codes = store::recovery_codes::remaining(&db, &u.id).await?;
                let mut v = serde_json::to_value(u)?;
                v["mfa"] = json!({
                    "enabled": !factors.is_empty(),
                    "factors": factors,
                    "recovery_codes_remaining": codes,
                });
                let status = if factors.is_empty() {
                    "off".to_string()
                } else {
                    format!("on ({} factor(s), {codes} recovery codes)", factors.len())
                };
                text.push(format!("{:<38} {:<32} MFA {status}", u.id, u.email));
                rows.push(v);
            }
            Ok(Output::Value {
                json: json!({ "users": rows }),
                text: text.join("\n"),
            })
        }
        UserCommand::MfaReset { tenant, email } => {
            let t = store::tenants::get_by_slug(&db, &tenant).await?;
            let u = store::users::find_by_login(&db, &t.id, &email)
                .await?
                .ok_or_else(|| format!("unknown user `{email}` in tenant `{tenant}`"))?;
            // The same reset, and the same notice, as the admin API's: the service mails the
            // user (best effort: the reset stands even if mail is down).
            let notifier = Notifier::from_config(&config);
            let reset = mfa::reset::reset(&db, &notifier, now(), &t, &u, CLI_ACTOR).await?;
            let removed = reset.factors_removed;
            // The clients of the ended sessions hear of it before the command returns.
            let retire_after = config.tokens.max_lifetime_secs;
            let root = &config.keys.dir;
            let secret =
                gatehouse::crypto::secret::ServerSecret::from_config(&config.secrets, root)?;
            let keys = gatehouse::crypto::key_store::ensure(
                &db,
                &secret,
                root,
                &t.id,
                retire_after,
                now(),
            )
            .await?;
            let base = gatehouse::resolve_public_url(&config, config.server.listen);
            let issuer = format!("{base}/t/{}", t.slug);
            let sids = &reset.ended.session_ids;
            let notices = backchannel::deliveries(&db, &keys, &issuer, &t.id, sids, now()).await?;
            backchannel::deliver_all(&gatehouse::state::outbound_http(), notices).await;
            Ok(Output::Value {
                json: json!({
                    "user_id": u.id,
                    "email": u.email,
                    "factors_removed": removed,
                    "sessions_ended": reset.ended.sessions,
                    "grants_revoked": reset.ended.grants,
                    "mfa_required_at_next_sign_in": t.mfa_policy == TenantMfaPolicy::Required,
                    "user_notified": reset.notified,
                }),
                text: format!(
                    "reset MFA of {}: {removed} factor(s) removed, recovery codes and trusted devices voided, {} session(s) ended",
                    u.email, reset.ended.sessions
                ),
            })
        }
    }
}
