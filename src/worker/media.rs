//! The `media.fetch` job: downloads an inbound message's media from its provider,
//! checks it by content, strips metadata and stores it encrypted; only then is the
//! provider's copy deleted. The message waits in its conversation's inbox until its
//! media is stored, rejected or given up on (so it is never processed without it).

use super::jobs::{JobHandler, JobOutcome};
use crate::app::App;
use crate::channel::media::{delete_provider_copy, fetch, FetchError};
use crate::domain::job::media_of_payload;
use crate::domain::media::sanitize;
use crate::store::{JobLease, StoreError, TenantStore};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

pub struct MediaFetch {
    pub sender: Arc<super::Sender>,
}

#[async_trait]
impl JobHandler for MediaFetch {
    async fn run(
        &self,
        app: &App,
        store: &dyn TenantStore,
        job: &JobLease,
    ) -> Result<JobOutcome, StoreError> {
        let Some(id) = media_of_payload(&job.payload) else {
            return Ok(JobOutcome::Failed {
                error: "job payload names no media".into(),
            });
        };
        // Already stored or given up on (an earlier attempt finished, then the process
        // stopped before the job was marked): nothing left to do.
        let Some(media) = store.media_to_fetch(id).await? else {
            return Ok(JobOutcome::Done { result: None });
        };
        let Some(account) = app.registry.current().by_id(media.channel_id) else {
            return Ok(JobOutcome::Retry {
                error: "channel not loaded".into(),
                after: Some(Duration::from_secs(300)),
            });
        };
        let fetched = fetch(
            &self.sender.client,
            &account.api_base,
            &account.credentials,
            &media.media_ref,
            media.sha256.as_deref(),
        )
        .await;
        let now = app.clock.now();
        Ok(match fetched.map(|bytes| sanitize(&bytes)) {
            Ok(Ok((kind, clean))) => {
                if store.media_stored(id, kind.mime(), &clean, now).await? {
                    // Only now that ours is committed may the provider's copy go.
                    delete_provider_copy(
                        &self.sender.client,
                        &account.api_base,
                        &account.credentials,
                        &media.media_ref,
                    )
                    .await;
                }
                app.wake_worker();
                JobOutcome::Done { result: None }
            }
            Ok(Err(rejected)) => {
                store
                    .media_given_up(id, "rejected", &rejected.to_string(), now)
                    .await?;
                app.wake_worker();
                JobOutcome::Done { result: None }
            }
            Err(FetchError::Retry(error)) => JobOutcome::Retry { error, after: None },
            Err(FetchError::Fatal(error)) => JobOutcome::Failed { error },
        })
    }

    async fn buried(
        &self,
        app: &App,
        store: &dyn TenantStore,
        job: &JobLease,
        error: &str,
    ) -> Result<(), StoreError> {
        if let Some(id) = media_of_payload(&job.payload) {
            tracing::warn!(media = %id, "media fetch given up");
            store
                .media_given_up(id, "failed", error, app.clock.now())
                .await?;
        }
        Ok(())
    }
}
