//! `raabta models check`, `raabta nlu classify`, `raabta nlu eval`.

use anyhow::{bail, Context};
use clap::Subcommand;
use raabta::config::Config;
use raabta::flow::Library;
use raabta::models::Verified;
use raabta::nlu::classifier::{decide, Params};
use raabta::nlu::service::Status;
use raabta::nlu::{baseline, Intent, Nlu, LANGUAGES};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Subcommand)]
pub enum ModelsCmd {
    /// Verify the models directory against its manifest, load the models and say what
    /// is there (source, version, licence, size).
    Check,
}

#[derive(Subcommand)]
pub enum NluCmd {
    /// Read JSON lines `{"text": "..."}` on stdin; write `{"intent": ..., "score": ...}`
    /// per line, in order, with the school's own phrases.
    Classify {
        #[arg(long)]
        tenant: String,
        /// Also write the ranking and whether it is a near tie.
        #[arg(long)]
        explain: bool,
    },
    /// Accuracy on a labelled JSON-lines file (`text`, `lang`, `intent`), beside the
    /// trigger-word baseline and n-grams alone; latency and load time. Markdown out.
    Eval {
        #[arg(long)]
        file: PathBuf,
        /// Also list every miss.
        #[arg(long)]
        misses: bool,
    },
    /// Leave-one-out over the example phrases only (never the evaluation set): how
    /// each setting of the classifier's weights and thresholds does.
    Tune {
        /// Only the settings used without the encoder.
        #[arg(long)]
        ngrams_only: bool,
    },
    /// Complaint categories of the local triage on a labelled JSON-lines file (`text`,
    /// `lang`, `category`): keyword rules, the language model alone, and both (the
    /// model where it decides); with `--tune`, leave-one-out over the built-in
    /// examples only (never the file) for the model's thresholds. Markdown out.
    Categories {
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        tune: bool,
    },
    /// A burst of strangers' messages through the worker's pool, with logged-in
    /// parents' messages among them: how many strangers reach the encoder, how long
    /// the parents wait, and resident memory before and after.
    Burst {
        #[arg(long, default_value_t = 500)]
        strangers: usize,
        #[arg(long, default_value_t = 20)]
        parents: usize,
    },
}

fn library(config: &Config) -> anyhow::Result<Library> {
    Ok(match &config.flows_dir {
        Some(dir) => {
            Library::load(dir).with_context(|| format!("flows directory {}", dir.display()))?
        }
        None => Library::embedded()?,
    })
}

fn loaded(config: &Config, examples: raabta::nlu::Examples) -> (Nlu, Status, f64) {
    let nlu = Nlu::new(
        examples,
        Some(config.models_dir.clone()),
        Some(config.data_dir.join("cache")),
    );
    let started = Instant::now();
    let status = nlu.load_blocking();
    (nlu, status, started.elapsed().as_secs_f64())
}

pub async fn models(config: Config, cmd: ModelsCmd) -> anyhow::Result<()> {
    match cmd {
        ModelsCmd::Check => {
            let dir = &config.models_dir;
            let started = Instant::now();
            let verified = Verified::open(dir)?;
            println!(
                "{}: manifest verified in {:.2} s (recipe {})",
                dir.display(),
                started.elapsed().as_secs_f64(),
                &verified.manifest.recipe[..12.min(verified.manifest.recipe.len())]
            );
            for f in &verified.manifest.files {
                println!(
                    "  {:<26} {:<15} {:>11} bytes  {} {} ({}), licence: {}",
                    f.name,
                    f.role,
                    f.bytes,
                    f.source.package,
                    f.source.version,
                    f.source.registry,
                    f.source.licence
                );
            }
            let lib = library(&config)?;
            let (nlu, status, secs) = loaded(&config, lib.intents.clone());
            match status {
                Status::Ready => {
                    let g = nlu.classify_blocking("fee kitni baqi hai");
                    println!(
                        "text encoder loaded with {} example phrases in {secs:.2} s; \"fee kitni baqi hai\" -> {} ({:.2})",
                        nlu.examples().items.len(),
                        g.intent,
                        g.score
                    );
                }
                other => bail!("the text encoder did not load: {other:?}"),
            }
            Ok(())
        }
    }
}

