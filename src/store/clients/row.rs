//! A client row as stored, and its reading into [`Client`]: the lists are TEXT JSON, parsed
//! once here; a hand-edited value that does not parse loads empty (or none) with a warning.

use super::Client;
use crate::ids::{ClientId, TenantId};
use crate::model::{ClientMfaPolicy, SigningAlg, TokenAuthMethod, TrustPolicy};
use crate::store::parse_json_list;

/// The columns `create` writes, as a literal for `concat!`; the key source (`jwks`, `jwks_uri`)
/// is set afterwards by [`super::set_token_auth`].
macro_rules! columns {
    () => {
        "id, tenant_id, name, secret_hash, is_public, first_party, \
    token_endpoint_auth_method, redirect_uris, post_logout_redirect_uris, grant_types, \
    mfa_policy, trust_policy, id_token_alg, access_token_ttl_secs, id_token_ttl_secs, \
    refresh_token_ttl_secs, scope, offline_access, web_origins, backchannel_logout_uri, \
    backchannel_logout_session_required, access_token_alg, created_at, updated_at"
    };
}

/// The column list every query of `store::clients` selects.
macro_rules! select_columns {
    () => {
        concat!(columns!(), ", jwks, jwks_uri, version")
    };
}

/// The row as stored: the lists are TEXT JSON, parsed once into [`Client`] here.
#[derive(sqlx::FromRow)]
pub(super) struct ClientRow {
    id: ClientId,
    tenant_id: TenantId,
    name: String,
    secret_hash: Option<String>,
    is_public: bool,
    first_party: bool,
    #[sqlx(try_from = "String")]
    token_endpoint_auth_method: TokenAuthMethod,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    grant_types: String,
    #[sqlx(try_from = "String")]
    mfa_policy: ClientMfaPolicy,
    #[sqlx(try_from = "String")]
    trust_policy: TrustPolicy,
    #[sqlx(try_from = "String")]
    id_token_alg: SigningAlg,
    #[sqlx(try_from = "String")]
    access_token_alg: SigningAlg,
    access_token_ttl_secs: i64,
    id_token_ttl_secs: i64,
    refresh_token_ttl_secs: i64,
    scope: String,
    offline_access: bool,
    jwks: Option<String>,
    jwks_uri: Option<String>,
    web_origins: String,
    backchannel_logout_uri: Option<String>,
    backchannel_logout_session_required: bool,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl From<ClientRow> for Client {
    fn from(r: ClientRow) -> Client {
        let list = |column: &str, text: &str| list_or_empty(&r.id, column, text);
        let redirect_uris = list("redirect_uris", &r.redirect_uris);
        let post_logout_redirect_uris =
            list("post_logout_redirect_uris", &r.post_logout_redirect_uris);
        let grant_types = list("grant_types", &r.grant_types);
        let jwks = r.jwks.as_deref().and_then(|text| jwks_or_none(&r.id, text));
        let web_origins = list("web_origins", &r.web_origins);
        Client {
            id: r.id,
            tenant_id: r.tenant_id,
            name: r.name,
            secret_hash: r.secret_hash,
            is_public: r.is_public,
            first_party: r.first_party,
            token_endpoint_auth_method: r.token_endpoint_auth_method,
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            mfa_policy: r.mfa_policy,
            trust_policy: r.trust_policy,
            id_token_alg: r.id_token_alg,
            access_token_alg: r.access_token_alg,
            access_token_ttl_secs: r.access_token_ttl_secs,
            id_token_ttl_secs: r.id_token_ttl_secs,
            refresh_token_ttl_secs: r.refresh_token_ttl_secs,
            scope: r.scope,
            offline_access: r.offline_access,
            jwks,
            jwks_uri: r.jwks_uri,
            web_origins,
            backchannel_logout_uri: r.backchannel_logout_uri,
            backchannel_logout_session_required: r.backchannel_logout_session_required,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

/// Gatehouse writes these columns only through [`json_list`], but an operator can edit a row by
/// hand. A list that does not parse loads empty, so that one client is refused where the list
/// is used (an empty list matches no redirect URI and allows no grant) while every query that
/// lists clients still works; the warning names the client to fix.
fn list_or_empty(client_id: &ClientId, column: &str, text: &str) -> Vec<String> {
    parse_json_list(text).unwrap_or_else(|e| {
        tracing::warn!(client_id = %client_id, column, error = %e, "unreadable client list, treated as empty");
        Vec::new()
    })
}

/// Gatehouse stores only key sets it parsed; a hand-edited one that no longer parses loads as
/// none, so that client's assertions are refused (no key matches) and the warning names it.
fn jwks_or_none(client_id: &ClientId, text: &str) -> Option<serde_json::Value> {
    serde_json::from_str(text)
        .inspect_err(|e| {
            tracing::warn!(client_id = %client_id, error = %e, "unreadable client jwks, treated as none");
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::list_or_empty;
    use crate::ids::ClientId;

    #[test]
    fn a_corrupt_list_loads_empty() {
        assert_eq!(
            list_or_empty(&ClientId::from("app"), "grant_types", r#"["a","b"]"#),
            ["a", "b"]
        );
        assert!(list_or_empty(&ClientId::from("app"), "redirect_uris", "not json").is_empty());
        assert!(list_or_empty(&ClientId::from("app"), "redirect_uris", r#"{"a":1}"#).is_empty());
    }
}
