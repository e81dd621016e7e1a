//! The admin command groups: their clap definitions (`args`) and handlers, one file per group.
//! Each returns an [`crate::Output`]: one JSON object for `--json`, a line of text otherwise.

pub mod admins;
pub mod api_keys;
pub mod args;
pub mod audit;
pub mod clients;
pub mod explain;
pub mod keys;
pub mod tenants;
pub mod users;
