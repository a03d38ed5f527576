//! The school's FAQ in the web admin (issue 18): the entries the enquiry bot answers
//! from, each with its question variants and answers per language, edited one entry
//! at a time, and the whole FAQ imported or exported as CSV (`id, language, question,
//! answer`). Every change goes through the same checks as the CSV import and replaces
//! the FAQ in one transaction; the bot reads the new FAQ at its next question.

use super::error::{AdminError, AdminForm, AdminUpload, Staff};
use super::web::{office_only, render_page, staff_activity, Said};
use crate::app::App;
use crate::domain::roster::StaffRole;
use crate::domain::school::Locale;
use crate::faq::{parse_csv, to_csv, Faq, FaqRow};
use crate::store::tenancy::School;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;
use serde_json::json;

store_port!(FaqStore);

/// The FAQ's languages, in the editor's order, with their form field suffix.
const LANGUAGES: [(Locale, &str); 4] = [
    (Locale::En, "en"),
    (Locale::Ur, "ur"),
    (Locale::Ar, "ar"),
    (Locale::UrLatn, "ur_latn"),
];

async fn page(
    school: &School,
    s: &super::auth::ActiveSession,
    said: Said,
) -> Result<Response, AdminError> {
    let rows = port(school).faq_rows().await?;
    let faq = Faq::new(&rows);
    let entries: Vec<_> = faq
        .entries
        .iter()
        .map(|e| {
            let langs: Vec<_> = LANGUAGES
                .iter()
                .map(|(l, field)| {
                    let qs: Vec<&str> = e
                        .questions
                        .iter()
                        .filter(|(ql, _)| ql == l)
                        .map(|(_, q)| q.as_str())
                        .collect();
                    let a = e
                        .answers
                        .iter()
                        .find(|(al, _)| al == l)
                        .map(|(_, a)| a.clone())
                        .unwrap_or_default();
                    context! {
                        code => l.as_str(), field => *field,
                        questions => qs.join("\n"), answer => a,
                    }
                })
                .collect();
            context! { id => e.id.clone(), langs => langs }
        })
        .collect();
    let blank: Vec<_> = LANGUAGES
        .iter()
        .map(|(l, field)| context! { code => l.as_str(), field => *field, questions => "", answer => "" })
        .collect();
    Ok(render_page(
        "faq.html",
        school,
        s,
        context! {
            entries => entries,
            blank => blank,
            rows => rows.len(),
            version => crate::faq::fingerprint(&rows).to_string(),
            can_edit => s.staff.role == StaffRole::Admin,
        },
        said,
    ))
}

pub async fn view(Staff { school, session: s }: Staff) -> Result<Response, AdminError> {
    office_only(&s)?;
    page(&school, &s, Said::nothing()).await
}

#[derive(Deserialize)]
pub struct EntryForm {
    /// The FAQ's version the page showed (`faq::fingerprint`): a save over someone
    /// else's newer one is refused rather than undoing it.
    #[serde(default)]
    version: String,
    /// The entry's id before the edit (empty for a new entry).
    #[serde(default)]
    original: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    q_en: String,
    #[serde(default)]
    q_ur: String,
    #[serde(default)]
    q_ar: String,
    #[serde(default)]
    q_ur_latn: String,
    #[serde(default)]
    a_en: String,
    #[serde(default)]
    a_ur: String,
    #[serde(default)]
    a_ar: String,
    #[serde(default)]
    a_ur_latn: String,
}

impl EntryForm {
    fn field(&self, name: &str) -> (&str, &str) {
        match name {
            "en" => (&self.q_en, &self.a_en),
            "ur" => (&self.q_ur, &self.a_ur),
            "ar" => (&self.q_ar, &self.a_ar),
            _ => (&self.q_ur_latn, &self.a_ur_latn),
        }
    }

