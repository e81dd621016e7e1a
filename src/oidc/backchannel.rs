//! OpenID Connect Back-Channel Logout 1.0: when SSO sessions end (RP-initiated logout, "Sign
//! out of all other devices", an MFA reset), every client that got tokens in one of them and
//! registered a `backchannel_logout_uri` is POSTed a logout token (§2.4): a JWT with `typ
//! logout+jwt`, `iss`, `aud` (the client), `iat`, `exp`, `jti`, `sub`, `sid` (always, so
//! `backchannel_logout_session_required` is met) and the back-channel logout event, never a
//! `nonce` (§2.4). Signed like the client's ID tokens.
//!
//! Delivery never delays the user: the web layer spawns it after answering. Each POST has a
//! timeout; a 5xx, a timeout or a refused connection is retried a bounded number of times with
//! the same token, any other answer is final (§2.8: 200 or 204 is success). A failure is
//! logged with the client id and the status, never the token.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::crypto::jwt;
use crate::crypto::keys::KeySet;
use crate::ids::{ClientId, TenantId, UserId};
use crate::state::{AppState, TenantCtx};
use crate::store::{Db, StoreResult, clients, grants};

pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A logout token lives this long: the client verifies it on receipt.
const TOKEN_TTL_SECS: i64 = 120;
/// Each POST.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per client, and the pause before each retry.
const ATTEMPTS: u32 = 3;
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// One logout token to send.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub client_id: ClientId,
    pub uri: String,
    pub token: String,
}

/// The logout token's claims (§2.4).
pub fn claims(
    issuer: &str,
    client_id: &ClientId,
    user_id: &UserId,
    sid: &str,
    now: i64,
) -> Map<String, Value> {
    let v = json!({
        "iss": issuer,
        "aud": client_id,
        "iat": now,
        "exp": now + TOKEN_TTL_SECS,
        "jti": uuid::Uuid::new_v4().to_string(),
        "sub": user_id,
        "sid": sid,
        "events": { EVENT: {} },
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The tokens to send for these ended sessions: one per client that got tokens in a session
/// (a grant names the session) and registered a back-channel URI.
pub async fn deliveries(
    db: &Db,
    keys: &KeySet,
    issuer: &str,
    tenant_id: &TenantId,
    session_ids: &[String],
    now: i64,
) -> StoreResult<Vec<Delivery>> {
    let mut out = Vec::new();
    for sid in session_ids {
        for (client_id, user_id) in grants::clients_of_session(db, tenant_id, sid).await? {
            let Some(client) = clients::find(db, tenant_id, &client_id).await? else {
                continue;
            };
            let Some(uri) = client.backchannel_logout_uri.clone() else {
                continue;
            };
            let body = claims(issuer, &client.id, &user_id, sid, now);
            match jwt::sign(keys, client.id_token_alg, "logout+jwt", body) {
                Ok(token) => out.push(Delivery {
                    client_id: client.id,
                    uri,
                    token,
                }),
                Err(e) => {
                    tracing::error!(client_id = %client.id, error = %e, "signing a logout token failed")
                }
            }
        }
    }
    Ok(out)
}

/// POSTs each token (concurrently), within the timeout and the retry bound.
pub async fn deliver_all(http: &reqwest::Client, deliveries: Vec<Delivery>) {
    let mut set = tokio::task::JoinSet::new();
    for d in deliveries {
        let http = http.clone();
        set.spawn(async move {
            if let Err(why) = deliver(&http, &d).await {
                tracing::warn!(client_id = %d.client_id, error = %why, "back-channel logout not delivered");
            }
        });
    }
    while set.join_next().await.is_some() {}
}

/// For the web pages: tells the clients of the ended sessions in the background, after the
/// page has answered.
pub fn spawn(state: &AppState, ctx: &TenantCtx, session_ids: Vec<String>) {
    if session_ids.is_empty() {
        return;
    }
    let (state, tenant_id, issuer) = (state.clone(), ctx.tenant.id.clone(), ctx.issuer.clone());
    tokio::spawn(async move {
        let keys = match state.keys.current(&tenant_id).await {
            Ok(k) => k,
            Err(e) => return tracing::error!(error = %e, "no keys to sign logout tokens"),
        };
        let now = crate::model::now();
        match deliveries(&state.db, &keys.set, &issuer, &tenant_id, &session_ids, now).await {
            Ok(ds) => deliver_all(&state.http, ds).await,
            Err(e) => tracing::error!(error = %e, "finding back-channel logout clients failed"),
        }
    });
}

async fn deliver(http: &reqwest::Client, d: &Delivery) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            tokio::time::sleep(RETRY_PAUSE * (attempt - 1)).await;
        }
        let sent = http
            .post(&d.uri)
            .timeout(TIMEOUT)
            .form(&[("logout_token", d.token.as_str())])
            .send()
            .await;
        match sent {
            Ok(res) if res.status().is_success() => return Ok(()),
            Ok(res) if res.status().is_server_error() => last = format!("HTTP {}", res.status()),
            Ok(res) => return Err(format!("HTTP {} (final)", res.status())),
            Err(e) => {
                last = if e.is_timeout() {
                    "timeout".into()
                } else {
                    "connection failed".into()
                }
            }
        }
    }
    Err(format!("{last} after {ATTEMPTS} attempts"))
}
