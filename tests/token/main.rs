//! The token side of the authorization-code flow over HTTP against a real server, on SQLite and
//! PostgreSQL: the token endpoint (code, refresh, client_credentials), UserInfo, revocation and
//! introspection. One module per area; every test starts its own server.

mod access_token_alg;
mod client_auth;
mod code;
mod cors;
mod fixture;
mod grants;
mod jwks_uri;
mod refresh;
mod requests;
mod resource;
