//! The PII redactor: the gate before any text leaves the machine for an AI provider.
//! Deterministic and pure (no IO): identifiers by their formats and check digits
//! ([`numbers`]), names by the school's own roster in every script with variants and by
//! cues (honorifics, "my son X") ([`names`]). Digits of any script are read as ASCII
//! first; offsets are characters of the original text.
//!
//! What must survive for triage (dates, times, amounts, class and section names, school
//! words) is never a pattern here: numbers are redacted only when they have an
//! identifier's shape and check digits, names only when the roster or a cue says so.

pub mod erase;
pub mod names;
pub mod numbers;

use serde::Serialize;
use std::collections::HashMap;

pub use names::NameIndex;

/// The kinds of identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Kind {
    Person,
    Cnic,
    SaudiId,
    Phone,
    Iban,
    Email,
    Url,
    Ntn,
    Card,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Person => "PERSON",
            Kind::Cnic => "CNIC",
            Kind::SaudiId => "SAUDI_ID",
            Kind::Phone => "PHONE",
            Kind::Iban => "IBAN",
            Kind::Email => "EMAIL",
            Kind::Url => "URL",
            Kind::Ntn => "NTN",
            Kind::Card => "CARD",
        }
    }

    pub const ALL: [Kind; 9] = [
        Kind::Person,
        Kind::Cnic,
        Kind::SaudiId,
        Kind::Phone,
        Kind::Iban,
        Kind::Email,
        Kind::Url,
        Kind::Ntn,
        Kind::Card,
    ];
}

/// One identifier found: its kind and where (characters of the original text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Entity {
    #[serde(rename = "type")]
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// A redacted text: placeholders in place of identifiers, and the way back (kept on
/// our side: staff see real names in the AI's summary).
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted {
    pub text: String,
    pub entities: Vec<Entity>,
    /// Placeholder → the original text it stands for.
    pub mapping: Vec<(String, String)>,
}

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The mapping holds the identifiers: never printed.
        f.debug_struct("Redacted")
            .field("text", &self.text)
            .field("entities", &self.entities)
            .finish_non_exhaustive()
    }
}

impl Redacted {
    /// Counts per kind (the receipt of an AI call: no values).
    pub fn counts(&self) -> Vec<(Kind, usize)> {
        let mut c: Vec<(Kind, usize)> = Vec::new();
        for e in &self.entities {
            match c.iter_mut().find(|(k, _)| *k == e.kind) {
                Some((_, n)) => *n += 1,
                None => c.push((e.kind, 1)),
            }
        }
        c.sort();
        c
    }

