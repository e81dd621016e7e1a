//! RP-Initiated Logout 1.0: `GET|POST {issuer}/logout`. With an `id_token_hint` that is an ID
//! token of this issuer, for a client of this tenant, naming the current session (`sid`), the
//! SSO session ends at once; otherwise the user confirms first (a logout link on another site
//! must not sign people out). Ending the session revokes its session-bound grants. `post_logout_redirect_uri` is honoured only when registered for the
//! client, byte for byte; otherwise the user stays on Gatehouse's "signed out" page.

use crate::ids::ClientId;
use axum::extract::{RawForm, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;
use serde_json::Value;

use crate::crypto::jwt;
use crate::model::now;
use crate::signout;
use crate::state::{AppState, TenantCtx};
use crate::web::browser::Browser;
use crate::web::cookies;
use crate::web::pages::Base;
use crate::web::session::{current_session, session_cookie_path};
use crate::web::{Or500, PageError, PageResult};

#[derive(Serialize)]
struct ConfirmPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    csrf: String,
    post_logout_redirect_uri: Option<&'a str>,
    state: Option<&'a str>,
    client_id: Option<&'a ClientId>,
}

#[derive(Serialize)]
struct SignedOutPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
}

pub async fn logout_get(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> PageResult {
    handle(&state, &ctx, &headers, q.unwrap_or_default().as_bytes()).await
}

pub async fn logout_post(
    State(state): State<AppState>,
    ctx: TenantCtx,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> PageResult {
    handle(&state, &ctx, &headers, &body).await
}

fn bad(state: &AppState, ctx: &TenantCtx, msg: &str) -> PageError {
    PageError::page(
        state,
        ctx,
        StatusCode::BAD_REQUEST,
        "Sign-out request not valid",
        msg,
        None,
    )
}

async fn handle(state: &AppState, ctx: &TenantCtx, headers: &HeaderMap, raw: &[u8]) -> PageResult {
    let params = crate::web::form::parse_params(raw)
        .map_err(|_| bad(state, ctx, "A parameter was given more than once."))?;
    let p = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());

    // The hint proves which client (and session) asks; signature and issuer must check out,
    // expiry does not matter (§2: an expired ID token is still a valid hint). A token that
    // fails that is refused outright, as before. A genuine token of ours that is not an ID
    // token for a client of this tenant (an access token, say) is no hint at all: the user is
    // asked to confirm.
    let hint = match p("id_token_hint") {
        Some(t) => match state
            .keys
            .current(&ctx.tenant.id)
            .await
            .map_err(|e| e.to_string())
            .and_then(|k| jwt::verify(&k.set, t).map_err(|e| e.to_string()))
        {
            Ok(v) if v.claims.get("iss").and_then(Value::as_str) == Some(ctx.issuer.as_str()) => {
                id_token_hint(state, ctx, v).await.or_500(state, ctx)?
            }
            _ => {
                return Err(bad(
                    state,
                    ctx,
                    "The sign-out request carried an ID token this service did not issue.",
                ));
            }
        },
        None => None,
    };
    let hint_aud = hint.as_ref().map(|h| &h.client_id);
    let client_id: Option<ClientId> = match (p("client_id"), hint_aud) {
        (Some(a), Some(b)) if b != a => {
            return Err(bad(state, ctx, "client_id does not match the ID token."));
        }
        (Some(a), _) => Some(a.into()),
        (None, b) => b.cloned(),
    };
    let redirect = match p("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let Some(cid) = client_id.as_ref() else {
                return Err(bad(
                    state,
                    ctx,
                    "The application must identify itself to be sent back after sign-out.",
                ));
            };
            let client = state.client(&ctx.tenant.id, cid).await.or_500(state, ctx)?;
            let registered =
                client.is_some_and(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri));
            if !registered {
                return Err(bad(
                    state,
                    ctx,
                    "The address to return to after sign-out is not registered for this application.",
                ));
            }
            Some(uri.to_owned())
        }
    };

    let session = current_session(state, ctx, headers)
        .await
        .or_500(state, ctx)?;
    let confirmed = match p("csrf") {
        Some(token) => {
            Browser::existing(headers).is_some_and(|b| b.verify_csrf(&state.secret, token))
        }
        None => false,
    };
    // Only an ID token naming this very session ends it without asking: one of another
    // session (or without `sid`) could come from anywhere the user ever signed in.
    let hint_matches = match (&session, &hint) {
        (Some(s), Some(h)) => h.sid.as_deref() == Some(s.id.as_str()),
        (None, _) => true,
        (Some(_), None) => false,
    };
    if session.is_some() && !hint_matches && !confirmed {
        return Ok(confirm_page(
            state,
            ctx,
            headers,
            redirect.as_deref(),
            p("state"),
            client_id.as_ref(),
        ));
    }
    // OIDC Core §11: the session's refresh tokens end with it (offline grants survive).
    if let Some(s) = &session {
        let ended = signout::end_session(&state.db, &ctx.tenant.id, &s.id, now())
            .await
            .or_500(state, ctx)?;
        super::backchannel::spawn(state, ctx, ended.session_ids);
    }
    let secure = state.is_https();
    let mut res = match redirect {
        Some(uri) => {
            let mut url =
                url::Url::parse(&uri).map_err(|_| bad(state, ctx, "Invalid return address."))?;
            if let Some(st) = p("state") {
                url.query_pairs_mut().append_pair("state", st);
            }
            Redirect::to(url.as_str()).into_response()
        }
        None => state.templates.page(
            StatusCode::OK,
            &ctx.tenant.theme,
            "signed_out.html",
            SignedOutPage {
                base: Base::new(&ctx.tenant),
                title: "You have signed out",
            },
        ),
    };
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::delete(cookies::SESSION, &session_cookie_path(ctx), secure),
    );
    Ok(res)
}

