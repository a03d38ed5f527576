//! Argon2id hashing (OWASP parameters: 19 MiB, 2 passes, 1 lane) for passwords and
//! access codes. Hashing is deliberately slow and memory-hungry, so it runs on the
//! blocking pool, never on the async runtime's worker threads, and every check that a
//! request can cause goes through one process-wide [`HashGate`]: at most one hash per
//! core at a time, a short queue, and beyond it an immediate "busy" (429) without
//! hashing. Without the gate, 400 simultaneous sign-ins took 400 × 19 MiB.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("hashing failed")]
    Hash,
    #[error("hashing task failed")]
    Join,
    /// Every hashing slot and queue place is taken: answer "try again shortly".
    #[error("too many checks at once; try again in a few seconds")]
    Busy,
}

fn hash_blocking(secret: &[u8]) -> Result<String, HashError> {
    let hash: argon2::password_hash::phc::PasswordHash = Argon2::default()
        .hash_password(secret)
        .map_err(|_| HashError::Hash)?;
    Ok(hash.to_string())
}

fn verify_blocking(secret: &[u8], phc: &str) -> bool {
    Argon2::default().verify_password(secret, phc).is_ok()
}

/// The most Argon2 memory a stored hash may ask for (64 MiB); a hash asking for more
/// is treated as not matching rather than allocated.
const MAX_BLOCKS: usize = 64 * 1024;

/// Makes `memory` at least `blocks` long, and returns exactly that many blocks.
fn blocks(memory: &mut Vec<Block>, blocks: usize) -> Option<&mut [Block]> {
    if blocks > MAX_BLOCKS {
        return None;
    }
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    memory.get_mut(..blocks)
}

/// [`hash_blocking`] in the caller's memory (a gate thread's, reused for every hash).
fn hash_in(memory: &mut Vec<Block>, secret: &[u8]) -> Result<String, HashError> {
    let argon = Argon2::default();
    let salt = Salt::new(&rand::random::<[u8; 16]>()).map_err(|_| HashError::Hash)?;
    let len = argon
        .params()
        .output_len()
        .unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let mut out = zeroize::Zeroizing::new(vec![0u8; len]);
    let mem = blocks(memory, argon.params().block_count()).ok_or(HashError::Hash)?;
    argon
        .hash_password_into_with_memory(secret, &salt, &mut out, mem)
        .map_err(|_| HashError::Hash)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params()).map_err(|_| HashError::Hash)?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|_| HashError::Hash)?),
    };
    Ok(phc.to_string())
}

/// [`verify_blocking`] in the caller's memory; false on mismatch or a malformed hash.
fn verify_in(memory: &mut Vec<Block>, secret: &[u8], phc: &str) -> bool {
    let mut check = || -> Option<bool> {
        let parsed = PasswordHash::new(phc).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).ok()?;
        let expected = parsed.hash.as_ref()?;
        let salt = parsed.salt.as_ref()?;
        let mem = blocks(memory, params.block_count())?;
        let mut out = zeroize::Zeroizing::new(vec![0u8; expected.len()]);
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(secret, salt, &mut out, mem)
            .ok()?;
        use subtle::ConstantTimeEq;
        Some(bool::from(out.as_slice().ct_eq(expected.as_bytes())))
    };
    check().unwrap_or(false)
}

/// Hashes a secret into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`), outside any
/// gate: for the operator's CLI and set-up, which no stranger can call.
pub async fn hash(secret: String) -> Result<String, HashError> {
    let secret = zeroize::Zeroizing::new(secret);
    tokio::task::spawn_blocking(move || hash_blocking(secret.as_bytes()))
        .await
        .map_err(|_| HashError::Join)?
}

/// Checks a secret against a stored PHC string outside any gate (CLI only); false on
/// mismatch or a malformed hash.
pub async fn verify(secret: String, phc: String) -> Result<bool, HashError> {
    let secret = zeroize::Zeroizing::new(secret);
    tokio::task::spawn_blocking(move || verify_blocking(secret.as_bytes(), &phc))
        .await
        .map_err(|_| HashError::Join)
}

tokio::task_local! {
    static IN_TRANSACTION: ();
}

/// Runs `f` marked as holding a database transaction: hashes it causes are counted
/// ([`HashGate::hashes_in_transactions`]), which should stay zero — Argon2 work is
/// done before a conversation step's transaction opens.
pub async fn within_transaction<F: std::future::Future>(f: F) -> F::Output {
    IN_TRANSACTION.scope((), f).await
}

