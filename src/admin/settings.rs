//! School settings (administrators): what the chat tells people and how it counts days.
//! Office hours and the handoff release time (the office), payment details (under a fee
//! balance), whether teachers may decide leave from the chat, the weekend, and the
//! holidays (one at a time or a CSV file of `date,name`, all rows or none).

use super::error::{AdminError, AdminForm, AdminUpload, Administrator, Staff};
use super::web::{redirect, render_page, staff_activity, Said};
use crate::app::App;
use crate::domain::calendar::{self, Holiday};
use crate::domain::school::{
    SETTING_ABSENCE_NOTICE, SETTING_HANDOFF_RELEASE_HOURS, SETTING_OFFICE_HOURS,
    SETTING_PAYMENT_DETAILS, SETTING_TEACHERS_DECIDE_LEAVE, SETTING_WEEKEND,
};
use crate::store::tenancy::School;
use axum::extract::State;
use axum::response::Response;
use chrono::{Duration, NaiveDate, Weekday};
use minijinja::context;
use serde::Deserialize;
use serde_json::json;

store_port!(SettingsStore);

/// Office hours as the school writes them: one line.
const MAX_HOURS_TEXT: usize = 200;
/// Payment details: a few lines (bank, IBAN, wallet references).
const MAX_PAYMENT_TEXT: usize = 1000;
/// The longest a conversation may wait for the office before it returns to the bot.
const MAX_RELEASE_HOURS: u32 = 24 * 30;

const WEEK: [(Weekday, &str); 7] = [
    (Weekday::Mon, "mon"),
    (Weekday::Tue, "tue"),
    (Weekday::Wed, "wed"),
    (Weekday::Thu, "thu"),
    (Weekday::Fri, "fri"),
    (Weekday::Sat, "sat"),
    (Weekday::Sun, "sun"),
];

pub async fn page(
    State(app): State<App>,
    Administrator(Staff { school, session: s }): Administrator,
) -> Result<Response, AdminError> {
    view(&app, &school, &s, Said::nothing()).await
}

