//! A voluntary `acr_values=mfa` (or the PAPE multi-factor URI) for a user without a factor
//! offers the authenticator-app set-up with Skip, as Keycloak's and Auth0's step-up do, even
//! where the tenant does not offer enrolment at sign-in by itself. Skipped, the ID token says
//! `acr` `pwd` (nothing more was proven); enrolled, `mfa`.

use serde_json::{Value, json};

use super::{id_token, page, setup};
use crate::common::Backend;
use crate::common::browser::{self, Browser};
use crate::common::flow::{ALICE, PW, sign_in};
use crate::common::mfa::{code, key_from_page};
use gatehouse::mfa::policy::PAPE_MFA;

fn amr_acr(c: &Value) -> (Value, Value) {
    (c["amr"].clone(), c["acr"].clone())
}

async fn voluntary_mfa_offers_enrolment_with_skip(backend: Backend) {
    // Optional tenant, `prompt_enrollment` off: only the request asks for more.
    let (srv, rp) = setup(backend, &[], &[]).await;

    // acr_values=mfa: the set-up page with Skip. Skipped: the password, and an honest acr.
    let b = Browser::new();
    let url = srv.authorize_url(&rp, &[("acr_values", "mfa")]);
    let (url, html) = page(sign_in(&b, &srv, &url, ALICE, PW).await).await;
    assert!(url.contains("/enrol?"), "{url}");
    assert!(html.contains("Set up two-factor authentication") && html.contains(">Skip<"));
    let mut skip = browser::forms(&html, &url).pop().unwrap();
    skip.set("action", "skip");
    let res = b.follow(&srv.base, b.submit(&skip).await).await;
    let c = id_token(&srv, &rp, &res).await;
    assert_eq!(amr_acr(&c), (json!(["pwd"]), json!("pwd")));

    // The PAPE URI, another sign-in: this time the user enables the app, and gets `mfa`.
    let b = Browser::new();
    let url = srv.authorize_url(&rp, &[("acr_values", PAPE_MFA)]);
    let (url, html) = page(sign_in(&b, &srv, &url, ALICE, PW).await).await;
    assert!(html.contains(">Skip<"), "{html}");
    let secret = key_from_page(&html);
    let mut form = browser::form(&html, &url);
    form.set("label", "Phone")
        .set("code", &code(&secret, 0))
        .set("action", "enable");
    let (url, html) = page(b.follow(&srv.base, b.submit(&form).await).await).await;
    assert!(html.contains("Note down your recovery codes"));
    let done = browser::forms(&html, &url).pop().unwrap();
    let res = b.follow(&srv.base, b.submit(&done).await).await;
    let c = id_token(&srv, &rp, &res).await;
    assert_eq!(amr_acr(&c), (json!(["pwd", "otp", "mfa"]), json!("mfa")));

    // Enrolled now: the same request is a challenge, not a set-up.
    let url = srv.authorize_url(&rp, &[("acr_values", "mfa")]);
    let (_, html) = page(sign_in(&Browser::new(), &srv, &url, ALICE, PW).await).await;
    assert!(html.contains("Enter the code from your authenticator app"));
}
both_backends!(
    voluntary_mfa_offers_enrolment_with_skip,
    super::voluntary_mfa_offers_enrolment_with_skip
);
