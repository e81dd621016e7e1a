//! The MFA challenge stage: the code of one enrolled factor ("Enter the code from your
//! authenticator app", "We sent a code to a•••@example.com" with Resend), "Use another method"
//! (every enrolled factor, last used first), "Use a recovery code" and "Trust this device". Each guess is reserved before it is checked
//! (`mfa::attempts`) per transaction (the tenant's `mfa_max_attempts` ends it) and per user
//! across transactions (lockout, see `mfa::service::USER_LIMIT`).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};

use super::flow::{self, Stage, Tx};
use super::tx::{load_at, record_second_factor};
use super::tx_form::load_posted;
use crate::mfa::attempts::{self, Budget, Guess, Outcome};
use crate::mfa::devices as trusted_devices;
use crate::mfa::factor::{self, ChallengeTo};
use crate::mfa::proven::Method;
use crate::mfa::service as mfa;
use crate::mfa::webauthn::{self, Ceremony};
use crate::model::MfaMethod;
use crate::state::{AppState, TenantCtx};
use crate::store::factors::{self, Factor as StoredFactor};
use crate::store::rate_limits::Limit;
use crate::store::transactions;
use crate::store::users::User;
use crate::web::client_ip::ClientIp;
use crate::web::cookies;
use crate::web::say::{Say, say_sent};
use crate::web::{FormFields, Or500, PageError, PageResult};

mod page;
use page::{Asked, View, choose, offer_trust, render};

/// The user's factors this challenge accepts, last used first (then the newest).
async fn usable_factors(
    state: &AppState,
    tx: &Tx,
    user: &User,
) -> Result<Vec<StoredFactor>, crate::store::StoreError> {
    let flow::At::Mfa { methods, .. } = &tx.extra.at else {
        return Ok(Vec::new());
    };
    let mut fs: Vec<StoredFactor> = factors::list_for_user(&state.db, &user.id)
        .await?
        .into_iter()
        .filter(|f| methods.contains(&f.kind))
        .collect();
    fs.sort_by_key(|f| std::cmp::Reverse((f.last_used_at.unwrap_or(0), f.created_at)));
    Ok(fs)
}

/// What a challenge page shows besides the form: its words, whether Resend is offered, and a
/// security key's ceremony.
struct Started {
    say: Say,
    resend: bool,
    ceremony: Option<Ceremony>,
}

/// Makes the asked factor answerable (an emailed code is sent unless a live one stands, a
/// security key gets a fresh ceremony) and says how that went.
async fn start_challenge(
    state: &AppState,
    ctx: &TenantCtx,
    tx: &Tx,
    user: &User,
    asked: &Asked,
    resend: bool,
    ip: std::net::IpAddr,
) -> Result<Started, PageError> {
    let none = Started {
        say: Say::default(),
        resend: false,
        ceremony: None,
    };
    let Asked::Factor(f) = asked else {
        return Ok(none);
    };
    if f.kind == MfaMethod::Webauthn {
        let id = webauthn::ceremony_id_for(&tx.row.id, Some(user));
        let c = webauthn::start_assertion(&state.mfa_deps(), &ctx.tenant.id, Some(user), &id)
            .await
            .or_500(state, ctx)?;
        return Ok(Started {
            ceremony: Some(c),
            ..none
        });
    }
    let network = crate::web::client_ip::limit_key(ip);
    let sent = factor::challenge(
        &state.mfa_deps(),
        ChallengeTo {
            tenant: &ctx.tenant,
            user,
            factor: f,
            scope: &tx.row.id,
            ip: Some(&network),
        },
        resend,
    )
    .await;
    let say = say_sent(sent, resend).or_500(state, ctx)?;
    // An authenticator app makes its own codes; anything else sends them, and can again.
    Ok(Started {
        say,
        resend: f.kind != MfaMethod::Totp,
        ceremony: None,
    })
}

