//! Hosted self-service at `{issuer}/account`: "Manage two-factor", the profile, the password
//! and the email address. Plain HTML forms with CSRF tokens and POST-redirect-GET; every security change
//! needs a recent authentication, writes an audit event and emails the user (the profile, which
//! guards nothing, needs only the sign-in and writes its audit event).

pub mod add;
pub mod codes;
pub mod email;
pub mod guard;
pub mod manage;
pub mod overview;
pub mod password;
pub mod profile;
pub mod proof;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/account", get(overview::show))
        .route("/t/{tenant}/account/callback", get(overview::callback))
        .route("/t/{tenant}/account/reauth", get(overview::reauth))
        .route("/t/{tenant}/account/add", get(add::choose_method))
        .route(
            "/t/{tenant}/account/add/{method}",
            get(add::add_page).post(add::add),
        )
        .route(
            "/t/{tenant}/account/profile",
            get(profile::show).post(profile::save),
        )
        .route(
            "/t/{tenant}/account/password",
            get(password::show).post(password::submit),
        )
        .route(
            "/t/{tenant}/account/email",
            get(email::show).post(email::submit),
        )
        .route(
            "/t/{tenant}/account/verify-email",
            get(proof::show).post(proof::submit),
        )
        .route(
            "/t/{tenant}/account/factors/{id}/rename",
            post(manage::rename),
        )
        .route(
            "/t/{tenant}/account/factors/{id}/remove",
            post(manage::remove),
        )
        .route(
            "/t/{tenant}/account/recovery-codes",
            get(codes::codes_page).post(codes::regenerate),
        )
        .route(
            "/t/{tenant}/account/devices/{id}/revoke",
            post(manage::revoke_device),
        )
        .route(
            "/t/{tenant}/account/sessions/others",
            post(manage::sign_out_others),
        )
}
