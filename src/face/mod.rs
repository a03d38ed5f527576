//! The embedded face matcher (issue 17): detection (UltraFace, decoded here), five
//! landmarks (MTCNN O-Net), alignment to the ArcFace template (a similarity transform,
//! Umeyama) and a 512-d embedding, all in-process on the CPU through ONNX Runtime (the
//! runtime the language model loads; `models::runtime`). Images are decoded in memory
//! and never written anywhere. See `../shared/FACE-MODELS.md` for how the models are run.

pub mod eval;
pub mod matching;
pub mod quality;
pub mod service;

use crate::models::{ModelsError, Verified};
use image::imageops::FilterType;
use image::RgbImage;
use ort::session::Session;
use std::sync::Mutex;

/// Why an enrolment photo gave no sample.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error("{0}")]
    Refused(#[from] quality::Refusal),
    #[error("not an image this service reads (JPEG, PNG or WebP)")]
    Image,
    #[error(transparent)]
    Face(FaceError),
}

/// A sample for enrolment: the embedding of the photo's one face and the figures it
/// passed the quality check with.
#[derive(Debug, Clone)]
pub struct Sample {
    pub embedding: Vec<f32>,
    pub quality: quality::Quality,
}

#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    #[error(transparent)]
    Models(#[from] ModelsError),
    #[error("face model: {0}")]
    Inference(String),
    #[error("image: {0}")]
    Image(String),
}

fn inference(e: impl std::fmt::Display) -> FaceError {
    FaceError::Inference(e.to_string())
}

/// "on": the school uses photo attendance (off by default).
pub const SETTING_FACE: &str = "face_attendance";
/// The school's class-match threshold (cosine similarity), when it changed it.
pub const SETTING_FACE_THRESHOLD: &str = "face_threshold";
/// The school's margin over the second-best student, when it changed it.
pub const SETTING_FACE_MARGIN: &str = "face_margin";
/// The threshold a class photo is decided at unless the school changed it: above the
/// verification threshold, so that nobody is proposed who is not in the photo (the
/// teacher adds the misses).
pub const CLASS_THRESHOLD: f32 = 0.45;

/// The class rule from the school's settings (defaults where unset or out of range).
pub fn class_rule(threshold: Option<&str>, margin: Option<&str>) -> matching::MatchRule {
    let read = |v: Option<&str>, lo: f32, hi: f32| {
        v.and_then(|v| v.trim().parse::<f32>().ok())
            .filter(|x| x.is_finite() && *x >= lo && *x <= hi)
    };
    matching::MatchRule {
        threshold: read(threshold, 0.2, 0.9).unwrap_or(CLASS_THRESHOLD),
        margin: read(margin, 0.0, 0.5).unwrap_or(matching::DEFAULT_MARGIN),
    }
}

/// A face found in an image (pixels of that image).
#[derive(Debug, Clone, PartialEq)]
pub struct Face {
    /// x1, y1, x2, y2.
    pub bbox: [f32; 4],
    /// The detector's probability.
    pub score: f32,
    /// Left eye, right eye, nose, left and right mouth corners.
    pub landmarks: [[f32; 2]; 5],
    /// O-Net's face probability.
    pub landmark_score: f32,
}

impl Face {
    pub fn area(&self) -> f32 {
        (self.bbox[2] - self.bbox[0]).max(0.0) * (self.bbox[3] - self.bbox[1]).max(0.0)
    }
}

/// Detector thresholds (FACE-MODELS.md).
pub const DETECT_THRESHOLD: f32 = 0.7;
pub const NMS_IOU: f32 = 0.3;
/// O-Net's face probability under which a box is dropped.
pub const LANDMARK_THRESHOLD: f32 = 0.1;
const MIN_BOXES: [&[f32]; 4] = [
    &[10.0, 16.0, 24.0],
    &[32.0, 48.0],
    &[64.0, 96.0],
    &[128.0, 192.0, 256.0],
];
const STRIDES: [f32; 4] = [8.0, 16.0, 32.0, 64.0];
/// Where the five points go in the 112×112 aligned face (ArcFace).
const TEMPLATE: [[f32; 2]; 5] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

