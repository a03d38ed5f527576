//! The class decision (1:N): which student each face in a photo is, if any. A face
//! may be a student only above the threshold and by a margin over its second-best
//! student; then faces and students are paired as a maximum-weight assignment (one
//! face to at most one student, one student to at most one face), not greedily.
//! Faces that match nobody are only counted. Pure: no IO.

use pathfinding::matrix::Matrix;
use pathfinding::prelude::kuhn_munkres;

/// How a class photo is decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchRule {
    /// Cosine similarity a face must reach to be a student.
    pub threshold: f32,
    /// By how much the best student must lead the second best.
    pub margin: f32,
}

/// The default margin over the second-best student.
pub const DEFAULT_MARGIN: f32 = 0.08;

/// A student's enrolled samples (L2-normalised embeddings).
#[derive(Debug, Clone)]
pub struct Enrolled<K> {
    pub key: K,
    pub samples: Vec<Vec<f32>>,
}

/// The decision for one photo: a face index → student pairs, and the faces matched to
/// nobody (a count, nothing else about them is kept).
#[derive(Debug, Clone, PartialEq)]
pub struct Decision<K> {
    pub pairs: Vec<(usize, K)>,
    pub unmatched: usize,
}

/// A face's similarity to a student: the best over the student's samples.
pub fn score(face: &[f32], samples: &[Vec<f32>]) -> f32 {
    samples
        .iter()
        .map(|s| super::similarity_of(face, s))
        .fold(f32::MIN, f32::max)
}

/// Scale of the integer weights the assignment works on.
const SCALE: f32 = 100_000.0;

/// Decides a photo: `faces` are the embeddings of the faces found, `class` the
/// enrolled students.
pub fn decide<K: Clone>(faces: &[Vec<f32>], class: &[Enrolled<K>], rule: MatchRule) -> Decision<K> {
    let (nf, ns) = (faces.len(), class.len());
    if nf == 0 || ns == 0 {
        return Decision {
            pairs: Vec::new(),
            unmatched: nf,
        };
    }
    let sims: Vec<Vec<f32>> = faces
        .iter()
        .map(|f| class.iter().map(|s| score(f, &s.samples)).collect())
        .collect();
    // The assignment sees every pair above the threshold, weighted by similarity:
    // it decides which face a contested student is (the total, not the order faces
    // come in); a pair it makes is then kept only if the face's student leads the
    // face's second-best student by the margin.
    let weight = |f: usize, s: usize| -> i64 {
        let v = sims[f][s];
        if v < rule.threshold {
            0
        } else {
            ((v * SCALE) as i64).max(1)
        }
    };
    let clear = |f: usize, s: usize| -> bool {
        let second = sims[f]
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != s)
            .map(|(_, x)| *x)
            .fold(f32::MIN, f32::max);
        ns == 1 || sims[f][s] - second >= rule.margin
    };
    // kuhn_munkres wants no more rows than columns.
    let faces_are_rows = nf <= ns;
    let (rows, cols) = if faces_are_rows { (nf, ns) } else { (ns, nf) };
    let mut values = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        for c in 0..cols {
            let (f, s) = if faces_are_rows { (r, c) } else { (c, r) };
            values.push(weight(f, s));
        }
    }
    let Ok(matrix) = Matrix::from_vec(rows, cols, values) else {
        return Decision {
            pairs: Vec::new(),
            unmatched: nf,
        };
    };
    let (_, assigned) = kuhn_munkres(&matrix);
    let mut pairs: Vec<(usize, K)> = assigned
        .iter()
        .enumerate()
        .filter_map(|(r, &c)| {
            let (f, s) = if faces_are_rows { (r, c) } else { (c, r) };
            (weight(f, s) > 0 && clear(f, s)).then(|| (f, class[s].key.clone()))
        })
        .collect();
    pairs.sort_by_key(|(f, _)| *f);
    Decision {
        unmatched: nf - pairs.len(),
        pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit vector along axis `i` tilted toward axis `j` by `t`.
    fn v(i: usize, j: usize, t: f32) -> Vec<f32> {
        let mut x = [0.0f32; 8];
        x[i] = 1.0 - t;
        x[j] += t;
        let n = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        x.iter().map(|a| a / n).collect()
    }

    fn class(n: usize) -> Vec<Enrolled<usize>> {
        (0..n)
            .map(|k| Enrolled {
                key: k,
                samples: vec![v(k, k, 0.0)],
            })
            .collect()
    }

    const RULE: MatchRule = MatchRule {
        threshold: 0.4,
        margin: 0.05,
    };

    #[test]
    fn each_face_goes_to_its_student() {
        let faces = vec![v(2, 2, 0.0), v(0, 1, 0.1), v(7, 7, 0.0)];
        let d = decide(&faces, &class(4), RULE);
        assert_eq!(d.pairs, vec![(0, 2), (1, 0)]);
        assert_eq!(d.unmatched, 1);
    }

    #[test]
    fn one_student_never_gets_two_faces() {
        // Two faces both closest to student 0: only the closer one is 0.
        let faces = vec![v(0, 3, 0.2), v(0, 3, 0.05)];
        let d = decide(&faces, &class(2), RULE);
        assert_eq!(d.pairs, vec![(1, 0)]);
        assert_eq!(d.unmatched, 1);
        let keys: Vec<_> = d.pairs.iter().map(|p| p.1).collect();
        let mut dedup = keys.clone();
        dedup.dedup();
        assert_eq!(keys, dedup);
    }

    #[test]
    fn the_assignment_is_not_greedy() {
        // Face 0 looks somewhat like A, face 1 is A. Taken in order, face 0 would get
        // A and face 1 nobody; the assignment gives A to face 1, and face 0 (whose
        // best is A, taken) is nobody rather than B.
        let a = Enrolled {
            key: "A",
            samples: vec![v(0, 0, 0.0)],
        };
        let b = Enrolled {
            key: "B",
            samples: vec![v(1, 1, 0.0)],
        };
        let faces = vec![v(0, 1, 0.45), v(0, 0, 0.0)];
        let d = decide(&faces, &[a.clone(), b.clone()], RULE);
        assert_eq!(d.pairs, vec![(1, "A")]);
        assert_eq!(d.unmatched, 1);
        // Without a margin the assignment pairs both.
        let rule = MatchRule {
            threshold: 0.4,
            margin: 0.0,
        };
        let faces = vec![v(0, 1, 0.45), v(0, 0, 0.0)];
        let d = decide(
            &faces,
            &[a, b],
            MatchRule {
                margin: -1.0,
                ..rule
            },
        );
        assert_eq!(d.pairs, vec![(0, "B"), (1, "A")]);
    }

    #[test]
    fn a_face_too_close_to_two_students_is_nobody() {
        let faces = vec![v(0, 1, 0.5)];
        let d = decide(&faces, &class(2), RULE);
        assert!(d.pairs.is_empty());
        assert_eq!(d.unmatched, 1);
    }

    #[test]
    fn more_faces_than_students_and_none_at_all() {
        let faces: Vec<Vec<f32>> = (0..6).map(|k| v(k, k, 0.0)).collect();
        let d = decide(&faces, &class(2), RULE);
        assert_eq!(d.pairs, vec![(0, 0), (1, 1)]);
        assert_eq!(d.unmatched, 4);
        let d = decide::<usize>(&[], &class(2), RULE);
        assert_eq!((d.pairs.len(), d.unmatched), (0, 0));
        let d = decide::<usize>(&faces, &[], RULE);
        assert_eq!((d.pairs.len(), d.unmatched), (0, 6));
    }
}
