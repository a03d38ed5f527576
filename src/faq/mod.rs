//! The school's FAQ and how a question finds its entry (issue 18). An FAQ is written as
//! CSV rows `id, language, question, answer`: one row per question variant and
//! language, the answer of an entry in a language the same on each of its rows. A
//! question is matched against every variant, whatever language either is written in:
//! by the local language model's embeddings where it is loaded (`score_embedded`), by
//! words, character n-grams and Roman Urdu spelling skeletons otherwise
//! (`score_keywords`). The best entry is taken only above a threshold and by a margin
//! over the next entry; nothing else is ever said. The answer is the school's own text,
//! in the asker's language where the school wrote one, else as the school wrote it.
//! Pure: no IO.

use crate::domain::school::Locale;
use std::collections::{BTreeMap, HashMap};

/// An FAQ's size limits (a school's FAQ, not a document store).
pub mod gloss;

pub const MAX_ROWS: usize = 2_000;
pub const MAX_QUESTION: usize = 500;
pub const MAX_ANSWER: usize = 2_000;
pub const MAX_ID: usize = 60;

/// One row of an FAQ as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaqRow {
    pub entry: String,
    pub language: Locale,
    pub question: String,
    pub answer: String,
}

/// A row the import refused, and why (1-based line of the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn language_of(s: &str) -> Option<Locale> {
    match s.trim() {
        "en" => Some(Locale::En),
        "ur" => Some(Locale::Ur),
        "ar" => Some(Locale::Ar),
        "ur-Latn" | "ur-latn" => Some(Locale::UrLatn),
        _ => None,
    }
}

/// Reads an FAQ file: every row checked, every problem reported by line; all rows or
/// none.
pub fn parse_csv(bytes: &[u8]) -> Result<Vec<FaqRow>, Vec<RowError>> {
    let text = match std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)) {
        Ok(t) => t,
        Err(_) => {
            return Err(vec![RowError {
                line: 1,
                message: "the file is not UTF-8 text".into(),
            }])
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_lowercase()).collect(),
        Err(e) => {
            return Err(vec![RowError {
                line: 1,
                message: format!("unreadable header: {e}"),
            }])
        }
    };
    if header != ["id", "language", "question", "answer"] {
        return Err(vec![RowError {
            line: 1,
            message: "the header must be: id,language,question,answer".into(),
        }]);
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = record
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map(|p| p.line() as usize)
            .unwrap_or(i + 2);
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError {
                    line,
                    message: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        if record.len() != 4 {
            errors.push(RowError {
                line,
                message: format!("expected 4 columns, found {}", record.len()),
            });
            continue;
        }
        let id = record[0].trim();
        let question = crate::domain::bidi::neutralise(record[2].trim()).into_owned();
        let answer =
            crate::domain::bidi::neutralise(record[3].trim().replace("\r\n", "\n").as_str())
                .into_owned();
        let mut problem = |m: String| errors.push(RowError { line, message: m });
        if id.is_empty()
            || id.chars().count() > MAX_ID
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            problem(format!(
                "id: 1-{MAX_ID} letters, digits, '-' or '_' (got {id:?})"
            ));
            continue;
        }
        let Some(language) = language_of(&record[1]) else {
            problem(format!(
                "language: en, ur, ar or ur-Latn (got {:?})",
                record[1].trim()
            ));
            continue;
        };
        if question.is_empty() || question.chars().count() > MAX_QUESTION {
            problem(format!("question: 1-{MAX_QUESTION} characters"));
            continue;
        }
        if answer.chars().count() > MAX_ANSWER {
            problem(format!("answer: at most {MAX_ANSWER} characters"));
            continue;
        }
        rows.push((
            line,
            FaqRow {
                entry: id.to_string(),
                language,
                question,
                answer,
            },
        ));
    }
    if rows.len() > MAX_ROWS {
        errors.push(RowError {
            line: rows[MAX_ROWS].0,
            message: format!("at most {MAX_ROWS} rows"),
        });
    }
    // One answer per entry and language (blank on extra variant rows is fine), and
    // an answer in some language for every entry.
    let mut answers: HashMap<(&str, Locale), (&str, usize)> = HashMap::new();
    for (line, r) in &rows {
        if r.answer.is_empty() {
            continue;
        }
        match answers.get(&(r.entry.as_str(), r.language)) {
            Some((a, first)) if *a != r.answer => errors.push(RowError {
                line: *line,
                message: format!(
                    "{} ({}): a different answer than on line {first}",
                    r.entry,
                    r.language.as_str()
                ),
            }),
            Some(_) => {}
            None => {
                answers.insert((r.entry.as_str(), r.language), (r.answer.as_str(), *line));
            }
        }
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (line, r) in &rows {
        seen.entry(r.entry.as_str()).or_insert(*line);
    }
    for (id, line) in seen {
        if !answers.keys().any(|(e, _)| *e == id) {
            errors.push(RowError {
                line,
                message: format!("{id}: no answer in any language"),
            });
        }
    }
    if rows.is_empty() && errors.is_empty() {
        errors.push(RowError {
            line: 1,
            message: "no rows".into(),
        });
    }
    if errors.is_empty() {
        Ok(rows.into_iter().map(|(_, r)| r).collect())
    } else {
        errors.sort_by_key(|e| e.line);
        Err(errors)
    }
}

