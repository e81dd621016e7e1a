//! Claims of the tokens Gatehouse issues, as pure functions of their inputs (no clock, no I/O):
//! the ID token (OIDC Core §2, §3.1.3.6, §5.4, §5.5), the RFC 9068 JWT access token, and the
//! user claims that the ID token and the UserInfo endpoint share.

use crate::ids::{ClientId, UserId};
use serde_json::{Map, Value, json};

use super::scope::Scope;
use crate::crypto::jwt::half_hash;
use crate::model::SigningAlg;
use crate::store::users::User;

/// OIDC Core §5.4: the claims each standard scope releases. A claim the user has no value for
/// is left out (never sent as null), which §5.4 allows; `updated_at` is always there.
pub const SCOPE_CLAIMS: &[(&str, &[&str])] = &[
    ("email", &["email", "email_verified"]),
    (
        "profile",
        &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
    ),
    ("address", &["address"]),
    ("phone", &["phone_number", "phone_number_verified"]),
];

/// The authentication event behind a user's tokens, as the login reported it.
#[derive(Debug, Clone, Copy)]
pub struct Authn<'a> {
    pub user_id: &'a UserId,
    pub auth_time: i64,
    pub acr: &'a str,
    /// RFC 8176 method values, in the order the login recorded them.
    pub amr: &'a [String],
}

/// One user claim by name, when the user has a value for it.
fn user_claim(user: &User, name: &str) -> Option<Value> {
    match name {
        "email" => Some(json!(user.email)),
        "email_verified" => Some(json!(user.email_verified)),
        "name" => user.name.as_ref().map(|v| json!(v)),
        "preferred_username" => user.username.as_ref().map(|v| json!(v)),
        "phone_number" => user.phone.as_ref().map(|v| json!(v)),
        // Only beside a number: without one there is nothing to have verified.
        "phone_number_verified" => user.phone.as_ref().map(|_| json!(user.phone_verified)),
        // §5.1: seconds since the epoch, a JSON number.
        "updated_at" => Some(json!(user.updated_at)),
        // §5.1.1: the structured address, a JSON object.
        "address" => user.profile.address().map(|a| json!(a)),
        other => user.profile.get(other).map(|v| json!(v)),
    }
}

/// `sub` plus the claims released by `scope`, plus any claim named in `requested` (the
/// `id_token` or `userinfo` member of the OIDC `claims` parameter, §5.5) that the user has.
pub fn user_claims(user: &User, scope: &Scope, requested: &[String]) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("sub".into(), json!(user.id));
    let by_scope = SCOPE_CLAIMS
        .iter()
        .filter(|(s, _)| scope.contains(s))
        .flat_map(|(_, names)| names.iter().copied());
    for name in by_scope.chain(requested.iter().map(String::as_str)) {
        if let Some(v) = user_claim(user, name) {
            out.insert(name.to_owned(), v);
        }
    }
    out
}

/// The claim names of one member (`id_token` or `userinfo`) of the `claims` request parameter
/// (OIDC Core §5.5), stored as JSON with the code. Unparseable text yields nothing: the
/// authorization endpoint validated it before the code was minted.
pub fn requested_claims(claims_param: Option<&str>, member: &str) -> Vec<String> {
    claims_param
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .and_then(|v| v.get(member).and_then(Value::as_object).cloned())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Everything an ID token says.
pub struct IdTokenInput<'a> {
    pub issuer: &'a str,
    pub client_id: &'a ClientId,
    pub user: &'a User,
    pub authn: Authn<'a>,
    pub scope: &'a Scope,
    /// Echoed from the authorization request; never on a refreshed ID token (§12.2).
    pub nonce: Option<&'a str>,
    /// The SSO session id, for front/back-channel logout.
    pub sid: Option<&'a str>,
    /// The access token issued beside it, for `at_hash`.
    pub access_token: &'a str,
    /// The algorithm the ID token will be signed with (decides the `at_hash` digest).
    pub alg: SigningAlg,
    pub requested: &'a [String],
    pub now: i64,
    pub ttl_secs: i64,
}

