//! The process's language model: loaded lazily off the request path, the example
//! phrases' embeddings cached on disk (keyed by the encoder's and each phrase's hash),
//! inference in a bounded pool, and strangers' messages bounded per school and
//! globally. Without the models (or while they load, or when a bound is spent) the
//! n-gram classifier answers alone: nothing waits for the model.

use super::classifier::{Classifier, Guess, Params};
use super::encoder::{Encoder, EncoderError, QUERY};
use super::examples::Examples;
use super::Intent;
use crate::models::Verified;
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Messages waiting for the encoder at most; beyond it, n-grams answer.
pub const QUEUE_LIMIT: usize = 64;
/// Strangers' messages may fill only this much of the queue: a burst of them never
/// delays a logged-in parent by more than this many classifications.
pub const STRANGERS_QUEUE_LIMIT: usize = 16;
/// Strangers' messages through the encoder per school (a minute), and for the process.
pub const STRANGERS_PER_SCHOOL_PER_MINUTE: u32 = 120;
pub const STRANGERS_PER_SECOND: u32 = 50;

/// Where the model stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Not looked for yet.
    Idle,
    Loading,
    Ready,
    /// Missing or refused (the reason, for `raabta models check` and the log).
    Unavailable(String),
}

struct Loaded {
    encoder: Arc<Encoder>,
    classifier: Arc<Classifier>,
    /// The shipped examples and their embeddings (a school's classifier adds its own).
    examples: Arc<Examples>,
    vectors: Arc<Vec<Vec<f32>>>,
}

/// Who sent the message, for the bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// Logged in (or a roster phone): no extra bound.
    Known,
    /// An unknown sender: bounded per school and globally, and in the queue.
    Stranger,
}

/// Schools' classifiers kept at most (the cache is emptied when full).
const SCHOOLS_CACHED: usize = 256;

fn phrases_hash(phrases: &[(Intent, String)]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    phrases.hash(&mut h);
    h.finish()
}

pub struct Nlu {
    examples: Examples,
    params: Params,
    models_dir: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
    ngram: Arc<Classifier>,
    loaded: OnceLock<Loaded>,
    status: Mutex<Status>,
    pool: tokio::sync::Semaphore,
    waiting: AtomicUsize,
    strangers: DefaultDirectRateLimiter,
    strangers_by_school: DefaultKeyedRateLimiter<uuid::Uuid>,
    /// Schools' classifiers with their own phrases: (school, with the encoder, phrases).
    schools: Mutex<HashMap<(uuid::Uuid, bool, u64), Arc<Classifier>>>,
}

impl std::fmt::Debug for Nlu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nlu")
            .field("status", &self.status())
            .finish()
    }
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