async fn view(
    app: &App,
    school: &School,
    s: &super::auth::ActiveSession,
    said: Said,
) -> Result<Response, AdminError> {
    let store = port(school);
    let settings = store.settings().await?;
    let get = |name: &str| {
        settings
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let weekend = calendar::weekend_of(Some(&get(SETTING_WEEKEND)), &school.tenant.timezone);
    let week: Vec<_> = WEEK
        .iter()
        .map(|(d, id)| context! { id => *id, on => weekend.contains(d) })
        .collect();
    let today = school.tenant.timezone.today(app.clock.now());
    let holidays: Vec<_> = store
        .holidays(today - Duration::days(30), today + Duration::days(400))
        .await?
        .into_iter()
        .map(|h| context! { day => h.day.format("%Y-%m-%d").to_string(), name => h.name })
        .collect();
    Ok(render_page(
        "settings.html",
        school,
        s,
        context! {
            office_hours => get(SETTING_OFFICE_HOURS),
            release_hours => get(SETTING_HANDOFF_RELEASE_HOURS),
            payment_details => get(SETTING_PAYMENT_DETAILS),
            teachers_decide => get(SETTING_TEACHERS_DECIDE_LEAVE) == "on",
            absence_notice => get(SETTING_ABSENCE_NOTICE) != "off",
            week => week,
            holidays => holidays,
            intent_phrases => get(crate::nlu::phrases::SETTING),
            ai_triage => get(crate::triage::SETTING_AI) == "on",
            ai_configured => app.ai.is_some(),
            ai_budget => get(crate::triage::SETTING_AI_BUDGET),
            categories => get(crate::triage::SETTING_CATEGORIES),
            category_examples => get(crate::triage::model::SETTING_EXAMPLES),
            intents => crate::nlu::Intent::ALL.map(crate::nlu::Intent::as_str).join(", "),
            face_on => get(crate::face::SETTING_FACE) == "on",
            face_threshold => get(crate::face::SETTING_FACE_THRESHOLD),
            face_margin => get(crate::face::SETTING_FACE_MARGIN),
            face_default => format!("{:.2}", crate::face::CLASS_THRESHOLD),
            face_default_margin => format!("{:.2}", crate::face::matching::DEFAULT_MARGIN),
            face_models => app.face.present().is_ok(),
            face_pairs => crate::face::eval::MEASURED_PAIRS,
            face_accuracy => crate::face::eval::MEASURED_ACCURACY,
            face_found => crate::face::eval::MEASURED_CLASS_FOUND,
        },
        said,
    ))
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    office_hours: String,
    #[serde(default)]
    release_hours: String,
    #[serde(default)]
    payment_details: String,
    #[serde(default)]
    teachers_decide: Option<String>,
    #[serde(default)]
    absence_notice: Option<String>,
    #[serde(default)]
    wd_mon: Option<String>,
    #[serde(default)]
    wd_tue: Option<String>,
    #[serde(default)]
    wd_wed: Option<String>,
    #[serde(default)]
    wd_thu: Option<String>,
    #[serde(default)]
    wd_fri: Option<String>,
    #[serde(default)]
    wd_sat: Option<String>,
    #[serde(default)]
    wd_sun: Option<String>,
    #[serde(default)]
    intent_phrases: String,
    #[serde(default)]
    ai_triage: Option<String>,
    #[serde(default)]
    ai_budget: String,
    #[serde(default)]
    categories: String,
    #[serde(default)]
    category_examples: String,
    #[serde(default)]
    face_on: Option<String>,
    #[serde(default)]
    face_threshold: String,
    #[serde(default)]
    face_margin: String,
}

/// The settings to store, or what is wrong with the form.
fn validate(f: &SettingsForm) -> Result<Vec<(&'static str, String)>, String> {
    let hours = crate::domain::bidi::neutralise(f.office_hours.trim()).into_owned();
    if hours.chars().count() > MAX_HOURS_TEXT || hours.contains(['\n', '\r']) {
        return Err(format!(
            "Office hours: one line of at most {MAX_HOURS_TEXT} characters."
        ));
    }
    let release = match f.release_hours.trim() {
        "" => String::new(),
        r => match r.parse::<u32>() {
            Ok(h) if (1..=MAX_RELEASE_HOURS).contains(&h) => h.to_string(),
            _ => {
                return Err(format!(
                    "Hand back to the bot after: a whole number of hours from 1 to {MAX_RELEASE_HOURS}."
                ))
            }
        },
    };
    let payment =
        crate::domain::bidi::neutralise(f.payment_details.trim().replace("\r\n", "\n").as_str())
            .into_owned();
    if payment.chars().count() > MAX_PAYMENT_TEXT {
        return Err(format!(
            "Payment details: at most {MAX_PAYMENT_TEXT} characters."
        ));
    }
    let ticked = [
        &f.wd_mon, &f.wd_tue, &f.wd_wed, &f.wd_thu, &f.wd_fri, &f.wd_sat, &f.wd_sun,
    ];
    let weekend: Vec<Weekday> = WEEK
        .iter()
        .zip(ticked)
        .filter(|(_, on)| on.is_some())
        .map(|((d, _), _)| *d)
        .collect();
    if weekend.is_empty() || weekend.len() > 3 {
        return Err("Weekend: tick one to three days.".into());
    }
    let phrases =
        crate::domain::bidi::neutralise(f.intent_phrases.trim().replace("\r\n", "\n").as_str())
            .into_owned();
    crate::nlu::phrases::parse(&phrases).map_err(|e| format!("Your own phrases: {e}."))?;
    let budget = match f.ai_budget.trim() {
        "" => String::new(),
        b => match b.replace([',', ' '], "").parse::<i64>() {
            Ok(n) if (1_000..=100_000_000).contains(&n) => n.to_string(),
            _ => {
                return Err(
                    "AI budget: a whole number of tokens a month, from 1,000 to 100,000,000."
                        .into(),
                )
            }
        },
    };
    let categories: Vec<String> = f
        .categories
        .split(',')
        .map(|c| c.trim().to_lowercase())
        .filter(|c| !c.is_empty())
        .collect();
    if categories.len() > 20
        || categories.iter().any(|c| {
            c.chars().count() > 40
                || !c
                    .chars()
                    .all(|ch| ch.is_alphanumeric() || ch == ' ' || ch == '-')
        })
    {
        return Err("Complaint categories: at most 20, comma separated, each at most 40 letters, digits, spaces or dashes.".into());
    }
    // Examples for the school's categories as they will be after this save.
    let known = crate::triage::categories(Some(&categories.join(",")));
    let examples =
        crate::domain::bidi::neutralise(f.category_examples.trim().replace("\r\n", "\n").as_str())
            .into_owned();
    crate::triage::model::parse_examples(&examples, &known)
        .map_err(|e| format!("Category examples: {e}."))?;
    let number = |v: &str, lo: f32, hi: f32, what: &str| -> Result<String, String> {
        match v.trim() {
            "" => Ok(String::new()),
            t => match t.parse::<f32>() {
                Ok(x) if x.is_finite() && (lo..=hi).contains(&x) => Ok(format!("{x:.2}")),
                _ => Err(format!(
                    "{what}: a number from {lo:.2} to {hi:.2}, or blank for the default."
                )),
            },
        }
    };
    let face_threshold = number(&f.face_threshold, 0.2, 0.9, "Photo attendance threshold")?;
    let face_margin = number(&f.face_margin, 0.0, 0.5, "Photo attendance margin")?;
    Ok(vec![
        (SETTING_OFFICE_HOURS, hours),
        (
            crate::face::SETTING_FACE,
            if f.face_on.is_some() { "on" } else { "" }.to_string(),
        ),
        (crate::face::SETTING_FACE_THRESHOLD, face_threshold),
        (crate::face::SETTING_FACE_MARGIN, face_margin),
        (SETTING_HANDOFF_RELEASE_HOURS, release),
        (SETTING_PAYMENT_DETAILS, payment),
        (
            SETTING_TEACHERS_DECIDE_LEAVE,
            if f.teachers_decide.is_some() {
                "on"
            } else {
                ""
            }
            .to_string(),
        ),
        (SETTING_WEEKEND, calendar::weekend_setting(&weekend)),
        (crate::nlu::phrases::SETTING, phrases),
        (
            crate::triage::SETTING_AI,
            if f.ai_triage.is_some() { "on" } else { "" }.to_string(),
        ),
        (crate::triage::SETTING_AI_BUDGET, budget),
        (crate::triage::SETTING_CATEGORIES, categories.join(", ")),
        (crate::triage::model::SETTING_EXAMPLES, examples),
        // On unless turned off (the default needs no row).
        (
            SETTING_ABSENCE_NOTICE,
            if f.absence_notice.is_some() {
                ""
            } else {
                "off"
            }
            .to_string(),
        ),
    ])
}

pub async fn save(
    State(app): State<App>,
    AdminForm { staff, form }: AdminForm<SettingsForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let values = match validate(&form) {
        Ok(v) => v,
        Err(problem) => return view(&app, &school, &s, Said::refused(problem)).await,
    };
    // The entry names what was set, never the texts themselves.
    let set: Vec<&str> = values
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(n, _)| *n)
        .collect();
    let entry = staff_activity(
        &s,
        "school.settings",
        None,
        json!({ "set": set }),
        app.clock.now(),
    );
    port(&school).save_settings(&values, &entry).await?;
    view(&app, &school, &s, Said::notice("Settings saved.")).await
}