pub struct FaceModels {
    detector: Mutex<Session>,
    /// One landmark model and one embedder per worker thread: the faces of a photo
    /// are read in parallel, one intra-op thread each.
    lanes: Vec<Lane>,
}

struct Lane {
    landmarks: Mutex<Session>,
    embedder: Mutex<Session>,
}

/// A face found and its embedding.
#[derive(Debug, Clone)]
pub struct Embedded {
    pub face: Face,
    pub embedding: Vec<f32>,
}

impl std::fmt::Debug for FaceModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FaceModels")
    }
}

fn session(models: &Verified, role: &'static str) -> Result<Session, FaceError> {
    let env = crate::models::runtime(models)?;
    let (path, _) = models.file(role)?;
    Session::builder(env)
        .map_err(inference)?
        .with_intra_threads(1)
        .map_err(inference)?
        .with_inter_threads(1)
        .map_err(inference)?
        .commit_from_file(&path)
        .map_err(inference)
}

/// The decoded image, from its bytes (its format read from its content).
pub fn decode(bytes: &[u8]) -> Result<RgbImage, FaceError> {
    image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| FaceError::Image(e.to_string()))?
        .decode()
        .map(|i| i.to_rgb8())
        .map_err(|e| FaceError::Image(e.to_string()))
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    if union <= 0.0 {
        0.0
    } else {
        inter / union
    }
}

/// The detector's input for an image at a long side of `long` pixels: its aspect kept,
/// the short side a multiple of 32.
pub fn input_size(iw: f32, ih: f32, long: f32) -> (usize, usize) {
    let short = |s: f32, l: f32| ((long * s / l / 32.0).round() * 32.0).max(64.0) as usize;
    if iw >= ih {
        (long as usize, short(ih, iw))
    } else {
        (short(iw, ih), long as usize)
    }
}

/// A part of the image (the square `x0, y0, side`, clamped to the image) shrunk so that
/// `side` becomes `target` pixels when it is larger, for sampling at that scale: the
/// part, its origin in the image, and the factor.
struct Region {
    img: RgbImage,
    x0: f32,
    y0: f32,
    f: f32,
}

impl Region {
    fn of(img: &RgbImage, x0: f32, y0: f32, side: f32, target: f32) -> Region {
        let cx0 = x0.max(0.0).floor() as u32;
        let cy0 = y0.max(0.0).floor() as u32;
        let cx1 = ((x0 + side).ceil().max(0.0) as u32).min(img.width());
        let cy1 = ((y0 + side).ceil().max(0.0) as u32).min(img.height());
        let (cw, ch) = (
            cx1.saturating_sub(cx0).max(1),
            cy1.saturating_sub(cy0).max(1),
        );
        let crop = image::imageops::crop_imm(
            img,
            cx0.min(img.width().saturating_sub(1)),
            cy0.min(img.height().saturating_sub(1)),
            cw,
            ch,
        )
        .to_image();
        let f = (target / side).min(1.0);
        let img = if f < 1.0 {
            let (nw, nh) = (
                ((cw as f32) * f).round().max(1.0) as u32,
                ((ch as f32) * f).round().max(1.0) as u32,
            );
            image::imageops::resize(&crop, nw, nh, FilterType::Triangle)
        } else {
            crop
        };
        Region {
            img,
            x0: cx0 as f32,
            y0: cy0 as f32,
            f,
        }
    }

    /// Channel `c` at image coordinates (x, y).
    fn at(&self, x: f32, y: f32, c: usize) -> f32 {
        sample(&self.img, (x - self.x0) * self.f, (y - self.y0) * self.f, c)
    }
}

