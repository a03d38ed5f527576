//! `raabta import …`: roster and fee CSV files, all rows or none.

use super::bar;
use anyhow::Context;
use clap::Subcommand;
use raabta::app::App;
use raabta::config::Config;
use raabta::domain::activity::ActivityEntry;
use raabta::import::{self, ImportError};
use serde_json::json;
use std::path::PathBuf;

#[derive(Subcommand)]
pub(super) enum ImportCmd {
    /// Students and guardians (see `src/import.rs` or the README for columns).
    Roster {
        #[arg(long)]
        tenant: String,
        file: PathBuf,
    },
    /// Fee lines and payments.
    Fees {
        #[arg(long)]
        tenant: String,
        file: PathBuf,
    },
}

pub(super) fn report_import_error(e: ImportError) -> anyhow::Error {
    if let ImportError::Rows(rows) = &e {
        for r in rows {
            eprintln!("{r}");
        }
    }
    e.into()
}

pub(super) async fn import_cmd(config: Config, cmd: ImportCmd) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    match cmd {
        ImportCmd::Roster { tenant, file } => {
            let school = app.tenancy.school(&tenant).await?;
            let f = std::fs::File::open(&file)
                .with_context(|| format!("cannot open {}", file.display()))?;
            let rows = import::parse_roster(
                std::io::BufReader::new(f),
                school.tenant.timezone.phone_region(),
            )
            .map_err(report_import_error)?;
            let pb = bar(rows.len() as u64, "importing roster");
            let activity = ActivityEntry::now(
                "cli",
                "roster.import",
                None,
                "cli",
                json!({ "rows": rows.len() }),
            );
            let s = school.store.import_roster(&rows, &activity, &pb).await?;
            pb.0.finish_and_clear();
            println!(
                "roster imported: {} students created, {} updated; {} guardians created, {} updated; {} links",
                s.students_created, s.students_updated, s.guardians_created, s.guardians_updated, s.links
            );
        }
        ImportCmd::Fees { tenant, file } => {
            let school = app.tenancy.school(&tenant).await?;
            let f = std::fs::File::open(&file)
                .with_context(|| format!("cannot open {}", file.display()))?;
            let students = school.store.student_ids_by_admission().await?;
            let rows = import::parse_fees(std::io::BufReader::new(f), &students)
                .map_err(report_import_error)?;
            let pb = bar(rows.len() as u64, "importing fees");
            let activity = ActivityEntry::now(
                "cli",
                "fees.import",
                None,
                "cli",
                json!({ "rows": rows.len() }),
            );
            let s = school
                .store
                .import_fees(&rows, &students, &activity, &pb)
                .await?;
            pb.0.finish_and_clear();
            println!(
                "fees imported: {} fee lines created, {} updated, {} payments added",
                s.fee_lines_created, s.fee_lines_updated, s.payments
            );
        }
    }
    Ok(())
}
