//! The named actions flows `call` (their inputs and outputs are declared in
//! `flow::check::ACTIONS`). They run inside the worker's transaction through
//! [`FlowTx`], check on the server that the person may see what they ask for (a
//! guardian only their own children, a teacher only their classes), and return plain
//! values for the engine: an `Ok` map of outputs, or `Err(code)` for the flow's
//! `on_error`. Store errors abort the whole step (the event is retried).

use crate::codes::bucket_with;
use crate::domain::access_code::AccessCode;
use crate::domain::activity::ActivityEntry;
use crate::domain::attendance::{AttendanceRecord, AttendanceSource, AttendanceStatus};
use crate::domain::fees::{Currency, Money};
use crate::domain::roster::ContactRef;
use crate::domain::school::Timezone;
use crate::domain::{ClassId, GuardianId, Pii, StaffId, StudentId};
use crate::flow::def::Role;
use crate::flow::engine::{Session, Who};
use crate::flow::text::{date_value, money_value};
use crate::store::{ConversationView, FlowTx, LeaveRequest, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use governor::DefaultDirectRateLimiter;
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// Failed codes allowed per conversation per hour before a lockout.
pub const LOGIN_FAILURES_PER_SENDER: i64 = 5;
/// Failed codes allowed per school per hour (a guessing campaign across senders).
pub const LOGIN_FAILURES_PER_SCHOOL: i64 = 200;

pub struct ActionCtx<'a> {
    pub conversation: &'a ConversationView,
    pub now: DateTime<Utc>,
    pub today: NaiveDate,
    pub timezone: &'a Timezone,
    pub global_logins: &'a DefaultDirectRateLimiter,
    pub hash_gate: &'a crate::password::HashGate,
    /// The school's WhatsApp channel (id and provider), for notices to a roster phone.
    pub whatsapp: Option<(Uuid, crate::domain::message::Provider)>,
    /// The access code of this event, checked before the transaction opened.
    pub prechecked: Option<&'a super::driver::Prechecked>,
    /// This event's text as a question to the school's FAQ, looked up before the
    /// transaction opened (a stranger's message).
    pub faq: Option<&'a crate::faq::FaqReply>,
    /// The school's weekend days.
    pub weekend: &'a [chrono::Weekday],
    /// The school's language (for a person who has not chosen one).
    pub default_locale: crate::domain::school::Locale,
}

/// Whether a sender may try a code now: fewer than five failures of their own in the
/// hour, and the school-wide cap holds back only senders who already failed recently
/// (a sender with no recent failure always gets a try, so a few dozen throwaway
/// accounts cannot lock a school's real parents out of logging in). A web chat is a
/// throwaway sender by nature (a new one per page load): the school-wide cap holds it
/// back whatever its own record (the web chat also limits codes per address).
pub fn login_allowed(mine: i64, school: i64, throwaway: bool) -> bool {
    mine < LOGIN_FAILURES_PER_SENDER
        && !(school >= LOGIN_FAILURES_PER_SCHOOL && (mine > 0 || throwaway))
}

type Outcome = std::result::Result<Map<String, Value>, String>;

fn out(v: Value) -> Outcome {
    match v {
        Value::Object(m) => Ok(m),
        _ => Ok(Map::new()),
    }
}

fn arg_uuid(args: &Map<String, Value>, name: &str) -> std::result::Result<Uuid, String> {
    args.get(name)
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad_{name}"))
}

/// Whether the school lets teachers decide leave for their classes from the chat.
async fn teachers_decide_leave(tx: &mut dyn FlowTx) -> Result<bool, crate::store::StoreError> {
    Ok(tx
        .setting(crate::domain::school::SETTING_TEACHERS_DECIDE_LEAVE)
        .await?
        .is_some_and(|v| v == "on"))
}

/// A fee line's name in the person's language where the school gave one, else as
/// the school wrote it.
fn line_name<'a>(
    session: &Session,
    ctx: &ActionCtx,
    description: &'a str,
    ur: &'a Option<String>,
    ar: &'a Option<String>,
) -> &'a str {
    let given = match session.locale.unwrap_or(ctx.default_locale) {
        crate::domain::school::Locale::Ur => ur.as_deref(),
        crate::domain::school::Locale::Ar => ar.as_deref(),
        _ => None,
    };
    given.unwrap_or(description)
}

/// A date range argument (`{from, to}` as the engine's date range value).
fn arg_range(v: Option<&Value>) -> Option<(NaiveDate, NaiveDate)> {
    Some((
        arg_date(v.and_then(|d| d.get("from")))?,
        arg_date(v.and_then(|d| d.get("to")))?,
    ))
}

fn arg_date(v: Option<&Value>) -> Option<NaiveDate> {
    v.and_then(|d| d.get("date"))
        .and_then(Value::as_str)
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

fn guardian(session: &Session) -> std::result::Result<GuardianId, String> {
    match &session.who {
        Some(Who {
            role: Role::Guardian,
            id,
        }) => Ok(GuardianId(*id)),
        _ => Err("forbidden".into()),
    }
}

fn staff(session: &Session) -> std::result::Result<StaffId, String> {
    match &session.who {
        Some(Who {
            role: Role::Teacher,
            id,
        }) => Ok(StaffId(*id)),
        _ => Err("forbidden".into()),
    }
}

fn actor(session: &Session, conv: &ConversationView) -> String {
    match session.who.as_ref().and_then(super::driver::contact_of) {
        Some(c) => format!("{}:{}", c.kind(), c.uuid()),
        None => format!("{}:conversation:{}", conv.provider, conv.id),
    }
}

fn activity(
    ctx: &ActionCtx<'_>,
    session: &Session,
    action: &str,
    subject: Option<String>,
    details: Value,
) -> ActivityEntry {
    let mut e = ActivityEntry::now(
        &actor(session, ctx.conversation),
        action,
        subject,
        ctx.conversation.provider.as_str(),
        details,
    );
    e.at = ctx.now;
    e
}

/// A short reference people can quote to the office.
fn reference(id: Uuid) -> String {
    id.simple().to_string()[24..].to_uppercase()
}

/// The one of `items` whose id is the `key` argument: "bad_<key>" when the argument is
/// not an id, "forbidden" when it is not one of the person's own.
fn own_of<T>(
    args: &Map<String, Value>,
    key: &str,
    items: Vec<T>,
    id_of: impl Fn(&T) -> Uuid,
) -> std::result::Result<T, String> {
    let Ok(id) = arg_uuid(args, key) else {
        return Err(format!("bad_{key}"));
    };
    items
        .into_iter()
        .find(|item| id_of(item) == id)
        .ok_or_else(|| "forbidden".to_string())
}

/// The guardian's child with this id, or an error (never another family's child).
async fn own_child(
    tx: &mut dyn FlowTx,
    g: GuardianId,
    args: &Map<String, Value>,
) -> Result<std::result::Result<crate::store::ChildRow, String>> {
    Ok(own_of(args, "student", tx.children_of(g).await?, |c| {
        c.id.0
    }))
}

/// The teacher's class with this id, or an error (never another teacher's class).
async fn own_class(
    tx: &mut dyn FlowTx,
    s: StaffId,
    args: &Map<String, Value>,
) -> Result<std::result::Result<crate::store::ClassRow, String>> {
    Ok(own_of(args, "class", tx.staff_classes(s).await?, |c| {
        c.id.0
    }))
}

/// A consent request addressed to this guardian for a child still linked to them.
async fn own_consent(
    tx: &mut dyn FlowTx,
    g: GuardianId,
    id: Uuid,
) -> Result<Option<crate::store::ConsentRequestView>> {
    let Some(r) = tx.consent_request(id).await?.filter(|r| r.guardian == g) else {
        return Ok(None);
    };
    let linked = tx.children_of(g).await?.iter().any(|c| c.id == r.student);
    Ok(linked.then_some(r))
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(code) => return Ok(Err(code)),
        }
    };
}