/// The process-wide bound on Argon2 work. `slots` hashes run at once, each on one of
/// the gate's own `slots` threads (so at most `slots` threads ever hold Argon2's
/// 19 MiB, and the allocator keeps no more than that many blocks cached); up to
/// `queue` more wait for a slot; anything beyond that is refused at once
/// ([`HashError::Busy`]) by the `try_*` calls that requests use, or waits its turn in
/// the `*_waiting` calls (the conversation worker: its message stays in the inbox
/// meanwhile, and the worker's own concurrency bounds how many wait).
pub struct HashGate {
    slots: Arc<Semaphore>,
    /// Waiting callers (the conversation worker) line up here first, at most one per
    /// slot in the slots' queue, so they never crowd requests out of the bound.
    waiters: Arc<Semaphore>,
    slot_count: usize,
    queue: usize,
    jobs: std::sync::mpsc::Sender<Job>,
    /// Request hashes started or waiting (for the queue bound).
    pending: Arc<AtomicUsize>,
    /// Hashes run since start (tests and metrics).
    done: AtomicU64,
    /// Requests refused as busy since start.
    refused: AtomicU64,
    /// Hashes run while a database transaction was held (see [`within_transaction`]).
    in_transactions: AtomicU64,
}

/// Work for a gate thread, given the thread's own Argon2 memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send + 'static>;

impl std::fmt::Debug for HashGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashGate")
            .field("slots", &self.slot_count)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

/// A request's place in the hashing bound, taken before any other work
/// ([`HashGate::try_place`]). It is released when the hash it was used for has finished
/// on a gate thread — not when the request goes away — or when dropped unused.
pub struct Place(Arc<AtomicUsize>);
impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
impl std::fmt::Debug for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Place")
    }
}

impl Default for HashGate {
    fn default() -> Self {
        Self::from_cores()
    }
}

