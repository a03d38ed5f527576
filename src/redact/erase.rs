//! One person's identifiers taken out of the texts a school keeps after their erasure
//! (issue 19): complaint threads, leave reasons, consent notes and activity entries keep
//! their content, with the person's name, phone numbers, national id, email, address and
//! chat ids replaced by the redactor's placeholders (`[PERSON_1]`, `[PHONE_1]`, …).
//! Pure: no IO.

use super::{names, Kind, NameIndex, Redactor};

/// Who is being erased, as known before the erasure. Every value is personal data:
/// the type's `Debug` shows none of them.
#[derive(Clone, Default)]
pub struct Person {
    pub name: String,
    /// Phone numbers in E.164 (`+923001110001`).
    pub phones: Vec<String>,
    pub national_id: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    /// The person's ids on the chat channels (WhatsApp ids, Telegram user ids).
    pub chat_ids: Vec<String>,
}

impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Person")
            .field("phones", &self.phones.len())
            .field("chat_ids", &self.chat_ids.len())
            .finish_non_exhaustive()
    }
}

/// Scrubs texts of one person.
pub struct Eraser {
    person: Person,
    redactor: Redactor,
    name_tokens: Vec<String>,
    /// (literal, placeholder), longest first: the forms a value may be written in.
    literals: Vec<(String, &'static str)>,
}

fn digits(s: &str) -> String {
    s.chars()
        .map(super::ascii_digit)
        .filter(char::is_ascii_digit)
        .collect()
}

impl Eraser {
    pub fn new(person: Person) -> Self {
        let mut index = NameIndex::default();
        index.add_name(&person.name);
        let name_tokens: Vec<String> = person
            .name
            .split(|c: char| c.is_whitespace() || matches!(c, '-' | '.' | ','))
            .map(names::fold)
            .filter(|t| t.chars().count() >= 2)
            .collect();
        let mut literals: Vec<(String, &'static str)> = Vec::new();
        if !person.name.trim().is_empty() {
            literals.push((person.name.trim().to_string(), "[PERSON_1]"));
        }
        for p in &person.phones {
            let d = digits(p);
            literals.push((p.clone(), "[PHONE_1]"));
            literals.push((d.clone(), "[PHONE_1]"));
            // Pakistan and Saudi Arabia write national numbers with a trunk 0.
            for cc in ["92", "966"] {
                if let Some(national) = d.strip_prefix(cc) {
                    if national.len() >= 9 {
                        literals.push((format!("0{national}"), "[PHONE_1]"));
                        literals.push((national.to_string(), "[PHONE_1]"));
                    }
                }
            }
        }
        if let Some(id) = &person.national_id {
            literals.push((id.clone(), "[CNIC_1]"));
            literals.push((digits(id), "[CNIC_1]"));
        }
        if let Some(e) = &person.email {
            literals.push((e.clone(), "[EMAIL_1]"));
        }
        if let Some(a) = &person.address {
            literals.push((a.clone(), "[ADDRESS_1]"));
        }
        for c in &person.chat_ids {
            literals.push((c.clone(), "[PHONE_1]"));
        }
        literals.retain(|(l, _)| l.chars().count() >= 4);
        literals.sort_by_key(|(l, _)| std::cmp::Reverse(l.len()));
        literals.dedup();
        Self {
            person,
            redactor: Redactor::new(index),
            name_tokens,
            literals,
        }
    }

    pub fn person(&self) -> &Person {
        &self.person
    }

    /// Whether an identifier the redactor found is this person's.
    fn is_theirs(&self, kind: Kind, found: &str, authored: bool) -> bool {
        match kind {
            // In what the person wrote one of their name's words is enough (their
            // own surname goes too); in what others wrote, two of them together, so a
            // child or a colleague who shares a surname keeps their name.
            Kind::Person => {
                let matched = found
                    .split(|c: char| c.is_whitespace() || matches!(c, '-' | '.' | ','))
                    .map(names::fold)
                    .filter(|w| self.name_tokens.contains(w))
                    .count();
                let needed = if authored {
                    1
                } else {
                    self.name_tokens.len().clamp(1, 2)
                };
                matched >= needed
            }
            // In what the person wrote, every number of an identifier's shape and every
            // email is theirs (or someone's they gave: it goes too).
            Kind::Url => false,
            _ if authored => true,
            Kind::Phone => {
                let d = digits(found);
                d.len() >= 9
                    && self
                        .person
                        .phones
                        .iter()
                        .any(|p| digits(p).ends_with(&d[d.len() - 9..]))
            }
            Kind::Cnic | Kind::SaudiId => self
                .person
                .national_id
                .as_ref()
                .is_some_and(|id| digits(id) == digits(found)),
            Kind::Email => self
                .person
                .email
                .as_ref()
                .is_some_and(|e| e.eq_ignore_ascii_case(found.trim())),
            _ => false,
        }
    }

    /// The text with the person's identifiers replaced. `authored`: the person wrote
    /// it (then every identifier-shaped number and email in it goes, not only those
    /// known to be theirs).
    pub fn scrub(&self, text: &str, authored: bool) -> String {
        let mut out = text.to_string();
        // The redactor's finds first (names in any script and spelling, numbers as
        // written); texts too long for it are scrubbed by the literal forms below.
        if let Ok(found) = self.redactor.find(text) {
            let chars: Vec<char> = text.chars().collect();
            let mut s = String::with_capacity(text.len());
            let mut at = 0;
            let mut numbered: Vec<(Kind, String)> = Vec::new();
            for e in found {
                let original: String = chars[e.start..e.end].iter().collect();
                if !self.is_theirs(e.kind, &original, authored) {
                    continue;
                }
                s.extend(&chars[at..e.start]);
                let key = (e.kind, names::fold_key(&original));
                let n = match numbered.iter().position(|k| *k == key) {
                    Some(i) => numbered[..=i].iter().filter(|k| k.0 == e.kind).count(),
                    None => {
                        numbered.push(key);
                        numbered.iter().filter(|k| k.0 == e.kind).count()
                    }
                };
                s.push_str(&format!("[{}_{}]", e.kind.as_str(), n));
                at = e.end;
            }
            s.extend(&chars[at..]);
            out = s;
        }
        for (literal, placeholder) in &self.literals {
            out = replace_ignoring_case(&out, literal, placeholder);
        }
        out
    }

    /// A JSON value with every string scrubbed (activity-log details; `about`: the
    /// entry is about the person, so every identifier in it is theirs).
    pub fn scrub_json(&self, v: &serde_json::Value, about: bool) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::String(s) => Value::String(self.scrub(s, about)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.scrub_json(x, about)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (k.clone(), self.scrub_json(x, about)))
                    .collect(),
            ),
            Value::Number(n) => {
                let s = n.to_string();
                if self.literals.iter().any(|(l, _)| *l == s) {
                    Value::String(self.scrub(&s, false))
                } else {
                    v.clone()
                }
            }
            _ => v.clone(),
        }
    }

    /// Whether the text still holds one of the person's identifiers as written
    /// (a check after scrubbing; also used to find activity entries that mention them).
    pub fn mentions(&self, text: &str) -> bool {
        let lower = text.to_lowercase();
        self.literals
            .iter()
            .any(|(l, _)| lower.contains(&l.to_lowercase()))
    }

    /// The literal forms (for finding rows that mention the person).
    pub fn literals(&self) -> impl Iterator<Item = &str> {
        self.literals.iter().map(|(l, _)| l.as_str())
    }
}

