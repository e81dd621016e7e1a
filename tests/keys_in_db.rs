//! Signing keys in the database, sealed under the server secret (`secrets.key`): two nodes with
//! the same secret and different key folders serve one JWKS and sign for each other, a rotation
//! by the CLI reaches every running node, key files from before are taken in once, and the
//! secret itself rotates through `secrets.previous` and `gatehouse secrets reseal` with no
//! factor or key lost.

use std::time::{Duration, Instant};

use crate::common;
use common::browser::{self, Browser};
use common::flow::{PW, Rp, alice_signs_in, app_redirect, tokens};
use common::mfa::{code, enrol_in_store};
use common::pages::page;
use common::{Backend, TestServer};

/// The sorted `kid`s of a JWKS document or of `keys list --json` (both hold `keys`).
fn kids_of(doc: &serde_json::Value) -> Vec<String> {
    let mut kids: Vec<String> = doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

async fn jwks_kids(srv: &TestServer, slug: &str) -> Vec<String> {
    kids_of(&srv.get_json(&format!("{}/jwks", srv.issuer(slug))).await)
}

/// Waits until `srv` publishes `kid`; returns how long that took (printed, never asserted).
async fn until_published(srv: &TestServer, slug: &str, kid: &str) -> Duration {
    let start = Instant::now();
    while !jwks_kids(srv, slug).await.iter().any(|k| k == kid) {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{kid} never published"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    start.elapsed()
}

async fn setup(backend: Backend) -> (TestServer, Rp) {
    let srv = TestServer::start(backend).await;
    srv.tenant("acme", &["--name", "Acme"]).await;
    let rp = srv.rp("acme", &["--first-party"]).await;
    srv.user("acme", "alice@example.com", PW).await;
    (srv, rp)
}

async fn two_nodes_share_keys_through_the_database(backend: Backend) {
    let (a, rp) = setup(backend).await;
    let b_env = a.env.another_node(a.env.secret_key_text(), vec![]);
    let b_dir = b_env.config.keys.dir.clone();
    let b = TestServer::start_with(b_env).await;
    assert_eq!(jwks_kids(&a, "acme").await, jwks_kids(&b, "acme").await);
    assert_eq!(jwks_kids(&a, "acme").await.len(), 3);
    assert!(!b_dir.exists(), "node B needs no key folder");

    // Signed in at A, the code redeemed at B: B signs with a key A publishes.
    let res = alice_signs_in(&Browser::new(), &a, &rp, &[]).await;
    assert!(app_redirect(&res, &rp).contains_key("code"));
    let t = tokens(&b, &rp, &res).await;
    let jwt = t["id_token"].as_str().expect("id_token from node B");
    gatehouse::crypto::jwt::verify(&a.keys("acme").await, jwt).expect("A verifies B's token");

    // A rotation by the CLI (a third process) reaches both running nodes.
    let r = a
        .cli_json(&["keys", "rotate", "--tenant", "acme", "--alg", "ES256"])
        .await;
    let kid = r["rotated"][0]["kid"].as_str().unwrap().to_owned();
    for (name, node) in [("A", &a), ("B", &b)] {
        let took = until_published(node, "acme", &kid).await;
        eprintln!("node {name} published the rotated key after {took:?}");
        let keys = node.keys("acme").await;
        let active = keys.active(gatehouse::model::SigningAlg::Es256).unwrap();
        assert_eq!(active.kid, kid, "node {name} signs ES256 with the new key");
    }
    assert_eq!(
        jwks_kids(&a, "acme").await.len(),
        4,
        "the old key stays published"
    );
    let listed = a.cli_json(&["keys", "list", "--tenant", "acme"]).await;
    assert_eq!(listed["keys"].as_array().unwrap().len(), 4);
    assert!(
        !listed.to_string().contains("\"d\""),
        "no private part listed"
    );
    drop(b);
}
both_backends!(
    two_nodes_share_keys_through_the_database,
    super::two_nodes_share_keys_through_the_database
);

/// Key files of a release before this one (`keys/tenants/{id}/*.json`) are taken into the
/// database once: the same kids, the folder moved to `keys/imported/`, nothing taken twice.
async fn key_files_are_imported_once(backend: Backend) {
    use gatehouse::crypto::keys::KeySet;
    let (srv, _rp) = setup(backend).await;
    let tenant = gatehouse::store::tenants::get_by_slug(&srv.state.db, "acme")
        .await
        .unwrap();
    // What the older release left: a folder of key files, and no rows.
    let folder = srv
        .env
        .config
        .keys
        .dir
        .join("tenants")
        .join(tenant.id.as_str());
    let legacy = KeySet::load_or_create(&folder, gatehouse::model::now()).unwrap();
    let mut legacy_kids: Vec<String> = legacy.keys().iter().map(|k| k.kid.clone()).collect();
    legacy_kids.sort();
    delete_keys_of(&srv, &tenant.id).await;

    let listed = srv.cli_json(&["keys", "list", "--tenant", "acme"]).await;
    assert_eq!(kids_of(&listed), legacy_kids);
    assert!(!folder.exists(), "the folder moved aside");
    let imported = srv
        .env
        .config
        .keys
        .dir
        .join("imported")
        .join(tenant.id.as_str());
    assert_eq!(KeySet::load(&imported).unwrap().keys().len(), 3);
    // The running server reads them too, and a second look imports nothing more.
    until_published(&srv, "acme", &legacy_kids[0]).await;
    assert_eq!(jwks_kids(&srv, "acme").await, legacy_kids);
    let again = srv.cli_json(&["keys", "list", "--tenant", "acme"]).await;
    assert_eq!(again["keys"].as_array().unwrap().len(), 3);
}
both_backends!(
    key_files_are_imported_once,
    super::key_files_are_imported_once
);

async fn delete_keys_of(srv: &TestServer, tenant: &gatehouse::ids::TenantId) {
    gatehouse::with_db!(&srv.state.db, |pool| sqlx::query(
        "DELETE FROM signing_keys WHERE tenant_id = $1"
    )
    .bind(tenant)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
}

/// Sign in with password and TOTP at `srv`; the code reaches the application.
/// `step` picks the code's time step: a code is accepted once, so a second sign-in uses the
/// next step's code (within the accepted drift).
async fn signs_in_with_totp(srv: &TestServer, rp: &Rp, seed: &[u8], step: i64) {
    let b = Browser::new();
    let res = alice_signs_in(&b, srv, rp, &[]).await;
    let (url, html) = page(res).await;
    assert!(
        html.contains("Enter the code from your authenticator app"),
        "{html}"
    );
    let mut f = browser::form(&html, &url);
    f.set("code", &code(seed, step));
    let res = b.follow(&srv.base, b.submit(&f).await).await;
    assert!(app_redirect(&res, rp).contains_key("code"));
}

/// The operator's rotation of `secrets.key`: the new key in `key`, the old in `previous`; every
/// sealed value still opens; `secrets reseal` moves them all under the new key; then the old
/// key can go, and a node that knows only the old key refuses to start.
async fn the_server_secret_rotates(backend: Backend) {
    let (a, rp) = setup(backend).await;
    let seed = enrol_in_store(&a).await;
    let kids = jwks_kids(&a, "acme").await;
    let old = a.env.secret_key_text().trim().to_owned();
    let new = gatehouse::crypto::secret::generate_key_text();

    let both = TestServer::start_with(a.env.another_node(new.clone(), vec![old.clone()])).await;
    assert_eq!(jwks_kids(&both, "acme").await, kids);
    signs_in_with_totp(&both, &rp, &seed, 0).await;

    let stored = both.cli_json(&["keys", "list"]).await["keys"]
        .as_array()
        .unwrap()
        .len();
    let r = both.cli_json(&["secrets", "reseal"]).await;
    assert_eq!(r["signing_keys"], stored, "every stored key: {r}");
    assert_eq!(r["totp_seeds"], 1, "{r}");
    let again = both.cli_json(&["secrets", "reseal"]).await;
    assert_eq!(
        (again["signing_keys"].as_i64(), again["totp_seeds"].as_i64()),
        (Some(0), Some(0))
    );
    drop(both);

    let only_new = TestServer::start_with(a.env.another_node(new, vec![])).await;
    assert_eq!(jwks_kids(&only_new, "acme").await, kids);
    signs_in_with_totp(&only_new, &rp, &seed, 1).await;
    drop(only_new);

    let stale = a.env.another_node(old, vec![]);
    let err = gatehouse::build_state(stale.config.clone(), "http://127.0.0.1:9".into())
        .await
        .err()
        .expect("a node with only the old secret does not start");
    assert!(err.to_string().contains("does not open"), "{err}");
}
both_backends!(the_server_secret_rotates, super::the_server_secret_rotates);
