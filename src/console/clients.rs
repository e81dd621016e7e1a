//! A tenant's clients: the list, one client's registration, **Rotate secret** (the new secret
//! is shown on the answer page once, as `gatehouse client rotate-secret` prints it) and
//! **Delete**. Both want a fresh second factor. Gatehouse's own clients (the account pages',
//! the console's) are listed as built-in and offer neither.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;

use super::{AdminIn, Confirm, Frame, done, render};
use crate::admin::builtin::is_builtin as builtin;
use crate::admin::{self, AdminError};
use crate::ids::ClientId;
use crate::model::now;
use crate::state::AppState;
use crate::store::clients::{self, Client};
use crate::web::{FormFields, Or500, PageError, PageResult};

#[derive(Serialize)]
struct ClientRow<'a> {
    c: &'a Client,
    builtin: bool,
    uses_secret: bool,
}

fn row(c: &Client) -> ClientRow<'_> {
    let auth = admin::client_auth::TokenAuth {
        method: c.token_endpoint_auth_method,
        jwks: None,
        jwks_uri: None,
    };
    ClientRow {
        c,
        builtin: builtin(c),
        uses_secret: auth.uses_secret() && !builtin(c),
    }
}

#[derive(Serialize)]
struct ListPage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    clients: Vec<ClientRow<'a>>,
    notice: Option<&'static str>,
}

const DELETED: &str = "The client was deleted and its tokens revoked.";

/// `GET /admin/t/{slug}/clients`.
pub async fn list(
    State(state): State<AppState>,
    at: AdminIn,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> PageResult {
    let all = clients::list(&state.db, &at.tenant.id)
        .await
        .or_500(&state, &at.admin.system)?;
    let page = ListPage {
        frame: Frame::new(&at.admin, Some(&at.tenant), "clients", "Clients"),
        clients: all.iter().map(row).collect(),
        notice: super::notice(&q, &[DELETED]),
    };
    Ok(render(&state, &at.admin, "admin_clients.html", page))
}

async fn subject(state: &AppState, at: &AdminIn, id: &str) -> Result<Client, PageError> {
    let id = ClientId::from(id.to_owned());
    match clients::find(&state.db, &at.tenant.id, &id).await {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(at.admin.not_found(state)),
        Err(e) => Err(PageError::internal(state, &at.admin.system, e)),
    }
}

/// An action on a built-in client is refused like an unknown one.
async fn changeable(state: &AppState, at: &AdminIn, id: &str) -> Result<Client, PageError> {
    let c = subject(state, at, id).await?;
    if builtin(&c) {
        return Err(at.admin.not_found(state));
    }
    Ok(c)
}

#[derive(Serialize)]
struct ClientPage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    r: ClientRow<'a>,
    path: String,
    created: String,
    /// Only on the answer to a rotation.
    new_secret: Option<String>,
}

fn client_path(at: &AdminIn, c: &Client) -> String {
    format!("/admin/t/{}/clients/{}", at.tenant.slug, c.id)
}

fn client_page(
    state: &AppState,
    at: &AdminIn,
    c: &Client,
    new_secret: Option<String>,
) -> PageResult {
    let page = ClientPage {
        frame: Frame::new(&at.admin, Some(&at.tenant), "clients", &c.name),
        r: row(c),
        path: client_path(at, c),
        created: super::time(c.created_at),
        new_secret,
    };
    Ok(render(state, &at.admin, "admin_client.html", page))
}

/// `GET /admin/t/{slug}/clients/{client_id}`.
pub async fn show(
    State(state): State<AppState>,
    at: AdminIn,
    Path((_, id)): Path<(String, String)>,
) -> PageResult {
    let c = subject(&state, &at, &id).await?;
    client_page(&state, &at, &c, None)
}

/// `GET .../secret`: what rotating does, after a fresh second factor.
pub async fn confirm_rotate(
    State(state): State<AppState>,
    at: AdminIn,
    Path((_, id)): Path<(String, String)>,
) -> PageResult {
    let c = changeable(&state, &at, &id).await?;
    at.confirm(&state, Confirm {
        here: format!("{}/secret", client_path(&at, &c)),
        section: "clients",
        title: "Rotate secret",
        heading: format!("Rotate the secret of {}?", c.name),
        consequences: vec![
            "A new secret replaces the old one at once: it is shown once, on the next page.".into(),
            "Every later token, revocation or introspection request of this client needs the new secret; tokens already issued stay valid until they expire.".into(),
        ],
        button: "Rotate secret",
        back: client_path(&at, &c),
    })
}

/// `POST .../secret`: the answer page is the only place the new secret is shown.
pub async fn rotate(
    State(state): State<AppState>,
    at: AdminIn,
    Path((_, id)): Path<(String, String)>,
    form: FormFields,
) -> PageResult {
    let c = changeable(&state, &at, &id).await?;
    at.check(
        &state,
        &form,
        Some(&format!("{}/secret", client_path(&at, &c))),
    )?;
    let actor = at.admin.actor();
    match admin::clients::rotate_secret(&state.db, &actor, &at.tenant.slug, &c.id).await {
        Ok((c, secret)) => {
            let mut res = client_page(&state, &at, &c, Some(secret))?;
            res.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            Ok(res)
        }
        Err(AdminError::Invalid(why)) => Err(PageError::page(
            &state,
            &at.admin.system,
            StatusCode::BAD_REQUEST,
            "This client has no secret",
            &why,
            Some(&client_path(&at, &c)),
        )),
        Err(e) => Err(PageError::internal(&state, &at.admin.system, e)),
    }
}

/// `GET .../delete`.
pub async fn confirm_delete(
    State(state): State<AppState>,
    at: AdminIn,
    Path((_, id)): Path<(String, String)>,
) -> PageResult {
    let c = changeable(&state, &at, &id).await?;
    at.confirm(
        &state,
        Confirm {
            here: format!("{}/delete", client_path(&at, &c)),
            section: "clients",
            title: "Delete client",
            heading: format!("Delete {}?", c.name),
            consequences: vec![
                "Its sign-ins stop working: /authorize answers that the client is unknown.".into(),
                "Every refresh and access token it was given is revoked, offline ones too.".into(),
                "The consents users gave it are removed. This cannot be undone.".into(),
            ],
            button: "Delete client",
            back: client_path(&at, &c),
        },
    )
}

/// `POST .../delete`.
pub async fn delete(
    State(state): State<AppState>,
    at: AdminIn,
    Path((_, id)): Path<(String, String)>,
    form: FormFields,
) -> PageResult {
    let c = changeable(&state, &at, &id).await?;
    at.check(
        &state,
        &form,
        Some(&format!("{}/delete", client_path(&at, &c))),
    )?;
    let actor = at.admin.actor();
    admin::clients::delete(&state.db, &actor, &at.tenant.slug, &c.id, now())
        .await
        .or_500(&state, &at.admin.system)?;
    Ok(done(
        &format!("/admin/t/{}/clients", at.tenant.slug),
        DELETED,
    ))
}
