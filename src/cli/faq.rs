//! `raabta faq …`: a school's FAQ (the enquiry bot's answers): import and export as
//! CSV, ask it questions as JSON lines, and measure retrieval on a labelled set.

use anyhow::{bail, Context};
use clap::Subcommand;
use raabta::app::App;
use raabta::config::Config;
use raabta::domain::activity::ActivityEntry;
use raabta::domain::school::Locale;
use raabta::faq::{self, Faq, Retrieval};
use raabta::nlu::encoder::QUERY;
use raabta::nlu::service::{cached_embeddings, Status};
use raabta::nlu::Nlu;
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum FaqCmd {
    /// Replace the school's FAQ with a CSV file (`id,language,question,answer`; several
    /// rows per id: one per question variant or language). All rows or none; bad rows
    /// are reported by line.
    Import {
        #[arg(long)]
        tenant: String,
        file: PathBuf,
    },
    /// Print the school's FAQ as CSV.
    Export {
        #[arg(long)]
        tenant: String,
    },
    /// Read JSON lines `{"text": "..."}` and write one JSON line each, in order:
    /// `{"id": "<faq id or null>", "score": x, "answer": "<text or null>"}`.
    Ask {
        #[arg(long)]
        tenant: String,
    },
    /// Retrieval on a labelled set: an FAQ file and JSON lines `{"text", "language",
    /// "expect": "<id or null>"}`; per language, answerable questions right and
    /// unanswerable ones declined, by the model and by keywords.
    Eval {
        #[arg(long)]
        faq: PathBuf,
        #[arg(long)]
        questions: PathBuf,
        /// Also print every question's result.
        #[arg(long)]
        verbose: bool,
        /// Print the model's results over a grid of thresholds and margins.
        #[arg(long)]
        grid: bool,
    },
}

fn load_nlu(config: &Config) -> Nlu {
    let lib = raabta::flow::Library::embedded().ok();
    let nlu = Nlu::new(
        lib.map(|l| l.intents.clone()).unwrap_or_default(),
        Some(config.models_dir.clone()),
        Some(config.data_dir.join("cache")),
    );
    let _ = nlu.load_blocking();
    nlu
}

/// The retrieval for an FAQ, with embeddings where the language model loads.
fn retrieval(config: &Config, faq: Faq) -> (Retrieval, Option<Nlu>) {
    let nlu = load_nlu(config);
    let Status::Ready = nlu.status() else {
        eprintln!(
            "language model not loaded ({:?}): keywords only",
            nlu.status()
        );
        return (Retrieval::new(faq), None);
    };
    let Some((encoder, _)) = nlu.parts() else {
        return (Retrieval::new(faq), None);
    };
    let texts: Vec<&str> = faq.variants().into_iter().map(|(_, q)| q).collect();
    let passages = faq::passages(&faq);
    let refs: Vec<&str> = passages.iter().map(String::as_str).collect();
    let embedded = cached_embeddings(&encoder, Some(&config.data_dir.join("cache")), &texts)
        .map_err(|e| e.to_string())
        .and_then(|v| {
            encoder
                .embed(raabta::nlu::encoder::PASSAGE, &refs)
                .map(|p| (v, p))
                .map_err(|e| e.to_string())
        });
    match embedded {
        Ok((v, p)) => (Retrieval::new(faq.clone()).with_embeddings(v, p), Some(nlu)),
        Err(e) => {
            eprintln!("the FAQ could not be embedded ({e}): keywords only");
            (Retrieval::new(faq), None)
        }
    }
}

fn embed(nlu: Option<&Nlu>, text: &str) -> Option<Vec<f32>> {
    let (encoder, _) = nlu?.parts()?;
    encoder.embed(QUERY, &[text]).ok()?.into_iter().next()
}

pub async fn faq_cmd(config: Config, cmd: FaqCmd) -> anyhow::Result<()> {
    match cmd {
        FaqCmd::Import { tenant, file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let rows = match faq::parse_csv(&bytes) {
                Ok(rows) => rows,
                Err(errors) => {
                    for e in &errors {
                        eprintln!("{}: {e}", file.display());
                    }
                    bail!("{} rows refused: nothing imported", errors.len());
                }
            };
            let app = App::build(config).await?;
            let school = app.tenancy.school(&tenant).await?;
            let entries = Faq::new(&rows).entries.len();
            let entry = ActivityEntry::now(
                "cli",
                "faq.import",
                None,
                "cli",
                serde_json::json!({ "rows": rows.len(), "entries": entries }),
            );
            school.store.replace_faq(&rows, &entry).await?;
            println!(
                "{} rows, {entries} entries imported into {tenant}",
                rows.len()
            );
            Ok(())
        }
        FaqCmd::Export { tenant } => {
            let app = App::build(config).await?;
            let school = app.tenancy.school(&tenant).await?;
            print!("{}", faq::to_csv(&school.store.faq_rows().await?));
            Ok(())
        }
        FaqCmd::Ask { tenant } => {
            let app = App::build(config.clone()).await?;
            let school = app.tenancy.school(&tenant).await?;
            let rows = school.store.faq_rows().await?;
            tokio::task::spawn_blocking(move || ask(&config, rows)).await?
        }
        FaqCmd::Eval {
            faq,
            questions,
            verbose,
            grid,
        } => {
            tokio::task::spawn_blocking(move || eval(&config, &faq, &questions, verbose, grid))
                .await?
        }
    }
}

