//! Nearest examples, per intent: each example phrase is compared with the message by
//! the encoder's cosine (rescaled: e5's band is compressed, unrelated sentences still
//! score ≈ 0.75) and by character n-grams; an intent scores the mean of its best few
//! examples. Below a threshold the message is `unknown`; two intents close together make
//! a near tie, which the conversation asks about instead of guessing.

use super::examples::Examples;
use super::ngram::{Idf, Sparse};
use super::Intent;
use serde::Serialize;

/// Weights and thresholds (chosen by leave-one-out over `flows/intents.yaml`, never on
/// the evaluation set; see BENCHMARKS.md).
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Encoder cosines below this count as nothing.
    pub floor: f32,
    /// Weight of the encoder against the n-grams (0..1).
    pub encoder_weight: f32,
    /// Examples averaged per intent.
    pub top_k: usize,
    /// The same without the encoder.
    pub top_k_ngram: usize,
    /// Below this score: unknown (with the encoder).
    pub threshold: f32,
    /// Below this score: unknown (n-grams only).
    pub threshold_ngram: f32,
    /// Closer than this: a near tie.
    pub tie_margin: f32,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            floor: 0.74,
            encoder_weight: 0.75,
            top_k: 5,
            top_k_ngram: 3,
            threshold: 0.30,
            threshold_ngram: 0.10,
            tie_margin: 0.01,
        }
    }
}

/// A classified message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Guess {
    pub intent: Intent,
    pub score: f32,
    /// The intents by score, best first (unknown left out), with their scores.
    pub ranked: Vec<(Intent, f32)>,
    /// The best two are too close to pick one.
    pub near_tie: bool,
    /// Whether the encoder took part (else n-grams only).
    pub encoder: bool,
}

impl Guess {
    /// The intents worth offering as options when not sure: the best two or three
    /// within reach of the best.
    pub fn options(&self, params: &Params) -> Vec<Intent> {
        let Some(&(_, best)) = self.ranked.first() else {
            return Vec::new();
        };
        self.ranked
            .iter()
            .take(3)
            .filter(|(_, s)| best - s <= params.tie_margin * 2.5)
            .map(|(i, _)| *i)
            .collect()
    }
}

struct Item {
    intent: Intent,
    vector: Option<Vec<f32>>,
    grams: Sparse,
}

