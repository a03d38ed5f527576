//! The flow driver: runs the pure engine for one inbound event inside the worker's
//! transaction. It loads the session, binds the sender to a guardian or staff member
//! when it can, turns the event into an engine input, runs actions for `call` steps
//! (through [`FlowTx`], in the same transaction), stores timers and the new session,
//! and hands the replies back to the store, which writes them to the outbox.

use super::actions::{self, ActionCtx};
use super::step::{Decision, Driver};
use crate::domain::message::{InboundBody, InboundEvent, MediaKind, OutboundMessage, Provider};
use crate::domain::phone::Phone;
use crate::domain::roster::ContactRef;
use crate::domain::school::{Locale, Timezone};
use crate::flow::def::Role;
use crate::flow::engine::{self, Context, Effect, Input, Session, Trigger, Who};
use crate::flow::Library;
use crate::store::{ConversationView, FlowTx, Result};
use chrono::{DateTime, Utc};
use governor::DefaultDirectRateLimiter;
use std::sync::Arc;

/// Action calls per event at most (each call returns to the engine).
const MAX_CALLS_PER_EVENT: usize = 32;

/// School settings the driver reads.
pub use crate::domain::school::SETTING_RECOGNISE_PHONES;

/// What the driver knows about the school it serves.
#[derive(Debug, Clone)]
pub struct SchoolInfo {
    pub name: String,
    pub timezone: Timezone,
    pub locale: Locale,
}

pub struct FlowDriver {
    pub lib: Arc<Library>,
    pub school: SchoolInfo,
    /// Login attempts across all schools of this process (the per-sender and
    /// per-school limits are counted in each school's database).
    pub global_logins: Arc<DefaultDirectRateLimiter>,
    /// The process-wide bound on Argon2 work (shared with the admin's sign-in).
    pub hash_gate: Arc<crate::password::HashGate>,
    /// The school's WhatsApp channel, oldest first (notices to a roster phone).
    pub whatsapp: Option<(uuid::Uuid, Provider)>,
    /// The local language model (free text read before the step).
    pub nlu: Arc<crate::nlu::Nlu>,
    /// The school's id (strangers' messages are bounded per school).
    pub school_id: uuid::Uuid,
}

impl FlowDriver {
    /// The driver for one school of this process.
    pub fn for_tenant(app: &crate::app::App, tenant: &crate::domain::school::Tenant) -> Self {
        Self {
            lib: app.flows.clone(),
            school: SchoolInfo {
                name: tenant.name.clone(),
                timezone: tenant.timezone.clone(),
                locale: tenant.locale,
            },
            global_logins: app.login_limiter.clone(),
            hash_gate: app.hash_gate.clone(),
            whatsapp: app
                .registry
                .current()
                .by_tenant(tenant.id)
                .into_iter()
                .find(|a| matches!(a.provider, Provider::Twilio | Provider::Meta))
                .map(|a| (a.id, a.provider)),
            nlu: app.nlu.clone(),
            school_id: tenant.id.0,
        }
    }
}

/// The channel family a sender id belongs to (identities are shared by the WhatsApp
/// providers: the same number reaches the school through Twilio or Meta).
pub fn identity_channel(p: Provider) -> Option<&'static str> {
    match p {
        Provider::Twilio | Provider::Meta => Some("whatsapp"),
        Provider::Telegram => Some("telegram"),
        Provider::Console | Provider::Web => None,
    }
}

pub(crate) fn who_of(contact: ContactRef) -> Who {
    match contact {
        ContactRef::Guardian(g) => Who {
            role: Role::Guardian,
            id: g.0,
        },
        ContactRef::Staff(s) => Who {
            role: Role::Teacher,
            id: s.0,
        },
    }
}

pub(crate) fn contact_of(who: &Who) -> Option<ContactRef> {
    match who.role {
        Role::Guardian => Some(ContactRef::Guardian(crate::domain::GuardianId(who.id))),
        Role::Teacher => Some(ContactRef::Staff(crate::domain::StaffId(who.id))),
        Role::Unknown => None,
    }
}