/// What a genuine ID token hint tells: the client it was issued to and its session.
struct Hint {
    client_id: ClientId,
    sid: Option<String>,
}

/// An ID token of this issuer for a client of this tenant, or `None`.
async fn id_token_hint(
    state: &AppState,
    ctx: &TenantCtx,
    v: jwt::Verified,
) -> Result<Option<Hint>, crate::store::StoreError> {
    let Some(hint) = parse_hint(&v) else {
        return Ok(None);
    };
    let known = state
        .client(&ctx.tenant.id, &hint.client_id)
        .await?
        .is_some();
    Ok(known.then_some(hint))
}

/// The client and session an ID token names. Access tokens carry `typ: at+jwt` (RFC 9068
/// §2.1) and are not hints; ID tokens are signed with `typ: JWT`. OIDC Core §2: `aud` holds
/// the client id; with several audiences `azp` names the client.
fn parse_hint(v: &jwt::Verified) -> Option<Hint> {
    let typ = v.typ.as_deref().map(str::to_ascii_lowercase);
    if !matches!(typ.as_deref(), None | Some("jwt")) {
        return None;
    }
    let client_id = match v.claims.get("aud") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(a)) if a.len() == 1 => a[0].as_str().map(str::to_owned),
        Some(Value::Array(_)) => v
            .claims
            .get("azp")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    }?;
    let sid = v
        .claims
        .get("sid")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Some(Hint {
        client_id: client_id.into(),
        sid,
    })
}

fn confirm_page(
    state: &AppState,
    ctx: &TenantCtx,
    headers: &HeaderMap,
    redirect: Option<&str>,
    st: Option<&str>,
    client_id: Option<&ClientId>,
) -> Response {
    let browser = Browser::from_headers(headers);
    let mut res = state.templates.page(
        StatusCode::OK,
        &ctx.tenant.theme,
        "logout.html",
        ConfirmPage {
            base: Base::new(&ctx.tenant),
            title: "Sign out?",
            csrf: browser.csrf_token(&state.secret),
            post_logout_redirect_uri: redirect,
            state: st,
            client_id,
        },
    );
    if browser.is_new {
        let secure = state.is_https();
        res.headers_mut()
            .append(header::SET_COOKIE, browser.cookie(secure));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SigningAlg;
    use serde_json::json;

    fn token(typ: Option<&str>, claims: Value) -> jwt::Verified {
        jwt::Verified {
            claims: claims.as_object().unwrap().clone(),
            typ: typ.map(str::to_owned),
            alg: SigningAlg::Rs256,
        }
    }

    #[test]
    fn only_id_tokens_are_hints() {
        let id = json!({"aud": "app", "sid": "s1"});
        let h = parse_hint(&token(Some("JWT"), id.clone())).unwrap();
        assert_eq!(
            (h.client_id.as_str(), h.sid.as_deref()),
            ("app", Some("s1"))
        );
        assert!(parse_hint(&token(None, id.clone())).is_some());
        assert!(parse_hint(&token(Some("at+jwt"), id.clone())).is_none());
        assert!(parse_hint(&token(Some("application/at+jwt"), id)).is_none());
    }

    #[test]
    fn the_client_comes_from_aud_or_azp() {
        let many = json!({"aud": ["app", "api"], "azp": "app"});
        assert_eq!(
            parse_hint(&token(Some("JWT"), many)).unwrap().client_id,
            "app"
        );
        let one = json!({"aud": ["app"]});
        let h = parse_hint(&token(Some("JWT"), one)).unwrap();
        assert_eq!((h.client_id.as_str(), h.sid), ("app", None));
        assert!(parse_hint(&token(Some("JWT"), json!({"sub": "u"}))).is_none());
    }
}
