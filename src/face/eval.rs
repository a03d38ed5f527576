//! Verification figures over labelled pairs (`raabta face eval`): accuracy at the
//! product's threshold and at the best one, TAR at FAR 1% and 0.1%, and the area under
//! the ROC curve. Pure: the caller embeds the images.

use serde::Serialize;

/// The product's verification threshold (cosine): FACE-MODELS.md measured 99.6% on the
/// deepface test pairs at 0.40 with these models; the school may adjust it.
pub const DEFAULT_THRESHOLD: f32 = 0.40;

/// What BENCHMARKS.md reports for the shipped models on all pairs of the labelled
/// test photos (`raabta face pairs` + `raabta face eval`), shown beside a school's
/// threshold in the admin.
pub const MEASURED_PAIRS: &str = "1,830";
pub const MEASURED_ACCURACY: &str = "99.95%";
/// The class decision on the same photos (`raabta face class-eval`): students found
/// at the default threshold and margin, with no wrong proposal.
pub const MEASURED_CLASS_FOUND: &str = "46 of 48";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub pairs: usize,
    pub no_face: usize,
    pub threshold: f32,
    pub accuracy_at_threshold: f64,
    pub accuracy: f64,
    pub best_threshold: f32,
    #[serde(rename = "tar_at_far_0.01")]
    pub tar_at_far_1: f64,
    #[serde(rename = "tar_at_far_0.001")]
    pub tar_at_far_01: f64,
    pub auc: f64,
}

/// The figures of scored pairs `(similarity, same person)`; a pair without a face
/// counts as a wrong answer for accuracy (never silently dropped) and as `no_face`.
pub fn figures(scored: &[(Option<f32>, bool)], threshold: f32) -> Figures {
    let n = scored.len();
    let no_face = scored.iter().filter(|(s, _)| s.is_none()).count();
    let accuracy_at = |t: f32| {
        let right = scored
            .iter()
            .filter(|(s, same)| s.is_some_and(|s| (s >= t) == *same))
            .count();
        right as f64 / n.max(1) as f64
    };
    let mut candidates: Vec<f32> = scored.iter().filter_map(|(s, _)| *s).collect();
    candidates.sort_by(f32::total_cmp);
    let mut best = (accuracy_at(threshold), threshold);
    for w in candidates.windows(2) {
        let t = (w[0] + w[1]) / 2.0;
        let a = accuracy_at(t);
        if a > best.0 {
            best = (a, t);
        }
    }
    let pos: Vec<f32> = scored
        .iter()
        .filter(|(_, same)| *same)
        .map(|(s, _)| s.unwrap_or(f32::NEG_INFINITY))
        .collect();
    let mut neg: Vec<f32> = scored
        .iter()
        .filter(|(_, same)| !*same)
        .map(|(s, _)| s.unwrap_or(f32::NEG_INFINITY))
        .collect();
    neg.sort_by(|a, b| b.total_cmp(a));
    // The threshold that lets through at most `far` of the different-person pairs.
    let tar_at = |far: f64| -> f64 {
        if neg.is_empty() || pos.is_empty() {
            return 0.0;
        }
        let allowed = (far * neg.len() as f64).floor() as usize;
        let t = neg.get(allowed).copied().unwrap_or(f32::NEG_INFINITY);
        pos.iter().filter(|s| **s > t).count() as f64 / pos.len() as f64
    };
    let auc = if pos.is_empty() || neg.is_empty() {
        0.0
    } else {
        let mut wins = 0.0;
        for p in &pos {
            for q in &neg {
                wins += if p > q {
                    1.0
                } else if p == q {
                    0.5
                } else {
                    0.0
                };
            }
        }
        wins / (pos.len() * neg.len()) as f64
    };
    Figures {
        pairs: n,
        no_face,
        threshold,
        accuracy_at_threshold: accuracy_at(threshold),
        accuracy: best.0,
        best_threshold: best.1,
        tar_at_far_1: tar_at(0.01),
        tar_at_far_01: tar_at(0.001),
        auc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfect_separation_and_a_missing_face() {
        let mut scored: Vec<(Option<f32>, bool)> = (0..50)
            .map(|i| (Some(0.6 + i as f32 * 0.001), true))
            .collect();
        scored.extend((0..950).map(|i| (Some(-0.2 + i as f32 * 0.0002), false)));
        let f = figures(&scored, 0.4);
        assert_eq!(
            (f.accuracy_at_threshold, f.accuracy, f.auc),
            (1.0, 1.0, 1.0)
        );
        assert_eq!(f.tar_at_far_1, 1.0);
        scored.push((None, true));
        let f = figures(&scored, 0.4);
        assert_eq!(f.no_face, 1);
        assert!(f.accuracy_at_threshold < 1.0);
    }
}