/// Writes an FAQ as its CSV.
pub fn to_csv(rows: &[FaqRow]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["id", "language", "question", "answer"]);
    for r in rows {
        let _ = w.write_record([
            r.entry.as_str(),
            r.language.as_str(),
            r.question.as_str(),
            r.answer.as_str(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// One entry: its question variants and its answers by language, in the order the
/// school wrote them.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub questions: Vec<(Locale, String)>,
    pub answers: Vec<(Locale, String)>,
}

impl Entry {
    /// The school's answer in this language where it wrote one, else its first.
    pub fn answer_in(&self, language: Locale) -> Option<&str> {
        self.answers
            .iter()
            .find(|(l, _)| *l == language)
            .or_else(|| self.answers.first())
            .map(|(_, a)| a.as_str())
    }
}

/// A school's FAQ, grouped by entry.
#[derive(Debug, Clone, Default)]
pub struct Faq {
    pub entries: Vec<Entry>,
}

impl Faq {
    pub fn new(rows: &[FaqRow]) -> Faq {
        let mut entries: Vec<Entry> = Vec::new();
        for r in rows {
            let i = match entries.iter().position(|e| e.id == r.entry) {
                Some(i) => i,
                None => {
                    entries.push(Entry {
                        id: r.entry.clone(),
                        questions: Vec::new(),
                        answers: Vec::new(),
                    });
                    entries.len() - 1
                }
            };
            let e = &mut entries[i];
            e.questions.push((r.language, r.question.clone()));
            if !r.answer.is_empty() && !e.answers.iter().any(|(l, _)| *l == r.language) {
                e.answers.push((r.language, r.answer.clone()));
            }
        }
        Faq { entries }
    }

    /// Every question variant, with its entry's index (the texts to embed).
    pub fn variants(&self) -> Vec<(usize, &str)> {
        self.entries
            .iter()
            .enumerate()
            .flat_map(|(i, e)| e.questions.iter().map(move |(_, q)| (i, q.as_str())))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// When the best entry is taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    pub threshold: f32,
    pub margin: f32,
}

/// The embeddings' rule. A question's score for an entry is its similarity to the
/// entry's closest question variant plus its similarity to the entry as a passage
/// (questions and answer). The encoder's similarities sit in a compressed band whose
/// level moves with the language (unrelated sentences ≈ 0.77; a question in another
/// language than the FAQ scores lower everywhere), so the threshold is on the best
/// entry's lead over the mean of all entries for that question, not on the score.
/// The keywords' score (with the glossary's topics) is added first, KEYWORD_WEIGHT
/// times; a question about a topic no entry covers is declined outright.
pub const EMBEDDED_RULE: Rule = Rule {
    threshold: 0.09,
    margin: 0.0,
};
/// How much the keyword score (with the glossary's topics) joins the model's (see
/// `Retrieval::joint_scores`): chosen with EMBEDDED_RULE on `tests/faq` (BENCHMARKS.md).
pub const KEYWORD_WEIGHT: f32 = 0.5;
/// The keyword rule (cosine of weighted word and n-gram counts).
pub const KEYWORD_RULE: Rule = Rule {
    threshold: 0.30,
    margin: 0.03,
};

/// Per entry, the best of its variants' scores.
fn per_entry(faq: &Faq, variant_scores: &[(usize, f32)]) -> Vec<f32> {
    let mut best = vec![f32::MIN; faq.entries.len()];
    for (i, s) in variant_scores {
        if let Some(b) = best.get_mut(*i) {
            *b = b.max(*s);
        }
    }
    best
}

/// The chosen entry and its score, if the best passes the rule; the best score either
/// way.
pub fn decide(scores: &[f32], rule: Rule) -> (Option<usize>, f32) {
    let mut order: Vec<(usize, f32)> = scores.iter().copied().enumerate().collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1));
    let Some(&(best, score)) = order.first() else {
        return (None, 0.0);
    };
    let second = order.get(1).map(|x| x.1).unwrap_or(f32::MIN);
    let ok = score >= rule.threshold && score - second >= rule.margin;
    (ok.then_some(best), score)
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Entry scores from embeddings (L2-normalised): the closest variant's similarity plus
/// the entry's passage's.
pub fn score_embedded(
    faq: &Faq,
    question: &[f32],
    variants: &[Vec<f32>],
    passages: &[Vec<f32>],
) -> Vec<f32> {
    let scored: Vec<(usize, f32)> = faq
        .variants()
        .iter()
        .zip(variants)
        .map(|((i, _), v)| (*i, dot(question, v)))
        .collect();
    let mut s = per_entry(faq, &scored);
    for (x, p) in s.iter_mut().zip(passages) {
        *x += dot(question, p);
    }
    s
}

/// The best entry by its lead over the mean of all entries (and the margin over the
/// next one); the lead either way.
pub fn decide_relative(scores: &[f32], rule: Rule) -> (Option<usize>, f32) {
    if scores.is_empty() {
        return (None, 0.0);
    }
    let mean = scores.iter().sum::<f32>() / scores.len() as f32;
    let lead: Vec<f32> = scores.iter().map(|s| s - mean).collect();
    decide(&lead, rule)
}

/// Each entry as a passage for the encoder: its questions and its first answer.
pub fn passages(faq: &Faq) -> Vec<String> {
    faq.entries
        .iter()
        .map(|e| {
            let q: Vec<&str> = e.questions.iter().map(|(_, q)| q.as_str()).collect();
            format!(
                "{} {}",
                q.join(" "),
                e.answers.first().map(|(_, a)| a.as_str()).unwrap_or("")
            )
        })
        .collect()
}

/// Words that carry no topic in the four languages (they would make every question
/// look like every other).
const STOP: &[&str] = &[
    "the",
    "a",
    "an",
    "is",
    "are",
    "do",
    "does",
    "you",
    "your",
    "i",
    "my",
    "we",
    "of",
    "for",
    "to",
    "in",
    "at",
    "on",
    "and",
    "or",
    "what",
    "how",
    "when",
    "where",
    "which",
    "can",
    "there",
    "it",
    "be",
    "me",
    "please",
    "have",
    "has",
    "any",
    "about",
    "tell",
    "know",
    "want",
    "need",
    "with",
    "this",
    "that",
    "will",
    "if",
    "u",
    "r",
    "ur",
    "pls",
    "plz",
    "school",
    "sir",
    "madam",
    "hai",
    "hain",
    "ka",
    "ki",
    "ke",
    "ko",
    "se",
    "mein",
    "me",
    "kya",
    "kia",
    "kab",
    "kahan",
    "kitni",
    "kitna",
    "aap",
    "ap",
    "hum",
    "main",
    "bhi",
    "ho",
    "hy",
    "he",
    "kr",
    "kar",
    "ye",
    "yeh",
    "wo",
    "k",
    "کیا",
    "ہے",
    "ہیں",
    "کی",
    "کا",
    "کے",
    "میں",
    "سے",
    "کو",
    "آپ",
    "کب",
    "کہاں",
    "کتنی",
    "کتنا",
    "اسکول",
    "ما",
    "هل",
    "في",
    "من",
    "على",
    "عن",
    "كم",
    "متى",
    "أين",
    "المدرسة",
    "هي",
    "هو",
];

/// Scores of keyword matching: the cosine of inverse-frequency-weighted words, character
/// n-grams and Roman Urdu skeletons (`nlu::ngram::terms`) of the question and each
/// variant.
pub struct Keywords {
    variants: Vec<(usize, HashMap<u64, f32>)>,
    idf: HashMap<u64, f32>,
    /// The glossary topics some entry is about (its questions' and answer's).
    covered: std::collections::BTreeSet<&'static str>,
}

fn stripped(text: &str) -> String {
    let f = crate::nlu::ngram::folded(text);
    f.split(' ')
        .filter(|w| !STOP.contains(w) && !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// How much a glossary topic weighs against one word of the text.
const TOPIC_WEIGHT: f32 = 3.0;

/// A text's terms: its words, n-grams and skeletons (stop words left out), and the
/// glossary's topics (`gloss`), which are the same in every language.
fn terms_of(text: &str) -> HashMap<u64, f32> {
    use std::hash::{Hash, Hasher};
    let mut t = crate::nlu::ngram::terms(&stripped(text));
    for topic in gloss::topics(text) {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        ("faq-topic", topic).hash(&mut h);
        t.insert(h.finish(), TOPIC_WEIGHT);
    }
    t
}

impl Keywords {
    pub fn new(faq: &Faq) -> Keywords {
        let variants: Vec<(usize, HashMap<u64, f32>)> = faq
            .variants()
            .into_iter()
            .map(|(i, q)| (i, terms_of(q)))
            .collect();
        let n = variants.len().max(1) as f32;
        let mut df: HashMap<u64, f32> = HashMap::new();
        for (_, t) in &variants {
            for k in t.keys() {
                *df.entry(*k).or_insert(0.0) += 1.0;
            }
        }
        let idf = df
            .into_iter()
            .map(|(k, d)| (k, (1.0 + n / d).ln()))
            .collect();
        let mut covered = std::collections::BTreeSet::new();
        for e in &faq.entries {
            for (_, q) in &e.questions {
                covered.extend(gloss::topics(q));
            }
            for (_, a) in &e.answers {
                covered.extend(gloss::topics(a));
            }
        }
        Keywords {
            variants,
            idf,
            covered,
        }
    }

    /// Whether the question is about a topic no entry covers (a hostel, when the FAQ
    /// says nothing of one): then no entry answers it, however near its other words.
    pub fn off_faq(&self, question: &str) -> bool {
        gloss::topics(question)
            .iter()
            .any(|t| !self.covered.contains(t))
    }

    fn weighted(&self, t: &HashMap<u64, f32>) -> HashMap<u64, f32> {
        // A term no variant has weighs as much as the rarest one: it cannot match, but
        // it is part of the question ("swimming pool" is what "do you have a swimming
        // pool?" asks about; without it, "have" alone would match a variant).
        let unseen = (1.0 + self.variants.len().max(1) as f32).ln();
        t.iter()
            .map(|(k, c)| {
                let w = self.idf.get(k).copied().unwrap_or(unseen);
                (*k, (1.0 + c.ln()) * w)
            })
            .collect()
    }

    pub fn scores(&self, faq: &Faq, question: &str) -> Vec<f32> {
        let q = self.weighted(&terms_of(question));
        let qn = q.values().map(|v| v * v).sum::<f32>().sqrt();
        let scored: Vec<(usize, f32)> = self
            .variants
            .iter()
            .map(|(i, t)| {
                let v = self.weighted(t);
                let vn = v.values().map(|x| x * x).sum::<f32>().sqrt();
                let dot: f32 = q.iter().filter_map(|(k, a)| v.get(k).map(|b| a * b)).sum();
                let s = if qn > 0.0 && vn > 0.0 {
                    dot / (qn * vn)
                } else {
                    0.0
                };
                (*i, s)
            })
            .collect();
        per_entry(faq, &scored)
    }
}

/// The enquiry bot's reply to a question, worked out before the step (the model runs
/// outside the transaction): the entry and the school's answer in the asker's language,
/// or nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct FaqReply {
    pub entry: Option<String>,
    pub answer: Option<String>,
    pub score: f32,
    pub by: &'static str,
}

impl FaqReply {
    /// No FAQ, or nothing found.
    pub fn none() -> FaqReply {
        FaqReply {
            entry: None,
            answer: None,
            score: 0.0,
            by: "none",
        }
    }
}

/// A fingerprint of an FAQ's rows (a cached index is rebuilt when they change).
pub fn fingerprint(rows: &[FaqRow]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for r in rows {
        r.entry.hash(&mut h);
        r.language.as_str().hash(&mut h);
        r.question.hash(&mut h);
        r.answer.hash(&mut h);
    }
    h.finish()
}

/// What a question found.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The entry's index, when one is taken.
    pub entry: Option<usize>,
    /// The best entry's score (taken or not).
    pub score: f32,
    /// "model" or "keywords": which decided.
    pub by: &'static str,
}

/// Embeddings of an FAQ: one per question variant, one per entry's passage.
type Embedded = (Vec<Vec<f32>>, Vec<Vec<f32>>);

/// A school's FAQ ready to answer: its keyword index and, where the language model is
/// loaded, its variants' embeddings (in `Faq::variants` order).
pub struct Retrieval {
    pub faq: Faq,
    keywords: Keywords,
    /// The variants' embeddings and the passages'.
    embedded: Option<Embedded>,
    pub model_rule: Rule,
    pub keyword_rule: Rule,
    /// How much the keyword score (with the glossary's topics) adds to the model's.
    pub keyword_weight: f32,
}

impl Retrieval {
    pub fn new(faq: Faq) -> Retrieval {
        let keywords = Keywords::new(&faq);
        Retrieval {
            faq,
            keywords,
            embedded: None,
            model_rule: EMBEDDED_RULE,
            keyword_rule: KEYWORD_RULE,
            keyword_weight: KEYWORD_WEIGHT,
        }
    }

    /// With the embeddings of the variants (one per `Faq::variants` item, `query:`) and
    /// of the passages (one per entry, `passages`, `passage:`).
    pub fn with_embeddings(
        mut self,
        variants: Vec<Vec<f32>>,
        passages: Vec<Vec<f32>>,
    ) -> Retrieval {
        if variants.len() == self.faq.variants().len() && passages.len() == self.faq.entries.len() {
            self.embedded = Some((variants, passages));
        }
        self
    }

    pub fn has_embeddings(&self) -> bool {
        self.embedded.is_some()
    }

    /// The entry for a question: by the model when the question's embedding and the
    /// variants' are there, by keywords otherwise.
    pub fn find(&self, question: &str, embedding: Option<&[f32]>) -> Found {
        if let Some(scores) =
            embedding.and_then(|q| self.joint_scores(question, q, self.keyword_weight))
        {
            let (entry, score) = decide_relative(&scores, self.model_rule);
            return Found {
                entry,
                score,
                by: "model",
            };
        }
        self.find_by_keywords(question)
    }

    pub fn find_by_keywords(&self, question: &str) -> Found {
        if self.keywords.off_faq(question) {
            return Found {
                entry: None,
                score: 0.0,
                by: "keywords",
            };
        }
        let (entry, score) = decide(
            &self.keywords.scores(&self.faq, question),
            self.keyword_rule,
        );
        Found {
            entry,
            score,
            by: "keywords",
        }
    }

    /// Entry scores by the model (for evaluation).
    pub fn model_scores(&self, embedding: &[f32]) -> Option<Vec<f32>> {
        self.embedded
            .as_ref()
            .map(|(v, p)| score_embedded(&self.faq, embedding, v, p))
    }

    /// The model's entry scores joined by the keywords' (with the glossary's topics),
    /// `weight` times; None without the model.
    pub fn joint_scores(&self, question: &str, embedding: &[f32], weight: f32) -> Option<Vec<f32>> {
        let mut s = self.model_scores(embedding)?;
        if self.keywords.off_faq(question) {
            return Some(vec![0.0; s.len()]);
        }
        if weight != 0.0 {
            for (x, k) in s.iter_mut().zip(self.keywords.scores(&self.faq, question)) {
                *x += weight * k;
            }
        }
        Some(s)
    }

    /// Entry scores by keywords (for evaluation).
    pub fn keyword_scores(&self, question: &str) -> Vec<f32> {
        self.keywords.scores(&self.faq, question)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "id,language,question,answer\n\
fees,en,What are the fees?,\"Rs 12,500 a month for Grades 1-5.\"\n\
fees,en,How much is the tuition?,\"Rs 12,500 a month for Grades 1-5.\"\n\
fees,ur,فیس کتنی ہے؟,\"ماہانہ فیس 12,500 روپے۔\"\n\
timings,en,What time does school start?,7:45 am to 1:30 pm.\n";

    #[test]
    fn an_faq_reads_with_its_variants_and_answers_by_language() {
        let rows = parse_csv(CSV.as_bytes()).unwrap();
        assert_eq!(rows.len(), 4);
        let faq = Faq::new(&rows);
        assert_eq!(faq.entries.len(), 2);
        assert_eq!(faq.entries[0].questions.len(), 3);
        assert_eq!(
            faq.entries[0].answer_in(Locale::Ur),
            Some("ماہانہ فیس 12,500 روپے۔")
        );
        // No Arabic answer: the school's own first text.
        assert_eq!(
            faq.entries[0].answer_in(Locale::Ar),
            Some("Rs 12,500 a month for Grades 1-5.")
        );
        let again = parse_csv(to_csv(&rows).as_bytes()).unwrap();
        assert_eq!(again, rows);
    }

    #[test]
    fn bad_rows_are_reported_by_line_and_nothing_is_taken() {
        let bad = "id,language,question,answer\n\
fees,en,What are the fees?,Rs 100\n\
fees,en,Fees?,Rs 200\n\
bad id!,en,x,y\n\
t,fr,Quand?,8h\n\
e,en,,answer\n\
q,en,Only a question,\n";
        let errs = parse_csv(bad.as_bytes()).unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 7], "{errs:?}");
        assert!(errs[0].message.contains("different answer than on line 2"));
        assert!(errs[4].message.contains("no answer"));
        assert!(parse_csv(b"a,b\n1,2\n").unwrap_err()[0]
            .message
            .contains("header"));
    }

    #[test]
    fn the_rule_needs_the_threshold_and_the_margin() {
        let r = Rule {
            threshold: 0.5,
            margin: 0.1,
        };
        assert_eq!(decide(&[0.2, 0.8, 0.6], r).0, Some(1));
        assert_eq!(decide(&[0.75, 0.8], r).0, None);
        assert_eq!(decide(&[0.4], r).0, None);
        assert_eq!(decide(&[], r).0, None);
    }

    #[test]
    fn keywords_find_shared_words_and_spellings() {
        let faq = Faq::new(&parse_csv(CSV.as_bytes()).unwrap());
        let k = Keywords::new(&faq);
        let s = k.scores(&faq, "fees kitni hai");
        assert_eq!(decide(&s, KEYWORD_RULE).0, Some(0), "{s:?}");
        let s = k.scores(&faq, "start time of the school?");
        assert_eq!(decide(&s, KEYWORD_RULE).0, Some(1), "{s:?}");
        let s = k.scores(&faq, "do you have a swimming pool");
        assert_eq!(decide(&s, KEYWORD_RULE).0, None, "{s:?}");
    }
}
