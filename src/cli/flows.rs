//! Commands of the flow engine: `flows check`, `chat`, `consent`, `leave`, `handoff`.

use anyhow::{bail, Context};

use clap::Subcommand;
use raabta::app::App;
use raabta::config::Config;
use raabta::console::{BotMessage, Simulator};
use raabta::domain::activity::ActivityEntry;
use raabta::domain::message::{OutboundMessage, Provider};
use serde_json::json;
use std::path::PathBuf;
use tokio::io::AsyncBufReadExt;

#[derive(Subcommand)]
pub enum FlowsCmd {
    /// Validate every flow file and text (also done at server start and in CI): the
    /// flows built into the binary, or the configured flows directory.
    Check {
        /// A flows directory to check instead (default: `RAABTA_FLOWS_DIR` if set, else
        /// the embedded flows).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum ConsentCmd {
    /// Send a consent form to the guardians of the chosen classes.
    Send {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Last day for answers (YYYY-MM-DD, the school's time zone; answers close at
        /// the end of that day).
        #[arg(long)]
        deadline: String,
        /// Classes, comma separated, as "Grade 5 A" (class and section) or "Grade 5".
        #[arg(long)]
        classes: String,
    },
    /// Answers so far: approved / declined / no answer, per child.
    Status {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        form: uuid::Uuid,
    },
}

#[derive(Subcommand)]
pub enum LeaveCmd {
    /// Leave requests (default: pending ones).
    List {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "pending")]
        status: String,
    },
    /// Approve or reject a pending request; the guardian is told on their channel.
    Decide {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        id: uuid::Uuid,
        #[arg(long, conflicts_with = "reject", required_unless_present = "reject")]
        approve: bool,
        #[arg(long)]
        reject: bool,
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum HandoffCmd {
    /// Conversations handed to staff.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Give a conversation back to the bot.
    Release {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        conversation: uuid::Uuid,
    },
}

fn cli_activity(
    action: &str,
    subject: Option<String>,
    details: serde_json::Value,
) -> ActivityEntry {
    ActivityEntry::now("cli", action, subject, "cli", details)
}

pub async fn flows(config: Config, cmd: FlowsCmd) -> anyhow::Result<()> {
    let FlowsCmd::Check { dir } = cmd;
    let dir = dir.or(config.flows_dir);
    let set = raabta::app::flows_set(dir.as_deref());
    let started = std::time::Instant::now();
    let lib = raabta::app::read_flows(dir.as_deref())?;
    let problems = raabta::flow::check::check(&lib);
    let elapsed = started.elapsed();
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{p}");
        }
        bail!("{} problem(s) in {set}", problems.len());
    }
    println!(
        "{set}: {} flows and their texts in en, ur, ar, ur-Latn are valid ({} messages per locale; loaded and checked in {:.1} ms)",
        lib.flows().count(),
        lib.texts.ids(raabta::domain::school::Locale::En).len(),
        elapsed.as_secs_f64() * 1000.0
    );
    Ok(())
}

fn show(messages: &[BotMessage]) {
    for m in messages {
        if let OutboundMessage::Text { .. } = m.message {
            println!("bot> {}\n", m.render().replace('\n', "\n     "));
        }
    }
}

/// Parses "90s", "30m", "3h", "2d".
fn duration(s: &str) -> Option<chrono::Duration> {
    raabta::flow::def::parse_duration(s).and_then(|d| chrono::Duration::from_std(d).ok())
}

pub async fn chat(config: Config, tenant: String, from: String) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    let school = app.tenancy.tenant(&tenant).await?;
    if app
        .tenancy
        .backend()
        .control
        .closures()
        .await?
        .iter()
        .any(|c| c.tenant_id == school.id)
    {
        anyhow::bail!("{tenant} is closing: its chat is off");
    }
    // The language model, as the server has it (loaded before the first message here,
    // so every message is read the same way).
    let nlu = app.nlu.clone();
    match tokio::task::spawn_blocking(move || nlu.load_blocking()).await? {
        raabta::nlu::service::Status::Ready => println!("Language model loaded."),
        other => println!(
            "Language model not available ({other:?}): free text is matched by spelling only."
        ),
    }
    let mut sim = Simulator::new(&app, &tenant, Provider::Console, None, &from)
        .await
        .with_context(|| format!("school {tenant:?}"))?;
    println!(
        "Chatting with {} as {from} on the console channel (the real pipeline: inbox, worker, flows, outbox).\n\
         Type a message and press Enter. Options are numbered: reply with the number.\n\
         /photo and /pdf send an attachment, /wait 3h moves the clock (timeouts, reminders), /quit ends.\n",
        sim.tenant.name
    );
    // Anything queued for this sender since the last chat (a decision, a consent form).
    show(&sim.settle().await?);
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    loop {
        use std::io::Write;
        print!("you> ");
        let _ = std::io::stdout().flush();
        let Some(line) = lines.next_line().await? else {
            break;
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let replies = match line {
            "/quit" | "/exit" => break,
            "/photo" => sim.attach(false).await?,
            "/pdf" => sim.attach(true).await?,
            other if other.starts_with("/wait") => {
                let arg = other.trim_start_matches("/wait").trim();
                match duration(arg) {
                    Some(d) => sim.wait(d).await?,
                    None => {
                        println!("usage: /wait 30m | 3h | 2d");
                        continue;
                    }
                }
            }
            text => sim.say(text).await?,
        };
        if replies.is_empty() {
            println!("(no reply: the conversation may be with the school office)\n");
        }
        show(&replies);
    }
    Ok(())
}