/// Replaces every occurrence of `needle` (ignoring case) in `hay`.
fn replace_ignoring_case(hay: &str, needle: &str, with: &str) -> String {
    if needle.is_empty() {
        return hay.to_string();
    }
    let lower_hay = hay.to_lowercase();
    let lower_needle = needle.to_lowercase();
    // Lower-casing may change byte lengths (rare scripts): then exact matching only.
    if lower_hay.len() != hay.len() || lower_needle.len() != needle.len() {
        return hay.replace(needle, with);
    }
    let mut out = String::with_capacity(hay.len());
    let mut at = 0;
    while let Some(i) = lower_hay[at..].find(&lower_needle) {
        out.push_str(&hay[at..at + i]);
        out.push_str(with);
        at += i + needle.len();
    }
    out.push_str(&hay[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imran() -> Eraser {
        Eraser::new(Person {
            name: "عمران خان".into(),
            phones: vec!["+923001110001".into()],
            national_id: Some("35202-7654321-1".into()),
            email: Some("imran.khan@example.pk".into()),
            address: Some("House 12 Street 4 Islamabad".into()),
            chat_ids: vec!["923001110001".into(), "5550001".into()],
        })
    }

    #[test]
    fn the_persons_identifiers_go_in_every_form() {
        let e = imran();
        let t = e.scrub(
            "میں عمران خان، فون 0300-1110001، شناختی کارڈ 35202-7654321-1، ای میل IMRAN.KHAN@example.pk",
            true,
        );
        assert!(!t.contains("عمران"), "{t}");
        assert!(!t.contains("1110001"), "{t}");
        assert!(!t.contains("7654321"), "{t}");
        assert!(!t.to_lowercase().contains("imran.khan"), "{t}");
        assert!(t.contains("[PERSON_1]") && t.contains("[PHONE_1]") && t.contains("[CNIC_1]"));
        // Latin-script spelling of the same name is caught through the name index only
        // when written in the roster's script; the literal forms catch the rest.
        let t = e.scrub("call me on +92 300 1110001 or 923001110001", false);
        assert!(!t.contains("1110001"), "{t}");
    }

    #[test]
    fn other_peoples_identifiers_stay_in_what_others_wrote() {
        let e = imran();
        let t = e.scrub(
            "Office: call 0301 1110002 (Sana Imran) about 35202-1234567-2",
            false,
        );
        assert!(t.contains("0301 1110002"), "{t}");
        assert!(t.contains("35202-1234567-2"), "{t}");
        // The same numbers written by the person themselves are taken out.
        let t = e.scrub("my wife's number 0301 1110002", true);
        assert!(!t.contains("1110002"), "{t}");
    }

    #[test]
    fn a_shared_surname_stays_in_what_others_wrote() {
        let e = Eraser::new(Person {
            name: "Imran Khan".into(),
            ..Person::default()
        });
        let t = e.scrub("Ayesha Khan was late; Imran Khan called.", false);
        assert!(t.contains("Ayesha Khan"), "{t}");
        assert!(!t.contains("Imran"), "{t}");
    }

    #[test]
    fn json_details_are_scrubbed_and_debug_shows_nothing() {
        let e = imran();
        let v = serde_json::json!({"name": "عمران خان", "phone": "+923001110001", "n": 3, "id": 923001110001u64});
        let s = e.scrub_json(&v, false).to_string();
        assert!(!s.contains("عمران") && !s.contains("3001110001"), "{s}");
        assert!(s.contains("\"n\":3"));
        let d = format!("{:?}", e.person());
        assert!(!d.contains("3001110001") && !d.contains("عمران"), "{d}");
        assert!(e.mentions("x 923001110001 y"));
        assert!(!e.mentions("nothing here"));
    }
}