    /// The entry's rows: one per question (one per line), the language's answer on its
    /// first question.
    fn rows(&self) -> Result<Vec<FaqRow>, String> {
        let id = self.id.trim();
        let mut rows = Vec::new();
        for (language, field) in LANGUAGES {
            let (questions, answer) = self.field(field);
            let answer = answer.trim().replace("\r\n", "\n");
            let questions: Vec<&str> = questions
                .lines()
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .collect();
            if questions.is_empty() && !answer.is_empty() {
                return Err(format!(
                    "The {} answer needs at least one {} question (the bot matches questions).",
                    language.as_str(),
                    language.as_str()
                ));
            }
            for (i, q) in questions.iter().enumerate() {
                rows.push(FaqRow {
                    entry: id.to_string(),
                    language,
                    question: q.to_string(),
                    answer: if i == 0 {
                        answer.clone()
                    } else {
                        String::new()
                    },
                });
            }
        }
        if rows.is_empty() {
            return Err("Write at least one question and its answer.".into());
        }
        Ok(rows)
    }
}

/// The FAQ with one entry replaced (in its place), added (at the end) or removed.
fn with_entry(all: &[FaqRow], original: &str, new: Vec<FaqRow>) -> Vec<FaqRow> {
    let mut out = Vec::with_capacity(all.len() + new.len());
    let mut new = Some(new);
    for r in all {
        if r.entry == original {
            if let Some(n) = new.take() {
                out.extend(n);
            }
        } else {
            out.push(r.clone());
        }
    }
    if let Some(n) = new {
        out.extend(n);
    }
    out
}

/// Checks the whole FAQ as the import does; the problems as one message.
fn checked(rows: &[FaqRow]) -> Result<Vec<FaqRow>, String> {
    parse_csv(to_csv(rows).as_bytes()).map_err(|errors| {
        errors
            .iter()
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join("; ")
    })
}

async fn save(
    app: &App,
    school: &School,
    s: &super::auth::ActiveSession,
    rows: Vec<FaqRow>,
    action: &str,
    subject: &str,
    ok: &str,
) -> Result<Response, AdminError> {
    let rows = match checked(&rows) {
        Ok(r) => r,
        Err(why) => return page(school, s, Said::refused(why)).await,
    };
    let entry = staff_activity(
        s,
        action,
        Some(format!("faq:{subject}")),
        json!({ "rows": rows.len() }),
        app.clock.now(),
    );
    port(school).replace_faq(&rows, &entry).await?;
    page(school, s, Said::notice(ok)).await
}

pub async fn save_entry(
    State(app): State<App>,
    AdminForm { staff, form }: AdminForm<EntryForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let new = match form.rows() {
        Ok(r) => r,
        Err(why) => return page(&school, &s, Said::refused(why)).await,
    };
    let all = port(&school).faq_rows().await?;
    if stale(&form.version, &all) {
        return page(&school, &s, Said::refused(STALE)).await;
    }
    let id = form.id.trim();
    let original = form.original.trim();
    if id != original && all.iter().any(|r| r.entry == id) {
        return page(
            &school,
            &s,
            Said::refused(format!("An entry with the id {id:?} exists already.")),
        )
        .await;
    }
    if !original.is_empty() && !all.iter().any(|r| r.entry == original) {
        return page(
            &school,
            &s,
            Said::refused("That entry was deleted meanwhile; nothing was saved."),
        )
        .await;
    }
    let rows = with_entry(&all, original, new);
    save(
        &app,
        &school,
        &s,
        rows,
        "faq.entry_saved",
        id,
        "Entry saved.",
    )
    .await
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    id: String,
}

/// Whether the page's version (when it sent one) is still the FAQ's.
fn stale(version: &str, all: &[FaqRow]) -> bool {
    !version.is_empty() && version != crate::faq::fingerprint(all).to_string()
}

const STALE: &str = "The FAQ was changed by someone else since this page was opened: nothing was saved. Here is the FAQ as it is now.";

