//! argon2id password hashing on a fixed pool of threads. Hashing is deliberately slow and
//! memory-hard: `password.max_concurrent` threads each own one argon2 work area, allocated at
//! its first hash and reused for every hash and verification while work keeps coming, then
//! given back after a few idle seconds, so peak memory is `max_concurrent × memory_kib` (the
//! blocking pool this replaced kept a freed 19 MiB area per thread and allocator arena: 521 MiB
//! after a storm of sign-ins). The line of callers waiting for a
//! hasher is bounded too (`password.max_queue`): past it [`PasswordError::Busy`] answers at
//! once, because an unbounded line lets one address's burst delay every user's sign-in.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;

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
const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;

/// One piece of work for a hasher thread: it gets the thread's work area.
type Job = Box<dyn FnOnce(&mut [Block]) + Send>;

#[derive(Clone)]
pub struct PasswordHasherPool {
    params: Params,
    jobs: mpsc::SyncSender<Job>,
    threads: usize,
    /// Callers running or waiting, at most `max_concurrent + max_queue`: the one beyond is told
    /// [`PasswordError::Busy`].
    admitted: Arc<AtomicUsize>,
    capacity: usize,
    /// A hash of a random password, verified against when the account does not exist so that
    /// unknown and known users take the same time (no user enumeration by timing).
    dummy_hash: Arc<str>,
}

