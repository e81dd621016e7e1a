//! The public keys of a `private_key_jwt` client (OIDC Core §9, RFC 7523): a JWK Set registered
//! inline (`client create --jwks-file`) or published by the client at its `jwks_uri`. Fetched
//! sets are cached per client on this node and fetched again, at most once per
//! [`FORCED_REFETCH_INTERVAL`], when an assertion names a `kid` the cached set lacks (the client
//! rotated its keys).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use josekit::jwk::Jwk;
use serde_json::Value;
use url::Url;

use crate::store::clients::Client;

/// A JWK Set document larger than this is refused, whether a file or fetched.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// Keys per set: a client rotating keys publishes two or three.
pub const MAX_KEYS: usize = 20;
/// How long a fetch of a client's `jwks_uri` may take, connect to last byte.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a fetched set is used before it is fetched again.
pub const CACHE_TTL: Duration = Duration::from_secs(300);
/// An unknown `kid` makes Gatehouse fetch the set again at once, but no more often than this per
/// client, so unsigned junk naming random kids cannot turn Gatehouse into a fetch loop aimed at
/// the client's server.
pub const FORCED_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// Cached sets per node; past it, expired entries go and then, if still full, all of them.
const MAX_CACHED: usize = 10_000;

/// Reads a JWK Set: a JSON object with 1 to [`MAX_KEYS`] public signing keys (RSA of 2048 bits
/// or more, EC P-256, OKP Ed25519), none of them private or symmetric. Returns the document to
/// store as it was given.
pub fn parse(text: &str) -> Result<Value, String> {
    if text.len() > MAX_JWKS_BYTES {
        return Err(format!("JWK Set larger than {MAX_JWKS_BYTES} bytes"));
    }
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("JWK Set is not JSON: {e}"))?;
    keys_of(&doc)?;
    Ok(doc)
}

/// The keys of a parsed JWK Set document, each checked as [`parse`] describes.
pub fn keys_of(doc: &Value) -> Result<Vec<Jwk>, String> {
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("JWK Set needs a `keys` array (RFC 7517 §5)")?;
    if keys.is_empty() || keys.len() > MAX_KEYS {
        return Err(format!("JWK Set must hold 1 to {MAX_KEYS} keys"));
    }
    keys.iter().map(public_key).collect()
}

fn public_key(v: &Value) -> Result<Jwk, String> {
    let map = v.as_object().ok_or("every JWK must be a JSON object")?;
    let jwk = Jwk::from_map(map.clone()).map_err(|e| format!("invalid JWK: {e}"))?;
    // A private part here means the client's secret key was registered with us by mistake.
    if ["d", "p", "q", "k"].iter().any(|m| map.contains_key(*m)) {
        return Err(
            "a JWK holds private or symmetric key material; register public keys only".into(),
        );
    }
    let curve = map.get("crv").and_then(Value::as_str);
    match (jwk.key_type(), curve) {
        ("RSA", _) | ("EC", Some("P-256")) | ("OKP", Some("Ed25519")) => Ok(jwk),
        (kty, crv) => Err(format!(
            "unsupported key type {kty}{}: use RSA (RS256), EC P-256 (ES256) or OKP Ed25519 (EdDSA)",
            crv.map(|c| format!(" {c}")).unwrap_or_default()
        )),
    }
}

/// `--jwks-uri`: https, or http on loopback for local development (as redirect URIs).
pub fn validate_uri(uri: &str) -> Result<String, String> {
    let url = Url::parse(uri).map_err(|e| format!("invalid --jwks-uri `{uri}`: {e}"))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" if url.host_str().is_some() => Ok(uri.to_owned()),
        "http" if loopback => Ok(uri.to_owned()),
        _ => Err(format!(
            "invalid --jwks-uri `{uri}`: expected https (http only on localhost/127.0.0.1)"
        )),
    }
}

/// Why a client's keys could not be had; the reason goes to the log, never to the client.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("client has no keys registered")]
    None,
    #[error("jwks_uri fetch failed: {0}")]
    Fetch(String),
    #[error("jwks_uri document refused: {0}")]
    Document(String),
}

struct Cached {
    fetched: Instant,
    keys: Arc<Vec<Jwk>>,
    /// When an unknown `kid` last forced a fetch.
    forced: Option<Instant>,
}

/// Per node, keyed by tenant, client and URI: a client whose `jwks_uri` changes starts afresh.
/// It lives beside the other per-process caches rather than in the database (DESIGN.md §8: the
/// database holds state; this only saves fetches).
fn cache() -> &'static Mutex<HashMap<String, Cached>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Cached>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

fn cache_key(client: &Client, uri: &str) -> String {
    format!("{}\n{}\n{uri}", client.tenant_id, client.id)
}