#[derive(serde::Deserialize)]
struct Line {
    text: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    intent: String,
}

pub async fn nlu(config: Config, cmd: NluCmd) -> anyhow::Result<()> {
    match cmd {
        NluCmd::Classify { tenant, explain } => classify(config, tenant, explain).await,
        NluCmd::Eval { file, misses } => eval(config, file, misses),
        NluCmd::Tune { ngrams_only } => tune(config, ngrams_only),
        NluCmd::Categories { file, tune } => categories(config, file, tune),
        NluCmd::Burst { strangers, parents } => burst(config, strangers, parents).await,
    }
}

async fn classify(config: Config, tenant: String, explain: bool) -> anyhow::Result<()> {
    let app = raabta::app::App::build(config.clone()).await?;
    let school = app
        .tenancy
        .school(&tenant)
        .await
        .with_context(|| format!("school {tenant}"))?;
    let phrases = raabta::nlu::phrases::of_school(school.store.as_ref()).await?;
    let examples = app.flows.intents.with_school(&phrases);
    let (nlu, status, _) = loaded(&config, examples);
    if status != Status::Ready {
        eprintln!(
            "raabta: the language model is not available ({status:?}); matching by spelling only"
        );
    }
    let mut out = std::io::stdout().lock();
    super::text_lines(|_, text| {
        let g = nlu.classify_blocking(&text);
        let mut line = serde_json::json!({"intent": g.intent.as_str(), "score": (g.score * 1000.0).round() / 1000.0});
        if explain {
            line["near_tie"] = g.near_tie.into();
            line["ranked"] = g
                .ranked
                .iter()
                .take(4)
                .map(|(i, s)| serde_json::json!([i.as_str(), (s * 1000.0).round() / 1000.0]))
                .collect();
        }
        writeln!(out, "{line}")?;
        Ok(())
    })
}

fn read_labelled(file: &PathBuf) -> anyhow::Result<Vec<(String, String, Intent)>> {
    let text = std::fs::read_to_string(file).with_context(|| file.display().to_string())?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let l: Line = serde_json::from_str(line).with_context(|| format!("line {}", n + 1))?;
        let intent = Intent::parse(&l.intent)
            .with_context(|| format!("line {}: unknown intent {:?}", n + 1, l.intent))?;
        out.push((l.text, l.lang, intent));
    }
    Ok(out)
}

struct Tally {
    right: BTreeMap<String, (usize, usize)>,
    confusion: BTreeMap<String, BTreeMap<(Intent, Intent), usize>>,
}

