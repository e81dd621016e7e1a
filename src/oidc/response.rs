//! Authorization responses (RFC 6749 §4.1.2): `query` as a 303 redirect, or `form_post` as an
//! auto-submitting HTML form (OAuth 2.0 Form Post Response Mode). Every response carries `iss`
//! (RFC 9207) so clients can tell which issuer answered.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;
use url::Url;

use super::authz_request::ResponseMode;
use crate::web::templates::Templates;

#[derive(Serialize)]
struct FormPostPage<'a> {
    action: &'a str,
    fields: &'a [(String, String)],
    theme: &'a str,
    title: &'a str,
    tenant_name: &'a str,
}

/// Sends `params` (plus `iss`) to `redirect_uri` using `mode`.
pub fn send(
    templates: &Templates,
    tenant: &crate::store::tenants::Tenant,
    issuer: &str,
    redirect_uri: &str,
    mode: ResponseMode,
    params: Vec<(&'static str, Option<String>)>,
) -> Response {
    let mut fields: Vec<(String, String)> = params
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect();
    fields.push(("iss".into(), issuer.to_owned()));
    match mode {
        ResponseMode::Query => {
            let Ok(mut url) = Url::parse(redirect_uri) else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            url.query_pairs_mut().extend_pairs(fields.iter());
            Redirect::to(url.as_str()).into_response()
        }
        ResponseMode::FormPost => {
            let mut res = templates.page(
                StatusCode::OK,
                &tenant.theme,
                "form_post.html",
                FormPostPage {
                    action: redirect_uri,
                    fields: &fields,
                    theme: &tenant.theme,
                    title: "Continue",
                    tenant_name: &tenant.name,
                },
            );
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
    }
}
