//! Every integration test in one binary: the crate graph is linked once and `common` compiled
//! once (as ~40 binaries they took minutes of CI and filled a CI machine's disk). The test
//! command runs it with cargo-nextest, one process per test, so tests that set environment
//! variables or start servers stay as isolated as they were in their own binaries.

#[macro_use]
mod common;

mod account;
mod account_proof;
mod admin_api;
mod admin_api_clients;
mod admin_api_users;
mod authorize;
mod backchannel;
mod binary;
mod change_email;
mod cli;
mod console;
mod db_faults;
mod demo_app;
mod discovery;
mod email_factor;
mod enrol_proof;
mod explain;
mod fuzz_parsers;
mod housekeeping;
mod keys_in_db;
mod limits;
mod login;
mod mail;
mod mail_logs;
mod metrics;
mod mfa;
mod mfa_mail;
mod nodes;
mod password_reset;
mod profile;
mod rate_limits;
mod registration;
mod request_limits;
mod rp_flow;
mod sessions;
mod sms_factor;
mod sms_gateways;
mod sms_logs;
#[path = "token/main.rs"]
mod token;
mod transactions;
mod webauthn;
