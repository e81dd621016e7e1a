//! Signing keys: the key, its signer, its lifecycle and rotation plan, the JWKS. They are stored
//! in the database ([`super::key_store`]); [`files`] reads and writes the key files of earlier
//! releases. Each key's `kid` is its RFC 7638 thumbprint, so it is stable everywhere.
//!
//! Lifecycle: `next` (published, not yet signing) → `active` (signs) → `retired` (published until
//! `retire_at`, which is the longest signed-token lifetime after rotation, then dropped).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jwk::alg::ed::EdCurve;
use josekit::jws::{ES256, EdDSA, JwsSigner, JwsVerifier, RS256};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::SigningAlg;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("keys folder {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key file {path} is invalid: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("key generation failed: {0}")]
    Generate(String),
    #[error("no active {0} signing key")]
    NoActiveKey(SigningAlg),
    /// The folder or a key file is open to other users and could not be tightened.
    #[error("keys folder: {0}")]
    Insecure(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A stored key that the server secret (current or previous) does not open.
    #[error(
        "signing key {kid} of tenant {tenant} does not open under secrets.key or secrets.previous (was the server secret changed without listing the old one in secrets.previous?)"
    )]
    Sealed { tenant: String, kid: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    Next,
    Active,
    Retired,
}

impl KeyState {
    pub fn parse(s: &str) -> Option<KeyState> {
        [KeyState::Next, KeyState::Active, KeyState::Retired]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub state: KeyState,
    pub created_at: i64,
    pub retire_at: Option<i64>,
    private: Jwk,
    jws: Jws,
}

/// The key's signer and verifier, built once when the key is read or generated: building one
/// decodes the key through OpenSSL, which costs more than an RS256 signature and ~20 ES256 ones.
/// Shared by clones, so a rotation's state change keeps them.
#[derive(Clone)]
struct Jws {
    signer: Arc<dyn JwsSigner>,
    verifier: Arc<dyn JwsVerifier>,
}

impl std::fmt::Debug for Jws {
    // The signer holds the private key; never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Jws")
    }
}

impl SigningKey {
    /// Builds the signer and verifier, so a key that cannot sign fails here (at load) and not at
    /// its first token.
    pub(crate) fn new(
        kid: String,
        alg: SigningAlg,
        state: KeyState,
        created_at: i64,
        retire_at: Option<i64>,
        private: Jwk,
    ) -> Result<SigningKey, String> {
        let public = public_of(&private, &kid, alg).map_err(|e| e.to_string())?;
        let e = |e: josekit::JoseError| format!("not a usable {alg} key: {e}");
        let jwk = &private;
        let jws = match alg {
            SigningAlg::Rs256 => Jws {
                signer: Arc::new(RS256.signer_from_jwk(jwk).map_err(e)?),
                verifier: Arc::new(RS256.verifier_from_jwk(&public).map_err(e)?),
            },
            SigningAlg::Es256 => Jws {
                signer: Arc::new(ES256.signer_from_jwk(jwk).map_err(e)?),
                verifier: Arc::new(ES256.verifier_from_jwk(&public).map_err(e)?),
            },
            SigningAlg::EdDsa => Jws {
                signer: Arc::new(EdDSA.signer_from_jwk(jwk).map_err(e)?),
                verifier: Arc::new(EdDSA.verifier_from_jwk(&public).map_err(e)?),
            },
        };
        Ok(SigningKey {
            kid,
            alg,
            state,
            created_at,
            retire_at,
            private,
            jws,
        })
    }

    /// Signs with this key (its `kid` and `alg`).
    pub fn signer(&self) -> &dyn JwsSigner {
        &*self.jws.signer
    }

    /// Verifies signatures of this key's algorithm only.
    pub fn verifier(&self) -> &dyn JwsVerifier {
        &*self.jws.verifier
    }

    /// Published in the JWKS: next and active keys, and retired ones until `retire_at`.
    pub fn is_published(&self, now: i64) -> bool {
        match self.state {
            KeyState::Next | KeyState::Active => true,
            KeyState::Retired => self.retire_at.is_some_and(|t| t > now),
        }
    }

    /// The public JWK with `kid`, `alg` and `use` set; private members are never copied.
    pub fn public_jwk(&self) -> Result<Jwk, KeyError> {
        public_of(&self.private, &self.kid, self.alg)
    }

    pub fn private_jwk(&self) -> &Jwk {
        &self.private
    }
}

fn public_of(private: &Jwk, kid: &str, alg: SigningAlg) -> Result<Jwk, KeyError> {
    let mut public = private
        .to_public_key()
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    public.set_key_id(kid);
    public.set_algorithm(alg.as_str());
    public.set_key_use("sig");
    Ok(public)
}

/// All keys found in the folder.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<SigningKey>,
}

impl KeySet {
    pub(crate) fn from_keys(keys: Vec<SigningKey>) -> KeySet {
        let mut set = KeySet { keys };
        set.sort();
        set
    }

    /// A stable order for listings: by algorithm, then age, then kid.
    fn sort(&mut self) {
        self.keys.sort_by(|a, b| {
            (a.alg.as_str(), a.created_at, &a.kid).cmp(&(b.alg.as_str(), b.created_at, &b.kid))
        });
    }

    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The newest active key for `alg` (two can exist briefly if a rotation was interrupted).
    pub fn active(&self, alg: SigningAlg) -> Option<&SigningKey> {
        self.keys
            .iter()
            .filter(|k| k.alg == alg && k.state == KeyState::Active)
            .max_by_key(|k| k.created_at)
    }

    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// The JWK Set document (RFC 7517 §5): public parts of every published key.
    pub fn jwks(&self, now: i64) -> Result<serde_json::Value, KeyError> {
        let keys = self
            .keys
            .iter()
            .filter(|k| k.is_published(now))
            .map(|k| k.public_jwk().map(|j| serde_json::Value::Object(j.into())))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(serde_json::json!({ "keys": keys }))
    }
}