pub async fn show(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let param = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let (tx, browser, client, user) =
        load_at(&state, &ctx, &headers, Some(param("tx")), Stage::Mfa).await?;
    let fs = usable_factors(&state, &tx, &user)
        .await
        .or_500(&state, &ctx)?;
    let asked = choose(&tx, &fs, param("method"), param("factor"))
        .or_else(|| choose(&tx, &fs, "", ""))
        .unwrap_or(Asked::Recovery);
    let started = start_challenge(&state, &ctx, &tx, &user, &asked, false, client_ip).await?;
    let view = View {
        asked: &asked,
        others: &fs,
        say: started.say,
        resend: started.resend,
        ceremony: started.ceremony,
    };
    Ok(render(&state, &ctx, &tx, &browser, &client, view))
}

fn locked_page(state: &AppState, ctx: &TenantCtx, back: Option<&str>) -> PageError {
    PageError::page(
        state,
        ctx,
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        "Too many wrong codes were entered. For your security, wait 15 minutes, then go back to \
         the application and sign in again.",
        back,
    )
}

/// A limit is reached: the sign-in ends (its transaction is deleted) on the "Too many attempts"
/// page. Of a burst refused together, only the request that deleted the transaction writes
/// `mfa.challenge_locked`, so the audit log says it once.
async fn end_locked(
    state: &AppState,
    ctx: &TenantCtx,
    tx: &Tx,
    user: &User,
    context: serde_json::Value,
) -> PageError {
    let back = tx.back_url();
    let ended = async {
        if transactions::delete(&state.db, &tx.row.id).await? {
            mfa::record(
                &state.db,
                &ctx.tenant,
                user,
                "system",
                "mfa.challenge_locked",
                context,
            )
            .await?;
        }
        Ok::<_, crate::store::StoreError>(())
    };
    match ended.await {
        Ok(()) => locked_page(state, ctx, back.as_deref()),
        Err(e) => PageError::internal(state, ctx, e),
    }
}

