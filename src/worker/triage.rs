//! The `complaint.triage` job. With an AI endpoint configured and the school's switch
//! on, within its monthly budget: the complaint is redacted (the school's roster),
//! the redacted text — never the original, an attachment or a health note — goes to
//! the endpoint, the answer is checked (one more call if it is not what was asked for)
//! and the summary and reply get the real names back for staff. Otherwise, or when the
//! redactor fails (no AI call then), or after the last attempt: local rules. Each AI
//! call leaves a receipt in the activity log (counts per entity type, no values).

use super::jobs::{JobHandler, JobOutcome};
use crate::app::App;
use crate::domain::activity::ActivityEntry;
use crate::domain::job::complaint_of_payload;
use crate::domain::Pii;
use crate::redact::Redactor;
use crate::store::{JobLease, StoreError, TenantStore, TriageRecord};
use crate::triage::ai::AiError;
use crate::triage::{self, Triage};
use async_trait::async_trait;
use serde_json::json;
use std::time::Duration;

pub struct ComplaintTriage;

fn record(t: Triage, source: &str, note: Option<String>) -> TriageRecord {
    TriageRecord {
        source: source.into(),
        category: t.category,
        priority: t.priority,
        sentiment: t.sentiment,
        language: t.language,
        summary: Pii::new(t.summary),
        suggested_reply: Pii::new(t.suggested_reply),
        note,
    }
}

/// What the step's language detection makes of a text.
fn language_of(text: &str) -> &'static str {
    match crate::flow::input::written_in(text) {
        Some(l) => l.as_str(),
        None if crate::flow::input::arabic_script(text) => "ur",
        None => "en",
    }
}

/// The local triage: keyword rules, with the category from the language model where
/// it is loaded and decides (the school's own category examples included); which of
/// the two chose the category.
pub async fn local_triage(
    app: &App,
    text: &str,
    categories: &[String],
    own_examples: Option<&str>,
) -> (Triage, &'static str) {
    let mut t = triage::local(text, categories, language_of(text));
    let own = match own_examples.map(|x| triage::model::parse_examples(x, categories)) {
        Some(Ok(own)) => own,
        Some(Err(e)) => {
            // Saved through the settings page, which checks them: a category removed
            // since. The built-in examples still serve.
            tracing::warn!(error = %e, "the school's category examples are not usable");
            Vec::new()
        }
        None => Vec::new(),
    };
    let examples = triage::model::examples_for(categories, &own);
    let owned = text.to_string();
    let decided = app
        .nlu
        .with_encoder(move |encoder, cache| {
            triage::model::category(encoder, cache, &owned, &examples, triage::model::PARAMS)
        })
        .await;
    match decided {
        Some(Ok(Some(category))) => {
            t.category = category;
            (t, "model")
        }
        Some(Err(e)) => {
            tracing::warn!(error = %e, "the language model could not triage; keywords only");
            (t, "keywords")
        }
        _ => (t, "keywords"),
    }
}

/// The school's setting `name`, from the settings read once.
fn setting<'a>(settings: &'a [(String, String)], name: &str) -> Option<&'a str> {
    settings
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Triages a complaint locally and saves it with the reason it was not the AI.
async fn save_local(
    app: &App,
    store: &dyn TenantStore,
    id: uuid::Uuid,
    text: &str,
    settings: &[(String, String)],
    reason: &str,
    mut details: serde_json::Value,
) -> Result<(), StoreError> {
    let categories = triage::categories(setting(settings, triage::SETTING_CATEGORIES));
    let (t, by) = local_triage(
        app,
        text,
        &categories,
        setting(settings, triage::model::SETTING_EXAMPLES),
    )
    .await;
    details["source"] = json!("local");
    details["category_by"] = json!(by);
    let entry = ActivityEntry {
        actor: "system".into(),
        action: "complaint.triage".into(),
        subject: Some(format!("complaint:{id}")),
        source: "job".into(),
        details,
        at: app.clock.now(),
    };
    store
        .save_triage(id, &record(t, "local", Some(reason.to_string())), &entry)
        .await
        .map(|_| ())
}

#[async_trait]
impl JobHandler for ComplaintTriage {
    /// The job is given up on (its last attempt failed or ran out of time): the
    /// complaint is triaged locally, so none stays untriaged.
    async fn buried(
        &self,
        app: &App,
        store: &dyn TenantStore,
        job: &JobLease,
        error: &str,
    ) -> Result<(), StoreError> {
        let Some(id) = complaint_of_payload(&job.payload) else {
            return Ok(());
        };
        let Some(text) = store.complaint_to_triage(id).await? else {
            return Ok(());
        };
        let settings = store.settings().await?;
        let reason = format!("AI triage gave up: {error}");
        save_local(app, store, id, text.expose(), &settings, &reason, json!({})).await
    }

