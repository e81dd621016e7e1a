//! Gatehouse's own clients: the account pages' client of every tenant and the admin console's
//! client of the system tenant. They have no secret (nobody can redeem their codes at
//! `/token`; the pages behind them redeem their codes in-process) and are first-party. Each is
//! created on first use and keeps its one redirect URI in step with `server.public_url`.

use crate::config::TokensConfig;
use crate::ids::{ClientId, TenantId};
use crate::model::{ClientMfaPolicy, SigningAlg, TokenAuthMethod, TrustPolicy};
use crate::store::clients::{self, Client, NewClient};
use crate::store::{Db, StoreError, StoreResult};

/// The id of a tenant's account-pages client.
pub fn account_client_id(tenant_id: &TenantId) -> ClientId {
    ClientId::from(format!("account-{tenant_id}"))
}

/// The id of the admin console's client (of the system tenant).
pub fn console_client_id(tenant_id: &TenantId) -> ClientId {
    ClientId::from(format!("console-{tenant_id}"))
}

/// One of these clients (no secret, its id one of the two above for its own tenant): listed
/// in the console, not the admin's to change.
pub fn is_builtin(c: &Client) -> bool {
    c.secret_hash.is_none()
        && !c.is_public
        && (c.id == account_client_id(&c.tenant_id) || c.id == console_client_id(&c.tenant_id))
}

pub struct Builtin<'a> {
    pub id: ClientId,
    pub tenant_id: &'a TenantId,
    pub name: &'a str,
    pub redirect_uri: String,
    pub mfa_policy: ClientMfaPolicy,
    pub trust_policy: TrustPolicy,
}

/// Finds or creates the client; a changed public URL moves its redirect URI.
pub async fn ensure(db: &Db, tokens: &TokensConfig, b: Builtin<'_>) -> StoreResult<Client> {
    let vanished = || StoreError::NotFound(format!("built-in client `{}` vanished", b.id));
    if let Some(c) = clients::find(db, b.tenant_id, &b.id).await? {
        if c.redirect_uris != [b.redirect_uri.clone()] {
            clients::set_redirect_uris(db, &c.id, std::slice::from_ref(&b.redirect_uri)).await?;
            return clients::find(db, b.tenant_id, &b.id)
                .await?
                .ok_or_else(vanished);
        }
        return Ok(c);
    }
    let new = NewClient {
        id: b.id.clone(),
        tenant_id: b.tenant_id.clone(),
        name: b.name.into(),
        secret_hash: None,
        is_public: false,
        first_party: true,
        token_endpoint_auth_method: TokenAuthMethod::ClientSecretBasic,
        redirect_uris: vec![b.redirect_uri.clone()],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["authorization_code".into()],
        mfa_policy: b.mfa_policy,
        trust_policy: b.trust_policy,
        id_token_alg: SigningAlg::Rs256,
        access_token_alg: SigningAlg::Rs256,
        access_token_ttl_secs: tokens.default_access_token_ttl_secs,
        id_token_ttl_secs: tokens.default_id_token_ttl_secs,
        refresh_token_ttl_secs: tokens.default_access_token_ttl_secs,
        scope: String::new(),
        offline_access: false,
        web_origins: Vec::new(),
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
    };
    match clients::create(db, &new).await {
        Ok(c) => Ok(c),
        // Another node created it at the same moment.
        Err(StoreError::Conflict(_)) => clients::find(db, b.tenant_id, &b.id)
            .await?
            .ok_or_else(vanished),
        Err(e) => Err(e),
    }
}
