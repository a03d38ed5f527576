//! `raabta face`: consent and enrolment (also in bulk from a folder of portraits),
//! a class photo's proposal without writing anything, and the matcher's evidence
//! (verification figures on labelled pairs, all pairs of a labelled folder, the
//! timing of a 40-face class photo).

use anyhow::{bail, Context};
use clap::Subcommand;
use raabta::app::App;
use raabta::config::Config;
use raabta::domain::activity::ActivityEntry;
use raabta::domain::StudentId;
use raabta::face::{eval, matching, quality, FaceModels};
use raabta::models::Verified;
use raabta::store::EnrolOutcome;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Subcommand)]
pub enum FaceCmd {
    /// Record that a parent's written consent to face attendance was seen (required
    /// before any sample of the student is kept).
    Consent {
        #[arg(long)]
        tenant: String,
        /// The student's admission number.
        #[arg(long)]
        student: String,
        /// The staff member (email) who confirmed the written consent.
        #[arg(long)]
        by: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Withdraw a student's consent: the record and every sample are deleted at once.
    Withdraw {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        student: String,
    },
    /// Enrol samples from portraits (1-5 per student, each with exactly one clear face;
    /// only the embedding is kept). Exits non-zero if any image was refused; the others
    /// are kept.
    Enrol {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        student: String,
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// The proposal for a class photo as one JSON line (faces, the admission numbers
    /// proposed present, faces matched to nobody, processing time); writes nothing.
    Match {
        #[arg(long)]
        tenant: String,
        /// The class as the school names it ("Grade 5 B").
        #[arg(long)]
        class: String,
        photo: PathBuf,
    },
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
    /// Writes every pair of the labelled images of a folder as a pairs file: the
    /// identities are the connected components of the same-person pairs in its CSV
    /// files (`file_x,file_y,Yes|No,...`).
    Pairs {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// The class decision (1:N) on a labelled folder: each identity with two or more
    /// photos is enrolled from its first; every other photo is a class photo of one
    /// face, decided against all enrolled people (it should be its own person) and
    /// against all but its own (it should be nobody). Prints, for a grid of thresholds
    /// and margins and last for the product's rule, how many were found and how many
    /// proposals were wrong.
    ClassEval {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Times a class photo: a mosaic of `--faces` faces from a labelled folder, matched
    /// against a class of as many enrolled students (other photos of the same people
    /// where the folder has them). Prints model load time, the median wall time of
    /// `--runs` runs, peak memory and what was proposed.
    Bench {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 40)]
        faces: usize,
        #[arg(long, default_value_t = 7)]
        runs: usize,
        /// Write the mosaic here too (a JPEG), to look at.
        #[arg(long)]
        save: Option<PathBuf>,
        /// Faces read at once (default: the machine's cores).
        #[arg(long)]
        lanes: Option<usize>,
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
        FaceCmd::Pairs { dir, out } => all_pairs(&dir, &out),
        FaceCmd::ClassEval { dir } => {
            tokio::task::spawn_blocking(move || class_eval(config, &dir)).await?
        }
        FaceCmd::Bench {
            dir,
            faces,
            runs,
            save,
            lanes,
        } => {
            tokio::task::spawn_blocking(move || bench(config, &dir, faces, runs, save, lanes))
                .await?
        }
        FaceCmd::Consent {
            tenant,
            student,
            by,
            note,
        } => {
            let app = App::build(config).await?;
            let school = app.tenancy.school(&tenant).await?;
            let id = student_id(&school, &student).await?;
            let Some(staff) = school.store.staff_by_email(by.trim()).await? else {
                bail!("--by: no staff member of {tenant} has the email {by:?}");
            };
            if !staff.active {
                bail!("--by: {by} is not an active staff member");
            }
            let entry = ActivityEntry::now(
                "cli",
                "face.consent",
                Some(format!("student:{}", id.0)),
                "cli",
                serde_json::json!({ "confirmed_by": format!("staff:{}", staff.id.0) }),
            );
            school
                .store
                .record_face_consent(id, &staff.email, note.as_deref(), &entry)
                .await?;
            println!(
                "consent recorded for {student} (confirmed by {})",
                staff.email
            );
            Ok(())
        }
        FaceCmd::Withdraw { tenant, student } => {
            let app = App::build(config).await?;
            let school = app.tenancy.school(&tenant).await?;
            let id = student_id(&school, &student).await?;
            let entry = ActivityEntry::now(
                "cli",
                "face.withdraw",
                Some(format!("student:{}", id.0)),
                "cli",
                serde_json::json!({}),
            );
            match school.store.withdraw_face_consent(id, &entry).await? {
                Some(n) => {
                    println!("consent withdrawn for {student}: {n} samples deleted");
                    Ok(())
                }
                None => bail!("no consent on record for this student"),
            }
        }
        FaceCmd::Enrol {
            tenant,
            student,
            images,
        } => {
            let app = App::build(config).await?;
            let school = app.tenancy.school(&tenant).await?;
            let id = student_id(&school, &student).await?;
            if school.store.face_consent(id).await?.is_none() {
                bail!("no consent on record for this student");
            }
            let face = app.face.clone();
            let models = tokio::task::spawn_blocking(move || face.models())
                .await?
                .map_err(|e| anyhow::anyhow!("face models: {e}"))?;
            let mut refused = 0;
            for path in &images {
                let bytes =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                let m = models.clone();
                let sample =
                    tokio::task::spawn_blocking(move || m.sample(&bytes, &quality::DEFAULT_RULE))
                        .await?;
                let sample = match sample {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("{}: refused: {e}", path.display());
                        refused += 1;
                        continue;
                    }
                };
                let entry = ActivityEntry::now(
                    "cli",
                    "face.enrol",
                    Some(format!("student:{}", id.0)),
                    "cli",
                    serde_json::json!({}),
                );
                match school
                    .store
                    .add_face_sample(id, &sample.embedding, &sample.quality, &entry)
                    .await?
                {
                    EnrolOutcome::Added(_) => println!("{}: enrolled", path.display()),
                    EnrolOutcome::NoConsent => bail!("no consent on record for this student"),
                    EnrolOutcome::Full => {
                        eprintln!(
                            "{}: refused: the student has {} samples already (delete one first)",
                            path.display(),
                            raabta::store::FACE_SAMPLES_MAX
                        );
                        refused += 1;
                    }
                }
            }
            if refused > 0 {
                bail!("{refused} of {} images refused", images.len());
            }
            Ok(())
        }
        FaceCmd::Match {
            tenant,
            class,
            photo,
        } => {
            let app = App::build(config).await?;
            let school = app.tenancy.school(&tenant).await?;
            let wanted = class.trim().to_lowercase();
            let classes = school.store.classes().await?;
            let Some(c) = classes.iter().find(|c| c.label().to_lowercase() == wanted) else {
                bail!("--class: {tenant} has no class named {class:?}");
            };
            let roster: HashMap<StudentId, String> = school
                .store
                .class_faces(c.id)
                .await?
                .into_iter()
                .map(|r| (r.student, r.admission_no))
                .collect();
            let gallery = school.store.class_gallery(c.id).await?;
            let settings = school.store.settings().await?;
            let get = |n: &str| {
                settings
                    .iter()
                    .find(|(k, _)| k == n)
                    .map(|(_, v)| v.clone())
            };
            let rule = raabta::face::class_rule(
                get(raabta::face::SETTING_FACE_THRESHOLD).as_deref(),
                get(raabta::face::SETTING_FACE_MARGIN).as_deref(),
            );
            let bytes =
                std::fs::read(&photo).with_context(|| format!("reading {}", photo.display()))?;
            let face = app.face.clone();
            let (faces, decision, ms) = tokio::task::spawn_blocking(move || {
                let models = face
                    .models()
                    .map_err(|e| anyhow::anyhow!("face models: {e}"))?;
                let started = Instant::now();
                let img = raabta::face::decode(&bytes)?;
                let found = models.faces_embedded(&img)?;
                let embeddings: Vec<Vec<f32>> = found.into_iter().map(|e| e.embedding).collect();
                let d = matching::decide(&embeddings, &gallery, rule);
                anyhow::Ok((embeddings.len(), d, started.elapsed().as_millis()))
            })
            .await??;
            let present: Vec<&String> = decision
                .pairs
                .iter()
                .filter_map(|(_, s)| roster.get(s))
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "faces": faces,
                    "present": present,
                    "unmatched": decision.unmatched,
                    "ms": ms,
                })
            );
            Ok(())
        }
    }
}

