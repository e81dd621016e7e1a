//! The pages that set up a factor, shared by the sign-in enrolment (`login::enrol`) and the
//! account pages (`account::add`): the method chooser and the set-up of a factor whose codes
//! are sent, email or SMS ("Send a one-time use code" / "Send code" → "Verification code" →
//! "Enable"), and what they say about each outcome.

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::client_ip::limit_key;
use super::pages::Base;
use super::say::{COUNTRY_NOT_ALLOWED, Say, say_checked, say_sent};
use crate::mfa::MfaDeps;
use crate::mfa::email_code::parse_address;
use crate::mfa::factor::Pending;
use crate::mfa::sent_code::send_setup;
use crate::mfa::webauthn::Ceremony;
use crate::model::MfaMethod;
use crate::otp::{Checked, OtpError, Purpose, Recipient, Sent, mask_email};
use crate::state::{AppState, TenantCtx};
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

/// The set-up page of a factor whose codes are sent (email, SMS): the address or number form,
/// and once a code went out, the code form.
pub struct CodeSetup<'a> {
    /// Where the forms post (a path relative to the page, or absolute).
    pub action: &'a str,
    pub tx: Option<&'a str>,
    pub csrf: String,
    /// The enrolment, and sealed (the account pages carry it in the form).
    pub pending: &'a Pending,
    pub sealed: &'a str,
    /// Whose factor it is: their address (or number) fills the field until a code was sent.
    pub user: &'a User,
    pub label: &'a str,
    pub skippable: bool,
    pub back: Option<&'a str>,
    pub say: Say,
}

#[derive(Serialize)]
struct CodeSetupPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    /// Texts rather than mails: a phone number field.
    sms: bool,
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

pub fn page(state: &AppState, ctx: &TenantCtx, e: CodeSetup<'_>) -> Response {
    let sms = e.pending.kind() == MfaMethod::Sms;
    let sent = e.pending.sent_to();
    let address = match (sent, sms) {
        (Some(a), _) => a.as_str(),
        (None, true) => e.user.phone.as_deref().unwrap_or_default(),
        (None, false) => &e.user.email,
    };
    let (title, masked) = if sms {
        ("Set up text message codes", crate::phone::mask(address))
    } else {
        ("Set up email codes", mask_email(address))
    };
    state.templates.page(
        e.say.status.unwrap_or(StatusCode::OK),
        &ctx.tenant.theme,
        "code_setup.html",
        CodeSetupPage {
            base: Base::new(&ctx.tenant),
            title,
            sms,
            action: e.action,
            tx: e.tx,
            csrf: e.csrf,
            pending: e.sealed,
            address,
            masked,
            sent: sent.is_some(),
            label: e.label,
            skippable: e.skippable,
            back: e.back,
            notice: e.say.notice,
            error: e.say.error,
            minutes: e.say.minutes,
        },
    )
}

/// The set-up page of a security key or passkey: a name, then Continue runs the browser's
/// ceremony (`static/webauthn.js`), whose answer the form posts as `code`.
pub struct KeySetup<'a> {
    pub action: &'a str,
    pub tx: Option<&'a str>,
    pub csrf: String,
    pub sealed: &'a str,
    pub ceremony: &'a Ceremony,
    pub label: &'a str,
    pub skippable: bool,
    pub back: Option<&'a str>,
    pub say: Say,
}

#[derive(Serialize)]
struct KeySetupPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    title: &'a str,
    action: &'a str,
    tx: Option<&'a str>,
    csrf: String,
    pending: &'a str,
    ceremony: &'a Ceremony,
    label: &'a str,
    skippable: bool,
    back: Option<&'a str>,
    error: Option<&'a str>,
}

