//! Access codes in the web admin: issue for one guardian (by phone) or for the
//! guardians of a class, and print slips (name, code, the school's WhatsApp number and
//! a QR code of the wa.me link that sends the code). Codes are shown once, here.
//!
//! Scope: admins any class, branch managers their branch's classes; one guardian by
//! phone is for admins only. Teachers issue no codes (a code logs its holder in as the
//! guardian, so a teacher holding one could act as the parent): they ask the office to
//! print their class's slips, which shows on the administrators' dashboard.

use super::auth::ActiveSession;
use super::error::{AdminError, Staff, StaffForm};
use super::web::{class_choices, page_ctx, render, visible_classes};
use crate::app::App;
use crate::domain::message::Provider;
use crate::domain::phone::Phone;
use crate::domain::roster::{ContactRef, StaffRole};
use crate::domain::school::Locale;
use crate::domain::{ClassId, GuardianId};
use crate::store::tenancy::School;
use crate::store::ClassRow;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;
use std::collections::BTreeMap;

store_port!(
    ActivityStore,
    OfficeStore,
    RosterStore,
    AccessCodeStore,
    FlowStore,
    SchoolKeys
);

/// Most codes one request may issue (a big class is well below).
const MAX_CODES: usize = 300;

pub async fn page(Staff { school, session: s }: Staff) -> Result<Response, AdminError> {
    let classes = visible_classes(port(&school), &s).await?;
    Ok(codes_page(&school, &s, &classes, None))
}

/// The codes page: the person's classes, and the class whose slips they just asked for.
fn codes_page(
    school: &School,
    s: &ActiveSession,
    classes: &[ClassRow],
    requested: Option<String>,
) -> Response {
    render(
        "codes.html",
        page_ctx(
            school,
            s,
            context! {
                classes => class_choices(classes),
                teacher => s.staff.role == StaffRole::Teacher,
                requested => requested,
            },
        ),
    )
}

/// The class a form names, if it is one of the person's (not a class: 400; not theirs:
/// 404), and all of theirs.
async fn chosen_class(
    school: &School,
    s: &ActiveSession,
    raw: &str,
) -> Result<(ClassRow, Vec<ClassRow>), AdminError> {
    let class = raw
        .trim()
        .parse::<uuid::Uuid>()
        .map(ClassId)
        .map_err(|_| bad("Unknown class."))?;
    let classes = visible_classes(port(school), s).await?;
    let found = classes
        .iter()
        .find(|c| c.id == class)
        .cloned()
        .ok_or(AdminError::NotFound)?;
    Ok((found, classes))
}

#[derive(Deserialize)]
pub struct RequestForm {
    class: String,
}

/// A teacher asks the office to print code slips for one of their classes: logged
/// (`access_code.slips_requested`) and shown on the administrators' dashboard.
pub async fn request(
    State(app): State<App>,
    StaffForm { staff, form }: StaffForm<RequestForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let (class, classes) = chosen_class(&school, &s, &form.class).await?;
    let label = class.label();
    let entry = super::web::staff_activity(
        &s,
        "access_code.slips_requested",
        Some(format!("class:{}", class.id.0)),
        serde_json::json!({ "class": label }),
        app.clock.now(),
    );
    port(&school).log_activity(&entry).await?;
    Ok(codes_page(&school, &s, &classes, Some(label)))
}

#[derive(Deserialize)]
pub struct IssueForm {
    #[serde(default)]
    class: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    days: String,
}

fn bad(msg: &str) -> AdminError {
    AdminError::BadRequest(msg.to_string())
}

/// The school's WhatsApp number, if a Twilio sender is set up (Meta channels are known
/// by their phone number id only).
fn whatsapp_number(app: &App, school: &crate::store::tenancy::School) -> Option<String> {
    let routes = app.registry.current();
    routes
        .by_tenant(school.tenant.id)
        .into_iter()
        .find(|a| a.provider == Provider::Twilio)
        .map(|a| format!("+{}", a.route_key.trim_start_matches('+')))
}