/// OIDC Core §2 and §3.1.3.6. `aud` is the client alone, so `azp` repeats it as §2 allows.
pub fn id_token(i: &IdTokenInput) -> Map<String, Value> {
    let mut c = user_claims(i.user, i.scope, i.requested);
    c.insert("iss".into(), json!(i.issuer));
    c.insert("sub".into(), json!(i.authn.user_id));
    c.insert("aud".into(), json!(i.client_id));
    c.insert("azp".into(), json!(i.client_id));
    c.insert("iat".into(), json!(i.now));
    c.insert("exp".into(), json!(i.now + i.ttl_secs));
    c.insert("auth_time".into(), json!(i.authn.auth_time));
    c.insert("acr".into(), json!(i.authn.acr));
    c.insert("amr".into(), json!(i.authn.amr));
    c.insert("at_hash".into(), json!(half_hash(i.alg, i.access_token)));
    if let Some(n) = i.nonce {
        c.insert("nonce".into(), json!(n));
    }
    if let Some(s) = i.sid {
        c.insert("sid".into(), json!(s));
    }
    c
}

/// Everything a JWT access token says.
pub struct AccessTokenInput<'a> {
    pub issuer: &'a str,
    pub client_id: &'a ClientId,
    /// `None` for a client acting for itself (client_credentials): `sub` is then the client.
    pub authn: Option<Authn<'a>>,
    /// The grant a user's token is of (`None` with `authn`: client_credentials has none).
    pub grant_id: Option<&'a str>,
    pub scope: &'a Scope,
    pub jti: &'a str,
    pub now: i64,
    pub ttl_secs: i64,
}

