//! Key material and secrets: signing keys, password hashing, random tokens and hashing of the
//! secrets browsers and clients present.

pub mod jwt;
pub mod key_store;
pub mod keyring;
pub mod keys;
pub mod password;
pub mod random;
pub mod seal;
pub mod secret;
pub mod tenant_keys;