async fn student_id(
    school: &raabta::store::tenancy::School,
    admission_no: &str,
) -> anyhow::Result<StudentId> {
    school
        .store
        .student_ids_by_admission()
        .await?
        .get(admission_no.trim())
        .copied()
        .ok_or_else(|| {
            anyhow::anyhow!("--student: no student with admission number {admission_no:?}")
        })
}

/// The labelled images of a folder grouped by identity: the connected components of
/// the same-person pairs of its CSV files; an image in no same-person pair is an
/// identity of its own.
fn identities(dir: &Path) -> anyhow::Result<Vec<Vec<PathBuf>>> {
    let mut parent: BTreeMap<String, String> = BTreeMap::new();
    fn root(p: &mut BTreeMap<String, String>, x: &str) -> String {
        let mut r = x.to_string();
        while let Some(up) = p.get(&r).filter(|u| **u != r) {
            r = up.clone();
        }
        p.insert(x.to_string(), r.clone());
        r
    }
    let mut csvs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    csvs.sort();
    if csvs.is_empty() {
        bail!("{}: no CSV of labelled pairs", dir.display());
    }
    for csv in &csvs {
        let text = std::fs::read_to_string(csv)?;
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split(',').collect();
            if cols.len() < 3 {
                continue;
            }
            let name = |c: &str| c.rsplit('/').next().unwrap_or(c).trim().to_string();
            let (a, b) = (name(cols[0]), name(cols[1]));
            if !dir.join(&a).exists() || !dir.join(&b).exists() {
                continue;
            }
            for x in [&a, &b] {
                parent.entry(x.clone()).or_insert_with(|| x.clone());
            }
            if cols[2].trim().eq_ignore_ascii_case("yes") {
                let (ra, rb) = (root(&mut parent, &a), root(&mut parent, &b));
                if ra != rb {
                    parent.insert(ra, rb);
                }
            }
        }
    }
    let names: Vec<String> = parent.keys().cloned().collect();
    let mut groups: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for n in names {
        let r = root(&mut parent, &n);
        groups.entry(r).or_default().push(dir.join(&n));
    }
    Ok(groups.into_values().collect())
}

