//! Understanding what people type: digits in any script, yes/no in English, Urdu,
//! Roman Urdu and Arabic, dates and date ranges, numbers and access codes. Pure.

use crate::domain::phone::normalise_digits;
use chrono::{Datelike, Duration, NaiveDate};

/// Lower case, Urdu/Arabic-Indic digits as ASCII, surrounding spaces and
/// punctuation removed, inner runs of spaces collapsed.
pub fn normalise(s: &str) -> String {
    let s = normalise_digits(s).to_lowercase();
    let trimmed = s.trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, '.' | '!' | '?' | '؟' | '۔' | ',' | '،' | '"' | '\'')
    });
    trimmed.split_whitespace().collect::<Vec<_>>().join(" ")
}

const YES: &[&str] = &[
    "yes",
    "y",
    "yeah",
    "yep",
    // Not "ok": it often only acknowledges a message (a template), never an approval.
    "approve",
    "agree",
    "haan",
    "han",
    "haa",
    "ha",
    "ji",
    "jee",
    "ji haan",
    "ji han",
    "haan ji",
    "han ji",
    "theek",
    "thik",
    "theek hai",
    "thik hai",
    "ji theek hai",
    "ji thik hai",
    "bilkul",
    "zaroor",
    "zaroor ji",
    "ہاں",
    "ہاں جی",
    "جی",
    "جی ہاں",
    "ٹھیک",
    "ٹھیک ہے",
    "جی ٹھیک ہے",
    "بالکل",
    "ضرور",
    "نعم",
    "اي",
    "أي",
    "ايوه",
    "أكيد",
    "اكيد",
    "حسنا",
    "حسناً",
    "تمام",
    "موافق",
    "أوافق",
    "اوافق",
];
const NO: &[&str] = &[
    "no",
    "n",
    "nope",
    "decline",
    "disagree",
    "nahi",
    "nahin",
    "nai",
    "na",
    "ji nahi",
    "نہیں",
    "نہ",
    "جی نہیں",
    "لا",
    "لأ",
    "غير موافق",
    "ارفض",
    "أرفض",
];

