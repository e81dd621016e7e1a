//! argon2id password hashing on a bounded blocking pool. Hashing is deliberately slow and
//! memory-hard; a semaphore caps how many run at once so a burst of logins cannot exhaust memory
//! or starve the async runtime (peak = max_concurrent × memory_kib). The line of callers waiting
//! for a hasher is bounded too (`password.max_queue`): past it [`PasswordError::Busy`] answers
//! at once, because an unbounded line lets one address's burst delay every user's sign-in.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::Semaphore;

use crate::config::PasswordConfig;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be between {min} and {max} characters")]
    Policy { min: usize, max: usize },
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// Every hasher is busy and the waiting line is full; nothing was hashed or verified.
    #[error("password hashing is busy; try again shortly")]
    Busy,
}

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 256;

#[derive(Clone)]
pub struct PasswordHasherPool {
    params: Params,
    /// One permit per running hash (`max_concurrent`).
    permits: Arc<Semaphore>,
    /// One permit per caller running or waiting (`max_concurrent + max_queue`), taken without
    /// waiting: when none is left the caller is told [`PasswordError::Busy`].
    admission: Arc<Semaphore>,
    /// A hash of a random password, verified against when the account does not exist so that
    /// unknown and known users take the same time (no user enumeration by timing).
    dummy_hash: Arc<str>,
}

impl PasswordHasherPool {
    pub fn new(cfg: &PasswordConfig) -> Result<Self, PasswordError> {
        let params = Params::new(cfg.memory_kib, cfg.iterations, cfg.parallelism, None)
            .map_err(|e| PasswordError::Hash(e.to_string()))?;
        let dummy = hash_blocking(&params, &super::random::token(16))?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(cfg.max_concurrent)),
            admission: Arc::new(Semaphore::new(cfg.max_concurrent + cfg.queue_len())),
            dummy_hash: dummy.into(),
        })
    }

    /// NIST SP 800-63B §5.1.1.2: at least 8 characters, allow long passphrases.
    pub fn check_policy(password: &str) -> Result<(), PasswordError> {
        let n = password.chars().count();
        if !(MIN_LEN..=MAX_LEN).contains(&n) {
            return Err(PasswordError::Policy {
                min: MIN_LEN,
                max: MAX_LEN,
            });
        }
        Ok(())
    }

    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        Self::check_policy(password)?;
        let params = self.params.clone();
        let password = password.to_owned();
        self.run(move || hash_blocking(&params, &password)).await?
    }

    /// Verifies against `stored`, or against a dummy hash when there is no user (then never a
    /// match), so unknown accounts cost the same argon2 time. `Ok(false)` for a wrong password or
    /// an unreadable stored hash; `Err(Busy)` when the attempt was not evaluated at all.
    pub async fn verify(
        &self,
        password: &str,
        stored: Option<&str>,
    ) -> Result<bool, PasswordError> {
        let (hash, real) = match stored {
            Some(h) => (h.to_owned(), true),
            None => (self.dummy_hash.to_string(), false),
        };
        let password = password.to_owned();
        let ok = self
            .run(move || {
                Argon2::default()
                    .verify_password(password.as_bytes(), hash.as_str())
                    .is_ok()
            })
            .await?;
        Ok(ok && real)
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        // Admission first and without waiting: a full line is an answer, not a longer line.
        let _admitted = self
            .admission
            .try_acquire()
            .map_err(|_| PasswordError::Busy)?;
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| PasswordError::Hash(e.to_string()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| PasswordError::Hash(e.to_string()))
    }
}

fn hash_blocking(params: &Params, password: &str) -> Result<String, PasswordError> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let pool = PasswordHasherPool::new(&PasswordConfig::default()).unwrap();
        let h = pool.hash("correct horse battery").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(
            pool.verify("correct horse battery", Some(&h))
                .await
                .unwrap()
        );
        assert!(!pool.verify("wrong horse battery", Some(&h)).await.unwrap());
        assert!(!pool.verify("correct horse battery", None).await.unwrap());
        assert!(!pool.verify("anything", Some("not a PHC")).await.unwrap());
    }

    /// One hasher and no waiting line: while a hash runs, the next caller is told Busy at once
    /// (nothing queued), and the pool serves again once the hash is done.
    #[tokio::test]
    async fn a_full_line_answers_busy() {
        let cfg = PasswordConfig {
            max_concurrent: 1,
            max_queue: Some(0),
            ..PasswordConfig::default()
        };
        let pool = PasswordHasherPool::new(&cfg).unwrap();
        let (started_tx, started) = tokio::sync::oneshot::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let busy_pool = pool.clone();
        let running = tokio::spawn(async move {
            busy_pool
                .run(move || {
                    let _ = started_tx.send(());
                    let _ = released.recv();
                })
                .await
        });
        started.await.unwrap();
        assert!(matches!(
            pool.verify("correct horse battery", None).await,
            Err(PasswordError::Busy)
        ));
        assert!(matches!(
            pool.hash("correct horse battery").await,
            Err(PasswordError::Busy)
        ));
        release.send(()).unwrap();
        running.await.unwrap().unwrap();
        assert!(!pool.verify("correct horse battery", None).await.unwrap());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(PasswordHasherPool::check_policy("short").is_err());
        assert!(PasswordHasherPool::check_policy("long enough").is_ok());
    }
}