fn school_currency(tz: &Timezone) -> Currency {
    if tz.as_str() == "Asia/Karachi" {
        Currency::Pkr
    } else {
        Currency::Sar
    }
}

#[path = "actions_face.rs"]
mod face;

pub async fn run(
    tx: &mut dyn FlowTx,
    ctx: &ActionCtx<'_>,
    session: &mut Session,
    name: &str,
    args: &Map<String, Value>,
) -> Result<Outcome> {
    match name {
        n if n.starts_with("face_") => face::run(tx, ctx, session, n, args).await,
        "redeem_code" => redeem_code(tx, ctx, session, args).await,
        "faq_answer" => {
            // Only what was looked up for this very message (never worked out here,
            // inside the transaction); nothing found, no FAQ: not found.
            let reply = ctx.faq.filter(|_| session.who.is_none());
            Ok(out(match reply.and_then(|r| r.answer.clone()) {
                Some(answer) => json!({ "found": "yes", "answer": answer }),
                None => json!({ "found": "no", "answer": "" }),
            }))
        }
        "lead_kind" => {
            // The vendor's own school takes schools' enquiries; every other school,
            // prospective parents'.
            let vendor = tx.setting(crate::domain::school::SETTING_VENDOR).await?;
            let kind = if vendor.as_deref() == Some("on") {
                "school"
            } else {
                "parent"
            };
            // The web chat knows no number: it asks for one (confirmed on WhatsApp).
            let web = ctx.conversation.provider == crate::domain::message::Provider::Web
                && ctx.whatsapp.is_some();
            Ok(out(
                json!({ "kind": kind, "web": if web { "yes" } else { "no" } }),
            ))
        }
        "check_phone" => {
            let typed = args
                .get("phone")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim();
            if crate::flow::input::SKIP_WORDS
                .contains(&crate::flow::input::normalise(typed).as_str())
                || crate::flow::input::yes_no(typed) == Some(false)
            {
                return Ok(out(json!({ "result": "skip", "phone": "" })));
            }
            Ok(out(
                match crate::domain::phone::Phone::parse(typed, ctx.timezone.phone_region()) {
                    Ok(p) => json!({ "result": "ok", "phone": p.e164() }),
                    Err(_) => json!({ "result": "bad", "phone": "" }),
                },
            ))
        }
        "confirm_lead_phone" => {
            let Some(lead) = args
                .get("lead")
                .and_then(Value::as_str)
                .and_then(|l| l.parse::<Uuid>().ok())
            else {
                return Ok(Err("no lead".into()));
            };
            let confirmed = args.get("answer").and_then(Value::as_bool).unwrap_or(false)
                || args.get("answer").and_then(Value::as_str) == Some("true");
            let entry = activity(
                ctx,
                session,
                if confirmed {
                    "lead.phone_confirmed"
                } else {
                    "lead.phone_refused"
                },
                Some(format!("lead:{lead}")),
                json!({}),
            );
            let sender = ctx.conversation.sender.expose().to_string();
            let done = tx
                .confirm_lead_phone(lead, &sender, confirmed, &entry)
                .await?;
            Ok(out(json!({ "result": if done { "done" } else { "gone" } })))
        }
        "save_lead" => save_lead(tx, ctx, session, args).await,
        "privacy_request" => privacy_request(tx, ctx, session, args).await,
        "login_status" => Ok(match locked_until(tx, ctx).await? {
            Some(until) => locked(Some(until)),
            None => out(json!({ "result": "open", "until": "" })),
        }),
        "unlink_identity" => unlink_identity(tx, ctx, session, args).await,
        "guardian_children" => {
            let g = tri!(guardian(session));
            let children = tx.children_of(g).await?;
            let list: Vec<Value> = children
                .iter()
                .map(
                    |c| json!({ "id": c.id.0.to_string(), "label": c.name, "class": c.class_name }),
                )
                .collect();
            Ok(out(json!({
                "count": list.len(),
                "first": list.first().and_then(|c| c.get("id")).cloned().unwrap_or(Value::Null),
                "children": list,
            })))
        }
        "fee_statement" => {
            let g = tri!(guardian(session));
            let child = tri!(own_child(tx, g, args).await?);
            let lines = tx.fee_statement(child.id).await?;
            let currency = lines
                .first()
                .map(|l| l.amount.currency)
                .unwrap_or_else(|| school_currency(ctx.timezone));
            let outstanding: i64 = lines.iter().map(|l| l.outstanding_minor()).sum();
            let due: Vec<Value> = lines
                .iter()
                .filter(|l| l.outstanding_minor() > 0)
                .map(|l| {
                    let name = line_name(session, ctx, &l.description, &l.description_ur, &l.description_ar);
                    json!({
                        "period": crate::flow::text::period_value(&l.period),
                        "description": name,
                        "amount": money_value(Money { minor: l.outstanding_minor(), currency: l.amount.currency }),
                        "due": date_value(l.due_date),
                        "overdue": if l.due_date < ctx.today { "yes" } else { "no" },
                    })
                })
                .collect();
            let payments: Vec<Value> = tx
                .payments(child.id, 3)
                .await?
                .into_iter()
                .map(|p| {
                    json!({
                        "date": date_value(p.paid_on),
                        "amount": money_value(p.amount),
                        "description": line_name(session, ctx, &p.description, &p.description_ur, &p.description_ar),
                    })
                })
                .collect();
            Ok(out(json!({
                "child": child.name,
                "line_count": due.len(),
                "lines": due,
                "outstanding": money_value(Money { minor: outstanding, currency }),
                "payment_count": payments.len(),
                "payments": payments,
            })))
        }
        "fee_total" => {
            // What all the guardian's children owe together, and how to pay (the
            // school's own words, when it gave them).
            let g = tri!(guardian(session));
            let mut totals: Vec<Money> = Vec::new();
            for child in tx.children_of(g).await? {
                for l in tx.fee_statement(child.id).await? {
                    let owed = l.outstanding_minor();
                    if owed <= 0 {
                        continue;
                    }
                    match totals.iter_mut().find(|m| m.currency == l.amount.currency) {
                        Some(m) => m.minor += owed,
                        None => totals.push(Money {
                            minor: owed,
                            currency: l.amount.currency,
                        }),
                    }
                }
            }
            let total = totals
                .iter()
                .map(|m| {
                    let locale = session.locale.unwrap_or(ctx.default_locale);
                    crate::flow::text::format_value(locale, &money_value(*m))
                })
                .collect::<Option<Vec<_>>>()
                .unwrap_or_default()
                .join(" + ");
            let payment = tx
                .setting(crate::domain::school::SETTING_PAYMENT_DETAILS)
                .await?
                .filter(|p| !p.trim().is_empty());
            Ok(out(json!({
                "owing": if totals.is_empty() { "no" } else { "yes" },
                "total": total,
                "payment": payment.unwrap_or_else(|| "none".into()),
            })))
        }
        "attendance_summary" => {
            let g = tri!(guardian(session));
            let child = tri!(own_child(tx, g, args).await?);
            let from = ctx.today - Duration::days(29);
            let mut records = tx.attendance_between(child.id, from, ctx.today).await?;
            // School days of approved leave without a mark count as excused (the
            // teacher's register may not be taken yet, or not at all that day).
            let calendar = crate::domain::calendar::Calendar {
                weekend: ctx.weekend.to_vec(),
                holidays: tx.holidays_between(from, ctx.today).await?,
            };
            for (first, last) in tx.approved_leave(child.id, from, ctx.today).await? {
                let days = first
                    .max(from)
                    .iter_days()
                    .take_while(|d| *d <= last.min(ctx.today));
                for day in days {
                    if calendar.is_school_day(day) && !records.iter().any(|r| r.day == day) {
                        records.push(AttendanceRecord {
                            day,
                            student: child.id,
                            status: AttendanceStatus::Excused,
                            source: AttendanceSource::Manual,
                            recorded_by: None,
                        });
                    }
                }
            }
            records.sort_by_key(|r| r.day);
            let count = |s: AttendanceStatus| records.iter().filter(|r| r.status == s).count();
            let absent_days: Vec<Value> = records
                .iter()
                .filter(|r| r.status == AttendanceStatus::Absent)
                .map(|r| json!({ "date": date_value(r.day) }))
                .collect();
            Ok(out(json!({
                "child": child.name,
                "present": count(AttendanceStatus::Present),
                "absent": count(AttendanceStatus::Absent),
                "late": count(AttendanceStatus::Late),
                "excused": count(AttendanceStatus::Excused),
                "days": records.len(),
                "absent_days": absent_days,
                "from": date_value(from),
            })))
        }
        "check_leave_dates" => {
            // School days in the range (weekend and holidays left out): none is refused;
            // a second request for the same child and days is warned about.
            let g = tri!(guardian(session));
            let child = tri!(own_child(tx, g, args).await?);
            let Some((from, to)) = arg_range(args.get("dates")) else {
                return Ok(Err("bad_dates".into()));
            };
            let calendar = crate::domain::calendar::Calendar {
                weekend: ctx.weekend.to_vec(),
                holidays: tx.holidays_between(from, to).await?,
            };
            let days = calendar.school_days(from, to);
            let names: Vec<String> = calendar.holidays.iter().map(|h| h.name.clone()).collect();
            let result = if days == 0 {
                "no_school_days"
            } else if tx.leave_overlaps(child.id, from, to).await? {
                "overlap"
            } else {
                "ok"
            };
            Ok(out(json!({
                "result": result,
                "days": days,
                "holidays": names.join(", "),
            })))
        }
        "create_leave_request" => {
            let g = tri!(guardian(session));
            let child = tri!(own_child(tx, g, args).await?);
            let kind = args.get("kind").and_then(Value::as_str).unwrap_or("other");
            if !["sick", "family", "religious", "other"].contains(&kind) {
                return Ok(Err("bad_kind".into()));
            }
            let Some((from, to)) = arg_range(args.get("dates")) else {
                return Ok(Err("bad_dates".into()));
            };
            // The engine checked these when they were typed; a day may have passed since.
            if from < ctx.today || to < from {
                return Ok(Err("bad_dates".into()));
            }
            let reason = args
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let attachment_key = args
                .get("attachment")
                .and_then(|a| a.get("media"))
                .and_then(Value::as_str)
                .map(str::to_string);
            let id = Uuid::now_v7();
            let entry = activity(
                ctx,
                session,
                "leave_request.create",
                Some(format!("leave_request:{id}")),
                json!({ "student": child.id.0, "kind": kind, "days": (to - from).num_days() + 1, "attachment": attachment_key.is_some() }),
            );
            tx.insert_leave_request(
                &LeaveRequest {
                    id,
                    student: child.id,
                    guardian: g,
                    conversation: Some(ctx.conversation.id),
                    kind: kind.to_string(),
                    from,
                    to,
                    reason: Pii::new(reason),
                    attachment_key,
                    created_at: ctx.now,
                },
                &entry,
            )
            .await?;
            Ok(out(json!({ "reference": reference(id) })))
        }
        "pending_consents" => {
            let g = tri!(guardian(session));
            // Only children still linked to this guardian (and still at school).
            let children: Vec<StudentId> = tx.children_of(g).await?.iter().map(|c| c.id).collect();
            // Forms still open: those waiting for an answer, and (when none waits) those
            // answered, whose answer may still be changed.
            let open: Vec<_> = tx
                .pending_consents(g)
                .await?
                .into_iter()
                .filter(|r| r.deadline_at > ctx.now && children.contains(&r.student))
                .collect();
            let item = |r: &crate::store::ConsentRequestView| json!({ "id": r.id.to_string(), "label": format!("{} – {}", r.title, r.student_name) });
            let list: Vec<Value> = open
                .iter()
                .filter(|r| r.status == "pending")
                .map(item)
                .collect();
            let answered: Vec<Value> = open
                .iter()
                .filter(|r| r.status != "pending")
                .map(item)
                .collect();
            Ok(out(json!({
                "count": list.len(),
                "requests": list,
                "answered_count": answered.len(),
                "answered": answered,
            })))
        }
        "consent_details" => {
            let g = tri!(guardian(session));
            let id = tri!(arg_uuid(args, "request"));
            let Some(r) = own_consent(tx, g, id).await? else {
                return Ok(Err("forbidden".into()));
            };
            let state = if r.status != "pending" {
                r.status.clone()
            } else if r.deadline_at <= ctx.now {
                "closed".into()
            } else {
                "pending".into()
            };
            Ok(out(json!({
                "title": r.title,
                "description": r.description,
                // Answers close at the end of the deadline day (the next midnight).
                "deadline": date_value(ctx.timezone.last_day(r.deadline_at)),
                "child": r.student_name,
                "state": state,
            })))
        }
        "record_consent" => {
            let g = tri!(guardian(session));
            let id = tri!(arg_uuid(args, "request"));
            let Some(r) = own_consent(tx, g, id).await? else {
                return Ok(Err("forbidden".into()));
            };
            if r.deadline_at <= ctx.now {
                return Ok(out(json!({ "result": "too_late" })));
            }
            let approved = args
                .get("approved")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let note = args.get("note").and_then(Value::as_str);
            // The state the person saw: a form answered meanwhile elsewhere is not
            // overwritten without its "change?" question.
            let expected = args
                .get("expected")
                .and_then(Value::as_str)
                .unwrap_or("pending");
            let entry = activity(
                ctx,
                session,
                "consent.answer",
                Some(format!("consent_request:{id}")),
                json!({ "approved": approved, "note": note.is_some() }),
            );
            let result = if tx
                .answer_consent(id, approved, note, expected, &entry)
                .await?
            {
                "ok"
            } else {
                "already"
            };
            Ok(out(json!({ "result": result })))
        }
        "leave_decision" => {
            let g = tri!(guardian(session));
            let id = tri!(arg_uuid(args, "request"));
            let Some(r) = tx
                .leave_request(id)
                .await?
                .filter(|r| r.request.guardian == g)
            else {
                return Ok(Err("forbidden".into()));
            };
            Ok(out(json!({
                "child": r.student_name,
                "decision": r.status,
                "note": r.decision_note.map(|n| n.expose().clone()),
                "from": date_value(r.request.from),
                "to": date_value(r.request.to),
            })))
        }
        "teacher_classes" => {
            let s = tri!(staff(session));
            let list: Vec<Value> = tx
                .staff_classes(s)
                .await?
                .iter()
                .map(|c| json!({ "id": c.id.0.to_string(), "label": c.label() }))
                .collect();
            Ok(out(json!({
                "count": list.len(),
                "first": list.first().and_then(|c| c.get("id")).cloned().unwrap_or(Value::Null),
                "classes": list,
            })))
        }
        "class_students" => {
            let s = tri!(staff(session));
            let class = tri!(own_class(tx, s, args).await?);
            // Today's marks: a day marked already is shown and asked about before it is
            // marked again; a student on approved leave is shown as such.
            let register = tx.class_register(class.id, ctx.today).await?;
            let on_leave = tx.on_leave(class.id, ctx.today).await?;
            let mark = |id: StudentId| {
                if on_leave.contains(&id) {
                    return Some(AttendanceStatus::Excused);
                }
                register
                    .iter()
                    .find(|r| r.student == id)
                    .and_then(|r| r.status)
            };
            let students = tx.class_students(class.id).await?;
            let count_of =
                |st: AttendanceStatus| students.iter().filter(|c| mark(c.id) == Some(st)).count();
            let (was_present, was_absent, was_late) = (
                count_of(AttendanceStatus::Present),
                count_of(AttendanceStatus::Absent),
                count_of(AttendanceStatus::Late),
            );
            let marked = was_present + was_absent + was_late;
            let list: Vec<Value> = students
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    json!({
                        "n": i + 1,
                        "name": c.name,
                        "id": c.id.0.to_string(),
                        "status": mark(c.id).map(|m| m.as_str()).unwrap_or("none"),
                    })
                })
                .collect();
            Ok(out(json!({
                "count": list.len(),
                "students": list,
                "class_name": class.label(),
                "marked": marked,
                "was_present": was_present,
                "was_absent": was_absent + was_late,
            })))
        }
        "record_class_attendance" => {
            let s = tri!(staff(session));
            let class = tri!(own_class(tx, s, args).await?);
            // A list of absent numbers, or {absent, late} when some came late.
            let list = |v: Option<&Value>| -> Vec<i64> {
                v.and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_i64).collect())
                    .unwrap_or_default()
            };
            let marks = args.get("absent");
            let (absent, late) = match marks.and_then(Value::as_object) {
                Some(o) => (list(o.get("absent")), list(o.get("late"))),
                None => (list(marks), Vec::new()),
            };
            // The numbers refer to the list the teacher saw (kept in the session), not to
            // the class as it is now: a roster change in between must not mark the wrong
            // child. Each listed student must still be in this class.
            let shown: Vec<StudentId> = args
                .get("students")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.get("id").and_then(Value::as_str))
                        .filter_map(|s| s.parse().ok())
                        .map(StudentId)
                        .collect()
                })
                .unwrap_or_default();
            if absent
                .iter()
                .chain(&late)
                .any(|n| *n < 1 || *n as usize > shown.len())
            {
                return Ok(Err("bad_numbers".into()));
            }
            let current: Vec<StudentId> = tx
                .class_students(class.id)
                .await?
                .iter()
                .map(|c| c.id)
                .collect();
            let names: Vec<String> = args
                .get("students")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|s| {
                            s.get("name")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string()
                        })
                        .collect()
                })
                .unwrap_or_default();
            // A student on approved leave today is excused, listed absent or not; a day
            // already excused stays so (a correction with a reason is the admin's register).
            let mut excused: Vec<StudentId> = tx.on_leave(class.id, ctx.today).await?;
            excused.extend(
                tx.class_register(class.id, ctx.today)
                    .await?
                    .into_iter()
                    .filter(|r| r.status == Some(AttendanceStatus::Excused))
                    .map(|r| r.student),
            );
            // Guardians are told of an absence without leave, once a day per child, unless
            // the school turned the notice off (a guardian who said "stop" is not told:
            // the flow is not essential).
            let notify = tx
                .setting(crate::domain::school::SETTING_ABSENCE_NOTICE)
                .await?
                .is_none_or(|v| v != "off");
            let mut counts = (0, 0, 0);
            let mut late_count = 0;
            let mut absent_names = Vec::new();
            for (i, id) in shown.iter().enumerate() {
                if !current.contains(id) {
                    continue; // left the class since the list was shown
                }
                let is_absent = absent.contains(&(i as i64 + 1));
                let is_late = late.contains(&(i as i64 + 1));
                let status = if excused.contains(id) {
                    counts.2 += 1;
                    AttendanceStatus::Excused
                } else if is_absent {
                    counts.1 += 1;
                    let name = names.get(i).cloned().unwrap_or_default();
                    if notify {
                        let mut vars = serde_json::Map::new();
                        vars.insert("child".into(), Value::String(name.clone()));
                        vars.insert("day".into(), date_value(ctx.today));
                        let key = format!("{}:{}", id.0, ctx.today);
                        tx.trigger_guardians_of(*id, &key, "absence_notice", vars, ctx.now)
                            .await?;
                    }
                    absent_names.push(name);
                    AttendanceStatus::Absent
                } else if is_late {
                    late_count += 1;
                    AttendanceStatus::Late
                } else {
                    counts.0 += 1;
                    AttendanceStatus::Present
                };
                let entry = activity(
                    ctx,
                    session,
                    "attendance.record",
                    Some(format!("student:{}", id.0)),
                    json!({ "day": ctx.today, "status": status.as_str(), "source": "chat" }),
                );
                tx.record_attendance(
                    &AttendanceRecord {
                        day: ctx.today,
                        student: *id,
                        status,
                        source: AttendanceSource::Manual,
                        recorded_by: Some(s),
                    },
                    &entry,
                )
                .await?;
            }
            Ok(out(json!({
                "present": counts.0,
                "absent": counts.1,
                "on_leave": counts.2,
                "late": late_count,
                "absent_names": absent_names.join(", "),
            })))
        }
        "class_leave_requests" => {
            let s = tri!(staff(session));
            let classes: Vec<ClassId> = tx.staff_classes(s).await?.iter().map(|c| c.id).collect();
            let list: Vec<Value> = tx
                .pending_leave_for_classes(&classes)
                .await?
                .into_iter()
                .map(|r| {
                    json!({
                        "id": r.request.id.to_string(),
                        "label": r.student_name,
                        "child": r.student_name,
                        "kind": r.request.kind,
                        "from": date_value(r.request.from),
                        "to": date_value(r.request.to),
                        "reason": r.request.reason.expose(),
                    })
                })
                .collect();
            let may_decide = teachers_decide_leave(tx).await?;
            Ok(out(json!({
                "count": list.len(),
                "requests": list,
                "may_decide": if may_decide { "yes" } else { "no" },
            })))
        }
        "decide_class_leave" => {
            // Only where the school lets teachers decide, only a pending request of the
            // teacher's own classes (checked here, not trusted from the session).
            let s = tri!(staff(session));
            if !teachers_decide_leave(tx).await? {
                return Ok(Err("forbidden".into()));
            }
            let Some(id) = args
                .get("request")
                .and_then(Value::as_str)
                .and_then(|r| r.parse::<Uuid>().ok())
            else {
                return Ok(Err("bad_request".into()));
            };
            let classes: Vec<ClassId> = tx.staff_classes(s).await?.iter().map(|c| c.id).collect();
            let mine = tx
                .pending_leave_for_classes(&classes)
                .await?
                .iter()
                .any(|r| r.request.id == id);
            if !mine {
                return Ok(out(json!({ "result": "gone" })));
            }
            let approve = args.get("decision").and_then(Value::as_str) == Some("approve");
            let note = args
                .get("note")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|n| !n.is_empty());
            let action = if approve {
                "leave_request.approve"
            } else {
                "leave_request.reject"
            };
            let entry = activity(
                ctx,
                session,
                action,
                Some(format!("leave_request:{id}")),
                json!({ "source": "chat" }),
            );
            let done = tx.decide_leave(id, approve, note, &entry, ctx.now).await?;
            Ok(out(json!({ "result": if done { "ok" } else { "gone" } })))
        }
        "log_complaint" => {
            let Some(contact) = session.who.as_ref().and_then(super::driver::contact_of) else {
                return Ok(Err("forbidden".into()));
            };
            let text = args.get("text").and_then(Value::as_str).unwrap_or_default();
            // Only one of the school's own categories (a stale or forged value is dropped).
            let categories = crate::triage::categories(
                tx.setting(crate::triage::SETTING_CATEGORIES)
                    .await?
                    .as_deref(),
            );
            let category = args
                .get("category")
                .and_then(Value::as_str)
                .filter(|c| categories.iter().any(|x| x == c))
                .map(str::to_string);
            let attachments: Vec<String> = args
                .get("attachments")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|f| f.get("media").and_then(Value::as_str))
                .take(MAX_COMPLAINT_FILES)
                .map(str::to_string)
                .collect();
            let id = Uuid::now_v7();
            let entry = activity(
                ctx,
                session,
                "complaint.create",
                Some(format!("complaint:{id}")),
                json!({ "attachments": attachments.len(), "category": category }),
            );
            let new = crate::store::NewComplaint {
                text: text.to_string(),
                category,
                attachments,
            };
            let reference = tx.insert_complaint(id, contact, &new, &entry).await?;
            Ok(out(json!({ "reference": reference })))
        }
        "complaint_categories" => {
            let categories = crate::triage::categories(
                tx.setting(crate::triage::SETTING_CATEGORIES)
                    .await?
                    .as_deref(),
            );
            let locale = session.locale.unwrap_or(ctx.default_locale);
            let list: Vec<Value> = categories
                .iter()
                .map(|c| json!({ "id": c, "label": category_label(c, locale) }))
                .collect();
            Ok(out(json!({ "count": list.len(), "categories": list })))
        }
        "list_append" => {
            // A file added to a list being collected (a complaint's photos): at most
            // `max`, the rest refused.
            let mut list = args
                .get("list")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let max = args
                .get("max")
                .and_then(|m| m.as_str().and_then(|m| m.parse().ok()).or(m.as_u64()))
                .unwrap_or(MAX_COMPLAINT_FILES as u64) as usize;
            let item = args.get("item").cloned().unwrap_or(Value::Null);
            let added = !item.is_null() && list.len() < max;
            if added {
                list.push(item);
            }
            Ok(out(json!({
                "count": list.len(),
                "list": list,
                "result": if added { "ok" } else { "full" },
            })))
        }
        "my_complaints" => {
            let Some(contact) = session.who.as_ref().and_then(super::driver::contact_of) else {
                return Ok(Err("forbidden".into()));
            };
            let locale = session.locale.unwrap_or(ctx.default_locale);
            let list: Vec<Value> = tx
                .person_complaints(contact, ctx.now)
                .await?
                .into_iter()
                .map(|c| {
                    let category = c
                        .category
                        .as_deref()
                        .map(|x| format!(" · {}", category_label(x, locale)))
                        .unwrap_or_default();
                    // A WhatsApp list row holds 24 characters: the reference and as
                    // much of the status and category as fits.
                    let label = format!(
                        "{} · {}{category}",
                        c.reference,
                        status_label(&c.status, locale)
                    );
                    let label = if label.chars().count() > 24 {
                        let cut: String = label.chars().take(23).collect();
                        format!("{}…", cut.trim_end())
                    } else {
                        label
                    };
                    json!({ "id": c.id.to_string(), "label": label })
                })
                .collect();
            Ok(out(json!({ "count": list.len(), "complaints": list })))
        }
        "complaint_details" => {
            let Some(contact) = session.who.as_ref().and_then(super::driver::contact_of) else {
                return Ok(Err("forbidden".into()));
            };
            let Ok(id) = arg_uuid(args, "complaint") else {
                return Ok(Err("bad_complaint".into()));
            };
            let Some(c) = tx
                .person_complaints(contact, ctx.now)
                .await?
                .into_iter()
                .find(|c| c.id == id)
            else {
                return Ok(Err("forbidden".into()));
            };
            let locale = session.locale.unwrap_or(ctx.default_locale);
            Ok(out(json!({
                "reference": c.reference,
                "status": c.status,
                "status_label": status_label(&c.status, locale),
                "reply": c.last_reply.map(|r| r.expose().clone()).unwrap_or_default(),
                "closed": if c.status == "closed" { "yes" } else { "no" },
            })))
        }
        "add_to_complaint" => {
            let Some(contact) = session.who.as_ref().and_then(super::driver::contact_of) else {
                return Ok(Err("forbidden".into()));
            };
            let Ok(id) = arg_uuid(args, "complaint") else {
                return Ok(Err("bad_complaint".into()));
            };
            let message = args.get("message");
            let addition = match message {
                Some(Value::String(t)) if !t.trim().is_empty() => {
                    crate::store::Addition::Text(t.trim())
                }
                Some(Value::Object(o)) => match o.get("media").and_then(Value::as_str) {
                    Some(k) => crate::store::Addition::Media(k),
                    None => return Ok(Err("bad_message".into())),
                },
                _ => return Ok(Err("bad_message".into())),
            };
            let entry = activity(
                ctx,
                session,
                "complaint.add",
                Some(format!("complaint:{id}")),
                json!({ "file": matches!(addition, crate::store::Addition::Media(_)) }),
            );
            let outcome = tx.add_to_complaint(id, contact, addition, &entry).await?;
            Ok(out(thread_outcome(outcome)))
        }
        "complaint_news" => {
            let Some(contact) = session.who.as_ref().and_then(super::driver::contact_of) else {
                return Ok(Err("forbidden".into()));
            };
            let Ok(id) = arg_uuid(args, "complaint") else {
                return Ok(Err("bad_complaint".into()));
            };
            let message = args
                .get("message")
                .and_then(Value::as_str)
                .and_then(|m| m.parse::<Uuid>().ok());
            let Some(news) = tx.complaint_news(id, contact, message).await? else {
                return Ok(Err("forbidden".into()));
            };
            let locale = session.locale.unwrap_or(ctx.default_locale);
            Ok(out(json!({
                "reference": news.reference,
                "status": news.status,
                "status_label": status_label(&news.status, locale),
                "reply": news.reply.map(|r| r.expose().clone()).unwrap_or_default(),
                "reason": news.close_reason.map(|r| r.expose().clone()).unwrap_or_default(),
            })))
        }
        "save_csat" => {
            let Some(contact) = session.who.as_ref().and_then(super::driver::contact_of) else {
                return Ok(Err("forbidden".into()));
            };
            let Ok(id) = arg_uuid(args, "complaint") else {
                return Ok(Err("bad_complaint".into()));
            };
            let score = args
                .get("score")
                .and_then(|v| v.as_str().and_then(|s| s.parse().ok()).or(v.as_i64()))
                .unwrap_or(0);
            let comment = args
                .get("comment")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|c| !c.is_empty());
            let entry = activity(
                ctx,
                session,
                "complaint.csat",
                Some(format!("complaint:{id}")),
                json!({ "score": score, "comment": comment.is_some() }),
            );
            let outcome = tx.save_csat(id, contact, score, comment, &entry).await?;
            Ok(out(thread_outcome(outcome)))
        }
        "reopen_complaint" => {
            let Some(contact) = session.who.as_ref().and_then(super::driver::contact_of) else {
                return Ok(Err("forbidden".into()));
            };
            let Ok(id) = arg_uuid(args, "complaint") else {
                return Ok(Err("bad_complaint".into()));
            };
            let entry = activity(
                ctx,
                session,
                "complaint.reopen",
                Some(format!("complaint:{id}")),
                json!({ "source": "chat" }),
            );
            let outcome = tx.reopen_complaint(id, contact, &entry).await?;
            Ok(out(thread_outcome(outcome)))
        }
        other => {
            tracing::error!(action = other, "flow called an unknown action");
            Ok(Err("unknown_action".into()))
        }
    }
}