pub async fn submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    form: FormFields,
) -> PageResult {
    let (state, ctx, headers) = (&state, &ctx, &headers);
    let (mut tx, browser, client, user) =
        load_posted(state, ctx, headers, &form, Stage::Mfa).await?;
    let back = tx.back_url();
    let fs = usable_factors(state, &tx, &user).await.or_500(state, ctx)?;
    // A factor the challenge does not accept (another kind, someone else's) is not answered.
    let Some(asked) = choose(&tx, &fs, form.get("method"), form.get("factor")) else {
        return Err(PageError::expired(state, ctx, back.as_deref()));
    };
    if form.get("action") == "resend" {
        let started = start_challenge(state, ctx, &tx, &user, &asked, true, client_ip).await?;
        let view = View {
            asked: &asked,
            others: &fs,
            say: started.say,
            resend: started.resend,
            ceremony: started.ceremony,
        };
        return Ok(render(state, ctx, &tx, &browser, &client, view));
    }
    let guess = match &asked {
        Asked::Recovery => Guess::RecoveryCode(form.get("recovery_code")),
        Asked::Factor(f) => Guess::Code {
            kind: f.kind,
            code: form.get("code"),
        },
    };
    // This sign-in's own budget (the tenant's `mfa_max_attempts`), beside the user's.
    let tx_key = format!("mfa:tx:{}", tx.row.id);
    let budget = Budget {
        key: &tx_key,
        limit: Limit {
            max_failures: ctx.tenant.mfa_max_attempts.max(1),
            window_secs: state.config.login.transaction_ttl_secs,
            lockout_secs: state.config.login.transaction_ttl_secs,
        },
    };
    let outcome = attempts::check(&state.mfa_deps(), &ctx.tenant, &user, guess, Some(budget))
        .await
        .or_500(state, ctx)?;

    // Who and where, for the audit log: client, IP and user agent (never the code).
    let method_name = match &asked {
        Asked::Recovery => "recovery_code",
        Asked::Factor(f) => f.kind.as_str(),
    };
    let context = serde_json::json!({
        "client_id": client.id,
        "ip": client_ip.to_string(),
        "user_agent": headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or(""),
        "method": method_name,
    });
    let (replacement, matched) = match outcome {
        Outcome::Passed {
            replacement,
            factor,
        } => (replacement, factor),
        Outcome::Refused => return Err(end_locked(state, ctx, &tx, &user, context).await),
        Outcome::Wrong { locked } => {
            mfa::record(
                &state.db,
                &ctx.tenant,
                &user,
                "system",
                "mfa.challenge_failed",
                context.clone(),
            )
            .await
            .or_500(state, ctx)?;
            if locked {
                return Err(end_locked(state, ctx, &tx, &user, context).await);
            }
            let error = match &asked {
                Asked::Recovery => "That recovery code is not valid or was already used.",
                Asked::Factor(f) if f.kind == MfaMethod::Totp => {
                    "That code didn't work. Check your authenticator app and try again."
                }
                Asked::Factor(f) if f.kind == MfaMethod::Sms => {
                    "That code didn't work or has expired. Check the text message, or select Resend for a new code."
                }
                Asked::Factor(f) if f.kind == MfaMethod::Webauthn => {
                    "Your security key or passkey could not be verified. Select the button to try again, or use another method."
                }
                Asked::Factor(_) => {
                    "That code didn't work or has expired. Check the email, or select Resend for a new code."
                }
            };
            // A security key gets a fresh prompt; a code stays as it was (nothing is sent).
            let ceremony = match &asked {
                Asked::Factor(f) if f.kind == MfaMethod::Webauthn => {
                    start_challenge(state, ctx, &tx, &user, &asked, false, client_ip)
                        .await?
                        .ceremony
                }
                _ => None,
            };
            let view = View {
                asked: &asked,
                others: &fs,
                say: Say {
                    error: Some(error),
                    status: Some(StatusCode::UNAUTHORIZED),
                    ..Say::default()
                },
                resend: matches!(&asked, Asked::Factor(f) if f.kind != MfaMethod::Totp && ceremony.is_none()),
                ceremony,
            };
            return Ok(render(state, ctx, &tx, &browser, &client, view));
        }
    };
    mfa::record(
        &state.db,
        &ctx.tenant,
        &user,
        &format!("user:{}", user.id),
        "mfa.challenge_passed",
        context,
    )
    .await
    .or_500(state, ctx)?;

    // Record the second factor: on the transaction for a fresh login, on the session for a
    // step-up (which then finishes on that session).
    let ip = Some(client_ip.to_string());
    let method = match (&asked, &matched) {
        (Asked::Recovery, _) => Method::RecoveryCode,
        (_, Some(f)) => webauthn::proves(f).unwrap_or(Method::Totp),
        (Asked::Factor(f), None) => factor::proves(f.kind).unwrap_or(Method::Totp),
    };
    record_second_factor(state, ctx, &mut tx, method).await?;
    let mut trust_cookie = None;
    if form.get("trust") == "on" && offer_trust(ctx, &client, &tx) {
        let ua = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        let token = trusted_devices::trust(&state.mfa_deps(), &ctx.tenant, &user, ua)
            .await
            .or_500(state, ctx)?;
        trust_cookie = Some(cookies::set(
            cookies::DEVICE,
            &token,
            &format!("/t/{}", ctx.tenant.slug),
            Some(ctx.tenant.trusted_device_days * 86_400),
            state.is_https(),
        ));
    }
    let mut res = if let Some(code) = replacement {
        let at = super::codes::codes_stage(state, &[code], true).or_500(state, ctx)?;
        flow::go(state, ctx, tx, at).await?
    } else {
        flow::advance(
            state,
            ctx,
            headers,
            ip,
            tx,
            &client,
            flow::Event::FactorVerified,
        )
        .await?
    };
    if let Some(c) = trust_cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}
