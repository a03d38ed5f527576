//! `raabta face`: the face matcher's evidence (issue 17). More (consent, enrolment,
//! matching) comes with the rest of the issue.

use anyhow::Context;
use clap::Subcommand;
use raabta::config::Config;
use raabta::face::{eval, FaceModels};
use raabta::models::Verified;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Subcommand)]
pub enum FaceCmd {
    /// Verification figures on labelled pairs: lines `image_a<TAB>image_b<TAB>1|0`
    /// (paths relative to the file). Prints per-step timings, then, last, one JSON line.
    Eval {
        #[arg(long)]
        pairs: PathBuf,
        /// The verification threshold to report accuracy at.
        #[arg(long, default_value_t = eval::DEFAULT_THRESHOLD)]
        threshold: f32,
        /// Also print each image's size and how many faces were found.
        #[arg(long)]
        verbose: bool,
    },
}

pub async fn face(config: Config, cmd: FaceCmd) -> anyhow::Result<()> {
    match cmd {
        FaceCmd::Eval {
            pairs,
            threshold,
            verbose,
        } => {
            tokio::task::spawn_blocking(move || eval_pairs(config, pairs, threshold, verbose))
                .await?
        }
    }
}

/// An image named in the pairs file: relative to the file, or in a folder beside it
/// (the deepface pairs name `img1.jpg` for `deepface/img1.jpg`).
fn locate(base: &std::path::Path, name: &str) -> PathBuf {
    let direct = base.join(name);
    if direct.exists() {
        return direct;
    }
    std::fs::read_dir(base)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join(name))
        .find(|p| p.exists())
        .unwrap_or(direct)
}

fn eval_pairs(config: Config, file: PathBuf, threshold: f32, verbose: bool) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let base = file.parent().map(PathBuf::from).unwrap_or_default();
    let mut pairs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [a, b, same] = cols.as_slice() else {
            anyhow::bail!(
                "{}: line {}: expected image_a<TAB>image_b<TAB>1|0",
                file.display(),
                n + 1
            );
        };
        let same = match same.trim() {
            "1" => true,
            "0" => false,
            other => anyhow::bail!(
                "{}: line {}: the label is 1 or 0, not {other:?}",
                file.display(),
                n + 1
            ),
        };
        pairs.push((locate(&base, a.trim()), locate(&base, b.trim()), same));
    }
    let started = Instant::now();
    let models = FaceModels::load(&Verified::open(&config.models_dir)?)?;
    eprintln!("models loaded in {:.2} s", started.elapsed().as_secs_f64());
    // Each image once: its largest face's embedding (None: no face found).
    let mut cache: HashMap<PathBuf, Option<Vec<f32>>> = HashMap::new();
    let mut timings = Vec::new();
    let mut embed = |p: &PathBuf| -> anyhow::Result<Option<Vec<f32>>> {
        if let Some(e) = cache.get(p) {
            return Ok(e.clone());
        }
        let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        let t = Instant::now();
        let img = raabta::face::decode(&bytes).with_context(|| p.display().to_string())?;
        let faces = models.detect(&img)?;
        if verbose {
            eprintln!(
                "{} {}x{}: {} faces",
                p.display(),
                img.width(),
                img.height(),
                faces.len()
            );
        }
        let e = match faces.iter().max_by(|a, b| a.area().total_cmp(&b.area())) {
            Some(face) => Some(models.embed(&img, face)?),
            None => None,
        };
        timings.push(t.elapsed().as_secs_f64() * 1000.0);
        cache.insert(p.clone(), e.clone());
        Ok(e)
    };
    let mut scored = Vec::with_capacity(pairs.len());
    for (a, b, same) in &pairs {
        let (ea, eb) = (embed(a)?, embed(b)?);
        let s = match (ea, eb) {
            (Some(x), Some(y)) => Some(raabta::face::similarity_of(&x, &y)),
            _ => None,
        };
        scored.push((s, *same));
    }
    timings.sort_by(f64::total_cmp);
    if let Some(median) = timings.get(timings.len() / 2) {
        eprintln!(
            "{} images: decode + detect + landmarks + embed median {median:.0} ms (one thread)",
            timings.len()
        );
    }
    let f = eval::figures(&scored, threshold);
    println!("{}", serde_json::to_string(&f)?);
    Ok(())
}
