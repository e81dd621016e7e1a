//! The admin command handlers behind `main.rs`'s clap definitions, one file per command group.
//! Each returns an [`crate::Output`]: one JSON object for `--json`, a line of text otherwise.

pub mod api_keys;
pub mod audit;
pub mod clients;
pub mod explain;
pub mod keys;
pub mod tenants;
pub mod users;
