//! `raabta tenant …`: create, list and purge schools.

use anyhow::bail;
use clap::Subcommand;
use raabta::app::App;
use raabta::config::Config;
use raabta::domain::activity::ActivityEntry;
use raabta::domain::school::NewTenant;
use serde_json::json;

#[derive(Subcommand)]
pub(super) enum TenantCmd {
    /// Create a school: its partition, role, migrations and keys.
    Create {
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "Asia/Karachi")]
        timezone: String,
        #[arg(long, default_value = "en")]
        locale: String,
        /// The vendor's own school: its enquiry bot takes schools asking about the
        /// service (name, school and city), with the service's FAQ to start from.
        #[arg(long)]
        vendor: bool,
    },
    /// List schools.
    List,
    /// Change a school setting: recognise_roster_phones on|off (a WhatsApp number on
    /// the roster is recognised without an access code), vendor on|off (the vendor's
    /// own school: its enquiry bot takes schools' enquiries).
    Setting {
        slug: String,
        name: String,
        value: String,
    },
    /// Close a school: its chat stops; its administrators can still sign in and export
    /// for 30 days; then its partition, keys and backup key are destroyed and a
    /// deletion certificate is kept (`raabta tenant certificate`).
    Close {
        slug: String,
        /// Who asked (recorded on the certificate).
        #[arg(long, default_value = "operator")]
        by: String,
        #[arg(long)]
        yes: bool,
    },
    /// Purge the closed schools whose 30-day export window has ended (the server does
    /// it hourly too).
    PurgeClosed,
    /// Print a purged school's deletion certificate (JSON).
    Certificate { slug: String },
    /// Delete a school's partition, role, keys and registry entry. Irreversible.
    Purge {
        slug: String,
        /// Confirm that every record of this school is to be destroyed.
        #[arg(long)]
        yes: bool,
    },
}

pub(super) async fn tenant(config: Config, cmd: TenantCmd) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    let t = &app.tenancy;
    match cmd {
        TenantCmd::Create {
            slug,
            name,
            timezone,
            locale,
            vendor,
        } => {
            let new = NewTenant::new(&slug, &name, &timezone, &locale)?;
            let tenant = t.create(new).await?;
            println!(
                "created school {} ({}) in {}",
                tenant.slug,
                tenant.id,
                t.backend().partitions.describe(tenant.id)
            );
            if vendor {
                let school = t.open(tenant.clone()).await?;
                let rows = raabta::seed::platform_faq()?;
                school
                    .store
                    .set_setting(
                        raabta::domain::school::SETTING_VENDOR,
                        "on",
                        &ActivityEntry::now(
                            "cli",
                            "school.setting",
                            Some("setting:vendor".into()),
                            "cli",
                            json!({ "value": "on" }),
                        ),
                    )
                    .await?;
                school
                    .store
                    .replace_faq(
                        &rows,
                        &ActivityEntry::now(
                            "cli",
                            "faq.import",
                            None,
                            "cli",
                            json!({ "rows": rows.len() }),
                        ),
                    )
                    .await?;
                println!(
                    "{slug} is the vendor's school: its enquiry bot takes schools' enquiries, \
                     with the service's FAQ ({} rows; edit it in the admin's FAQ page or with \
                     `raabta faq import --tenant {slug} <file.csv>`). Its web chat: /chat/{slug}",
                    rows.len()
                );
            }
        }
        TenantCmd::Setting { slug, name, value } => {
            match (name.as_str(), value.as_str()) {
                ("recognise_roster_phones" | "vendor", "on" | "off") => {}
                (n @ ("recognise_roster_phones" | "vendor"), other) => {
                    bail!("{n} is on or off (got {other:?})")
                }
                (other, _) => {
                    bail!("unknown setting {other:?}; known: recognise_roster_phones, vendor")
                }
            }
            let school = t.school(&slug).await?;
            let entry = ActivityEntry::now(
                "cli",
                "school.setting",
                Some(format!("setting:{name}")),
                "cli",
                json!({ "value": value }),
            );
            school.store.set_setting(&name, &value, &entry).await?;
            println!("{slug}: {name} = {value}");
        }
        TenantCmd::List => {
            let all = t.list().await?;
            let closing = t.backend().control.closures().await?;
            if all.is_empty() {
                println!("no schools yet: `raabta tenant create <slug> --name <name>`");
            }
            for s in all {
                let status = match closing.iter().find(|c| c.tenant_id == s.id) {
                    Some(c) => format!(
                        "closing (purged after {})",
                        c.purge_after.format("%Y-%m-%d %H:%M UTC")
                    ),
                    None => s.status.as_str().to_string(),
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    s.slug,
                    s.name,
                    s.timezone.as_str(),
                    s.locale.as_str(),
                    status,
                    t.backend().partitions.describe(s.id)
                );
            }
        }
        TenantCmd::Close { slug, by, yes } => {
            let tenant = t.tenant(&slug).await?;
            if !yes {
                bail!(
                    "this closes {} ({}): its chat stops now and everything of it is destroyed \
                     after a 30-day export window; run again with --yes to confirm",
                    tenant.slug,
                    tenant.name
                );
            }
            let (c, started) = t.close(&slug, &by, app.clock.now()).await?;
            if !started {
                println!(
                    "{slug} was closing already (asked by {} on {}); its window is kept",
                    c.requested_by,
                    c.requested_at.format("%Y-%m-%d %H:%M UTC")
                );
            }
            println!(
                "{slug} is closing: chat is off; its administrators can sign in and export until \
                 {}; then it is purged and a deletion certificate kept",
                c.purge_after.format("%Y-%m-%d %H:%M UTC")
            );
        }
        TenantCmd::PurgeClosed => {
            let done = t.purge_closed(app.clock.now(), "operator").await?;
            for c in &done {
                if let Some(id) = c["school"]["id"].as_str().and_then(|s| s.parse().ok()) {
                    raabta::export::remove_school_exports(
                        &app.config.data_dir,
                        raabta::domain::TenantId(id),
                    )?;
                }
            }
            println!(
                "{} purged",
                match done.len() {
                    1 => "1 closed school".to_string(),
                    n => format!("{n} closed schools"),
                }
            );
            for c in done {
                println!("{c}");
            }
        }
        TenantCmd::Certificate { slug } => match t.backend().control.certificate(&slug).await? {
            Some(c) => {
                let v: serde_json::Value = serde_json::from_str(&c)?;
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
            None => bail!("no deletion certificate for {slug}"),
        },
        TenantCmd::Purge { slug, yes } => {
            let tenant = t.tenant(&slug).await?;
            if !yes {
                bail!(
                    "this destroys every record of {} ({}) and its keys; run again with --yes to confirm",
                    tenant.slug,
                    tenant.name
                );
            }
            t.purge(&slug, "operator").await?;
            raabta::export::remove_school_exports(&app.config.data_dir, tenant.id)?;
            println!(
                "purged school {slug}: {} and its keys are gone; `raabta tenant certificate {slug}` prints the deletion certificate",
                t.backend().partitions.describe(tenant.id)
            );
        }
    }
    Ok(())
}
