//! Understanding what people type: digits in any script, yes/no in English, Urdu,
//! Roman Urdu and Arabic, dates and date ranges, numbers and access codes. Pure.

use crate::domain::phone::normalise_digits;
use chrono::{Datelike, Duration, NaiveDate, Weekday};

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
        return Some(true);
    }
    if NO.contains(&t.as_str()) {
        return Some(false);
    }
    // "ji bilkul", «جی بالکل», "bilkul ji": the courtesy word does not change it.
    let core: Vec<&str> = t
        .split(' ')
        .filter(|w| !matches!(*w, "ji" | "jee" | "جی"))
        .collect();
    let core = core.join(" ");
    if core != t && !core.is_empty() {
        if YES.contains(&core.as_str()) {
            return Some(true);
        }
        if NO.contains(&core.as_str()) {
            return Some(false);
        }
    }
    // A yes followed by "send it" / "please" ("ji haan bhej dein", «جی ہاں بھیج دیں»).
    SEND_WORDS.iter().find_map(|w| {
        let head = t.strip_suffix(w)?.trim_end();
        YES.contains(&head).then_some(true)
    })
}

/// What follows a yes without changing it.
const SEND_WORDS: &[&str] = &[
    "please",
    "send it",
    "send",
    "bhej dein",
    "bhej do",
    "bhej den",
    "kar dein",
    "بھیج دیں",
    "بھیج دو",
    "کر دیں",
    "أرسل",
    "ارسل",
    "أرسله",
    "تفضل",
];

/// Acknowledgements: a yes to an everyday question ("ok", 👍), never a consent.
pub fn acknowledgement(text: &str) -> bool {
    matches!(
        normalise(text).as_str(),
        "ok" | "okay"
            | "okk"
            | "okey"
            | "ok ji"
            | "ji ok"
            | "👍"
            | "👍🏻"
            | "👍🏽"
            | "👌"
            | "اوکے"
            | "اوکی"
            | "طيب"
    )
}

/// Words that mark a Latin-letter message as Roman Urdu.
const ROMAN_URDU_MARKERS: &[&str] = &[
    "hai", "hain", "ka", "ki", "ke", "ko", "se", "mein", "mera", "meri", "mere", "aap", "ap",
    "kya", "kyun", "nahi", "nahin", "haan", "ji", "chahiye", "karna", "karein", "kar", "kal",
    "aaj", "bacha", "bachay", "bachi", "beta", "beti", "theek", "shukriya", "chutti", "kitni",
    "kitna", "kab", "kaise", "hum", "yeh", "woh", "abhi", "sab", "gaya", "gayi", "raha", "rahi",
    "tha", "thi", "dein", "bata", "batain", "aayega", "aayegi", "kitne", "kitnay", "paise",
    "lagte", "lagti", "lagta", "hota", "hoti", "hote", "kahan", "kaun", "kis", "aur", "liye",
    "bhi", "kuch", "tak", "sakta", "sakti", "sakte", "milta", "milti", "hoga", "hogi", "karte",
    "karti", "wala", "wali", "batayein", "bataein", "chahta", "chahti", "dakhla", "dakhila",
];

/// Whether a message is written mostly in the Arabic script (Urdu or Arabic).
pub fn arabic_script(text: &str) -> bool {
    let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic()).collect();
    let arabic = letters
        .iter()
        .filter(|c| ('\u{0600}'..='\u{06FF}').contains(*c))
        .count();
    !letters.is_empty() && arabic * 2 > letters.len()
}

