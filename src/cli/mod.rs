//! The command line: one module per command group. `anyhow` is used here only.

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use raabta::config::Config;
use raabta::store::Progress;
use std::path::PathBuf;

mod access_codes;
mod channel;
mod face;
mod faq;
mod flows;
mod imports;
mod keys;
mod nlu;
mod pii;
mod platform;
mod privacy;
mod serve;
mod tenant;
mod users;

#[derive(Parser)]
#[command(
    name = "raabta",
    version,
    about = "Chat-first school communication: WhatsApp, Telegram and a web admin"
)]
struct Cli {
    /// Optional TOML config file (environment variables RAABTA_* override it).
    #[arg(long, global = true, env = "RAABTA_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Migrate the control database and every school (each school in its own transaction).
    Migrate,
    /// Create, list and purge schools.
    #[command(subcommand)]
    Tenant(tenant::TenantCmd),
    /// Import roster or fee CSV files (all rows or none).
    #[command(subcommand)]
    Import(imports::ImportCmd),
    /// Access codes for guardians and staff.
    #[command(subcommand)]
    Codes(access_codes::CodesCmd),
    /// Encryption keys.
    #[command(subcommand)]
    Keys(keys::KeysCmd),
    /// WhatsApp (Twilio, Meta) and Telegram channel accounts.
    #[command(subcommand)]
    Channel(channel::ChannelCmd),
    /// The platform's own accounts (the Meta app that serves every school).
    #[command(subcommand)]
    Platform(platform::PlatformCmd),
    /// Conversation flows.
    #[command(subcommand)]
    Flows(flows::FlowsCmd),
    /// Talk to a school's bot in the terminal, through the real pipeline.
    Chat {
        #[arg(long)]
        tenant: String,
        /// Who you are: any id; a phone (E.164) reads naturally.
        #[arg(long)]
        from: String,
    },
    /// Consent forms (until the web admin page exists).
    #[command(subcommand)]
    Consent(flows::ConsentCmd),
    /// Leave requests: list and decide.
    #[command(subcommand)]
    Leave(flows::LeaveCmd),
    /// Conversations handed to staff.
    #[command(subcommand)]
    Handoff(flows::HandoffCmd),
    /// Staff accounts for the web admin.
    #[command(subcommand)]
    Users(users::UsersCmd),
    /// The local models (fetched by scripts/fetch-models.sh).
    #[command(subcommand)]
    Models(nlu::ModelsCmd),
    /// The local language model: classify messages, measure it.
    #[command(subcommand)]
    Nlu(nlu::NluCmd),
    /// The PII redactor (the gate before any AI call).
    #[command(subcommand)]
    Pii(pii::PiiCmd),
    /// The face matcher (evidence on labelled pairs).
    #[command(subcommand)]
    Face(face::FaceCmd),
    /// A school's FAQ (the enquiry bot): import, export, ask, measure.
    #[command(subcommand)]
    Faq(faq::FaqCmd),
    /// An encrypted backup of the control database and every school, taken while
    /// serving, into a new directory under --out (the newest 90 are kept there).
    Backup {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Everything of one school as CSV + JSON + attachments in one new zip file.
    Export {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Restore a backup into an empty data directory, or an empty PostgreSQL database
    /// (needs the master key and the file from `raabta keys export-backup-keys`).
    Restore {
        #[arg(long)]
        from: std::path::PathBuf,
        #[arg(long)]
        keys: std::path::PathBuf,
    },
    /// Data-subject requests: list them, erase a guardian.
    #[command(subcommand)]
    Privacy(privacy::PrivacyCmd),
}

pub(crate) struct Bar(ProgressBar);

impl Bar {
    /// Clears the bar and prints what the work came to.
    pub(crate) fn done(self, summary: String) {
        self.0.finish_and_clear();
        println!("{summary}");
    }
}

impl Progress for Bar {
    fn advance(&self, rows: u64) {
        self.0.inc(rows);
    }
}

pub(crate) fn bar(len: u64, what: &str) -> Bar {
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})") {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(what.to_string());
    Bar(pb)
}

/// Reads JSON lines `{"text": "..."}` from standard input (blank lines skipped) and
/// hands each text, with its line number, to `each`; a line that is not such an object
/// stops with an error naming the line.
pub(crate) fn text_lines(
    mut each: impl FnMut(usize, String) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::BufRead;
    #[derive(serde::Deserialize)]
    struct Line {
        text: String,
    }
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let item: Line = serde_json::from_str(&line)
            .with_context(|| format!("line {}: expected {{\"text\": \"...\"}}", n + 1))?;
        each(n + 1, item.text)?;
    }
    Ok(())
}

/// Runs the command line.
pub async fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RAABTA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    // async-openai logs answers it cannot read (and 5xx bodies) whole: they may hold a
    // complaint's text. Never on, whatever RAABTA_LOG says.
    let filter = match "async_openai=off".parse() {
        Ok(d) => filter.add_directive(d),
        Err(_) => filter,
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve::serve(config).await,
        Command::Migrate => serve::migrate(config).await,
        Command::Tenant(cmd) => tenant::tenant(config, cmd).await,
        Command::Import(cmd) => imports::import_cmd(config, cmd).await,
        Command::Codes(cmd) => access_codes::codes_cmd(config, cmd).await,
        Command::Keys(cmd) => keys::keys_cmd(config, cmd).await,
        Command::Channel(cmd) => channel::channel_cmd(config, cmd).await,
        Command::Platform(cmd) => platform::platform_cmd(config, cmd).await,
        Command::Flows(cmd) => flows::flows(config, cmd).await,
        Command::Chat { tenant, from } => flows::chat(config, tenant, from).await,
        Command::Consent(cmd) => flows::consent(config, cmd).await,
        Command::Leave(cmd) => flows::leave(config, cmd).await,
        Command::Handoff(cmd) => flows::handoff(config, cmd).await,
        Command::Users(cmd) => users::users_cmd(config, cmd).await,
        Command::Models(cmd) => nlu::models(config, cmd).await,
        Command::Nlu(cmd) => nlu::nlu(config, cmd).await,
        Command::Pii(cmd) => pii::pii(config, cmd).await,
        Command::Face(cmd) => face::face(config, cmd).await,
        Command::Faq(cmd) => faq::faq_cmd(config, cmd).await,
        Command::Privacy(cmd) => privacy::privacy_cmd(config, cmd).await,
        Command::Backup { out } => privacy::backup(config, out).await,
        Command::Export { tenant, out } => privacy::export(config, tenant, out).await,
        Command::Restore { from, keys } => privacy::restore(config, from, keys).await,
    }
}