#[derive(Deserialize)]
pub struct HolidayForm {
    #[serde(default)]
    day: String,
    #[serde(default)]
    name: String,
}

pub async fn add_holiday(
    State(app): State<App>,
    AdminForm { staff, form }: AdminForm<HolidayForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let holiday = match Holiday::new(&form.day, &form.name) {
        Ok(h) => h,
        Err(e) => return view(&app, &school, &s, Said::refused(format!("Holiday: {e}."))).await,
    };
    let entry = staff_activity(
        &s,
        "school.holiday_add",
        None,
        json!({ "day": holiday.day, "count": 1 }),
        app.clock.now(),
    );
    port(&school).put_holidays(&[holiday], &entry).await?;
    Ok(redirect("/admin/settings"))
}

pub async fn remove_holiday(
    State(app): State<App>,
    AdminForm { staff, form }: AdminForm<HolidayForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let day =
        NaiveDate::parse_from_str(form.day.trim(), "%Y-%m-%d").map_err(|_| AdminError::NotFound)?;
    let entry = staff_activity(
        &s,
        "school.holiday_remove",
        None,
        json!({ "day": day }),
        app.clock.now(),
    );
    if !port(&school).remove_holiday(day, &entry).await? {
        return Err(AdminError::NotFound);
    }
    Ok(redirect("/admin/settings"))
}