fn per_second(n: u32) -> Quota {
    Quota::per_second(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl Nlu {
    /// `models_dir`: None runs on n-grams only (never looks for a model).
    pub fn new(
        examples: Examples,
        models_dir: Option<PathBuf>,
        cache_dir: Option<PathBuf>,
    ) -> Self {
        let params = Params::default();
        Self {
            ngram: Arc::new(Classifier::new(&examples, None, params)),
            examples,
            params,
            models_dir,
            cache_dir,
            loaded: OnceLock::new(),
            status: Mutex::new(Status::Idle),
            pool: tokio::sync::Semaphore::new(1),
            waiting: AtomicUsize::new(0),
            strangers: DefaultDirectRateLimiter::direct(per_second(STRANGERS_PER_SECOND)),
            strangers_by_school: DefaultKeyedRateLimiter::keyed(per_minute(
                STRANGERS_PER_SCHOOL_PER_MINUTE,
            )),
            schools: Mutex::new(HashMap::new()),
        }
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    pub fn status(&self) -> Status {
        self.status
            .lock()
            .map(|s| s.clone())
            .unwrap_or(Status::Unavailable("poisoned".into()))
    }

    fn set_status(&self, s: Status) {
        if let Ok(mut g) = self.status.lock() {
            *g = s;
        }
    }

    /// Loads the model now, on this (blocking) thread: verify the manifest, load the
    /// encoder, embed the examples (from the cache where it has them).
    pub fn load_blocking(&self) -> Status {
        let Some(dir) = self.models_dir.clone() else {
            self.set_status(Status::Unavailable("no models directory configured".into()));
            return self.status();
        };
        if self.loaded.get().is_some() {
            return Status::Ready;
        }
        self.set_status(Status::Loading);
        let result = (|| -> Result<Loaded, String> {
            let verified = Verified::open(&dir).map_err(|e| e.to_string())?;
            let encoder = Arc::new(Encoder::load(&verified).map_err(|e| e.to_string())?);
            let texts: Vec<&str> = self
                .examples
                .items
                .iter()
                .map(|e| e.text.as_str())
                .collect();
            let vectors = cached_embeddings(&encoder, self.cache_dir.as_deref(), &texts)?;
            let classifier = Arc::new(Classifier::new(
                &self.examples,
                Some(vectors.clone()),
                self.params,
            ));
            Ok(Loaded {
                encoder,
                classifier,
                examples: Arc::new(self.examples.clone()),
                vectors: Arc::new(vectors),
            })
        })();
        match result {
            Ok(l) => {
                let _ = self.loaded.set(l);
                self.set_status(Status::Ready);
            }
            Err(e) => self.set_status(Status::Unavailable(e)),
        }
        self.status()
    }

    /// Starts loading in the background (at most once); says how it went in the log.
    pub fn start_loading(self: &Arc<Self>) {
        if self.status() != Status::Idle {
            return;
        }
        if self.models_dir.is_none() {
            self.set_status(Status::Unavailable("no models directory configured".into()));
            return;
        }
        self.set_status(Status::Loading);
        let me = self.clone();
        std::thread::Builder::new()
            .name("raabta-nlu-load".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                match me.load_blocking() {
                    Status::Ready => tracing::info!(
                        seconds = started.elapsed().as_secs_f32(),
                        examples = me.examples.items.len(),
                        "language model loaded"
                    ),
                    Status::Unavailable(reason) => tracing::warn!(
                        %reason,
                        "language model not available: free text is matched by spelling only"
                    ),
                    _ => {}
                }
            })
            .map(|_| ())
            .unwrap_or_else(|e| {
                self.set_status(Status::Unavailable(format!("no thread: {e}")));
            });
    }

    /// The classifier without the encoder (n-grams).
    pub fn classify_ngrams(&self, text: &str) -> Guess {
        self.ngram.classify(text, None)
    }

    /// Classifies on this thread (blocking): the encoder when loaded, else n-grams.
    pub fn classify_blocking(&self, text: &str) -> Guess {
        match self.loaded.get() {
            Some(l) => match l.encoder.embed(QUERY, &[text]) {
                Ok(v) => l.classifier.classify(text, v.first().map(Vec::as_slice)),
                Err(e) => {
                    tracing::warn!(error = %e, "encoder failed; spelling only");
                    self.classify_ngrams(text)
                }
            },
            None => self.classify_ngrams(text),
        }
    }

    /// A school's n-gram classifier (the shipped examples and its own phrases).
    fn school_ngrams(&self, school: uuid::Uuid, phrases: &[(Intent, String)]) -> Arc<Classifier> {
        if phrases.is_empty() {
            return self.ngram.clone();
        }
        let key = (school, false, phrases_hash(phrases));
        if let Some(c) = self.cached(&key) {
            return c;
        }
        let c = Arc::new(Classifier::new(
            &self.examples.with_school(phrases),
            None,
            self.params,
        ));
        self.remember(key, c.clone());
        c
    }

    fn cached(&self, key: &(uuid::Uuid, bool, u64)) -> Option<Arc<Classifier>> {
        self.schools.lock().ok()?.get(key).cloned()
    }

    fn remember(&self, key: (uuid::Uuid, bool, u64), c: Arc<Classifier>) {
        if let Ok(mut m) = self.schools.lock() {
            if m.len() >= SCHOOLS_CACHED {
                m.clear();
            }
            m.retain(|k, _| !(k.0 == key.0 && k.1 == key.1));
            m.insert(key, c);
        }
    }

    /// Classifies a message for the worker, in the bounded pool, with the school's own
    /// phrases: the encoder when it is loaded and the queue has room, n-grams otherwise;
    /// a stranger beyond the per-school or global bound gets None.
    pub async fn classify(
        &self,
        sender: Sender,
        school: uuid::Uuid,
        phrases: &[(Intent, String)],
        text: &str,
    ) -> Option<Guess> {
        // A stranger beyond the bounds costs nothing more: no reading at all (the
        // message is still answered, by its words).
        if sender == Sender::Stranger
            && (self.strangers_by_school.check_key(&school).is_err()
                || self.strangers.check().is_err())
        {
            return None;
        }
        let fallback = || Some(self.school_ngrams(school, phrases).classify(text, None));
        let Some(loaded) = self.loaded.get() else {
            return fallback();
        };
        let limit = match sender {
            Sender::Known => QUEUE_LIMIT,
            Sender::Stranger => STRANGERS_QUEUE_LIMIT,
        };
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= limit {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return fallback();
        }
        let permit = self.pool.acquire().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let Ok(_permit) = permit else {
            return fallback();
        };
        let key = (school, true, phrases_hash(phrases));
        let known = if phrases.is_empty() {
            Some(loaded.classifier.clone())
        } else {
            self.cached(&key)
        };
        let encoder = loaded.encoder.clone();
        let examples = loaded.examples.clone();
        let vectors = loaded.vectors.clone();
        let cache_dir = self.cache_dir.clone();
        let params = self.params;
        let owned_phrases = phrases.to_vec();
        let owned = text.to_string();
        let joined = tokio::task::spawn_blocking(move || {
            let classifier = match known {
                Some(c) => (c, false),
                None => {
                    // The school's phrases are embedded once (and cached on disk).
                    let texts: Vec<&str> = owned_phrases.iter().map(|(_, t)| t.as_str()).collect();
                    let extra = cached_embeddings(&encoder, cache_dir.as_deref(), &texts)
                        .map_err(EncoderError::Inference)?;
                    let mut all = (*vectors).clone();
                    all.extend(extra);
                    let c =
                        Classifier::new(&examples.with_school(&owned_phrases), Some(all), params);
                    (Arc::new(c), true)
                }
            };
            let v = encoder.embed(QUERY, &[owned.as_str()])?;
            Ok::<_, EncoderError>((
                classifier.0.classify(&owned, v.first().map(Vec::as_slice)),
                classifier,
            ))
        })
        .await;
        match joined {
            Ok(Ok((g, (c, built)))) => {
                if built {
                    self.remember(key, c);
                }
                Some(g)
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "encoder failed; spelling only");
                fallback()
            }
            Err(_) => fallback(),
        }
    }

    /// Runs `f` with the loaded encoder and the embeddings' cache folder on a blocking
    /// thread, in the encoder's one place (the chat's readings queue behind it as
    /// behind each other). None when no model is loaded (or the thread failed).
    pub async fn with_encoder<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Encoder, Option<&Path>) -> T + Send + 'static,
    ) -> Option<T> {
        let loaded = self.loaded.get()?;
        let _permit = self.pool.acquire().await.ok()?;
        let encoder = loaded.encoder.clone();
        let cache_dir = self.cache_dir.clone();
        tokio::task::spawn_blocking(move || f(&encoder, cache_dir.as_deref()))
            .await
            .ok()
    }

    /// The loaded classifier and encoder, for evaluation and tuning.
    pub fn parts(&self) -> Option<(Arc<Encoder>, Arc<Classifier>)> {
        self.loaded
            .get()
            .map(|l| (l.encoder.clone(), l.classifier.clone()))
    }

    /// The example phrases this service was built with.
    pub fn examples(&self) -> &Examples {
        &self.examples
    }

    /// Whether an intent has examples (a flows directory may ship fewer).
    pub fn knows(&self, intent: Intent) -> bool {
        self.examples.items.iter().any(|e| e.intent == intent)
    }
}

