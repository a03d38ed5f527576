//! The activity log.

use crate::domain::activity::ActivityEntry;
use crate::store::{ActivityStore, Result};
use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::{log, SchoolStore};
use crate::store::db::{self};

#[async_trait::async_trait]
impl ActivityStore for SchoolStore {
    async fn log_activity(&self, entry: &ActivityEntry) -> Result<()> {
        let mut tx = self.begin().await?;
        log(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn recent_activity(&self, limit: i64) -> Result<Vec<ActivityEntry>> {
        let mut tx = self.begin_read().await?;
        let rows: Vec<(
            DateTime<Utc>,
            String,
            String,
            Option<String>,
            String,
            Json<serde_json::Value>,
        )> = db::query_as(
            "SELECT at, actor, action, subject, source, details FROM activity_log \
                 ORDER BY at DESC, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|(at, actor, action, subject, source, details)| {
                crate::store::sql::activity_from_parts(
                    at, actor, action, subject, source, details.0,
                )
            })
            .collect())
    }
}