pub fn yes_no(text: &str) -> Option<bool> {
    let t = normalise(text);
    if YES.contains(&t.as_str()) {
        Some(true)
    } else if NO.contains(&t.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// Words that mean "nothing to add" for optional answers.
pub const SKIP_WORDS: &[&str] = &[
    "nothing to add",
    "skip",
    "none",
    "no",
    "nothing",
    "-",
    "nahi",
    "kuch nahi",
    "skip karo",
    "skip kar do",
    "chhor dein",
    "chor dein",
    "chhor do",
    "nahi chahiye",
    "koi nahi",
    "چھوڑ دیں",
    "چھوڑ دو",
    "نہیں چاہیے",
    "کوئی نہیں",
    "لا يوجد",
    "تجاوز",
    "تخطى",
    "چھوڑیں",
    "کچھ نہیں",
    "نہیں",
    "تخطي",
    "لا",
    "لا شيء",
];

/// Words that mean "nothing to add" for optional answers.
pub fn is_skip(text: &str) -> bool {
    let t = normalise(text);
    SKIP_WORDS.contains(&t.as_str())
}

pub fn number(text: &str) -> Option<i64> {
    let t = normalise(text);
    let t: String = t
        .chars()
        .filter(|c| *c != ',' && *c != '\u{066C}')
        .collect();
    t.parse::<i64>().ok()
}

/// Several numbers, as "3 7 12" or "3, 7, 12" (teacher attendance by list).
pub fn numbers(text: &str) -> Option<Vec<i64>> {
    let t = normalise(text);
    let parts: Vec<&str> = t
        .split(|c: char| c == ',' || c == '،' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        return None;
    }
    parts.iter().map(|p| p.parse::<i64>().ok()).collect()
}

const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("jan", 1),
    ("february", 2),
    ("feb", 2),
    ("march", 3),
    ("mar", 3),
    ("april", 4),
    ("apr", 4),
    ("may", 5),
    ("june", 6),
    ("jun", 6),
    ("july", 7),
    ("jul", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sept", 9),
    ("sep", 9),
    ("october", 10),
    ("oct", 10),
    ("november", 11),
    ("nov", 11),
    ("december", 12),
    ("dec", 12),
    ("جنوری", 1),
    ("فروری", 2),
    ("مارچ", 3),
    ("اپریل", 4),
    ("مئی", 5),
    ("جون", 6),
    ("جولائی", 7),
    ("اگست", 8),
    ("ستمبر", 9),
    ("اکتوبر", 10),
    ("نومبر", 11),
    ("دسمبر", 12),
    ("يناير", 1),
    ("فبراير", 2),
    ("مارس", 3),
    ("أبريل", 4),
    ("ابريل", 4),
    ("مايو", 5),
    ("يونيو", 6),
    ("يوليو", 7),
    ("أغسطس", 8),
    ("اغسطس", 8),
    ("سبتمبر", 9),
    ("أكتوبر", 10),
    ("اكتوبر", 10),
    ("نوفمبر", 11),
    ("ديسمبر", 12),
];

fn month(word: &str) -> Option<u32> {
    MONTHS.iter().find(|(w, _)| *w == word).map(|(_, m)| *m)
}

/// A day typed without a year is this year's, or next year's when this year's is
/// more than 30 days ago (so "5/1" typed in December means January).
fn infer_year(today: NaiveDate, m: u32, d: u32) -> Option<NaiveDate> {
    let this = NaiveDate::from_ymd_opt(today.year(), m, d)?;
    if this < today - Duration::days(30) {
        NaiveDate::from_ymd_opt(today.year() + 1, m, d)
    } else {
        Some(this)
    }
}

/// One date: today / tomorrow (also aaj, kal, آج, کل, اليوم, غدا), 5/12, 5/12/2026,
/// 5-12-2026, 2026-12-05, "5 dec", "5 december 2026", "dec 5".
pub fn date(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    let t = normalise(text);
    match t.as_str() {
        "today" | "aaj" | "آج" | "اليوم" => return Some(today),
        "tomorrow" | "kal" | "کل" | "غدا" | "غداً" | "بكرة" | "بكره" => {
            return today.succ_opt()
        }
        _ => {}
    }
    if let Ok(d) = NaiveDate::parse_from_str(&t, "%Y-%m-%d") {
        return Some(d);
    }
    let sep = |c: char| c == '/' || c == '-' || c == '.';
    if t.contains(sep) && t.chars().all(|c| c.is_ascii_digit() || sep(c)) {
        let parts: Vec<u32> = t.split(sep).filter_map(|p| p.parse().ok()).collect();
        return match parts.as_slice() {
            [d, m] => infer_year(today, *m, *d),
            [d, m, y] => {
                let y = if *y < 100 {
                    2000 + *y as i32
                } else {
                    *y as i32
                };
                NaiveDate::from_ymd_opt(y, *m, *d)
            }
            _ => None,
        };
    }
    let words: Vec<&str> = t.split_whitespace().collect();
    let (d, m, y) = match words.as_slice() {
        [a, b] => match (a.parse::<u32>(), month(b), month(a), b.parse::<u32>()) {
            (Ok(d), Some(m), _, _) => (d, m, None),
            (_, _, Some(m), Ok(d)) => (d, m, None),
            _ => return None,
        },
        [a, b, c] => match (a.parse::<u32>(), month(b), c.parse::<i32>()) {
            (Ok(d), Some(m), Ok(y)) => (d, m, Some(y)),
            _ => match (month(a), b.parse::<u32>(), c.parse::<i32>()) {
                (Some(m), Ok(d), Ok(y)) => (d, m, Some(y)),
                _ => return None,
            },
        },
        _ => return None,
    };
    match y {
        Some(y) => NaiveDate::from_ymd_opt(y, m, d),
        None => infer_year(today, m, d),
    }
}

const RANGE_SEPARATORS: &[&str] = &[
    " to ", " till ", " until ", " tak ", " se ", " - ", " – ", " تا ", " سے ", " تک ", " إلى ",
    " الى ", " حتى ",
];

/// A single day or a range ("5/12 to 7/12", "5 dec - 7 dec", "aaj se kal").
pub fn date_range(text: &str, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let t = normalise(text);
    let padded = format!(" {t} ");
    for sep in RANGE_SEPARATORS {
        if let Some((a, b)) = padded.split_once(sep) {
            let (a, b) = (a.trim(), b.trim());
            // "aaj se kal tak": the trailing "tak" is just the end marker.
            let b = b
                .strip_suffix(" tak")
                .or(b.strip_suffix(" تک"))
                .unwrap_or(b);
            if !a.is_empty() && !b.is_empty() {
                let from = date(a, today)?;
                let to = date(b, today)?;
                return Some((from, to));
            }
        }
    }
    // "5/12-7/12": two slash dates joined by a hyphen.
    if t.contains('/') {
        if let Some((a, b)) = t.split_once('-') {
            if let (Some(from), Some(to)) = (date(a, today), date(b, today)) {
                return Some((from, to));
            }
        }
    }
    date(&t, today).map(|d| (d, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The polite and everyday forms parents use (issue 14, item 5), in each language.
    #[test]
    fn polite_yes_and_skip_forms() {
        for yes in [
            "haan ji",
            "Ji theek hai",
            "theek hai",
            "ji haan",
            "Bilkul",
            "zaroor",
            "جی ٹھیک ہے",
            "ٹھیک ہے",
            "بالکل",
            "أكيد",
            "حسناً",
            "تمام",
        ] {
            assert_eq!(yes_no(yes), Some(true), "{yes}");
        }
        // Acknowledgements are not approvals (a consent answer must be meant).
        for not_an_answer in ["ok", "👍"] {
            assert_eq!(yes_no(not_an_answer), None, "{not_an_answer}");
        }
        for skip in [
            "چھوڑ دیں",
            "نہیں چاہیے",
            "nahi chahiye",
            "skip karo",
            "Chhor dein",
            "koi nahi",
            "لا يوجد",
        ] {
            assert!(is_skip(skip), "{skip}");
        }
        assert!(!is_skip("fever since monday"));
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn yes_no_in_four_ways() {
        for y in ["Yes", "haan", "ہاں", "نعم", " ji "] {
            assert_eq!(yes_no(y), Some(true), "{y}");
        }
        for n in ["no", "Nahi", "نہیں", "لا"] {
            assert_eq!(yes_no(n), Some(false), "{n}");
        }
        assert_eq!(yes_no("maybe"), None);
    }

    #[test]
    fn digits_in_any_script() {
        assert_eq!(number("۲"), Some(2));
        assert_eq!(number("٣"), Some(3));
        assert_eq!(number(" 12. "), Some(12));
        assert_eq!(numbers("3 ۷, 12"), Some(vec![3, 7, 12]));
        assert_eq!(numbers("3 x"), None);
    }

    #[test]
    fn dates_and_ranges() {
        let today = day(2026, 11, 24);
        assert_eq!(date("kal", today), Some(day(2026, 11, 25)));
        assert_eq!(date("5/12", today), Some(day(2026, 12, 5)));
        assert_eq!(date("۵/۱۲/۲۰۲۶", today), Some(day(2026, 12, 5)));
        assert_eq!(date("5 dec", today), Some(day(2026, 12, 5)));
        assert_eq!(date("5 دسمبر", today), Some(day(2026, 12, 5)));
        assert_eq!(date("dec 5 2026", today), Some(day(2026, 12, 5)));
        // Early January typed in late November is next year's.
        assert_eq!(date("5/1", today), Some(day(2027, 1, 5)));
        assert_eq!(date("31/2", today), None);
        let ranges = [
            ("5/12 to 7/12", Some((day(2026, 12, 5), day(2026, 12, 7)))),
            ("5/12-7/12", Some((day(2026, 12, 5), day(2026, 12, 7)))),
            (
                "aaj se kal tak",
                Some((day(2026, 11, 24), day(2026, 11, 25))),
            ),
            ("tomorrow", Some((day(2026, 11, 25), day(2026, 11, 25)))),
            ("next week", None),
        ];
        for (typed, expected) in ranges {
            assert_eq!(date_range(typed, today), expected, "{typed}");
        }
    }
}
