//! CSV imports for the roster and fees. Parsing validates every row and reports every
//! bad one with its line number and reason; the store then writes all rows in one
//! transaction, so a file is either imported whole or not at all.
//!
//! Roster columns (header row required, any order, UTF-8, Urdu/Arabic names welcome):
//! `admission_no, student_name, class, branch, section, gender, date_of_birth, bform,
//! health_notes, guardian_name, guardian_phone, guardian_relation, guardian_language,
//! guardian_cnic, guardian_address`. Required: admission_no, student_name, class.
//! `branch` defaults to "Main". A student with two guardians takes two rows with the
//! same admission_no. Guardian columns are all-or-nothing: a name needs a phone.
//!
//! Fee columns: `admission_no, period, description, amount, currency, due_date,
//! paid_amount, paid_on, payment_reference, description_ur, description_ar`. Required: the
//! first six. Amounts are in rupees/riyals with up to two decimals; a payment needs both
//! paid_amount and paid_on. The line's Urdu and Arabic names are shown in the chat to
//! parents reading those languages (a file without them keeps names already given).

use crate::domain::fees::{Currency, FeeRecord, Money, PaymentRecord};
use crate::domain::phone::Phone;
use crate::domain::roster::{
    bounded, parse_date, required, Gender, GuardianRecord, NationalId, Relation, RosterRecord,
};
use crate::domain::school::Locale;
use crate::domain::{Pii, StudentId};
use std::collections::HashMap;
use std::fmt;
use std::io::Read;

/// Rows beyond this are refused rather than silently cut.
pub const MAX_ROWS: usize = 200_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file has {} bad row(s); nothing was imported", .0.len())]
    Rows(Vec<RowError>),
    #[error("the file is empty or has no header row")]
    NoHeader,
    #[error("missing column(s): {0}")]
    MissingColumns(String),
    #[error("the file has more than {MAX_ROWS} rows; split it")]
    TooManyRows,
}

struct Columns(HashMap<String, usize>);

impl Columns {
    fn read(headers: &csv::StringRecord, required: &[&str]) -> Result<Self, ImportError> {
        let map: HashMap<String, usize> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                (
                    h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase(),
                    i,
                )
            })
            .collect();
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|c| !map.contains_key(*c))
            .collect();
        if !missing.is_empty() {
            return Err(ImportError::MissingColumns(missing.join(", ")));
        }
        Ok(Self(map))
    }

    fn get<'r>(&self, rec: &'r csv::StringRecord, name: &str) -> &'r str {
        self.0
            .get(name)
            .and_then(|i| rec.get(*i))
            .unwrap_or("")
            .trim()
    }
}

/// Reads every record; an unreadable row (bad UTF-8, wrong field count) is a row error.
fn records(
    input: impl Read,
    required: &[&str],
    errors: &mut Vec<RowError>,
) -> Result<(Columns, Vec<(u64, csv::StringRecord)>), ImportError> {
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let headers = rdr.headers().map_err(|_| ImportError::NoHeader)?.clone();
    if headers.is_empty() || headers.iter().all(|h| h.trim().is_empty()) {
        return Err(ImportError::NoHeader);
    }
    let cols = Columns::read(&headers, required)?;
    let mut out = Vec::new();
    let mut rec = csv::StringRecord::new();
    loop {
        let line = rdr.position().line();
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                let line = rec.position().map(|p| p.line()).unwrap_or(line);
                if rec.iter().all(|f| f.trim().is_empty()) {
                    continue;
                }
                if out.len() >= MAX_ROWS {
                    return Err(ImportError::TooManyRows);
                }
                out.push((line, rec.clone()));
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(line);
                let message = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => {
                        "not valid UTF-8 (save the file as CSV UTF-8)".to_string()
                    }
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        format!("has {len} fields, the header has {expected_len}")
                    }
                    _ => "unreadable row".to_string(),
                };
                errors.push(RowError { line, message });
                if !matches!(
                    e.kind(),
                    csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. }
                ) {
                    break;
                }
            }
        }
    }
    Ok((cols, out))
}

