//! "Sign in with a passkey" (and passkey autofill on the sign-in field), where the tenant
//! allows passwordless sign-in (`passkeys.passwordless`). The credential names its user; with
//! user verification the passkey alone is multi-factor (DESIGN.md §6) and the interaction moves
//! on as after a password; without it, it is one factor and the sign-in form asks that account's
//! password to finish. Every answer is reserved on the client IP's sign-in budget first.

use axum::extract::State;
use axum::http::{HeaderMap, header};

use super::flow;
use super::password::{Posted, View, ip_budget, locked, posted, render, too_many};
use super::tx_form::TxForm;
use crate::mfa::proven::Method;
use crate::mfa::webauthn::{self, CeremonyError};
use crate::model::now;
use crate::state::{AppState, TenantCtx};
use crate::store::rate_limits::{self, Reservation};
use crate::store::{audit, users};
use crate::web::client_ip::ClientIp;
use crate::web::csrf_form::AsFormExpired;
use crate::web::{Or500, PageError, PageResult};

/// POST `/t/{tenant}/login/passkey`: the browser's answer to the sign-in page's passkey
/// ceremony, as `code`.
pub async fn submit(
    State(state): State<AppState>,
    ctx: TenantCtx,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    form: TxForm<AsFormExpired>,
) -> PageResult {
    let (state, ctx) = (&state, &ctx);
    let Posted {
        mut tx,
        browser,
        fields,
        client,
        back,
    } = posted(state, ctx, form).await?;
    if !ctx.tenant.passkeys_passwordless {
        return Err(PageError::expired(state, ctx, back.as_deref()));
    }
    let (key, limit) = ip_budget(state, client_ip);
    let ts = now();
    if let Reservation::Refused { .. } = rate_limits::reserve(&state.db, &key, limit, ts)
        .await
        .or_500(state, ctx)?
    {
        return Err(too_many(state, ctx, back.as_deref()));
    }
    let deps = state.mfa_deps();
    let asserted = match webauthn::finish_assertion(&deps, &ctx.tenant.id, None, fields.get("code"))
        .await
    {
        Ok(a) => a,
        Err(CeremonyError::Store(e)) => return Err(PageError::internal(state, ctx, e)),
        Err(e) => {
            tracing::info!(error = %e, "passkey sign-in refused");
            let view = View {
                client_name: &client.name,
                login: "",
                error: Some(
                    "That passkey could not be used to sign in. Try again, or sign in with your email and password.",
                ),
            };
            return render(state, ctx, &tx, &browser, view).await;
        }
    };
    rate_limits::release(&state.db, &key, limit)
        .await
        .or_500(state, ctx)?;
    let user = users::get(&state.db, &ctx.tenant.id, &asserted.factor.user_id)
        .await
        .or_500(state, ctx)?;
    if user.locked || user.pending_verification {
        return Err(locked(state, ctx, back.as_deref()));
    }
    let verified = matches!(
        asserted.method,
        Method::WebAuthn {
            user_verified: true,
            ..
        }
    );
    audit::record(
        &state.db,
        audit::NewEvent {
            tenant_id: Some(&ctx.tenant.id),
            user_id: Some(&user.id),
            actor: &format!("user:{}", user.id),
            event: "login.passkey",
            detail: serde_json::json!({
                "client_id": client.id,
                "factor_id": asserted.factor.id,
                "user_verified": verified,
                "user_agent": headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or(""),
            }),
            ip: Some(&client_ip.to_string()),
        },
    )
    .await
    .or_500(state, ctx)?;
    tx.row.user_id = Some(user.id.clone());
    tx.extra.notice = None;
    tx.extra.proven = Default::default();
    tx.extra.proven.add(asserted.method, ts);
    if !verified {
        // One factor: the password of this account completes the sign-in (`password::submit`
        // keeps the passkey only for the same account).
        tx.extra.notice = Some(flow::Notice::PasskeyNeedsPassword);
        flow::save(state, &mut tx).await.or_500(state, ctx)?;
        let view = View {
            client_name: &client.name,
            login: &user.email,
            error: None,
        };
        return render(state, ctx, &tx, &browser, view).await;
    }
    tx.row.auth_time = Some(ts);
    tx.extra.passwordless = true;
    tx.prove(asserted.method, ts);
    flow::advance(
        state,
        ctx,
        &headers,
        Some(client_ip.to_string()),
        tx,
        &client,
        flow::Event::Authenticated,
    )
    .await
}
