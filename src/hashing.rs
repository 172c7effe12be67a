//! Argon2id hashing of passwords and security answers: off the async threads, bounded in concurrency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use crate::domain::security_answer::AnswerForms;
use crate::store::Store;

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
    /// More hashes are waiting than the threads can start within the queue's bound.
    #[error("the hashing queue is full")]
    Busy,
}

/// The time a request spends on hashes (waiting for a thread and hashing), which its deadline
/// for database work does not count (`web::deadline`).
#[derive(Debug, Default)]
pub struct HashClock {
    spent_micros: std::sync::atomic::AtomicU64,
    running: std::sync::atomic::AtomicUsize,
}

impl HashClock {
    /// Time spent on finished hashes.
    pub fn spent(&self) -> Duration {
        Duration::from_micros(self.spent_micros.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Whether a hash is waiting or running now.
    pub fn running(&self) -> bool {
        self.running.load(std::sync::atomic::Ordering::Relaxed) > 0
    }
}

tokio::task_local! {
    static REQUEST_CLOCK: Arc<HashClock>;
}

/// Runs `work`, counting on `clock` the time its hashes take.
pub async fn timing_hashes<F: Future>(clock: Arc<HashClock>, work: F) -> F::Output {
    REQUEST_CLOCK.scope(clock, work).await
}

/// Counts one hash on the request's clock, if any, from its creation to its drop.
struct Timed(Option<(Arc<HashClock>, Instant)>);

impl Timed {
    fn start() -> Self {
        let clock = REQUEST_CLOCK.try_with(Arc::clone).ok();
        if let Some(clock) = &clock {
            clock.running.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Self(clock.map(|clock| (clock, Instant::now())))
    }
}

impl Drop for Timed {
    fn drop(&mut self) {
        if let Some((clock, started)) = &self.0 {
            clock.spent_micros.fetch_add(started.elapsed().as_micros() as u64, std::sync::atomic::Ordering::Relaxed);
            clock.running.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// How long a hash waits for a thread at most, unless configured (`SESAME_HASH_WAIT_SECONDS`).
const DEFAULT_WAIT: Duration = Duration::from_secs(5);

/// Bytes of salt in a new hash, as the password-hash crate recommends.
const SALT_LEN: usize = 16;

/// A hash to compute on a hashing thread, given that thread's Argon2 memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// Each hash holds `m_cost` KiB while it runs. Hashes run on a few dedicated threads, one per
/// core, fed by a queue: a burst of posts waits in line instead of growing memory. Each thread
/// keeps its `m_cost` KiB from one hash to the next (wiped after each): asking the system for
/// fresh pages every time cost as much again as the hash in page faults and zeroing.
#[derive(Clone)]
pub struct Hasher {
    params: Params,
    jobs: std::sync::mpsc::Sender<Job>,
    /// How long a hash may wait for a thread (`SESAME_HASH_WAIT_SECONDS`), and what the queue
    /// looks like to decide at once whether a new one would.
    wait: Duration,
    queue: Arc<QueueState>,
    /// Time spent hashing, for metrics and benchmarks.
    spent: Arc<std::sync::atomic::AtomicU64>,
    /// A hash of nothing anyone knows, verified when an account does not exist, so that an
    /// unknown login takes as long as a wrong password.
    dummy: Arc<tokio::sync::OnceCell<String>>,
}

/// The hashing queue as a new hash finds it.
#[derive(Debug)]
struct QueueState {
    threads: usize,
    /// Hashes sent and not yet started.
    waiting: std::sync::atomic::AtomicUsize,
    /// A moving average of one hash's time, in microseconds.
    mean_micros: std::sync::atomic::AtomicU64,
}

impl QueueState {
    /// What a hash sent now would wait: the hashes ahead of it, shared by the threads.
    fn expected_wait(&self) -> Duration {
        let ahead = self.waiting.load(std::sync::atomic::Ordering::Relaxed) / self.threads;
        Duration::from_micros(self.mean_micros.load(std::sync::atomic::Ordering::Relaxed) * ahead as u64)
    }

    fn record(&self, took: Duration) {
        let took = took.as_micros() as u64;
        let mean = self.mean_micros.load(std::sync::atomic::Ordering::Relaxed);
        let updated = if mean == 0 { took } else { mean - mean / 8 + took / 8 };
        self.mean_micros.store(updated, std::sync::atomic::Ordering::Relaxed);
    }
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
        let threads = concurrency.max(1);
        for i in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    // Taken at the first hash, so that a process that never hashes never holds it.
                    let mut memory = Vec::new();
                    // Ends when every Hasher clone (every sender) is gone.
                    while let Some(job) = queue.lock().ok().and_then(|q| q.recv().ok()) {
                        job(&mut memory);
                    }
                })
                .map_err(|e| HashError::Argon2(format!("cannot start a hashing thread: {e}")))?;
        }
        let queue = Arc::new(QueueState { threads, waiting: Default::default(), mean_micros: Default::default() });
        Ok(Self { params, jobs, wait: DEFAULT_WAIT, queue, spent: Arc::default(), dummy: Arc::default() })
    }

    /// The same threads, with hashes waiting `wait` at most for one of them.
    pub fn waiting_at_most(self, wait: Duration) -> Self {
        Self { wait, ..self }
    }

    /// OWASP's parameters, as many hashes at once as there are cores.
    pub fn owasp() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self::new(OWASP_M_COST, OWASP_T_COST, OWASP_P_COST, cores).expect("OWASP parameters are valid")
    }

    /// Total time spent inside Argon2 since start.
    pub fn time_spent(&self) -> Duration {
        Duration::from_micros(self.spent.load(std::sync::atomic::Ordering::Relaxed))
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _timed = Timed::start();
        // Refused at once when the queue is already longer than the bound: the person is told
        // to come back instead of waiting for a time-out.
        if self.queue.expected_wait() > self.wait {
            return Err(HashError::Busy);
        }
        let own_blocks = self.params.block_count();
        let spent = self.spent.clone();
        let queue = self.queue.clone();
        let (wait, sent) = (self.wait, Instant::now());
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |blocks| {
            queue.waiting.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            // The estimate was wrong (slower hashes than measured): what waited past the bound
            // is refused, so that a post served takes the bound and one hash at most.
            if sent.elapsed() > wait {
                let _ = reply.send(Err(HashError::Busy));
                return;
            }
            let start = Instant::now();
            let out = job(&mut Memory { blocks, own_blocks });
            let took = start.elapsed();
            queue.record(took);
            spent.fetch_add(took.as_micros() as u64, std::sync::atomic::Ordering::Relaxed);
            let _ = reply.send(Ok(out));
        });
        self.queue.waiting.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if self.jobs.send(job).is_err() {
            self.queue.waiting.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            return Err(HashError::Stopped);
        }
        answer.await.map_err(|_| HashError::Stopped)?
    }