    async fn run(
        &self,
        app: &App,
        store: &dyn TenantStore,
        job: &JobLease,
    ) -> Result<JobOutcome, StoreError> {
        let Some(id) = complaint_of_payload(&job.payload) else {
            return Ok(JobOutcome::Failed {
                error: "job payload names no complaint".into(),
            });
        };
        // Unknown or triaged already (an earlier attempt finished): nothing to do.
        let Some(text) = store.complaint_to_triage(id).await? else {
            return Ok(JobOutcome::Done { result: None });
        };
        let settings = store.settings().await?;
        let get = |name: &str| setting(&settings, name);
        let categories = triage::categories(get(triage::SETTING_CATEGORIES));
        let now = app.clock.now();
        let local = |note: String, details: serde_json::Value| {
            let (text, settings) = (&text, &settings);
            async move { save_local(app, store, id, text.expose(), settings, &note, details).await }
        };
        let save = |r: TriageRecord, details: serde_json::Value| {
            let entry = ActivityEntry {
                actor: "system".into(),
                action: "complaint.triage".into(),
                subject: Some(format!("complaint:{id}")),
                source: "job".into(),
                details,
                at: now,
            };
            async move { store.save_triage(id, &r, &entry).await }
        };
        let Some(ai) = app.ai.as_ref() else {
            local("no AI endpoint configured".into(), json!({})).await?;
            return Ok(JobOutcome::Done { result: None });
        };
        if get(triage::SETTING_AI) != Some("on") {
            local("AI triage is off for this school".into(), json!({})).await?;
            return Ok(JobOutcome::Done { result: None });
        }
        let month = now.format("%Y-%m").to_string();
        // The school's budget, never above the platform's cap (the key is the operator's).
        let budget = get(triage::SETTING_AI_BUDGET)
            .and_then(|b| b.trim().parse::<i64>().ok())
            .unwrap_or(triage::DEFAULT_AI_BUDGET)
            .min(app.config.ai.as_ref().map_or(0, |a| a.monthly_tokens_cap));
        if store.ai_tokens(&month).await? >= budget {
            local("the monthly AI budget is spent".into(), json!({})).await?;
            return Ok(JobOutcome::Done { result: None });
        }
        // The gate: no AI call without a redacted text.
        let known = store.known_names().await?;
        let redacted = match Redactor::for_school(&known).redact(text.expose()) {
            Ok(r) => r,
            Err(e) => {
                local(format!("not sent to the AI: redactor: {e}"), json!({})).await?;
                return Ok(JobOutcome::Done { result: None });
            }
        };
        let prompt = match triage::prompt(&categories, &redacted.text) {
            Ok(p) => p,
            Err(e) => {
                local(format!("prompt: {e}"), json!({})).await?;
                return Ok(JobOutcome::Done { result: None });
            }
        };
        let receipt: serde_json::Map<String, serde_json::Value> = redacted
            .counts()
            .into_iter()
            .map(|(k, n)| (k.as_str().to_string(), json!(n)))
            .collect();
        let last_attempt = job.attempts >= job.max_attempts;
        let mut problem = String::new();
        // The answer is checked; one more call when it is not what was asked for.
        for call in 1..=2 {
            let answer = match ai.complete(&prompt).await {
                Ok(a) => a,
                Err(AiError::Transient(e)) if !last_attempt => {
                    tracing::warn!(complaint = %id, error = %e, attempt = job.attempts, "AI triage will be retried");
                    return Ok(JobOutcome::Retry {
                        error: e,
                        after: Some(Duration::from_secs(
                            30 * u64::from(job.attempts.max(1) as u32),
                        )),
                    });
                }
                Err(AiError::Transient(e)) => {
                    problem = format!("AI endpoint: {e} (last attempt)");
                    break;
                }
                Err(e) => {
                    problem = e.to_string();
                    break;
                }
            };
            store.add_ai_tokens(&month, answer.tokens, now).await?;
            match triage::parse(&answer.text, &categories) {
                Ok(mut t) => {
                    // Staff read real names: the placeholders are put back on our side.
                    t.summary = redacted.restore(&t.summary);
                    t.suggested_reply = redacted.restore(&t.suggested_reply);
                    save(
                        record(t, "ai", None),
                        json!({ "source": "ai", "redacted": receipt, "tokens": answer.tokens, "calls": call }),
                    )
                    .await?;
                    return Ok(JobOutcome::Done { result: None });
                }
                Err(e) => problem = format!("AI answer not usable: {e}"),
            }
        }
        local(problem, json!({ "redacted": receipt })).await?;
        Ok(JobOutcome::Done { result: None })
    }
}
