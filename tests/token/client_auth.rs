//! Per-client token-endpoint authentication over HTTP: the registered method is the only one
//! accepted, and `private_key_jwt` (RFC 7523, OIDC Core §9) with RS256, ES256 and EdDSA keys
//! from a JWK Set file (a `jwks_uri` served by a real local HTTP server: `jwks_uri.rs`).

use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jwk::alg::ed::EdCurve;
use josekit::jws::{ES256, EdDSA, HS256, JwsHeader, RS256};
use josekit::jwt::{self, JwtPayload};
use serde_json::{Value, json};

use crate::common::Backend;
use crate::common::burst::at_once;
use crate::token::fixture::*;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client's key pair: the private JWK (signs) with its algorithm and `kid`.
pub struct Key {
    jwk: Jwk,
    alg: &'static str,
    kid: String,
}

impl Key {
    pub fn new(alg: &'static str, kid: &str) -> Key {
        let mut jwk = match alg {
            "RS256" => Jwk::generate_rsa_key(2048).unwrap(),
            "ES256" => Jwk::generate_ec_key(EcCurve::P256).unwrap(),
            _ => Jwk::generate_ed_key(EdCurve::Ed25519).unwrap(),
        };
        jwk.set_key_id(kid);
        Key {
            jwk,
            alg,
            kid: kid.into(),
        }
    }

    fn public(&self) -> Value {
        let mut public = self.jwk.to_public_key().unwrap();
        public.set_key_id(&self.kid);
        Value::Object(public.as_ref().clone())
    }

    /// Signs `claims` with this key but names the algorithm `alg` in the header.
    fn sign_as(&self, alg: &str, claims: &Value) -> String {
        use base64::Engine;
        use josekit::jws::JwsSigner;
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let head = json!({ "alg": alg, "kid": self.kid });
        let input = format!(
            "{}.{}",
            b64(head.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = EdDSA
            .signer_from_jwk(&self.jwk)
            .unwrap()
            .sign(input.as_bytes())
            .unwrap();
        format!("{input}.{}", b64(&signature))
    }

    /// Signs `claims` with this key, `kid` in the header.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = JwsHeader::new();
        header.set_key_id(&self.kid);
        let payload = JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap();
        match self.alg {
            "RS256" => jwt::encode_with_signer(
                &payload,
                &header,
                &RS256.signer_from_jwk(&self.jwk).unwrap(),
            ),
            "ES256" => jwt::encode_with_signer(
                &payload,
                &header,
                &ES256.signer_from_jwk(&self.jwk).unwrap(),
            ),
            _ => jwt::encode_with_signer(
                &payload,
                &header,
                &EdDSA.signer_from_jwk(&self.jwk).unwrap(),
            ),
        }
        .unwrap()
    }
}

pub fn jwks(keys: &[&Key]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.public()).collect::<Vec<_>>() })
}

/// Typical assertion claims for `client` at `f`'s token endpoint, living 60 s.
pub fn claims(f: &Fixture, client: &str) -> Value {
    let now = gatehouse::model::now();
    json!({
        "iss": client, "sub": client, "aud": format!("{}/token", f.issuer),
        "iat": now, "exp": now + 60, "jti": uuid::Uuid::new_v4().to_string(),
    })
}

/// `claims` with `changes` applied; a null removes the claim.
fn with(mut claims: Value, changes: Value) -> Value {
    let map = claims.as_object_mut().unwrap();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            map.remove(k);
        } else {
            map.insert(k.clone(), v.clone());
        }
    }
    claims
}

/// Registers a private_key_jwt client whose keys are `set`, written to a file.
async fn jwt_client_from_file(f: &Fixture, set: &Value) -> Creds {
    let path = f
        .srv
        .env
        .dir
        .path()
        .join(format!("{}.jwks", uuid::Uuid::new_v4()));
    std::fs::write(&path, set.to_string()).unwrap();
    let path = path.to_str().unwrap();
    let c = f
        .client(&[
            "--token-endpoint-auth-method",
            "private_key_jwt",
            "--jwks-file",
            path,
            "--scope",
            "api.read",
        ])
        .await;
    assert!(
        c.secret.is_none(),
        "a private_key_jwt client gets no secret"
    );
    c
}

/// POSTs `form` to `endpoint` authenticated by `assertion`.
fn with_assertion(
    f: &Fixture,
    endpoint: &str,
    assertion: &str,
    form: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    let mut form: Vec<(&str, &str)> = form.to_vec();
    form.push(("client_assertion_type", JWT_BEARER));
    form.push(("client_assertion", assertion));
    f.post(endpoint).form(&form)
}

const CC: &[(&str, &str)] = &[("grant_type", "client_credentials")];

