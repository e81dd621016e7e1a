//! OpenID Connect Discovery 1.0 §3: provider metadata at
//! `{issuer}/.well-known/openid-configuration`. It lists only what this server actually does.

use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::json;

use crate::model::SigningAlg;
use crate::state::{AppState, TenantCtx};

pub async fn openid_configuration(
    State(_state): State<AppState>,
    ctx: TenantCtx,
) -> impl IntoResponse {
    let issuer = &ctx.issuer;
    let algs: Vec<&str> = SigningAlg::ALL.iter().map(|a| a.as_str()).collect();
    // Discovery §4.3: `issuer` must be identical to the URL the document was fetched under,
    // minus the well-known suffix.
    let doc = json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
    });
    (super::cacheable_json(), doc.to_string())
}