impl Tally {
    fn new() -> Self {
        Self {
            right: BTreeMap::new(),
            confusion: BTreeMap::new(),
        }
    }
    fn add(&mut self, lang: &str, want: Intent, got: Intent) {
        for key in [lang, "all"] {
            let e = self.right.entry(key.to_string()).or_default();
            e.1 += 1;
            if want == got {
                e.0 += 1;
            }
        }
        *self
            .confusion
            .entry(lang.to_string())
            .or_default()
            .entry((want, got))
            .or_default() += 1;
    }
    fn pct(&self, key: &str) -> String {
        match self.right.get(key) {
            Some((r, n)) if *n > 0 => format!("{:.1}% ({r}/{n})", 100.0 * *r as f64 / *n as f64),
            _ => "-".into(),
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn eval(config: Config, file: PathBuf, misses: bool) -> anyhow::Result<()> {
    let items = read_labelled(&file)?;
    let lib = library(&config)?;
    let (nlu, status, load_secs) = loaded(&config, lib.intents.clone());
    let mut model = Tally::new();
    let mut ngram = Tally::new();
    let mut base = Tally::new();
    let mut times = Vec::new();
    let mut missed = Vec::new();
    // Near ties: the bot asks with options instead of answering.
    let (mut asked, mut asked_right) = (0usize, 0usize);
    for (text, lang, want) in &items {
        let started = Instant::now();
        let g = nlu.classify_blocking(text);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        model.add(lang, *want, g.intent);
        if g.near_tie {
            asked += 1;
            if g.options(nlu.params()).contains(want) {
                asked_right += 1;
            }
        }
        if g.intent != *want {
            missed.push(format!(
                "{lang}\t{want} -> {} ({:.2})\t{text}",
                g.intent, g.score
            ));
        }
        ngram.add(lang, *want, nlu.classify_ngrams(text).intent);
        base.add(lang, *want, baseline::trigger_intent(&lib, text));
    }
    let with_model = status == Status::Ready;
    println!(
        "Evaluation set: {} ({} messages)\n",
        file.display(),
        items.len()
    );
    println!(
        "Encoder: {}\n",
        if with_model {
            format!(
                "loaded in {load_secs:.2} s (manifest check, runtime, model, example embeddings)"
            )
        } else {
            format!("NOT loaded ({status:?}): the first column is n-grams only")
        }
    );
    println!("| | all | en | ur | ar | ur-Latn |\n|---|---|---|---|---|---|");
    for (name, t) in [
        ("encoder + n-grams", &model),
        ("n-grams only", &ngram),
        ("trigger words (baseline)", &base),
    ] {
        print!("| {name} | {} |", t.pct("all"));
        for l in LANGUAGES {
            print!(" {} |", t.pct(l));
        }
        println!();
    }
    println!(
        "\nLatency per message (classify, tokenisation included, one thread): median {:.2} ms, p90 {:.2} ms\n",
        median(times.clone()),
        {
            let mut t = times.clone();
            t.sort_by(|a, b| a.total_cmp(b));
            t.get(t.len() * 9 / 10).copied().unwrap_or(0.0)
        }
    );
    println!(
        "Near ties (the bot asks with two or three options instead of answering): {asked} of {} messages; the right intent among the options in {asked_right}.\n",
        items.len()
    );
    for l in LANGUAGES {
        println!("Confusion ({l}; rows: label, columns: answer; only intents that occur)\n");
        let Some(c) = model.confusion.get(l) else {
            continue;
        };
        let used: Vec<Intent> = Intent::ALL
            .into_iter()
            .filter(|i| c.keys().any(|(a, b)| a == i || b == i))
            .collect();
        let short = |i: &Intent| i.as_str().chars().take(6).collect::<String>();
        print!("| |");
        used.iter().for_each(|i| print!(" {} |", short(i)));
        print!("\n|---|");
        used.iter().for_each(|_| print!("---|"));
        println!();
        for a in &used {
            print!("| {} |", short(a));
            for b in &used {
                match c.get(&(*a, *b)) {
                    Some(n) => print!(" {n} |"),
                    None => print!(" |"),
                }
            }
            println!();
        }
        println!();
    }
    if misses {
        println!("Misses:\n");
        missed.iter().for_each(|m| println!("    {m}"));
    }
    Ok(())
}

/// Example `i` classified by all the others (leave-one-out), from the pairwise
/// similarities.
fn left_out(
    classifier: &raabta::nlu::Classifier,
    pairs: &[Vec<(Option<f32>, f32)>],
    i: usize,
    encoder: bool,
    params: &Params,
) -> raabta::nlu::Guess {
    let sims = pairs[i]
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(j, p)| {
            (
                classifier.intent_of(j),
                if encoder { p.0 } else { None },
                p.1,
            )
        });
    decide(sims, encoder, params)
}

/// The share of examples classified right by all the others.
fn left_out_accuracy(
    classifier: &raabta::nlu::Classifier,
    pairs: &[Vec<(Option<f32>, f32)>],
    encoder: bool,
    params: &Params,
) -> f64 {
    let right = (0..pairs.len())
        .filter(|&i| {
            left_out(classifier, pairs, i, encoder, params).intent == classifier.intent_of(i)
        })
        .count();
    right as f64 / pairs.len().max(1) as f64
}

fn tune(config: Config, ngrams_only: bool) -> anyhow::Result<()> {
    let lib = library(&config)?;
    let (nlu, status, _) = loaded(&config, lib.intents.clone());
    let Some((_, classifier)) = nlu.parts() else {
        bail!("the text encoder is not available ({status:?})");
    };
    let pairs = classifier.pairwise();
    let n = pairs.len();
    println!("leave-one-out over {n} example phrases");
    let mut best: Option<(f64, Params)> = None;
    let floors: &[f32] = if ngrams_only {
        &[]
    } else {
        &[0.74, 0.78, 0.82]
    };
    for &floor in floors {
        for weight in [0.3f32, 0.45, 0.6, 0.75, 0.9] {
            for top_k in [1usize, 2, 3, 5] {
                for threshold in [0.15f32, 0.2, 0.25, 0.3, 0.35, 0.4] {
                    let params = Params {
                        floor,
                        encoder_weight: weight,
                        top_k,
                        threshold,
                        ..Params::default()
                    };
                    let acc = left_out_accuracy(&classifier, &pairs, true, &params);
                    println!(
                        "floor {floor:.2} weight {weight:.2} top_k {top_k} threshold {threshold:.2}: {:.1}%",
                        acc * 100.0
                    );
                    if best.as_ref().is_none_or(|(b, _)| acc > *b) {
                        best = Some((acc, params));
                    }
                }
            }
        }
    }
    if let Some((acc, p)) = best {
        println!("best: {:.1}% with {p:?}", acc * 100.0);
    }
    // How often each tie margin would ask instead of answering (with the settings in
    // use), and how right the answers and the offered options are.
    for tie_margin in [0.005f32, 0.01, 0.015, 0.02, 0.03, 0.04] {
        let params = Params {
            tie_margin,
            ..*nlu.params()
        };
        let (mut asked, mut options_right, mut answered_right) = (0usize, 0usize, 0usize);
        for i in 0..n {
            let g = left_out(&classifier, &pairs, i, true, &params);
            if g.near_tie {
                asked += 1;
                if g.options(&params).contains(&classifier.intent_of(i)) {
                    options_right += 1;
                }
            } else if g.intent == classifier.intent_of(i) {
                answered_right += 1;
            }
        }
        println!(
            "tie margin {tie_margin:.3}: asks {:.1}% (right option offered {:.1}% of those), answers right {:.1}% of the rest",
            100.0 * asked as f64 / n as f64,
            100.0 * options_right as f64 / asked.max(1) as f64,
            100.0 * answered_right as f64 / (n - asked).max(1) as f64
        );
    }
    // Without the encoder (the fallback): n-grams alone.
    let mut best: Option<(f64, Params)> = None;
    for top_k_ngram in [1usize, 2, 3, 5] {
        for threshold_ngram in [0.1f32, 0.15, 0.2, 0.25, 0.3] {
            let params = Params {
                top_k_ngram,
                threshold_ngram,
                ..Params::default()
            };
            let acc = left_out_accuracy(&classifier, &pairs, false, &params);
            println!(
                "n-grams only: top_k {top_k_ngram} threshold {threshold_ngram:.2}: {:.1}%",
                acc * 100.0
            );
            if best.as_ref().is_none_or(|(b, _)| acc > *b) {
                best = Some((acc, params));
            }
        }
    }
    if let Some((acc, p)) = best {
        println!(
            "best without the encoder: {:.1}% with top_k_ngram {} threshold_ngram {}",
            acc * 100.0,
            p.top_k_ngram,
            p.threshold_ngram
        );
    }
    std::io::stdout().flush()?;
    Ok(())
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

async fn burst(config: Config, strangers: usize, parents: usize) -> anyhow::Result<()> {
    use raabta::nlu::service::Sender;
    let lib = library(&config)?;
    let (nlu, status, _) = loaded(&config, lib.intents.clone());
    if status != Status::Ready {
        bail!("the text encoder is not available ({status:?})");
    }
    let nlu = std::sync::Arc::new(nlu);
    let school = uuid::Uuid::new_v4();
    // One message alone, for the pool's unit of work.
    let t = Instant::now();
    nlu.classify(Sender::Known, school, &[], "fees kitni baqi hai")
        .await;
    let one = t.elapsed().as_secs_f64() * 1000.0;
    // The parents alone first (they queue behind each other too): the reference.
    let alone = {
        let mut tasks = Vec::new();
        for _ in 0..parents {
            let parent = nlu.clone();
            tasks.push(tokio::spawn(async move {
                let t = Instant::now();
                let _ = parent
                    .classify(
                        Sender::Known,
                        school,
                        &[],
                        "meri beti kal school nahi aaye gi",
                    )
                    .await;
                t.elapsed().as_secs_f64() * 1000.0
            }));
        }
        let mut w = Vec::new();
        for t in tasks {
            w.push(t.await?);
        }
        w
    };
    let t = Instant::now();
    for i in 0..100 {
        nlu.classify_ngrams(&format!("admission ke liye fees kitni hai {i}"));
    }
    let spelling = t.elapsed().as_secs_f64() * 10.0;
    let before = rss_mib();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..strangers {
        let stranger = nlu.clone();
        tasks.push(tokio::spawn(async move {
            let g = stranger
                .classify(
                    Sender::Stranger,
                    school,
                    &[],
                    &format!("admission ke liye fees kitni hai {i}"),
                )
                .await;
            (false, g.map(|g| g.encoder), 0.0)
        }));
        if parents > 0 && i % (strangers / parents).max(1) == 0 {
            let parent = nlu.clone();
            tasks.push(tokio::spawn(async move {
                let t = Instant::now();
                let g = parent
                    .classify(
                        Sender::Known,
                        school,
                        &[],
                        "meri beti kal school nahi aaye gi",
                    )
                    .await;
                (
                    true,
                    g.map(|g| g.encoder),
                    t.elapsed().as_secs_f64() * 1000.0,
                )
            }));
        }
    }
    let mut waits = Vec::new();
    let (mut strangers_encoded, mut strangers_spelled, mut parents_encoded) = (0, 0, 0);
    for t in tasks {
        let (parent, encoder, ms) = t.await?;
        if parent {
            waits.push(ms);
            parents_encoded += usize::from(encoder == Some(true));
        } else {
            strangers_encoded += usize::from(encoder == Some(true));
            strangers_spelled += usize::from(encoder == Some(false));
        }
    }
    let total = started.elapsed().as_secs_f64();
    let max_wait = waits.iter().cloned().fold(0.0, f64::max);
    println!(
        "{strangers} strangers and {} parents in {total:.2} s; one message alone: {one:.1} ms by the encoder, {spelling:.2} ms by spelling",
        waits.len()
    );
    println!(
        "{parents} parents alone (the reference): wait median {:.1} ms, max {:.1} ms",
        median(alone.clone()),
        alone.iter().cloned().fold(0.0, f64::max)
    );
    println!(
        "strangers read by the encoder: {strangers_encoded} (at most {} of them queued), by spelling: {strangers_spelled}, not read (beyond the per-school and global bounds): {}",
        raabta::nlu::service::STRANGERS_QUEUE_LIMIT,
        strangers - strangers_encoded - strangers_spelled
    );
    println!(
        "parents read by the encoder: {parents_encoded} of {}; their wait: median {:.1} ms, max {max_wait:.1} ms",
        waits.len(),
        median(waits.clone())
    );
    println!(
        "resident memory: {before:.0} MiB before, {:.0} MiB after",
        rss_mib()
    );
    Ok(())
}

/// `raabta nlu categories`: the local triage's category on a labelled file.
fn categories(config: Config, file: PathBuf, tune: bool) -> anyhow::Result<()> {
    use raabta::triage::model::{self, Params};
    #[derive(serde::Deserialize)]
    struct Row {
        text: String,
        lang: String,
        category: String,
    }
    let rows: Vec<Row> = std::fs::read_to_string(&file)
        .with_context(|| format!("reading {}", file.display()))?
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).with_context(|| format!("{}: line {}", file.display(), n + 1))
        })
        .collect::<anyhow::Result<_>>()?;
    let lib = library(&config)?;
    let (nlu, status, _) = loaded(&config, lib.intents.clone());
    let Some((encoder, _)) = nlu.parts() else {
        anyhow::bail!("the language model is not loaded ({status:?}): run scripts/fetch-models.sh");
    };
    let categories = raabta::triage::categories(None);
    let examples = model::examples_for(&categories, &[]);
    let texts: Vec<&str> = examples.iter().map(|(_, x)| x.as_str()).collect();
    let cache = config.data_dir.join("cache");
    let vectors = raabta::nlu::service::cached_embeddings(&encoder, Some(&cache), &texts)
        .map_err(anyhow::Error::msg)?;
    let labelled: Vec<(String, Vec<f32>)> = examples
        .iter()
        .map(|(c, _)| c.clone())
        .zip(vectors.iter().cloned())
        .collect();
    let keywords = |text: &str| raabta::triage::local(text, &categories, "en").category;
    let params = if tune {
        // Leave-one-out over the built-in examples: each scored against the others.
        // (the example's category, its scores against the others, the keywords' pick)
        type Held = (String, Vec<(String, f32)>, String);
        let held: Vec<Held> = labelled
            .iter()
            .enumerate()
            .map(|(i, (c, v))| {
                let others: Vec<(String, Vec<f32>)> = labelled
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, x)| x.clone())
                    .collect();
                (c.clone(), model::scores(v, &others), keywords(texts[i]))
            })
            .collect();
        let mut best = (0usize, model::PARAMS);
        println!(
            "| floor | margin | leave-one-out accuracy (model, else keywords) |\n|---|---|---|"
        );
        for floor in [0.70f32, 0.75, 0.78, 0.80, 0.82, 0.84, 0.86, 0.88] {
            for margin in [0.0f32, 0.002, 0.005, 0.01, 0.02] {
                let p = Params { floor, margin };
                let right = held
                    .iter()
                    .filter(|(c, s, kw)| model::decide(s, p).as_ref().unwrap_or(kw) == c)
                    .count();
                println!("| {floor:.2} | {margin:.3} | {right}/{} |", held.len());
                if right > best.0 {
                    best = (right, p);
                }
            }
        }
        println!(
            "\nChosen: floor {:.2}, margin {:.3}\n",
            best.1.floor, best.1.margin
        );
        best.1
    } else {
        model::PARAMS
    };
    let query: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    let started = Instant::now();
    let embedded = encoder
        .embed(raabta::nlu::encoder::QUERY, &query)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let per_message = started.elapsed().as_secs_f64() * 1000.0 / rows.len().max(1) as f64;
    let mut by_lang: std::collections::BTreeMap<String, [usize; 4]> = Default::default();
    for (r, v) in rows.iter().zip(&embedded) {
        let kw = keywords(&r.text);
        let m = model::decide(&model::scores(v, &labelled), params);
        let both = m.clone().unwrap_or_else(|| kw.clone());
        for lang in [r.lang.as_str(), "all"] {
            let e = by_lang.entry(lang.to_string()).or_default();
            e[0] += 1;
            e[1] += usize::from(kw == r.category);
            e[2] += usize::from(m.as_deref() == Some(r.category.as_str()));
            e[3] += usize::from(both == r.category);
        }
    }
    println!(
        "Complaint categories: {} ({} complaints), floor {:.2}, margin {:.3}\n",
        file.display(),
        rows.len(),
        params.floor,
        params.margin
    );
    println!(
        "| language | keywords | model alone | model, else keywords (shipped) |\n|---|---|---|---|"
    );
    let pct = |a: usize, n: usize| format!("{:.1}% ({a}/{n})", 100.0 * a as f64 / n.max(1) as f64);
    for (lang, [n, kw, m, both]) in &by_lang {
        println!(
            "| {lang} | {} | {} | {} |",
            pct(*kw, *n),
            pct(*m, *n),
            pct(*both, *n)
        );
    }
    println!("\nEmbedding one complaint: {per_message:.1} ms (batched, one thread).");
    Ok(())
}
