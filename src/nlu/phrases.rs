//! A school's own example phrases (the admin's settings page): one per line,
//! `intent: phrase`, stored as the school setting `intent_phrases`.

use super::Intent;
use crate::store::SettingsStore;

/// The setting that holds them.
pub const SETTING: &str = "intent_phrases";
/// Lines at most (each phrase is embedded when the school's classifier is built).
pub const MAX_PHRASES: usize = 500;
/// Characters per phrase at most.
pub const MAX_LEN: usize = 300;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PhraseError {
    #[error("line {0}: write it as \"intent: phrase\", e.g. \"fees: challan kab milega\"")]
    Form(usize),
    #[error("line {0}: unknown intent {1:?} (one of: {2})")]
    Intent(usize, String, String),
    #[error("line {0}: a phrase is at most {MAX_LEN} characters")]
    TooLong(usize),
    #[error("at most {MAX_PHRASES} phrases")]
    TooMany,
}

/// Parses the setting's text; blank lines and lines starting with `#` are skipped.
pub fn parse(text: &str) -> Result<Vec<(Intent, String)>, PhraseError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (intent, phrase) = line.split_once(':').ok_or(PhraseError::Form(n + 1))?;
        let phrase = phrase.trim();
        if phrase.is_empty() {
            return Err(PhraseError::Form(n + 1));
        }
        if phrase.chars().count() > MAX_LEN {
            return Err(PhraseError::TooLong(n + 1));
        }
        let intent = Intent::parse(intent.trim()).ok_or_else(|| {
            PhraseError::Intent(
                n + 1,
                intent.trim().to_string(),
                Intent::ALL.map(Intent::as_str).join(", "),
            )
        })?;
        out.push((intent, phrase.to_string()));
    }
    if out.len() > MAX_PHRASES {
        return Err(PhraseError::TooMany);
    }
    Ok(out)
}

/// The school's phrases (none when unset; a stored text that no longer parses counts
/// as none, and is logged).
pub async fn of_school(
    store: &(impl SettingsStore + ?Sized),
) -> Result<Vec<(Intent, String)>, crate::store::StoreError> {
    let text = store
        .settings()
        .await?
        .into_iter()
        .find(|(k, _)| k == SETTING)
        .map(|(_, v)| v)
        .unwrap_or_default();
    Ok(parse(&text).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "a school's intent phrases do not parse; ignored");
        Vec::new()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(
            parse("# ours\nfees: challan kab milega\n\n admission : داخلہ کب شروع ہوگا\n").unwrap(),
            vec![
                (Intent::Fees, "challan kab milega".into()),
                (Intent::Admission, "داخلہ کب شروع ہوگا".into())
            ]
        );
        assert_eq!(parse("fees challan"), Err(PhraseError::Form(1)));
        assert_eq!(parse("fees: "), Err(PhraseError::Form(1)));
        assert!(matches!(parse("x\nfee: a"), Err(PhraseError::Form(1))));
        assert!(matches!(parse("fee: a"), Err(PhraseError::Intent(1, _, _))));
        assert_eq!(
            parse(&format!("fees: {}", "a".repeat(301))),
            Err(PhraseError::TooLong(1))
        );
    }
}
