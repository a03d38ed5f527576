//! The `raabta` binary: the server and the operator's command line.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use raabta::app::App;
use raabta::codes;
use raabta::config::Config;
use raabta::domain::activity::ActivityEntry;
use raabta::domain::phone::Phone;
use raabta::domain::roster::ContactRef;
use raabta::domain::school::NewTenant;
use raabta::fsutil::write_private;
use raabta::import::{self, ImportError};
use raabta::seed;
use raabta::store::Progress;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

#[path = "bin_cli/flows_cli.rs"]
mod flows_cli;

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
    Tenant(TenantCmd),
    /// Import roster or fee CSV files (all rows or none).
    #[command(subcommand)]
    Import(ImportCmd),
    /// Access codes for guardians and staff.
    #[command(subcommand)]
    Codes(CodesCmd),
    /// Encryption keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// WhatsApp (Twilio, Meta) and Telegram channel accounts.
    #[command(subcommand)]
    Channel(ChannelCmd),
    /// The platform's own accounts (the Meta app that serves every school).
    #[command(subcommand)]
    Platform(PlatformCmd),
    /// Conversation flows.
    #[command(subcommand)]
    Flows(flows_cli::FlowsCmd),
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
    Consent(flows_cli::ConsentCmd),
    /// Leave requests: list and decide.
    #[command(subcommand)]
    Leave(flows_cli::LeaveCmd),
    /// Conversations handed to staff.
    #[command(subcommand)]
    Handoff(flows_cli::HandoffCmd),
    /// Staff accounts for the web admin.
    #[command(subcommand)]
    Users(UsersCmd),
}