impl FlowDriver {
    /// Binds the conversation to a contact if the sender is already known.
    async fn recognise(
        &self,
        tx: &mut dyn FlowTx,
        conv: &ConversationView,
        row: &crate::store::SessionRow,
    ) -> Result<Option<ContactRef>> {
        if row.contact.is_some() {
            return Ok(row.contact);
        }
        let Some(channel) = identity_channel(conv.provider) else {
            return Ok(None);
        };
        if row.identity.is_some() {
            return Ok(row.identity);
        }
        // Recognising roster phones is the school's choice (off unless enabled): a
        // WhatsApp number on the roster then needs no code.
        if channel == "whatsapp" && row.recognise_phones {
            let digits: String = conv
                .sender
                .expose()
                .chars()
                .filter(|c| c.is_ascii_digit())
                .collect();
            if let Ok(phone) = Phone::parse(&format!("+{digits}"), None) {
                if let [only] = tx.contacts_by_phone(&phone).await?.as_slice() {
                    return Ok(Some(*only));
                }
            }
        }
        Ok(None)
    }
}

fn to_input(event: &InboundEvent) -> Option<Input> {
    Some(match &event.body {
        InboundBody::Text { text } => Input::Text(text.clone()),
        InboundBody::Choice { id, title, .. } => Input::Choice {
            id: id.clone(),
            title: title.clone(),
        },
        InboundBody::Media { kind, .. } => match kind {
            MediaKind::Image => Input::Media {
                image: true,
                key: event.provider_key.clone(),
            },
            MediaKind::Document => Input::Media {
                image: false,
                key: event.provider_key.clone(),
            },
            _ => Input::Unreadable,
        },
        InboundBody::Location { .. }
        | InboundBody::Contacts { .. }
        | InboundBody::Unsupported { .. } => Input::Unreadable,
        InboundBody::Timeout { token } => Input::Timeout {
            token: token.clone(),
        },
        InboundBody::Trigger { flow, key, vars } => Input::Trigger(Trigger {
            flow: flow.clone(),
            key: key.clone(),
            vars: vars.clone(),
        }),
        InboundBody::Resume => Input::Resume,
        InboundBody::Reaction | InboundBody::Edit | InboundBody::Status { .. } => return None,
        // No flow waits for a job's result yet (complaint triage and face matching will):
        // the event is recorded in order and passed over.
        InboundBody::JobResult { .. } => return None,
    })
}

/// An access code checked before the step's transaction opened (the Argon2 work of a
/// login never runs while a transaction is held): which stored code it matched, if
/// any. The step still checks that code is unused and consumes it atomically.
#[derive(Debug, Clone)]
pub struct Prechecked {
    /// The event it was checked for.
    pub provider_key: String,
    /// The code as typed, normalised.
    pub code: String,
    pub found: Option<crate::domain::AccessCodeId>,
    /// The process-wide rate of code checks was spent: not checked, "try later".
    pub busy: bool,
}

/// The driver with the work done before the step (see [`FlowDriver::prepare`]).
pub struct PreparedStep<'a> {
    pub driver: &'a FlowDriver,
    pub prechecked: Option<Prechecked>,
    /// What the language model made of the next message (by its provider key).
    pub understood: Option<(String, engine::Understood)>,
    /// A stranger's message as a question to the school's FAQ (by its provider key).
    pub faq: Option<(String, crate::faq::FaqReply)>,
}

/// Each school's FAQ index (with its embeddings where the language model is loaded),
/// built once per version of its FAQ.
type FaqIndex = (u64, Arc<crate::faq::Retrieval>);
static FAQ_INDEX: std::sync::OnceLock<
    std::sync::Mutex<std::collections::HashMap<uuid::Uuid, FaqIndex>>,
> = std::sync::OnceLock::new();