/// Bilinear sample of channel `c` at (x, y); outside the image: 0.
fn sample(img: &RgbImage, x: f32, y: f32, c: usize) -> f32 {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (x0, y0) = (x.floor() as i64, y.floor() as i64);
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let px = |xi: i64, yi: i64| -> f32 {
        if xi < 0 || yi < 0 || xi >= w || yi >= h {
            0.0
        } else {
            f32::from(img.get_pixel(xi as u32, yi as u32).0[c])
        }
    };
    px(x0, y0) * (1.0 - fx) * (1.0 - fy)
        + px(x0 + 1, y0) * fx * (1.0 - fy)
        + px(x0, y0 + 1) * (1.0 - fx) * fy
        + px(x0 + 1, y0 + 1) * fx * fy
}

/// The similarity transform (scale, rotation, translation) taking `from` onto `to` in
/// the least-squares sense (Umeyama, 2-D): `[a, -b, tx; b, a, ty]`.
pub fn similarity(from: &[[f32; 2]; 5], to: &[[f32; 2]; 5]) -> [f32; 6] {
    let n = from.len() as f32;
    let mean = |p: &[[f32; 2]; 5]| {
        let (sx, sy) = p.iter().fold((0.0, 0.0), |(x, y), q| (x + q[0], y + q[1]));
        [sx / n, sy / n]
    };
    let (mf, mt) = (mean(from), mean(to));
    let (mut var, mut sxx, mut sxy) = (0.0f32, 0.0f32, 0.0f32);
    for (f, t) in from.iter().zip(to) {
        let (fx, fy) = (f[0] - mf[0], f[1] - mf[1]);
        let (tx, ty) = (t[0] - mt[0], t[1] - mt[1]);
        var += fx * fx + fy * fy;
        sxx += fx * tx + fy * ty;
        sxy += fx * ty - fy * tx;
    }
    let var = var.max(1e-6);
    let (a, b) = (sxx / var, sxy / var);
    let tx = mt[0] - (a * mf[0] - b * mf[1]);
    let ty = mt[1] - (b * mf[0] + a * mf[1]);
    [a, -b, tx, b, a, ty]
}

impl FaceModels {
    /// Loads the models with one lane (the evaluation tools, enrolment).
    pub fn load(models: &Verified) -> Result<Self, FaceError> {
        Self::load_lanes(models, 1)
    }

    /// Loads the models with `lanes` parallel lanes for the faces of one photo.
    pub fn load_lanes(models: &Verified, lanes: usize) -> Result<Self, FaceError> {
        let lanes = (0..lanes.max(1))
            .map(|_| {
                Ok(Lane {
                    landmarks: Mutex::new(session(models, "face-landmarks")?),
                    embedder: Mutex::new(session(models, "face-embedder")?),
                })
            })
            .collect::<Result<Vec<_>, FaceError>>()?;
        Ok(Self {
            detector: Mutex::new(session(models, "face-detector")?),
            lanes,
        })
    }

    /// An enrolment sample from a photo's bytes (decoded in memory; nothing of the
    /// photo is kept): exactly one face that passes the quality check.
    pub fn sample(&self, bytes: &[u8], rule: &quality::QualityRule) -> Result<Sample, SampleError> {
        let img = decode(bytes).map_err(|_| SampleError::Image)?;
        let faces = self.detect(&img).map_err(SampleError::Face)?;
        let (face, quality) = quality::check(&img, &faces, rule)?;
        let embedding = self.embed(&img, face).map_err(SampleError::Face)?;
        Ok(Sample { embedding, quality })
    }

    /// How many faces are read at once.
    pub fn lanes(&self) -> usize {
        self.lanes.len()
    }