/// The language a message is clearly written in, when it is: Urdu or Arabic script
/// told apart by their own letters, Roman Urdu by its everyday words (three words at
/// least, two of them Urdu). None for short, mixed or English text.
pub fn written_in(text: &str) -> Option<crate::domain::school::Locale> {
    use crate::domain::school::Locale;
    let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() < 3 {
        return None;
    }
    if arabic_script(text) {
        // Letters only Urdu uses, and letters only Arabic uses.
        let urdu = letters.iter().any(|c| "ٹڈڑںےہھپچژگکیۓ".contains(*c));
        let arabic = letters.iter().any(|c| "ةىأإؤئيكضظ".contains(*c));
        return match (urdu, arabic) {
            (true, false) => Some(Locale::Ur),
            (false, true) => Some(Locale::Ar),
            _ => None,
        };
    }
    if letters.iter().all(char::is_ascii_alphabetic) {
        let t = normalise(text);
        let words: Vec<&str> = t
            .split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| !w.is_empty())
            .collect();
        let marked: std::collections::BTreeSet<&str> = words
            .iter()
            .copied()
            .filter(|w| ROMAN_URDU_MARKERS.contains(w))
            .collect();
        if words.len() >= 3 && marked.len() >= 2 {
            return Some(Locale::UrLatn);
        }
    }
    None
}

