//! Gatehouse's own clients: the account pages' client of every tenant and the admin console's
//! client of the system tenant. They have no secret (nobody can redeem their codes at
//! `/token`; the pages behind them redeem their codes in-process) and are first-party. Each is
//! created on first use and keeps its one redirect URI in step with `server.public_url`.

use crate::config::TokensConfig;
use crate::ids::{ClientId, TenantId};
use crate::model::{ClientMfaPolicy, SigningAlg, TokenAuthMethod, TrustPolicy};
use crate::store::clients::{self, Client, NewClient};
use crate::store::{Db, StoreError, StoreResult};

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
