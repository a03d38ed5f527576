//! Webhook endpoints. Each verifies the provider's signature on the raw bytes before
//! anything is parsed or stored (fail closed), routes to the school through the
//! in-memory registry, stores the events in the school's inbox and answers 200 only
//! after the commit. If the school's database cannot take them, the verified events
//! go to the spool and the provider still gets its 200.
//!
//! Status codes: missing signature 401, wrong signature 403, unknown channel 404,
//! malformed body 400 (with a reason), body over the limit 413.

use crate::app::App;
use crate::channel::{meta, telegram, twilio, Credentials};
use crate::domain::message::InboundEvent;
use crate::routing::Account;
use crate::spool::SpoolRecord;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use subtle::ConstantTimeEq;

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/webhooks/twilio",
            post(|s: State<App>, u: Uri, h: HeaderMap, b: Bytes| async move {
                let app = s.0.clone();
                counted(
                    &app,
                    "twilio",
                    twilio_inbound(s, u, h, b).await.into_response(),
                )
            }),
        )
        .route(
            "/webhooks/meta",
            get(meta_verify).post(|s: State<App>, h: HeaderMap, b: Bytes| async move {
                let app = s.0.clone();
                counted(&app, "meta", meta_inbound(s, h, b).await.into_response())
            }),
        )
        .route(
            "/webhooks/telegram/{route}",
            post(
                |s: State<App>, p: Path<String>, h: HeaderMap, b: Bytes| async move {
                    let app = s.0.clone();
                    counted(
                        &app,
                        "telegram",
                        telegram_inbound(s, p, h, b).await.into_response(),
                    )
                },
            ),
        )
}

/// Counts a refused webhook (stored and duplicate events are counted in `accept`).
fn counted(app: &App, provider: &str, res: Response) -> Response {
    if !res.status().is_success() {
        app.metrics.webhook_refused(provider, res.status());
    }
    res
}

/// Why a webhook was refused. The reason is the plain-text body; nothing in it comes
/// from a school's data.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// 401: the provider's signature header is absent (its name is the reason).
    #[error("missing {0}")]
    MissingSignature(&'static str),
    /// 403: a signature or secret that does not match.
    #[error("{0}")]
    BadSignature(&'static str),
    /// 403: a Meta subscription check we do not confirm.
    #[error("verification refused")]
    VerificationRefused,
    /// 404: no active channel takes this webhook.
    #[error("unknown channel")]
    UnknownChannel,
    /// 400: a verified body we cannot read (with the parser's reason).
    #[error("{0}")]
    Malformed(String),
    /// 503: neither the school's inbox nor the spool took the events.
    #[error("temporarily unavailable")]
    Unavailable,
}

impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        let status = match &self {
            WebhookError::MissingSignature(_) => StatusCode::UNAUTHORIZED,
            WebhookError::BadSignature(_) | WebhookError::VerificationRefused => {
                StatusCode::FORBIDDEN
            }
            WebhookError::UnknownChannel => StatusCode::NOT_FOUND,
            WebhookError::Malformed(_) => StatusCode::BAD_REQUEST,
            WebhookError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        };
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.to_string(),
        )
            .into_response()
    }
}

type Answer = Result<Response, WebhookError>;

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Stores verified events for one channel; 200 only after the commit (or the spool).
#[tracing::instrument(name = "accept", skip_all, fields(provider = %account.provider, school = %account.tenant.slug, events = events.len()))]
async fn accept(
    app: &App,
    account: &Account,
    events: Vec<InboundEvent>,
) -> Result<(), WebhookError> {
    if events.is_empty() {
        return Ok(());
    }
    let received_at = app.clock.now();
    let stored = async {
        let school = app.tenancy.open(account.tenant.clone()).await?;
        school
            .store
            .record_inbound(account.id, account.provider, &events, received_at)
            .await
    }
    .await;
    match stored {
        Ok(out) => {
            let provider = account.provider.as_str();
            app.metrics.webhook(provider, "stored", out.stored);
            app.metrics.webhook(provider, "duplicate", out.duplicates);
            tracing::info!(
                provider = %account.provider,
                school = %account.tenant.slug,
                stored = out.stored,
                duplicates = out.duplicates,
                "webhook accepted"
            );
            if out.stored > 0 {
                app.wake_worker();
                // A photo or document comes with its download job.
                if events
                    .iter()
                    .any(|e| matches!(e.body, crate::domain::message::InboundBody::Media { .. }))
                {
                    app.wake_jobs();
                }
            }
            Ok(())
        }
        Err(e) => {
            tracing::warn!(provider = %account.provider, school = %account.tenant.slug, error = %e, "inbox unavailable; spooling");
            let record = SpoolRecord {
                tenant_id: account.tenant.id,
                channel_id: account.id,
                provider: account.provider,
                received_at,
                events,
            };
            match app.spool.append(&record).await {
                Ok(()) => {
                    app.metrics.webhook(
                        account.provider.as_str(),
                        "spooled",
                        record.events.len() as u64,
                    );
                    Ok(())
                }
                Err(e) => {
                    tracing::error!(error = %e, "spool append failed: the provider will retry (Twilio will not)");
                    Err(WebhookError::Unavailable)
                }
            }
        }
    }
}

fn twiml_ok() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml")],
        "<Response/>",
    )
        .into_response()
}