pub async fn consent(config: Config, cmd: ConsentCmd) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    match cmd {
        ConsentCmd::Send {
            tenant,
            title,
            description,
            deadline,
            classes,
        } => {
            let school = app.tenancy.school(&tenant).await?;
            let title = title.trim();
            if title.is_empty() || title.chars().count() > 200 {
                bail!("--title must have 1 to 200 characters");
            }
            if description.chars().count() > 2000 {
                bail!("--description must have at most 2000 characters");
            }
            let day = chrono::NaiveDate::parse_from_str(deadline.trim(), "%Y-%m-%d")
                .map_err(|_| anyhow::anyhow!("--deadline must be a date like 2026-12-15"))?;
            let end_of_day = school
                .tenant
                .timezone
                .end_of_day(day)
                .context("--deadline is out of range")?;
            let now = app.clock.now();
            if end_of_day <= now {
                bail!("--deadline has passed");
            }
            let known = school.store.classes().await?;
            let mut chosen = Vec::new();
            for wanted in classes.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let matches: Vec<_> = known
                    .iter()
                    .filter(|c| {
                        c.label().eq_ignore_ascii_case(wanted)
                            || c.name.eq_ignore_ascii_case(wanted)
                    })
                    .collect();
                if matches.is_empty() {
                    let all: Vec<String> = known.iter().map(|c| c.label()).collect();
                    bail!("no class {wanted:?}; classes are: {}", all.join(", "));
                }
                chosen.extend(matches.into_iter().map(|c| c.id));
            }
            if chosen.is_empty() {
                bail!("--classes names no class");
            }
            chosen.sort_by_key(|c| c.0);
            chosen.dedup();
            let (form, summary) = school
                .store
                .send_consent_form(
                    &raabta::store::NewConsentForm {
                        title: title.to_string(),
                        description: description.trim().to_string(),
                        deadline_at: end_of_day,
                        classes: chosen,
                        remind_before: raabta::outbound::CONSENT_REMINDER_BEFORE,
                    },
                    &cli_activity("consent_form.send", None, json!({})),
                    now,
                )
                .await?;
            println!("consent form {form}");
            println!(
                "{} request(s) (one per child and guardian); {} queued to guardians' chats; {} guardian(s) have not logged in on any channel yet (issue them access codes)",
                summary.requests, summary.delivered, summary.unreachable
            );
            println!("a serving process sends them; reminders go out 24 hours before the deadline");
        }
        ConsentCmd::Status { tenant, form } => {
            let school = app.tenancy.school(&tenant).await?;
            let rows = school.store.consent_requests(form).await?;
            if rows.is_empty() {
                bail!("no consent form {form} in {tenant}");
            }
            let count = |s: &str| rows.iter().filter(|r| r.status == s).count();
            println!(
                "{}: {} approved, {} declined, {} no answer",
                rows[0].title,
                count("approved"),
                count("declined"),
                count("pending")
            );
            for r in &rows {
                // The parent's note reaches staff here too (it is theirs to read).
                match r
                    .note
                    .as_ref()
                    .map(|n| n.expose().trim())
                    .filter(|n| !n.is_empty())
                {
                    Some(note) => println!("  {:<30} {:<9} note: {note}", r.student_name, r.status),
                    None => println!("  {:<30} {}", r.student_name, r.status),
                }
            }
        }
    }
    Ok(())
}

pub async fn leave(config: Config, cmd: LeaveCmd) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    match cmd {
        LeaveCmd::List { tenant, status } => {
            let school = app.tenancy.school(&tenant).await?;
            let filter = match status.as_str() {
                "all" => None,
                "pending" | "approved" | "rejected" => Some(status.as_str()),
                other => {
                    bail!("--status must be pending, approved, rejected or all (got {other:?})")
                }
            };
            for r in school.store.leave_requests(filter).await? {
                println!(
                    "{}  {:<24} {:<9} {} to {}  {:<8} attachment: {}",
                    r.request.id,
                    r.student_name,
                    r.request.kind,
                    r.request.from,
                    r.request.to,
                    r.status,
                    if r.request.attachment_key.is_some() {
                        "yes"
                    } else {
                        "no"
                    }
                );
            }
        }
        LeaveCmd::Decide {
            tenant,
            id,
            approve,
            reject: _,
            note,
        } => {
            let school = app.tenancy.school(&tenant).await?;
            let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
            if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
                bail!("--note must have at most 500 characters");
            }
            let entry = cli_activity(
                if approve {
                    "leave_request.approve"
                } else {
                    "leave_request.reject"
                },
                Some(format!("leave_request:{id}")),
                json!({ "note": note.is_some() }),
            );
            if !school
                .store
                .decide_leave(id, approve, note.as_deref(), &entry, app.clock.now())
                .await?
            {
                bail!("no pending leave request {id} in {tenant}");
            }
            println!("decided; the guardian is told on their channel");
        }
    }
    Ok(())
}

pub async fn handoff(config: Config, cmd: HandoffCmd) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    match cmd {
        HandoffCmd::List { tenant } => {
            let school = app.tenancy.school(&tenant).await?;
            for c in school.store.handoffs().await? {
                println!("{c}");
            }
        }
        HandoffCmd::Release {
            tenant,
            conversation,
        } => {
            let school = app.tenancy.school(&tenant).await?;
            let entry = cli_activity(
                "conversation.hand_back",
                Some(format!("conversation:{conversation}")),
                json!({}),
            );
            if !school.store.hand_back(conversation, &entry).await? {
                bail!("conversation {conversation} is not handed off");
            }
            println!("the bot answers this conversation again");
        }
    }
    Ok(())
}