fn all_pairs(dir: &Path, out: &Path) -> anyhow::Result<()> {
    let ids = identities(dir)?;
    let mut images: Vec<(PathBuf, usize)> = Vec::new();
    for (k, group) in ids.iter().enumerate() {
        for p in group {
            images.push((std::fs::canonicalize(p)?, k));
        }
    }
    images.sort();
    let mut text = String::new();
    let (mut same, mut diff) = (0, 0);
    for i in 0..images.len() {
        for j in i + 1..images.len() {
            let s = images[i].1 == images[j].1;
            if s {
                same += 1;
            } else {
                diff += 1;
            }
            text.push_str(&format!(
                "{}\t{}\t{}\n",
                images[i].0.display(),
                images[j].0.display(),
                u8::from(s)
            ));
        }
    }
    std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "{} images, {} identities: {} pairs ({same} same person, {diff} different) in {}",
        images.len(),
        ids.len(),
        same + diff,
        out.display()
    );
    Ok(())
}

fn class_eval(config: Config, dir: &Path) -> anyhow::Result<()> {
    let ids = identities(dir)?;
    let models = FaceModels::load(&Verified::open(&config.models_dir)?)?;
    let embed = |p: &Path| -> anyhow::Result<Option<Vec<f32>>> {
        let img = raabta::face::decode(&std::fs::read(p)?)?;
        let faces = models.detect(&img)?;
        Ok(
            match faces.iter().max_by(|a, b| a.area().total_cmp(&b.area())) {
                Some(f) => Some(models.embed(&img, f)?),
                None => None,
            },
        )
    };
    let mut gallery: Vec<matching::Enrolled<usize>> = Vec::new();
    let mut probes: Vec<(usize, Vec<f32>)> = Vec::new();
    let mut singles: Vec<Vec<f32>> = Vec::new();
    for (k, group) in ids.iter().enumerate() {
        let embedded: Vec<Vec<f32>> = group
            .iter()
            .map(|p| embed(p))
            .collect::<anyhow::Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        match embedded.split_first() {
            Some((first, rest)) if !rest.is_empty() => {
                gallery.push(matching::Enrolled {
                    key: k,
                    samples: vec![first.clone()],
                });
                probes.extend(rest.iter().map(|e| (k, e.clone())));
            }
            Some((first, _)) => singles.push(first.clone()),
            None => {}
        }
    }
    let run = |rule: matching::MatchRule| {
        let (mut found, mut wrong) = (0, 0);
        for (k, e) in &probes {
            // Its own person enrolled: found, missed, or (wrong) someone else.
            let d = matching::decide(std::slice::from_ref(e), &gallery, rule);
            match d.pairs.first() {
                Some((_, who)) if who == k => found += 1,
                Some(_) => wrong += 1,
                None => {}
            }
            // Its own person not enrolled (absent from the class): any proposal is wrong.
            let others: Vec<matching::Enrolled<usize>> =
                gallery.iter().filter(|g| g.key != *k).cloned().collect();
            wrong += matching::decide(std::slice::from_ref(e), &others, rule)
                .pairs
                .len();
        }
        // People never enrolled (strangers in the photo).
        for e in &singles {
            wrong += matching::decide(std::slice::from_ref(e), &gallery, rule)
                .pairs
                .len();
        }
        (found, wrong)
    };
    let trials = probes.len() * 2 + singles.len();
    eprintln!(
        "{} enrolled people, {} photos of them, {} strangers: {} decisions",
        gallery.len(),
        probes.len(),
        singles.len(),
        trials
    );
    eprintln!("threshold margin found/{} wrong", probes.len());
    for t in [0.30f32, 0.35, 0.40, 0.45, 0.50, 0.55] {
        for m in [0.0f32, 0.05, 0.08, 0.12] {
            let (found, wrong) = run(matching::MatchRule {
                threshold: t,
                margin: m,
            });
            eprintln!("{t:.2}      {m:.2}   {found:>3}       {wrong}");
        }
    }
    let rule = matching::MatchRule {
        threshold: raabta::face::CLASS_THRESHOLD,
        margin: matching::DEFAULT_MARGIN,
    };
    let (found, wrong) = run(rule);
    println!(
        "{}",
        serde_json::json!({
            "enrolled": gallery.len(),
            "probes": probes.len(),
            "strangers": singles.len(),
            "decisions": trials,
            "threshold": rule.threshold,
            "margin": rule.margin,
            "found": found,
            "found_rate": found as f64 / probes.len().max(1) as f64,
            "wrong_proposals": wrong,
        })
    );
    Ok(())
}