/// Photos and PDFs a complaint may carry.
pub const MAX_COMPLAINT_FILES: usize = 5;

/// What the person's action on a complaint came to: `result` (ok, closed,
/// not_applicable, gone) and the reference.
fn thread_outcome(o: crate::store::ThreadOutcome) -> Value {
    use crate::store::ThreadOutcome as T;
    let (result, reference) = match o {
        T::Done(r) => ("ok", r),
        T::Closed(r) => ("closed", r),
        T::NotApplicable(r) => ("not_applicable", r),
        T::NotFound => ("gone", String::new()),
    };
    json!({ "result": result, "reference": reference })
}

/// A complaint category as the person reads it: the default categories in their
/// language, a school's own as the school wrote it.
fn category_label(category: &str, locale: crate::domain::school::Locale) -> String {
    use crate::domain::school::Locale;
    let names: &[(&str, &str, &str, &str)] = &[
        ("transport", "ٹرانسپورٹ", "النقل", "transport"),
        ("fees", "فیس", "الرسوم", "fees"),
        ("teaching", "پڑھائی", "التدريس", "parhai"),
        ("behaviour", "رویہ", "السلوك", "rawaiya"),
        ("facilities", "سہولیات", "المرافق", "sahuliyat"),
        ("food", "کھانا", "الطعام", "khana"),
        ("other", "دیگر", "أخرى", "deegar"),
    ];
    let Some((en, ur, ar, ur_latn)) = names.iter().find(|n| n.0 == category) else {
        return category.to_string();
    };
    let word = match locale {
        Locale::Ur => ur,
        Locale::Ar => ar,
        Locale::UrLatn => ur_latn,
        _ => en,
    };
    let mut chars = word.chars();
    match chars.next() {
        Some(first) if locale == Locale::En || locale == Locale::UrLatn => {
            first.to_uppercase().chain(chars).collect()
        }
        _ => word.to_string(),
    }
}

