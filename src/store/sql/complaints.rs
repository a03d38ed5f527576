//! Complaints as the triage job reads and writes them, and the AI budget's counter.

use crate::domain::activity::ActivityEntry;
use crate::domain::Pii;
use crate::store::{ComplaintStore, Result, TriageRecord};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{field, log, SchoolStore};
use crate::store::db;

#[async_trait::async_trait]
impl ComplaintStore for SchoolStore {
    async fn complaint_to_triage(&self, id: Uuid) -> Result<Option<Pii<String>>> {
        let row: Option<(Vec<u8>, Option<String>)> = self
            .read_optional(
                db::query_as("SELECT text_enc, triage_source FROM complaints WHERE id = $1")
                    .bind(id),
            )
            .await?;
        match row {
            None | Some((_, Some(_))) => Ok(None),
            Some((ct, None)) => Ok(Some(Pii::new(
                self.keys
                    .decrypt_str(field("complaints", "text_enc", id), &ct)?,
            ))),
        }
    }

    async fn save_triage(
        &self,
        id: Uuid,
        t: &TriageRecord,
        activity: &ActivityEntry,
    ) -> Result<bool> {
        let summary = self.keys.encrypt(
            field("complaints", "summary_enc", id),
            t.summary.expose().as_bytes(),
        )?;
        let reply = self.keys.encrypt(
            field("complaints", "reply_enc", id),
            t.suggested_reply.expose().as_bytes(),
        )?;
        self.write(async |tx| {
            let done = db::query(
                "UPDATE complaints SET triage_source = $2, category = $3, priority = $4, \
                 sentiment = $5, language = $6, summary_enc = $7, reply_enc = $8, \
                 triage_note = $9, triaged_at = $10 \
                 WHERE id = $1 AND triage_source IS NULL",
            )
            .bind(id)
            .bind(t.source.as_str())
            .bind(t.category.as_str())
            .bind(t.priority.as_str())
            .bind(t.sentiment.as_str())
            .bind(t.language.as_str())
            .bind(summary)
            .bind(reply)
            .bind(t.note.as_deref())
            .bind(activity.at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if done {
                log(tx, activity).await?;
            }
            Ok(done)
        })
        .await
    }

    async fn complaint_triage(&self, id: Uuid) -> Result<Option<TriageRecord>> {
        type Row = (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
            Option<String>,
        );
        let row: Option<Row> = self
            .read_optional(
                db::query_as(
                    "SELECT triage_source, category, priority, sentiment, language, \
                     summary_enc, reply_enc, triage_note FROM complaints WHERE id = $1",
                )
                .bind(id),
            )
            .await?;
        let Some((Some(source), category, priority, sentiment, language, summary, reply, note)) =
            row
        else {
            return Ok(None);
        };
        let text = |column: &'static str, ct: Option<Vec<u8>>| -> Result<String> {
            Ok(match ct {
                Some(ct) => self
                    .keys
                    .decrypt_str(field("complaints", column, id), &ct)?,
                None => String::new(),
            })
        };
        Ok(Some(TriageRecord {
            source,
            category: category.unwrap_or_default(),
            priority: priority.unwrap_or_default(),
            sentiment: sentiment.unwrap_or_default(),
            language: language.unwrap_or_default(),
            summary: Pii::new(text("summary_enc", summary)?),
            suggested_reply: Pii::new(text("reply_enc", reply)?),
            note,
        }))
    }

    async fn ai_tokens(&self, month: &str) -> Result<i64> {
        let row: Option<(i64,)> = self
            .read_optional(db::query_as("SELECT tokens FROM ai_usage WHERE month = $1").bind(month))
            .await?;
        Ok(row.map(|(n,)| n).unwrap_or(0))
    }

    async fn add_ai_tokens(&self, month: &str, tokens: i64, _at: DateTime<Utc>) -> Result<()> {
        self.write(async |tx| {
            db::query(
                "INSERT INTO ai_usage (month, tokens) VALUES ($1, $2) \
                 ON CONFLICT (month) DO UPDATE SET tokens = ai_usage.tokens + excluded.tokens",
            )
            .bind(month)
            .bind(tokens)
            .execute(&mut *tx)
            .await?;
            Ok(())
        })
        .await
    }
}
