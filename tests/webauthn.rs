//! The server side of the WebAuthn ceremonies (`mfa::webauthn`), driven by webauthn-rs's
//! software authenticator (CTAP2 in memory, a real P-256 key and signature counter) through the
//! same JSON a browser posts: registration, assertion, a ceremony that expired or was answered
//! already, an answer made for another origin or relying party, and a counter that went
//! backwards (a cloned key), on both databases. The browser suite runs the same ceremonies in
//! Chromium with virtual authenticators through the hosted pages.

use gatehouse::mfa::MfaDeps;
use gatehouse::mfa::webauthn::{self, CeremonyError, RelyingParty, StoredCredential};
use gatehouse::model::MfaMethod;
use gatehouse::store::factors::{self, NewFactor};
use gatehouse::store::tenants::Tenant;
use gatehouse::store::users::User;
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use crate::common::{Backend, TestServer};

/// WebAuthn needs a domain: browsers (and this authenticator) refuse an IP address as the
/// relying party, so these ceremonies run for a public URL of their own whatever the test
/// server's address (the software authenticator needs no network, only the origin's name).
const ORIGIN: &str = "https://idp.example.com";

struct Setup {
    srv: TestServer,
    rp: RelyingParty,
    tenant: Tenant,
    user: User,
}

impl Setup {
    async fn new(backend: Backend) -> Setup {
        let srv = TestServer::start(backend).await;
        srv.tenant("acme", &["--mfa", "optional"]).await;
        srv.env
            .cli_json_stdin(
                &[
                    "user",
                    "create",
                    "acme",
                    "alice@example.com",
                    "--password-stdin",
                ],
                "correct horse battery staple\n",
            )
            .await;
        let (tenant, user) = srv.account("acme", "alice@example.com").await;
        Setup {
            rp: RelyingParty::new(ORIGIN).unwrap(),
            srv,
            tenant,
            user,
        }
    }

    fn deps(&self) -> MfaDeps<'_> {
        MfaDeps {
            rp: &self.rp,
            ..self.srv.state.mfa_deps()
        }
    }

    /// The answer a page posts: the ceremony and the browser's credential.
    fn answer(ceremony: &str, credential: impl serde::Serialize) -> String {
        serde_json::json!({ "ceremony": ceremony, "credential": credential }).to_string()
    }

    /// Registers a key made by `key` at `origin` and binds it as a factor.
    async fn register(&self, key: &mut SoftPasskey) -> gatehouse::store::factors::Factor {
        let id = webauthn::new_ceremony_id();
        let c = webauthn::start_registration(&self.deps(), &self.tenant.id, &self.user, &id)
            .await
            .unwrap();
        let reg = key
            .do_registration(
                Url::parse(ORIGIN).unwrap(),
                serde_json::from_str(&c.options).unwrap(),
            )
            .unwrap();
        let (cred_id, stored) =
            webauthn::finish_registration(&self.deps(), &self.user, &id, &Self::answer(&id, &reg))
                .await
                .unwrap();
        let json = serde_json::to_string(&stored).unwrap();
        factors::create(
            &self.srv.state.db,
            NewFactor {
                tenant_id: &self.tenant.id,
                user_id: &self.user.id,
                kind: MfaMethod::Webauthn,
                label: "YubiKey",
                secret_sealed: None,
                last_step: None,
                target: Some(&cred_id),
                credential: Some(&json),
                now: gatehouse::model::now(),
            },
        )
        .await
        .unwrap()
    }

    /// An assertion by `key` at `origin` for a fresh ceremony: the answer to post.
    async fn assertion(&self, key: &mut SoftPasskey, origin: &str) -> String {
        let id = webauthn::new_ceremony_id();
        let c = webauthn::start_assertion(&self.deps(), &self.tenant.id, Some(&self.user), &id)
            .await
            .unwrap();
        let rsp = key
            .do_authentication(
                Url::parse(origin).unwrap(),
                serde_json::from_str(&c.options).unwrap(),
            )
            .unwrap();
        Self::answer(&c.id, &rsp)
    }

    async fn finish(&self, answer: &str) -> Result<webauthn::Asserted, CeremonyError> {
        webauthn::finish_assertion(&self.deps(), &self.tenant.id, Some(&self.user), answer).await
    }
}

