//! Posted forms of the hosted pages: the body read once and parsed, and its `csrf` field
//! checked against this browser's cookie (see `web::browser`: the token is valid only in the
//! browser it was issued to).
//!
//! To adopt in a handler:
//! - [`CsrfForm<R>`] when the form needs nothing but the browser: it rejects a missing cookie
//!   or a bad token with the refusal page `R` before the handler runs.
//! - When the page must first find what the form is about (a login transaction: see
//!   `login::tx_form::TxForm`; a signed-in visitor), and *that* failure has its own page, take
//!   [`FormFields`] and check with [`FormFields::csrf_ok`] once the subject is found, so every
//!   dead end keeps its page.

use std::collections::HashMap;
use std::marker::PhantomData;

use axum::extract::rejection::RawFormRejection;
use axum::extract::{FromRequest, FromRequestParts, RawForm, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::browser::Browser;
use super::page_error::PageError;
use crate::state::{AppState, TenantCtx};

/// A posted form's fields. Read with `RawForm`, so the router's body limit
/// (`server.max_body_bytes`) applies and an oversized body is refused as before (413). A field
/// given twice voids the whole form (`web::form::parse_params`): every field reads empty.
pub struct FormFields(HashMap<String, String>);

impl FormFields {
    pub fn parse(body: &[u8]) -> FormFields {
        FormFields(super::form::parse_params(body).unwrap_or_default())
    }

    /// The field's value, empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }

    /// The field's value, `None` when absent.
    pub fn value(&self, name: &str) -> Option<&String> {
        self.0.get(name)
    }

    /// The form's `csrf` token was issued to `browser`.
    pub fn csrf_ok(&self, state: &AppState, browser: &Browser) -> bool {
        browser.verify_csrf(&state.secret, self.get("csrf"))
    }
}

impl<S: Send + Sync> FromRequest<S> for FormFields {
    type Rejection = RawFormRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawForm(body) = RawForm::from_request(req, state).await?;
        Ok(FormFields::parse(&body))
    }
}

/// The page a form with a missing or bad token gets, with the page's back link when it knows one.
pub trait CsrfRefusal {
    fn refuse(state: &AppState, ctx: &TenantCtx, back_url: Option<&str>) -> PageError;
}

/// "This sign-in has expired" (400), as for a dead login transaction.
pub struct AsExpired;

impl CsrfRefusal for AsExpired {
    fn refuse(state: &AppState, ctx: &TenantCtx, back_url: Option<&str>) -> PageError {
        PageError::expired(state, ctx, back_url)
    }
}

/// "This form has expired" (403), telling the user to sign in again.
pub struct AsFormExpired;

impl CsrfRefusal for AsFormExpired {
    fn refuse(state: &AppState, ctx: &TenantCtx, back_url: Option<&str>) -> PageError {
        PageError::page(
            state,
            ctx,
            StatusCode::FORBIDDEN,
            "This form has expired",
            "For your security the form could not be accepted. Go back to the application and \
             sign in again.",
            back_url,
        )
    }
}

/// A posted form whose token checked out against this browser's (existing) cookie.
pub struct CsrfForm<R> {
    pub fields: FormFields,
    pub browser: Browser,
    refusal: PhantomData<fn() -> R>,
}

impl<R: CsrfRefusal> FromRequest<AppState> for CsrfForm<R> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let ctx = TenantCtx::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        // Only a cookie the browser already had counts: a new one proves nothing.
        let browser = Browser::existing(&parts.headers);
        let fields = FormFields::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        match browser {
            Some(browser) if fields.csrf_ok(state, &browser) => Ok(CsrfForm {
                fields,
                browser,
                refusal: PhantomData,
            }),
            _ => Err(R::refuse(state, &ctx, None).into_response()),
        }
    }
}