/// Examples ready to compare with.
pub struct Classifier {
    items: Vec<Item>,
    idf: Idf,
    pub params: Params,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("examples", &self.items.len())
            .finish()
    }
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl Classifier {
    /// `vectors`: the encoder's embedding of each example (same order), or None.
    pub fn new(examples: &Examples, vectors: Option<Vec<Vec<f32>>>, params: Params) -> Self {
        let idf = Idf::fit(examples.items.iter().map(|e| e.text.as_str()));
        let mut vectors = vectors.map(|v| v.into_iter());
        let items = examples
            .items
            .iter()
            .map(|e| Item {
                intent: e.intent,
                vector: vectors.as_mut().and_then(|v| v.next()),
                grams: idf.vector(&e.text),
            })
            .collect();
        Self { items, idf, params }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Classifies a message; `vector` is its embedding (the same encoder as the
    /// examples'), when there is one.
    pub fn classify(&self, text: &str, vector: Option<&[f32]>) -> Guess {
        let grams = self.idf.vector(text);
        let encoder = vector.is_some() && self.items.iter().all(|i| i.vector.is_some());
        let sims = self.items.iter().map(|item| {
            let enc = match (encoder, vector, &item.vector) {
                (true, Some(q), Some(e)) => Some(cosine(q, e)),
                _ => None,
            };
            (item.intent, enc, grams.dot(&item.grams))
        });
        decide(sims, encoder, &self.params)
    }

    /// Every example against every other (encoder cosine, n-gram cosine), for
    /// leave-one-out tuning: row i is example i as the message.
    pub fn pairwise(&self) -> Vec<Vec<(Option<f32>, f32)>> {
        self.items
            .iter()
            .map(|a| {
                self.items
                    .iter()
                    .map(|b| {
                        let enc = match (&a.vector, &b.vector) {
                            (Some(x), Some(y)) => Some(cosine(x, y)),
                            _ => None,
                        };
                        (enc, a.grams.dot(&b.grams))
                    })
                    .collect()
            })
            .collect()
    }

    /// The intent of example `n`.
    pub fn intent_of(&self, n: usize) -> Intent {
        self.items[n].intent
    }
}

/// The decision from each example's similarity to the message: (its intent, the
/// encoder's cosine when used, the n-gram cosine).
pub fn decide(
    sims: impl Iterator<Item = (Intent, Option<f32>, f32)>,
    encoder: bool,
    p: &Params,
) -> Guess {
    let mut per: Vec<Vec<f32>> = vec![Vec::new(); Intent::ALL.len()];
    for (intent, enc, ng) in sims {
        let sim = match enc {
            Some(c) if encoder => {
                let c = ((c - p.floor) / (1.0 - p.floor)).max(0.0);
                p.encoder_weight * c + (1.0 - p.encoder_weight) * ng
            }
            _ => ng,
        };
        per[intent as usize].push(sim);
    }
    let mut ranked: Vec<(Intent, f32)> = Intent::ALL
        .iter()
        .zip(per.iter_mut())
        .filter(|(_, s)| !s.is_empty())
        .map(|(i, s)| {
            s.sort_unstable_by(|a, b| b.total_cmp(a));
            let k = if encoder { p.top_k } else { p.top_k_ngram };
            let k = k.min(s.len()).max(1);
            (*i, s[..k].iter().sum::<f32>() / k as f32)
        })
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let threshold = if encoder {
        p.threshold
    } else {
        p.threshold_ngram
    };
    let (top, score) = ranked.first().copied().unwrap_or((Intent::Unknown, 0.0));
    let intent = if score < threshold {
        Intent::Unknown
    } else {
        top
    };
    ranked.retain(|(i, _)| *i != Intent::Unknown);
    let near_tie = intent != Intent::Unknown
        && ranked.len() > 1
        && ranked[0].0 == intent
        && ranked[0].1 - ranked[1].1 < p.tie_margin;
    Guess {
        intent,
        score,
        ranked,
        near_tie,
        encoder,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> Examples {
        Examples::parse(
            "intents:\n  fees:\n    en: [\"fee balance\", \"how much fee is due\", \"fee challan\"]\n    ur-Latn: [\"fees kitni hai\", \"challan bhej do\"]\n  leave:\n    en: [\"leave for my son\", \"he will be absent tomorrow\"]\n    ur-Latn: [\"chutti chahiye\", \"kal school nahi aye ga\"]\n  unknown:\n    en: [\"who won the match\", \"weather today\"]\n",
        )
        .unwrap()
    }

    #[test]
    fn ngrams_alone_pick_the_intent_and_refuse_nonsense() {
        // Two or three examples per intent here: compare with the best one.
        let params = Params {
            top_k_ngram: 1,
            ..Params::default()
        };
        let c = Classifier::new(&examples(), None, params);
        assert_eq!(c.classify("fees kitni h", None).intent, Intent::Fees);
        assert_eq!(c.classify("chhutti chahye", None).intent, Intent::Leave);
        let g = c.classify("qwxz", None);
        assert_eq!(g.intent, Intent::Unknown);
        assert!(!g.encoder);
    }

    #[test]
    fn vectors_decide_across_scripts() {
        // Toy vectors: fees along x, leave along y, unknown along z.
        let ex = examples();
        let vecs: Vec<Vec<f32>> = ex
            .items
            .iter()
            .map(|e| match e.intent {
                Intent::Fees => vec![1.0, 0.0, 0.0],
                Intent::Leave => vec![0.0, 1.0, 0.0],
                _ => vec![0.0, 0.0, 1.0],
            })
            .collect();
        let params = Params {
            floor: 0.0,
            ..Params::default()
        };
        let c = Classifier::new(&ex, Some(vecs), params);
        let g = c.classify("فیس", Some(&[1.0, 0.0, 0.0]));
        assert_eq!(g.intent, Intent::Fees);
        assert!(g.encoder);
        let half = std::f32::consts::FRAC_1_SQRT_2;
        let tie = c.classify("ambiguous", Some(&[half, half, 0.0]));
        assert!(tie.near_tie, "{tie:?}");
        assert_eq!(tie.options(&c.params).len(), 2);
    }
}
