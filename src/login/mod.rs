//! The hosted interaction: from `/authorize` through the hosted pages to the authorization
//! response. A login transaction is a small state machine ([`flow::Stage`]); each request
//! advances it by one step. The MFA stage comes between the password (or passkey) and consent
//! stages; [`flow::advance`] is the one way a transaction moves on.

pub mod codes;
pub mod consent;
pub mod enrol;
pub mod enrol_proof;
pub mod finish;
pub mod flow;
pub mod inbox;
pub mod mfa;
pub mod new_password;
pub mod passkey;
pub mod password;
pub mod register;
pub mod reset;
pub mod start;
pub mod tx;
pub mod tx_form;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/t/{tenant}/authorize",
            get(start::authorize_get).post(start::authorize_post),
        )
        .route(
            "/t/{tenant}/login",
            get(password::show).post(password::submit),
        )
        .route("/t/{tenant}/login/passkey", post(passkey::submit))
        .route("/t/{tenant}/mfa", get(mfa::show).post(mfa::submit))
        .route("/t/{tenant}/enrol", get(enrol::show).post(enrol::submit))
        .route(
            "/t/{tenant}/enrol/verify-email",
            get(enrol_proof::show).post(enrol_proof::submit),
        )
        .route(
            "/t/{tenant}/recovery-codes",
            get(codes::show_codes).post(codes::codes_done),
        )
        .route("/t/{tenant}/recovery-codes.txt", get(codes::download_codes))
        .route(
            "/t/{tenant}/consent",
            get(consent::show).post(consent::submit),
        )
        .route(
            "/t/{tenant}/register",
            get(register::show).post(register::submit),
        )
        .route(
            "/t/{tenant}/register/verify",
            get(register::verify_show).post(register::verify_submit),
        )
        .route(
            "/t/{tenant}/register/confirm",
            get(inbox::confirm_page::<inbox::RegistrationLink>).post(register::confirm_submit),
        )
        .route("/t/{tenant}/reset", get(reset::show).post(reset::submit))
        .route(
            "/t/{tenant}/reset/verify",
            get(reset::sent_show).post(reset::sent_submit),
        )
        .route(
            "/t/{tenant}/reset/confirm",
            get(inbox::confirm_page::<inbox::ResetLink>).post(reset::confirm_submit),
        )
        .route(
            "/t/{tenant}/password",
            get(new_password::show).post(new_password::submit),
        )
}