    /// A PHC string (`$argon2id$v=19$m=…`) with a fresh random salt.
    pub async fn hash(&self, secret: &SecretString) -> Result<String, HashError> {
        let secret = SecretString::from(secret.expose_secret().to_owned());
        let params = self.params.clone();
        let mut salt = [0u8; SALT_LEN];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        self.run(move |memory| {
            let failed = |e: &dyn std::fmt::Display| HashError::Argon2(e.to_string());
            let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
            memory
                .compute(
                    Algorithm::Argon2id,
                    Version::V0x13,
                    params.clone(),
                    secret.expose_secret().as_bytes(),
                    &salt,
                    &mut out,
                )
                .map_err(|e| failed(&e))?;
            let hash = PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
                salt: Some(Salt::new(&salt).map_err(|e| failed(&e))?),
                hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
            };
            Ok(hash.to_string())
        })
        .await?
    }

    /// Whether any of the hashes matches; a malformed hash never does.
    pub async fn matches_any(&self, secret: &SecretString, hashes: Vec<String>) -> Result<bool, HashError> {
        let secret = SecretString::from(secret.expose_secret().to_owned());
        self.run(move |memory| hashes.iter().any(|h| memory.verify(secret.expose_secret().as_bytes(), h))).await
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

    /// Verifies a typed security answer against its stored hash, in today's normalised form
    /// and then, for hashes made before punctuation counted as spaces, in the old one. A right
    /// answer whose hash is of the old form, or made with weaker parameters, is hashed anew
    /// in today's form and stored in place of the old hash (if no one changed it meanwhile);
    /// a failure to store it is only logged, since the answer was right and the next
    /// successful use tries again.
    pub async fn verify_answer(
        &self,
        store: &dyn Store,
        person_id: i64,
        typed: &str,
        hash: &str,
    ) -> Result<bool, HashError> {
        let forms = AnswerForms::of(typed);
        let current = SecretString::from(forms.current);
        let outdated = if self.matches(&current, hash).await? {
            self.needs_rehash(hash)
        } else {
            let Some(legacy) = forms.legacy else { return Ok(false) };
            if !self.matches(&SecretString::from(legacy), hash).await? {
                return Ok(false);
            }
            true
        };
        if outdated {
            let upgraded = self.hash(&current).await?;
            if let Err(error) = store.rehash_answer(person_id, hash, &upgraded).await {
                tracing::warn!(person_id, %error, "security answer: upgraded hash not stored");
            }
        }
        Ok(true)
    }

    /// Whether a stored hash was made with weaker parameters than ours, and should be redone.
    pub fn needs_rehash(&self, hash: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else { return true };
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

/// A hashing thread's Argon2 memory, as long as our own parameters need.
struct Memory<'a> {
    blocks: &'a mut Vec<Block>,
    own_blocks: usize,
}

impl Memory<'_> {
    /// Argon2 into `out`, in this thread's memory; a hash made with more memory than ours (never
    /// made here, but accepted when verifying) gets its own, returned after.
    fn compute(
        &mut self,
        algorithm: Algorithm,
        version: Version,
        params: Params,
        secret: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> argon2::Result<()> {
        let needed = params.block_count();
        let mut larger = Vec::new();
        let blocks = if needed <= self.own_blocks {
            if self.blocks.len() < self.own_blocks {
                self.blocks.resize(self.own_blocks, Block::default());
            }
            &mut self.blocks[..needed]
        } else {
            larger.resize(needed, Block::default());
            &mut larger[..]
        };
        let result =
            Argon2::new(algorithm, version, params).hash_password_into_with_memory(secret, salt, out, &mut *blocks);
        // What the memory holds derives from the secret: wiped, as argon2 does with memory it frees.
        blocks.fill(Block::default());
        result
    }

    /// Whether `secret` gives `hash` (a PHC string of any Argon2 variant and parameters);
    /// the comparison takes the same time wherever the outputs differ.
    fn verify(&mut self, secret: &[u8], hash: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else { return false };
        let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(parsed.algorithm.as_str()), Params::try_from(&parsed))
        else {
            return false;
        };
        let Ok(version) = parsed.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else { return false };
        let mut out = vec![0u8; expected.len()];
        self.compute(algorithm, version, params, secret, salt, &mut out).is_ok()
            && Output::new(&out).is_ok_and(|computed| &computed == expected)
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

    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crate_both_ways() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let hasher = Hasher::owasp();
        let ours = hasher.hash(&secret("Vélo-Lune-42")).await.unwrap();
        let params = Params::new(OWASP_M_COST, OWASP_T_COST, OWASP_P_COST, None).unwrap();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        assert!(argon2.verify_password("Vélo-Lune-42".as_bytes(), ours.as_str()).is_ok());
        assert!(argon2.verify_password(b"velo-lune-42", ours.as_str()).is_err());
        let theirs = argon2.hash_password("Vélo-Lune-42".as_bytes()).unwrap().to_string();
        assert!(hasher.matches(&secret("Vélo-Lune-42"), &theirs).await.unwrap());
        assert!(!hasher.matches(&secret("Vélo-Lune-43"), &theirs).await.unwrap());
        // A hash made with more memory than ours, and an Argon2i one, still verify.
        let larger = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::new(32_768, 1, 1, None).unwrap());
        let old = larger.hash_password(b"x").unwrap().to_string();
        assert!(hasher.matches(&secret("x"), &old).await.unwrap());
        assert!(!hasher.matches(&secret("y"), &old).await.unwrap());
    }

    #[test]
    fn debug_prints_no_secret_material() {
        let s = format!("{:?}", Hasher::owasp());
        assert!(s.contains("Hasher") && !s.contains("spent"));
    }
}