async fn twilio_inbound(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let params = twilio::parse_form(&body);
    // Inbound messages are addressed To our number; status callbacks come From it.
    let find = |routes: &crate::routing::Routes| {
        twilio::param(&params, "To")
            .and_then(|to| routes.twilio(to))
            .or_else(|| twilio::param(&params, "From").and_then(|from| routes.twilio(from)))
    };
    let Some(account) = app.registry.find(&app.tenancy, find).await else {
        return Err(WebhookError::UnknownChannel);
    };
    let Credentials::Twilio { auth_token, .. } = &account.credentials else {
        return Err(WebhookError::UnknownChannel);
    };
    let Some(signature) = header_str(&headers, twilio::SIGNATURE_HEADER) else {
        return Err(WebhookError::MissingSignature("X-Twilio-Signature"));
    };
    let path = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/webhooks/twilio");
    let url = format!("{}{}", app.config.public_url, path);
    if !twilio::verify(auth_token, &url, &params, signature) {
        return Err(WebhookError::BadSignature("bad signature"));
    }
    let events = twilio::events(&params).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    accept(&app, &account, events).await?;
    Ok(twiml_ok())
}

#[derive(Deserialize)]
struct Challenge {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

async fn meta_verify(State(app): State<App>, Query(q): Query<Challenge>) -> Answer {
    let (Some(mode), Some(token), Some(challenge)) = (q.mode, q.verify_token, q.challenge) else {
        return Err(WebhookError::VerificationRefused);
    };
    let routes = app.registry.current();
    let mut matched = 0u8;
    for verify_token in routes.meta_verify_tokens() {
        matched |= verify_token.as_bytes().ct_eq(token.as_bytes()).unwrap_u8();
    }
    if mode == "subscribe" && matched == 1 && challenge.len() <= 256 {
        Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain")],
            challenge,
        )
            .into_response())
    } else {
        Err(WebhookError::VerificationRefused)
    }
}

async fn meta_inbound(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Answer {
    let Some(signature) = header_str(&headers, meta::SIGNATURE_HEADER) else {
        return Err(WebhookError::MissingSignature("X-Hub-Signature-256"));
    };
    let routes = app.registry.current();
    // The platform's Meta app serves every school (plus the few the operator registered
    // with their own app): the signature is checked once per distinct secret, before
    // looking at the body (which the body limit already bounded).
    let signed_by = routes
        .meta_secrets()
        .into_iter()
        .find(|secret| meta::verify(secret, &body, signature))
        .map(|s| zeroize::Zeroizing::new(s.to_string()));
    let Some(secret) = signed_by else {
        return Err(WebhookError::BadSignature("bad signature"));
    };
    let batch = meta::parse(&body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    // A phone number id we do not know may belong to a channel added a moment ago.
    let mut routes = routes;
    if batch.iter().any(|(id, _)| routes.meta(id).is_none()) {
        if let Some(fresh) = app.registry.reload_for_unknown(&app.tenancy).await {
            routes = fresh;
        }
    }
    let mut unknown = 0;
    let mut by_account: HashMap<uuid::Uuid, (Arc<Account>, Vec<InboundEvent>)> = HashMap::new();
    for (phone_id, events) in batch.into_iter() {
        // Only numbers whose webhooks that very secret signs: one app's secret cannot
        // speak for another app's numbers.
        let account = routes.meta(&phone_id).filter(|a| {
            routes
                .meta_secret(a)
                .is_some_and(|own| bool::from(own.as_bytes().ct_eq(secret.as_bytes())))
        });
        match account {
            Some(a) => {
                by_account
                    .entry(a.id)
                    .or_insert_with(|| (a.clone(), Vec::new()))
                    .1
                    .extend(events);
            }
            None => unknown += 1,
        }
    }
    for (_, (account, events)) in by_account {
        accept(&app, &account, events).await?;
    }
    if unknown > 0 {
        // The events we know are stored; refusing makes Meta redeliver the batch (the
        // stored ones are de-duplicated), so the rest is not lost if the channel is
        // being set up. A phone number id that never gets a channel is visible here.
        tracing::warn!(
            groups = unknown,
            "meta webhook for a phone number id with no channel here"
        );
        return Err(WebhookError::UnknownChannel);
    }
    Ok((StatusCode::OK, "").into_response())
}

async fn telegram_inbound(
    State(app): State<App>,
    Path(route): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let Some(account) = app
        .registry
        .find(&app.tenancy, |r| r.telegram(&route))
        .await
    else {
        return Err(WebhookError::UnknownChannel);
    };
    let Credentials::Telegram {
        secret_token,
        bot_token,
    } = &account.credentials
    else {
        return Err(WebhookError::UnknownChannel);
    };
    let Some(given) = header_str(&headers, telegram::SECRET_HEADER) else {
        return Err(WebhookError::MissingSignature(
            "X-Telegram-Bot-Api-Secret-Token",
        ));
    };
    if !telegram::verify(secret_token, given) {
        return Err(WebhookError::BadSignature("bad secret token"));
    }
    let Some(bot_id) = telegram::bot_id(bot_token) else {
        return Err(WebhookError::UnknownChannel);
    };
    let events =
        telegram::events(bot_id, &body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    accept(&app, &account, events).await?;
    Ok((StatusCode::OK, "").into_response())
}