pub async fn issue(
    State(app): State<App>,
    StaffForm { staff, form }: StaffForm<IssueForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    // Teachers are told why (403 with a message), not shown a 404.
    if s.staff.role == StaffRole::Teacher {
        return Ok((
            StatusCode::FORBIDDEN,
            super::i18n::text("codes-teachers-refused", None),
        )
            .into_response());
    }
    let days: i64 = match form.days.trim() {
        "" => 14,
        d => match d.parse() {
            Ok(n) if (1..=90).contains(&n) => n,
            _ => return Err(bad("Validity must be 1 to 90 days.")),
        },
    };
    let store = port(&school);
    // Who gets a code: guardian id → (name, children, language of their slip).
    let mut targets: BTreeMap<GuardianId, (String, Vec<String>, Locale)> = BTreeMap::new();
    if !form.class.trim().is_empty() {
        let (class, _) = chosen_class(&school, &s, &form.class).await?;
        let class = class.id;
        // Ids, names and classes only (nothing decrypted that is not needed).
        let students = store.student_list().await?;
        for st in students
            .iter()
            .filter(|st| st.class_id == class && st.active)
        {
            for g in store.guardians_of(st.id).await? {
                targets
                    .entry(g.id)
                    .or_insert_with(|| (g.full_name.clone(), Vec::new(), g.preferred_language))
                    .1
                    .push(st.full_name.clone());
            }
        }
    } else if !form.phone.trim().is_empty() {
        // A phone reaches any guardian of the school: administrators only (others issue
        // codes class by class, within their scope).
        if s.staff.role != StaffRole::Admin {
            return Err(AdminError::NotFound);
        }
        let phone = Phone::parse(form.phone.trim(), school.tenant.timezone.phone_region())
            .map_err(|_| bad("That phone number is not valid."))?;
        let contacts = store.contacts_by_phone(&phone).await?;
        let Some(ContactRef::Guardian(g)) = contacts
            .into_iter()
            .find(|c| matches!(c, ContactRef::Guardian(_)))
        else {
            return Err(bad("No guardian has that phone number."));
        };
        let guardian = store
            .guardian(g)
            .await?
            .ok_or_else(|| bad("No guardian has that phone number."))?;
        targets.insert(
            g,
            (guardian.full_name, Vec::new(), guardian.preferred_language),
        );
    } else {
        return Err(bad("Choose a class or type a phone number."));
    }
    if targets.is_empty() {
        return Err(bad(
            "Nobody to issue codes for (the class has no guardians on the roster).",
        ));
    }
    if targets.len() > MAX_CODES {
        return Err(bad("Too many codes at once; issue them class by class."));
    }
    let number = whatsapp_number(&app, &school);
    let actor = format!("staff:{}", s.staff.id.0);
    let mut slips = Vec::new();
    let mut expires = None;
    for (g, (name, children, locale)) in targets {
        let (code, until) = crate::codes::issue(
            Some(app.hash_gate.as_ref()),
            store,
            ContactRef::Guardian(g),
            chrono::Duration::days(days),
            &actor,
            "admin",
        )
        .await
        .map_err(AdminError::internal)?;
        expires = Some(until);
        let qr = number.as_ref().and_then(|n| {
            let link = crate::domain::message::wa_me_link(n, &code.display());
            qrcode::QrCode::new(link.as_bytes()).ok().map(|q| {
                q.render::<qrcode::render::svg::Color<'_>>()
                    .min_dimensions(160, 160)
                    .build()
            })
        });
        slips.push(context! {
            guardian => name,
            children => children.join(", "),
            code => code.display(),
            number => number.clone(),
            qr => qr,
            lang => locale.as_str(),
            dir => if locale.is_rtl() { "rtl" } else { "ltr" },
        });
    }
    Ok(render(
        "slips.html",
        context! {
            school => school.tenant.name,
            count => slips.len(),
            slips => slips,
            expires => expires.map(|e| e.format("%Y-%m-%d").to_string()),
        },
    ))
}