/// RFC 9068 §2.2. Without resource indicators the only protected resource is this issuer's
/// own UserInfo endpoint, so `aud` is the issuer.
pub fn access_token(i: &AccessTokenInput) -> Map<String, Value> {
    let mut c = Map::new();
    c.insert("iss".into(), json!(i.issuer));
    c.insert(
        "sub".into(),
        json!(i.authn.map_or(i.client_id.as_str(), |a| a.user_id.as_str())),
    );
    c.insert("aud".into(), json!(i.issuer));
    c.insert("iat".into(), json!(i.now));
    c.insert("exp".into(), json!(i.now + i.ttl_secs));
    c.insert("jti".into(), json!(i.jti));
    c.insert("client_id".into(), json!(i.client_id));
    // Not an RFC 9068 claim: how this issuer, at UserInfo and introspection, tells whether the
    // token's grant is still live without a row per token. Opaque to resource servers.
    if let Some(g) = i.grant_id {
        c.insert("grant_id".into(), json!(g));
    }
    if !i.scope.is_empty() {
        c.insert("scope".into(), json!(i.scope.to_string()));
    }
    // RFC 9068 §2.2.1: authentication information, only when a user authenticated.
    if let Some(a) = i.authn {
        c.insert("auth_time".into(), json!(a.auth_time));
        c.insert("acr".into(), json!(a.acr));
        c.insert("amr".into(), json!(a.amr));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;
    use std::sync::LazyLock;

    static USER: LazyLock<UserId> = LazyLock::new(|| UserId::from("u1"));
    static CLIENT: LazyLock<ClientId> = LazyLock::new(|| ClientId::from("c1"));

    fn alice(full: bool) -> User {
        User {
            id: "u1".into(),
            tenant_id: "t1".into(),
            email: "alice@example.com".into(),
            username: full.then(|| "alice".into()),
            name: full.then(|| "Alice Liddell".into()),
            email_verified: true,
            phone: full.then(|| "+15550100".into()),
            phone_verified: full,
            password_hash: None,
            locked: false,
            pending_verification: false,
            password_change_required: false,
            created_at: 0,
            updated_at: 1_700_000_000,
            version: 1,
            profile: if full {
                full_profile()
            } else {
                Profile::default()
            },
        }
    }

    fn full_profile() -> Profile {
        Profile {
            given_name: Some("Alice".into()),
            family_name: Some("Liddell".into()),
            middle_name: Some("Pleasance".into()),
            nickname: Some("Al".into()),
            profile: Some("https://example.com/alice".into()),
            picture: Some("https://example.com/alice.png".into()),
            website: Some("https://alice.example".into()),
            gender: Some("female".into()),
            birthdate: Some("1852-05-04".into()),
            zoneinfo: Some("Europe/London".into()),
            locale: Some("en-GB".into()),
            address: Some(
                r#"{"street_address":"Christ Church","locality":"Oxford","postal_code":"OX1 1DP","country":"GB"}"#
                    .into(),
            ),
        }
    }

    fn scope(s: &str) -> Scope {
        Scope::parse(s).unwrap()
    }

    #[test]
    fn scopes_release_their_claims() {
        let u = alice(true);
        let only_openid = user_claims(&u, &scope("openid"), &[]);
        assert_eq!(Value::Object(only_openid), json!({ "sub": "u1" }));
        let all = user_claims(&u, &scope("openid email profile address phone"), &[]);
        assert_eq!(
            Value::Object(all),
            json!({
                "sub": "u1",
                "email": "alice@example.com",
                "email_verified": true,
                "name": "Alice Liddell",
                "given_name": "Alice",
                "family_name": "Liddell",
                "middle_name": "Pleasance",
                "nickname": "Al",
                "preferred_username": "alice",
                "profile": "https://example.com/alice",
                "picture": "https://example.com/alice.png",
                "website": "https://alice.example",
                "gender": "female",
                "birthdate": "1852-05-04",
                "zoneinfo": "Europe/London",
                "locale": "en-GB",
                "updated_at": 1_700_000_000,
                "address": {
                    "street_address": "Christ Church",
                    "locality": "Oxford",
                    "postal_code": "OX1 1DP",
                    "country": "GB",
                },
                "phone_number": "+15550100",
                "phone_number_verified": true,
            })
        );
        // Claims the user has no value for are left out rather than sent as null; updated_at
        // is always known.
        let sparse = user_claims(&alice(false), &scope("openid profile address phone"), &[]);
        assert_eq!(
            Value::Object(sparse),
            json!({ "sub": "u1", "updated_at": 1_700_000_000 })
        );
    }

    #[test]
    fn each_scope_releases_only_its_own_claims() {
        let u = alice(true);
        let keys = |s: &str| -> Vec<String> {
            let mut k: Vec<String> = user_claims(&u, &scope(s), &[]).keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys("openid address"), ["address", "sub"]);
        assert_eq!(keys("openid email"), ["email", "email_verified", "sub"]);
        assert_eq!(
            keys("openid phone"),
            ["phone_number", "phone_number_verified", "sub"]
        );
        let profile = keys("openid profile");
        assert_eq!(profile.len(), 15, "{profile:?}");
        assert!(!profile.contains(&"address".to_string()) && !profile.contains(&"email".into()));
        // Discovery advertises every claim a scope can release, each once.
        let supported = super::super::discovery::claims_supported();
        let mut unique = supported.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), supported.len(), "{supported:?}");
        assert_eq!(supported.len(), 12 + 2 + 14 + 1 + 2);
    }

    #[test]
    fn the_claims_parameter_adds_named_claims() {
        let param = r#"{"id_token":{"email":null,"phone_number":{"essential":true},"unknown":null},
                        "userinfo":{"name":null}}"#;
        let req = requested_claims(Some(param), "id_token");
        let c = user_claims(&alice(true), &scope("openid"), &req);
        assert_eq!(
            Value::Object(c),
            json!({ "sub": "u1", "email": "alice@example.com", "phone_number": "+15550100" })
        );
        assert_eq!(requested_claims(Some(param), "userinfo"), vec!["name"]);
        assert!(requested_claims(None, "id_token").is_empty());
        assert!(requested_claims(Some("not json"), "id_token").is_empty());
    }

    fn authn(amr: &[String]) -> Authn<'_> {
        Authn {
            user_id: &USER,
            auth_time: 1_000,
            acr: "mfa",
            amr,
        }
    }

    #[test]
    fn id_token_claims() {
        let amr = vec!["pwd".to_string(), "otp".into(), "mfa".into()];
        let u = alice(true);
        let s = scope("openid email");
        let c = id_token(&IdTokenInput {
            issuer: "https://id.example.com/t/acme",
            client_id: &CLIENT,
            user: &u,
            authn: authn(&amr),
            scope: &s,
            nonce: Some("n-0S6_WzA2Mj"),
            sid: Some("s1"),
            access_token: "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
            alg: SigningAlg::Rs256,
            requested: &[],
            now: 2_000,
            ttl_secs: 600,
        });
        assert_eq!(
            Value::Object(c),
            json!({
                "iss": "https://id.example.com/t/acme",
                "sub": "u1",
                "aud": "c1",
                "azp": "c1",
                "iat": 2_000,
                "exp": 2_600,
                "auth_time": 1_000,
                "acr": "mfa",
                "amr": ["pwd", "otp", "mfa"],
                "at_hash": "77QmUPtjPfzWtF2AnpK9RQ",
                "nonce": "n-0S6_WzA2Mj",
                "sid": "s1",
                "email": "alice@example.com",
                "email_verified": true,
            })
        );
    }

    #[test]
    fn id_token_without_nonce_or_session() {
        let amr = vec!["pwd".to_string()];
        let u = alice(false);
        let s = scope("openid");
        let c = id_token(&IdTokenInput {
            issuer: "i",
            client_id: &CLIENT,
            user: &u,
            authn: authn(&amr),
            scope: &s,
            nonce: None,
            sid: None,
            access_token: "at",
            alg: SigningAlg::EdDsa,
            requested: &[],
            now: 0,
            ttl_secs: 1,
        });
        assert!(!c.contains_key("nonce") && !c.contains_key("sid"));
        // Ed25519 hashes with SHA-512: half of it is 32 bytes, 43 base64url characters.
        assert_eq!(c["at_hash"].as_str().unwrap().len(), 43);
    }

    #[test]
    fn access_token_claims_for_a_user() {
        let amr = vec!["pwd".to_string()];
        let s = scope("openid email");
        let c = access_token(&AccessTokenInput {
            issuer: "https://id.example.com/t/acme",
            client_id: &CLIENT,
            authn: Some(authn(&amr)),
            grant_id: Some("g1"),
            scope: &s,
            jti: "j1",
            now: 2_000,
            ttl_secs: 300,
        });
        assert_eq!(
            Value::Object(c),
            json!({
                "iss": "https://id.example.com/t/acme",
                "sub": "u1",
                "aud": "https://id.example.com/t/acme",
                "iat": 2_000,
                "exp": 2_300,
                "jti": "j1",
                "client_id": "c1",
                "grant_id": "g1",
                "scope": "openid email",
                "auth_time": 1_000,
                "acr": "mfa",
                "amr": ["pwd"],
            })
        );
    }

    #[test]
    fn access_token_claims_for_a_client() {
        let s = scope("");
        let c = access_token(&AccessTokenInput {
            issuer: "i",
            client_id: &CLIENT,
            authn: None,
            grant_id: None,
            scope: &s,
            jti: "j1",
            now: 0,
            ttl_secs: 60,
        });
        assert_eq!(c["sub"], "c1");
        for absent in ["scope", "auth_time", "acr", "amr", "grant_id"] {
            assert!(!c.contains_key(absent), "{absent}");
        }
    }
}