impl HashGate {
    /// One slot per core, and a queue of four per slot (a sign-in waits at most a
    /// few hundred milliseconds for its turn before being told to retry).
    pub fn from_cores() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Self::new(cores, cores * 4)
    }

    pub fn new(slots: usize, queue: usize) -> Self {
        let slots = slots.max(1);
        let (jobs, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for n in 0..slots {
            let rx = rx.clone();
            // The threads end when the gate (the sending side) is dropped.
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    // Allocated once per thread and reused: Argon2's 19 MiB never goes
                    // back and forth through the allocator.
                    let mut memory: Vec<Block> = Vec::new();
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&mut memory),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a hashing thread");
            }
        }
        Self {
            slots: Arc::new(Semaphore::new(slots)),
            waiters: Arc::new(Semaphore::new(slots)),
            slot_count: slots,
            queue,
            jobs,
            pending: Arc::new(AtomicUsize::new(0)),
            done: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            in_transactions: AtomicU64::new(0),
        }
    }

    /// How many hashes may run at once.
    pub fn slots(&self) -> usize {
        self.slot_count
    }
    /// Hashes run since start.
    pub fn hashes_run(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }
    /// Requests refused as busy since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
    /// Hashes run while a database transaction was held.
    pub fn hashes_in_transactions(&self) -> u64 {
        self.in_transactions.load(Ordering::Relaxed)
    }

    /// Takes a place in the bound for a request, or [`HashError::Busy`] at once when
    /// every slot and queue place is taken. Take it before any other work a request
    /// does for its hash, so a busy answer costs nothing and looks the same for every
    /// request.
    pub fn try_place(&self) -> Result<Place, HashError> {
        let before = self.pending.fetch_add(1, Ordering::AcqRel);
        let place = Place(self.pending.clone());
        if before >= self.slot_count + self.queue {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(HashError::Busy);
        }
        Ok(place)
    }

    /// Runs `work` on a gate thread. `place`: a request's place (released with the
    /// slot when the work ends, even if the caller went away meanwhile); None: a
    /// waiting caller, which lines up behind at most `slots` others like it.
    async fn run<T: Send + 'static>(
        &self,
        place: Option<Place>,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let waiter = match place {
            Some(_) => None,
            None => Some(
                self.waiters
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| HashError::Join)?,
            ),
        };
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| HashError::Join)?;
        drop(waiter);
        self.done.fetch_add(1, Ordering::Relaxed);
        if IN_TRANSACTION.try_with(|_| ()).is_ok() {
            self.in_transactions.fetch_add(1, Ordering::Relaxed);
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |memory: &mut Vec<Block>| {
                let out = work(memory);
                // The slot and the place are free only now that the work is done.
                drop(permit);
                drop(place);
                let _ = tx.send(out);
            }))
            .map_err(|_| HashError::Join)?;
        rx.await.map_err(|_| HashError::Join)
    }

    /// Verifies in a place taken earlier with [`HashGate::try_place`].
    pub async fn verify_placed(
        &self,
        place: Place,
        secret: String,
        phc: String,
    ) -> Result<bool, HashError> {
        let secret = zeroize::Zeroizing::new(secret);
        self.run(Some(place), move |m| verify_in(m, secret.as_bytes(), &phc))
            .await
    }

    /// Hashes within the bound; [`HashError::Busy`] at once when it is full.
    pub async fn try_hash(&self, secret: String) -> Result<String, HashError> {
        let secret = zeroize::Zeroizing::new(secret);
        self.run(Some(self.try_place()?), move |m| {
            hash_in(m, secret.as_bytes())
        })
        .await?
    }

    /// Verifies within the bound; [`HashError::Busy`] at once when it is full.
    pub async fn try_verify(&self, secret: String, phc: String) -> Result<bool, HashError> {
        let secret = zeroize::Zeroizing::new(secret);
        self.run(Some(self.try_place()?), move |m| {
            verify_in(m, secret.as_bytes(), &phc)
        })
        .await
    }

    /// Verifies within the bound, waiting for a slot however long the queue is (the
    /// conversation worker: a message is never dropped for being busy).
    pub async fn verify_waiting(&self, secret: String, phc: String) -> Result<bool, HashError> {
        let secret = zeroize::Zeroizing::new(secret);
        self.run(None, move |m| verify_in(m, secret.as_bytes(), &phc))
            .await
    }

    /// Hashes within the bound, waiting for a slot (issuing codes, recovery codes:
    /// for signed-in staff, never strangers).
    pub async fn hash_waiting(&self, secret: String) -> Result<String, HashError> {
        let secret = zeroize::Zeroizing::new(secret);
        self.run(None, move |m| hash_in(m, secret.as_bytes()))
            .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let h = hash("AB10XYZ9".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("AB10XYZ9".into(), h.clone()).await.unwrap());
        assert!(!verify("AB10XYZ8".into(), h).await.unwrap());
        assert!(!verify("x".into(), "not a hash".into()).await.unwrap());
    }

    #[tokio::test]
    async fn the_gate_hashes_and_verifies_like_argon2() {
        let gate = HashGate::new(1, 1);
        let h = gate.hash_waiting("AB10XYZ9".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        // Both ways: the gate's hashes verify with the library and the library's with the gate.
        assert!(verify("AB10XYZ9".into(), h.clone()).await.unwrap());
        let lib = hash("AB10XYZ9".into()).await.unwrap();
        assert!(gate
            .verify_waiting("AB10XYZ9".into(), lib.clone())
            .await
            .unwrap());
        assert!(!gate.verify_waiting("AB10XYZ8".into(), lib).await.unwrap());
        assert!(!gate
            .verify_waiting("x".into(), "not a hash".into())
            .await
            .unwrap());
        // A stored hash asking for a huge amount of memory is refused, not allocated.
        let greedy = h.replace("m=19456", "m=4000000");
        assert!(!gate
            .verify_waiting("AB10XYZ9".into(), greedy)
            .await
            .unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_gate_bounds_concurrent_hashes_and_refuses_beyond_its_queue() {
        let gate = Arc::new(HashGate::new(1, 2));
        let h = gate.try_hash("secret".into()).await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (g, h) = (gate.clone(), h.clone());
            tasks.push(tokio::spawn(async move {
                g.try_verify("wrong".into(), h).await
            }));
        }
        let mut ok = 0;
        let mut busy = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(false) => ok += 1,
                Err(HashError::Busy) => busy += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(ok + busy, 20);
        // One running plus two queued at most got through while the rest were refused.
        assert!(busy >= 1, "some were refused: {ok} checked, {busy} busy");
        assert_eq!(gate.hashes_run(), 1 + ok as u64);
        assert_eq!(gate.refused(), busy as u64);
        // Waiting callers are never refused.
        assert!(gate.verify_waiting("secret".into(), h).await.unwrap());
    }
}
