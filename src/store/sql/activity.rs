//! The activity log.

use crate::domain::activity::ActivityEntry;
use crate::store::{ActivityStore, Result};
use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::{log, SchoolStore};
use crate::store::db::{self};

/// An activity entry as selected by [`ACTIVITY_COLS`].
pub(super) type ActivityRow = (
    DateTime<Utc>,
    String,
    String,
    Option<String>,
    String,
    Json<serde_json::Value>,
);
pub(super) const ACTIVITY_COLS: &str =
    "at, actor, action, subject, source, details FROM activity_log";

pub(super) fn activity_entries(rows: Vec<ActivityRow>) -> Vec<ActivityEntry> {
    rows.into_iter()
        .map(|(at, actor, action, subject, source, details)| {
            super::activity_from_parts(at, actor, action, subject, source, details.0)
        })
        .collect()
}

#[async_trait::async_trait]
impl ActivityStore for SchoolStore {
    async fn log_activity(&self, entry: &ActivityEntry) -> Result<()> {
        self.write(async |tx| log(tx, entry).await).await
    }

    async fn recent_activity(&self, limit: i64) -> Result<Vec<ActivityEntry>> {
        let sql = format!("SELECT {ACTIVITY_COLS} ORDER BY at DESC, id DESC LIMIT $1");
        let q = db::query_as(sqlx::AssertSqlSafe(sql)).bind(limit);
        Ok(activity_entries(self.read_all(q).await?))
    }
    async fn activity_filtered(
        &self,
        f: &crate::store::ActivityFilter,
        limit: i64,
    ) -> Result<Vec<ActivityEntry>> {
        // Prefixes are matched with substr, not LIKE: no wildcard escaping.
        let sql = format!(
            "SELECT {ACTIVITY_COLS} WHERE ($1 IS NULL OR substr(actor, 1, length($1)) = $1) \
             AND ($2 IS NULL OR substr(action, 1, length($2)) = $2) \
             AND ($3 IS NULL OR at >= $3) AND ($4 IS NULL OR at < $4) \
             ORDER BY at DESC, id DESC LIMIT $5"
        );
        let q = db::query_as(sqlx::AssertSqlSafe(sql))
            .bind(f.actor_prefix.as_deref())
            .bind(f.action_prefix.as_deref())
            .bind(f.from)
            .bind(f.to)
            .bind(limit);
        Ok(activity_entries(self.read_all(q).await?))
    }
}
