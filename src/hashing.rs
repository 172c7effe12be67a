//! Argon2id hashing of passwords and security answers: off the async threads, bounded in concurrency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

/// OWASP's minimum for Argon2id: 19 MiB, two passes, one lane.
pub const OWASP_M_COST: u32 = 19_456;
pub const OWASP_T_COST: u32 = 2;
pub const OWASP_P_COST: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("argon2: {0}")]
    Argon2(String),
    #[error("the hashing workers stopped")]
    Stopped,
}

type Job = Box<dyn FnOnce() + Send>;

/// Each hash holds `m_cost` KiB while it runs. Hashes run on a few dedicated threads, one per
/// core, fed by a queue: a burst of posts waits in line instead of growing memory, and the
/// allocator reuses the same threads' memory rather than keeping a block per blocking thread.
#[derive(Clone)]
pub struct Hasher {
    params: Params,
    jobs: std::sync::mpsc::Sender<Job>,
    /// Time spent hashing, for metrics and benchmarks.
    spent: Arc<std::sync::atomic::AtomicU64>,
    /// A hash of nothing anyone knows, verified when an account does not exist, so that an
    /// unknown login takes as long as a wrong password.
    dummy: Arc<tokio::sync::OnceCell<String>>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher").field("params", &self.params).finish_non_exhaustive()
    }
}

impl Hasher {
    pub fn new(m_cost: u32, t_cost: u32, p_cost: u32, concurrency: usize) -> Result<Self, HashError> {
        let params = Params::new(m_cost, t_cost, p_cost, None).map_err(|e| HashError::Argon2(e.to_string()))?;
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for i in 0..concurrency.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    // Ends when every Hasher clone (every sender) is gone.
                    while let Some(job) = queue.lock().ok().and_then(|q| q.recv().ok()) {
                        job();
                    }
                })
                .map_err(|e| HashError::Argon2(format!("cannot start a hashing thread: {e}")))?;
        }
        Ok(Self { params, jobs, spent: Arc::default(), dummy: Arc::default() })
    }

    /// OWASP's parameters, as many hashes at once as there are cores.
    pub fn owasp() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self::new(OWASP_M_COST, OWASP_T_COST, OWASP_P_COST, cores).expect("OWASP parameters are valid")
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Total time spent inside Argon2 since start.
    pub fn time_spent(&self) -> Duration {
        Duration::from_micros(self.spent.load(std::sync::atomic::Ordering::Relaxed))
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let argon2 = self.argon2();
        let spent = self.spent.clone();
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let start = Instant::now();
            let out = job(argon2);
            spent.fetch_add(start.elapsed().as_micros() as u64, std::sync::atomic::Ordering::Relaxed);
            let _ = reply.send(out);
        });
        self.jobs.send(job).map_err(|_| HashError::Stopped)?;
        answer.await.map_err(|_| HashError::Stopped)
    }

    /// A PHC string (`$argon2id$v=19$m=…`) with a fresh random salt.
    pub async fn hash(&self, secret: &SecretString) -> Result<String, HashError> {
        let secret = SecretString::from(secret.expose_secret().to_owned());
        self.run(move |argon2| {
            argon2
                .hash_password(secret.expose_secret().as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| HashError::Argon2(e.to_string()))
        })
        .await?
    }

    /// Whether any of the hashes matches; a malformed hash never does.
    pub async fn matches_any(&self, secret: &SecretString, hashes: Vec<String>) -> Result<bool, HashError> {
        let secret = SecretString::from(secret.expose_secret().to_owned());
        self.run(move |argon2| {
            hashes.iter().any(|h| argon2.verify_password(secret.expose_secret().as_bytes(), h.as_str()).is_ok())
        })
        .await
    }

    pub async fn matches(&self, secret: &SecretString, hash: &str) -> Result<bool, HashError> {
        self.matches_any(secret, vec![hash.to_string()]).await
    }

    /// Verifies against `hash`, or against the dummy hash when there is none: false then,
    /// after the same work.
    pub async fn matches_or_dummy(&self, secret: &SecretString, hash: Option<&str>) -> Result<bool, HashError> {
        match hash {
            Some(hash) => self.matches(secret, hash).await,
            None => {
                let dummy = self
                    .dummy
                    .get_or_try_init(|| async {
                        let unknown: String = uuid::Uuid::new_v4().to_string();
                        self.hash(&SecretString::from(unknown)).await
                    })
                    .await?;
                self.matches(secret, dummy).await.map(|_| false)
            }
        }
    }

    /// Whether a stored hash was made with weaker parameters than ours, and should be redone.
    pub fn needs_rehash(&self, hash: &str) -> bool {
        let Ok(parsed) = argon2::password_hash::phc::PasswordHash::new(hash) else { return true };
        match Params::try_from(&parsed) {
            Ok(p) => {
                parsed.algorithm.as_str() != "argon2id"
                    || p.m_cost() < self.params.m_cost()
                    || p.t_cost() < self.params.t_cost()
                    || p.p_cost() < self.params.p_cost()
            }
            Err(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hasher = Hasher::owasp();
        let hash = hasher.hash(&secret("Correct-Horse-9")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.matches(&secret("Correct-Horse-9"), &hash).await.unwrap());
        assert!(!hasher.matches(&secret("correct-horse-9"), &hash).await.unwrap());
        assert_ne!(hash, hasher.hash(&secret("Correct-Horse-9")).await.unwrap(), "salted");
        assert!(!hasher.needs_rehash(&hash));
    }

    #[tokio::test]
    async fn weaker_or_malformed_hashes_need_rehash_and_never_match() {
        let weak = Hasher::new(8_192, 1, 1, 1).unwrap();
        let hash = weak.hash(&secret("x")).await.unwrap();
        let strong = Hasher::owasp();
        assert!(strong.needs_rehash(&hash));
        assert!(strong.matches(&secret("x"), &hash).await.unwrap(), "old hashes still verify");
        assert!(strong.needs_rehash("not a hash"));
        assert!(!strong.matches(&secret("x"), "not a hash").await.unwrap());
        assert!(strong.matches_any(&secret("x"), vec!["junk".into(), hash]).await.unwrap());
    }

    #[tokio::test]
    async fn an_absent_hash_never_matches_but_costs_a_verification() {
        let hasher = Hasher::owasp();
        assert!(!hasher.matches_or_dummy(&secret(""), None).await.unwrap());
        let before = hasher.time_spent();
        assert!(!hasher.matches_or_dummy(&secret("x"), None).await.unwrap());
        assert!(hasher.time_spent() > before, "the dummy verification did run");
    }

    #[test]
    fn debug_prints_no_secret_material() {
        let s = format!("{:?}", Hasher::owasp());
        assert!(s.contains("Hasher") && !s.contains("spent"));
    }
}