/// Gives an admission back when the caller is done (answered, or gave up waiting).
struct Admitted(Arc<AtomicUsize>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PasswordHasherPool {
    pub fn new(cfg: &PasswordConfig) -> Result<Self, PasswordError> {
        let params = Params::new(cfg.memory_kib, cfg.iterations, cfg.parallelism, None)
            .map_err(|e| PasswordError::Hash(e.to_string()))?;
        let threads = cfg.max_concurrent.max(1);
        // Admission bounds the line, so the channel never holds more than it lets in.
        let (jobs, queue) = mpsc::sync_channel::<Job>(threads + cfg.queue_len());
        let queue = Arc::new(Mutex::new(queue));
        give_large_blocks_back();
        for i in 0..threads {
            let (queue, blocks) = (Arc::clone(&queue), params.block_count());
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || hasher(&queue, blocks))
                .map_err(|e| PasswordError::Hash(e.to_string()))?;
        }
        let mut area = vec![Block::new(); params.block_count()];
        let dummy = hash_with(&params, &super::random::token(16), &mut area)?;
        Ok(Self {
            params,
            jobs,
            threads,
            admitted: Arc::new(AtomicUsize::new(0)),
            capacity: threads + cfg.queue_len(),
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
        self.run(move |area| hash_with(&params, &password, area))
            .await?
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
            .run(move |area| verify_with(&password, &hash, area))
            .await?;
        Ok(ok && real)
    }

    /// What `/metrics` shows of the pool: its threads, the callers it admits at once, how many
    /// are running or waiting now, and the most memory its work areas take.
    pub fn metrics_text(&self) -> String {
        let in_use = self.admitted.load(Ordering::Acquire);
        format!(
            "# HELP gatehouse_password_hashers Threads hashing passwords, each with its own argon2 memory.\n\
             # TYPE gatehouse_password_hashers gauge\n\
             gatehouse_password_hashers {}\n\
             # HELP gatehouse_password_capacity Hashes running or waiting at most (hashers + password.max_queue).\n\
             # TYPE gatehouse_password_capacity gauge\n\
             gatehouse_password_capacity {}\n\
             # HELP gatehouse_password_in_flight Hashes running or waiting now.\n\
             # TYPE gatehouse_password_in_flight gauge\n\
             gatehouse_password_in_flight {in_use}\n\
             # HELP gatehouse_password_memory_bytes The hashers' argon2 memory at most (held while busy).\n\
             # TYPE gatehouse_password_memory_bytes gauge\n\
             gatehouse_password_memory_bytes {}\n",
            self.threads,
            self.capacity,
            self.threads * self.params.block_count() * 1024,
        )
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        // Admission first and without waiting: a full line is an answer, not a longer line.
        let before = self.admitted.fetch_add(1, Ordering::AcqRel);
        let _admitted = Admitted(Arc::clone(&self.admitted));
        if before >= self.capacity {
            return Err(PasswordError::Busy);
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |area| {
            let _ = tx.send(f(area));
        });
        self.jobs.try_send(job).map_err(|_| PasswordError::Busy)?;
        rx.await
            .map_err(|_| PasswordError::Hash("the hasher thread stopped".into()))
    }
}

/// How long a hasher keeps its work area without work: after a storm of sign-ins the memory
/// goes back to the system, so an idle server is small again.
const IDLE_RELEASE: Duration = Duration::from_secs(5);

/// One hasher thread: takes jobs until the pool is dropped. Its work area is allocated at the
/// first job and kept while jobs keep coming, then freed after [`IDLE_RELEASE`] without one.
fn hasher(queue: &Mutex<mpsc::Receiver<Job>>, blocks: usize) {
    let mut area: Option<Vec<Block>> = None;
    loop {
        let next = {
            let Ok(q) = queue.lock() else { return };
            if area.is_some() {
                q.recv_timeout(IDLE_RELEASE)
            } else {
                q.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected)
            }
        };
        match next {
            Ok(job) => job(area.get_or_insert_with(|| vec![Block::new(); blocks])),
            Err(mpsc::RecvTimeoutError::Timeout) => area = None,
            // The pool was dropped: nothing more will come.
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// glibc raises its mmap threshold to the size of the last large block freed, after which the
/// next work area comes from a per-thread heap that is never trimmed back to the system (the
/// 521 MiB after a storm). A fixed threshold keeps every work area an mmap of its own, which a
/// free returns.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn give_large_blocks_back() {
    // SAFETY: mallopt only sets an allocator tunable; M_MMAP_THRESHOLD takes a byte count.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn give_large_blocks_back() {}

/// argon2id with the pool's parameters in `area`, as a PHC string (`$argon2id$v=19$m=...`).
fn hash_with(params: &Params, password: &str, area: &mut [Block]) -> Result<String, PasswordError> {
    let err = |e: &dyn std::fmt::Display| PasswordError::Hash(e.to_string());
    let mut salt = [0u8; SALT_LEN];
    rand::fill(&mut salt);
    let mut out = [0u8; OUTPUT_LEN];
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon
        .hash_password_into_with_memory(
            password.as_bytes(),
            &salt,
            &mut out,
            &mut area[..params.block_count()],
        )
        .map_err(|e| err(&e))?;
    let phc = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| err(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| err(&e))?),
        hash: Some(Output::new(&out).map_err(|e| err(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` hashes to the PHC string `stored` (its own parameters, salt and output
/// length), compared in constant time. A hash made with more memory than the pool's (an older
/// setting) gets a work area of its own for that once.
fn verify_with(password: &str, stored: &str, area: &mut [Block]) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(alg), Ok(params)) = (
        Algorithm::try_from(phc.algorithm.as_str()),
        Params::try_from(&phc),
    ) else {
        return false;
    };
    let version = match phc.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let (Some(salt), Some(expected)) = (phc.salt.as_ref(), phc.hash.as_ref()) else {
        return false;
    };
    let expected = expected.as_bytes();
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(alg, version, params.clone());
    let blocks = params.block_count();
    let done = if blocks <= area.len() {
        argon.hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut out,
            &mut area[..blocks],
        )
    } else {
        let mut own = vec![Block::new(); blocks];
        argon.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut own[..])
    };
    done.is_ok() && bool::from(out.ct_eq(expected))
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
                .run(move |_| {
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

    /// Hashes made before the pool (argon2's own `hash_password`) verify, and the pool's
    /// verify the same way with argon2's own verifier: the PHC strings are the standard ones.
    #[tokio::test]
    async fn phc_strings_interoperate_with_the_argon2_crate() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let pool = PasswordHasherPool::new(&PasswordConfig::default()).unwrap();
        let theirs = Argon2::default()
            .hash_password(b"correct horse battery")
            .unwrap()
            .to_string();
        assert!(
            pool.verify("correct horse battery", Some(&theirs))
                .await
                .unwrap()
        );
        let ours = pool.hash("correct horse battery").await.unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", ours.as_str())
                .is_ok()
        );
        // A stored hash with more memory than the pool's still verifies.
        let params = Params::new(32 * 1024, 1, 1, None).unwrap();
        let big = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"correct horse battery")
            .unwrap()
            .to_string();
        assert!(
            pool.verify("correct horse battery", Some(&big))
                .await
                .unwrap()
        );
        assert!(
            !pool
                .verify("wrong horse battery", Some(&big))
                .await
                .unwrap()
        );
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(PasswordHasherPool::check_policy("short").is_err());
        assert!(PasswordHasherPool::check_policy("long enough").is_ok());
    }
}
