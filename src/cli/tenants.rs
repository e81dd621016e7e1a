//! `gatehouse tenant create|update|list`.

use serde_json::{Value, json};

use crate::TenantCommand;
use crate::{Output, Result};
use gatehouse::admin::{self, CLI_ACTOR};
use gatehouse::model::now as model_now;
use gatehouse::store::{self, Db, tenants::TenantChanges};

fn tenant_json(t: &store::tenants::Tenant) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

pub async fn tenant_command(
    cmd: TenantCommand,
    db: Db,
    config: &gatehouse::config::Config,
) -> Result<Output> {
    match cmd {
        TenantCommand::Create {
            slug,
            name,
            mfa,
            prompt_enrollment,
        } => {
            let t = admin::tenants::create(
                &db,
                CLI_ACTOR,
                &slug,
                name.as_deref(),
                mfa,
                prompt_enrollment,
            )
            .await?;
            // Its own signing keys, now (the server would make them on first use).
            let retire_after = config.tokens.max_lifetime_secs;
            let root = &config.keys.dir;
            let secret =
                gatehouse::crypto::secret::ServerSecret::from_config(&config.secrets, root)?;
            gatehouse::crypto::key_store::ensure(
                &db,
                &secret,
                root,
                &t.id,
                retire_after,
                model_now(),
            )
            .await?;
            Ok(Output::Value {
                text: format!("created tenant {} (MFA {})", t.slug, t.mfa_policy),
                json: tenant_json(&t),
            })
        }
        TenantCommand::Update {
            slug,
            name,
            mfa,
            prompt_enrollment,
            trusted_device_days,
            theme,
            mfa_methods,
            recovery_codes,
            recovery_replace_on_use,
            enrollment_proof,
            mfa_max_attempts,
            account_reauth_secs,
            sms_default_region,
            sms_allowed_countries,
            registration,
            registration_mfa_setup,
            password_reset_email_only,
            passkeys_passwordless,
        } => {
            let changes = TenantChanges {
                name,
                mfa_policy: mfa,
                mfa_prompt_enrollment: prompt_enrollment,
                trusted_device_days,
                theme,
                mfa_methods,
                mfa_recovery_count: recovery_codes,
                mfa_recovery_replace_on_use: recovery_replace_on_use,
                // The enum's own words on a bad value, as for every other enum flag.
                mfa_enrollment_proof: enrollment_proof.as_deref().map(str::parse).transpose()?,
                mfa_max_attempts,
                account_reauth_secs,
                sms_default_region: sms_default_region.map(|r| r.to_ascii_uppercase()),
                sms_allowed_countries,
                registration_enabled: registration,
                registration_mfa_setup,
                password_reset_email_only,
                passkeys_passwordless,
                expected_version: None,
            };
            let t = admin::tenants::update(&db, CLI_ACTOR, &slug, &changes).await?;
            Ok(Output::Value {
                text: format!("updated tenant {} (MFA {})", t.slug, t.mfa_policy),
                json: tenant_json(&t),
            })
        }
        TenantCommand::MfaReport { slug } => {
            let t = store::tenants::get_by_slug(&db, &slug).await?;
            let r = admin::report::mfa_report(&db, &t, gatehouse::model::now()).await?;
            let text = format!(
                "{}: {} of {} users enrolled ({}%); last 7 days: {} challenged, {} passed, {} without MFA",
                r.tenant,
                r.enrolled,
                r.users,
                r.enrolled_percent,
                r.windows[0].challenged,
                r.windows[0].challenges_passed,
                r.windows[0].passed_without_mfa,
            );
            Ok(Output::Value {
                json: serde_json::to_value(&r)?,
                text,
            })
        }
        TenantCommand::Get { slug } => {
            let t = store::tenants::get_by_slug(&db, &slug).await?;
            let stats = gatehouse::otp::sms_stats(&db, &t.id, gatehouse::model::now()).await?;
            let mut json = tenant_json(&t);
            json["sms"] = json!({
                "default_region": t.sms_default_region,
                "allowed_countries": t.sms_countries(),
                "sent_24h": stats.sent,
                "failed_24h": stats.failed,
            });
            Ok(Output::Value {
                text: format!(
                    "tenant {} (MFA {}): {} SMS sent, {} failed in the last 24 hours",
                    t.slug, t.mfa_policy, stats.sent, stats.failed
                ),
                json,
            })
        }
        TenantCommand::List => {
            let ts = store::tenants::list(&db).await?;
            let text = ts
                .iter()
                .map(|t| format!("{:<24} {:<10} {}", t.slug, t.mfa_policy.as_str(), t.name))
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Output::Value {
                json: json!({ "tenants": ts.iter().map(tenant_json).collect::<Vec<_>>() }),
                text,
            })
        }
    }
}