const CACHE_MAGIC: &[u8; 8] = b"RBTNLU01";
/// Phrases kept in the cache file at most.
const CACHE_MAX: usize = 50_000;

fn phrase_key(text: &str) -> [u8; 32] {
    Sha256::digest(format!("{QUERY}{text}").as_bytes()).into()
}

/// The embeddings of `texts`, from `<cache_dir>/nlu-<model>.bin` where there, the rest
/// computed and the file rewritten (atomically). A damaged cache is recomputed.
pub fn cached_embeddings(
    encoder: &Encoder,
    cache_dir: Option<&Path>,
    texts: &[&str],
) -> Result<Vec<Vec<f32>>, String> {
    let dim = encoder.dim;
    let file = cache_dir.map(|d| {
        d.join(format!(
            "nlu-{}.bin",
            &encoder.model_sha256[..16.min(encoder.model_sha256.len())]
        ))
    });
    let mut known: HashMap<[u8; 32], Vec<f32>> = HashMap::new();
    if let Some(bytes) = file.as_ref().and_then(|f| std::fs::read(f).ok()) {
        let rec = 32 + 4 * dim;
        if bytes.len() >= 8 && &bytes[..8] == CACHE_MAGIC && (bytes.len() - 8) % rec == 0 {
            for r in bytes[8..].chunks(rec) {
                let mut key = [0u8; 32];
                key.copy_from_slice(&r[..32]);
                let v = r[32..]
                    .chunks(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                known.insert(key, v);
            }
        }
    }
    let keys: Vec<[u8; 32]> = texts.iter().map(|t| phrase_key(t)).collect();
    let missing: Vec<&str> = texts
        .iter()
        .zip(&keys)
        .filter(|(_, k)| !known.contains_key(*k))
        .map(|(t, _)| *t)
        .collect();
    if !missing.is_empty() {
        let fresh = encoder.embed(QUERY, &missing).map_err(|e| e.to_string())?;
        for (t, v) in missing.iter().zip(fresh) {
            known.insert(phrase_key(t), v);
        }
        if let Some(f) = &file {
            let mut out = Vec::with_capacity(8 + keys.len() * (32 + 4 * dim));
            out.extend_from_slice(CACHE_MAGIC);
            // Everything known stays (the shipped examples and every school's phrases
            // share the file), up to a bound.
            for (k, v) in known.iter().take(CACHE_MAX) {
                out.extend_from_slice(k);
                v.iter()
                    .for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
            }
            let tmp = f.with_extension("tmp");
            if let Some(parent) = f.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            if std::fs::write(&tmp, &out)
                .and_then(|_| std::fs::rename(&tmp, f))
                .is_err()
            {
                tracing::warn!(path = %f.display(), "could not write the embedding cache");
            }
        }
    }
    keys.iter()
        .map(|k| {
            known
                .get(k)
                .cloned()
                .ok_or_else(|| "embedding missing".to_string())
        })
        .collect()
}
