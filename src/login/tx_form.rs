//! A posted login-stage form: its fields, the login transaction its `tx` field names (bound to
//! this browser, see [`flow::load`]) and its CSRF token, checked in that order, the order the
//! pages have always checked them: a dead transaction, or a form from another browser, is the
//! "expired" page whatever its token; a live one with a bad token gets the refusal page `R`
//! with the link back to the application. Stage checks stay with each handler.
//!
//! The stages after the credentials check the stage (and find the client and the user) before
//! the token, as they always have: [`load_posted`].

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::response::IntoResponse;

use super::flow::{self, Stage, Tx};
use super::tx::load_at;
use crate::state::{AppState, TenantCtx};
use crate::store::clients::Client;
use crate::store::users::User;
use crate::web::browser::Browser;
use crate::web::csrf_form::{CsrfRefusal, FormFields};
use crate::web::page_error::PageError;

pub struct TxForm<R> {
    pub tx: Tx,
    pub browser: Browser,
    pub fields: FormFields,
    refusal: PhantomData<fn() -> R>,
}

impl<R: CsrfRefusal> FromRequest<AppState> for TxForm<R> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = req.into_parts();
        let ctx = TenantCtx::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let headers = parts.headers.clone();
        let fields = FormFields::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let (tx, browser) = flow::load(state, &ctx, &headers, Some(fields.get("tx"))).await?;
        if !fields.csrf_ok(state, &browser) {
            return Err(R::refuse(state, &ctx, tx.back_url().as_deref()));
        }
        Ok(TxForm {
            tx,
            browser,
            fields,
            refusal: PhantomData,
        })
    }
}

/// The preamble of a posted form of a stage after the credentials (the challenge, the
/// enrolment and its proof, the recovery codes): the transaction loaded at `stage` with its
/// client and user ([`load_at`]: one at another stage redirects there), *then* the form's CSRF
/// token checked, the order these pages have always checked them. A bad token is the "expired"
/// page with the link back to the application.
pub async fn load_posted(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    fields: &FormFields,
    stage: Stage,
) -> Result<(Tx, Browser, std::sync::Arc<Client>, User), PageError> {
    let (tx, browser, client, user) =
        load_at(state, ctx, headers, Some(fields.get("tx")), stage).await?;
    if !fields.csrf_ok(state, &browser) {
        return Err(PageError::expired(state, ctx, tx.back_url().as_deref()));
    }
    Ok((tx, browser, client, user))
}