/// Words that mean "nothing to add" for optional answers.
pub const SKIP_WORDS: &[&str] = &[
    "nahi hai",
    "nahin hai",
    "نہیں ہے",
    "ما عندي",
    "nothing to add",
    "skip",
    "done",
    "bas",
    "ho gaya",
    "بس",
    "انتهيت",
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
/// Words joining items of a list: "1 and 2", "1 aur 2", «1 اور 2», «1 و 2».
const AND_WORDS: &[&str] = &["and", "aur", "or", "&", "اور", "و", "+"];

/// The parts of a list ("3, 7 and 12", «۳ اور ۷», «3 و7»).
fn list_parts(t: &str) -> Vec<String> {
    t.split(|c: char| c == ',' || c == '،' || c == ';' || c.is_whitespace())
        .filter(|p| !p.is_empty() && !AND_WORDS.contains(p))
        .map(|p| {
            // Arabic writes "and" joined to the next word: «و7».
            p.strip_prefix('و')
                .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
                .unwrap_or(p)
                .to_string()
        })
        .collect()
}

/// Words around the numbers of an absence list: "2 absent", "all present except 2",
/// «2 غیر حاضر», "sab present hain siwaye 3".
const AROUND_NUMBERS: &[&str] = &[
    "all",
    "everyone",
    "present",
    "except",
    "but",
    "sab",
    "siwaye",
    "siwa",
    "ilawa",
    "سب",
    "سوائے",
    "علاوہ",
    "کے",
    "عدا",
    "ما",
    "الجميع",
    "حاضر",
    "حاضرون",
];

/// Words saying a student is there ("25 present", "3 hazir"): never read as absent.
const PRESENT_WORDS: &[&str] = &[
    "present",
    "hazir",
    "haazir",
    "aaya",
    "aaye",
    "aayi",
    "came",
    "here",
    "حاضر",
    "حاضرون",
    "موجود",
];
/// Words that turn what follows or precedes into absence ("except", "ghair", "absent").
const ABSENCE_MARKERS: &[&str] = &[
    "except",
    "but",
    "siwaye",
    "siwa",
    "ilawa",
    "سوائے",
    "علاوہ",
    "عدا",
    "absent",
    "ghair",
    "غیر",
    "غائب",
    "غائبة",
    "غائبون",
    "nahi",
];

/// A word around the numbers of an attendance answer that is no number.
fn is_filler(p: &str) -> bool {
    ABSENT_WORDS.contains(&p) || AROUND_NUMBERS.contains(&p)
}

/// A list that only says who is present ("25 present", "Ayesha hazir") is no absence
/// list: reading its numbers as absences would mark the wrong children.
fn says_only_present(parts: &[String]) -> bool {
    parts.iter().any(|p| PRESENT_WORDS.contains(&p.as_str()))
        && !parts.iter().any(|p| ABSENCE_MARKERS.contains(&p.as_str()))
}

/// Numbers from a list: "3 7 12", "3, 7 and 12", "1 aur 2", «۱ اور ۲», "2 absent",
/// "all present except 2".
pub fn numbers(text: &str) -> Option<Vec<i64>> {
    let all = list_parts(&normalise(text));
    if says_only_present(&all) {
        return None;
    }
    let parts: Vec<String> = all.into_iter().filter(|p| !is_filler(p)).collect();
    if parts.is_empty() {
        return None;
    }
    parts.iter().map(|p| p.parse::<i64>().ok()).collect()
}

/// "Everyone is here": "all present", "sab present hain", «سب حاضر ہیں», «الجميع حاضر».
pub fn all_present(text: &str) -> bool {
    matches!(
        normalise(text).as_str(),
        "all present"
            | "everyone present"
            | "everyone is present"
            | "all are present"
            | "nobody absent"
            | "none absent"
            | "no one absent"
            | "sab present"
            | "sab present hain"
            | "sab present hai"
            | "sab hazir"
            | "sab hazir hain"
            | "sab haazir hain"
            | "sab aaye hain"
            | "koi absent nahi"
            | "koi ghair hazir nahi"
            | "سب حاضر"
            | "سب حاضر ہیں"
            | "سب موجود ہیں"
            | "کوئی غیر حاضر نہیں"
            | "الجميع حاضر"
            | "الكل حاضر"
            | "كلهم حاضرون"
            | "لا غياب"
    )
}

/// Words that mark the numbers after them as late: "3 7 late 5", "der se 4", «دیر 2».
const LATE_WORDS: &[&str] = &["late", "der", "dair", "دیر", "متأخر", "متاخر", "تأخر"];

/// An attendance answer with late arrivals: the numbers before a late word are absent,
/// those after it late ("3 7 late 5", "late 2", "3 der se 4"). None without a late word.
pub fn absent_and_late(text: &str) -> Option<(Vec<i64>, Vec<i64>)> {
    let parts: Vec<String> = list_parts(&normalise(text))
        .into_iter()
        .filter(|p| p != "se" && p != "سے")
        .collect();
    if !parts.iter().any(|p| LATE_WORDS.contains(&p.as_str())) || says_only_present(&parts) {
        return None;
    }
    let is_late = |p: &str| LATE_WORDS.contains(&p);
    let is_absent = |p: &str| matches!(p, "absent" | "غائب" | "غیر" | "ghair");
    let skip = is_filler;
    let (mut absent, mut late) = (Vec::new(), Vec::new());
    // Written after the numbers ("5 late 3 absent", "3 7 late"): each word names the
    // numbers before it. Written before ("late 2", "3 7 late 5"): numbers before the
    // first word are absent, those after a late word late.
    let postfix = parts.last().is_some_and(|p| is_late(p) || is_absent(p));
    let mut pending = Vec::new();
    let mut in_late = false;
    for p in &parts {
        if is_late(p) || is_absent(p) {
            if postfix {
                let to = if is_late(p) { &mut late } else { &mut absent };
                to.append(&mut pending);
            } else {
                in_late = is_late(p);
            }
            continue;
        }
        if skip(p) {
            continue;
        }
        let n: i64 = p.parse().ok()?;
        if postfix {
            pending.push(n);
        } else if in_late {
            late.push(n);
        } else {
            absent.push(n);
        }
    }
    absent.append(&mut pending);
    (!late.is_empty()).then_some((absent, late))
}

/// Words around names in an absence list that are not names.
const ABSENT_WORDS: &[&str] = &[
    "absent",
    "is",
    "are",
    "was",
    "today",
    "aaj",
    "hai",
    "hain",
    "ghair",
    "hazir",
    "nahi",
    "aaya",
    "aayi",
    "aaye",
    "غیر",
    "حاضر",
    "ہے",
    "ہیں",
    "آج",
    "غائب",
    "غائبة",
    "غائبون",
    "اليوم",
];

/// Indexes (from 1) of the names typed ("Ayesha absent", "Ayesha and Bilal", a first
/// name when only one label has it); None when a word matches no one or several.
pub fn names(text: &str, labels: &[String]) -> Option<Vec<i64>> {
    let all = list_parts(&normalise(text));
    if says_only_present(&all) {
        return None;
    }
    let words: Vec<String> = all
        .into_iter()
        .filter(|w| !ABSENT_WORDS.contains(&w.as_str()))
        .collect();
    if words.is_empty() {
        return None;
    }
    let labels: Vec<Vec<String>> = labels
        .iter()
        .map(|l| {
            normalise(l)
                .split_whitespace()
                .map(str::to_string)
                .collect()
        })
        .collect();
    let mut picked = Vec::new();
    let mut i = 0;
    while i < words.len() {
        // The longest run of words that is a whole name, then a unique first name.
        let whole = (1..=words.len() - i).rev().find_map(|n| {
            let run = &words[i..i + n];
            let hits: Vec<usize> = (0..labels.len()).filter(|k| labels[*k] == run).collect();
            (hits.len() == 1).then(|| (hits[0], n))
        });
        let (k, used) = match whole {
            Some(x) => x,
            None => {
                let hits: Vec<usize> = (0..labels.len())
                    .filter(|k| labels[*k].first() == Some(&words[i]))
                    .collect();
                if hits.len() != 1 {
                    return None;
                }
                (hits[0], 1)
            }
        };
        let n = k as i64 + 1;
        if !picked.contains(&n) {
            picked.push(n);
        }
        i += used;
    }
    Some(picked)
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

const WEEKDAYS: &[(&str, Weekday)] = &[
    ("monday", Weekday::Mon),
    ("mon", Weekday::Mon),
    ("somwar", Weekday::Mon),
    ("somvar", Weekday::Mon),
    ("peer", Weekday::Mon),
    ("pir", Weekday::Mon),
    ("پیر", Weekday::Mon),
    ("سوموار", Weekday::Mon),
    ("الاثنين", Weekday::Mon),
    ("الإثنين", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("tue", Weekday::Tue),
    ("mangal", Weekday::Tue),
    ("منگل", Weekday::Tue),
    ("الثلاثاء", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("wed", Weekday::Wed),
    ("budh", Weekday::Wed),
    ("بدھ", Weekday::Wed),
    ("الأربعاء", Weekday::Wed),
    ("الاربعاء", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("thu", Weekday::Thu),
    ("jumerat", Weekday::Thu),
    ("jumeraat", Weekday::Thu),
    ("جمعرات", Weekday::Thu),
    ("الخميس", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("fri", Weekday::Fri),
    ("juma", Weekday::Fri),
    ("jumma", Weekday::Fri),
    ("jumah", Weekday::Fri),
    ("jumme", Weekday::Fri),
    ("jummay", Weekday::Fri),
    ("جمعہ", Weekday::Fri),
    ("الجمعة", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sat", Weekday::Sat),
    ("hafta", Weekday::Sat),
    ("ہفتہ", Weekday::Sat),
    ("السبت", Weekday::Sat),
    ("sunday", Weekday::Sun),
    ("sun", Weekday::Sun),
    ("itwar", Weekday::Sun),
    ("itwaar", Weekday::Sun),
    ("اتوار", Weekday::Sun),
    ("الأحد", Weekday::Sun),
    ("الاحد", Weekday::Sun),
];

/// Words around a day name that do not change it ("next monday", "peer ko", «پیر کو»).
const DAY_PREFIXES: &[&str] = &[
    "next ",
    "coming ",
    "this ",
    "on ",
    "agle ",
    "aglay ",
    "اگلے ",
    "يوم ",
];
const DAY_SUFFIXES: &[&str] = &[" ko", " کو", " القادم", " الجاي"];

/// The next `day` on or after `today`.
fn next_weekday(today: NaiveDate, day: Weekday) -> NaiveDate {
    let ahead = (7 + day.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
    today + Duration::days(i64::from(ahead))
}

/// The school days of the next week: from the first day after the weekend that comes
/// after today, to the last day before the next weekend.
pub fn next_week(today: NaiveDate, weekend: &[Weekday]) -> Option<(NaiveDate, NaiveDate)> {
    let school = |d: NaiveDate| !weekend.contains(&d.weekday());
    let mut start = today.succ_opt()?;
    for _ in 0..14 {
        if school(start) && start.pred_opt().is_some_and(|p| !school(p)) {
            break;
        }
        start = start.succ_opt()?;
    }
    if weekend.is_empty() {
        start = next_weekday(today.succ_opt()?, Weekday::Mon);
    }
    let mut end = start;
    while end - start < Duration::days(6) {
        let next = end.succ_opt()?;
        if !school(next) {
            break;
        }
        end = next;
    }
    Some((start, end))
}

/// "7th" → "7" (an ordinal day).
fn ordinal(word: &str) -> &str {
    for suffix in ["st", "nd", "rd", "th"] {
        if let Some(n) = word.strip_suffix(suffix) {
            if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) {
                return n;
            }
        }
    }
    word
}

/// One date: today / tomorrow / the day after (also aaj, kal, parson, آج, کل, پرسوں,
/// اليوم, غدا, بعد غد), a day name in English, Roman Urdu, Urdu or Arabic (the next one,
/// today counting), 5/12, 5/12/2026, 5-12-2026, 2026-12-05, "5 dec", "7th dec",
/// "5 december 2026", "dec 5".
pub fn date(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    let t = normalise(text);
    match t.as_str() {
        "today" | "aaj" | "آج" | "اليوم" => return Some(today),
        "tomorrow" | "kal" | "کل" | "غدا" | "غداً" | "بكرة" | "بكره" => {
            return today.succ_opt()
        }
        "parson" | "parsoon" | "parso" | "پرسوں" | "day after tomorrow" | "بعد غد" | "بعد غدا"
        | "بعد الغد" | "بعد بكرة" => {
            return today.checked_add_signed(Duration::days(2))
        }
        _ => {}
    }
    let mut day_name = t.as_str();
    for p in DAY_PREFIXES {
        day_name = day_name.strip_prefix(p).unwrap_or(day_name);
    }
    for sfx in DAY_SUFFIXES {
        day_name = day_name.strip_suffix(sfx).unwrap_or(day_name);
    }
    if let Some((_, wd)) = WEEKDAYS.iter().find(|(w, _)| *w == day_name) {
        // "next monday" said on a Monday is a week away; "monday" is today.
        let next = ["next ", "agle ", "aglay ", "اگلے "]
            .iter()
            .any(|p| t.starts_with(p))
            || [" القادم", " الجاي"].iter().any(|s| t.ends_with(s));
        let from = if next { today.succ_opt()? } else { today };
        return Some(next_weekday(from, *wd));
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
    let words: Vec<&str> = t.split_whitespace().map(ordinal).collect();
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

/// "next week" in each language.
const NEXT_WEEK: &[&str] = &[
    "next week",
    "agle hafte",
    "agla hafta",
    "aglay haftay",
    "agle hafta",
    "اگلے ہفتہ",
    "اگلے ہفتے",
    "اگلا ہفتہ",
    "الأسبوع القادم",
    "الاسبوع القادم",
    "الأسبوع الجاي",
];

/// "3 din", "3 days", «3 دن», «3 أيام»: a number of days.
fn day_count(text: &str) -> Option<i64> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let [n, unit] = words.as_slice() else {
        return None;
    };
    let n: i64 = n.parse().ok()?;
    let unit_ok = matches!(
        *unit,
        "din"
            | "dinon"
            | "day"
            | "days"
            | "دن"
            | "دنوں"
            | "روز"
            | "أيام"
            | "ايام"
            | "يوم"
            | "يومين"
    );
    (unit_ok && (1..=60).contains(&n)).then_some(n)
}

/// A single day or a range ("5/12 to 7/12", "5 dec - 7 dec", "aaj se kal", "5-7 dec",
/// "from 5/12 to 7/12", «من ٥/١٢ إلى ٧/١٢», "kal se 3 din", "next week"). Calendar days:
/// counting school days is the school's calendar's business. `weekend` says which days
/// a week's school days stop at ("next week").
pub fn date_range(
    text: &str,
    today: NaiveDate,
    weekend: &[Weekday],
) -> Option<(NaiveDate, NaiveDate)> {
    let mut t = normalise(text);
    for p in ["from ", "من ", "az "] {
        if let Some(rest) = t.strip_prefix(p) {
            t = rest.to_string();
        }
    }
    if NEXT_WEEK.contains(&t.as_str()) {
        return next_week(today, weekend);
    }
    let padded = format!(" {t} ");
    // "kal se 3 din", "tomorrow for 2 days", «کل سے 3 دن».
    for sep in [" se ", " سے ", " for ", " لمدة ", " من "] {
        if let Some((a, b)) = padded.split_once(sep) {
            if let (Some(from), Some(n)) = (date(a.trim(), today), day_count(b.trim())) {
                // "3 din" are three school days: weekend days in between do not count.
                let mut to = from;
                let mut counted = i64::from(!weekend.contains(&from.weekday()));
                while counted < n {
                    to = to.succ_opt()?;
                    if !weekend.contains(&to.weekday()) {
                        counted += 1;
                    }
                }
                return Some((from, to));
            }
        }
    }
    // "5-7 dec": two days of one month.
    if let Some((a, rest)) = t.split_once(['-', '–']) {
        let b = rest.trim_start();
        let (first, rest) = b.split_once(' ').unwrap_or((b, ""));
        let a = a.trim();
        if !rest.is_empty() && a.chars().all(|c| c.is_ascii_digit()) && !a.is_empty() {
            if let (Some(from), Some(to)) = (
                date(&format!("{a} {rest}"), today),
                date(&format!("{first} {rest}"), today),
            ) {
                return Some((from, to));
            }
        }
    }
    for sep in RANGE_SEPARATORS {
        if let Some((a, b)) = padded.split_once(sep) {
            let (a, b) = (a.trim(), b.trim());
            // "aaj se kal tak": the trailing "tak" is just the end marker.
            let b = b
                .strip_suffix(" tak")
                .or(b.strip_suffix(" تک"))
                .unwrap_or(b);
            if !a.is_empty() && !b.is_empty() {
                let mut to = date(b, today)?;
                // "5 to 7 dec", «5 سے 7 دسمبر»: the first day takes the last's month.
                let from = match date(a, today) {
                    Some(d) => d,
                    None => {
                        let d: u32 = ordinal(a).parse().ok()?;
                        let same = NaiveDate::from_ymd_opt(to.year(), to.month(), d)?;
                        if same <= to {
                            same
                        } else {
                            let prev = to.with_day(1)?.pred_opt()?;
                            NaiveDate::from_ymd_opt(prev.year(), prev.month(), d)?
                        }
                    }
                };
                // "monday to friday" said on a Wednesday: the Friday after that Monday.
                if to < from && date(b, from) > Some(from) {
                    to = date(b, from)?;
                }
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
        for yes in [
            "ji haan bhej dein",
            "جی ہاں بھیج دیں",
            "yes please",
            "نعم أرسل",
        ] {
            assert_eq!(yes_no(yes), Some(true), "{yes}");
        }
        assert_eq!(yes_no("no please"), None);
        assert_eq!(yes_no("ji bilkul"), Some(true));
        assert_eq!(yes_no("جی بالکل"), Some(true));
        for not_an_answer in ["ok", "👍"] {
            assert_eq!(yes_no(not_an_answer), None, "{not_an_answer}");
            assert!(acknowledgement(not_an_answer));
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
    fn the_language_a_message_is_written_in() {
        use crate::domain::school::Locale;
        assert_eq!(
            written_in("mera beta kal school nahi aayega"),
            Some(Locale::UrLatn)
        );
        assert_eq!(written_in("fee kitni baqi hai"), Some(Locale::UrLatn));
        assert_eq!(written_in("فیس کتنی باقی ہے"), Some(Locale::Ur));
        assert_eq!(written_in("هل حضر ابني اليوم؟"), Some(Locale::Ar));
        assert_eq!(written_in("How much fee is due?"), None);
        assert_eq!(written_in("kal"), None);
        assert_eq!(written_in("1"), None);
        assert_eq!(written_in("سلام"), None);
    }

    /// The list forms quoted in issue 14 item 5.
    #[test]
    fn lists_of_absent_students() {
        assert_eq!(numbers("1 aur 2"), Some(vec![1, 2]));
        assert_eq!(numbers("1 and 2"), Some(vec![1, 2]));
        assert_eq!(numbers("3, 7 and 12"), Some(vec![3, 7, 12]));
        assert_eq!(numbers("۱ اور ۲"), Some(vec![1, 2]));
        assert_eq!(numbers("1 و2"), Some(vec![1, 2]));
        assert_eq!(numbers("1 aur kal"), None);
        assert_eq!(numbers("2 absent"), Some(vec![2]));
        assert_eq!(numbers("all present except 2"), Some(vec![2]));
        assert_eq!(numbers("۲ غیر حاضر"), Some(vec![2]));
        assert_eq!(numbers("absent"), None);
        assert_eq!(absent_and_late("3 7 late 5"), Some((vec![3, 7], vec![5])));
        assert_eq!(absent_and_late("late 2"), Some((vec![], vec![2])));
        assert_eq!(absent_and_late("1 der se 2"), Some((vec![1], vec![2])));
        assert_eq!(absent_and_late("۱ دیر ۲"), Some((vec![1], vec![2])));
        assert_eq!(absent_and_late("3 7"), None);
        assert_eq!(absent_and_late("5 late 3 absent"), Some((vec![3], vec![5])));
        assert_eq!(absent_and_late("3 7 late"), Some((vec![], vec![3, 7])));
        // Saying who is present is never read as absences.
        assert_eq!(numbers("25 present"), None);
        assert_eq!(numbers("3 hazir"), None);
        assert_eq!(numbers("2 aaye"), None);
        for all in [
            "sab present hain",
            "All present",
            "سب حاضر ہیں",
            "الجميع حاضر",
        ] {
            assert!(all_present(all), "{all}");
        }
        let class: Vec<String> = ["Ayesha Khan", "Bilal Ahmed", "Ayesha Siddiqui", "Sara Ali"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(names("Sara absent", &class), Some(vec![4]));
        assert_eq!(names("Bilal aur Sara", &class), Some(vec![2, 4]));
        assert_eq!(names("Ayesha Khan absent", &class), Some(vec![1]));
        // Two Ayeshas: the first name alone is ambiguous.
        assert_eq!(names("Ayesha absent", &class), None);
        assert_eq!(names("Zainab", &class), None);
    }

    const SAT_SUN: &[Weekday] = &[Weekday::Sat, Weekday::Sun];
    const FRI_SAT: &[Weekday] = &[Weekday::Fri, Weekday::Sat];

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
            ("next week sometime", None),
        ];
        for (typed, expected) in ranges {
            assert_eq!(date_range(typed, today, SAT_SUN), expected, "{typed}");
        }
    }

    /// Every date form quoted in issue 14 item 6, in the language it was found in
    /// (today: Thursday 3 December 2026; a Pakistani school, weekend Saturday-Sunday,
    /// and a Saudi one, weekend Friday-Saturday).
    #[test]
    fn the_date_forms_parents_type() {
        let today = day(2026, 12, 3);
        let one = |d| Some((d, d));
        type Case<'a> = (&'a str, &'a [Weekday], Option<(NaiveDate, NaiveDate)>);
        let cases: &[Case] = &[
            (
                "5-7 dec",
                SAT_SUN,
                Some((day(2026, 12, 5), day(2026, 12, 7))),
            ),
            (
                "5 - 7 December",
                SAT_SUN,
                Some((day(2026, 12, 5), day(2026, 12, 7))),
            ),
            ("7th dec", SAT_SUN, one(day(2026, 12, 7))),
            ("dec 1st", SAT_SUN, one(day(2026, 12, 1))),
            (
                "from 5/12 to 7/12",
                SAT_SUN,
                Some((day(2026, 12, 5), day(2026, 12, 7))),
            ),
            ("parson", SAT_SUN, one(day(2026, 12, 5))),
            ("پرسوں", SAT_SUN, one(day(2026, 12, 5))),
            ("بعد غد", FRI_SAT, one(day(2026, 12, 5))),
            ("monday", SAT_SUN, one(day(2026, 12, 7))),
            ("somwar", SAT_SUN, one(day(2026, 12, 7))),
            ("peer", SAT_SUN, one(day(2026, 12, 7))),
            ("پیر", SAT_SUN, one(day(2026, 12, 7))),
            ("الأحد", FRI_SAT, one(day(2026, 12, 6))),
            ("thursday", SAT_SUN, one(day(2026, 12, 3))),
            // "next" said on that very day is a week away.
            ("next thursday", SAT_SUN, one(day(2026, 12, 10))),
            // The end of a range of day names comes after its start.
            (
                "monday to thursday",
                SAT_SUN,
                Some((day(2026, 12, 7), day(2026, 12, 10))),
            ),
            (
                "اگلے ہفتہ",
                SAT_SUN,
                Some((day(2026, 12, 7), day(2026, 12, 11))),
            ),
            ("next monday", SAT_SUN, one(day(2026, 12, 7))),
            (
                "next week",
                SAT_SUN,
                Some((day(2026, 12, 7), day(2026, 12, 11))),
            ),
            (
                "agle hafte",
                SAT_SUN,
                Some((day(2026, 12, 7), day(2026, 12, 11))),
            ),
            (
                "اگلے ہفتے",
                SAT_SUN,
                Some((day(2026, 12, 7), day(2026, 12, 11))),
            ),
            (
                "الأسبوع القادم",
                FRI_SAT,
                Some((day(2026, 12, 6), day(2026, 12, 10))),
            ),
            // Three school days from Friday: Friday, Monday, Tuesday.
            (
                "kal se 3 din",
                SAT_SUN,
                Some((day(2026, 12, 4), day(2026, 12, 8))),
            ),
            (
                "کل سے 3 دن",
                SAT_SUN,
                Some((day(2026, 12, 4), day(2026, 12, 8))),
            ),
            // Two school days from a Friday in Riyadh: Sunday and Monday.
            (
                "tomorrow for 2 days",
                FRI_SAT,
                Some((day(2026, 12, 4), day(2026, 12, 7))),
            ),
            (
                "من 5 ديسمبر إلى 7 ديسمبر",
                FRI_SAT,
                Some((day(2026, 12, 5), day(2026, 12, 7))),
            ),
            (
                "من ٥/١٢ إلى ٧/١٢",
                FRI_SAT,
                Some((day(2026, 12, 5), day(2026, 12, 7))),
            ),
            (
                "5 سے 7 دسمبر",
                SAT_SUN,
                Some((day(2026, 12, 5), day(2026, 12, 7))),
            ),
        ];
        for (typed, weekend, expected) in cases {
            assert_eq!(date_range(typed, today, weekend), *expected, "{typed}");
        }
    }
}