    /// Puts the originals back into a text written with our placeholders (the AI's
    /// summary, shown to staff).
    pub fn restore(&self, text: &str) -> String {
        let mut out = text.to_string();
        // Longest placeholders first: [PERSON_12] before [PERSON_1].
        let mut m: Vec<&(String, String)> = self.mapping.iter().collect();
        m.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        for (p, original) in m {
            out = out.replace(p.as_str(), original);
        }
        out
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RedactError {
    #[error("text too long to check ({0} characters; at most {MAX_CHARS})")]
    TooLong(usize),
}

/// Texts longer than this are refused (fail closed: no AI call).
pub const MAX_CHARS: usize = 20_000;

/// The redactor of one school: its roster's names and its class, section and house
/// names.
#[derive(Debug, Default)]
pub struct Redactor {
    names: NameIndex,
}

/// A digit of any script as ASCII (Urdu ۰–۹, Arabic-Indic ٠–٩); other characters as they
/// are. One character for one, so offsets stay.
pub fn ascii_digit(c: char) -> char {
    match c {
        '۰'..='۹' => char::from(b'0' + (c as u32 - '۰' as u32) as u8),
        '٠'..='٩' => char::from(b'0' + (c as u32 - '٠' as u32) as u8),
        '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
        _ => c,
    }
}

impl Redactor {
    pub fn new(names: NameIndex) -> Self {
        Self { names }
    }

    /// A school's redactor: the built-in lists, its people's names and its class,
    /// section and branch names.
    pub fn for_school(known: &crate::store::KnownNames) -> Self {
        let mut names = NameIndex::with_defaults();
        for p in &known.people {
            names.add_name(p);
        }
        for p in &known.places {
            names.add_protected(p);
        }
        Self { names }
    }

    /// The identifiers in a text (characters of the text), sorted, not overlapping.
    pub fn find(&self, text: &str) -> Result<Vec<Entity>, RedactError> {
        let chars: Vec<char> = text.chars().map(ascii_digit).collect();
        if chars.len() > MAX_CHARS {
            return Err(RedactError::TooLong(chars.len()));
        }
        let mut found = numbers::find(&chars);
        let taken: Vec<(usize, usize)> = found.iter().map(|e| (e.start, e.end)).collect();
        found.extend(
            self.names
                .find(&chars)
                .into_iter()
                .filter(|n| !taken.iter().any(|(s, e)| n.start < *e && *s < n.end)),
        );
        found.sort_by_key(|e| (e.start, std::cmp::Reverse(e.end)));
        let mut out: Vec<Entity> = Vec::with_capacity(found.len());
        for e in found {
            match out.last_mut() {
                // Overlaps: the earlier, longer one stands.
                Some(last) if e.start < last.end => {
                    if e.end > last.end && e.kind == last.kind {
                        last.end = e.end;
                    }
                }
                _ => out.push(e),
            }
        }
        Ok(out)
    }

    /// The text with numbered, typed placeholders (`[PERSON_1]`, `[CNIC_1]`), the same
    /// value the same placeholder within the text.
    pub fn redact(&self, text: &str) -> Result<Redacted, RedactError> {
        let entities = self.find(text)?;
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::with_capacity(text.len());
        let mut mapping: Vec<(String, String)> = Vec::new();
        let mut numbered: HashMap<(Kind, String), String> = HashMap::new();
        let mut per_kind: HashMap<Kind, usize> = HashMap::new();
        let mut at = 0;
        for e in &entities {
            out.extend(&chars[at..e.start]);
            let original: String = chars[e.start..e.end].iter().collect();
            let key = (e.kind, names::fold_key(&original));
            let placeholder = numbered
                .entry(key)
                .or_insert_with(|| {
                    let n = per_kind.entry(e.kind).or_insert(0);
                    *n += 1;
                    let p = format!("[{}_{}]", e.kind.as_str(), n);
                    mapping.push((p.clone(), original.clone()));
                    p
                })
                .clone();
            out.push_str(&placeholder);
            at = e.end;
        }
        out.extend(&chars[at..]);
        Ok(Redacted {
            text: out,
            entities,
            mapping,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        let mut names = NameIndex::default();
        for n in [
            "Ayesha Khan",
            "عائشہ خان",
            "Muhammad Ali",
            "Noor Fatima",
            "سعيد الحربي",
        ] {
            names.add_name(n);
        }
        names.add_protected("Section Noor");
        names.add_protected("Iqbal House");
        Redactor::new(names)
    }

    #[test]
    fn placeholders_are_typed_numbered_and_consistent() {
        let r = redactor()
            .redact("Ayesha Khan (CNIC 35202-1234567-1) called 0300-1234567; Ayesha Khan again.")
            .unwrap();
        assert_eq!(
            r.text,
            "[PERSON_1] (CNIC [CNIC_1]) called [PHONE_1]; [PERSON_1] again."
        );
        assert_eq!(
            r.counts(),
            vec![(Kind::Person, 2), (Kind::Cnic, 1), (Kind::Phone, 1)]
        );
        assert_eq!(
            r.restore("Call [PERSON_1] about [CNIC_1]"),
            "Call Ayesha Khan about 35202-1234567-1"
        );
        assert!(!format!("{r:?}").contains("35202"));
    }

    #[test]
    fn digits_of_any_script_and_what_must_survive() {
        let r = redactor()
            .redact("میرا نمبر ۰۳۰۰۱۲۳۴۵۶۷ ہے، فیس 4,500 روپے، ۱۲ مارچ کو Section Noor میں")
            .unwrap();
        assert!(r.text.contains("[PHONE_1]"), "{}", r.text);
        for keep in ["4,500", "۱۲ مارچ", "Section Noor"] {
            assert!(r.text.contains(keep), "{keep}: {}", r.text);
        }
        let too_long = "a".repeat(MAX_CHARS + 1);
        assert!(matches!(
            redactor().redact(&too_long),
            Err(RedactError::TooLong(_))
        ));
    }
}