#[derive(Subcommand)]
enum UsersCmd {
    /// Create a staff account. The password comes from RAABTA_NEW_PASSWORD (at least 12
    /// characters), or a random one is printed once.
    Add {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, branch_manager or teacher.
        #[arg(long)]
        role: String,
        /// The branch (by name) of a branch manager or teacher.
        #[arg(long)]
        branch: Option<String>,
        /// Classes a teacher teaches, comma separated ("Grade 5 A,Grade 3").
        #[arg(long)]
        classes: Option<String>,
        #[arg(long, env = "RAABTA_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Print a single-use link (valid 30 minutes) with which a staff member sets a new
    /// password; older unused links stop working. For services without SMTP.
    ResetLink {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum ChannelCmd {
    /// Register a channel account for a school (credentials are stored encrypted).
    #[command(subcommand)]
    Add(ChannelAdd),
    /// List channel accounts, their status and webhook URLs (never their secrets).
    List,
    /// Approve a channel a school administrator added in the web admin (a Twilio
    /// number or Meta phone-number id is pending until then).
    Approve {
        /// The channel's id (from `channel list`).
        id: uuid::Uuid,
    },
}

#[derive(Subcommand)]
enum PlatformCmd {
    /// The platform's Meta app, whose secret signs every school's WhatsApp Cloud API
    /// webhooks. `RAABTA_META_APP_SECRET` and `RAABTA_META_VERIFY_TOKEN`, when set,
    /// win over the stored one.
    #[command(subcommand)]
    MetaApp(MetaAppCmd),
}

#[derive(Subcommand)]
enum MetaAppCmd {
    /// Store the platform's Meta app secret and verify token (sealed with the master key).
    Set {
        #[arg(long, env = "RAABTA_PLATFORM_META_APP_SECRET", hide_env_values = true)]
        app_secret: String,
        #[arg(
            long,
            env = "RAABTA_PLATFORM_META_VERIFY_TOKEN",
            hide_env_values = true
        )]
        verify_token: String,
        /// Also make every Meta channel that holds an app secret of its own use the
        /// platform's app (after rotating the old shared secret at Meta).
        #[arg(long)]
        adopt_meta_channels: bool,
    },
}

#[derive(Subcommand)]
enum ChannelAdd {
    /// WhatsApp through Twilio.
    Twilio {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        account_sid: String,
        #[arg(long, env = "RAABTA_TWILIO_AUTH_TOKEN", hide_env_values = true)]
        auth_token: String,
        /// The WhatsApp sender, e.g. whatsapp:+14155238886.
        #[arg(long)]
        from: String,
        #[arg(long)]
        api_base: Option<String>,
    },
    /// WhatsApp Cloud API (Meta).
    Meta {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        phone_number_id: String,
        #[arg(long, env = "RAABTA_META_ACCESS_TOKEN", hide_env_values = true)]
        access_token: String,
        /// Only for a school with its own Meta app (with --verify-token); without them
        /// the platform's Meta app signs this number's webhooks.
        #[arg(long, requires = "verify_token")]
        app_secret: Option<String>,
        #[arg(long, requires = "app_secret")]
        verify_token: Option<String>,
        #[arg(long)]
        api_base: Option<String>,
    },
    /// Telegram bot.
    Telegram {
        #[arg(long)]
        tenant: String,
        #[arg(long, env = "RAABTA_TELEGRAM_BOT_TOKEN", hide_env_values = true)]
        bot_token: String,
        #[arg(long, env = "RAABTA_TELEGRAM_SECRET_TOKEN", hide_env_values = true)]
        secret_token: String,
        #[arg(long)]
        api_base: Option<String>,
    },
}

#[derive(Subcommand)]
enum TenantCmd {
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

#[derive(Subcommand)]
enum ImportCmd {
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

#[derive(Subcommand)]
enum CodesCmd {
    /// Print a fresh single-use access code for the guardian or staff member with this phone.
    Issue {
        #[arg(long)]
        tenant: String,
        /// Phone number in E.164 (+923001234567) or local form.
        #[arg(long)]
        phone: String,
        /// guardian or staff, when the number belongs to both.
        #[arg(long)]
        role: Option<String>,
        /// Days the code stays valid.
        #[arg(long, default_value_t = 14)]
        days: i64,
    },
    /// Unbind every chat (WhatsApp, Telegram) of the guardian or staff member with this
    /// phone: a lost phone, a number that changed hands. They log in again with a new code.
    Unbind {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        phone: String,
        #[arg(long)]
        role: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Add a new data key for a school and re-encrypt its fields while it keeps serving.
    Rotate {
        #[arg(long)]
        tenant: String,
        /// Rows per transaction.
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn advance(&self, rows: u64) {
        self.0.inc(rows);
    }
}

fn bar(len: u64, what: &str) -> Bar {
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})") {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(what.to_string());
    Bar(pb)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RAABTA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(config).await,
        Command::Tenant(cmd) => tenant(config, cmd).await,
        Command::Import(cmd) => import_cmd(config, cmd).await,
        Command::Codes(cmd) => codes_cmd(config, cmd).await,
        Command::Keys(cmd) => keys_cmd(config, cmd).await,
        Command::Channel(cmd) => channel_cmd(config, cmd).await,
        Command::Platform(cmd) => platform_cmd(config, cmd).await,
        Command::Flows(cmd) => flows_cli::flows(config, cmd).await,
        Command::Chat { tenant, from } => flows_cli::chat(config, tenant, from).await,
        Command::Consent(cmd) => flows_cli::consent(config, cmd).await,
        Command::Leave(cmd) => flows_cli::leave(config, cmd).await,
        Command::Handoff(cmd) => flows_cli::handoff(config, cmd).await,
        Command::Users(cmd) => users_cmd(config, cmd).await,
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let started = Instant::now();
    let app = App::build(config).await?;
    let cfg = app.config.clone();
    // Schools are migrated at start too (idempotent), so a SQLite deployment whose
    // volume is not mounted during a release command is still up to date.
    for o in app.tenancy.migrate_all().await? {
        match o.result {
            Ok(0) => {}
            Ok(n) => tracing::info!(school = %o.tenant.slug, applied = n, "school migrated"),
            Err(e) => {
                tracing::error!(school = %o.tenant.slug, error = %e, "school migration failed at start")
            }
        }
    }
    if cfg.seed_demo {
        if let Some(login) = seed::seed_if_empty(&app.tenancy).await? {
            let text = login.render(&cfg.public_url);
            let file = cfg.data_dir.join("DEMO.txt");
            if let Err(e) = write_private(&file, text.as_bytes()) {
                tracing::warn!(error = %e, "could not keep the demo logins in the data dir");
            }
            println!("{text}");
            println!("  (kept in {} for later)\n", file.display());
        } else if cfg.data_dir.join("DEMO.txt").exists() {
            println!(
                "Demo logins: see {}",
                cfg.data_dir.join("DEMO.txt").display()
            );
        }
    }
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let schools = app.tenancy.list().await?.len();
    println!(
        "Raabta is serving {schools} school(s) on http://{} ({:?} backend, data in {}); ready in {} ms.\n\
         Health: {}/healthz  Readiness: {}/readyz  Stop with Ctrl-C.",
        cfg.listen,
        app.backend_kind(),
        cfg.data_dir.display(),
        started.elapsed().as_millis(),
        cfg.public_url,
        cfg.public_url,
    );
    tracing::info!(listen = %cfg.listen, schools, channels = app.registry.current().len(), "serving");
    let _background = app.spawn_background();
    let mut sender = raabta::worker::Sender::new(raabta::worker::RateLimits::from_config(&cfg))?;
    sender.lease = std::time::Duration::from_secs(cfg.send_lease_seconds);
    let sender = std::sync::Arc::new(sender);
    let mut runner = raabta::worker::jobs::JobRunner::standard(sender.clone());
    runner.lease = std::time::Duration::from_secs(cfg.job_lease_seconds);
    let runner = std::sync::Arc::new(runner);
    let _jobs = raabta::worker::jobs::spawn(app.clone(), runner);
    let _worker = raabta::worker::spawn(app.clone(), sender);
    axum::serve(
        listener,
        app.router()
            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    println!("control database: up to date");
    let mut failed = 0;
    for o in app.tenancy.migrate_all().await? {
        match o.result {
            Ok(n) => println!("{}: {n} migration(s) applied", o.tenant.slug),
            Err(e) => {
                failed += 1;
                println!("{}: FAILED: {e}", o.tenant.slug);
            }
        }
    }
    if failed > 0 {
        bail!("{failed} school(s) failed to migrate; the others are up to date");
    }
    Ok(())
}

async fn tenant(config: Config, cmd: TenantCmd) -> anyhow::Result<()> {
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

fn report_import_error(e: ImportError) -> anyhow::Error {
    if let ImportError::Rows(rows) = &e {
        for r in rows {
            eprintln!("{r}");
        }
    }
    e.into()
}

async fn import_cmd(config: Config, cmd: ImportCmd) -> anyhow::Result<()> {
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

async fn codes_cmd(config: Config, cmd: CodesCmd) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    let (tenant, phone, role, days) = match cmd {
        CodesCmd::Issue {
            tenant,
            phone,
            role,
            days,
        } => (tenant, phone, role, Some(days)),
        CodesCmd::Unbind {
            tenant,
            phone,
            role,
        } => (tenant, phone, role, None),
    };
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

async fn keys_cmd(config: Config, cmd: KeysCmd) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    let KeysCmd::Rotate { tenant, batch } = cmd;
    if !(1..=10_000).contains(&batch) {
        bail!("--batch must be between 1 and 10000");
    }
    let total = app.tenancy.encrypted_value_count(&tenant).await?;
    let pb = bar(total, "re-encrypting");
    let wait_pb = pb.0.clone();
    let on_wait = move |d: std::time::Duration| {
        wait_pb.println(format!(
            "waiting {}s so that running servers reload this school's keys",
            d.as_secs()
        ));
    };
    let report = app
        .tenancy
        .rotate_keys(&tenant, batch, &pb, &on_wait)
        .await?;
    pb.0.finish_and_clear();
    println!(
        "{tenant}: data key {} is active; {} values re-encrypted in {} pass(es); older keys retired",
        report.new_key_id, report.rows_rewritten, report.passes
    );
    Ok(())
}

async fn channel_cmd(config: Config, cmd: ChannelCmd) -> anyhow::Result<()> {
    use raabta::channel::Credentials;
    let app = App::build(config).await?;
    match cmd {
        ChannelCmd::Add(add) => {
            let (tenant, creds, api_base) = match add {
                ChannelAdd::Twilio {
                    tenant,
                    account_sid,
                    auth_token,
                    from,
                    api_base,
                } => (
                    tenant,
                    Credentials::Twilio {
                        account_sid,
                        auth_token,
                        from,
                    },
                    api_base,
                ),
                ChannelAdd::Meta {
                    tenant,
                    phone_number_id,
                    access_token,
                    app_secret,
                    verify_token,
                    api_base,
                } => (
                    tenant,
                    Credentials::Meta {
                        phone_number_id,
                        access_token,
                        app_secret: app_secret.unwrap_or_default(),
                        verify_token: verify_token.unwrap_or_default(),
                    },
                    api_base,
                ),
                ChannelAdd::Telegram {
                    tenant,
                    bot_token,
                    secret_token,
                    api_base,
                } => (
                    tenant,
                    Credentials::Telegram {
                        bot_token,
                        secret_token,
                    },
                    api_base,
                ),
            };
            let row = raabta::routing::add_channel(&app.tenancy, &tenant, creds, api_base).await?;
            println!(
                "added {} channel {} for {tenant}; webhook URL: {}{}",
                row.provider,
                row.id,
                app.config.public_url,
                raabta::routing::webhook_path(row.provider, &row.route_key)
            );
            if row.provider == raabta::domain::message::Provider::Telegram {
                println!("register it with Telegram's setWebhook, passing the same secret_token");
            }
            println!(
                "running servers pick it up within {}s",
                raabta::app::REGISTRY_REFRESH.as_secs()
            );
        }
        ChannelCmd::List => {
            let tenants: std::collections::HashMap<_, _> = app
                .tenancy
                .list()
                .await?
                .into_iter()
                .map(|t| (t.id, t.slug.to_string()))
                .collect();
            let rows = app.tenancy.backend().control.channels().await?;
            if rows.is_empty() {
                println!(
                    "no channels yet: `raabta channel add twilio|meta|telegram --tenant <slug> …`"
                );
            }
            for r in rows {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}{}\t{}",
                    tenants.get(&r.tenant_id).map(String::as_str).unwrap_or("?"),
                    r.provider,
                    r.id,
                    r.status.as_str(),
                    if r.provider == raabta::domain::message::Provider::Telegram {
                        "-"
                    } else {
                        r.route_key.as_str()
                    },
                    app.config.public_url,
                    raabta::routing::webhook_path(r.provider, &r.route_key),
                    r.api_base
                );
            }
        }
        ChannelCmd::Approve { id } => {
            let control = &app.tenancy.backend().control;
            let Some(row) = control.channels().await?.into_iter().find(|r| r.id == id) else {
                anyhow::bail!("no channel {id}: see `raabta channel list`");
            };
            if !control.approve_channel(id).await? {
                anyhow::bail!(
                    "channel {id} is not pending (it is {})",
                    row.status.as_str()
                );
            }
            let school = app
                .tenancy
                .list()
                .await?
                .into_iter()
                .find(|t| t.id == row.tenant_id)
                .map(|t| t.slug.to_string())
                .unwrap_or_default();
            let mut entry = raabta::domain::activity::ActivityEntry::now(
                "operator",
                "channel.approve",
                Some(format!("channel:{id}")),
                "cli",
                serde_json::json!({ "provider": row.provider.as_str() }),
            );
            entry.at = chrono::Utc::now();
            app.tenancy
                .school(&school)
                .await?
                .store
                .log_activity(&entry)
                .await?;
            println!(
                "approved {} channel {id} ({}) for {school}; running servers pick it up within {}s",
                row.provider,
                row.route_key,
                raabta::app::REGISTRY_REFRESH.as_secs()
            );
        }
    }
    Ok(())
}

async fn platform_cmd(config: Config, cmd: PlatformCmd) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    match cmd {
        PlatformCmd::MetaApp(MetaAppCmd::Set {
            app_secret,
            verify_token,
            adopt_meta_channels,
        }) => {
            let meta = raabta::routing::PlatformMetaApp::new(app_secret, verify_token);
            raabta::routing::set_platform_meta_app(&app.tenancy, &meta).await?;
            if adopt_meta_channels {
                let n = raabta::routing::adopt_platform_meta_app(&app.tenancy).await?;
                println!("{n} Meta channel(s) now use the platform's app");
            }
            println!(
                "the platform's Meta app is stored; running servers use it within {}s{}",
                raabta::app::REGISTRY_REFRESH.as_secs(),
                if app.config.meta_app.is_some() {
                    " (but RAABTA_META_APP_SECRET is set here and wins)"
                } else {
                    ""
                }
            );
        }
    }
    Ok(())
}

async fn users_cmd(config: Config, cmd: UsersCmd) -> anyhow::Result<()> {
    use raabta::domain::roster::{StaffRole, StaffUser};
    let (tenant, email, name, role, branch, classes, password) = match cmd {
        UsersCmd::Add {
            tenant,
            email,
            name,
            role,
            branch,
            classes,
            password,
        } => (tenant, email, name, role, branch, classes, password),
        UsersCmd::ResetLink { tenant, email } => {
            let app = App::build(config).await?;
            let school = app.tenancy.school(&tenant).await?;
            let Some(staff) = school.store.staff_by_email(&email).await? else {
                bail!("{tenant} has no staff account {email}");
            };
            if !staff.active {
                bail!("{email} is deactivated; activate the account first");
            }
            let entry = ActivityEntry::now(
                "cli",
                "staff.password_link",
                Some(format!("staff:{}", staff.id.0)),
                "cli",
                json!({ "emailed": false }),
            );
            let link = raabta::admin::reset::create_link(&app, &school, staff.id, &entry).await?;
            println!(
                "{}\n(single use, valid {} minutes; give it to {email} only)",
                link.expose(),
                raabta::admin::reset::LINK_MINUTES
            );
            return Ok(());
        }
    };
    let app = App::build(config).await?;
    let school = app.tenancy.school(&tenant).await?;
    let role: StaffRole = role
        .parse()
        .map_err(|_| anyhow::anyhow!("--role must be admin, branch_manager or teacher"))?;
    let email = email.trim().to_string();
    if !email.contains('@') || email.len() > 200 || email.contains(char::is_whitespace) {
        bail!("--email is not an email address");
    }
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        bail!("--name must have 1 to 200 characters");
    }
    let (password, generated) = match password {
        Some(p) if p.chars().count() >= 12 => (p, false),
        Some(_) => bail!("the password must have at least 12 characters"),
        None => (
            raabta::domain::access_code::AccessCode::generate()
                .expose()
                .to_string()
                + raabta::domain::access_code::AccessCode::generate().expose(),
            true,
        ),
    };
    let wanted: Vec<String> = classes
        .unwrap_or_default()
        .split(',')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    let known = school.store.classes().await?;
    let mut class_ids = Vec::new();
    for w in &wanted {
        let found: Vec<_> = known
            .iter()
            .filter(|c| c.label().eq_ignore_ascii_case(w) || c.name.eq_ignore_ascii_case(w))
            .collect();
        if found.is_empty() {
            let all: Vec<String> = known.iter().map(|c| c.label()).collect();
            bail!("no class {w:?}; classes are: {}", all.join(", "));
        }
        class_ids.extend(found.into_iter().map(|c| c.id));
    }
    let staff = StaffUser {
        id: raabta::domain::StaffId::new(),
        full_name: name,
        email: email.clone(),
        phone: None,
        role,
        branch,
        password_hash: Some(raabta::password::hash(password.clone()).await?),
    };
    let act = |action: &str| {
        ActivityEntry::now(
            "cli",
            action,
            Some(format!("staff:{}", staff.id.0)),
            "cli",
            json!({ "role": staff.role.as_str() }),
        )
    };
    if school.store.staff_by_email(&email).await?.is_some() {
        bail!("{email} already has an account in {tenant}");
    }
    school
        .store
        .create_staff(&staff, &act("staff.create"))
        .await?;
    for c in class_ids {
        school
            .store
            .assign_class(staff.id, c, &act("staff.assign_class"))
            .await?;
    }
    println!(
        "{email} can sign in at {}/admin (school \"{tenant}\")",
        app.config.public_url
    );
    if generated {
        println!("password (shown once): {password}");
    }
    if role == StaffRole::Admin {
        println!("administrators set up two-factor at their first sign-in");
    }
    Ok(())
}