pub async fn delete_entry(
    State(app): State<App>,
    AdminForm { staff, form }: AdminForm<DeleteForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let all = port(&school).faq_rows().await?;
    if stale(&form.version, &all) {
        return page(&school, &s, Said::refused(STALE)).await;
    }
    let id = form.id.trim();
    if !all.iter().any(|r| r.entry == id) {
        return Err(AdminError::NotFound);
    }
    let rows: Vec<FaqRow> = all.into_iter().filter(|r| r.entry != id).collect();
    if rows.is_empty() {
        return page(
            &school,
            &s,
            Said::refused("This is the last entry: import or write another first (an FAQ with no entry answers nothing)."),
        )
        .await;
    }
    save(
        &app,
        &school,
        &s,
        rows,
        "faq.entry_deleted",
        id,
        "Entry deleted.",
    )
    .await
}

/// The whole FAQ from a CSV file: all rows or none, problems by line.
pub async fn import(
    State(app): State<App>,
    AdminUpload { staff, file }: AdminUpload,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    match parse_csv(&file) {
        Ok(rows) => {
            let entry = staff_activity(
                &s,
                "faq.import",
                None,
                json!({ "rows": rows.len() }),
                app.clock.now(),
            );
            port(&school).replace_faq(&rows, &entry).await?;
            let n = Faq::new(&rows).entries.len();
            page(
                &school,
                &s,
                Said::notice(format!("Imported {} rows ({n} entries).", rows.len())),
            )
            .await
        }
        Err(errors) => {
            let shown: Vec<String> = errors.iter().take(20).map(|e| e.to_string()).collect();
            let more = errors.len().saturating_sub(shown.len());
            let mut why = format!("Nothing was imported. {}", shown.join("; "));
            if more > 0 {
                why.push_str(&format!("; and {more} more"));
            }
            page(&school, &s, Said::refused(why)).await
        }
    }
}

pub async fn export(Staff { school, session: s }: Staff) -> Result<Response, AdminError> {
    office_only(&s)?;
    let rows = port(&school).faq_rows().await?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (CONTENT_DISPOSITION, "attachment; filename=\"faq.csv\""),
        ],
        to_csv(&rows),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(id: &str, original: &str, q_en: &str, a_en: &str, q_ur: &str, a_ur: &str) -> EntryForm {
        EntryForm {
            version: String::new(),
            original: original.into(),
            id: id.into(),
            q_en: q_en.into(),
            q_ur: q_ur.into(),
            q_ar: String::new(),
            q_ur_latn: String::new(),
            a_en: a_en.into(),
            a_ur: a_ur.into(),
            a_ar: String::new(),
            a_ur_latn: String::new(),
        }
    }

    #[test]
    fn an_entry_becomes_rows_and_replaces_its_old_self_in_place() {
        let all = parse_csv(
            b"id,language,question,answer\nfees,en,How much?,Rs 9500\ntimes,en,When?,8 to 1\n",
        )
        .unwrap();
        let f = form(
            "fees",
            "fees",
            "How much is the fee?\r\nFee per month?\n",
            "Rs 9,500 a month",
            "فیس کتنی ہے؟",
            "ماہانہ 9,500 روپے",
        );
        let rows = checked(&with_entry(&all, "fees", f.rows().unwrap())).unwrap();
        let faq = Faq::new(&rows);
        assert_eq!(faq.entries[0].id, "fees");
        assert_eq!(faq.entries[0].questions.len(), 3);
        assert_eq!(
            faq.entries[0].answer_in(Locale::Ur),
            Some("ماہانہ 9,500 روپے")
        );
        assert_eq!(faq.entries[1].id, "times");
        // An answer with no question in its language; a bad id; nothing at all.
        assert!(form("x", "", "", "", "", "جواب").rows().is_err());
        assert!(form("", "", "", "", "", "").rows().is_err());
        let bad = form("bad id!", "", "Q?", "A", "", "");
        assert!(checked(&with_entry(&all, "", bad.rows().unwrap())).is_err());
    }
}