/// A complaint's status as the person reads it.
fn status_label(status: &str, locale: crate::domain::school::Locale) -> &'static str {
    use crate::domain::school::Locale;
    match (status, locale) {
        ("open", Locale::Ur) => "کھلی",
        ("open", Locale::Ar) => "مفتوحة",
        ("open", Locale::UrLatn) => "khuli",
        ("open", _) => "open",
        ("in_progress", Locale::Ur) => "زیرِ غور",
        ("in_progress", Locale::Ar) => "قيد المعالجة",
        ("in_progress", Locale::UrLatn) => "zer-e-ghaur",
        ("in_progress", _) => "in progress",
        (_, Locale::Ur) => "بند",
        (_, Locale::Ar) => "مغلقة",
        (_, Locale::UrLatn) => "band",
        _ => "closed",
    }
}

/// How a channel family is named to people.
fn channel_label(channel: &str) -> &'static str {
    match channel {
        "telegram" => "Telegram",
        _ => "WhatsApp",
    }
}

/// A new chat identity was bound to `contact` with an access code: every other chat
/// of theirs gets the `new_link` notice with a "Not me" button (a template when its
/// window has closed). Someone with no other chat gets it on their roster phone's
/// WhatsApp, when the school has a WhatsApp channel.
async fn notify_new_link(
    tx: &mut dyn FlowTx,
    ctx: &ActionCtx<'_>,
    contact: ContactRef,
    identity: Uuid,
    channel: &str,
) -> Result<()> {
    let mut targets = tx.contact_conversations(contact).await?;
    if targets.is_empty() {
        if let (Some((wa, provider)), Some(phone)) = (ctx.whatsapp, tx.roster_phone(contact).await?)
        {
            let digits = phone.digits();
            // Not the chat the code was just used in.
            let here = ctx.conversation.channel_id == wa
                && ctx.conversation.sender.expose() == digits.as_str();
            if !here {
                targets.push(tx.open_conversation(wa, provider, &digits, ctx.now).await?);
            }
        }
    }
    let local = ctx.now.with_timezone(&ctx.timezone.utc_offset());
    let mut vars = Map::new();
    vars.insert("link".into(), json!(identity.to_string()));
    vars.insert("channel".into(), json!(channel_label(channel)));
    vars.insert(
        "time".into(),
        json!(local.format("%Y-%m-%d %H:%M").to_string()),
    );
    for conversation in &targets {
        tx.trigger(
            *conversation,
            &format!("link:{identity}:{}", ctx.now.timestamp()),
            "new_link",
            vars.clone(),
            ctx.now,
        )
        .await?;
    }
    tracing::info!(conversation = %ctx.conversation.id, notices = targets.len(), "new chat link: notices queued");
    Ok(())
}

