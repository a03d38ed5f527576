//! The school's FAQ: its rows as written (issue 18). Public information, not
//! encrypted; replaced as a whole (an import is all rows or none).

use crate::domain::activity::ActivityEntry;
use crate::domain::school::Locale;
use crate::faq::FaqRow;
use crate::store::db;
use crate::store::{FaqStore, Result};

use super::{corrupt, log, SchoolStore};

#[async_trait::async_trait]
impl FaqStore for SchoolStore {
    async fn faq_rows(&self) -> Result<Vec<FaqRow>> {
        let rows: Vec<(String, String, String, String)> = self
            .read_all(db::query_as(
                "SELECT entry_id, language, question, answer FROM faq_rows ORDER BY position",
            ))
            .await?;
        rows.into_iter()
            .map(|(entry, language, question, answer)| {
                Ok(FaqRow {
                    entry,
                    language: language
                        .parse::<Locale>()
                        .map_err(|_| corrupt(format!("faq language {language:?}")))?,
                    question,
                    answer,
                })
            })
            .collect()
    }

    async fn replace_faq(&self, rows: &[FaqRow], activity: &ActivityEntry) -> Result<()> {
        self.write(async |tx| {
            db::query("DELETE FROM faq_rows").execute(&mut **tx).await?;
            for (i, r) in rows.iter().enumerate() {
                db::query(
                    "INSERT INTO faq_rows (entry_id, language, question, answer, position) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&r.entry)
                .bind(r.language.as_str())
                .bind(&r.question)
                .bind(&r.answer)
                .bind(i as i64)
                .execute(&mut **tx)
                .await?;
            }
            log(tx, activity).await
        })
        .await
    }
}
