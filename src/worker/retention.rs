//! Retention of the enquiry bot's data (issue 18; the privacy lifecycle's general
//! retention jobs will join it): leads and web-chat transcripts are deleted 12 months
//! after their last activity (seed 000 §8, marketing enquiries). Runs hourly in
//! `serve`, on the service's clock (tests move it).

use crate::app::App;
use crate::domain::activity::ActivityEntry;
use crate::domain::school::TenantStatus;
use crate::store::{StoreError, ENQUIRY_RETENTION_DAYS};

/// How often the retention pass runs.
pub const RETENTION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// One pass over every active school; (leads, web conversations) deleted in all. A
/// school whose store fails is logged and skipped (the next pass tries again).
pub async fn enquiries(app: &App) -> Result<(u64, u64), StoreError> {
    let now = app.clock.now();
    let cutoff = now - chrono::Duration::days(ENQUIRY_RETENTION_DAYS);
    let (mut leads, mut conversations) = (0, 0);
    for tenant in app.tenancy.list().await? {
        if tenant.status != TenantStatus::Active {
            continue;
        }
        let slug = tenant.slug.to_string();
        let school = match app.tenancy.open(tenant).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(school = %slug, error = %e, "retention: school not opened");
                continue;
            }
        };
        let mut entry = ActivityEntry::now(
            "system",
            "retention.enquiries",
            None,
            "retention",
            serde_json::json!({}),
        );
        entry.at = now;
        match school.store.purge_enquiries(cutoff, &entry).await {
            Ok((l, c)) => {
                if l > 0 || c > 0 {
                    tracing::info!(school = %slug, leads = l, web_conversations = c, "retention: enquiries deleted");
                }
                leads += l;
                conversations += c;
            }
            Err(e) => tracing::warn!(school = %slug, error = %e, "retention: enquiries not purged"),
        }
    }
    Ok((leads, conversations))
}