/// The school's FAQ index: from the cache when its FAQ has not changed (and the model
/// state has not: an index built without embeddings is rebuilt once they can be had).
async fn faq_index(
    nlu: &crate::nlu::Nlu,
    school: uuid::Uuid,
    rows: &[crate::faq::FaqRow],
) -> Arc<crate::faq::Retrieval> {
    let print = crate::faq::fingerprint(rows);
    let cache = FAQ_INDEX.get_or_init(Default::default);
    let model_ready = nlu.parts().is_some();
    if let Ok(c) = cache.lock() {
        if let Some((p, r)) = c.get(&school) {
            if *p == print && (r.has_embeddings() || !model_ready) {
                return r.clone();
            }
        }
    }
    let faq = crate::faq::Faq::new(rows);
    let texts: Vec<String> = faq
        .variants()
        .into_iter()
        .map(|(_, q)| q.to_string())
        .collect();
    let passages = crate::faq::passages(&faq);
    let embedded = nlu
        .with_encoder(move |enc, cache_dir| {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let v = crate::nlu::service::cached_embeddings(enc, cache_dir, &refs).ok()?;
            let prefs: Vec<&str> = passages.iter().map(String::as_str).collect();
            let p = enc.embed(crate::nlu::encoder::PASSAGE, &prefs).ok()?;
            Some((v, p))
        })
        .await
        .flatten();
    let r = match embedded {
        Some((v, p)) => crate::faq::Retrieval::new(faq).with_embeddings(v, p),
        None => crate::faq::Retrieval::new(faq),
    };
    let r = Arc::new(r);
    if let Ok(mut c) = cache.lock() {
        c.insert(school, (print, r.clone()));
    }
    r
}

/// Whether a text is for the language model: not a global command, a number or an
/// access code (those never touch it), and not empty.
pub fn for_the_model(text: &str) -> bool {
    let t = text.trim();
    !t.is_empty()
        && engine::command(t).is_none()
        && crate::flow::input::number(t).is_none()
        && crate::domain::access_code::AccessCode::parse(t).is_none()
}

#[async_trait::async_trait]
impl Driver for PreparedStep<'_> {
    async fn step(
        &self,
        tx: &mut dyn FlowTx,
        conv: &ConversationView,
        event: &InboundEvent,
        now: DateTime<Utc>,
    ) -> Result<Decision> {
        let understood = self
            .understood
            .as_ref()
            .filter(|(key, _)| *key == event.provider_key)
            .map(|(_, u)| u.clone());
        let faq = self
            .faq
            .as_ref()
            .filter(|(key, _)| *key == event.provider_key)
            .map(|(_, f)| f);
        crate::password::within_transaction(self.driver.step_with(
            tx,
            conv,
            event,
            now,
            (self.prechecked.as_ref(), faq),
            understood,
        ))
        .await
    }
}

