//! What the challenge page asks for (one enrolled factor, or a recovery code) and what it
//! shows: the prompt, "Use another method", "Trust this device".

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use crate::login::flow::{self, Tx};
use crate::mfa::factor::{self, Prompt};
use crate::mfa::webauthn::Ceremony;
use crate::model::{MfaMethod, TrustPolicy};
use crate::state::{AppState, TenantCtx};
use crate::store::clients::Client;
use crate::store::factors::Factor as StoredFactor;
use crate::web::browser::Browser;
use crate::web::pages::Base;
use crate::web::say::Say;

/// Another way to answer the challenge ("Use another method").
#[derive(Serialize)]
struct Other {
    href: String,
    label: String,
}

#[derive(Serialize)]
struct MfaPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    tx: &'a str,
    csrf: String,
    /// `recovery`, or the kind of the factor asked for (`totp`, `email`).
    method: &'a str,
    factor_id: Option<&'a str>,
    prompt: Prompt,
    /// A security key's ceremony, when one is asked for (`static/webauthn.js` runs it).
    ceremony: Option<&'a Ceremony>,
    /// The factor's code was sent (it can be sent again).
    resend: bool,
    others: Vec<Other>,
    offer_trust: bool,
    trust_days: i64,
    notice: Option<&'a str>,
    error: Option<&'a str>,
    minutes: i64,
    back_url: Option<String>,
}

/// "Trust this device" is offered where the tenant and client allow it, never in a password
/// reset (a reset creates nothing that signs anyone in).
pub(super) fn offer_trust(ctx: &TenantCtx, client: &Client, tx: &Tx) -> bool {
    ctx.tenant.trusted_device_days > 0 && client.trust_policy == TrustPolicy::Any && !tx.extra.reset
}

/// Only a security key or passkey answers this challenge (no recovery code).
fn phishing_resistant(tx: &Tx) -> bool {
    matches!(
        tx.extra.at,
        flow::At::Mfa {
            phishing_resistant: true,
            ..
        }
    )
}

/// What the challenge page asks for: a recovery code, or one enrolled factor.
pub(super) enum Asked {
    Recovery,
    Factor(Box<StoredFactor>),
}

impl Asked {
    pub(super) fn method(&self) -> &str {
        match self {
            Asked::Recovery => "recovery",
            Asked::Factor(f) => f.kind.as_str(),
        }
    }
}

/// The factor named by the page's `method` (and `factor` id, when the user has several of a
/// kind); by default the one used last. `method=recovery` asks for a recovery code, unless
/// the challenge is phishing-resistant.
pub(super) fn choose(tx: &Tx, fs: &[StoredFactor], method: &str, factor_id: &str) -> Option<Asked> {
    if method == "recovery" {
        return (!phishing_resistant(tx)).then_some(Asked::Recovery);
    }
    let pick = fs
        .iter()
        .find(|f| f.id == factor_id)
        .or_else(|| fs.iter().find(|f| f.kind.as_str() == method))
        .or_else(|| method.is_empty().then(|| fs.first()).flatten())?;
    Some(Asked::Factor(Box::new(pick.clone())))
}

/// A page's words: what it shows besides the form, and its status.
pub(super) struct View<'a> {
    pub asked: &'a Asked,
    pub others: &'a [StoredFactor],
    pub say: Say,
    pub resend: bool,
    pub ceremony: Option<Ceremony>,
}

fn others(tx: &Tx, asked: &Asked, fs: &[StoredFactor]) -> Vec<Other> {
    let mut out: Vec<Other> = fs
        .iter()
        .filter(|f| !matches!(asked, Asked::Factor(a) if a.id == f.id))
        .map(|f| Other {
            href: format!(
                "mfa?tx={}&method={}&factor={}",
                tx.handle,
                f.kind.as_str(),
                f.id
            ),
            label: describe_factor(f),
        })
        .collect();
    if !matches!(asked, Asked::Recovery) && !phishing_resistant(tx) {
        out.push(Other {
            href: format!("mfa?tx={}&method=recovery", tx.handle),
            label: "Use a recovery code".into(),
        });
    }
    out
}

/// "Authenticator app (Pixel 8)", "Email (a•••@example.com)".
fn describe_factor(f: &StoredFactor) -> String {
    let name = factor::describe(f.kind).map_or("Two-factor method", |d| d.name);
    match (f.kind, f.target.as_deref()) {
        (MfaMethod::Email, Some(t)) => format!("{name} ({})", crate::otp::mask_email(t)),
        (MfaMethod::Sms, Some(t)) => format!("{name} ({})", crate::phone::mask(t)),
        _ => format!("{name} ({})", f.label),
    }
}

pub(super) fn render(
    state: &AppState,
    ctx: &TenantCtx,
    tx: &Tx,
    browser: &Browser,
    client: &Client,
    view: View<'_>,
) -> Response {
    let (prompt, factor_id) = match view.asked {
        Asked::Recovery => (Prompt::default(), None),
        Asked::Factor(f) => (factor::prompt(f), Some(f.id.as_str())),
    };
    state.templates.page(
        view.say.status.unwrap_or(StatusCode::OK),
        &ctx.tenant.theme,
        "mfa.html",
        MfaPage {
            base: Base::new(&ctx.tenant),
            title: "Two-factor authentication",
            tx: &tx.handle,
            csrf: browser.csrf_token(&state.secret),
            method: view.asked.method(),
            factor_id,
            prompt,
            ceremony: view.ceremony.as_ref(),
            resend: view.resend,
            others: others(tx, view.asked, view.others),
            offer_trust: offer_trust(ctx, client, tx),
            trust_days: ctx.tenant.trusted_device_days,
            notice: view.say.notice,
            error: view.say.error,
            minutes: view.say.minutes,
            back_url: tx.back_url(),
        },
    )
}
