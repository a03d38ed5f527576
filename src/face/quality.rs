//! The enrolment sample check: exactly one face, and that face good enough to be
//! a reference (size, sharpness, brightness, pose from the landmarks, detector
//! score). Each refusal has its reason. Pure: works on the decoded image.

use super::Face;
use image::RgbImage;
use serde::Serialize;

/// The bounds a sample must meet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityRule {
    /// The face's shorter side in pixels of the photo.
    pub min_face_px: f32,
    /// Variance of the Laplacian over the face, at 112 pixels.
    pub min_sharpness: f32,
    /// Mean brightness of the face (0–255).
    pub brightness: (f32, f32),
    /// Turn of the head: how far the nose is off the eyes' middle, in eye distances.
    pub max_yaw: f32,
    /// Tilt of the eye line in degrees.
    pub max_roll: f32,
    /// Nose height between the eyes and the mouth (0 at the eyes, 1 at the mouth).
    pub pitch: (f32, f32),
    /// The detector's and the landmark model's probabilities.
    pub min_score: f32,
}

pub const DEFAULT_RULE: QualityRule = QualityRule {
    min_face_px: 80.0,
    min_sharpness: 15.0,
    brightness: (45.0, 215.0),
    max_yaw: 0.35,
    max_roll: 25.0,
    pitch: (0.2, 0.8),
    min_score: 0.9,
};

/// The figures of a sample that passed (kept beside the embedding: numbers about the
/// photo, nothing of the face).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Quality {
    pub face_px: f32,
    pub sharpness: f32,
    pub brightness: f32,
    pub yaw: f32,
    pub roll: f32,
    pub pitch: f32,
    pub score: f32,
}

/// Why a sample was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("no face found in the photo")]
    NoFace,
    #[error("{0} faces in the photo: a sample must show exactly one")]
    SeveralFaces(usize),
    #[error("the face is too small ({0:.0} pixels; at least {1:.0})")]
    TooSmall(f32, f32),
    #[error("the photo is blurred (sharpness {0:.0}; at least {1:.0})")]
    Blurred(f32, f32),
    #[error("the face is too dark (brightness {0:.0}; at least {1:.0})")]
    TooDark(f32, f32),
    #[error("the face is too bright (brightness {0:.0}; at most {1:.0})")]
    TooBright(f32, f32),
    #[error("the head is turned or tilted: the face must look at the camera")]
    Pose,
    #[error("the face is not clear enough (detector score {0:.2}; at least {1:.2})")]
    LowScore(f32, f32),
}

/// Faces counted for the one-face rule: those at least this share of the largest
/// face's side (a stranger far in the background of a portrait does not count).
const COUNTED_SHARE: f32 = 0.4;

/// The one face of a sample and its figures, or why it cannot be one.
pub fn check<'a>(
    img: &RgbImage,
    faces: &'a [Face],
    rule: &QualityRule,
) -> Result<(&'a Face, Quality), Refusal> {
    let side = |f: &Face| (f.bbox[2] - f.bbox[0]).min(f.bbox[3] - f.bbox[1]);
    let largest = faces.iter().map(side).fold(0.0, f32::max);
    let counted: Vec<&Face> = faces
        .iter()
        .filter(|f| side(f) >= largest * COUNTED_SHARE)
        .collect();
    let face = match counted.as_slice() {
        [] => return Err(Refusal::NoFace),
        [one] => *one,
        many => return Err(Refusal::SeveralFaces(many.len())),
    };
    let q = measure(img, face);
    if q.face_px < rule.min_face_px {
        return Err(Refusal::TooSmall(q.face_px, rule.min_face_px));
    }
    if q.score < rule.min_score {
        return Err(Refusal::LowScore(q.score, rule.min_score));
    }
    if q.yaw > rule.max_yaw
        || q.roll > rule.max_roll
        || q.pitch < rule.pitch.0
        || q.pitch > rule.pitch.1
    {
        return Err(Refusal::Pose);
    }
    if q.brightness < rule.brightness.0 {
        return Err(Refusal::TooDark(q.brightness, rule.brightness.0));
    }
    if q.brightness > rule.brightness.1 {
        return Err(Refusal::TooBright(q.brightness, rule.brightness.1));
    }
    if q.sharpness < rule.min_sharpness {
        return Err(Refusal::Blurred(q.sharpness, rule.min_sharpness));
    }
    Ok((face, q))
}

/// The figures of one face.
pub fn measure(img: &RgbImage, face: &Face) -> Quality {
    let [le, re, nose, lm, rm] = face.landmarks;
    let eye_mid = [(le[0] + re[0]) / 2.0, (le[1] + re[1]) / 2.0];
    let mouth_mid = [(lm[0] + rm[0]) / 2.0, (lm[1] + rm[1]) / 2.0];
    let eye_dist = ((re[0] - le[0]).powi(2) + (re[1] - le[1]).powi(2))
        .sqrt()
        .max(1e-3);
    let yaw = ((nose[0] - eye_mid[0]).abs() / eye_dist).min(9.0);
    let roll = (re[1] - le[1]).atan2(re[0] - le[0]).to_degrees().abs();
    let roll = roll.min(180.0 - roll).min(roll);
    let span = mouth_mid[1] - eye_mid[1];
    let pitch = if span.abs() < 1e-3 {
        0.0
    } else {
        (nose[1] - eye_mid[1]) / span
    };
    let (brightness, sharpness) = gray_figures(img, face);
    Quality {
        face_px: (face.bbox[2] - face.bbox[0]).min(face.bbox[3] - face.bbox[1]),
        sharpness,
        brightness,
        yaw,
        roll,
        pitch,
        score: face.score.min(face.landmark_score),
    }
}