impl FlowDriver {
    /// Bounded work a step needs, done before its transaction opens: when the
    /// conversation's next message looks like an access code (and the sender is within
    /// the login limits), its bucket's hashes are checked here, in the process-wide
    /// hashing bound (waiting for a slot; the message stays in the inbox meanwhile).
    pub async fn prepare(
        &self,
        store: &dyn crate::store::TenantStore,
        conversation: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<PreparedStep<'_>> {
        let mut prepared = PreparedStep {
            driver: self,
            prechecked: None,
            understood: None,
            faq: None,
        };
        let Some((event, logged_in)) = store.peek_next_event(conversation).await? else {
            return Ok(prepared);
        };
        let InboundBody::Text { text } = &event.body else {
            return Ok(prepared);
        };
        let mut guess = None;
        if for_the_model(text) {
            // In the model's bounded pool (strangers also within their bounds); the
            // step's transaction is not open yet.
            let sender = if logged_in {
                crate::nlu::service::Sender::Known
            } else {
                crate::nlu::service::Sender::Stranger
            };
            let phrases = crate::nlu::phrases::of_school(store).await?;
            guess = self
                .nlu
                .classify(sender, self.school_id, &phrases, text)
                .await;
            prepared.understood = guess.clone().map(|g| {
                let options = if g.near_tie {
                    g.options(self.nlu.params())
                } else {
                    Vec::new()
                };
                (
                    event.provider_key.clone(),
                    engine::Understood {
                        intent: g.intent,
                        options,
                    },
                )
            });
        }
        let t = text.trim();
        let question = !t.is_empty()
            && engine::command(t).is_none()
            && crate::flow::input::number(t).is_none()
            && crate::domain::access_code::AccessCode::typed(t).is_none();
        if question {
            // A stranger's message may be a question for the school's FAQ: looked up
            // here, with the model only within the strangers' bounds (a reading was
            // allowed), by keywords otherwise.
            if !logged_in {
                let rows = store.faq_rows().await?;
                let reply = if rows.is_empty() {
                    crate::faq::FaqReply::none()
                } else {
                    let index = faq_index(&self.nlu, self.school_id, &rows).await;
                    let embedding = if guess.is_some() && index.has_embeddings() {
                        let q = text.clone();
                        self.nlu
                            .with_encoder(move |enc, _| {
                                enc.embed(crate::nlu::encoder::QUERY, &[q.as_str()])
                                    .ok()
                                    .and_then(|mut v| v.pop())
                            })
                            .await
                            .flatten()
                    } else {
                        None
                    };
                    let found = index.find(text, embedding.as_deref());
                    let language =
                        crate::flow::input::written_in(text).unwrap_or(self.school.locale);
                    let entry = found.entry.and_then(|i| index.faq.entries.get(i));
                    crate::faq::FaqReply {
                        entry: entry.map(|e| e.id.clone()),
                        answer: entry
                            .and_then(|e| e.answer_in(language))
                            .map(str::to_string),
                        score: found.score,
                        by: found.by,
                    }
                };
                prepared.faq = Some((event.provider_key.clone(), reply));
            }
        }
        if for_the_model(text) {
            return Ok(prepared);
        }
        // A logged-in chat types no access code: its 8-letter words cost no hashing.
        if logged_in {
            return Ok(prepared);
        }
        let Some(code) = crate::domain::access_code::AccessCode::parse(text) else {
            return Ok(prepared);
        };
        let (mine, school) = store
            .login_failures_of(conversation, now - chrono::Duration::hours(1))
            .await?;
        let throwaway = store
            .conversation(conversation)
            .await?
            .is_some_and(|c| c.provider == Provider::Web);
        if !super::actions::login_allowed(mine, school, throwaway) {
            return Ok(prepared);
        }
        // The process-wide rate of code checks is spent here, where the hashing is.
        if self.global_logins.check().is_err() {
            prepared.prechecked = Some(Prechecked {
                provider_key: event.provider_key.clone(),
                code: code.expose().to_string(),
                found: None,
                busy: true,
            });
            return Ok(prepared);
        }
        let bucket = crate::codes::bucket_with(store.keys(), &code);
        let candidates = store.access_codes_in_bucket(&bucket).await?;
        let found = crate::codes::matching_in(&self.hash_gate, &code, candidates)
            .await
            .map(|c| c.id);
        prepared.prechecked = Some(Prechecked {
            provider_key: event.provider_key.clone(),
            code: code.expose().to_string(),
            found,
            busy: false,
        });
        Ok(prepared)
    }
}

