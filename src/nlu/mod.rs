//! Free text understood: which of a fixed set of intents a message is about, in English,
//! Urdu, Arabic and Roman Urdu. Two signals, each from example phrases
//! (`flows/intents.yaml`, plus a school's own):
//!
//! - a multilingual sentence encoder (multilingual-e5-small through ONNX Runtime,
//!   [`encoder`]), when the models directory holds it: meaning across languages and
//!   scripts;
//! - character n-grams ([`ngram`]): spelling variants, typos and Roman Urdu, where the
//!   encoder is weakest.
//!
//! [`classifier`] is pure (vectors in, a ranked guess out); [`service`] owns the loaded
//! model, the cache of example embeddings and the bounded pool the worker uses before a
//! conversation step. Dates, amounts and children's names are not the encoder's job:
//! the flow's own parsers read them from the whole sentence.

pub mod baseline;
pub mod classifier;
pub mod encoder;
pub mod examples;
pub mod ngram;
pub mod phrases;
pub mod service;

pub use classifier::{Classifier, Guess};
pub use examples::{Examples, ExamplesError};
pub use service::Nlu;

use serde::{Deserialize, Serialize};

/// What a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Fees,
    Leave,
    Attendance,
    Consent,
    Complaint,
    MyComplaints,
    Office,
    Greeting,
    Thanks,
    Admission,
    Language,
    Stop,
    MyData,
    Unknown,
}

impl Intent {
    pub const ALL: [Intent; 14] = [
        Intent::Fees,
        Intent::Leave,
        Intent::Attendance,
        Intent::Consent,
        Intent::Complaint,
        Intent::MyComplaints,
        Intent::Office,
        Intent::Greeting,
        Intent::Thanks,
        Intent::Admission,
        Intent::Language,
        Intent::Stop,
        Intent::MyData,
        Intent::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Fees => "fees",
            Intent::Leave => "leave",
            Intent::Attendance => "attendance",
            Intent::Consent => "consent",
            Intent::Complaint => "complaint",
            Intent::MyComplaints => "my_complaints",
            Intent::Office => "office",
            Intent::Greeting => "greeting",
            Intent::Thanks => "thanks",
            Intent::Admission => "admission",
            Intent::Language => "language",
            Intent::Stop => "stop",
            Intent::MyData => "my_data",
            Intent::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Intent> {
        Intent::ALL.into_iter().find(|i| i.as_str() == s)
    }
}

impl std::fmt::Display for Intent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The languages examples are written in (and the evaluation set is labelled with).
pub const LANGUAGES: [&str; 4] = ["en", "ur", "ar", "ur-Latn"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_round_trip() {
        for i in Intent::ALL {
            assert_eq!(Intent::parse(i.as_str()), Some(i));
            let json = serde_json::to_string(&i).unwrap();
            assert_eq!(json, format!("\"{}\"", i.as_str()));
        }
        assert_eq!(Intent::parse("fee"), None);
    }
}
