//! The pages that set up a factor, shared by the sign-in enrolment (`login::enrol`) and the
//! account pages (`account::manage`): the method chooser and the email set-up ("Send a one-time
//! use code" → "Verification code" → "Enable"), and what they say about each outcome.

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::pages::Base;
use super::say::{Say, say_checked, say_sent};
use crate::mfa::factor::Pending;
use crate::model::MfaMethod;
use crate::otp::{Checked, OtpError, Sent, mask_email};
use crate::state::{AppState, TenantCtx};

use crate::mfa::MfaDeps;
use crate::mfa::email_code::{parse_address, send_setup_code};
use crate::store::tenants::Tenant;
use crate::store::users::User;

#[derive(Serialize)]
pub struct MethodChoice {
    pub href: String,
    pub label: &'static str,
    pub hint: &'static str,
}

/// "Select a method of authentication": links to each method's set-up; Skip when the
/// enrolment is only offered (at sign-in, `tx` and `csrf` post it).
pub struct Choose<'a> {
    pub title: &'a str,
    pub methods: Vec<MethodChoice>,
    pub tx: Option<&'a str>,
    pub csrf: Option<String>,
    pub skippable: bool,
    /// The account overview, on the account pages.
    pub back: Option<&'a str>,
}

#[derive(Serialize)]
struct ChoosePage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    methods: Vec<MethodChoice>,
    tx: Option<&'a str>,
    csrf: Option<String>,
    skippable: bool,
    back: Option<&'a str>,
}

pub fn choose_page(state: &AppState, ctx: &TenantCtx, c: Choose<'_>) -> Response {
    state.templates.page(
        StatusCode::OK,
        &ctx.tenant.theme,
        "choose_method.html",
        ChoosePage {
            base: Base::new(&ctx.tenant),
            title: c.title,
            methods: c.methods,
            tx: c.tx,
            csrf: c.csrf,
            skippable: c.skippable,
            back: c.back,
        },
    )
}

/// The email set-up page: the address form, and once a code went out, the code form.
pub struct EmailSetup<'a> {
    /// Where the forms post (relative to the page).
    pub action: &'a str,
    pub tx: Option<&'a str>,
    pub csrf: String,
    /// The sealed enrolment (the account pages carry it in the form).
    pub pending: &'a str,
    pub address: &'a str,
    pub sent: bool,
    pub label: &'a str,
    pub skippable: bool,
    pub back: Option<&'a str>,
    pub say: Say,
}

#[derive(Serialize)]
struct EmailPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    action: &'a str,
    tx: Option<&'a str>,
    csrf: String,
    pending: &'a str,
    address: &'a str,
    masked: String,
    sent: bool,
    label: &'a str,
    skippable: bool,
    back: Option<&'a str>,
    notice: Option<&'a str>,
    error: Option<&'a str>,
    minutes: i64,
}

pub fn page(state: &AppState, ctx: &TenantCtx, e: EmailSetup<'_>) -> Response {
    state.templates.page(
        e.say.status.unwrap_or(StatusCode::OK),
        &ctx.tenant.theme,
        "email_setup.html",
        EmailPage {
            base: Base::new(&ctx.tenant),
            title: "Set up email codes",
            action: e.action,
            tx: e.tx,
            csrf: e.csrf,
            pending: e.pending,
            address: e.address,
            masked: mask_email(e.address),
            sent: e.sent,
            label: e.label,
            skippable: e.skippable,
            back: e.back,
            notice: e.say.notice,
            error: e.say.error,
            minutes: e.say.minutes,
        },
    )
}

/// The address "Send a one-time use code" goes to: the typed one, or for "Request a new code"
/// the one the last code went to. `None` when there is none that could receive mail.
pub fn address_to_send(previous: &Option<String>, typed: &str, resend: bool) -> Option<String> {
    if resend {
        previous.clone()
    } else {
        parse_address(typed)
    }
}

/// "Send a one-time use code" / "Request a new code" on the email set-up page: mails a set-up
/// code to `address` (`None`: nothing is sent, the page asks for a valid address) for this
/// sign-in or session (`scope`), and returns what the page says and the enrolment from then on:
/// the new address once a code went to it, else the previous one.
pub async fn send_code(
    deps: &MfaDeps<'_>,
    to: (&Tenant, &User),
    scope: &str,
    address: Option<String>,
    previous: &Option<String>,
    resend: bool,
) -> Result<(Say, Pending), OtpError> {
    let Some(address) = address else {
        let say = Say {
            error: Some("Enter a valid email address, such as name@example.com."),
            status: Some(StatusCode::BAD_REQUEST),
            ..Say::default()
        };
        let pending = Pending::Email {
            address: previous.clone(),
        };
        return Ok((say, pending));
    };
    let outcome = send_setup_code(deps, to.0, to.1, &address, scope).await;
    let went = matches!(outcome, Ok(Sent::Sent { .. }));
    let mut say = say_sent(outcome.map(Some), true)?;
    if went && !resend {
        say.notice = Some("We sent a code. Check your inbox.");
    }
    let address = if went {
        Some(address)
    } else {
        previous.clone()
    };
    Ok((say, Pending::Email { address }))
}

/// The words for a first code that did not confirm a set-up.
pub fn say_refused(kind: MfaMethod, checked: Checked) -> Say {
    if kind == MfaMethod::Totp {
        return Say {
            error: Some(
                "That code didn't work. Check the time on your phone and enter the current 6-digit code.",
            ),
            status: Some(StatusCode::UNAUTHORIZED),
            ..Say::default()
        };
    }
    say_checked(checked)
}