pub fn key_page(state: &AppState, ctx: &TenantCtx, k: KeySetup<'_>) -> Response {
    state.templates.page(
        k.say.status.unwrap_or(StatusCode::OK),
        &ctx.tenant.theme,
        "webauthn_setup.html",
        KeySetupPage {
            base: Base::new(&ctx.tenant),
            title: "Add a security key or passkey",
            action: k.action,
            tx: k.tx,
            csrf: k.csrf,
            pending: k.sealed,
            ceremony: k.ceremony,
            label: k.label,
            skippable: k.skippable,
            back: k.back,
            error: k.say.error,
        },
    )
}

/// Where "Send" goes: the typed address or number (a number read in the tenant's default
/// region, and only to a country it texts), or for "Request a new code" where the last code
/// went. `Err`: the words for why nothing can be sent.
pub fn address_to_send(
    tenant: &Tenant,
    pending: &Pending,
    typed: &str,
    resend: bool,
) -> Result<String, &'static str> {
    if resend && let Some(previous) = pending.sent_to() {
        return Ok(previous.clone());
    }
    if pending.kind() != MfaMethod::Sms {
        return parse_address(typed)
            .ok_or("Enter a valid email address, such as name@example.com.");
    }
    let number = crate::phone::parse_mobile(typed, &tenant.sms_default_region)
        .map_err(crate::phone::PhoneError::message)?;
    if !tenant.sms_countries().contains(&number.country_code) {
        return Err(COUNTRY_NOT_ALLOWED);
    }
    Ok(number.e164)
}

/// Who sends a set-up code, from where: the tenant and user, the sign-in transaction or
/// session (`scope`, for the per-scope throttle) and the client's IP (the per-IP cap on texts).
pub struct Sender<'a> {
    pub tenant: &'a Tenant,
    pub user: &'a User,
    pub scope: &'a str,
    pub ip: std::net::IpAddr,
}

/// "Send" / "Request a new code" on a set-up page: sends a set-up code to `address` (`Err`:
/// nothing is sent, the page says why), and returns what the page says and the enrolment from
/// then on: the new address once a code went to it, else the previous one.
pub async fn send_code(
    deps: &MfaDeps<'_>,
    from: Sender<'_>,
    address: Result<String, &'static str>,
    pending: &Pending,
    resend: bool,
) -> Result<(Say, Pending), OtpError> {
    let address = match address {
        Ok(a) => a,
        Err(words) => return Ok((say_unusable(words), pending.clone())),
    };
    let sms = pending.kind() == MfaMethod::Sms;
    let purpose = if sms {
        Purpose::SmsSetup
    } else {
        Purpose::EmailSetup
    };
    let network = limit_key(from.ip);
    let to = Recipient {
        tenant: from.tenant,
        user: from.user,
        address: &address,
        scope: from.scope,
        ip: Some(&network),
    };
    let outcome = send_setup(deps, purpose, to).await;
    let went = matches!(outcome, Ok(Sent::Sent { .. }));
    let mut say = say_sent(outcome.map(Some), true)?;
    if went && !resend {
        say.notice = Some(if sms {
            "We sent a code by text message. Check your phone."
        } else {
            "We sent a code. Check your inbox."
        });
    }
    let pending = if went {
        pending.with_sent_to(Some(address))
    } else {
        pending.clone()
    };
    Ok((say, pending))
}

/// The page's words for an address or number that cannot receive a code.
fn say_unusable(error: &'static str) -> Say {
    Say {
        error: Some(error),
        status: Some(StatusCode::BAD_REQUEST),
        ..Say::default()
    }
}

/// The words for a first code that did not confirm a set-up.
pub fn say_refused(kind: MfaMethod, checked: Checked) -> Say {
    if kind == MfaMethod::Webauthn {
        return Say {
            error: Some(if checked == Checked::Expired {
                "The security key prompt expired. Select Continue to try again."
            } else {
                "The security key or passkey was not added. Select Continue to try again, or choose another method."
            }),
            status: Some(StatusCode::UNAUTHORIZED),
            ..Say::default()
        };
    }
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
