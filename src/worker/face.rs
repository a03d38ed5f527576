//! The `face.match` job: one photo of a teacher's face-attendance session. The photo
//! (the media the step stored, encrypted) is decrypted into memory, decoded, its faces
//! found and embedded on the face lanes, and decided against the class's consented,
//! enrolled students; the result (who, how many faces matched nobody, how long) is
//! merged into the session and the photo's media row deleted in one transaction.
//! Faces of people without consent are compared and dropped: never stored, logged
//! or counted but as a number. Runs outside any transaction, under the process-wide
//! face job limit.

use super::jobs::{JobHandler, JobOutcome};
use crate::app::App;
use crate::domain::job::face_of_payload;
use crate::face::{class_rule, decode, matching, SETTING_FACE_MARGIN, SETTING_FACE_THRESHOLD};
use crate::store::{FacePhotoResult, JobLease, StoreError, TenantStore};
use async_trait::async_trait;
use std::time::Instant;

pub struct FaceMatch;

/// Why a photo could not be matched (said to nobody but the log and the session).
enum Failure {
    /// The models are missing: the teacher is told, nothing retried.
    Models(String),
    /// Not an image we can read.
    Image,
    /// The model failed on it (retried).
    Inference(String),
}

#[async_trait]
impl JobHandler for FaceMatch {
    async fn run(
        &self,
        app: &App,
        store: &dyn TenantStore,
        job: &JobLease,
    ) -> Result<JobOutcome, StoreError> {
        let Some((session, media_key)) = face_of_payload(&job.payload) else {
            return Ok(JobOutcome::Failed {
                error: "job payload names no face session".into(),
            });
        };
        let now = app.clock.now();
        let Some(s) = store.face_session(session).await? else {
            return Ok(JobOutcome::Done { result: None });
        };
        if s.status != "matching" {
            // Cancelled meanwhile: the photo still goes.
            store
                .face_photo_failed(session, &media_key, "session closed", now)
                .await?;
            return Ok(JobOutcome::Done { result: None });
        }
        let bytes = match store.media_of(&media_key).await? {
            Some(m) => m.content,
            None => None,
        };
        let Some(bytes) = bytes else {
            // Done by an earlier attempt (its result is in the session), or the
            // download was given up on.
            store
                .face_photo_failed(session, &media_key, "photo not available", now)
                .await?;
            app.wake_worker();
            return Ok(JobOutcome::Done { result: None });
        };
        let settings = store.settings().await?;
        let setting = |name: &str| {
            settings
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let rule = class_rule(
            setting(SETTING_FACE_THRESHOLD).as_deref(),
            setting(SETTING_FACE_MARGIN).as_deref(),
        );
        let gallery = store.class_gallery(s.class).await?;
        let face = app.face.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let models = face.models().map_err(Failure::Models)?;
            let started = Instant::now();
            let img = decode(&bytes).map_err(|_| Failure::Image)?;
            drop(bytes);
            let found = models
                .faces_embedded(&img)
                .map_err(|e| Failure::Inference(e.to_string()))?;
            drop(img);
            let embeddings: Vec<Vec<f32>> = found.into_iter().map(|e| e.embedding).collect();
            let decision = matching::decide(&embeddings, &gallery, rule);
            Ok::<_, Failure>(FacePhotoResult {
                faces: embeddings.len(),
                present: decision.pairs.into_iter().map(|(_, s)| s).collect(),
                unmatched: decision.unmatched,
                ms: started.elapsed().as_millis() as u64,
            })
        })
        .await;
        let result = match outcome {
            Ok(Ok(r)) => r,
            Ok(Err(Failure::Models(reason))) => {
                tracing::warn!(%reason, "face models not available");
                store
                    .face_photo_failed(session, &media_key, "models not available", now)
                    .await?;
                app.wake_worker();
                return Ok(JobOutcome::Done { result: None });
            }
            Ok(Err(Failure::Image)) => {
                store
                    .face_photo_failed(session, &media_key, "not a readable image", now)
                    .await?;
                app.wake_worker();
                return Ok(JobOutcome::Done { result: None });
            }
            Ok(Err(Failure::Inference(error))) => {
                return Ok(JobOutcome::Retry { error, after: None })
            }
            Err(e) => {
                return Ok(JobOutcome::Retry {
                    error: format!("face worker: {e}"),
                    after: None,
                })
            }
        };
        tracing::info!(
            session = %session,
            faces = result.faces,
            matched = result.present.len(),
            unmatched = result.unmatched,
            ms = result.ms,
            "class photo matched"
        );
        store
            .face_photo_done(session, &media_key, &result, app.clock.now())
            .await?;
        app.wake_worker();
        Ok(JobOutcome::Done { result: None })
    }

    async fn buried(
        &self,
        app: &App,
        store: &dyn TenantStore,
        job: &JobLease,
        _error: &str,
    ) -> Result<(), StoreError> {
        if let Some((session, media_key)) = face_of_payload(&job.payload) {
            store
                .face_photo_failed(session, &media_key, "matching failed", app.clock.now())
                .await?;
            app.wake_worker();
        }
        Ok(())
    }
}