    /// Runs `f` over `items` on every lane at once (item `i` on lane `i % lanes`),
    /// keeping the items' order in the results.
    fn on_lanes<T: Sync, R: Send>(
        &self,
        items: &[T],
        f: impl Fn(&Lane, &T) -> Result<R, FaceError> + Sync,
    ) -> Result<Vec<R>, FaceError> {
        let n = self.lanes.len().min(items.len()).max(1);
        if n == 1 {
            return items.iter().map(|it| f(&self.lanes[0], it)).collect();
        }
        let f = &f;
        let parts: Vec<Result<Vec<(usize, R)>, FaceError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..n)
                .map(|lane| {
                    let lane_ref = &self.lanes[lane];
                    scope.spawn(move || {
                        items
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| i % n == lane)
                            .map(|(i, it)| f(lane_ref, it).map(|r| (i, r)))
                            .collect::<Result<Vec<_>, FaceError>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(FaceError::Inference("a face worker panicked".into()))
                    })
                })
                .collect()
        });
        let mut all: Vec<(usize, R)> = Vec::with_capacity(items.len());
        for part in parts {
            all.extend(part?);
        }
        all.sort_by_key(|(i, _)| *i);
        Ok(all.into_iter().map(|(_, r)| r).collect())
    }

    /// Every face of a photo with its embedding (a class photo): the boxes, then the
    /// landmarks and embedding of each face on the lanes in parallel.
    pub fn faces_embedded(&self, img: &RgbImage) -> Result<Vec<Embedded>, FaceError> {
        let boxes = self.boxes(img)?;
        let found = self.on_lanes(&boxes, |lane, (bbox, score)| {
            match Self::landmarks_of(lane, img, *bbox, *score)? {
                Some(face) => {
                    let embedding = Self::embed_on(lane, img, &face)?;
                    Ok(Some(Embedded { face, embedding }))
                }
                None => Ok(None),
            }
        })?;
        Ok(found.into_iter().flatten().collect())
    }

    fn lock<'a>(m: &'a Mutex<Session>) -> Result<std::sync::MutexGuard<'a, Session>, FaceError> {
        m.lock()
            .map_err(|_| FaceError::Inference("a previous run panicked".into()))
    }

    /// The detector's boxes (image pixels) and probabilities at one input size.
    fn boxes_at(&self, img: &RgbImage, long: f32) -> Result<Vec<([f32; 4], f32)>, FaceError> {
        let (iw, ih) = (img.width() as f32, img.height() as f32);
        let (w, h) = input_size(iw, ih, long);
        // Resized with a filter (averaging what it shrinks), not point samples.
        let small = image::imageops::resize(img, w as u32, h as u32, FilterType::Triangle);
        let mut input = vec![0f32; 3 * h * w];
        for (x, y, px) in small.enumerate_pixels() {
            let (x, y) = (x as usize, y as usize);
            for c in 0..3 {
                input[c * h * w + y * w + x] = (f32::from(px.0[c]) - 127.0) / 128.0;
            }
        }
        let tensor =
            ort::value::Tensor::from_array(([1usize, 3, h, w], input)).map_err(inference)?;
        let (logits, boxes) = {
            let mut s = Self::lock(&self.detector)?;
            let out = s.run(ort::inputs!["input" => tensor]).map_err(inference)?;
            let (_, l) = out["461"].try_extract_tensor::<f32>().map_err(inference)?;
            let (_, b) = out["462"].try_extract_tensor::<f32>().map_err(inference)?;
            (l.to_vec(), b.to_vec())
        };
        let mut found: Vec<([f32; 4], f32)> = Vec::new();
        let mut k = 0usize;
        for (stride, sizes) in STRIDES.iter().zip(MIN_BOXES) {
            let (fw, fh) = (
                (w as f32 / stride).ceil() as usize,
                (h as f32 / stride).ceil() as usize,
            );
            for j in 0..fh {
                for i in 0..fw {
                    for size in sizes {
                        if 2 * k + 1 >= logits.len() || 4 * k + 3 >= boxes.len() {
                            return Err(FaceError::Inference(
                                "detector output shorter than its priors".into(),
                            ));
                        }
                        let p = 1.0 / (1.0 + (logits[2 * k] - logits[2 * k + 1]).exp());
                        if p >= DETECT_THRESHOLD {
                            let (pcx, pcy) =
                                ((i as f32 + 0.5) / fw as f32, (j as f32 + 0.5) / fh as f32);
                            let (pw, ph) = (size / w as f32, size / h as f32);
                            let r = &boxes[4 * k..4 * k + 4];
                            let cx = r[0] * 0.1 * pw + pcx;
                            let cy = r[1] * 0.1 * ph + pcy;
                            let bw = (r[2] * 0.2).exp() * pw;
                            let bh = (r[3] * 0.2).exp() * ph;
                            found.push((
                                [
                                    (cx - bw / 2.0) * iw,
                                    (cy - bh / 2.0) * ih,
                                    (cx + bw / 2.0) * iw,
                                    (cy + bh / 2.0) * ih,
                                ],
                                p,
                            ));
                        }
                        k += 1;
                    }
                }
            }
        }
        Ok(found)
    }

    /// The faces in an image, with their landmarks, best first. The detector's largest
    /// boxes are 256 pixels of its input: a portrait is read at 640 pixels; a large
    /// photo (a class, small faces) also at 1280, and the boxes of both are merged.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<Face>, FaceError> {
        let boxes = self.boxes(img)?;
        let faces = self.on_lanes(&boxes, |lane, (bbox, score)| {
            Self::landmarks_of(lane, img, *bbox, *score)
        })?;
        Ok(faces.into_iter().flatten().collect())
    }

    /// The detector's boxes after non-maximum suppression, best first.
    fn boxes(&self, img: &RgbImage) -> Result<Vec<([f32; 4], f32)>, FaceError> {
        let mut found = self.boxes_at(img, 640.0)?;
        if img.width().max(img.height()) > 1600 {
            found.extend(self.boxes_at(img, 1280.0)?);
        }
        found.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut kept: Vec<([f32; 4], f32)> = Vec::new();
        for (b, p) in found {
            if kept.iter().all(|(k, _)| iou(k, &b) < NMS_IOU) {
                kept.push((b, p));
            }
        }
        Ok(kept)
    }

    /// O-Net on a square crop around the box: the five points, or None when it is no
    /// face.
    fn landmarks_of(
        lane: &Lane,
        img: &RgbImage,
        bbox: [f32; 4],
        score: f32,
    ) -> Result<Option<Face>, FaceError> {
        let side = (bbox[2] - bbox[0]).max(bbox[3] - bbox[1]);
        if side < 4.0 {
            return Ok(None);
        }
        let (cx, cy) = ((bbox[0] + bbox[2]) / 2.0, (bbox[1] + bbox[3]) / 2.0);
        let (x0, y0) = (cx - side / 2.0, cy - side / 2.0);
        let region = Region::of(img, x0, y0, side, 48.0);
        let mut input = vec![0f32; 48 * 48 * 3];
        // The layout is [n, x, y, c]: width first.
        for x in 0..48 {
            for y in 0..48 {
                let sx = x0 + (x as f32 + 0.5) * side / 48.0 - 0.5;
                let sy = y0 + (y as f32 + 0.5) * side / 48.0 - 0.5;
                for c in 0..3 {
                    input[(x * 48 + y) * 3 + c] = (region.at(sx, sy, c) - 127.5) / 128.0;
                }
            }
        }
        let tensor =
            ort::value::Tensor::from_array(([1usize, 48, 48, 3], input)).map_err(inference)?;
        let mut s = Self::lock(&lane.landmarks)?;
        let out = s
            .run(ort::inputs!["input_3" => tensor])
            .map_err(inference)?;
        let (_, pts) = out["dense_6"]
            .try_extract_tensor::<f32>()
            .map_err(inference)?;
        let (_, prob) = out["softmax_2"]
            .try_extract_tensor::<f32>()
            .map_err(inference)?;
        if pts.len() < 10 || prob.len() < 2 {
            return Err(FaceError::Inference("landmark output too short".into()));
        }
        let p = prob[1];
        if p < LANDMARK_THRESHOLD {
            return Ok(None);
        }
        let mut landmarks = [[0f32; 2]; 5];
        for (i, l) in landmarks.iter_mut().enumerate() {
            *l = [x0 + pts[i] * side, y0 + pts[5 + i] * side];
        }
        Ok(Some(Face {
            bbox,
            score,
            landmarks,
            landmark_score: p,
        }))
    }

    /// The face's embedding (L2-normalised, 512 values), aligned on its landmarks.
    pub fn embed(&self, img: &RgbImage, face: &Face) -> Result<Vec<f32>, FaceError> {
        Self::embed_on(&self.lanes[0], img, face)
    }

    fn embed_on(lane: &Lane, img: &RgbImage, face: &Face) -> Result<Vec<f32>, FaceError> {
        // The transform takes the face onto the template; sample through its inverse.
        let [a, nb, tx, b, _, ty] = similarity(&face.landmarks, &TEMPLATE);
        let _ = nb;
        let det = a * a + b * b;
        if det <= 1e-9 {
            return Err(FaceError::Inference("degenerate landmarks".into()));
        }
        // The face at about the template's scale before sampling (the part around it
        // shrunk with a filter when the face is larger).
        let scale = det.sqrt();
        let side = (face.bbox[2] - face.bbox[0]).max(face.bbox[3] - face.bbox[1]) * 2.0;
        let (cx, cy) = (
            (face.bbox[0] + face.bbox[2]) / 2.0,
            (face.bbox[1] + face.bbox[3]) / 2.0,
        );
        let region = Region::of(img, cx - side / 2.0, cy - side / 2.0, side, side * scale);
        let mut input = vec![0f32; 3 * 112 * 112];
        for v in 0..112 {
            for u in 0..112 {
                let (du, dv) = (u as f32 - tx, v as f32 - ty);
                let x = (a * du + b * dv) / det;
                let y = (-b * du + a * dv) / det;
                for c in 0..3 {
                    input[c * 112 * 112 + v * 112 + u] = (region.at(x, y, c) - 127.0) / 128.0;
                }
            }
        }
        let tensor =
            ort::value::Tensor::from_array(([1usize, 3, 112, 112], input)).map_err(inference)?;
        let mut s = Self::lock(&lane.embedder)?;
        let out = s.run(ort::inputs!["input" => tensor]).map_err(inference)?;
        let (_, v) = out["output"]
            .try_extract_tensor::<f32>()
            .map_err(inference)?;
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
        Ok(v.iter().map(|x| x / norm).collect())
    }
}