/// The client's keys: the registered set, or the set at its `jwks_uri` (cached), and whether
/// they were fetched just now (then fetching again for an unknown `kid` would gain nothing).
pub async fn keys(client: &Client) -> Result<(Arc<Vec<Jwk>>, bool), KeysError> {
    if let Some(doc) = &client.jwks {
        let keys = keys_of(doc).map_err(KeysError::Document)?;
        return Ok((Arc::new(keys), false));
    }
    let uri = client.jwks_uri.as_deref().ok_or(KeysError::None)?;
    let key = cache_key(client, uri);
    {
        let map = cache().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = map.get(&key).filter(|c| c.fetched.elapsed() < CACHE_TTL) {
            return Ok((c.keys.clone(), false));
        }
    }
    let keys = Arc::new(fetch(uri).await?);
    store(key, keys.clone(), None);
    Ok((keys, true))
}

/// Fetches the client's `jwks_uri` again because an assertion named a `kid` the cached set
/// lacks. `None` when the client has no `jwks_uri` or one such fetch happened too recently.
pub async fn refetch_for_unknown_kid(client: &Client) -> Option<Result<Arc<Vec<Jwk>>, KeysError>> {
    let uri = client.jwks_uri.as_deref()?;
    let key = cache_key(client, uri);
    let now = Instant::now();
    {
        let mut map = cache().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = map.get_mut(&key) {
            if c.forced
                .is_some_and(|t| now.duration_since(t) < FORCED_REFETCH_INTERVAL)
            {
                return None;
            }
            // Claimed before the fetch, so concurrent requests do not fetch together.
            c.forced = Some(now);
        }
    }
    Some(fetch(uri).await.map(|keys| {
        let keys = Arc::new(keys);
        store(key, keys.clone(), Some(now));
        keys
    }))
}

fn store(key: String, keys: Arc<Vec<Jwk>>, forced: Option<Instant>) {
    let mut map = cache().lock().unwrap_or_else(|p| p.into_inner());
    if map.len() >= MAX_CACHED {
        map.retain(|_, c| c.fetched.elapsed() < CACHE_TTL);
        if map.len() >= MAX_CACHED {
            map.clear();
        }
    }
    map.insert(
        key,
        Cached {
            fetched: Instant::now(),
            keys,
            forced,
        },
    );
}

fn http() -> &'static reqwest::Client {
    static HTTP: OnceLock<reqwest::Client> = OnceLock::new();
    HTTP.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            // The registered URL is the one trusted; a redirect could lead anywhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    })
}

async fn fetch(uri: &str) -> Result<Vec<Jwk>, KeysError> {
    let fetch_err = |e: reqwest::Error| KeysError::Fetch(e.without_url().to_string());
    let mut res = http().get(uri).send().await.map_err(fetch_err)?;
    if !res.status().is_success() {
        return Err(KeysError::Fetch(format!("status {}", res.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(fetch_err)? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(KeysError::Document(format!(
                "larger than {MAX_JWKS_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(body).map_err(|_| KeysError::Document("not UTF-8".into()))?;
    let doc = parse(&text).map_err(KeysError::Document)?;
    keys_of(&doc).map_err(KeysError::Document)
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jwk::alg::ec::EcCurve;
    use josekit::jwk::alg::ed::EdCurve;

    fn set(keys: &[Jwk]) -> String {
        let keys: Vec<Value> = keys
            .iter()
            .map(|k| Value::Object(k.as_ref().clone()))
            .collect();
        serde_json::json!({ "keys": keys }).to_string()
    }

    #[test]
    fn accepts_public_signing_keys_only() {
        let ec = Jwk::generate_ec_key(EcCurve::P256).unwrap();
        let ed = Jwk::generate_ed_key(EdCurve::Ed25519).unwrap();
        let public = [ec.to_public_key().unwrap(), ed.to_public_key().unwrap()];
        assert_eq!(keys_of(&parse(&set(&public)).unwrap()).unwrap().len(), 2);
        assert!(parse(&set(&[ec])).unwrap_err().contains("private"));
        let p384 = Jwk::generate_ec_key(EcCurve::P384).unwrap();
        assert!(parse(&set(&[p384.to_public_key().unwrap()])).is_err());
        let hmac = Jwk::generate_oct_key(32).unwrap();
        assert!(parse(&set(&[hmac])).is_err());
        assert!(parse(r#"{"keys":[]}"#).is_err());
        assert!(parse("[]").is_err());
        assert!(parse(&" ".repeat(MAX_JWKS_BYTES + 1)).is_err());
    }

    #[test]
    fn jwks_uri_rules() {
        assert!(validate_uri("https://app.example.com/jwks").is_ok());
        assert!(validate_uri("http://127.0.0.1:8000/jwks").is_ok());
        assert!(validate_uri("http://app.example.com/jwks").is_err());
        assert!(validate_uri("file:///etc/passwd").is_err());
        assert!(validate_uri("jwks").is_err());
    }
}
