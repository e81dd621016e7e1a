//! The grants the token endpoint serves (RFC 6749 §4.1.3, §4.4, §6), one file each, and what
//! they share: the request context, the response body and the minting of tokens ([`issue`]).

pub mod authorization_code;
pub mod client_credentials;
pub mod issue;
pub mod refresh_token;

use crate::ids::UserId;
use std::collections::HashMap;

use serde::Serialize;

use super::error::OAuthError;
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::clients::Client;
use crate::store::tenants::Tenant;
use crate::store::users::{self, User};

/// The `grant_type` values Gatehouse implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub fn parse(s: &str) -> Option<GrantType> {
        match s {
            "authorization_code" => Some(GrantType::AuthorizationCode),
            "refresh_token" => Some(GrantType::RefreshToken),
            "client_credentials" => Some(GrantType::ClientCredentials),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }
}

/// One token request after client authentication: who asks, for which tenant, with what.
pub struct GrantCtx<'a> {
    pub state: &'a AppState,
    pub tenant: &'a Tenant,
    pub issuer: &'a str,
    pub client: &'a Client,
    pub form: &'a HashMap<String, String>,
    pub now: i64,
}

impl GrantCtx<'_> {
    /// A form parameter the grant cannot do without (RFC 6749 §5.2 `invalid_request`).
    pub fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.form
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
    }

    /// The user a grant acts for. A user deleted or locked since the login cannot receive new
    /// tokens: the grant is no longer valid (`invalid_grant`).
    pub async fn active_user(&self, user_id: &UserId) -> Result<User, OAuthError> {
        match users::get(&self.state.db, &self.tenant.id, user_id).await {
            Ok(u) if !u.locked => Ok(u),
            Ok(_) | Err(StoreError::NotFound(_)) => Err(OAuthError::invalid_grant(
                "the user of this grant is not active",
            )),
            Err(e) => Err(OAuthError::internal("user lookup failed", e)),
        }
    }
}

/// RFC 6749 §5.1 successful response (plus `id_token`, OIDC Core §3.1.3.3).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Maps a store failure to `server_error`, logging the detail.
pub(crate) fn db_error(e: StoreError) -> OAuthError {
    OAuthError::internal("token store failed", e)
}
