//! The example phrases: `flows/intents.yaml` (built into the binary with the flows)
//! and a school's own.

use super::{Intent, LANGUAGES};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum ExamplesError {
    #[error("intents.yaml: {0}")]
    Parse(String),
    #[error("intents.yaml: unknown intent {0:?}")]
    UnknownIntent(String),
    #[error("intents.yaml: unknown language {1:?} under {0}")]
    UnknownLanguage(String, String),
}

/// One example phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub intent: Intent,
    /// "en", "ur", "ar", "ur-Latn", or "school" for a school's own phrase.
    pub lang: String,
    pub text: String,
}

/// Example phrases, in file order.
#[derive(Debug, Clone, Default)]
pub struct Examples {
    pub items: Vec<Example>,
}

#[derive(Deserialize)]
struct File {
    intents: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

impl Examples {
    pub fn parse(source: &str) -> Result<Self, ExamplesError> {
        let file: File =
            serde_norway::from_str(source).map_err(|e| ExamplesError::Parse(e.to_string()))?;
        let mut items = Vec::new();
        for (name, langs) in file.intents {
            let intent =
                Intent::parse(&name).ok_or_else(|| ExamplesError::UnknownIntent(name.clone()))?;
            for (lang, texts) in langs {
                if !LANGUAGES.contains(&lang.as_str()) {
                    return Err(ExamplesError::UnknownLanguage(name.clone(), lang));
                }
                for text in texts {
                    let text = text.trim().to_string();
                    if !text.is_empty() {
                        items.push(Example {
                            intent,
                            lang: lang.clone(),
                            text,
                        });
                    }
                }
            }
        }
        Ok(Self { items })
    }

    /// These examples and a school's own phrases.
    pub fn with_school(&self, phrases: &[(Intent, String)]) -> Self {
        let mut items = self.items.clone();
        items.extend(phrases.iter().map(|(intent, text)| Example {
            intent: *intent,
            lang: "school".into(),
            text: text.clone(),
        }));
        Self { items }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let e = Examples::parse(
            "intents:\n  fees:\n    en: [\"fee balance\", \" \"]\n    ur: [\"فیس\"]\n",
        )
        .unwrap();
        assert_eq!(e.items.len(), 2);
        assert_eq!(e.items[1].intent, Intent::Fees);
        assert!(matches!(
            Examples::parse("intents:\n  fee:\n    en: [a]\n"),
            Err(ExamplesError::UnknownIntent(_))
        ));
        assert!(matches!(
            Examples::parse("intents:\n  fees:\n    fr: [a]\n"),
            Err(ExamplesError::UnknownLanguage(..))
        ));
    }

    #[test]
    fn the_shipped_examples_cover_every_intent_and_language() {
        let source = crate::flow::EMBEDDED
            .iter()
            .find(|(n, _)| *n == "intents.yaml")
            .map(|(_, s)| *s)
            .expect("flows/intents.yaml is embedded");
        let e = Examples::parse(source).unwrap();
        for intent in Intent::ALL {
            for lang in LANGUAGES {
                let n = e
                    .items
                    .iter()
                    .filter(|x| x.intent == intent && x.lang == lang)
                    .count();
                assert!(n >= 10, "{intent} {lang}: only {n} examples");
            }
        }
    }
}
