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
    },
    /// List schools.
    List,
    /// Change a school setting: recognise_roster_phones on|off (a WhatsApp number on
    /// the roster is recognised without an access code).
    Setting {
        slug: String,
        name: String,
        value: String,
    },
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
        } => {
            let new = NewTenant::new(&slug, &name, &timezone, &locale)?;
            let tenant = t.create(new).await?;
            println!(
                "created school {} ({}) in {}",
                tenant.slug,
                tenant.id,
                t.backend().partitions.describe(tenant.id)
            );
        }
        TenantCmd::Setting { slug, name, value } => {
            match (name.as_str(), value.as_str()) {
                ("recognise_roster_phones", "on" | "off") => {}
                ("recognise_roster_phones", other) => {
                    bail!("recognise_roster_phones is on or off (got {other:?})")
                }
                (other, _) => bail!("unknown setting {other:?}; known: recognise_roster_phones"),
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
            if all.is_empty() {
                println!("no schools yet: `raabta tenant create <slug> --name <name>`");
            }
            for s in all {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    s.slug,
                    s.name,
                    s.timezone.as_str(),
                    s.locale.as_str(),
                    s.status.as_str(),
                    t.backend().partitions.describe(s.id)
                );
            }
        }
        TenantCmd::Purge { slug, yes } => {
            let tenant = t.tenant(&slug).await?;
            if !yes {
                bail!(
                    "this destroys every record of {} ({}) and its keys; run again with --yes to confirm",
                    tenant.slug,
                    tenant.name
                );
            }
            t.purge(&slug).await?;
            println!("purged school {slug}: partition, role and keys are gone");
        }
    }
    Ok(())
}