/// Mean brightness and the variance of the Laplacian of the face box, read at 112
/// pixels (so that a large photo is not sharper just by its size).
fn gray_figures(img: &RgbImage, face: &Face) -> (f32, f32) {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let x0 = face.bbox[0].clamp(0.0, w - 1.0) as u32;
    let y0 = face.bbox[1].clamp(0.0, h - 1.0) as u32;
    let x1 = (face.bbox[2].clamp(0.0, w) as u32).max(x0 + 1);
    let y1 = (face.bbox[3].clamp(0.0, h) as u32).max(y0 + 1);
    let crop = image::imageops::crop_imm(img, x0, y0, x1 - x0, y1 - y0).to_image();
    const N: u32 = 112;
    let small = image::imageops::resize(&crop, N, N, image::imageops::FilterType::Triangle);
    let gray: Vec<f32> = small
        .pixels()
        .map(|p| 0.299 * f32::from(p.0[0]) + 0.587 * f32::from(p.0[1]) + 0.114 * f32::from(p.0[2]))
        .collect();
    let mean = gray.iter().sum::<f32>() / gray.len() as f32;
    let n = N as usize;
    let mut lap = Vec::with_capacity((n - 2) * (n - 2));
    for y in 1..n - 1 {
        for x in 1..n - 1 {
            let c = gray[y * n + x];
            lap.push(
                gray[(y - 1) * n + x]
                    + gray[(y + 1) * n + x]
                    + gray[y * n + x - 1]
                    + gray[y * n + x + 1]
                    - 4.0 * c,
            );
        }
    }
    let lm = lap.iter().sum::<f32>() / lap.len() as f32;
    let var = lap.iter().map(|v| (v - lm).powi(2)).sum::<f32>() / lap.len() as f32;
    (mean, var)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(bbox: [f32; 4], landmarks: [[f32; 2]; 5]) -> Face {
        Face {
            bbox,
            score: 0.99,
            landmarks,
            landmark_score: 0.99,
        }
    }

    const FRONT: [[f32; 2]; 5] = [
        [70.0, 90.0],
        [130.0, 90.0],
        [100.0, 125.0],
        [75.0, 160.0],
        [125.0, 160.0],
    ];

    /// A textured image (a checkerboard of `cell` pixels at two grey levels).
    fn board(cell: u32, lo: u8, hi: u8) -> RgbImage {
        RgbImage::from_fn(200, 240, |x, y| {
            let v = if (x / cell + y / cell).is_multiple_of(2) {
                lo
            } else {
                hi
            };
            image::Rgb([v, v, v])
        })
    }

    #[test]
    fn one_clear_frontal_face_passes() {
        let img = board(6, 60, 190);
        let f = [face([40.0, 50.0, 160.0, 200.0], FRONT)];
        let (_, q) = check(&img, &f, &DEFAULT_RULE).expect("passes");
        assert!(q.yaw < 0.01 && q.roll < 0.01, "{q:?}");
    }

    #[test]
    fn each_refusal_has_its_reason() {
        let img = board(6, 60, 190);
        let good = face([40.0, 50.0, 160.0, 200.0], FRONT);
        assert_eq!(
            check(&img, &[], &DEFAULT_RULE).unwrap_err(),
            Refusal::NoFace
        );
        let mut other = good.clone();
        other.bbox = [0.0, 0.0, 100.0, 110.0];
        assert_eq!(
            check(&img, &[good.clone(), other], &DEFAULT_RULE).unwrap_err(),
            Refusal::SeveralFaces(2)
        );
        let small = face([40.0, 50.0, 100.0, 110.0], FRONT);
        assert!(matches!(
            check(&img, &[small], &DEFAULT_RULE),
            Err(Refusal::TooSmall(..))
        ));
        let mut turned = good.clone();
        turned.landmarks[2] = [128.0, 125.0];
        assert_eq!(
            check(&img, &[turned], &DEFAULT_RULE).unwrap_err(),
            Refusal::Pose
        );
        let mut tilted = good.clone();
        tilted.landmarks[1] = [125.0, 130.0];
        assert_eq!(
            check(&img, &[tilted], &DEFAULT_RULE).unwrap_err(),
            Refusal::Pose
        );
        let mut unsure = good.clone();
        unsure.score = 0.75;
        assert!(matches!(
            check(&img, &[unsure], &DEFAULT_RULE),
            Err(Refusal::LowScore(..))
        ));
        let dark = board(6, 5, 40);
        assert!(matches!(
            check(&dark, std::slice::from_ref(&good), &DEFAULT_RULE),
            Err(Refusal::TooDark(..))
        ));
        let bright = board(6, 225, 255);
        assert!(matches!(
            check(&bright, std::slice::from_ref(&good), &DEFAULT_RULE),
            Err(Refusal::TooBright(..))
        ));
        let flat = RgbImage::from_pixel(200, 240, image::Rgb([128, 128, 128]));
        assert!(matches!(
            check(&flat, &[good], &DEFAULT_RULE),
            Err(Refusal::Blurred(..))
        ));
    }

    #[test]
    fn a_small_face_far_behind_does_not_count() {
        let img = board(6, 60, 190);
        let good = face([40.0, 50.0, 160.0, 200.0], FRONT);
        let mut far = good.clone();
        far.bbox = [0.0, 0.0, 30.0, 30.0];
        assert!(check(&img, &[good, far], &DEFAULT_RULE).is_ok());
    }
}