impl FlowDriver {
    async fn step_with(
        &self,
        tx: &mut dyn FlowTx,
        conv: &ConversationView,
        event: &InboundEvent,
        now: DateTime<Utc>,
        (prechecked, faq): (Option<&Prechecked>, Option<&crate::faq::FaqReply>),
        understood: Option<engine::Understood>,
    ) -> Result<Decision> {
        let mut replies = Vec::new();
        if let InboundBody::Choice {
            callback_id: Some(id),
            ..
        } = &event.body
        {
            replies.push(OutboundMessage::CallbackAnswer {
                callback_id: id.clone(),
            });
        }
        let Some(mut input) = to_input(event) else {
            return Ok(Decision {
                replies,
                action: "message.ignored".into(),
            });
        };
        let identity = identity_channel(conv.provider).map(|c| (c, conv.sender.expose()));
        let row = tx.session(identity).await?;
        let mut session: Session = match &row.session {
            Some(bytes) => serde_json::from_slice(bytes).unwrap_or_else(|e| {
                // Never leave a conversation stuck on a session it cannot read.
                // serde's message may quote the value (names, reasons): log its kind only.
                tracing::error!(conversation = %conv.id, kind = ?e.classify(), line = e.line(), column = e.column(), "unreadable session reset");
                Session::default()
            }),
            None => Session::default(),
        };
        if session.handoff && row.handoff_at.is_none() {
            session.hand_back();
        }
        // A binding that no longer holds (revoked by staff, the contact removed or
        // deactivated, the identity bound to someone else) is forgotten: log in again.
        let mut revoked = false;
        if session.who.is_some() {
            let bound_here = match (row.contact, identity_channel(conv.provider)) {
                (None, _) => false,
                (Some(_), None) => true,
                (Some(c), Some(_)) => row.identity == Some(c),
            };
            if !bound_here || !row.contact_valid {
                tracing::info!(conversation = %conv.id, "chat binding no longer valid; asking for a code again");
                session = Session {
                    locale: session.locale,
                    quiet: session.quiet,
                    seq: session.seq,
                    ..Session::default()
                };
                revoked = true;
            }
        }
        if session.who.is_none() && !revoked {
            if let Some(c) = self.recognise(tx, conv, &row).await? {
                if row.identity.is_none() && row.contact.is_none() {
                    // Recognised from the roster: remember it like a code login, so a
                    // later revocation reaches this chat too.
                    if let Some(channel) = identity_channel(conv.provider) {
                        tx.bind_identity(channel, conv.sender.expose(), c, now)
                            .await?;
                    }
                }
                session.who = Some(who_of(c));
            }
        }
        let weekend =
            crate::domain::calendar::weekend_of(row.weekend.as_deref(), &self.school.timezone);
        let ctx = Context {
            sent_at: event.sent_at,
            weekend: weekend.clone(),
            office_hours: row.office_hours.clone(),
            handoff_release: row
                .handoff_release_hours
                .filter(|h| (1..=24 * 30).contains(h))
                .map(|h| std::time::Duration::from_secs(u64::from(h) * 3600))
                .unwrap_or(engine::DEFAULT_HANDOFF_RELEASE),
            understood,
            window_open: conv
                .last_inbound_at
                .is_some_and(|t| now - t < super::SERVICE_WINDOW),
            code_known: prechecked
                .is_some_and(|p| p.provider_key == event.provider_key && p.found.is_some()),
            ..Context::new(
                now,
                self.school.timezone.today(now),
                self.school.locale,
                self.school.name.clone(),
            )
        };
        let actx = ActionCtx {
            conversation: conv,
            now,
            today: ctx.today,
            timezone: &self.school.timezone,
            global_logins: &self.global_logins,
            hash_gate: &self.hash_gate,
            whatsapp: self.whatsapp,
            prechecked: prechecked.filter(|p| p.provider_key == event.provider_key),
            faq,
            weekend: &weekend,
            default_locale: self.school.locale,
        };
        let mut action = format!("flow.{}", event.body.kind());
        let mut calls = 0;
        loop {
            let out = engine::step(&self.lib, session, input, &ctx);
            session = out.session;
            let mut next = None;
            for effect in out.effects {
                match effect {
                    Effect::Send(m) => replies.push(m),
                    Effect::Timer { token, after } => {
                        let after =
                            chrono::Duration::from_std(after).unwrap_or(chrono::Duration::days(30));
                        tx.set_timer(&token, now + after).await?;
                    }
                    Effect::Handoff => action = "flow.handoff".into(),
                    // Leaving the office is what staff look for in the log: a flow
                    // started in the same step does not hide it.
                    Effect::Log(a) if !action.starts_with("handoff.") => action = a,
                    Effect::Log(_) => {}
                    Effect::Call { action: name, args } => {
                        calls += 1;
                        let result = if calls > MAX_CALLS_PER_EVENT {
                            Err("too_many_calls".to_string())
                        } else {
                            actions::run(tx, &actx, &mut session, &name, &args).await?
                        };
                        next = Some(Input::Result(result));
                    }
                }
            }
            match next {
                Some(i) => input = i,
                None => break,
            }
        }
        let json = serde_json::to_vec(&session)
            .map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
        let contact = session.who.as_ref().and_then(contact_of);
        // Nothing changed (a help text, a message while staff have the conversation):
        // no write.
        let unchanged = row.session.as_deref() == Some(json.as_slice())
            && row.contact == contact
            && row.handoff_at.is_some() == session.handoff;
        if !unchanged {
            tx.save_session(&json, contact, session.handoff, now)
                .await?;
        }
        tracing::debug!(conversation = %conv.id, position = %session.position(), "flow step");
        Ok(Decision { replies, action })
    }
}