/// A key registers (its credential stored with what the ceremony said), then asserts: the
/// counter moves and the assertion proves `hwk` without user verification.
async fn register_and_assert(backend: Backend) {
    let s = Setup::new(backend).await;
    let mut key = SoftPasskey::new(true);
    let factor = s.register(&mut key).await;
    let stored = StoredCredential::parse(&factor).unwrap();
    assert_eq!(stored.kind_name(), "Security key");
    assert_eq!(stored.credential.counter, 0);

    let answer = s.assertion(&mut key, ORIGIN).await;
    let a = s.finish(&answer).await.unwrap();
    assert_eq!(a.factor.id, factor.id);
    assert_eq!(
        a.method,
        gatehouse::mfa::proven::Method::WebAuthn {
            platform: false,
            user_verified: false
        }
    );
    let after = factors::get(&s.srv.state.db, &s.user.id, &factor.id)
        .await
        .unwrap();
    let moved = StoredCredential::parse(&after).unwrap();
    assert!(moved.credential.counter > 0, "the counter is stored");
    assert!(after.last_used_at.is_some());

    // The same key again gets a new challenge and passes again.
    let answer = s.assertion(&mut key, ORIGIN).await;
    s.finish(&answer).await.unwrap();
}
both_backends!(a_key_registers_then_asserts, super::register_and_assert);

/// A ceremony is answered once: the same answer again finds no ceremony (a replay), and an
/// answer after the ceremony expired is refused the same way.
async fn replay_and_expiry(backend: Backend) {
    let s = Setup::new(backend).await;
    let mut key = SoftPasskey::new(true);
    s.register(&mut key).await;
    let answer = s.assertion(&mut key, ORIGIN).await;
    s.finish(&answer).await.unwrap();
    assert!(matches!(
        s.finish(&answer).await,
        Err(CeremonyError::Expired)
    ));

    // Expired: the ceremony's row outlived its time (the clock of the deps moves on).
    let answer = s.assertion(&mut key, ORIGIN).await;
    let later = MfaDeps {
        now: s.deps().now + webauthn::CEREMONY_TTL_SECS + 1,
        ..s.deps()
    };
    let r = webauthn::finish_assertion(&later, &s.tenant.id, Some(&s.user), &answer).await;
    assert!(matches!(r, Err(CeremonyError::Expired)), "{r:?}");

    // A registration ceremony is consumed the same way.
    let id = webauthn::new_ceremony_id();
    let c = webauthn::start_registration(&s.deps(), &s.tenant.id, &s.user, &id)
        .await
        .unwrap();
    let mut other = SoftPasskey::new(true);
    let reg = other
        .do_registration(
            Url::parse(ORIGIN).unwrap(),
            serde_json::from_str(&c.options).unwrap(),
        )
        .unwrap();
    let answer = Setup::answer(&id, &reg);
    webauthn::finish_registration(&s.deps(), &s.user, &id, &answer)
        .await
        .unwrap();
    let again = webauthn::finish_registration(&s.deps(), &s.user, &id, &answer).await;
    assert!(matches!(again, Err(CeremonyError::Expired)), "{again:?}");
}
both_backends!(
    a_ceremony_is_answered_once_and_in_time,
    super::replay_and_expiry
);