/// Cosine similarity of two L2-normalised embeddings.
pub fn similarity_of(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_similarity_transform_recovers_a_known_one() {
        // Scale 2, rotation 30°, shift (5, -3).
        let (s, t) = (2.0f32, 30f32.to_radians());
        let (a, b) = (s * t.cos(), s * t.sin());
        let to: Vec<[f32; 2]> = TEMPLATE
            .iter()
            .map(|p| [a * p[0] - b * p[1] + 5.0, b * p[0] + a * p[1] - 3.0])
            .collect();
        let to: [[f32; 2]; 5] = [to[0], to[1], to[2], to[3], to[4]];
        let m = similarity(&TEMPLATE, &to);
        for (got, want) in m.iter().zip([a, -b, 5.0, b, a, -3.0]) {
            assert!((got - want).abs() < 1e-3, "{m:?}");
        }
    }

    #[test]
    fn the_input_keeps_the_aspect() {
        assert_eq!(input_size(1000.0, 750.0, 640.0), (640, 480));
        assert_eq!(input_size(1536.0, 2048.0, 1280.0), (960, 1280));
        assert_eq!(input_size(400.0, 4000.0, 640.0), (64, 640));
    }

    #[test]
    fn overlap_is_measured_by_intersection_over_union() {
        assert!((iou(&[0.0, 0.0, 2.0, 2.0], &[1.0, 0.0, 3.0, 2.0]) - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(iou(&[0.0, 0.0, 1.0, 1.0], &[2.0, 2.0, 3.0, 3.0]), 0.0);
    }
}
