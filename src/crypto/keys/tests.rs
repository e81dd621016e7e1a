use super::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;

const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

#[test]
fn first_load_creates_one_active_key_per_alg_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    let set = KeySet::load_or_create(&keys_dir, 1000).unwrap();
    assert_eq!(set.keys().len(), 3);
    for alg in SigningAlg::ALL {
        let k = set.active(*alg).expect("active key");
        let meta = fs::metadata(key_path(&keys_dir, &k.kid)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(
        fs::metadata(&keys_dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    // A second load reuses the same keys: kids are stable.
    let again = KeySet::load_or_create(&keys_dir, 2000).unwrap();
    let kids = |s: &KeySet| s.keys().iter().map(|k| k.kid.clone()).collect::<Vec<_>>();
    assert_eq!(kids(&set), kids(&again));
}

#[test]
fn jwks_holds_public_parts_only() {
    let dir = tempfile::tempdir().unwrap();
    let set = KeySet::load_or_create(dir.path(), 1000).unwrap();
    let jwks = set.jwks(1000).unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    for k in keys {
        for m in PRIVATE_MEMBERS {
            assert!(k.get(*m).is_none(), "private member {m} published: {k}");
        }
        assert_eq!(k["use"], "sig");
        assert!(k["kid"].as_str().unwrap().len() >= 16);
    }
    let algs: Vec<_> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert!(algs.contains(&"RS256") && algs.contains(&"ES256") && algs.contains(&"EdDSA"));
}

#[test]
fn kid_is_the_rfc7638_thumbprint() {
    // RFC 7638 §3.1 example key and its thumbprint.
    let jwk = Jwk::from_bytes(br#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#).unwrap();
    assert_eq!(
        thumbprint(&jwk).unwrap(),
        &"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"[..22]
    );
}

#[test]
fn rotation_retires_the_old_key_after_the_longest_token_lifetime() {
    let dir = tempfile::tempdir().unwrap();
    let set = KeySet::load_or_create(dir.path(), 1000).unwrap();
    let old = set.active(SigningAlg::Rs256).unwrap().kid.clone();

    let r = rotate(dir.path(), SigningAlg::Rs256, false, 600, 2000).unwrap();
    assert_eq!(r.retired_kid.as_deref(), Some(old.as_str()));
    assert_eq!(r.retire_at, Some(2600));

    let set = KeySet::load(dir.path()).unwrap();
    assert_eq!(set.active(SigningAlg::Rs256).unwrap().kid, r.kid);
    let published = |now| {
        set.jwks(now).unwrap()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert!(published(2599).contains(&old), "old key still published");
    assert!(
        !published(2600).contains(&old),
        "old key gone after retire_at"
    );

    // A later rotation deletes the expired file.
    rotate(dir.path(), SigningAlg::Rs256, false, 600, 5000).unwrap();
    assert!(!key_path(dir.path(), &old).exists());
}

#[test]
fn staged_key_is_published_first_then_promoted() {
    let dir = tempfile::tempdir().unwrap();
    KeySet::load_or_create(dir.path(), 1000).unwrap();
    let staged = rotate(dir.path(), SigningAlg::Es256, true, 600, 2000).unwrap();
    assert_eq!(staged.new_state, KeyState::Next);
    let set = KeySet::load(dir.path()).unwrap();
    assert_ne!(set.active(SigningAlg::Es256).unwrap().kid, staged.kid);
    assert!(set.jwks(2000).unwrap().to_string().contains(&staged.kid));

    let promoted = rotate(dir.path(), SigningAlg::Es256, false, 600, 3000).unwrap();
    assert_eq!(promoted.kid, staged.kid);
    let set = KeySet::load(dir.path()).unwrap();
    assert_eq!(set.active(SigningAlg::Es256).unwrap().kid, staged.kid);
}

#[test]
fn a_key_that_cannot_sign_its_algorithm_fails_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let set = KeySet::load_or_create(dir.path(), 1000).unwrap();
    let rsa = set.active(SigningAlg::Rs256).unwrap();
    // An RSA key filed as ES256: no EC signer can be built from it.
    let path = key_path(dir.path(), &rsa.kid);
    let mut file: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    file["alg"] = "ES256".into();
    fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
    match KeySet::load(dir.path()) {
        Err(KeyError::Invalid { path: p, reason }) => {
            assert_eq!(p, path);
            assert!(reason.contains("ES256"), "{reason}");
        }
        other => panic!("expected an invalid key file, got {other:?}"),
    }
}