/// "Not me" on a new-link notice: removes that identity at once, cancels the person's
/// unused codes and alerts the office (activity log, dashboard). Only the person may:
/// this chat is logged in as them, or it is their roster phone's WhatsApp.
async fn unlink_identity(
    tx: &mut dyn FlowTx,
    ctx: &ActionCtx<'_>,
    session: &Session,
    args: &Map<String, Value>,
) -> Result<Outcome> {
    let Some(link) = args
        .get("link")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Uuid>().ok())
    else {
        return Ok(Err("bad_link".into()));
    };
    let Some(target) = tx.identity_contact(link).await? else {
        return Ok(out(json!({ "result": "gone" })));
    };
    let (contact, channel) = (target.contact, target.channel.clone());
    let digits_of = |s: &str| -> String { s.chars().filter(|c| c.is_ascii_digit()).collect() };
    let roster = tx.roster_phone(contact).await?.map(|p| p.digits());
    // The roster phone's own WhatsApp is the person's beyond doubt: it cannot be unlinked
    // this way (the office can).
    let subject = format!("{}:{}", contact.kind(), contact.uuid());
    let refused = |why: &str| {
        let mut e = ActivityEntry::now(
            &subject,
            "identity.not_me_refused",
            Some(subject.clone()),
            ctx.conversation.provider.as_str(),
            json!({ "identity": link, "channel": channel, "conversation": ctx.conversation.id, "why": why }),
        );
        e.at = ctx.now;
        e
    };
    if target.channel == "whatsapp"
        && roster
            .as_deref()
            .is_some_and(|r| r == digits_of(target.external_id.expose()))
    {
        tx.log(&refused("the roster phone's own chat")).await?;
        return Ok(out(json!({ "result": "refused" })));
    }
    // Who may say "not me": the person's roster phone on WhatsApp, or a chat of theirs
    // linked *before* the one in question. A newer link (the intruder's) has no say over
    // an older one, so a taken-over chat cannot unlink the real person.
    let here_family = super::driver::identity_channel(ctx.conversation.provider);
    let from_roster_phone = here_family == Some("whatsapp")
        && roster
            .as_deref()
            .is_some_and(|r| r == digits_of(ctx.conversation.sender.expose()));
    let logged_in_as = session
        .who
        .as_ref()
        .and_then(super::driver::contact_of)
        .is_some_and(|c| c == contact);
    let older_link = match (logged_in_as, here_family) {
        (true, Some(family)) => tx
            .identity_of(family, ctx.conversation.sender.expose())
            .await?
            .is_some_and(|(id, since)| id != link && since < target.created_at),
        _ => false,
    };
    if !(from_roster_phone || older_link) {
        tx.log(&refused("asked from a newer or unknown chat"))
            .await?;
        return Ok(out(json!({ "result": "refused" })));
    }
    let mut entry = ActivityEntry::now(
        &subject,
        "identity.not_me",
        Some(subject.clone()),
        ctx.conversation.provider.as_str(),
        json!({ "identity": link, "channel": channel, "conversation": ctx.conversation.id }),
    );
    entry.at = ctx.now;
    let done = tx.unlink_identity(link, contact, &entry).await?;
    if done {
        tracing::warn!(conversation = %ctx.conversation.id, "a person said a new chat link was not theirs: link removed");
    }
    Ok(out(json!({ "result": if done { "ok" } else { "gone" } })))
}

