//! MFA helpers: read the key from the enrolment page as a user would type it, compute codes.
#![allow(dead_code)]

use gatehouse::mfa::totp;

use super::TestServer;

/// The secret behind the bold, grouped key on the enrolment page.
pub fn key_from_page(html: &str) -> Vec<u8> {
    let start =
        html.find(r#"id="totp-key">"#).expect("key on the page") + r#"id="totp-key">"#.len();
    let end = html[start..].find("</strong>").unwrap() + start;
    totp::parse_key(&html[start..end]).expect("base32 key")
}

/// The code for `now + offset_steps × 30 s`. A code of an earlier step is only accepted while
/// it is the previous one, so close to a step's end this waits for the next step first: a slow
/// machine would otherwise hand in a code two steps old and the test would fail by the clock.
pub fn code(secret: &[u8], offset_steps: i64) -> String {
    let into_step = gatehouse::model::now().rem_euclid(30);
    if offset_steps < 0 && into_step >= 25 {
        std::thread::sleep(std::time::Duration::from_secs((31 - into_step) as u64));
    }
    totp::code_at(secret, gatehouse::model::now() + offset_steps * 30)
}

/// Recovery codes listed on the recovery-codes page.
pub fn recovery_codes_from_page(html: &str) -> Vec<String> {
    html.split("<li><code>")
        .skip(1)
        .map(|s| s[..s.find("</code>").unwrap()].to_owned())
        .collect()
}

/// Enrols alice directly in the store with a known seed (no code used yet), so a test can spend
/// the codes of three consecutive steps (-1, 0, +1) in order.
pub async fn enrol_in_store(srv: &TestServer) -> Vec<u8> {
    enrol_user_in_store(srv, "acme", "alice@example.com").await
}

/// An authenticator app for `login` of tenant `slug`, straight in the store, with a known seed.
pub async fn enrol_user_in_store(srv: &TestServer, slug: &str, login: &str) -> Vec<u8> {
    use gatehouse::store::factors::{self, NewFactor};
    let db = &srv.state.db;
    let (tenant, user) = srv.account(slug, login).await;
    let seed = gatehouse::mfa::totp::new_secret();
    let sealed = gatehouse::crypto::seal::seal(&srv.state.secret, "totp-seed", &seed).unwrap();
    factors::create(
        db,
        NewFactor {
            tenant_id: &tenant.id,
            user_id: &user.id,
            kind: gatehouse::model::MfaMethod::Totp,
            label: "Phone",
            secret_sealed: Some(&sealed),
            last_step: None,
            target: None,
            credential: None,
            now: gatehouse::model::now(),
        },
    )
    .await
    .unwrap();
    seed
}