pub async fn cc_status(f: &Fixture, assertion: &str) -> u16 {
    with_assertion(f, "token", assertion, CC)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn registered_method_is_the_only_one(backend: Backend) {
    let f = Fixture::new(backend).await;
    let post = f
        .client(&["--token-endpoint-auth-method", "client_secret_post"])
        .await;
    let cc = [("grant_type", "client_credentials")];
    // A client registered for client_secret_basic is refused with client_secret_post...
    let res = f.call("token", &f.conf, Auth::Post, &cc).await;
    assert!(res.headers().get("www-authenticate").is_none());
    assert_oauth_error(res, 401, "invalid_client").await;
    // ...and one registered for client_secret_post with client_secret_basic (a 401 that names
    // the Basic scheme, RFC 6749 §5.2), with the right secret both times.
    let res = f.call("token", &post, Auth::Basic, &cc).await;
    assert_eq!(
        res.headers()["www-authenticate"],
        "Basic realm=\"gatehouse\""
    );
    assert_oauth_error(res, 401, "invalid_client").await;
    // Each works with its own method, at /token, /introspect and /revoke alike.
    for (client, auth) in [(&f.conf, Auth::Basic), (&post, Auth::Post)] {
        let body = ok(f.call("token", client, auth, &cc).await).await;
        let at = str_of(&body, "access_token");
        let other = if auth == Auth::Basic {
            Auth::Post
        } else {
            Auth::Basic
        };
        for endpoint in ["introspect", "revoke"] {
            let res = f.call(endpoint, client, other, &[("token", at)]).await;
            assert_oauth_error(res, 401, "invalid_client").await;
        }
        let doc = ok(f.call("introspect", client, auth, &[("token", at)]).await).await;
        assert_eq!(doc["active"], true);
        let res = f.call("revoke", client, auth, &[("token", at)]).await;
        assert_eq!(res.status(), 200);
        assert!(!f.is_active(&f.conf, at).await);
    }

    // A secret client presenting an assertion, and an assertion beside a secret.
    let key = Key::new("ES256", "k1");
    let a = key.sign(&claims(&f, &f.conf.id));
    assert_oauth_error(
        with_assertion(&f, "token", &a, CC).send().await.unwrap(),
        401,
        "invalid_client",
    )
    .await;
    let both = with_assertion(&f, "token", &a, CC).basic_auth(&f.conf.id, f.conf.secret.as_ref());
    assert_oauth_error(both.send().await.unwrap(), 400, "invalid_request").await;

    // Discovery lists exactly the methods a client can be registered with.
    let doc: Value = f
        .srv
        .http()
        .get(format!("{}/.well-known/openid-configuration", f.issuer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let methods = json!([
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none"
    ]);
    let algs = json!(["RS256", "ES256", "EdDSA"]);
    for endpoint in ["token", "revocation", "introspection"] {
        assert_eq!(
            doc[format!("{endpoint}_endpoint_auth_methods_supported")],
            methods
        );
        assert_eq!(
            doc[format!("{endpoint}_endpoint_auth_signing_alg_values_supported")],
            algs
        );
    }
}
both_backends!(
    registered_method_is_the_only_one,
    super::registered_method_is_the_only_one
);

async fn private_key_jwt_with_each_algorithm(backend: Backend) {
    let f = Fixture::new(backend).await;
    for alg in ["RS256", "ES256", "EdDSA"] {
        let key = Key::new(alg, &format!("{alg}-1"));
        let client = jwt_client_from_file(&f, &jwks(&[&key])).await;
        let body = ok(
            with_assertion(&f, "token", &key.sign(&claims(&f, &client.id)), CC)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let at = str_of(&body, "access_token");
        assert_eq!(f.verify(at).claims["client_id"], client.id, "{alg}");
        // The issuer is an accepted audience too, and the same check guards /introspect.
        let to_issuer = with(
            claims(&f, &client.id),
            json!({ "aud": [f.issuer, "https://other"] }),
        );
        let res = with_assertion(&f, "introspect", &key.sign(&to_issuer), &[("token", at)]);
        assert_eq!(ok(res.send().await.unwrap()).await["active"], true, "{alg}");
    }

    // RFC 9864 names EdDSA over Ed25519 `Ed25519`, as oauth4webapi and openid-client send it.
    let key = Key::new("EdDSA", "ed");
    let client = jwt_client_from_file(&f, &jwks(&[&key])).await;
    let named = key.sign_as("Ed25519", &claims(&f, &client.id));
    assert_eq!(cc_status(&f, &named).await, 200);

    // The code flow with a private_key_jwt client: the code is redeemed with an assertion.
    let key = Key::new("EdDSA", "code");
    let client = jwt_client_from_file(&f, &jwks(&[&key])).await;
    let (code, mut row) = f.code_row(&client);
    // code_row takes a client without secret for a public one; this one is confidential.
    row.redirect_uri = REDIRECT.into();
    (row.code_challenge, row.code_challenge_method) = (None, None);
    f.store_code(&row).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
    ];
    let res = with_assertion(&f, "token", &key.sign(&claims(&f, &client.id)), &form);
    let body = ok(res.send().await.unwrap()).await;
    assert!(body["id_token"].is_string());
}
both_backends!(
    private_key_jwt_with_each_algorithm,
    super::private_key_jwt_with_each_algorithm
);

async fn refused_assertions(backend: Backend) {
    let f = Fixture::new(backend).await;
    let key = Key::new("RS256", "k1");
    let client = jwt_client_from_file(&f, &jwks(&[&key])).await;
    let id = client.id.as_str();
    let now = gatehouse::model::now();
    let base = || claims(&f, id);
    let impostor = Key::new("RS256", "k1");
    let refused: Vec<(&str, String)> = vec![
        (
            "expired",
            key.sign(&with(base(), json!({ "exp": now - 120, "iat": now - 180 }))),
        ),
        (
            "exp too far ahead",
            key.sign(&with(base(), json!({ "exp": now + 3600 }))),
        ),
        ("no exp", key.sign(&with(base(), json!({ "exp": null })))),
        (
            "wrong aud",
            key.sign(&with(
                base(),
                json!({ "aud": "https://elsewhere.example/token" }),
            )),
        ),
        (
            "iss is not the client",
            key.sign(&with(base(), json!({ "iss": "someone" }))),
        ),
        ("no jti", key.sign(&with(base(), json!({ "jti": null })))),
        (
            "issued in the future",
            key.sign(&with(base(), json!({ "iat": now + 600 }))),
        ),
        ("wrong key, same kid", impostor.sign(&base())),
        ("alg none", unsigned(&base())),
        ("HS256 with the public key as secret", hs256(&key, &base())),
        ("unknown client", key.sign(&claims(&f, "nobody"))),
    ];
    for (why, assertion) in refused {
        let res = with_assertion(&f, "token", &assertion, CC)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{why}");
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"],
            "invalid_client",
            "{why}"
        );
    }
    // A client_id beside the assertion must name the same client.
    let good = key.sign(&base());
    let res = with_assertion(&f, "token", &good, &[CC[0], ("client_id", &f.conf.id)]);
    assert_oauth_error(res.send().await.unwrap(), 401, "invalid_client").await;
    // None of the refusals spent the good assertion's jti.
    assert_eq!(cc_status(&f, &good).await, 200);
}
both_backends!(refused_assertions, super::refused_assertions);

/// `{"alg":"none"}` and no signature (RFC 7519 §6).
fn unsigned(claims: &Value) -> String {
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "kid": "k1" })),
        b64(claims)
    )
}