/// How long failed codes count towards a sender's lock.
const LOGIN_WINDOW: Duration = Duration::hours(1);

/// When this chat's login lock ends, as the school's local time ("14:35"); None when
/// the chat is not locked.
async fn locked_until(tx: &mut dyn FlowTx, ctx: &ActionCtx<'_>) -> Result<Option<String>> {
    let until = tx
        .login_locked_until(ctx.now, LOGIN_WINDOW, LOGIN_FAILURES_PER_SENDER)
        .await?;
    Ok(until.map(|t| {
        t.with_timezone(&ctx.timezone.utc_offset())
            .format("%H:%M")
            .to_string()
    }))
}

/// The login lock's outcome: "locked" and until when.
fn locked(until: Option<String>) -> Outcome {
    out(json!({ "result": "locked", "until": until.unwrap_or_default() }))
}

/// Checks a typed access code: limits first (per conversation, per school, global),
/// then the Argon2id hashes of the code's bucket. A good code is used up at once and
/// binds this channel identity to its owner.
async fn redeem_code(
    tx: &mut dyn FlowTx,
    ctx: &ActionCtx<'_>,
    session: &mut Session,
    args: &Map<String, Value>,
) -> Result<Outcome> {
    let since = ctx.now - LOGIN_WINDOW;
    let (mine, school) = tx.login_failures(since).await?;
    if mine >= LOGIN_FAILURES_PER_SENDER {
        return Ok(locked(locked_until(tx, ctx).await?));
    }
    // The school-wide cap holds back senders who already failed recently; a sender
    // with no recent failure always gets a try, so a few dozen throwaway accounts
    // cannot lock a school's real parents out of logging in.
    let typed_code = args
        .get("code")
        .and_then(Value::as_str)
        .and_then(AccessCode::parse);
    // Prepared before the transaction: the rate was spent there (or ran out).
    let prepared = ctx
        .prechecked
        .filter(|p| typed_code.as_ref().is_some_and(|c| c.expose() == p.code));
    let over_rate = match prepared {
        Some(p) => p.busy,
        None => ctx.global_logins.check().is_err(),
    };
    let throwaway = ctx.conversation.provider == crate::domain::message::Provider::Web;
    if !login_allowed(mine, school, throwaway) || over_rate {
        return Ok(out(json!({ "result": "busy" })));
    }
    let typed = args.get("code").and_then(Value::as_str).unwrap_or_default();
    let Some(code) = AccessCode::parse(typed) else {
        tx.record_login_failure(ctx.now).await?;
        return Ok(out(json!({ "result": "wrong" })));
    };
    let bucket = bucket_with(tx.keys(), &code);
    let candidates = tx.access_codes_in_bucket(&bucket).await?;
    let found = match prepared {
        // Checked before the transaction: no Argon2 work while it is held.
        Some(pre) => pre
            .found
            .and_then(|id| candidates.into_iter().find(|c| c.id == id)),
        // Not prepared (a caller without `prepare`): checked here, in the same bound.
        None => crate::codes::matching_in(ctx.hash_gate, &code, candidates).await,
    };
    // A code that was right once but is used up or expired says so (it still counts
    // as a failure: nothing can be tried faster this way).
    let spent = match &found {
        Some(c) if c.used_at.is_some() => Some("used"),
        Some(c) if c.expires_at <= ctx.now => Some("expired"),
        _ => None,
    };
    let usable = found.filter(|_| spent.is_none());
    let Some(row) = usable else {
        tx.record_login_failure(ctx.now).await?;
        let entry = activity(
            ctx,
            session,
            "login.failed",
            None,
            json!({ "recent_failures": mine + 1 }),
        );
        tx.log(&entry).await?;
        if mine + 1 >= LOGIN_FAILURES_PER_SENDER {
            return Ok(locked(locked_until(tx, ctx).await?));
        }
        return Ok(out(json!({ "result": spent.unwrap_or("wrong") })));
    };
    let subject = format!("{}:{}", row.contact.kind(), row.contact.uuid());
    let mut entry = ActivityEntry::now(
        &subject,
        "access_code.redeem",
        Some(subject.clone()),
        ctx.conversation.provider.as_str(),
        json!({ "code_id": row.id, "conversation": ctx.conversation.id }),
    );
    entry.at = ctx.now;
    if !tx.consume_access_code(row.id, &entry).await? {
        tx.record_login_failure(ctx.now).await?;
        return Ok(out(json!({ "result": "wrong" })));
    }
    if let Some(channel) = super::driver::identity_channel(ctx.conversation.provider) {
        let (identity, new) = tx
            .bind_identity(
                channel,
                ctx.conversation.sender.expose(),
                row.contact,
                ctx.now,
            )
            .await?;
        if new {
            notify_new_link(tx, ctx, row.contact, identity, channel).await?;
        }
    }
    let who = super::driver::who_of(row.contact);
    let role = if who.role == Role::Guardian {
        "guardian"
    } else {
        "teacher"
    };
    session.who = Some(who);
    // Speak the guardian's language from the roster unless they chose one already.
    if session.locale.is_none() {
        session.locale = tx.contact_language(row.contact).await?;
    }
    Ok(out(json!({ "result": "ok", "role": role })))
}

