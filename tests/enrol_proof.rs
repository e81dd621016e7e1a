//! The enrolment proof's one-time code under attack (issue 9, item 2), through the hosted
//! "Confirm it's you" page with real mail. The limits are `[otp]`'s defaults: 5 guesses per
//! code, 10 wrong codes per user per 15 minutes across codes, transactions and sign-ins (then a
//! 15-minute lock), one code per user and per transaction every 30 seconds, 10 mails a day.
//!
//! Before: a code died after 5 wrong tries, but "Send again" only looked at a *live* code, so it
//! issued a fresh one at once: 100 guesses and 20 mails in 0.5 s.

use crate::common;

use std::time::Duration;

use common::browser::{self, Browser, Form};
use common::burst::at_once;
use common::flow::{ALICE, PW, Rp, alice_signs_in};
use common::smtp::SmtpServer;
use common::{Backend, TestEnv, TestServer};

const WAIT: Duration = Duration::from_secs(10);

async fn setup(backend: Backend) -> (TestServer, SmtpServer, Rp) {
    let (env, smtp) = TestEnv::with_mail(backend).await;
    let srv = TestServer::start_with(env).await;
    srv.tenant("acme", &["--name", "Acme", "--mfa", "required"])
        .await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    srv.user("acme", ALICE, PW).await;
    (srv, smtp, rp)
}

/// The "Confirm it's you" page of a fresh sign-in in `b`: (verify form, resend form).
async fn proof_page(b: &Browser, srv: &TestServer, rp: &Rp) -> (Form, Form, String) {
    let res = alice_signs_in(b, srv, rp, &[]).await;
    let url = res.url().to_string();
    assert!(url.contains("/enrol/verify-email"), "{url}");
    let html = res.text().await.unwrap();
    let forms = browser::forms(&html, &url);
    let mut resend = forms[1].clone();
    resend.set("action", "resend");
    (forms[0].clone(), resend, html)
}

