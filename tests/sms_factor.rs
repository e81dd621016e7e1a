//! The texted one-time code as a second factor (help pages 001, 004), through the hosted pages
//! with real gateways: codes read from the webhook sink (every request's signature checked) and
//! from the Twilio-compatible stub. Enrolment at a required sign-in, signing in with a text,
//! Resend, several phones, `phone_number` in userinfo, a gateway that refuses, and every cap
//! on texts refusing the next send.

use crate::common;

use common::browser::{self, Browser};
use common::flow::{
    ALICE, PW, Rp, alice_signs_in, app_redirect, id_token, id_token_claims, sign_in, tokens,
    userinfo,
};
use common::mfa::{code, enrol_in_store};
use common::pages::{follow_link, form_with, nth_form, open, page};
use common::sms::{SmsSink, TwilioStub};
use common::smtp::SmtpServer;
use common::{Backend, TestEnv, TestServer};
use reqwest::Response;
use serde_json::json;

const WAIT: std::time::Duration = std::time::Duration::from_secs(10);
const SECRET: &str = "sms-factor-webhook-secret";
/// A US number as a user types it, and as it is stored.
const TYPED: &str = "(201) 555-0100";
const NUMBER: &str = "+12015550100";
const OTHER: &str = "+12015550199";

struct Setup {
    srv: TestServer,
    smtp: SmtpServer,
    sink: SmsSink,
    rp: Rp,
}

/// A tenant with TOTP and SMS, Alice, and every text going to a webhook sink; `tweak` adjusts
/// the configuration first (the caps).
async fn setup_with(
    backend: Backend,
    policy: &str,
    tweak: impl FnOnce(&mut gatehouse::config::Config),
) -> Setup {
    let smtp = SmtpServer::start().await;
    let sink = SmsSink::start(SECRET).await;
    let mut env = TestEnv::new(backend).await.with_sms_webhook(&sink);
    env.config.mail = smtp.mail_config();
    tweak(&mut env.config);
    let srv = TestServer::start_with(env).await;
    srv.tenant("acme", &["--name", "Acme", "--mfa", policy])
        .await;
    srv.cli_json(&["tenant", "update", "acme", "--mfa-methods", "totp,sms"])
        .await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    srv.user("acme", ALICE, PW).await;
    Setup {
        srv,
        smtp,
        sink,
        rp,
    }
}

async fn setup(backend: Backend, policy: &str) -> Setup {
    setup_with(backend, policy, |_| {}).await
}

