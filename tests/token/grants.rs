//! Grants end when they should: a code presented by another client changes nothing, a
//! revocation racing a redemption leaves no live token, session-bound grants end with their
//! SSO session and `offline_access` grants survive it.

use gatehouse::signout;
use reqwest::RequestBuilder;
use serde_json::Value;

use crate::common::Backend;
use crate::common::burst::{at_once, run_at_once};
use crate::token::fixture::*;

fn code_form(code: &str, redirect: &str) -> Vec<(String, String)> {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A token request for `code`, built but not sent.
fn redeem_request(f: &Fixture, client: &Creds, code: &str) -> RequestBuilder {
    f.post("token")
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&code_form(code, REDIRECT))
}

/// Every token of a token response is dead: access token inactive at /introspect and refused
/// at /userinfo, refresh token inactive and refused at /token.
async fn assert_dead(f: &Fixture, client: &Creds, body: &Value) {
    let access = str_of(body, "access_token");
    let refresh = str_of(body, "refresh_token");
    assert!(
        !f.is_active(client, access).await,
        "access token still live"
    );
    assert!(
        !f.is_active(client, refresh).await,
        "refresh token still live"
    );
    assert_oauth_error(f.userinfo(access).await, 401, "invalid_token").await;
    assert_oauth_error(f.refresh(client, refresh).await, 400, "invalid_grant").await;
}

/// Issue 9 item 10. Before: the code was spent, and on reuse its grant revoked, before the
/// client was compared, so another client of the tenant (or anyone with a public client's id
/// and no PKCE verifier) burnt the code and the rightful client got `invalid_grant`.
async fn code_presented_by_another_client_stays_redeemable(backend: Backend) {
    let f = Fixture::new(backend).await;
    let intruder = f.client(&[]).await;
    let code = f.code(&f.conf).await;
    for _ in 0..2 {
        let res = f
            .token(
                &intruder,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                ],
            )
            .await;
        assert_oauth_error(res, 400, "invalid_grant").await;
    }
    let body = f.exchange(&f.conf, &code).await;
    assert!(f.is_active(&f.conf, str_of(&body, "access_token")).await);

    // A public client's code without the PKCE verifier: refused, not spent.
    let code = f.code(&f.public).await;
    let res = f
        .token(
            &f.public,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", PUBLIC_REDIRECT),
            ],
        )
        .await;
    assert_oauth_error(res, 400, "invalid_grant").await;
    f.exchange(&f.public, &code).await;
}
both_backends!(
    code_presented_by_another_client_stays_redeemable,
    super::code_presented_by_another_client_stays_redeemable
);

/// Issue 9 item 10. Before: when two redemptions of one code raced, the loser revoked the
/// grant while the winner was still minting, and the winner's tokens (written after the
/// revocation) stayed live.
async fn racing_redemptions_leave_no_live_token(backend: Backend) {
    let f = Fixture::new(backend).await;
    for _ in 0..4 {
        let code = f.code(&f.conf).await;
        let responses = at_once(vec![
            redeem_request(&f, &f.conf, &code),
            redeem_request(&f, &f.conf, &code),
        ])
        .await;
        let mut refused = 0;
        for res in responses {
            if res.status() == 200 {
                let body: Value = res.json().await.unwrap();
                assert_dead(&f, &f.conf, &body).await;
            } else {
                assert_oauth_error(res, 400, "invalid_grant").await;
                refused += 1;
            }
        }
        assert!(refused >= 1, "a code works once");
    }
}
both_backends!(
    racing_redemptions_leave_no_live_token,
    super::racing_redemptions_leave_no_live_token
);

type Racer = std::pin::Pin<Box<dyn std::future::Future<Output = Option<reqwest::Response>> + Send>>;

/// Issue 9 items 6 and 10. Before: a logout did not touch refresh tokens at all, and a code
/// redeemed while (or after) its session ended still minted a 30-day refresh token.
async fn redemption_racing_session_end_leaves_no_live_token(backend: Backend) {
    let f = Fixture::new(backend).await;
    for _ in 0..4 {
        let session = f.new_session().await;
        let (code, mut row) = f.code_row(&f.conf);
        row.session_id = Some(session.clone());
        f.store_code(&row).await;
        let db = f.srv.state.db.clone();
        let tenant = f.tenant_id.clone();
        let request = redeem_request(&f, &f.conf, &code);
        let redeem = Box::pin(async move { Some(request.send().await.unwrap()) });
        let logout = Box::pin(async move {
            let now = gatehouse::model::now();
            signout::end_session(&db, &tenant, &session, now)
                .await
                .unwrap();
            None
        });
        let out = run_at_once::<Racer, _>(vec![redeem, logout]).await;
        let res = out.into_iter().flatten().next().unwrap();
        if res.status() == 200 {
            let body: Value = res.json().await.unwrap();
            assert_dead(&f, &f.conf, &body).await;
        } else {
            assert_oauth_error(res, 400, "invalid_grant").await;
        }
    }
}
both_backends!(
    redemption_racing_session_end_leaves_no_live_token,
    super::redemption_racing_session_end_leaves_no_live_token
);

/// Issue 9 item 6. Before: refresh tokens were independent of the session: after its end a
/// refresh returned 200 with a new ID token, for 30 days; the access token stayed active.
async fn session_bound_grant_ends_with_its_session(backend: Backend) {
    let f = Fixture::new(backend).await;
    let body = f.exchange(&f.conf, &f.code(&f.conf).await).await;
    // offline_access is ignored for a client not registered for it.
    let (code, mut row) = f.code_row(&f.conf);
    row.scope = "openid offline_access".into();
    f.store_code(&row).await;
    let asked = f.exchange(&f.conf, &code).await;
    assert_eq!(asked["scope"], "openid");

    let now = gatehouse::model::now();
    signout::end_session(&f.srv.state.db, &f.tenant_id, &f.session_id, now)
        .await
        .unwrap();
    assert_dead(&f, &f.conf, &body).await;
    assert_dead(&f, &f.conf, &asked).await;
}
both_backends!(
    session_bound_grant_ends_with_its_session,
    super::session_bound_grant_ends_with_its_session
);

/// OIDC Core §11: a client registered with `--offline-access` that asks for `offline_access`
/// gets a grant that survives the session (the consent stage covered the scope).
async fn offline_grant_survives_its_session(backend: Backend) {
    let f = Fixture::new(backend).await;
    let offline = f.client(&["--offline-access"]).await;
    let (code, mut row) = f.code_row(&offline);
    row.scope = "openid offline_access".into();
    f.store_code(&row).await;
    let body = f.exchange(&offline, &code).await;
    assert_eq!(body["scope"], "openid offline_access");

    let now = gatehouse::model::now();
    signout::end_session(&f.srv.state.db, &f.tenant_id, &f.session_id, now)
        .await
        .unwrap();
    assert!(f.is_active(&offline, str_of(&body, "access_token")).await);
    let refreshed = ok(f.refresh(&offline, str_of(&body, "refresh_token")).await).await;
    assert!(refreshed["id_token"].is_string());
    assert_eq!(refreshed["scope"], "openid offline_access");

    // Revocation still ends it.
    let res = f
        .call(
            "revoke",
            &offline,
            Auth::Basic,
            &[("token", str_of(&refreshed, "refresh_token"))],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        !f.is_active(&offline, str_of(&refreshed, "access_token"))
            .await
    );
}
both_backends!(
    offline_grant_survives_its_session,
    super::offline_grant_survives_its_session
);