/// The 30-second resend interval has passed (the throttle keys are gone).
async fn thirty_seconds_pass(srv: &TestServer) {
    let db = &srv.state.db;
    gatehouse::with_db!(db, |pool| sqlx::query(
        "DELETE FROM rate_limits WHERE key LIKE 'otp:send:%'"
    )
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
}

/// Wrong codes counted against Alice's enrolment proof.
async fn failures(srv: &TestServer) -> i64 {
    let db = &srv.state.db;
    let n: Option<i64> = gatehouse::with_db!(db, |pool| sqlx::query_scalar(
        "SELECT failures FROM rate_limits WHERE key LIKE 'otp:fail:enrollment_proof:%'"
    )
    .fetch_optional(pool)
    .await
    .unwrap());
    n.unwrap_or(0)
}

fn wrong(right: &str, i: usize) -> String {
    let c = format!("{:06}", (i * 7919) % 1_000_000);
    if c == right { "999999".into() } else { c }
}

/// Posts `n` wrong codes at the same instant; returns how many were compared (the page says the
/// code did not work) and checks that none got through.
async fn burst_of_wrong_codes(b: &Browser, verify: &Form, right: &str, n: usize) -> usize {
    let reqs = (0..n)
        .map(|i| {
            let mut f = verify.clone();
            f.set("code", &wrong(right, i));
            b.http.post(&f.action).form(&f.fields)
        })
        .collect();
    let mut evaluated = 0;
    for res in at_once(reqs).await {
        let status = res.status();
        let html = res.text().await.unwrap();
        assert!(
            status == 401 || status == 429,
            "a wrong code never passes: {status}"
        );
        if html.contains("That code didn&#x27;t work")
            || html.contains("That code didn't work")
            || html.contains("Select Send again for a new one")
                && !html.contains("That code has expired")
        {
            evaluated += 1;
        } else {
            assert!(
                html.contains("That code has expired") || html.contains("Too many wrong codes"),
                "{html}"
            );
        }
    }
    evaluated
}

/// 100 simultaneous wrong codes are compared 5 times (the code's attempts); a resend and a
/// brand-new sign-in keep the per-user count, which locks at 10; after the lock even the right
/// code is refused and no more mail is sent.
async fn guessing_is_bounded_per_code_and_per_user(backend: Backend) {
    let (srv, smtp, rp) = setup(backend).await;
    let b1 = Browser::new();
    let (verify1, resend1, _) = proof_page(&b1, &srv, &rp).await;
    let c1 = smtp.wait_for(ALICE, WAIT).await.code().unwrap();

    assert_eq!(burst_of_wrong_codes(&b1, &verify1, &c1, 100).await, 5);
    assert_eq!(failures(&srv).await, 5);
    // The code is dead; "Send again" right away is still throttled (before: a new code at once).
    assert_eq!(b1.submit(&resend1).await.status(), 429);
    assert_eq!(smtp.count_to(ALICE), 1);

    // After 30 s a resend gives a new code, but the count of wrong codes goes on.
    thirty_seconds_pass(&srv).await;
    assert_eq!(b1.submit(&resend1).await.status(), 200);
    let c2 = smtp.wait_for(ALICE, WAIT).await.code().unwrap();
    for i in 0..4 {
        let mut f = verify1.clone();
        f.set("code", &wrong(&c2, i));
        assert_eq!(b1.submit(&f).await.status(), 401);
    }
    assert_eq!(failures(&srv).await, 9);

    // A brand-new sign-in (another browser, another transaction) does not reset it either.
    thirty_seconds_pass(&srv).await;
    let b2 = Browser::new();
    let (verify2, resend2, _) = proof_page(&b2, &srv, &rp).await;
    assert_eq!(b2.submit(&resend2).await.status(), 200);
    let c3 = smtp.wait_for(ALICE, WAIT).await.code().unwrap();
    assert_eq!(burst_of_wrong_codes(&b2, &verify2, &c3, 100).await, 1);
    assert_eq!(failures(&srv).await, 10);

    // Locked: the right code of a live code is refused, here and in a third sign-in.
    let mut right = verify2.clone();
    right.set("code", &c3);
    let res = b2.submit(&right).await;
    assert_eq!(res.status(), 429);
    assert!(res.text().await.unwrap().contains("wait 15 minutes"));
    thirty_seconds_pass(&srv).await;
    let b3 = Browser::new();
    let (verify3, resend3, html) = proof_page(&b3, &srv, &rp).await;
    assert!(html.contains("Too many wrong codes were entered"), "{html}");
    assert_eq!(b3.submit(&resend3).await.status(), 429);
    let mut right = verify3.clone();
    right.set("code", &c3);
    assert_eq!(b3.submit(&right).await.status(), 429);
    assert_eq!(smtp.count_to(ALICE), 3, "no mail while locked");
    let users = srv.cli_json(&["user", "list", "acme"]).await;
    assert_eq!(users["users"][0]["mfa"]["enabled"], false);
}
both_backends!(
    guessing_is_bounded_per_code_and_per_user,
    super::guessing_is_bounded_per_code_and_per_user
);

/// 20 simultaneous "Send again" send one mail; a new sign-in after the code was used is still
/// throttled per user; the 11th mail of the day is refused.
async fn sending_is_throttled_and_capped(backend: Backend) {
    let (srv, smtp, rp) = setup(backend).await;
    let b1 = Browser::new();
    let (verify1, resend1, _) = proof_page(&b1, &srv, &rp).await;
    smtp.wait_for(ALICE, WAIT).await;

    thirty_seconds_pass(&srv).await;
    let reqs = (0..20)
        .map(|_| b1.http.post(&resend1.action).form(&resend1.fields))
        .collect();
    let statuses: Vec<u16> = at_once(reqs)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 19);
    let code = smtp.wait_for(ALICE, WAIT).await.code().unwrap();
    // Give a stray second delivery time to show up before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.count_to(ALICE), 2);

    // The code is used: the sign-in moves on to the set-up. A new sign-in right after finds no
    // live code, and still sends nothing within the interval (the throttle is per user).
    let mut f = verify1.clone();
    f.set("code", &code);
    let res = b1.follow(&srv.base, b1.submit(&f).await).await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Set up two-factor authentication")
    );
    let b2 = Browser::new();
    let (_, resend2, html) = proof_page(&b2, &srv, &rp).await;
    assert!(
        html.contains("A code was sent less than a minute ago"),
        "{html}"
    );
    assert_eq!(b2.submit(&resend2).await.status(), 429);
    assert_eq!(smtp.count_to(ALICE), 2);

    // Ten mails a day: the 11th is refused however long one waits between them.
    for n in 3..=10 {
        thirty_seconds_pass(&srv).await;
        assert_eq!(b2.submit(&resend2).await.status(), 200, "mail {n}");
        smtp.wait_for(ALICE, WAIT).await;
    }
    thirty_seconds_pass(&srv).await;
    let res = b2.submit(&resend2).await;
    assert_eq!(res.status(), 429);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("We have sent as many codes as we can today")
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.count_to(ALICE), 10);
}
both_backends!(
    sending_is_throttled_and_capped,
    super::sending_is_throttled_and_capped
);

/// A failed delivery says so and does not hold "Send again" back: the retry after the relay
/// recovers sends the code at once.
async fn a_failed_delivery_can_be_retried_at_once(backend: Backend) {
    let (srv, smtp, rp) = setup(backend).await;
    smtp.reject_recipients(true);
    let b = Browser::new();
    let (_, resend, html) = proof_page(&b, &srv, &rp).await;
    assert!(
        html.contains("We could not send the code just now"),
        "{html}"
    );
    smtp.reject_recipients(false);
    assert_eq!(b.submit(&resend).await.status(), 200);
    assert_eq!(
        smtp.wait_for(ALICE, WAIT).await.subject,
        "Your verification code"
    );
    // The next one is throttled as usual.
    assert_eq!(b.submit(&resend).await.status(), 429);
}
both_backends!(
    a_failed_delivery_can_be_retried_at_once,
    super::a_failed_delivery_can_be_retried_at_once
);