/// The algorithm-confusion attack: HS256 keyed with the client's public key.
fn hs256(key: &Key, claims: &Value) -> String {
    let mut header = JwsHeader::new();
    header.set_key_id(&key.kid);
    let payload = JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap();
    let signer = HS256
        .signer_from_bytes(key.public().to_string().as_bytes())
        .unwrap();
    jwt::encode_with_signer(&payload, &header, &signer).unwrap()
}

async fn replay_is_refused_even_at_the_same_instant(backend: Backend) {
    let f = Fixture::new(backend).await;
    let key = Key::new("ES256", "k1");
    let client = jwt_client_from_file(&f, &jwks(&[&key])).await;
    let assertion = key.sign(&claims(&f, &client.id));
    let burst = (0..10)
        .map(|_| with_assertion(&f, "token", &assertion, CC))
        .collect();
    let statuses: Vec<u16> = at_once(burst)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 401].contains(s)),
        "{statuses:?}"
    );
    // Later, still refused; a new jti passes.
    assert_eq!(cc_status(&f, &assertion).await, 401);
    assert_eq!(cc_status(&f, &key.sign(&claims(&f, &client.id))).await, 200);

    // Housekeeping keeps each jti while its assertion could pass, and then removes it.
    let db = &f.srv.state.db;
    let jtis = || async {
        gatehouse::with_db!(db, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM client_assertion_jtis"
        )
        .fetch_one(pool)
        .await
        .unwrap())
    };
    let now = gatehouse::model::now();
    gatehouse::housekeeping::sweep(db, now, 60).await.unwrap();
    assert_eq!(jtis().await, 2);
    gatehouse::housekeeping::sweep(db, now + 60 + 31, 60)
        .await
        .unwrap();
    assert_eq!(jtis().await, 0);
}
both_backends!(
    replay_is_refused_even_at_the_same_instant,
    super::replay_is_refused_even_at_the_same_instant
);
