//! The teacher's face-attendance actions (issue 17). A photo opens a session (or
//! joins the teacher's session of the last minute) and queues the face job; the job
//! starts `face_proposal`, whose actions show the proposal, toggle it, and write it
//! only when the teacher confirms: the confirmed students present (source face, the
//! session's id), nobody else. The rest are marked absent or late only when the
//! teacher says so, as the teacher's own marks.

use super::{activity, out, staff, Outcome};
use crate::domain::attendance::{AttendanceRecord, AttendanceSource, AttendanceStatus};
use crate::domain::{ClassId, StudentId};
use crate::flow::engine::Session;
use crate::flow::text::date_value;
use crate::store::{FlowTx, Result};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::ActionCtx;

/// Photos within this many seconds of the session's last one join it.
pub const BURST_SECONDS: i64 = 60;

fn media_key(v: Option<&Value>) -> Option<String> {
    v.and_then(|f| f.get("media"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The media keys of a `file` argument and a `more` list (photos held for a session).
fn photo_keys(args: &Map<String, Value>) -> Vec<String> {
    let mut keys: Vec<String> = media_key(args.get("file")).into_iter().collect();
    if let Some(more) = args.get("more").and_then(Value::as_array) {
        keys.extend(more.iter().filter_map(|m| media_key(Some(m))));
    }
    keys
}

fn session_arg(args: &Map<String, Value>) -> std::result::Result<Uuid, String> {
    args.get("session")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| "bad_session".to_string())
}

/// The students list as the flow keeps it.
fn students_arg(args: &Map<String, Value>) -> Vec<Map<String, Value>> {
    args.get("students")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_object().cloned()).collect())
        .unwrap_or_default()
}

fn is_present(s: &Map<String, Value>) -> bool {
    s.get("present").and_then(Value::as_str) == Some("yes")
}

fn by_hand(list: &[Map<String, Value>]) -> usize {
    list.iter().filter(|s| !is_present(s)).count()
}

/// The session named in the arguments, if it is this teacher's.
async fn own_session(
    tx: &mut dyn FlowTx,
    args: &Map<String, Value>,
    teacher: crate::domain::StaffId,
) -> Result<std::result::Result<crate::store::FaceSessionRow, String>> {
    let id = match session_arg(args) {
        Ok(id) => id,
        Err(code) => return Ok(Err(code)),
    };
    Ok(tx
        .face_session_row(id)
        .await?
        .filter(|s| s.staff == teacher)
        .ok_or_else(|| "forbidden".to_string()))
}

async fn face_on(tx: &mut dyn FlowTx) -> Result<bool> {
    Ok(tx
        .setting(crate::face::SETTING_FACE)
        .await?
        .is_some_and(|v| v == "on"))
}

