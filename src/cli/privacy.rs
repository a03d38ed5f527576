//! `raabta privacy …`: data-subject requests for the operator (issue 19). The erasure
//! runs the same code as an administrator's approval in the admin, recorded as made and
//! approved by the operator.

use anyhow::{bail, Context};
use clap::Subcommand;
use raabta::app::App;
use raabta::config::Config;
use raabta::domain::phone::Phone;
use raabta::domain::roster::ContactRef;
use raabta::store::{ErasureScope, PrivacyKind};

#[derive(Subcommand)]
pub enum PrivacyCmd {
    /// Erase a guardian (found by phone number) or a staff member (by email): their
    /// contact details, sign-in, chat bindings, conversations and access codes are
    /// deleted, the record becomes "Deleted contact", and the school's records
    /// (complaints, leave, consent answers, decisions) are kept without what identifies
    /// them. One transaction; cannot be undone.
    Erase {
        #[arg(long)]
        tenant: String,
        /// The guardian's phone number (as on the roster).
        #[arg(long, required_unless_present = "staff_email")]
        phone: Option<String>,
        /// Or a staff member, by their sign-in email.
        #[arg(long, conflicts_with = "phone")]
        staff_email: Option<String>,
        /// Also delete the face-attendance consent and samples of their children.
        #[arg(long)]
        biometric: bool,
        /// Why (recorded with the request as how the person's identity was checked).
        #[arg(long, default_value = "operator")]
        reason: String,
        /// Required: the erasure cannot be undone.
        #[arg(long)]
        yes: bool,
    },
    /// The school's requests, newest first.
    Requests {
        #[arg(long)]
        tenant: String,
    },
}

pub async fn privacy_cmd(config: Config, cmd: PrivacyCmd) -> anyhow::Result<()> {
    match cmd {
        PrivacyCmd::Erase {
            tenant,
            phone,
            staff_email,
            biometric,
            reason,
            yes,
        } => {
            let app = App::build(config).await?;
            let school = app.tenancy.school(&tenant).await?;
            let guardian = match (phone, staff_email) {
                (_, Some(email)) => match school.store.staff_by_email(email.trim()).await? {
                    Some(s) => ContactRef::Staff(s.id),
                    None => bail!("no staff member with that email at {tenant}"),
                },
                (Some(phone), None) => {
                    let phone = Phone::parse(&phone, school.tenant.timezone.phone_region())
                        .context("the phone number is not valid")?;
                    let contacts = school.store.contacts_by_phone(&phone).await?;
                    let Some(guardian) = contacts
                        .iter()
                        .find(|c| matches!(c, ContactRef::Guardian(_)))
                        .copied()
                    else {
                        bail!("no guardian with that phone number at {tenant}");
                    };
                    guardian
                }
                (None, None) => bail!("give --phone (a guardian) or --staff-email"),
            };
            if !yes {
                let name = match guardian {
                    ContactRef::Guardian(g) => school
                        .store
                        .guardian(g)
                        .await?
                        .map(|g| g.full_name)
                        .unwrap_or_default(),
                    ContactRef::Staff(s) => school
                        .store
                        .staff_auth(s)
                        .await?
                        .map(|s| s.full_name)
                        .unwrap_or_default(),
                };
                bail!(
                    "this erases {name}'s personal data at {tenant} and cannot be undone; \
                     run again with --yes"
                );
            }
            let now = app.clock.now();
            let request = raabta::privacy::record(
                &school,
                PrivacyKind::Erasure,
                guardian,
                "operator",
                &reason,
                "operator",
                now,
            )
            .await?;
            let scope = if biometric {
                ErasureScope::GuardianBiometric
            } else {
                ErasureScope::Guardian
            };
            let done =
                raabta::privacy::erase(&app, &school, request.id, scope, "operator", "cli").await?;
            println!("erased (request {}):", request.id);
            for (what, n) in &done.counts {
                println!("  {what}: {n}");
            }
            Ok(())
        }
        PrivacyCmd::Requests { tenant } => {
            let app = App::build(config).await?;
            let school = app.tenancy.school(&tenant).await?;
            let all = school.store.privacy_requests(None, 500).await?;
            if all.is_empty() {
                println!("no privacy requests at {tenant}");
            }
            for r in all {
                println!(
                    "{}  {}  {:8} {:9} due {}  {} ({}){}",
                    r.id,
                    r.name.expose(),
                    r.kind,
                    r.status,
                    r.due_at.format("%Y-%m-%d"),
                    r.source,
                    r.requested_at.format("%Y-%m-%d %H:%M"),
                    r.error.map(|e| format!("  error: {e}")).unwrap_or_default()
                );
            }
            Ok(())
        }
    }
}

pub async fn backup(config: Config, out: std::path::PathBuf) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    let schools = app.tenancy.list().await?.len() as u64;
    let pb = super::bar(schools + 1, "backing up");
    let bar = pb.0.clone();
    let report = raabta::backup::take(&app, &out, &move |_part| bar.inc(1)).await?;
    pb.done(format!(
        "backup written to {} ({} schools, encrypted; {} older backups removed, {} kept at most)",
        report.dir.display(),
        report.manifest.schools.len(),
        report.pruned,
        raabta::backup::KEEP
    ));
    if !report.manifest.skipped.is_empty() {
        anyhow::bail!(
            "not in this backup, see the log for why: {}",
            report.manifest.skipped.join(", ")
        );
    }
    Ok(())
}

pub async fn restore(
    config: Config,
    from: std::path::PathBuf,
    keys: std::path::PathBuf,
) -> anyhow::Result<()> {
    let keys: raabta::backup::KeyExport = serde_json::from_slice(
        &std::fs::read(&keys).with_context(|| format!("reading {}", keys.display()))?,
    )
    .context("the keys file is not an export of raabta keys export-backup-keys")?;
    let report = raabta::backup::restore(&config, &from, &keys).await?;
    let into = if config.database_url.expose().starts_with("sqlite:") {
        config.data_dir.display().to_string()
    } else {
        "the PostgreSQL database".to_string()
    };
    println!(
        "restored {} into {into}: {}",
        match report.schools.len() {
            1 => "1 school".to_string(),
            n => format!("{n} schools"),
        },
        report.schools.join(", ")
    );
    if !report.unreadable.is_empty() {
        println!(
            "not restored, their backup key not being in the keys file (schools purged since, \
             or a keys file exported before they were added): {}",
            report.unreadable.join(", ")
        );
    }
    if !report.dropped.is_empty() {
        println!(
            "not in this backup (being created when it was taken, or skipped by it; see its \
             log): {}",
            report.dropped.join(", ")
        );
    }
    Ok(())
}

pub async fn export(config: Config, tenant: String, out: std::path::PathBuf) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    let school = app.tenancy.school(&tenant).await?;
    let pb = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {pos} rows exported") {
        pb.set_style(style);
    }
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    let bar = pb.clone();
    let report = raabta::export::export_school(
        school.store.as_ref(),
        &school.tenant.name,
        &app.config.data_dir,
        &out,
        app.clock.now(),
        &move |n| bar.inc(n),
    )
    .await?;
    pb.finish_and_clear();
    let mut entry = raabta::domain::activity::ActivityEntry::now(
        "operator",
        "school.exported",
        None,
        "cli",
        serde_json::json!({ "tables": report.tables, "rows": report.rows, "attachments": report.attachments }),
    );
    entry.at = app.clock.now();
    school.store.log_activity(&entry).await?;
    println!(
        "{tenant} exported to {}: {} tables, {} rows, {} attachments",
        out.display(),
        report.tables,
        report.rows,
        report.attachments
    );
    Ok(())
}