fn ask(config: &Config, rows: Vec<raabta::faq::FaqRow>) -> anyhow::Result<()> {
    let (r, nlu) = retrieval(config, Faq::new(&rows));
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&line).with_context(|| format!("line {}: not JSON", n + 1))?;
        let Some(text) = v.get("text").and_then(|t| t.as_str()) else {
            bail!("line {}: no \"text\" string", n + 1);
        };
        let language = raabta::flow::input::written_in(text).unwrap_or(Locale::En);
        let found = r.find(text, embed(nlu.as_ref(), text).as_deref());
        let entry = found.entry.and_then(|i| r.faq.entries.get(i));
        writeln!(
            out,
            "{}",
            serde_json::json!({
                "id": entry.map(|e| e.id.clone()),
                "score": (f64::from(found.score) * 1000.0).round() / 1000.0,
                "answer": entry.and_then(|e| e.answer_in(language)),
            })
        )?;
    }
    Ok(())
}

/// A way of choosing an entry for a question (and its embedding).
type Decider<'a> = dyn Fn(&str, Option<&[f32]>) -> Option<String> + 'a;

struct Tally {
    right: usize,
    answerable: usize,
    declined: usize,
    unanswerable: usize,
}

fn eval(
    config: &Config,
    faq_file: &PathBuf,
    questions: &PathBuf,
    verbose: bool,
    grid: bool,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(faq_file)?;
    let rows = faq::parse_csv(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}",
            e.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    let (r, nlu) = retrieval(config, Faq::new(&rows));
    let mut set = Vec::new();
    for (n, line) in std::fs::read_to_string(questions)?.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("line {}", n + 1))?;
        let text = v["text"].as_str().context("text")?.to_string();
        let language = v["language"].as_str().context("language")?.to_string();
        let expect = v["expect"].as_str().map(str::to_string);
        let embedding = embed(nlu.as_ref(), &text);
        set.push((text, language, expect, embedding));
    }
    let id_of = |i: Option<usize>| i.and_then(|i| r.faq.entries.get(i)).map(|e| e.id.clone());
    let score_set = |decide: &Decider| {
        let mut by: BTreeMap<String, Tally> = BTreeMap::new();
        for (text, language, expect, emb) in &set {
            let got = decide(text, emb.as_deref());
            let t = by.entry(language.clone()).or_insert(Tally {
                right: 0,
                answerable: 0,
                declined: 0,
                unanswerable: 0,
            });
            match expect {
                Some(e) => {
                    t.answerable += 1;
                    if got.as_deref() == Some(e.as_str()) {
                        t.right += 1;
                    }
                }
                None => {
                    t.unanswerable += 1;
                    if got.is_none() {
                        t.declined += 1;
                    }
                }
            }
        }
        by
    };
    let show = |name: &str, by: &BTreeMap<String, Tally>| {
        for (lang, t) in by {
            println!(
                "{name:<9} {lang:<8} answered right {:>2}/{:<2} ({:>5.1}%)  declined {:>2}/{:<2} ({:>5.1}%)",
                t.right,
                t.answerable,
                100.0 * t.right as f64 / t.answerable.max(1) as f64,
                t.declined,
                t.unanswerable,
                100.0 * t.declined as f64 / t.unanswerable.max(1) as f64,
            );
        }
    };
    let keywords = score_set(&|text, _| id_of(r.find_by_keywords(text).entry));
    show("keywords", &keywords);
    if r.has_embeddings() {
        let model = score_set(&|text, emb| id_of(r.find(text, emb).entry));
        show("model", &model);
        if grid {
            for w in [0.0f32, 0.1, 0.2, 0.3, 0.4, 0.5] {
                for t in [0.04f32, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.12] {
                    for m in [0.0f32, 0.005, 0.01, 0.02] {
                        let rule = faq::Rule {
                            threshold: t,
                            margin: m,
                        };
                        let by = score_set(&|text, emb| {
                            emb.and_then(|e| r.joint_scores(text, e, w))
                                .and_then(|s| id_of(faq::decide_relative(&s, rule).0))
                        });
                        let (mut right, mut ans, mut dec, mut un) = (0, 0, 0, 0);
                        let mut worst = 100.0f64;
                        for t in by.values() {
                            right += t.right;
                            ans += t.answerable;
                            dec += t.declined;
                            un += t.unanswerable;
                            worst = worst.min(100.0 * t.right as f64 / t.answerable.max(1) as f64);
                        }
                        println!(
                        "grid w={w:.2} t={t:.3} m={m:.3}: right {right}/{ans}, declined {dec}/{un}, worst language {worst:.1}%"
                    );
                    }
                }
            }
        }
    }
    if verbose {
        for (text, language, expect, emb) in &set {
            let f = r.find(text, emb.as_deref());
            let k = r.find_by_keywords(text);
            println!(
                "{language:<8} expect {:<22} model {:<22} {:.3}  keywords {:<22} {:.3}  {text}",
                expect.as_deref().unwrap_or("-"),
                id_of(f.entry).unwrap_or("-".into()),
                f.score,
                id_of(k.entry).unwrap_or("-".into()),
                k.score,
            );
        }
    }
    Ok(())
}