/// An answer made for another origin (same host, another port) or for another relying party
/// (the options' RP id changed to another domain, signed at that domain's origin) is refused,
/// and the ceremony is spent by the attempt.
async fn wrong_origin_and_rp(backend: Backend) {
    let s = Setup::new(backend).await;
    let mut key = SoftPasskey::new(true);
    s.register(&mut key).await;
    let answer = s.assertion(&mut key, "https://idp.example.com:8443").await;
    let r = s.finish(&answer).await;
    assert!(matches!(r, Err(CeremonyError::Refused(_))), "{r:?}");
    assert!(matches!(
        s.finish(&answer).await,
        Err(CeremonyError::Expired)
    ));

    // Registrations relayed by a phishing site: at its own origin for its own RP id, and at
    // our origin for a parent domain's RP id (the authenticator signs another RP id hash).
    for (rp_id, origin) in [
        ("evil.example", "https://evil.example"),
        ("example.com", ORIGIN),
    ] {
        let id = webauthn::new_ceremony_id();
        let c = webauthn::start_registration(&s.deps(), &s.tenant.id, &s.user, &id)
            .await
            .unwrap();
        let mut options: serde_json::Value = serde_json::from_str(&c.options).unwrap();
        options["publicKey"]["rp"]["id"] = rp_id.into();
        let mut other = SoftPasskey::new(true);
        let reg = other
            .do_registration(
                Url::parse(origin).unwrap(),
                serde_json::from_value(options).unwrap(),
            )
            .unwrap();
        let r =
            webauthn::finish_registration(&s.deps(), &s.user, &id, &Setup::answer(&id, &reg)).await;
        assert!(
            matches!(r, Err(CeremonyError::Refused(_))),
            "{rp_id}: {r:?}"
        );
    }
}
both_backends!(
    another_origin_or_relying_party_is_refused,
    super::wrong_origin_and_rp
);

/// A counter at or below the stored one (a cloned authenticator) refuses the assertion,
/// writes `mfa.webauthn_counter_regressed`, and leaves the stored counter as it was.
async fn counter_regression(backend: Backend) {
    let s = Setup::new(backend).await;
    let mut key = SoftPasskey::new(true);
    let factor = s.register(&mut key).await;
    // The server has seen a higher counter than this copy of the key will send.
    let mut stored = StoredCredential::parse(&factor).unwrap();
    stored.credential.counter = 1_000;
    let bumped = serde_json::to_string(&stored).unwrap();
    let db = &s.srv.state.db;
    assert!(
        factors::update_credential(
            db,
            &factor.id,
            factor.credential.as_deref().unwrap(),
            &bumped,
            1
        )
        .await
        .unwrap()
    );
    let answer = s.assertion(&mut key, ORIGIN).await;
    let r = s.finish(&answer).await;
    assert!(matches!(r, Err(CeremonyError::Cloned)), "{r:?}");
    let after = factors::get(db, &s.user.id, &factor.id).await.unwrap();
    assert_eq!(
        StoredCredential::parse(&after).unwrap().credential.counter,
        1_000
    );
    let audit = s
        .srv
        .cli_json(&["audit", "list", "acme", "--user", "alice@example.com"])
        .await;
    assert!(
        audit.to_string().contains("mfa.webauthn_counter_regressed"),
        "{audit}"
    );
}
both_backends!(
    a_counter_that_went_back_is_refused_and_audited,
    super::counter_regression
);

/// Another account's credential does not answer this user's challenge.
async fn another_users_key(backend: Backend) {
    let s = Setup::new(backend).await;
    let mut key = SoftPasskey::new(true);
    s.register(&mut key).await;
    s.srv
        .env
        .cli_json_stdin(
            &[
                "user",
                "create",
                "acme",
                "bob@example.com",
                "--password-stdin",
            ],
            "correct horse battery staple\n",
        )
        .await;
    let bob =
        gatehouse::store::users::find_by_login(&s.srv.state.db, &s.tenant.id, "bob@example.com")
            .await
            .unwrap()
            .unwrap();
    // Bob has no key: nothing to ask for.
    let id = webauthn::new_ceremony_id();
    let none = webauthn::start_assertion(&s.deps(), &s.tenant.id, Some(&bob), &id).await;
    assert!(matches!(none, Err(CeremonyError::Refused(_))));
    // Alice's assertion posted against a ceremony of Bob's is refused: the ceremony is his.
    let answer = s.assertion(&mut key, ORIGIN).await;
    let r = webauthn::finish_assertion(&s.deps(), &s.tenant.id, Some(&bob), &answer).await;
    assert!(matches!(r, Err(CeremonyError::Expired)), "{r:?}");
}
both_backends!(
    another_accounts_key_does_not_answer,
    super::another_users_key
);
