//! `raabta pii redact` (JSON lines through a school's redactor) and `raabta pii eval`
//! (recall per entity type and what survives, on a labelled corpus).

use anyhow::{bail, Context};
use clap::Subcommand;
use raabta::config::Config;
use raabta::redact::{Kind, Redactor};
use raabta::store::KnownNames;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Subcommand)]
pub enum PiiCmd {
    /// Read JSON lines `{"text": "..."}` on stdin; write `{"text": "<redacted>",
    /// "entities": [{"type", "start", "end"}]}` per line, in order (offsets in
    /// characters of the input), with the school's roster.
    Redact {
        #[arg(long)]
        tenant: String,
    },
    /// Recall per entity type and the share of what must survive, on a labelled corpus
    /// (`id`, `lang`, `text`, `entities` [{type, value}], `keep` [..]) with its roster CSV
    /// (`kind,name_en,name_ur,name_ar`; kind `class` for class, section and house names).
    Eval {
        #[arg(long)]
        corpus: PathBuf,
        #[arg(long)]
        roster: PathBuf,
        /// List every miss and every over-redaction.
        #[arg(long)]
        misses: bool,
    },
}

pub async fn pii(config: Config, cmd: PiiCmd) -> anyhow::Result<()> {
    match cmd {
        PiiCmd::Redact { tenant } => redact(config, tenant).await,
        PiiCmd::Eval {
            corpus,
            roster,
            misses,
        } => eval(corpus, roster, misses),
    }
}

async fn redact(config: Config, tenant: String) -> anyhow::Result<()> {
    let app = raabta::app::App::build(config).await?;
    let school = app
        .tenancy
        .school(&tenant)
        .await
        .with_context(|| format!("school {tenant}"))?;
    let known = school.store.known_names().await?;
    let redactor = Redactor::for_school(&known);
    let mut out = std::io::stdout().lock();
    super::text_lines(|n, text| {
        let r = redactor
            .redact(&text)
            .with_context(|| format!("line {n}"))?;
        writeln!(
            out,
            "{}",
            serde_json::json!({ "text": r.text, "entities": r.entities })
        )?;
        Ok(())
    })
}

/// The corpus's roster file: people's names (every script) and class-like names.
pub fn read_roster(path: &PathBuf) -> anyhow::Result<KnownNames> {
    let mut rd = csv::Reader::from_path(path).with_context(|| path.display().to_string())?;
    let mut known = KnownNames::default();
    for row in rd.records() {
        let row = row?;
        let kind = row.get(0).unwrap_or_default();
        for name in row.iter().skip(1).filter(|n| !n.trim().is_empty()) {
            if kind == "class" {
                known.places.push(name.to_string());
            } else {
                known.people.push(name.to_string());
            }
        }
    }
    Ok(known)
}

#[derive(serde::Deserialize)]
struct Labelled {
    #[serde(default)]
    id: String,
    lang: String,
    text: String,
    #[serde(default)]
    entities: Vec<LabelledEntity>,
    #[serde(default)]
    keep: Vec<String>,
}

#[derive(serde::Deserialize)]
struct LabelledEntity {
    #[serde(rename = "type")]
    kind: String,
    value: String,
}

fn eval(corpus: PathBuf, roster: PathBuf, misses: bool) -> anyhow::Result<()> {
    let known = read_roster(&roster)?;
    let redactor = Redactor::for_school(&known);
    let text = std::fs::read_to_string(&corpus).with_context(|| corpus.display().to_string())?;
    let mut items = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let l: Labelled = serde_json::from_str(line).with_context(|| format!("line {}", n + 1))?;
        items.push(l);
    }
    if items.is_empty() {
        bail!("{}: no messages", corpus.display());
    }
    // (found, total) per type, and per language for all types; (kept, total) of keep.
    let mut recall: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut by_lang: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut kept: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut over = 0usize;
    let mut found_total = 0usize;
    let mut lines = Vec::new();
    let started = Instant::now();
    for it in &items {
        let r = redactor.redact(&it.text).with_context(|| it.id.clone())?;
        let chars: Vec<char> = it.text.chars().collect();
        let spans: Vec<(Kind, String)> = r
            .entities
            .iter()
            .map(|e| (e.kind, chars[e.start..e.end].iter().collect()))
            .collect();
        found_total += spans.len();
        for e in &it.entities {
            // Found: no part of the value is left in the redacted text.
            let gone = !r.text.contains(e.value.as_str());
            for key in [e.kind.clone(), "all".to_string()] {
                let x = recall.entry(key).or_default();
                x.1 += 1;
                x.0 += usize::from(gone);
            }
            let x = by_lang.entry(it.lang.clone()).or_default();
            x.1 += 1;
            x.0 += usize::from(gone);
            if !gone && misses {
                lines.push(format!(
                    "MISSED {} {:?} in {}: {}",
                    e.kind, e.value, it.id, it.text
                ));
            }
        }
        for k in &it.keep {
            let survived = r.text.contains(k.as_str());
            for key in [it.lang.clone(), "all".to_string()] {
                let x = kept.entry(key).or_default();
                x.1 += 1;
                x.0 += usize::from(survived);
            }
            if !survived && misses {
                lines.push(format!("LOST {:?} in {}: {}", k, it.id, r.text));
            }
        }
        // Over-redaction: a span that overlaps no labelled identifier.
        for (kind, value) in &spans {
            let labelled = it
                .entities
                .iter()
                .any(|e| e.value.contains(value.as_str()) || value.contains(e.value.as_str()));
            if !labelled {
                over += 1;
                if misses {
                    lines.push(format!("EXTRA {} {:?} in {}", kind.as_str(), value, it.id));
                }
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let pct = |(a, b): (usize, usize)| {
        if b == 0 {
            "-".to_string()
        } else {
            format!("{:.1}% ({a}/{b})", 100.0 * a as f64 / b as f64)
        }
    };
    println!(
        "Corpus: {} ({} messages), roster {} ({} people's names, {} class-like names)\n",
        corpus.display(),
        items.len(),
        roster.display(),
        known.people.len(),
        known.places.len()
    );
    println!("| entity type | recall |\n|---|---|");
    for (k, v) in &recall {
        println!("| {k} | {} |", pct(*v));
    }
    println!("\n| language | recall (all types) | kept (dates, times, amounts, class names, school words) |\n|---|---|---|");
    for (k, v) in &by_lang {
        println!(
            "| {k} | {} | {} |",
            pct(*v),
            pct(kept.get(k).copied().unwrap_or_default())
        );
    }
    println!(
        "| all | {} | {} |",
        pct(recall.get("all").copied().unwrap_or_default()),
        pct(kept.get("all").copied().unwrap_or_default())
    );
    println!(
        "\nSpans redacted that match no labelled identifier: {over} of {found_total}.\nOne pass over the corpus: {:.1} ms ({:.0} messages/s on one thread, debug or release as built).",
        elapsed * 1000.0,
        items.len() as f64 / elapsed
    );
    if misses {
        println!();
        lines.iter().for_each(|l| println!("    {l}"));
    }
    Ok(())
}
