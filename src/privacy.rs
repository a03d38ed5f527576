//! The privacy lifecycle's operations shared by the chat, the admin and the CLI
//! (issue 19): recording a data-subject request, and the erasure — the database part in
//! one transaction (`store/sql/privacy.rs`), then, outside it, the spool purged of the
//! person's messages and (SQLite) the write-ahead log emptied, each logged.

use crate::app::App;
use crate::domain::activity::ActivityEntry;
use crate::domain::roster::ContactRef;
use crate::store::tenancy::School;
use crate::store::{
    ErasureDone, ErasureScope, NewPrivacyRequest, PrivacyKind, PrivacyRequest, StoreError,
    PRIVACY_DUE_DAYS,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the erasure was rolled back and the request marked failed (it may be retried): {0}")]
    Rolledback(StoreError),
    #[error("the database part is done, but the spool could not be purged: {0}")]
    Spool(#[from] crate::spool::SpoolError),
    #[error("the copy could not be written: {0}")]
    Export(String),
}

/// The days a school gives itself to answer (setting `privacy_due_days`, at most
/// [`PRIVACY_DUE_DAYS`]: 7 working days).
pub fn due_days(setting: Option<&str>) -> i64 {
    setting
        .and_then(|s| s.trim().parse::<i64>().ok())
        .filter(|d| (1..=PRIVACY_DUE_DAYS).contains(d))
        .unwrap_or(PRIVACY_DUE_DAYS)
}

/// A request as the admin or the operator records it (the chat records its own in the
/// conversation step's transaction, `worker/actions.rs`).
#[allow(clippy::too_many_arguments)]
pub async fn record(
    school: &School,
    kind: PrivacyKind,
    contact: ContactRef,
    source: &'static str,
    identity_check: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<PrivacyRequest, PrivacyError> {
    let settings = school.store.settings().await?;
    let due = due_days(
        settings
            .iter()
            .find(|(k, _)| k == "privacy_due_days")
            .map(|(_, v)| v.as_str()),
    );
    let id = Uuid::now_v7();
    let mut entry = ActivityEntry::now(
        by,
        "privacy_request.created",
        Some(format!("privacy_request:{id}")),
        source,
        serde_json::json!({ "kind": kind.as_str(), "contact": format!("{}:{}", contact.kind(), contact.uuid()) }),
    );
    entry.at = now;
    let request = NewPrivacyRequest {
        id,
        kind,
        contact,
        source,
        identity_check: crate::domain::Pii::new(identity_check.to_string()),
        requested_by: by.to_string(),
        at: now,
        due_at: now + chrono::Duration::days(due),
    };
    Ok(school
        .store
        .record_privacy_request(&request, &entry)
        .await?)
}

/// Whether a spooled event's sender is one of the person's ids or numbers (a provider
/// may write a number with a prefix such as `whatsapp:+`).
fn same_sender(sender: &str, theirs: &[String]) -> bool {
    let digits = |s: &str| -> String { s.chars().filter(char::is_ascii_digit).collect() };
    let d = digits(sender);
    theirs.iter().any(|t| {
        t == sender || {
            let td = digits(t);
            !td.is_empty() && td == d
        }
    })
}

/// Erases the person of an erasure request (see `store/sql/privacy.rs` for what it
/// does), as `approver`. The database part is one transaction: on any error nothing
/// changed and the request is marked failed (retryable). Then the spool is purged of
/// their messages and the SQLite log checkpointed, and that is logged too.
pub async fn erase(
    app: &App,
    school: &School,
    request: Uuid,
    scope: ErasureScope,
    approver: &str,
    source: &str,
) -> Result<ErasureDone, PrivacyError> {
    let now = app.clock.now();
    let done = match school
        .store
        .erase_contact(request, scope, approver, source, now)
        .await
    {
        Ok(done) => done,
        Err(e) => {
            tracing::warn!(school = %school.tenant.slug, request = %request, error = %e, "erasure rolled back");
            school
                .store
                .privacy_request_failed(request, &e.to_string(), approver, now)
                .await?;
            return Err(PrivacyError::Rolledback(e));
        }
    };
    let theirs: Vec<String> = done
        .chat_ids
        .iter()
        .map(|p| p.expose().to_string())
        .collect();
    let removed = app
        .spool
        .purge(school.tenant.id, &|sender| same_sender(sender, &theirs))
        .await?;
    // The school's stored exports were made before: they hold the person.
    let exports = crate::export::remove_school_exports(&app.config.data_dir, school.tenant.id)?;
    let mut entry = ActivityEntry::now(
        approver,
        "privacy_erasure.files",
        Some(format!("privacy_request:{request}")),
        source,
        serde_json::json!({ "spool_events": removed, "exports_deleted": exports }),
    );
    entry.at = app.clock.now();
    school.store.log_activity(&entry).await?;
    // Last, so no page of the erasure stays in the log.
    school.store.checkpoint().await?;
    tracing::info!(school = %school.tenant.slug, request = %request, spool_events = removed, "erasure done");
    Ok(done)
}

/// The access request's copy: one zip with `data.json` (every section, rows as objects)
/// and one CSV per section, and a README saying what it is. Made in memory (one
/// person's data); CSV cells that a spreadsheet would run as formulas are quoted.
pub fn access_zip(
    school: &str,
    sections: &[crate::store::DataSection],
    made_at: DateTime<Utc>,
) -> Result<Vec<u8>, PrivacyError> {
    use std::io::Write;
    let zip_err = |e: zip::result::ZipError| PrivacyError::Export(e.to_string());
    let io_err = |e: std::io::Error| PrivacyError::Export(e.to_string());
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file("README.txt", opts).map_err(zip_err)?;
    w.write_all(
        format!(
            "Your personal data held by {school}, made on {}.\n\
             data.json holds everything; each .csv file holds one part of it:\n{}\n",
            made_at.format("%Y-%m-%d %H:%M UTC"),
            sections
                .iter()
                .map(|s| format!("  {}.csv ({} rows)", s.name, s.rows.len()))
                .collect::<Vec<_>>()
                .join("\n")
        )
        .as_bytes(),
    )
    .map_err(io_err)?;
    let mut all = serde_json::Map::new();
    for s in sections {
        let rows: Vec<serde_json::Value> = s
            .rows
            .iter()
            .map(|r| {
                serde_json::Value::Object(
                    s.columns
                        .iter()
                        .zip(r)
                        .map(|(c, v)| ((*c).to_string(), serde_json::Value::String(v.clone())))
                        .collect(),
                )
            })
            .collect();
        all.insert(s.name.to_string(), serde_json::Value::Array(rows));
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(&s.columns)
            .map_err(|e| PrivacyError::Export(e.to_string()))?;
        for r in &s.rows {
            let safe: Vec<String> = r.iter().map(|c| spreadsheet_safe(c)).collect();
            csv.write_record(&safe)
                .map_err(|e| PrivacyError::Export(e.to_string()))?;
        }
        let bytes = csv
            .into_inner()
            .map_err(|e| PrivacyError::Export(e.to_string()))?;
        w.start_file(format!("{}.csv", s.name), opts)
            .map_err(zip_err)?;
        w.write_all(&bytes).map_err(io_err)?;
    }
    w.start_file("data.json", opts).map_err(zip_err)?;
    let json = serde_json::to_vec_pretty(&serde_json::Value::Object(all))
        .map_err(|e| PrivacyError::Export(e.to_string()))?;
    w.write_all(&json).map_err(io_err)?;
    Ok(w.finish().map_err(zip_err)?.into_inner())
}

/// A cell a spreadsheet would run as a formula (= + - @ first) gets a leading quote.
pub fn spreadsheet_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_holds_every_section_as_csv_and_json() {
        use std::io::Read;
        let sections = vec![crate::store::DataSection {
            name: "profile",
            columns: vec!["name", "phone"],
            rows: vec![vec!["=cmd".into(), "+923001110001".into()]],
        }];
        let bytes = access_zip("Demo", &sections, Utc::now()).unwrap();
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut csv = String::new();
        z.by_name("profile.csv")
            .unwrap()
            .read_to_string(&mut csv)
            .unwrap();
        assert_eq!(csv, "name,phone\n'=cmd,'+923001110001\n");
        let mut json = String::new();
        z.by_name("data.json")
            .unwrap()
            .read_to_string(&mut json)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["profile"][0]["phone"], "+923001110001");
        assert!(z.by_name("README.txt").is_ok());
    }

    #[test]
    fn due_days_stay_within_seven_working_days() {
        assert_eq!(due_days(None), 9);
        assert_eq!(due_days(Some("5")), 5);
        assert_eq!(due_days(Some("30")), 9);
        assert_eq!(due_days(Some("0")), 9);
        assert_eq!(due_days(Some("x")), 9);
    }

    #[test]
    fn a_sender_is_recognised_in_any_provider_form() {
        let theirs = vec!["923001110001".to_string(), "5550001".to_string()];
        assert!(same_sender("923001110001", &theirs));
        assert!(same_sender("whatsapp:+923001110001", &theirs));
        assert!(same_sender("5550001", &theirs));
        assert!(!same_sender("923001110002", &theirs));
        assert!(!same_sender("55500011", &theirs));
    }
}
