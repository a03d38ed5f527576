//! Character n-grams with TF-IDF weights: the spelling side of the classifier. Roman
//! Urdu has no fixed spelling ("nahi", "nhi", "nai"; "chutti", "chhuti"), so Latin words
//! also contribute their consonant skeleton; Arabic-script words are folded (hamza
//! forms, Arabic and Urdu yeh/kaf/heh, diacritics, tatweel), digits of any script become
//! one digit class.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// A sparse, L2-normalised feature vector (sorted by feature).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sparse(pub Vec<(u64, f32)>);

impl Sparse {
    pub fn dot(&self, other: &Sparse) -> f32 {
        let (a, b) = (&self.0, &other.0);
        let (mut i, mut j, mut s) = (0, 0, 0.0);
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    s += a[i].1 * b[j].1;
                    i += 1;
                    j += 1;
                }
            }
        }
        s
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One character folded for matching (None: dropped).
fn fold(c: char) -> Option<char> {
    Some(match c {
        // Arabic diacritics, superscript alef, tatweel.
        '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}' => return None,
        'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
        'ي' | 'ى' | 'ې' | 'ئ' | 'ے' => 'ی',
        'ك' => 'ک',
        'ة' | 'ہ' | 'ۃ' | 'ھ' => 'ه',
        'ؤ' => 'و',
        '0'..='9' | '۰'..='۹' | '٠'..='٩' => '0',
        c if c.is_alphabetic() => c,
        _ => ' ',
    })
}

/// The text folded: lower case, one space between words.
pub fn folded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if let Some(f) = fold(c) {
            out.push(f);
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A Latin word's consonant skeleton, repeated letters collapsed ("chhutti" → "cht",
/// "nahi" → "nh"); the first letter is kept even when a vowel ("abhi" → "abh").
pub(crate) fn skeleton(word: &str) -> Option<String> {
    if !word.chars().all(|c| c.is_ascii_alphabetic()) || word.len() < 3 {
        return None;
    }
    let mut out = String::new();
    let mut last = None;
    for (i, c) in word.chars().enumerate() {
        let vowel = matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y');
        if (i > 0 && vowel) || (c == 'h' && last == Some('h')) || last == Some(c) {
            continue;
        }
        if c == 'h'
            && i > 0
            && !matches!(
                last,
                Some('c' | 's' | 'k' | 'g' | 'b' | 'p' | 'd' | 't' | 'j' | 'z')
            )
        {
            continue;
        }
        out.push(c);
        last = Some(c);
    }
    (out.len() >= 2).then_some(out)
}

fn feature(kind: u8, s: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    kind.hash(&mut h);
    s.hash(&mut h);
    h.finish()
}

/// Raw term counts of a text: words, character 2–4-grams within words, and the
/// skeletons of Latin words.
pub fn terms(text: &str) -> HashMap<u64, f32> {
    let mut counts = HashMap::new();
    let f = folded(text);
    for word in f.split(' ').filter(|w| !w.is_empty()) {
        *counts.entry(feature(0, word)).or_insert(0.0) += 1.0;
        let padded: Vec<char> = format!(" {word} ").chars().collect();
        for n in 2..=4 {
            for w in padded.windows(n) {
                let g: String = w.iter().collect();
                if g.trim().is_empty() {
                    continue;
                }
                *counts.entry(feature(n as u8, &g)).or_insert(0.0) += 0.5;
            }
        }
        if let Some(sk) = skeleton(word) {
            *counts.entry(feature(9, &sk)).or_insert(0.0) += 1.0;
        }
    }
    counts
}

/// Document frequencies over a set of texts, for IDF weights.
#[derive(Debug, Clone, Default)]
pub struct Idf {
    df: HashMap<u64, u32>,
    docs: u32,
}

impl Idf {
    pub fn fit<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut idf = Idf::default();
        for t in texts {
            idf.docs += 1;
            for k in terms(t).into_keys() {
                *idf.df.entry(k).or_insert(0) += 1;
            }
        }
        idf
    }

    fn weight(&self, k: u64) -> f32 {
        let df = self.df.get(&k).copied().unwrap_or(0) as f32;
        ((self.docs as f32 + 1.0) / (df + 1.0)).ln() + 1.0
    }

    /// The TF-IDF vector of a text (sublinear term frequency), L2-normalised.
    pub fn vector(&self, text: &str) -> Sparse {
        let mut v: Vec<(u64, f32)> = terms(text)
            .into_iter()
            .map(|(k, tf)| (k, (1.0 + tf.ln()) * self.weight(k)))
            .collect();
        let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|(_, w)| *w /= norm);
        }
        v.sort_unstable_by_key(|(k, _)| *k);
        Sparse(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_and_skeletons() {
        assert_eq!(folded("FEES   kitni?"), "fees kitni");
        assert_eq!(folded("أحمد ۱۲ ١٢ 12"), "احمد 00 00 00");
        assert_eq!(folded("ہے ي ك"), "هی ی ک");
        assert_eq!(skeleton("chhutti"), skeleton("chuti"));
        assert_eq!(skeleton("nahi"), skeleton("nhi"));
        assert_eq!(skeleton("bhej"), Some("bhj".into()));
        assert_eq!(skeleton("a1"), None);
    }

    #[test]
    fn similar_spellings_are_close_and_others_far() {
        let idf = Idf::fit(["fee challan", "chutti chahiye", "school nahi aye ga"]);
        let a = idf.vector("chhutti chahye");
        let b = idf.vector("chutti chahiye");
        let c = idf.vector("fee challan");
        assert!(a.dot(&b) > 0.4, "{}", a.dot(&b));
        assert!(a.dot(&c) < 0.1, "{}", a.dot(&c));
        assert!((b.dot(&b) - 1.0).abs() < 1e-4);
        assert_eq!(idf.vector("!!!").dot(&b), 0.0);
    }
}