/// Peak resident memory of this process (Linux), in MB.
fn peak_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn bench(
    config: Config,
    dir: &Path,
    want: usize,
    runs: usize,
    save: Option<PathBuf>,
    lanes: Option<usize>,
) -> anyhow::Result<()> {
    let ids = identities(dir)?;
    let started = Instant::now();
    let lanes = lanes.filter(|n| *n >= 1).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let models = FaceModels::load_lanes(&Verified::open(&config.models_dir)?, lanes)?;
    let load_s = started.elapsed().as_secs_f64();
    // The largest face of an image, cropped with room around it, and its embedding.
    let crop = |p: &Path| -> anyhow::Result<Option<(image::RgbImage, Vec<f32>)>> {
        let img = raabta::face::decode(&std::fs::read(p)?)?;
        let faces = models.detect(&img)?;
        let Some(f) = faces.iter().max_by(|a, b| a.area().total_cmp(&b.area())) else {
            return Ok(None);
        };
        let e = models.embed(&img, f)?;
        let side = (f.bbox[2] - f.bbox[0]).max(f.bbox[3] - f.bbox[1]) * 1.6;
        let (cx, cy) = ((f.bbox[0] + f.bbox[2]) / 2.0, (f.bbox[1] + f.bbox[3]) / 2.0);
        let x0 = (cx - side / 2.0).max(0.0) as u32;
        let y0 = (cy - side / 2.0).max(0.0) as u32;
        let w = (side as u32).min(img.width() - x0);
        let h = (side as u32).min(img.height() - y0);
        let c = image::imageops::crop_imm(&img, x0, y0, w, h).to_image();
        Ok(Some((c, e)))
    };
    // Present students: an identity's second image in the photo, its first enrolled.
    // Strangers: images of identities never enrolled. Absent students: enrolled,
    // not in the photo.
    let mut tiles: Vec<(image::RgbImage, Option<usize>)> = Vec::new();
    let mut gallery: Vec<matching::Enrolled<usize>> = Vec::new();
    let mut spare: Vec<(image::RgbImage, Vec<f32>)> = Vec::new();
    for group in &ids {
        if group.len() >= 2 && tiles.len() < want {
            if let (Some((_, enrolled)), Some((tile, _))) = (crop(&group[0])?, crop(&group[1])?) {
                let key = gallery.len();
                gallery.push(matching::Enrolled {
                    key,
                    samples: vec![enrolled],
                });
                tiles.push((tile, Some(key)));
                continue;
            }
        }
        if let Some(c) = crop(&group[0])? {
            spare.push(c);
        }
    }
    let present = tiles.len();
    // Half the spares are strangers in the photo, half absent students.
    let mut strangers = 0;
    for (i, (tile, e)) in spare.into_iter().enumerate() {
        if i % 2 == 0 && tiles.len() < want {
            tiles.push((tile, None));
            strangers += 1;
        } else if gallery.len() < want {
            let key = gallery.len();
            gallery.push(matching::Enrolled {
                key,
                samples: vec![e],
            });
        }
    }
    // Filled up with mirrored tiles (the same people again, for timing only).
    let mut k = 0;
    let base = tiles.len();
    while tiles.len() < want && base > 0 {
        let (t, who) = &tiles[k % base];
        tiles.push((image::imageops::flip_horizontal(t), *who));
        k += 1;
    }
    // The folder has fewer people than a class: the class is filled up to `want`
    // students with reference vectors of nobody (deterministic pseudo-random unit
    // vectors, standing for absent students), so that the matching is timed against
    // a full class. They can never be proposed (nobody looks like them).
    let real_students = gallery.len();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    while gallery.len() < want {
        let mut v: Vec<f32> = (0..512)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
        v.iter_mut().for_each(|x| *x /= n);
        let key = gallery.len();
        gallery.push(matching::Enrolled {
            key,
            samples: vec![v],
        });
    }
    let cols = (want as f64).sqrt().ceil() as u32 + 1;
    let rows = (tiles.len() as u32).div_ceil(cols);
    let cell = 260u32;
    let mut mosaic =
        image::RgbImage::from_pixel(cols * cell, rows * cell, image::Rgb([235, 235, 230]));
    for (i, (t, _)) in tiles.iter().enumerate() {
        let t = image::imageops::resize(
            t,
            cell - 40,
            cell - 40,
            image::imageops::FilterType::Triangle,
        );
        let (x, y) = ((i as u32 % cols) * cell + 20, (i as u32 / cols) * cell + 20);
        image::imageops::replace(&mut mosaic, &t, x as i64, y as i64);
    }
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&mosaic)
        .context("encoding the mosaic")?;
    if let Some(p) = save {
        std::fs::write(&p, &jpeg)?;
    }
    let rule = matching::MatchRule {
        threshold: raabta::face::CLASS_THRESHOLD,
        margin: matching::DEFAULT_MARGIN,
    };
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let img = raabta::face::decode(&jpeg)?;
        let found = models.faces_embedded(&img)?;
        let embeddings: Vec<Vec<f32>> = found.into_iter().map(|e| e.embedding).collect();
        let d = matching::decide(&embeddings, &gallery, rule);
        times.push(t.elapsed().as_secs_f64());
        last = Some((embeddings.len(), d));
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let (found, d) = last.context("no run")?;
    let in_photo: Vec<usize> = tiles.iter().filter_map(|(_, w)| *w).collect();
    let right = d.pairs.iter().filter(|(_, s)| in_photo.contains(s)).count();
    let wrong = d.pairs.len() - right;
    println!(
        "{}",
        serde_json::json!({
            "mosaic": [mosaic.width(), mosaic.height()],
            "faces_in_photo": tiles.len(),
            "faces_found": found,
            "class_size": gallery.len(),
            "class_real_people": real_students,
            "present_in_photo": present,
            "strangers_in_photo": strangers,
            "proposed": d.pairs.len(),
            "proposed_right": right,
            "proposed_wrong": wrong,
            "unmatched": d.unmatched,
            "lanes": lanes,
            "model_load_s": (load_s * 100.0).round() / 100.0,
            "median_s": (median * 1000.0).round() / 1000.0,
            "runs": times.len(),
            "peak_mb": peak_mb().map(|m| m.round()),
        })
    );
    Ok(())
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