/// Stores the lead the enquiry flow gathered (a stranger's details for a call-back),
/// with the office's notice; its reference for the person.
async fn save_lead(
    tx: &mut dyn FlowTx,
    ctx: &ActionCtx<'_>,
    session: &Session,
    args: &Map<String, Value>,
) -> Result<Outcome> {
    if session.who.is_some() {
        return Ok(Err("forbidden".into()));
    }
    let text = |k: &str| {
        args.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    let (Some(name), Some(detail)) = (text("name"), text("detail")) else {
        return Ok(Err("missing".into()));
    };
    let kind = match text("kind").as_deref() {
        Some("school") => "school",
        _ => "parent",
    };
    let language = text("language")
        .and_then(|l| l.parse::<crate::domain::school::Locale>().ok())
        .unwrap_or(session.locale.unwrap_or(ctx.default_locale));
    let id = Uuid::now_v7();
    // A number typed in the web chat (checked by `check_phone`): kept with the lead and
    // asked about on WhatsApp; only its owner's answer confirms it.
    let phone = match text("phone") {
        Some(p) if ctx.conversation.provider == crate::domain::message::Provider::Web => {
            crate::domain::phone::Phone::parse(&p, ctx.timezone.phone_region()).ok()
        }
        _ => None,
    };
    let lead = crate::store::NewLead {
        id,
        conversation: Some(ctx.conversation.id),
        kind: kind.into(),
        name: crate::domain::Pii::new(name),
        detail: crate::domain::Pii::new(detail),
        language,
        question: text("question").map(crate::domain::Pii::new),
        phone: phone
            .as_ref()
            .map(|p| crate::domain::Pii::new(p.e164().to_string())),
        at: ctx.now,
    };
    let entry = activity(
        ctx,
        session,
        "lead.created",
        Some(format!("lead:{id}")),
        json!({ "kind": kind, "language": language.as_str() }),
    );
    tx.insert_lead(&lead, &entry).await?;
    if let (Some(p), Some((wa, provider))) = (&phone, ctx.whatsapp) {
        let conv = tx
            .open_conversation(wa, provider, &p.digits(), ctx.now)
            .await?;
        let mut vars = Map::new();
        vars.insert("lead".into(), json!(id.to_string()));
        vars.insert("reference".into(), json!(reference(id)));
        tx.trigger(conv, &format!("lead:{id}"), "lead_verify", vars, ctx.now)
            .await?;
    }
    Ok(out(json!({ "reference": reference(id) })))
}

/// "My data" (issue 19): a logged-in guardian asks for a copy of their data or its
/// deletion. Recorded as pending with its due date for the administrators (notified
/// by a job); nothing is removed until one approves. The logged-in chat is the
/// identity check. Outputs the due date and a reference; an open request of the same
/// kind is answered with its own date (`result`: `recorded` or `open`).
async fn privacy_request(
    tx: &mut dyn FlowTx,
    ctx: &ActionCtx<'_>,
    session: &Session,
    args: &Map<String, Value>,
) -> Result<Outcome> {
    let Some(contact @ crate::domain::roster::ContactRef::Guardian(_)) =
        session.who.as_ref().and_then(super::driver::contact_of)
    else {
        return Ok(Err("forbidden".into()));
    };
    let Some(kind) = args
        .get("kind")
        .and_then(Value::as_str)
        .and_then(crate::store::PrivacyKind::parse)
    else {
        return Ok(Err("bad_kind".into()));
    };
    let due = crate::privacy::due_days(tx.setting("privacy_due_days").await?.as_deref());
    let id = Uuid::now_v7();
    let request = crate::store::NewPrivacyRequest {
        id,
        kind,
        contact,
        source: "chat",
        identity_check: crate::domain::Pii::new(format!(
            "logged in with an access code on {}",
            ctx.conversation.provider.as_str()
        )),
        requested_by: actor(session, ctx.conversation),
        at: ctx.now,
        due_at: ctx.now + chrono::Duration::days(due),
    };
    let entry = activity(
        ctx,
        session,
        "privacy_request.created",
        Some(format!("privacy_request:{id}")),
        json!({ "kind": kind.as_str() }),
    );
    let stored = tx.insert_privacy_request(&request, &entry).await?;
    Ok(out(json!({
        "result": if stored.id == id { "recorded" } else { "open" },
        "due": date_value(ctx.timezone.today(stored.due_at)),
        "reference": reference(stored.id),
    })))
}

#[cfg(test)]
mod tests {
    use crate::flow::check::ACTIONS;

    /// Every declared action has an implementation (an unknown one answers
    /// `unknown_action`, which this test would catch by name).
    #[test]
    fn declared_actions_are_implemented() {
        let src = [include_str!("actions.rs"), include_str!("actions_face.rs")].concat();
        for a in ACTIONS {
            if a.name == "set_language" || a.name == "cancel_request" {
                continue; // handled inside the engine
            }
            assert!(
                src.contains(&format!("\"{}\" =>", a.name)),
                "action {} has no implementation",
                a.name
            );
        }
    }
}
