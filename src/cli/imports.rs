//! `raabta import …`: roster and fee CSV files, all rows or none.

use super::{bar, Bar};
use anyhow::Context;
use clap::{Args, Subcommand};
use raabta::app::App;
use raabta::config::Config;
use raabta::domain::activity::ActivityEntry;
use raabta::import::{self, ImportError};
use serde_json::json;
use std::path::PathBuf;

/// A school and the CSV file to import into it.
#[derive(Args)]
pub(super) struct ImportArgs {
    #[arg(long)]
    tenant: String,
    file: PathBuf,
}

#[derive(Subcommand)]
pub(super) enum ImportCmd {
    /// Students and guardians (see `src/import.rs` or the README for columns).
    Roster(ImportArgs),
    /// Fee lines and payments.
    Fees(ImportArgs),
}

pub(super) fn report_import_error(e: ImportError) -> anyhow::Error {
    if let ImportError::Rows(rows) = &e {
        for r in rows {
            eprintln!("{r}");
        }
    }
    e.into()
}

/// The progress bar and the activity entry of an import of `rows` rows.
fn started(what: &str, action: &str, rows: usize) -> (Bar, ActivityEntry) {
    let pb = bar(rows as u64, what);
    let activity = ActivityEntry::now("cli", action, None, "cli", json!({ "rows": rows }));
    (pb, activity)
}

pub(super) async fn import_cmd(config: Config, cmd: ImportCmd) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    let (ImportCmd::Roster(args) | ImportCmd::Fees(args)) = &cmd;
    let school = app.tenancy.school(&args.tenant).await?;
    let f = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    let f = std::io::BufReader::new(f);
    match cmd {
        ImportCmd::Roster(_) => {
            let rows = import::parse_roster(f, school.tenant.timezone.phone_region())
                .map_err(report_import_error)?;
            let (pb, activity) = started("importing roster", "roster.import", rows.len());
            let s = school.store.import_roster(&rows, &activity, &pb).await?;
            pb.done(format!(
                "roster imported: {} students created, {} updated; {} guardians created, {} updated; {} links",
                s.students_created, s.students_updated, s.guardians_created, s.guardians_updated, s.links
            ));
        }
        ImportCmd::Fees(_) => {
            let students = school.store.student_ids_by_admission().await?;
            let rows = import::parse_fees(f, &students).map_err(report_import_error)?;
            let (pb, activity) = started("importing fees", "fees.import", rows.len());
            let s = school
                .store
                .import_fees(&rows, &students, &activity, &pb)
                .await?;
            pb.done(format!(
                "fees imported: {} fee lines created, {} updated, {} payments added",
                s.fee_lines_created, s.fee_lines_updated, s.payments
            ));
        }
    }
    Ok(())
}