/// What a rotation did, for the CLI to print.
#[derive(Debug, Clone, Serialize)]
pub struct Rotation {
    pub alg: SigningAlg,
    pub new_state: KeyState,
    pub kid: String,
    pub retired_kid: Option<String>,
    pub retire_at: Option<i64>,
}

/// What a rotation changes, decided from the keys alone; the folder ([`rotate`]) and the
/// database ([`super::key_store::rotate`]) each apply it in their own writes.
pub(crate) struct Plan {
    /// The key that is now `next` (staged) or `active`, in that state.
    pub key: SigningKey,
    /// Whether `key` is new (else an existing `next` key, promoted or left as it is).
    pub is_new: bool,
    /// Keys of the algorithm that were active: now retired until `retire_at`.
    pub retire: Vec<String>,
    /// Retired keys past their date: to delete.
    pub delete: Vec<String>,
    pub rotation: Rotation,
}

/// Plans a rotation of `alg`. With `stage`, only a `next` key (published so caches learn it
/// before it signs; an existing one is kept). Otherwise the staged `next` key, or a fresh one,
/// becomes active and the previous active key is retired: still published until
/// `now + retire_after`, so tokens it signed stay valid. Retired keys past their date go.
pub(crate) fn plan(
    set: &KeySet,
    alg: SigningAlg,
    stage: bool,
    retire_after: i64,
    now: i64,
) -> Result<Plan, KeyError> {
    let staged = set
        .keys
        .iter()
        .filter(|k| k.alg == alg && k.state == KeyState::Next)
        .max_by_key(|k| k.created_at)
        .cloned();
    let is_new = staged.is_none();
    let mut key = match staged {
        Some(k) => k,
        None => generate(alg, KeyState::Next, now)?,
    };
    if stage {
        return Ok(Plan {
            rotation: Rotation {
                alg,
                new_state: KeyState::Next,
                kid: key.kid.clone(),
                retired_kid: None,
                retire_at: None,
            },
            key,
            is_new,
            retire: Vec::new(),
            delete: Vec::new(),
        });
    }
    key.state = KeyState::Active;
    let retire_at = now + retire_after;
    let others = || set.keys.iter().filter(|k| k.alg == alg && k.kid != key.kid);
    let retire: Vec<String> = others()
        .filter(|k| k.state == KeyState::Active)
        .map(|k| k.kid.clone())
        .collect();
    let delete = others()
        .filter(|k| k.state == KeyState::Retired && !k.is_published(now))
        .map(|k| k.kid.clone())
        .collect();
    Ok(Plan {
        rotation: Rotation {
            alg,
            new_state: KeyState::Active,
            kid: key.kid.clone(),
            retired_kid: retire.last().cloned(),
            retire_at: Some(retire_at),
        },
        key,
        is_new,
        retire,
        delete,
    })
}

pub(crate) fn generate(alg: SigningAlg, state: KeyState, now: i64) -> Result<SigningKey, KeyError> {
    let err = |e: josekit::JoseError| KeyError::Generate(e.to_string());
    let mut jwk = match alg {
        SigningAlg::Rs256 => Jwk::generate_rsa_key(2048).map_err(err)?,
        SigningAlg::Es256 => Jwk::generate_ec_key(EcCurve::P256).map_err(err)?,
        SigningAlg::EdDsa => Jwk::generate_ed_key(EdCurve::Ed25519).map_err(err)?,
    };
    let kid = thumbprint(&jwk)?;
    jwk.set_key_id(&kid);
    jwk.set_algorithm(alg.as_str());
    jwk.set_key_use("sig");
    SigningKey::new(kid, alg, state, now, None, jwk).map_err(KeyError::Generate)
}

/// RFC 7638 JWK thumbprint (SHA-256 over the required public members in lexicographic order),
/// base64url, first 22 characters (132 bits: unique, shorter in headers).
pub fn thumbprint(jwk: &Jwk) -> Result<String, KeyError> {
    let member = |name: &str| -> Result<String, KeyError> {
        jwk.parameter(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| KeyError::Generate(format!("JWK lacks `{name}`")))
    };
    let canonical = match jwk.key_type() {
        "RSA" => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            member("e")?,
            member("n")?
        ),
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            member("crv")?,
            member("x")?,
            member("y")?
        ),
        "OKP" => format!(
            r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
            member("crv")?,
            member("x")?
        ),
        other => return Err(KeyError::Generate(format!("unsupported kty {other}"))),
    };
    let digest = Sha256::digest(canonical.as_bytes());
    Ok(URL_SAFE_NO_PAD.encode(digest)[..22].to_string())
}

/// Creates the folder 0700, or tightens an existing one that other users can read (a
/// `mkdir keys` under the usual umask is 0755); refuses when that is not permitted.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), KeyError> {
    crate::private_fs::ensure_dir(dir).map_err(KeyError::Insecure)
}

mod files;
#[cfg(test)]
use files::key_path;
pub use files::rotate;

#[cfg(test)]
mod tests;