pub(super) async fn run(
    tx: &mut dyn FlowTx,
    ctx: &ActionCtx<'_>,
    session: &Session,
    name: &str,
    args: &Map<String, Value>,
) -> Result<Outcome> {
    let teacher = match staff(session) {
        Ok(s) => s,
        Err(code) => return Ok(Err(code)),
    };
    match name {
        "face_photo" => {
            let Some(key) = media_key(args.get("file")) else {
                return Ok(Err("bad_file".into()));
            };
            if !face_on(tx).await? {
                // Not used here: the photo is not kept either.
                tx.face_discard_photo(&key).await?;
                return Ok(out(
                    json!({ "state": "off", "classes": [], "class_name": "" }),
                ));
            }
            // A photo sent at the proposal: it joins that session, whatever its age
            // (or, the session closed meanwhile, it is not kept).
            if let Some(sid) = args
                .get("session")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Uuid>().ok())
            {
                let open = tx.face_session_row(sid).await?.filter(|s| {
                    s.staff == teacher && matches!(s.status.as_str(), "matching" | "proposed")
                });
                return Ok(out(match open {
                    Some(open) => {
                        tx.face_add_photo(open.id, &key, ctx.now).await?;
                        let class_name = class_label(tx, teacher, open.class).await?;
                        json!({ "state": "joined", "classes": [], "class_name": class_name })
                    }
                    None => {
                        tx.face_discard_photo(&key).await?;
                        json!({ "state": "closed", "classes": [], "class_name": "" })
                    }
                }));
            }
            let since = ctx.now - chrono::Duration::seconds(BURST_SECONDS);
            if let Some(open) = tx.face_open_session(teacher, since).await? {
                tx.face_add_photo(open.id, &key, ctx.now).await?;
                let class_name = class_label(tx, teacher, open.class).await?;
                return Ok(out(json!({
                    "state": "joined",
                    "classes": [],
                    "class_name": class_name,
                })));
            }
            let classes = tx.staff_classes(teacher).await?;
            match classes.as_slice() {
                [] => {
                    tx.face_discard_photo(&key).await?;
                    Ok(out(
                        json!({ "state": "none", "classes": [], "class_name": "" }),
                    ))
                }
                [only] => {
                    let id = tx
                        .face_new_session(
                            teacher,
                            only.id,
                            ctx.conversation.provider.as_str(),
                            ctx.now,
                        )
                        .await?;
                    tx.face_add_photo(id, &key, ctx.now).await?;
                    Ok(out(json!({
                        "state": "queued",
                        "classes": [],
                        "class_name": only.label(),
                    })))
                }
                many => {
                    let list: Vec<Value> = many
                        .iter()
                        .map(|c| json!({ "id": c.id.0.to_string(), "label": c.label() }))
                        .collect();
                    Ok(out(
                        json!({ "state": "pick", "classes": list, "class_name": "" }),
                    ))
                }
            }
        }
        "face_submit" => {
            // The class the teacher picked (one of theirs, checked here) and the
            // photos sent while they were asked.
            let Some(class) = args
                .get("class")
                .and_then(Value::as_str)
                .and_then(|c| c.parse::<Uuid>().ok())
                .map(ClassId)
            else {
                return Ok(Err("bad_class".into()));
            };
            let classes = tx.staff_classes(teacher).await?;
            let Some(c) = classes.iter().find(|c| c.id == class) else {
                return Ok(Err("forbidden".into()));
            };
            let keys = photo_keys(args);
            if keys.is_empty() {
                return Ok(Err("bad_file".into()));
            }
            let id = tx
                .face_new_session(teacher, c.id, ctx.conversation.provider.as_str(), ctx.now)
                .await?;
            for k in &keys {
                tx.face_add_photo(id, k, ctx.now).await?;
            }
            Ok(out(
                json!({ "class_name": c.label(), "photos": keys.len() }),
            ))
        }
        "face_proposal" => {
            let s = match own_session(tx, args, teacher).await? {
                Ok(s) => s,
                Err(code) => return Ok(Err(code)),
            };
            let class_name = class_label(tx, teacher, s.class).await?;
            let state = match s.status.as_str() {
                "proposed" => "proposed",
                "failed" => "failed",
                _ => "closed",
            };
            let rows = tx.face_class(s.class).await?;
            let list: Vec<Map<String, Value>> = rows
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let present = s.proposal.contains(&r.student);
                    let why = if present {
                        "seen"
                    } else if !r.consent {
                        "no_consent"
                    } else if r.samples == 0 {
                        "not_enrolled"
                    } else {
                        "not_seen"
                    };
                    let v = json!({
                        "n": i + 1,
                        "id": r.student.0.to_string(),
                        "name": r.name,
                        "present": if present { "yes" } else { "no" },
                        "why": why,
                    });
                    v.as_object().cloned().unwrap_or_default()
                })
                .collect();
            let present_count = list.iter().filter(|s| is_present(s)).count();
            Ok(out(json!({
                "state": state,
                "count": list.len(),
                "by_hand": by_hand(&list),
                "students": list,
                "class_name": class_name,
                "present_count": present_count,
                "faces": s.faces,
                "unmatched": s.unmatched,
            })))
        }
        "face_toggle" => {
            let mut list = students_arg(args);
            let numbers: Vec<i64> = args
                .get("toggle")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default();
            if numbers.iter().any(|n| *n < 1 || *n as usize > list.len()) {
                return Ok(Err("bad_numbers".into()));
            }
            for n in numbers {
                if let Some(s) = list.get_mut(n as usize - 1) {
                    let now_present = !is_present(s);
                    s.insert(
                        "present".into(),
                        json!(if now_present { "yes" } else { "no" }),
                    );
                    if now_present {
                        s.insert("why".into(), json!("teacher"));
                    } else if s.get("why").and_then(Value::as_str) == Some("seen")
                        || s.get("why").and_then(Value::as_str) == Some("teacher")
                    {
                        s.insert("why".into(), json!("unticked"));
                    }
                }
            }
            let present_count = list.iter().filter(|s| is_present(s)).count();
            Ok(out(json!({
                "by_hand": by_hand(&list),
                "students": list,
                "present_count": present_count,
            })))
        }
        "face_confirm" => {
            let s = match own_session(tx, args, teacher).await? {
                Ok(s) => s,
                Err(code) => return Ok(Err(code)),
            };
            let id = s.id;
            let list = students_arg(args);
            let id_of = |m: &Map<String, Value>| {
                m.get("id")
                    .and_then(Value::as_str)
                    .and_then(|v| v.parse().ok())
                    .map(StudentId)
            };
            let present: Vec<StudentId> = list
                .iter()
                .filter(|m| is_present(m))
                .filter_map(id_of)
                .collect();
            let entry = activity(
                ctx,
                session,
                "attendance.face",
                Some(format!("class:{}", s.class.0)),
                json!({}),
            );
            if !tx.face_confirm(id, &present, ctx.today, &entry).await? {
                return Ok(Err("closed".into()));
            }
            let rest: Vec<Value> = list
                .iter()
                .filter(|m| !is_present(m))
                .map(|m| {
                    json!({
                        "id": m.get("id").cloned().unwrap_or(Value::Null),
                        "name": m.get("name").cloned().unwrap_or(Value::Null),
                    })
                })
                .collect();
            let names: Vec<&str> = rest
                .iter()
                .filter_map(|r| r.get("name").and_then(Value::as_str))
                .collect();
            Ok(out(json!({
                "saved": present.len(),
                "rest_count": rest.len(),
                "rest_names": names.join(", "),
                "rest": rest,
                "class_name": class_label(tx, teacher, s.class).await?,
            })))
        }
        "face_rest" => {
            let s = match own_session(tx, args, teacher).await? {
                Ok(s) if s.status == "confirmed" => s,
                Ok(_) => return Ok(Err("forbidden".into())),
                Err(code) => return Ok(Err(code)),
            };
            let status = match args.get("mark").and_then(Value::as_str) {
                Some("absent") => AttendanceStatus::Absent,
                Some("late") => AttendanceStatus::Late,
                _ => return Ok(Err("bad_mark".into())),
            };
            let class: Vec<StudentId> = tx
                .face_class(s.class)
                .await?
                .iter()
                .map(|r| r.student)
                .collect();
            let on_leave = tx.on_leave(s.class, ctx.today).await?;
            let notify = tx
                .setting(crate::domain::school::SETTING_ABSENCE_NOTICE)
                .await?
                .is_none_or(|v| v != "off");
            let mut count = 0;
            for r in args
                .get("rest")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(student) = r
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|v| v.parse().ok())
                    .map(StudentId)
                    .filter(|st| class.contains(st))
                else {
                    continue;
                };
                let mark = if on_leave.contains(&student) {
                    AttendanceStatus::Excused
                } else {
                    status
                };
                if mark == AttendanceStatus::Absent && notify {
                    let name = r.get("name").and_then(Value::as_str).unwrap_or_default();
                    let mut vars = Map::new();
                    vars.insert("child".into(), json!(name));
                    vars.insert("day".into(), date_value(ctx.today));
                    let key = format!("{}:{}", student.0, ctx.today);
                    tx.trigger_guardians_of(student, &key, "absence_notice", vars, ctx.now)
                        .await?;
                }
                let entry = activity(
                    ctx,
                    session,
                    "attendance.record",
                    Some(format!("student:{}", student.0)),
                    json!({ "day": ctx.today, "status": mark.as_str(), "source": "chat" }),
                );
                tx.record_attendance(
                    &AttendanceRecord {
                        day: ctx.today,
                        student,
                        status: mark,
                        source: AttendanceSource::Manual,
                        recorded_by: Some(teacher),
                    },
                    &entry,
                )
                .await?;
                count += 1;
            }
            Ok(out(json!({ "count": count })))
        }
        "face_drop_photos" => {
            // Photos held for a class that was never chosen (the question timed out, a
            // photo over the limit, a failure): not kept.
            let keys = photo_keys(args);
            for k in &keys {
                tx.face_discard_photo(k).await?;
            }
            Ok(out(json!({})))
        }
        "face_drop" => {
            if let Ok(s) = own_session(tx, args, teacher).await? {
                tx.face_cancel(s.id, ctx.now).await?;
            }
            Ok(out(json!({})))
        }
        _ => Ok(Err("unknown_action".into())),
    }
}

async fn class_label(
    tx: &mut dyn FlowTx,
    teacher: crate::domain::StaffId,
    class: ClassId,
) -> Result<String> {
    Ok(tx
        .staff_classes(teacher)
        .await?
        .into_iter()
        .find(|c| c.id == class)
        .map(|c| c.label())
        .unwrap_or_default())
}
