//! OpenID Connect Discovery 1.0 §3: provider metadata at
//! `{issuer}/.well-known/openid-configuration`. It lists exactly what this server does.
//!
//! The same document is the RFC 8414 authorization-server metadata, served at the RFC 8414 §3
//! path form `{public_url}/.well-known/oauth-authorization-server/t/{slug}` (the well-known
//! segment between the host and the issuer's path) and, for clients that append it the OIDC
//! way, at `{issuer}/.well-known/oauth-authorization-server`. Both carry the identical
//! `issuer` (RFC 8414 §3.3).

use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::json;

use super::authz_request::SUPPORTED_SCOPES;
use super::claims::SCOPE_CLAIMS;
use crate::model::{SigningAlg, TokenAuthMethod};
use crate::state::{AppState, TenantCtx};

/// The `acr` values Gatehouse can assert (DESIGN.md §6), plus the PAPE multi-factor URI that
/// clients may request as a synonym of `mfa`.
pub const ACR_VALUES: &[&str] = &[
    "pwd",
    "mfa",
    "phr",
    "http://schemas.openid.net/pape/policies/2007/06/multi-factor",
];

/// The claims of the ID token itself (OIDC Core §2), beside the scopes' user claims.
const TOKEN_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "azp",
    "sid",
    "at_hash",
    "acr",
    "amr",
];

/// `claims_supported`: the token's own claims and every claim a scope releases, from the one
/// table that releases them (`claims::SCOPE_CLAIMS`), so the two cannot disagree.
pub fn claims_supported() -> Vec<&'static str> {
    let by_scope = SCOPE_CLAIMS.iter().flat_map(|(_, names)| names.iter());
    TOKEN_CLAIMS.iter().chain(by_scope).copied().collect()
}

/// Both documents: an OAuth-only client (RFC 8414) reads what it knows and ignores the rest.
/// Rendered once per issuer and served as bytes: nothing in it changes while the server runs.
pub async fn provider_metadata(State(state): State<AppState>, ctx: TenantCtx) -> impl IntoResponse {
    let doc = state
        .documents
        .get_or_render(&ctx.issuer, || metadata(&state, &ctx).to_string());
    (super::cacheable_json(), doc)
}

/// The rendered discovery document of each issuer served so far (one per tenant: only known
/// tenants reach the handler; a deleted tenant's stays until restart, a few KiB).
#[derive(Default)]
pub struct Documents(std::sync::RwLock<std::collections::HashMap<String, axum::body::Bytes>>);

impl Documents {
    pub fn get_or_render(
        &self,
        issuer: &str,
        render: impl FnOnce() -> String,
    ) -> axum::body::Bytes {
        if let Some(b) = self.0.read().unwrap_or_else(|p| p.into_inner()).get(issuer) {
            return b.clone();
        }
        let b = axum::body::Bytes::from(render());
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(issuer.to_owned(), b.clone());
        b
    }
}

fn metadata(state: &AppState, ctx: &TenantCtx) -> serde_json::Value {
    let issuer = &ctx.issuer;
    let algs: Vec<&str> = SigningAlg::ALL.iter().map(|a| a.as_str()).collect();
    // Every method a client can be registered with; private_key_jwt assertions may use any
    // of the signing algorithms (`algs`), as ID tokens may.
    let auth_methods: Vec<&str> = TokenAuthMethod::ALL.iter().map(|m| m.as_str()).collect();
    // Discovery §4.3: `issuer` must be identical to the URL the document was fetched under,
    // minus the well-known suffix.
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "introspection_endpoint": format!("{issuer}/introspect"),
        "end_session_endpoint": format!("{issuer}/logout"),
        "scopes_supported": SUPPORTED_SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": algs,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_signing_alg_values_supported": algs,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_signing_alg_values_supported": algs,
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account", "create"],
        "claims_supported": claims_supported(),
        "claims_parameter_supported": true,
        "acr_values_supported": ACR_VALUES,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "ui_locales_supported": state.templates.catalog.languages(),
        "claim_types_supported": ["normal"],
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    })
}