fn opt<T, E: fmt::Display>(
    s: &str,
    f: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, String> {
    if s.is_empty() {
        Ok(None)
    } else {
        f(s).map(Some).map_err(|e| e.to_string())
    }
}

/// Parses and validates a roster CSV. `phone_region` reads local numbers (PK, SA).
pub fn parse_roster(
    input: impl Read,
    phone_region: Option<&str>,
) -> Result<Vec<RosterRecord>, ImportError> {
    let mut errors = Vec::new();
    let (cols, rows) = records(
        input,
        &["admission_no", "student_name", "class"],
        &mut errors,
    )?;
    let mut out: Vec<RosterRecord> = Vec::with_capacity(rows.len());
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for (line, rec) in rows {
        let c = |n: &str| cols.get(&rec, n);
        let parsed = (|| -> Result<RosterRecord, String> {
            let s = |e: crate::domain::roster::RosterError| e.to_string();
            let guardian_name = bounded("guardian_name", c("guardian_name"), 120).map_err(s)?;
            let guardian_phone = c("guardian_phone");
            let guardian = match (guardian_name.is_empty(), guardian_phone.is_empty()) {
                (true, true) => None,
                (false, true) => {
                    return Err("guardian_phone is required when guardian_name is given".into())
                }
                (true, false) => {
                    return Err("guardian_name is required when guardian_phone is given".into())
                }
                (false, false) => Some(GuardianRecord {
                    full_name: guardian_name,
                    phone: Phone::parse(guardian_phone, phone_region)
                        .map_err(|e| format!("guardian_phone: {e}"))?,
                    relation: opt(c("guardian_relation"), str::parse::<Relation>)?,
                    language: match opt(c("guardian_language"), str::parse::<Locale>)? {
                        Some(l) if !l.is_school_language() => return Err(
                            "guardian_language: en, ur or ar (Roman Urdu is chosen in the chat)"
                                .into(),
                        ),
                        other => other,
                    },
                    cnic: opt(c("guardian_cnic"), NationalId::parse)
                        .map_err(|e| format!("guardian_cnic: {e}"))?,
                    address: opt(c("guardian_address"), |a| {
                        bounded("guardian_address", a, 500).map(Pii::new)
                    })?,
                }),
            };
            let branch = bounded("branch", c("branch"), 80).map_err(s)?;
            Ok(RosterRecord {
                line,
                branch: if branch.is_empty() {
                    "Main".into()
                } else {
                    branch
                },
                class_name: required("class", c("class"), 40).map_err(s)?,
                section: bounded("section", c("section"), 20).map_err(s)?,
                admission_no: required("admission_no", c("admission_no"), 40).map_err(s)?,
                student_name: required("student_name", c("student_name"), 120).map_err(s)?,
                date_of_birth: parse_date("date_of_birth", c("date_of_birth")).map_err(s)?,
                gender: opt(c("gender"), str::parse::<Gender>)?,
                bform: opt(c("bform"), NationalId::parse).map_err(|e| format!("bform: {e}"))?,
                health_notes: opt(c("health_notes"), |h| {
                    bounded("health_notes", h, 1000).map(Pii::new)
                })?,
                guardian,
                keep_active: false,
            })
        })();
        match parsed {
            Ok(r) => {
                if let Some(&i) = first_line.get(&r.admission_no) {
                    let first = &out[i];
                    if first.student_name != r.student_name
                        || first.class_name != r.class_name
                        || first.section != r.section
                        || first.branch != r.branch
                    {
                        errors.push(RowError {
                            line,
                            message: format!(
                                "admission_no {} appears on line {} with a different name or class",
                                r.admission_no, first.line
                            ),
                        });
                        continue;
                    }
                } else {
                    first_line.insert(r.admission_no.clone(), out.len());
                }
                out.push(r);
            }
            Err(message) => errors.push(RowError { line, message }),
        }
    }
    finish(out, errors)
}

/// The fee CSV's columns: the first `FEE_REQUIRED` required, then the optional payment
/// (`paid_amount` and `paid_on` together, and a reference), then the line's name in
/// Urdu and Arabic (shown in the chat to parents who read those languages).
pub const FEE_COLUMNS: [&str; 11] = [
    "admission_no",
    "period",
    "description",
    "amount",
    "currency",
    "due_date",
    "paid_amount",
    "paid_on",
    "payment_reference",
    "description_ur",
    "description_ar",
];
const FEE_REQUIRED: usize = 6;

/// Parses and validates a fee CSV against the school's admission numbers.
pub fn parse_fees(
    input: impl Read,
    students: &HashMap<String, StudentId>,
) -> Result<Vec<FeeRecord>, ImportError> {
    let mut errors = Vec::new();
    let (cols, rows) = records(input, &FEE_COLUMNS[..FEE_REQUIRED], &mut errors)?;
    let mut out = Vec::with_capacity(rows.len());
    for (line, rec) in rows {
        let c = |n: &str| cols.get(&rec, n);
        let parsed = (|| -> Result<FeeRecord, String> {
            let s = |e: crate::domain::roster::RosterError| e.to_string();
            let admission_no = required("admission_no", c("admission_no"), 40).map_err(s)?;
            if !students.contains_key(&admission_no) {
                return Err(format!(
                    "unknown admission_no {admission_no:?} (import the roster first)"
                ));
            }
            let currency: Currency = c("currency")
                .parse()
                .map_err(|e: crate::domain::fees::MoneyError| e.to_string())?;
            let amount =
                Money::parse_positive(c("amount"), currency).map_err(|e| format!("amount: {e}"))?;
            let due_date = parse_date("due_date", c("due_date"))
                .map_err(s)?
                .ok_or_else(|| "due_date is required".to_string())?;
            let payment = match (c("paid_amount").is_empty(), c("paid_on").is_empty()) {
                (true, true) => None,
                (false, false) => Some(PaymentRecord {
                    amount_minor: Money::parse_positive(c("paid_amount"), currency)
                        .map_err(|e| format!("paid_amount: {e}"))?
                        .minor,
                    paid_on: parse_date("paid_on", c("paid_on"))
                        .map_err(s)?
                        .unwrap_or(due_date),
                    reference: bounded("payment_reference", c("payment_reference"), 80)
                        .map_err(s)?,
                }),
                _ => return Err("a payment needs both paid_amount and paid_on".into()),
            };
            Ok(FeeRecord {
                line,
                admission_no,
                period: required("period", c("period"), 40).map_err(s)?,
                description: required("description", c("description"), 200).map_err(s)?,
                description_ur: bounded("description_ur", c("description_ur"), 200).map_err(s)?,
                description_ar: bounded("description_ar", c("description_ar"), 200).map_err(s)?,
                amount,
                due_date,
                payment,
            })
        })();
        match parsed {
            Ok(r) => out.push(r),
            Err(message) => errors.push(RowError { line, message }),
        }
    }
    finish(out, errors)
}

/// Holidays: columns `date` (YYYY-MM-DD) and `name`; a day twice in one file is an error.
pub fn parse_holidays(
    input: impl Read,
) -> Result<Vec<crate::domain::calendar::Holiday>, ImportError> {
    let mut errors = Vec::new();
    let (cols, rows) = records(input, &["date", "name"], &mut errors)?;
    let mut out: Vec<crate::domain::calendar::Holiday> = Vec::with_capacity(rows.len());
    let mut seen: HashMap<chrono::NaiveDate, u64> = HashMap::new();
    for (line, rec) in rows {
        let c = |n: &str| cols.get(&rec, n);
        match crate::domain::calendar::Holiday::new(c("date"), c("name")) {
            Ok(h) => match seen.insert(h.day, line) {
                Some(first) => errors.push(RowError {
                    line,
                    message: format!("{} is already on line {first}", h.day),
                }),
                None => out.push(h),
            },
            Err(e) => errors.push(RowError {
                line,
                message: e.to_string(),
            }),
        }
    }
    finish(out, errors)
}

fn finish<T>(out: Vec<T>, mut errors: Vec<RowError>) -> Result<Vec<T>, ImportError> {
    if errors.is_empty() {
        Ok(out)
    } else {
        errors.sort_by_key(|e| e.line);
        Err(ImportError::Rows(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holidays_all_or_nothing() {
        let ok =
            parse_holidays("date,name\n2026-12-25,Quaid Day\n2027-02-05,Kashmir Day\n".as_bytes())
                .unwrap();
        assert_eq!(ok.len(), 2);
        let Err(ImportError::Rows(errors)) = parse_holidays(
            "name,date\nQuaid Day,2026-12-25\nX,25/12/2026\nAgain,2026-12-25\n".as_bytes(),
        ) else {
            panic!("bad rows accepted");
        };
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].line, 3);
        assert!(errors[1].message.contains("already on line 2"));
    }

    const HEADER: &str = "admission_no,student_name,class,section,gender,date_of_birth,bform,guardian_name,guardian_phone,guardian_relation,guardian_language\n";

    #[test]
    fn good_roster_with_urdu_names_and_two_guardians() {
        let csv = format!(
            "\u{feff}{HEADER}A-1,عائشہ خان,5,B,f,2015-03-01,35202-1234567-1,عمران خان,0300 1234567,father,ur\n\
             A-1,عائشہ خان,5,B,f,2015-03-01,,Sana Khan,0301 7654321,mother,en\n\
             A-2,Bilal,5,B,m,,,,,,\n"
        );
        let rows = parse_roster(csv.as_bytes(), Some("PK")).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].student_name, "عائشہ خان");
        assert_eq!(rows[0].branch, "Main");
        assert_eq!(
            rows[0].guardian.as_ref().unwrap().phone.e164(),
            "+923001234567"
        );
        assert_eq!(
            rows[0].guardian.as_ref().unwrap().language,
            Some(Locale::Ur)
        );
        assert_eq!(rows[2].gender, Some(Gender::Male));
        assert!(rows[2].guardian.is_none());
        assert_eq!(rows[0].line, 2);
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let csv = format!(
            "{HEADER}A-1,Ali,5,,m,2015-02-30,,,,,\n\
             A-2,,5,,m,,,,,,\n\
             A-3,Zara,5,,x,,,,,,\n\
             A-4,Omar,5,,m,,123,,,,\n\
             A-5,Hina,5,,f,,,Hina's mother,12,,\n\
             A-6,Sara,6,,f,,,,,,\n\
             A-6,Sara,7,,f,,,,,,\n"
        );
        let Err(ImportError::Rows(errs)) = parse_roster(csv.as_bytes(), Some("PK")) else {
            panic!("expected row errors")
        };
        let lines: Vec<u64> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6, 8], "{errs:?}");
        assert!(errs[0].message.contains("date_of_birth"));
        assert!(errs[1].message.contains("student_name is required"));
        assert!(errs[4].message.contains("guardian_phone"));
        assert!(errs[5].message.contains("line 7"));
    }

    #[test]
    fn structural_problems() {
        assert!(matches!(
            parse_roster("".as_bytes(), None),
            Err(ImportError::NoHeader)
        ));
        assert!(matches!(
            parse_roster("admission_no,class\nA,5\n".as_bytes(), None),
            Err(ImportError::MissingColumns(c)) if c == "student_name"
        ));
        let ragged = format!("{HEADER}A-1,Ali,5\n");
        let Err(ImportError::Rows(errs)) = parse_roster(ragged.as_bytes(), None) else {
            panic!()
        };
        assert!(errs[0].message.contains("fields"));
        let mut bad_utf8 = HEADER.as_bytes().to_vec();
        bad_utf8.extend_from_slice(b"A-1,\xff\xfe,5,,m,,,,,,\n");
        let Err(ImportError::Rows(errs)) = parse_roster(bad_utf8.as_slice(), None) else {
            panic!()
        };
        assert!(errs[0].message.contains("UTF-8"));
    }

    #[test]
    fn fee_lines_may_be_named_in_urdu_and_arabic() {
        let students: HashMap<String, StudentId> = [("A-1".to_string(), StudentId::new())].into();
        let csv = "admission_no,period,description,amount,currency,due_date,description_ur,description_ar\n\
                   A-1,2026-09,Tuition,4500,PKR,2026-09-10,ٹیوشن فیس,الرسوم الدراسية\n\
                   A-1,2026-10,Bus,1500,PKR,2026-10-10,,\n";
        let r = parse_fees(csv.as_bytes(), &students).unwrap();
        assert_eq!(
            (r[0].description_ur.as_str(), r[0].description_ar.as_str()),
            ("ٹیوشن فیس", "الرسوم الدراسية")
        );
        assert!(r[1].description_ur.is_empty() && r[1].description_ar.is_empty());
        let long = format!(
            "admission_no,period,description,amount,currency,due_date,description_ur\nA-1,2026-09,T,1,PKR,2026-09-10,{}\n",
            "ف".repeat(201)
        );
        assert!(parse_fees(long.as_bytes(), &students).is_err());
    }

    #[test]
    fn fees_validate_against_known_students() {
        let students: HashMap<String, StudentId> = [("A-1".to_string(), StudentId::new())].into();
        let csv = "admission_no,period,description,amount,currency,due_date,paid_amount,paid_on\n\
                   A-1,2026-09,Tuition,4500,PKR,2026-09-10,2000,2026-09-05\n\
                   A-9,2026-09,Tuition,4500,PKR,2026-09-10,,\n\
                   A-1,2026-10,Tuition,-1,PKR,2026-10-10,,\n\
                   A-1,2026-10,Bus,1500,USD,2026-10-10,,\n\
                   A-1,2026-11,Bus,1500,PKR,2026-11-10,100,\n";
        let Err(ImportError::Rows(errs)) = parse_fees(csv.as_bytes(), &students) else {
            panic!()
        };
        assert_eq!(
            errs.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![3, 4, 5, 6]
        );
        let ok = "admission_no,period,description,amount,currency,due_date,paid_amount,paid_on\n\
                  A-1,2026-09,Tuition,4500.50,PKR,2026-09-10,2000,2026-09-05\n";
        let rows = parse_fees(ok.as_bytes(), &students).unwrap();
        assert_eq!(rows[0].amount.minor, 450_050);
        assert_eq!(rows[0].payment.as_ref().unwrap().amount_minor, 200_000);
    }
}
