//! The activity log: who did what, when, from where. Details never carry PII.

use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct ActivityEntry {
    /// `staff:<uuid>`, `guardian:<uuid>`, `cli`, `system`.
    pub actor: String,
    /// Dotted verb, e.g. `roster.import`, `access_code.issue`.
    pub action: String,
    /// What it acted on, e.g. `guardian:<uuid>`.
    pub subject: Option<String>,
    /// Source IP for web, channel name for chat, `cli` for the command line.
    pub source: String,
    /// Counts and ids only: never names, phone numbers or message text.
    pub details: Value,
    pub at: DateTime<Utc>,
}

impl ActivityEntry {
    pub fn now(
        actor: &str,
        action: &str,
        subject: Option<String>,
        source: &str,
        details: Value,
    ) -> Self {
        Self {
            actor: actor.to_string(),
            action: action.to_string(),
            subject,
            source: source.to_string(),
            details,
            at: Utc::now(),
        }
    }
}