/// On the SMS set-up page: "Send code" to `typed`. Returns the response.
async fn send_code(b: &Browser, url: &str, html: &str, typed: &str) -> Response {
    assert!(
        html.contains("Mobile number") && html.contains("Send code"),
        "{html}"
    );
    assert!(
        html.contains(r#"type="tel""#) && html.contains(r#"autocomplete="tel""#),
        "{html}"
    );
    let mut send = nth_form(html, url, 0);
    send.set("address", typed).set("action", "send");
    b.submit(&send).await
}

/// "Send code" to `typed`, the texted code (to `e164`) and "Enable": the response to Enable.
async fn set_up_sms(
    b: &Browser,
    sink: &SmsSink,
    (url, html): (&str, &str),
    typed: &str,
    e164: &str,
) -> Response {
    let res = send_code(b, url, html, typed).await;
    assert_eq!(res.status(), 200);
    let (url, html) = page(res).await;
    assert!(html.contains("Verification code"), "{html}");
    assert!(
        html.contains(r#"autocomplete="one-time-code""#) && html.contains(r#"inputmode="numeric""#)
    );
    let code = sink.wait_for_code(e164).await;
    let mut enable = nth_form(&html, &url, 1);
    enable.set("code", &code).set("action", "enable");
    b.submit(&enable).await
}

fn amr_acr(c: &serde_json::Value) -> (serde_json::Value, serde_json::Value) {
    (c["amr"].clone(), c["acr"].clone())
}

/// Enters `code` on the challenge page: the sign-in finishes with the SMS factor's claims.
async fn answer_challenge(b: &Browser, srv: &TestServer, rp: &Rp, at: (&str, &str), code: &str) {
    let mut f = nth_form(at.1, at.0, 0);
    f.set("code", code);
    let res = b.follow(&srv.base, b.submit(&f).await).await;
    assert_eq!(
        amr_acr(&id_token(srv, rp, &res).await),
        (SMS_AMR(), json!("mfa"))
    );
}

const SMS_AMR: fn() -> serde_json::Value = || json!(["pwd", "sms", "otp", "mfa"]);

/// Help page 001: a required sign-in proves the mailbox, then Text message → a mobile number →
/// Send code → the code → recovery codes and the "turned on" mail; the next sign-in is
/// challenged by text (Resend throttled), and userinfo gives the verified number.
async fn required_sign_in_enrols_a_phone_and_signs_in_with_it(backend: Backend) {
    let Setup {
        srv,
        smtp,
        sink,
        rp,
    } = setup(backend, "required").await;
    let b = Browser::new();
    let phone = [("scope", "openid email phone")];
    let (url, html) = page(alice_signs_in(&b, &srv, &rp, &phone).await).await;
    assert!(url.contains("/enrol/verify-email"), "{url}");
    let proof = smtp.wait_for(ALICE, WAIT).await;
    let mut f = nth_form(&html, &url, 0);
    f.set("code", &proof.code().unwrap());
    let (url, html) = page(b.follow(&srv.base, b.submit(&f).await).await).await;
    assert!(html.contains("Text message (SMS)"), "{html}");
    let res = b
        .follow(
            &srv.base,
            b.get(&url.replace("enrol?", "enrol?method=sms&")).await,
        )
        .await;
    let (url, html) = page(res).await;
    let res = set_up_sms(&b, &sink, (&url, &html), TYPED, NUMBER).await;
    let (url, html) = page(b.follow(&srv.base, res).await).await;
    assert!(url.contains("/recovery-codes"), "{url}");
    let notice = smtp.wait_for(ALICE, WAIT).await;
    assert!(notice.body.contains("Text message"), "{}", notice.body);
    let done = form_with(&html, &url, "tx");
    let res = b.follow(&srv.base, b.submit(&done).await).await;
    let token = tokens(&srv, &rp, &res).await;
    let c = id_token_claims(&srv, &rp, &token).await;
    assert_eq!(amr_acr(&c), (SMS_AMR(), json!("mfa")));
    // The number the code was read at is the user's, verified.
    let info = userinfo(&srv, &rp, &token).await;
    assert_eq!(info["phone_number"], NUMBER, "{info}");
    assert_eq!(info["phone_number_verified"], true, "{info}");

    // A new browser: the code goes by text, Resend within 30 s is throttled, a wrong code is
    // refused, the right one signs in once.
    let b2 = Browser::new();
    let (url, html) = page(alice_signs_in(&b2, &srv, &rp, &[]).await).await;
    assert!(url.contains("/mfa"), "{url}");
    assert!(html.contains("We sent a code to •••• ••• 0100"), "{html}");
    assert!(html.contains("Use a recovery code"), "{html}");
    assert!(html.contains(r#"autocomplete="one-time-code""#), "{html}");
    let code = sink.wait_for_code(NUMBER).await;
    let mut resend = nth_form(&html, &url, 1);
    resend.set("action", "resend");
    let res = b2.submit(&resend).await;
    assert_eq!(res.status(), 429, "a second code within 30 s is throttled");
    let mut verify = nth_form(&html, &url, 0);
    verify.set("code", if code == "000000" { "111111" } else { "000000" });
    let res = b2.submit(&verify).await;
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains("Check the text message"));
    verify.set("code", &code);
    let res = b2.follow(&srv.base, b2.submit(&verify).await).await;
    assert_eq!(
        amr_acr(&id_token(&srv, &rp, &res).await),
        (SMS_AMR(), json!("mfa"))
    );
    assert_eq!(
        sink.messages().len(),
        2,
        "one set-up text, one sign-in text"
    );
    sink.assert_all_signed();
}
both_backends!(
    required_sign_in_enrols_a_phone_and_signs_in_with_it,
    super::required_sign_in_enrols_a_phone_and_signs_in_with_it
);

/// An *offered* set-up (Skip shown) proves the mailbox only when the user asks for a text:
/// "Send code" goes through "Confirm it's you" and comes back to the same set-up with the
/// code sent to the number typed. Before: the proof led back to the method chooser and the
/// started set-up was lost.
async fn offered_set_up_resumes_after_the_mailbox_proof(backend: Backend) {
    let Setup {
        srv,
        smtp,
        sink,
        rp,
    } = setup(backend, "optional").await;
    srv.cli_json(&["tenant", "update", "acme", "--prompt-enrollment", "true"])
        .await;
    let b = Browser::new();
    let (url, html) = page(alice_signs_in(&b, &srv, &rp, &[]).await).await;
    assert!(html.contains("Skip"), "{url}: {html}");
    let (url, html) = follow_link(&b, &srv, &html, "method=sms").await;
    let res = b
        .follow(&srv.base, send_code(&b, &url, &html, TYPED).await)
        .await;
    let (url, html) = page(res).await;
    assert!(url.contains("/enrol/verify-email"), "{url}");
    assert!(sink.messages().is_empty(), "no text before the proof");
    let mut f = nth_form(&html, &url, 0);
    f.set("code", &smtp.wait_for(ALICE, WAIT).await.code().unwrap());
    let (url, html) = page(b.submit(&f).await).await;
    assert!(html.contains("Verification code"), "{html}");
    let code = sink.wait_for_code(NUMBER).await;
    let mut enable = nth_form(&html, &url, 1);
    enable.set("code", &code).set("action", "enable");
    let (url, _) = page(b.follow(&srv.base, b.submit(&enable).await).await).await;
    assert!(url.contains("/recovery-codes"), "{url}");
    let users = srv.cli_json(&["user", "list", "acme"]).await;
    assert_eq!(users["users"][0]["mfa"]["factors"][0]["target"], NUMBER);
}
both_backends!(
    offered_set_up_resumes_after_the_mailbox_proof,
    super::offered_set_up_resumes_after_the_mailbox_proof
);

/// Help page 001, "Adding or changing MFA Mobile Phone": a second phone on the account pages,
/// signing in with it through "Use another method", both listed with name and last use, and
/// removing one.
async fn several_phones_on_the_account_pages(backend: Backend) {
    let Setup { srv, sink, rp, .. } = setup_with(backend, "optional", |c| {
        c.otp.resend_interval_secs = 1;
        c.otp.sms.user_per_hour = 10;
    })
    .await;
    let seed = enrol_in_store(&srv).await;
    let b = Browser::new();
    let (url, html) = page(alice_signs_in(&b, &srv, &rp, &[]).await).await;
    let mut f = nth_form(&html, &url, 0);
    f.set("code", &code(&seed, 0));
    app_redirect(&b.follow(&srv.base, b.submit(&f).await).await, &rp);
    let (_, html) = open(&b, &srv, "/account/add").await;
    assert!(html.contains("Text message (SMS)"), "{html}");
    for (typed, e164) in [(TYPED, NUMBER), ("201-555-0199", OTHER)] {
        // One set-up text per user per `resend_interval_secs`.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let (url, html) = open(&b, &srv, "/account/add/sms").await;
        let res = set_up_sms(&b, &sink, (&url, &html), typed, e164).await;
        assert_eq!(res.status(), 303);
        assert!(browser::location(&res).contains("done=added"));
    }
    let (_, html) = open(&b, &srv, "/account").await;
    assert!(
        html.contains("•••• ••• 0100") && html.contains("•••• ••• 0199"),
        "{html}"
    );

    // Sign in: the newest phone is asked first, "Use another method" lists the other one,
    // masked, and its code signs in.
    let b2 = Browser::new();
    let (_, html) = page(alice_signs_in(&b2, &srv, &rp, &[]).await).await;
    assert!(html.contains("We sent a code to •••• ••• 0199"), "{html}");
    assert!(
        html.contains("Text message (SMS) (•••• ••• 0100)"),
        "{html}"
    );
    let _first = sink.wait_for_code(OTHER).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (url, html) = follow_link(&b2, &srv, &html, "method=sms").await;
    assert!(html.contains("We sent a code to •••• ••• 0100"), "{html}");
    let code = sink.wait_for_code(NUMBER).await;
    answer_challenge(&b2, &srv, &rp, (&url, &html), &code).await;
    let (_, html) = open(&b, &srv, "/account").await;
    assert!(html.contains("last used"), "{html}");
    assert!(html.contains("Change number"), "{html}");

    // Remove one phone: the other factors stay.
    let users = srv.cli_json(&["user", "list", "acme"]).await;
    let factors = users["users"][0]["mfa"]["factors"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(factors.len(), 3);
    let sms: Vec<_> = factors.iter().filter(|f| f["kind"] == "sms").collect();
    let id = sms[0]["id"].as_str().unwrap();
    let (url, html) = open(&b, &srv, "/account").await;
    let remove = browser::forms(&html, &url)
        .into_iter()
        .find(|f| f.action.contains(&format!("{id}/remove")))
        .expect("a Remove form per factor");
    let res = b.submit(&remove).await;
    assert!(
        res.status().is_redirection() || res.status() == 200,
        "{}",
        res.status()
    );
    let users = srv.cli_json(&["user", "list", "acme"]).await;
    assert_eq!(
        users["users"][0]["mfa"]["factors"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Change the other number: the new one is verified by its code, then replaces the old
    // one (one factor still, with the new number). A session signed in elsewhere loses its second-factor proof (as after a removal: it may
    // have come from the old number); the session making the change keeps it.
    let authorize = srv.authorize_url(&rp, &[]);
    let single_sign_on = |res: &Response| browser::location(res).starts_with(&rp.redirect_uri);
    let b3 = Browser::new();
    let (_, html) = page(alice_signs_in(&b3, &srv, &rp, &[]).await).await;
    let (url, html) = follow_link(&b3, &srv, &html, "method=totp").await;
    let mut f = nth_form(&html, &url, 0);
    f.set("code", &common::mfa::code(&seed, 1));
    app_redirect(&b3.follow(&srv.base, b3.submit(&f).await).await, &rp);
    assert!(single_sign_on(&b3.get(&authorize).await), "b3 has MFA");
    let kept = sms[1]["id"].as_str().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (url, html) = open(&b, &srv, &format!("/account/add/sms?replace={kept}")).await;
    let res = set_up_sms(&b, &sink, (&url, &html), "201-555-0123", "+12015550123").await;
    assert_eq!(res.status(), 303);
    let users = srv.cli_json(&["user", "list", "acme"]).await;
    let after = users["users"][0]["mfa"]["factors"]
        .as_array()
        .unwrap()
        .clone();
    let phones: Vec<_> = after.iter().filter(|f| f["kind"] == "sms").collect();
    assert_eq!(phones.len(), 1, "{after:?}");
    assert_eq!(phones[0]["target"], "+12015550123");
    assert!(
        after.iter().all(|f| f["id"] != kept),
        "the old number is gone"
    );
    assert!(
        !single_sign_on(&b3.get(&authorize).await),
        "the other session must prove a second factor again"
    );
    assert!(single_sign_on(&b.get(&authorize).await));
    sink.assert_all_signed();
}
both_backends!(
    several_phones_on_the_account_pages,
    super::several_phones_on_the_account_pages
);

/// A number that cannot get a text, or is in a country the tenant does not text, is refused
/// before any send; a gateway's 400 shows "We could not send a text to that number", writes
/// the audit event and counts as a failure for the admin.
async fn bad_numbers_and_a_refusing_gateway(backend: Backend) {
    let Setup { srv, sink, rp, .. } = setup(backend, "optional").await;
    srv.cli_json(&["tenant", "update", "acme", "--enrollment-proof", "none"])
        .await;
    let b = Browser::new();
    app_redirect(&alice_signs_in(&b, &srv, &rp, &[]).await, &rp);
    let (url, html) = open(&b, &srv, "/account/add/sms").await;
    for (typed, words) in [
        ("not a number", "Enter a valid mobile number"),
        ("+44 20 7946 0958", "cannot receive text messages"),
        (
            "+44 7400 123456",
            "We cannot send text messages to numbers in that country",
        ),
    ] {
        let res = send_code(&b, &url, &html, typed).await;
        assert_eq!(res.status(), 400, "{typed}");
        assert!(res.text().await.unwrap().contains(words), "{typed}");
    }
    assert!(sink.attempts().is_empty(), "nothing was sent");
    // The tenant texts the UK too now.
    srv.cli_json(&[
        "tenant",
        "update",
        "acme",
        "--sms-allowed-countries",
        "1,44",
    ])
    .await;
    let (url, html) = open(&b, &srv, "/account/add/sms").await;
    sink.script([400u16]);
    let res = send_code(&b, &url, &html, "+44 7400 123456").await;
    assert_eq!(res.status(), 400);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("We could not send a text to that number"),
        "{body}"
    );
    let audit = srv
        .cli_json(&["audit", "list", "acme", "--user", ALICE])
        .await;
    let failed = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "sms.failed")
        .unwrap_or_else(|| panic!("sms.failed in {audit}"))
        .clone();
    let detail = failed["detail"].to_string();
    assert!(
        detail.contains("44") && !detail.contains("7400123456"),
        "{detail}"
    );
    let t = srv.cli_json(&["tenant", "get", "acme"]).await;
    assert_eq!(t["sms"]["failed_24h"], 1, "{t}");
    assert_eq!(t["sms"]["sent_24h"], 0, "{t}");
    assert_eq!(t["sms"]["allowed_countries"], json!([1, 44]), "{t}");
    sink.assert_all_signed();
}
both_backends!(
    bad_numbers_and_a_refusing_gateway,
    super::bad_numbers_and_a_refusing_gateway
);

/// Signs `email` in (a new user of the tenant, from `b`) and opens the SMS set-up page.
async fn user_at_setup(s: &Setup, b: &Browser, email: &str) -> (String, String) {
    if email != ALICE {
        s.srv.user("acme", email, PW).await;
    }
    let url = s.srv.authorize_url(&s.rp, &[]);
    app_redirect(&sign_in(b, &s.srv, &url, email, PW).await, &s.rp);
    open(b, &s.srv, "/account/add/sms").await
}

/// Sends one set-up text from each `(browser, page)` to `typed`; the statuses.
async fn send_all(pages: &[(&Browser, &(String, String))], typed: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for (b, (url, html)) in pages {
        out.push(send_code(b, url, html, typed).await.status().as_u16());
    }
    out
}

fn caps(
    user: i64,
    number: i64,
    ip: i64,
    tenant: i64,
) -> impl FnOnce(&mut gatehouse::config::Config) {
    move |c| {
        c.otp.resend_interval_secs = 1;
        c.otp.sms.user_per_hour = user;
        c.otp.sms.number_per_hour = number;
        c.otp.sms.ip_per_hour = ip;
        c.otp.sms.tenant_per_hour = tenant;
        c.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    }
}

/// Each cap refuses the next text with the same clear page, and only that cap's key decides.
async fn each_cap_refuses_the_next_send(backend: Backend) {
    const CAPPED: &str = "We have sent as many text messages as we can for now";
    // Per user: Alice's third number within the hour is refused.
    let s = setup_with(backend, "optional", caps(2, 9, 9, 9)).await;
    s.srv
        .cli_json(&["tenant", "update", "acme", "--enrollment-proof", "none"])
        .await;
    let b = Browser::new();
    let p = user_at_setup(&s, &b, ALICE).await;
    for (i, typed) in ["201 555 0101", "201 555 0102", "201 555 0103"]
        .iter()
        .enumerate()
    {
        if i > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        }
        let res = send_code(&b, &p.0, &p.1, typed).await;
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        if i < 2 {
            assert_eq!(status, 200, "{body}");
        } else {
            assert_eq!(status, 429);
            assert!(body.contains(CAPPED), "{body}");
        }
    }
    assert_eq!(s.sink.messages().len(), 2);
    drop(s);

    // Per number: a second user texting the same number is refused.
    let s = setup_with(backend, "optional", caps(9, 1, 9, 9)).await;
    s.srv
        .cli_json(&["tenant", "update", "acme", "--enrollment-proof", "none"])
        .await;
    let (ba, bb) = (Browser::new(), Browser::new());
    let pa = user_at_setup(&s, &ba, ALICE).await;
    let pb = user_at_setup(&s, &bb, "bob@example.com").await;
    assert_eq!(send_all(&[(&ba, &pa), (&bb, &pb)], TYPED).await, [200, 429]);
    drop(s);

    // Per IP: a third user from the same network is refused; another network is not.
    let s = setup_with(backend, "optional", caps(9, 9, 2, 9)).await;
    s.srv
        .cli_json(&["tenant", "update", "acme", "--enrollment-proof", "none"])
        .await;
    let (b1, b2, b3) = (Browser::new(), Browser::new(), Browser::new());
    let elsewhere = Browser::with_header("x-forwarded-for", "198.51.100.7");
    let p1 = user_at_setup(&s, &b1, ALICE).await;
    let p2 = user_at_setup(&s, &b2, "bob@example.com").await;
    let p3 = user_at_setup(&s, &b3, "carol@example.com").await;
    let p4 = user_at_setup(&s, &elsewhere, "dave@example.com").await;
    let sent = [
        send_all(&[(&b1, &p1)], "201 555 0111").await[0],
        send_all(&[(&b2, &p2)], "201 555 0112").await[0],
        send_all(&[(&b3, &p3)], "201 555 0113").await[0],
        send_all(&[(&elsewhere, &p4)], "201 555 0114").await[0],
    ];
    assert_eq!(sent, [200, 200, 429, 200]);
    drop(s);

    // Per tenant: a burst from many users and networks at once gets exactly the cap.
    let s = setup_with(backend, "optional", caps(9, 9, 9, 3)).await;
    s.srv
        .cli_json(&["tenant", "update", "acme", "--enrollment-proof", "none"])
        .await;
    let mut requests = Vec::new();
    let mut browsers = Vec::new();
    for i in 0..6 {
        let b = Browser::with_header("x-forwarded-for", &format!("198.51.100.{}", 10 + i));
        let email = if i == 0 {
            ALICE.to_owned()
        } else {
            format!("user{i}@example.com")
        };
        let (url, html) = user_at_setup(&s, &b, &email).await;
        let mut f = nth_form(&html, &url, 0);
        f.set("address", &format!("201 555 01{:02}", 20 + i))
            .set("action", "send");
        browsers.push((b, f));
    }
    for (b, f) in &browsers {
        requests.push(b.http.post(&f.action).form(&f.fields));
    }
    let statuses: Vec<u16> = common::burst::at_once(requests)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(s.sink.messages().len(), 3);
    let t = s.srv.cli_json(&["tenant", "get", "acme"]).await;
    assert_eq!(t["sms"]["sent_24h"], 3, "{t}");
}
both_backends!(
    each_cap_refuses_the_next_send,
    super::each_cap_refuses_the_next_send
);

/// The day's caps count on their own: with every hourly cap wide open, each daily one (user,
/// number, network, tenant) refuses the next text.
async fn each_daily_cap_refuses_the_next_send(backend: Backend) {
    let s = setup_with(backend, "optional", |c| {
        caps(9, 9, 9, 9)(c);
        c.otp.sms.user_per_day = 1;
        c.otp.sms.number_per_day = 1;
        c.otp.sms.ip_per_day = 1;
        c.otp.sms.tenant_per_day = 3;
    })
    .await;
    s.srv
        .cli_json(&["tenant", "update", "acme", "--enrollment-proof", "none"])
        .await;
    let from = |net: u8| Browser::with_header("x-forwarded-for", &format!("198.51.100.{net}"));
    let (alice, bob, carol, dave, erin) = (from(1), from(2), from(2), from(3), from(4));
    let pa = user_at_setup(&s, &alice, ALICE).await;
    let pb = user_at_setup(&s, &bob, "bob@example.com").await;
    let pc = user_at_setup(&s, &carol, "carol@example.com").await;
    let pd = user_at_setup(&s, &dave, "dave@example.com").await;
    let pe = user_at_setup(&s, &erin, "erin@example.com").await;
    let mut sent = vec![send_all(&[(&alice, &pa)], "201 555 0131").await[0]];
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    for (b, p, typed) in [
        (&alice, &pa, "201 555 0132"), // Alice's second text today
        (&bob, &pb, "201 555 0131"),   // Alice's number, again today
        (&bob, &pb, "201 555 0133"),
        (&carol, &pc, "201 555 0134"), // Bob's network, again today
        (&dave, &pd, "201 555 0135"),
        (&erin, &pe, "201 555 0136"), // the tenant's fourth text today
    ] {
        sent.push(send_all(&[(b, p)], typed).await[0]);
        if std::ptr::eq(b, &bob) {
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        }
    }
    assert_eq!(sent, [200, 429, 429, 200, 429, 200, 429]);
    assert_eq!(s.sink.messages().len(), 3);
}
both_backends!(
    each_daily_cap_refuses_the_next_send,
    super::each_daily_cap_refuses_the_next_send
);

/// Through the Twilio-compatible stub: a phone set up on the account pages, then a sign-in.
async fn twilio_delivers_the_codes(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let stub = TwilioStub::start().await;
    let mut env = TestEnv::new(backend).await;
    // A Messaging Service rather than `from`: a `+1...` sender passed to the CLI as
    // GATEHOUSE_SMS__TWILIO__FROM is read as a number by the environment layer (reported).
    env.config.sms = gatehouse::notify::sms::SmsConfig {
        dir: env.config.sms.dir.clone(),
        ..stub.config_service(TwilioStub::SERVICE_SID)
    };
    env.config.mail = smtp.mail_config();
    let srv = TestServer::start_with(env).await;
    srv.tenant("acme", &["--mfa", "optional"]).await;
    srv.cli_json(&[
        "tenant",
        "update",
        "acme",
        "--mfa-methods",
        "sms",
        "--enrollment-proof",
        "none",
    ])
    .await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    srv.user("acme", ALICE, PW).await;
    let b = Browser::new();
    app_redirect(&alice_signs_in(&b, &srv, &rp, &[]).await, &rp);
    let (url, html) = open(&b, &srv, "/account/add/sms").await;
    let res = send_code(&b, &url, &html, TYPED).await;
    let (url, html) = page(res).await;
    let code = stub.wait_for_code(NUMBER).await;
    let mut enable = nth_form(&html, &url, 1);
    enable.set("code", &code).set("action", "enable");
    // A first factor without the mailbox proof (`--enrollment-proof none`) does not raise the
    // session: its recovery codes are shown once the new phone answers a challenge.
    let res = b.submit(&enable).await;
    assert_eq!(res.status(), 303);
    let users = srv.cli_json(&["user", "list", "acme"]).await;
    assert_eq!(users["users"][0]["mfa"]["factors"][0]["kind"], "sms");
    let b2 = Browser::new();
    let (url, html) = page(alice_signs_in(&b2, &srv, &rp, &[]).await).await;
    assert!(html.contains("We sent a code to •••• ••• 0100"), "{html}");
    let code = stub.wait_for_code(NUMBER).await;
    answer_challenge(&b2, &srv, &rp, (&url, &html), &code).await;
    stub.assert_no_failures();
}
both_backends!(twilio_delivers_the_codes, super::twilio_delivers_the_codes);

/// `user update acme bob@example.com --phone P`: what it printed on stderr (empty: it worked).
async fn update_phone(srv: &TestServer, phone: &str) -> String {
    let args = [
        "user",
        "update",
        "acme",
        "bob@example.com",
        "--phone",
        phone,
    ];
    String::from_utf8_lossy(&srv.env.cli(&args).await.stderr).into_owned()
}

/// `user create|update --phone` normalise and refuse like the pages; `tenant get` shows the
/// SMS settings.
async fn phone_numbers_on_the_command_line(backend: Backend) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &[]).await;
    let u = srv
        .env
        .cli_json_stdin(
            &[
                "user",
                "create",
                "acme",
                "bob@example.com",
                "--password-stdin",
                "--phone",
                TYPED,
            ],
            &format!("{PW}\n"),
        )
        .await;
    assert_eq!(u["phone"], NUMBER);
    assert_eq!(u["phone_verified"], false);
    let refused = update_phone(&srv, "+44 20 7946 0958").await;
    assert!(
        refused.contains("cannot receive text messages"),
        "{refused}"
    );
    // Without `+`, a number is read in the tenant's default region (US until it changes).
    assert!(!update_phone(&srv, "07400 123456").await.is_empty());
    let t = srv
        .cli_json(&["tenant", "update", "acme", "--sms-default-region", "GB"])
        .await;
    assert_eq!(t["sms_default_region"], "GB");
    let u = srv
        .cli_json(&[
            "user",
            "update",
            "acme",
            "bob@example.com",
            "--phone",
            "07400 123456",
            "--phone-verified",
            "true",
        ])
        .await;
    assert_eq!(
        (u["phone"].clone(), u["phone_verified"].clone()),
        (json!("+447400123456"), json!(true))
    );
    let t = srv.cli_json(&["tenant", "get", "acme"]).await;
    assert_eq!(
        t["sms"]["allowed_countries"],
        json!([44]),
        "the default region's code: {t}"
    );
    let u = srv
        .cli_json(&["user", "update", "acme", "bob@example.com", "--phone", ""])
        .await;
    assert_eq!(u["phone"], json!(null));
    let bad = srv
        .env
        .cli(&["tenant", "update", "acme", "--sms-default-region", "XX"])
        .await;
    assert!(String::from_utf8_lossy(&bad.stderr).contains("SMS default region"));
}
both_backends!(
    phone_numbers_on_the_command_line,
    super::phone_numbers_on_the_command_line
);
