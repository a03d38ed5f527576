//! Retention (seed 000 §8; issues 18 and 19), hourly in `serve`, on the service's clock
//! (tests move it), one transaction per school with its activity entry:
//! * enquiries: leads and web-chat transcripts 12 months after their last activity;
//! * the school's data by its settings (`RetentionPolicy`): activity entries and
//!   security records 90 days (the erasure entries kept), password resets 30 days after
//!   resolution, chat messages and media 90 days (not while a pending leave request or
//!   an open complaint needs them), closed complaints' attachments 90 days after closing.

use crate::app::App;
use crate::domain::activity::ActivityEntry;
use crate::domain::school::TenantStatus;
use crate::store::{RetentionPolicy, StoreError, ENQUIRY_RETENTION_DAYS};

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

/// The school-data pass over every active school; what went, in all. A school whose
/// store fails is logged and skipped (the next pass tries again).
pub async fn school_data(
    app: &App,
) -> Result<std::collections::BTreeMap<&'static str, u64>, StoreError> {
    let now = app.clock.now();
    let mut all = std::collections::BTreeMap::new();
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
        let settings = match school.store.settings().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(school = %slug, error = %e, "retention: settings not read");
                continue;
            }
        };
        let policy = RetentionPolicy::from_settings(&settings, now);
        match crate::export::prune_exports(app, school.store.as_ref()).await {
            Ok(n) if n > 0 => {
                tracing::info!(school = %slug, files = n, "retention: export files deleted");
                *all.entry("export_files").or_insert(0) += n;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(school = %slug, error = %e, "retention: exports not pruned"),
        }
        let mut entry = ActivityEntry::now(
            "system",
            "retention.school_data",
            None,
            "retention",
            serde_json::json!({}),
        );
        entry.at = now;
        match school.store.purge_expired(&policy, &entry).await {
            Ok(counts) => {
                if !counts.is_empty() {
                    tracing::info!(school = %slug, deleted = ?counts, "retention: school data deleted");
                }
                for (k, v) in counts {
                    *all.entry(k).or_insert(0) += v;
                }
            }
            Err(e) => {
                tracing::warn!(school = %slug, error = %e, "retention: school data not purged")
            }
        }
    }
    Ok(all)
}

/// Closed schools whose export window has ended are purged, each with its deletion
/// certificate (`Tenancy::purge_closed`).
pub async fn closed_schools(app: &App) -> Result<usize, StoreError> {
    let done = app.tenancy.purge_closed(app.clock.now(), "system").await?;
    for c in &done {
        // The school's exports go with it.
        if let Some(id) = c["school"]["id"]
            .as_str()
            .and_then(|s| s.parse::<uuid::Uuid>().ok())
        {
            crate::export::remove_school_exports(
                &app.config.data_dir,
                crate::domain::TenantId(id),
            )?;
        }
    }
    Ok(done.len())
}