/// A CSV of holidays (`date,name`): every row checked, then all added or none.
pub async fn import_holidays(
    State(app): State<App>,
    AdminUpload { staff, file }: AdminUpload,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let holidays = match crate::import::parse_holidays(file.as_slice()) {
        Ok(h) if h.is_empty() => {
            return view(
                &app,
                &school,
                &s,
                Said::refused("The file has no holidays."),
            )
            .await
        }
        Ok(h) => h,
        Err(e) => {
            let mut message = format!("Holidays: {e}.");
            if let crate::import::ImportError::Rows(rows) = &e {
                for r in rows.iter().take(20) {
                    message.push_str(&format!(" {r}."));
                }
            }
            return view(&app, &school, &s, Said::refused(message)).await;
        }
    };
    let entry = staff_activity(
        &s,
        "school.holiday_import",
        None,
        json!({ "count": holidays.len() }),
        app.clock.now(),
    );
    let n = port(&school).put_holidays(&holidays, &entry).await?;
    view(
        &app,
        &school,
        &s,
        Said::notice(format!("{n} holiday(s) imported.")),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> SettingsForm {
        SettingsForm {
            office_hours: "Mon–Fri 8:00–14:00".into(),
            release_hours: "8".into(),
            payment_details: "Meezan Bank\r\nIBAN PK36 MEZN 0000 0000 0000 0000".into(),
            teachers_decide: Some("on".into()),
            absence_notice: None,
            wd_mon: None,
            wd_tue: None,
            wd_wed: None,
            wd_thu: None,
            wd_fri: Some("on".into()),
            wd_sat: Some("on".into()),
            wd_sun: None,
            intent_phrases: "fees: challan kab milega\r\nleave: bacha nahi aaye ga".into(),
            ai_triage: Some("on".into()),
            ai_budget: "50,000".into(),
            categories: "Transport, Fees, Academics".into(),
            category_examples: "academics: no homework checked\r\nfees: challan galat hai".into(),
            face_on: Some("on".into()),
            face_threshold: "0.5".into(),
            face_margin: String::new(),
        }
    }

    #[test]
    fn settings_are_checked() {
        let v = validate(&form()).unwrap();
        assert!(v.contains(&(SETTING_WEEKEND, "fri,sat".to_string())));
        assert!(v.contains(&(SETTING_ABSENCE_NOTICE, "off".to_string())));
        assert!(v.contains(&(SETTING_HANDOFF_RELEASE_HOURS, "8".to_string())));
        assert!(v
            .iter()
            .any(|(n, p)| *n == SETTING_PAYMENT_DETAILS && !p.contains('\r')));
        let mut f = form();
        f.release_hours = "0".into();
        assert!(validate(&f).unwrap_err().contains("hours"));
        let mut f = form();
        f.wd_fri = None;
        f.wd_sat = None;
        assert!(validate(&f).unwrap_err().contains("Weekend"));
        let mut f = form();
        f.office_hours = "8-2\nand more".into();
        assert!(validate(&f).is_err());
        assert!(v.contains(&(
            crate::nlu::phrases::SETTING,
            "fees: challan kab milega\nleave: bacha nahi aaye ga".to_string()
        )));
        assert!(v.contains(&(crate::triage::SETTING_AI, "on".to_string())));
        assert!(v.contains(&(crate::triage::SETTING_AI_BUDGET, "50000".to_string())));
        assert!(v.contains(&(
            crate::triage::SETTING_CATEGORIES,
            "transport, fees, academics".to_string()
        )));
        assert!(v.contains(&(crate::face::SETTING_FACE, "on".to_string())));
        assert!(v.contains(&(crate::face::SETTING_FACE_THRESHOLD, "0.50".to_string())));
        assert!(v.contains(&(crate::face::SETTING_FACE_MARGIN, String::new())));
        let mut f = form();
        f.face_threshold = "0.95".into();
        assert!(validate(&f).unwrap_err().contains("threshold"));
        let mut f = form();
        f.face_margin = "x".into();
        assert!(validate(&f).unwrap_err().contains("margin"));
        let mut f = form();
        f.ai_budget = "lots".into();
        assert!(validate(&f).unwrap_err().contains("AI budget"));
        let mut f = form();
        f.categories = "<script>".into();
        assert!(validate(&f).unwrap_err().contains("categories"));
        let mut f = form();
        f.category_examples = "uniform: shoes too dear".into();
        assert!(validate(&f).unwrap_err().contains("Category examples"));
        let mut f = form();
        f.intent_phrases = "fee: challan".into();
        let e = validate(&f).unwrap_err();
        assert!(
            e.contains("Your own phrases: line 1: unknown intent"),
            "{e}"
        );
    }
}
