//! `raabta codes …`: access codes for guardians and staff.

use anyhow::bail;
use clap::{Args, Subcommand};
use raabta::app::App;
use raabta::codes;
use raabta::config::Config;
use raabta::domain::activity::ActivityEntry;
use raabta::domain::phone::Phone;
use raabta::domain::roster::ContactRef;
use serde_json::json;

/// The guardian or staff member a command is about.
#[derive(Args)]
pub(super) struct ContactArgs {
    #[arg(long)]
    tenant: String,
    /// Phone number in E.164 (+923001234567) or local form.
    #[arg(long)]
    phone: String,
    /// guardian or staff, when the number belongs to both.
    #[arg(long)]
    role: Option<String>,
}

#[derive(Subcommand)]
pub(super) enum CodesCmd {
    /// Print a fresh single-use access code for the guardian or staff member with this phone.
    Issue {
        #[command(flatten)]
        contact: ContactArgs,
        /// Days the code stays valid.
        #[arg(long, default_value_t = 14)]
        days: i64,
    },
    /// Unbind every chat (WhatsApp, Telegram) of the guardian or staff member with this
    /// phone: a lost phone, a number that changed hands. They log in again with a new code.
    Unbind {
        #[command(flatten)]
        contact: ContactArgs,
    },
}

pub(super) async fn codes_cmd(config: Config, cmd: CodesCmd) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    let (contact, days) = match cmd {
        CodesCmd::Issue { contact, days } => (contact, Some(days)),
        CodesCmd::Unbind { contact } => (contact, None),
    };
    let ContactArgs {
        tenant,
        phone,
        role,
    } = contact;
    let school = app.tenancy.school(&tenant).await?;
    let phone = Phone::parse(&phone, school.tenant.timezone.phone_region())
        .map_err(|e| anyhow::anyhow!("--phone: {e}"))?;
    let mut contacts = school.store.contacts_by_phone(&phone).await?;
    if let Some(role) = role.as_deref() {
        match role {
            "guardian" | "staff" => contacts.retain(|c| c.kind() == role),
            other => bail!("--role must be guardian or staff (got {other:?})"),
        }
    }
    let contact: ContactRef = match contacts.as_slice() {
        [] => bail!("no guardian or staff member of {tenant} has that phone number"),
        [one] => *one,
        _ => bail!("that number belongs to a guardian and a staff member: add --role guardian or --role staff"),
    };
    let Some(days) = days else {
        let entry = ActivityEntry::now(
            "cli",
            "identity.revoke",
            Some(format!("{}:{}", contact.kind(), contact.uuid())),
            "cli",
            json!({}),
        );
        let n = school.store.revoke_identities(contact, &entry).await?;
        println!("{n} chat(s) unbound; they need a new access code to log in again");
        return Ok(());
    };
    let (code, expires) = codes::issue(
        None,
        school.store.as_ref(),
        contact,
        chrono::Duration::days(days),
        "cli",
        "cli",
    )
    .await?;
    println!("{}", code.display());
    eprintln!(
        "single use, valid until {} (UTC); only its hash is stored",
        expires.format("%Y-%m-%d %H:%M")
    );
    Ok(())
}
