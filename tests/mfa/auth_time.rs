//! `auth_time` is when the authentication completed — the last required factor — not when the
//! password was typed (OIDC Core §2; issue found by oauth4webapi's strict check: with
//! `max_age=10` and 45 s on the MFA page, the ID token's `auth_time` was 45 s before `iat` and
//! the library refused it). The session remembers the same moment, which `max_age` is then
//! checked against.

use std::time::Duration;

use super::{answer, setup};
use crate::common::Backend;
use crate::common::browser::Browser;
use crate::common::flow::{ALICE, PW, app_redirect, id_token, login_page, sign_in};
use crate::common::mfa::{code, enrol_in_store};

async fn auth_time_is_when_the_second_factor_passed(backend: Backend) {
    let (srv, rp) = setup(backend, &[], &[]).await;
    let seed = enrol_in_store(&srv).await;
    let b = Browser::new();
    let max_age = [("max_age", "3")];

    let typed_password = gatehouse::model::now();
    let res = sign_in(&b, &srv, &srv.authorize_url(&rp, &max_age), ALICE, PW).await;
    // Longer on the MFA page than max_age allows.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let res = answer(&b, &srv, res, &code(&seed, 0), false).await;
    let c = id_token(&srv, &rp, &res).await;
    let (auth_time, iat) = (c["auth_time"].as_i64().unwrap(), c["iat"].as_i64().unwrap());
    assert!(
        auth_time >= typed_password + 4,
        "auth_time {auth_time} is the password's time {typed_password}"
    );
    assert!(
        iat - auth_time <= 3,
        "a max_age=3 check must pass: auth_time {auth_time}, iat {iat}"
    );

    // The session says the same: at once, max_age=3 is met without signing in again.
    let res = b.get(&srv.authorize_url(&rp, &max_age)).await;
    let res = b.follow(&srv.base, res).await;
    assert!(
        app_redirect(&res, &rp).contains_key("code"),
        "the session's authentication is recent"
    );
    // Past it, the password is asked for again.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (_, html) = login_page(&b, &srv, &srv.authorize_url(&rp, &max_age)).await;
    assert!(html.contains(r#"name="password""#), "{html}");
}
both_backends!(
    auth_time_is_when_the_second_factor_passed,
    super::auth_time_is_when_the_second_factor_passed
);
