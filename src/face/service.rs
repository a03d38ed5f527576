//! The face models as the serving process holds them: loaded on first use (a face
//! job, an enrolment from the admin), once, with as many lanes as the cores the face
//! job limit leaves each job. Without the models the service runs and says so.

use super::FaceModels;
use crate::models::Verified;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// Face jobs running at once in this process (`RAABTA_FACE_JOBS`, default 1): each
/// gets the machine's cores divided among them for its faces.
pub fn job_limit() -> usize {
    std::env::var("RAABTA_FACE_JOBS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1)
}

pub struct FaceService {
    models_dir: Option<PathBuf>,
    lanes: usize,
    loaded: OnceLock<Result<Arc<FaceModels>, String>>,
}

impl std::fmt::Debug for FaceService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceService")
            .field("lanes", &self.lanes)
            .finish()
    }
}

impl FaceService {
    pub fn new(models_dir: Option<PathBuf>) -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Self {
            models_dir,
            lanes: (cores / job_limit()).max(1),
            loaded: OnceLock::new(),
        }
    }

    /// The models, loaded on the first call (blocking: call it from a blocking
    /// thread), or why they cannot be had.
    pub fn models(&self) -> Result<Arc<FaceModels>, String> {
        self.loaded
            .get_or_init(|| {
                let dir = self
                    .models_dir
                    .as_ref()
                    .ok_or_else(|| "no models directory configured".to_string())?;
                let started = std::time::Instant::now();
                let verified = Verified::open(dir).map_err(|e| e.to_string())?;
                let models = FaceModels::load_lanes(&verified, self.lanes)
                    .map(Arc::new)
                    .map_err(|e| e.to_string());
                match &models {
                    Ok(_) => tracing::info!(
                        seconds = started.elapsed().as_secs_f32(),
                        lanes = self.lanes,
                        "face models loaded"
                    ),
                    Err(reason) => {
                        tracing::warn!(%reason, "face models not available: photo attendance is off")
                    }
                }
                models
            })
            .clone()
    }

    /// Whether the models are there, without loading them (the manifest lists the
    /// three face roles); the reason when not.
    pub fn present(&self) -> Result<(), String> {
        if let Some(Err(reason)) = self.loaded.get() {
            return Err(reason.clone());
        }
        let dir = self
            .models_dir
            .as_ref()
            .ok_or_else(|| "no models directory configured".to_string())?;
        let text = std::fs::read_to_string(dir.join("manifest.json"))
            .map_err(|_| format!("no model manifest in {}", dir.display()))?;
        let manifest: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("model manifest: {e}"))?;
        let roles: Vec<&str> = manifest
            .get("files")
            .and_then(|f| f.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.get("role").and_then(|r| r.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        for role in ["face-detector", "face-landmarks", "face-embedder"] {
            if !roles.contains(&role) {
                return Err(format!(
                    "the face models are not fetched (no {role}; run scripts/fetch-models.sh)"
                ));
            }
        }
        Ok(())
    }
}
