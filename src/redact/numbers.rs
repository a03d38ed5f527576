//! Identifiers by their shape and check digits: e-mail addresses, URLs that carry a
//! path or a query, IBANs (mod 97, any country), NTNs (with their word), and runs of
//! digits read as a CNIC/B-Form (13 digits, 5-7-1 or none), a payment card (Luhn), a
//! Saudi national ID or Iqama (10 digits from 1 or 2, Luhn) or a Pakistani or Saudi
//! phone number in any written form. Anything else numeric — dates, times, amounts,
//! order numbers that fail their check — is left alone.

use super::{Entity, Kind};
use regex::Regex;
use std::sync::LazyLock;

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[a-z0-9][a-z0-9._%+\-]*@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}")
        .unwrap_or_else(|e| unreachable!("{e}"))
});
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:https?://|www\.|wa\.me/|t\.me/)[^\s<>]+")
        .unwrap_or_else(|e| unreachable!("{e}"))
});
static IBAN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)[a-z]{2}[0-9]{2}(?:[ \-]?[a-z0-9]){11,32}")
        .unwrap_or_else(|e| unreachable!("{e}"))
});
static NTN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:(?-u:\b)ntn(?-u:\b)|این ٹی این|national tax number|الرقم الضريبي)[^0-9]{0,16}([0-9]{7}(?:-[0-9])?)")
        .unwrap_or_else(|e| unreachable!("{e}"))
});

/// The Luhn check of a digit string.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(*d);
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// The ISO 13616 check of an IBAN (letters and digits, no spaces).
pub fn iban_valid(s: &[u8]) -> bool {
    if s.len() < 15 || s.len() > 34 {
        return false;
    }
    let mut rem: u32 = 0;
    for &c in s[4..].iter().chain(&s[..4]) {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            b'a'..=b'z' => u32::from(c - b'a') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// The IBAN length of the countries people here write most (others: any length).
fn iban_length(country: &str) -> Option<usize> {
    Some(match country {
        "NL" => 18,
        "BE" => 16,
        "CH" | "LI" => 21,
        "GB" | "DE" | "IE" | "BH" | "BG" | "ME" | "RS" | "VA" => 22,
        "AE" | "IL" | "OM" => 23,
        "PK" | "SA" | "ES" | "SE" | "CZ" | "SK" | "TN" | "RO" => 24,
        "TR" => 26,
        "FR" | "IT" | "MC" | "SM" => 27,
        "QA" | "EG" => 29,
        "KW" | "JO" => 30,
        _ => return None,
    })
}

/// Byte offset → character index of a string.
fn char_index(s: &str) -> Vec<usize> {
    let mut map = vec![0; s.len() + 1];
    let mut n = 0;
    for (b, c) in s.char_indices() {
        for slot in map.iter_mut().skip(b).take(c.len_utf8()) {
            *slot = n;
        }
        n += 1;
    }
    map[s.len()] = n;
    map
}

/// Every identifier of these kinds in `chars` (digits already ASCII).
pub fn find(chars: &[char]) -> Vec<Entity> {
    let mut out: Vec<Entity> = Vec::new();
    let has_digit = chars.iter().any(char::is_ascii_digit);
    let has_at = chars.contains(&'@');
    let has_link = chars.windows(3).any(|w| {
        matches!(
            w,
            [':', '/', '/'] | ['w', 'w', '.'] | ['W', 'W', '.'] | ['m', 'e', '/'] | ['M', 'E', '/']
        )
    });
    if !has_digit && !has_at && !has_link {
        return out;
    }
    let s: String = chars.iter().collect();
    let at = char_index(&s);
    let free =
        |out: &Vec<Entity>, a: usize, b: usize| !out.iter().any(|e| a < e.end && e.start < b);
    if has_link {
        for m in URL.find_iter(&s) {
            let text = m
                .as_str()
                .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '»', '،', '۔']);
            let end = m.start() + text.len();
            // A bare site ("school.pk", "https://school.pk/") names no one.
            let rest = text.split_once("://").map(|(_, r)| r).unwrap_or(text);
            let carries = rest.trim_end_matches('/').contains(['/', '?', '#', '='])
                || text.to_ascii_lowercase().starts_with("wa.me")
                || text.to_ascii_lowercase().starts_with("t.me");
            if carries {
                out.push(Entity {
                    kind: Kind::Url,
                    start: at[m.start()],
                    end: at[end],
                });
            }
        }
    }
    if has_at {
        for m in EMAIL.find_iter(&s) {
            let (a, b) = (at[m.start()], at[m.end()]);
            if free(&out, a, b) {
                out.push(Entity {
                    kind: Kind::Email,
                    start: a,
                    end: b,
                });
            }
        }
    }
    if !has_digit {
        return out;
    }
    for m in IBAN.find_iter(&s) {
        // The longest prefix (in letters and digits) that passes mod 97.
        let bytes = m.as_str().as_bytes();
        let mut alnum: Vec<(u8, usize)> = Vec::new();
        for (i, &c) in bytes.iter().enumerate() {
            if c.is_ascii_alphanumeric() {
                alnum.push((c.to_ascii_uppercase(), i));
            }
        }
        // The country's IBAN length (a random run passes mod 97 once in 97 tries: only the
        // one length is tried); countries not listed, any length from 15.
        let country: String = alnum.iter().take(2).map(|(c, _)| *c as char).collect();
        let lengths: Vec<usize> = match iban_length(&country) {
            Some(l) => vec![l],
            None => (15..=alnum.len().min(34)).rev().collect(),
        };
        for len in lengths.into_iter().filter(|l| *l <= alnum.len()) {
            let v: Vec<u8> = alnum[..len].iter().map(|(c, _)| *c).collect();
            if iban_valid(&v) {
                let end = m.start() + alnum[len - 1].1 + 1;
                let (a, b) = (at[m.start()], at[end]);
                if free(&out, a, b) {
                    out.push(Entity {
                        kind: Kind::Iban,
                        start: a,
                        end: b,
                    });
                }
                break;
            }
        }
    }
    for c in NTN.captures_iter(&s) {
        if let Some(g) = c.get(1) {
            let (a, b) = (at[g.start()], at[g.end()]);
            if free(&out, a, b) {
                out.push(Entity {
                    kind: Kind::Ntn,
                    start: a,
                    end: b,
                });
            }
        }
    }
    let mut i = 0;
    while i < chars.len() {
        let starts_run = chars[i].is_ascii_digit() || (chars[i] == '+' || chars[i] == '(');
        // Glued to a Latin word or a digit ("A123…"), not a number of ours; after Urdu or
        // Arabic letters («نمبر۰۳۰۰…») it is.
        let boundary = i == 0 || !(chars[i - 1].is_ascii_alphanumeric());
        if !(starts_run && boundary) {
            i += 1;
            continue;
        }
        let groups = run_at(chars, i);
        if groups.is_empty() {
            i += 1;
            continue;
        }
        match classify_run(chars, &groups) {
            Some((kind, a, b)) => {
                if free(&out, a, b) {
                    out.push(Entity {
                        kind,
                        start: a,
                        end: b,
                    });
                }
                i = b;
            }
            None => i = groups.last().map(|g| g.1).unwrap_or(i + 1).max(i + 1),
        }
    }
    out.sort_by_key(|e| e.start);
    out
}

/// The digit groups of a run starting at `i`: (start, end) of each group, separated by
/// one space, a dash, a dot or parentheses; a leading `+` belongs to the first group.
fn run_at(chars: &[char], i: usize) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut j = i;
    let mut start = i;
    let mut in_digits = false;
    while j < chars.len() {
        let c = chars[j];
        if c.is_ascii_digit() {
            if !in_digits {
                in_digits = true;
                if groups.is_empty() && (chars[start] == '+' || chars[start] == '(') {
                    // keep the run's start
                } else {
                    start = j;
                }
            }
            j += 1;
            continue;
        }
        let sep = matches!(
            c,
            ' ' | '\u{00A0}' | '\u{202F}' | '-' | '\u{2011}' | '–' | '.' | '(' | ')' | '+'
        );
        if in_digits {
            groups.push((start, j));
            in_digits = false;
            if !sep {
                break;
            }
            // A separator must be followed by a digit (or one more separator then a digit).
            let next = chars.get(j + 1).copied();
            let next2 = chars.get(j + 2).copied();
            // A full stop and a space end a sentence, not a number.
            let ok = next.is_some_and(|n| n.is_ascii_digit())
                || (c != '.'
                    && next.is_some_and(|n| matches!(n, ' ' | '\u{00A0}' | '(' | ')' | '-'))
                    && next2.is_some_and(|n| n.is_ascii_digit()));
            if !ok {
                break;
            }
            j += 1;
            start = j;
        } else if j == i && matches!(c, '+' | '(') {
            j += 1;
        } else if sep && !groups.is_empty() {
            j += 1;
            start = j;
        } else {
            break;
        }
    }
    if in_digits {
        groups.push((start, j));
    }
    // A run glued to letters after it ("12abc") is not a number of ours.
    if let Some(&(_, end)) = groups.last() {
        if chars
            .get(end)
            .is_some_and(|c| c.is_alphabetic() && c.is_ascii())
        {
            groups.pop();
        }
    }
    groups
}

fn digits_of(chars: &[char], a: usize, b: usize) -> Vec<u8> {
    chars[a..b]
        .iter()
        .filter(|c| c.is_ascii_digit())
        .map(|c| *c as u8 - b'0')
        .collect()
}

/// The identifier a run's groups make, trying the longest prefix first and then from a
/// later group (a date before a phone number).
fn classify_run(chars: &[char], groups: &[(usize, usize)]) -> Option<(Kind, usize, usize)> {
    // No identifier here spans more than six groups or 19 digits: a longer run is tried
    // in windows of at most six groups (bounded work on any input).
    for first in 0..groups.len() {
        // A date before a number ("04-03-2026 10:30", "12/3/26 0300 …") is never part of it.
        if first + 2 < groups.len() && is_date(chars, &groups[first..first + 3]) {
            continue;
        }
        let upto = (first + 6).min(groups.len());
        for last in (first..upto).rev() {
            let (a, b) = (groups[first].0, groups[last].1);
            let d = digits_of(chars, a, b);
            let lens: Vec<usize> = groups[first..=last]
                .iter()
                .map(|(s, e)| digits_of(chars, *s, *e).len())
                .collect();
            let plus = chars[a] == '+';
            if let Some(kind) = kind_of(&d, &lens, plus) {
                return Some((kind, a, b));
            }
        }
    }
    None
}

/// Three groups that read as a date: day and month of one or two digits, a year of two
/// or four.
fn is_date(chars: &[char], g: &[(usize, usize)]) -> bool {
    let len = |(a, b): (usize, usize)| b - a;
    let day_month = |x: (usize, usize)| (1..=2).contains(&len(x));
    day_month(g[0]) && day_month(g[1]) && matches!(len(g[2]), 2 | 4) && {
        let sep = |a: usize, b: usize| chars[a..b].iter().any(|c| matches!(c, '-' | '.' | '/'));
        sep(g[0].1, g[1].0) && sep(g[1].1, g[2].0)
    }
}

fn kind_of(d: &[u8], lens: &[usize], plus: bool) -> Option<Kind> {
    let n = d.len();
    if n > 19 {
        return None;
    }
    if n == 13 && (lens == [5, 7, 1] || lens == [13]) && !plus {
        return Some(Kind::Cnic);
    }
    if (13..=19).contains(&n)
        && !plus
        && (lens.iter().all(|l| *l == 4) || lens == [4, 6, 5] || lens.len() == 1)
        && luhn(d)
        && d[0] != 0
    {
        return Some(Kind::Card);
    }
    if n == 10
        && matches!(d[0], 1 | 2)
        && !plus
        && (lens == [10] || lens == [1, 3, 3, 3])
        && luhn(d)
    {
        return Some(Kind::SaudiId);
    }
    phone_any(d, plus).then_some(Kind::Phone)
}

/// A Pakistani or Saudi phone number, international or national, or any number
/// written in international form (`+`, `00`).
fn phone_any(d: &[u8], plus: bool) -> bool {
    let international = if plus {
        Some(d)
    } else {
        d.strip_prefix(&[0, 0])
    };
    if let Some(rest) = international {
        // Pakistan and Saudi Arabia have exact forms (below); other countries any
        // length a number has.
        if !rest.starts_with(&[9, 2]) && !rest.starts_with(&[9, 6, 6]) {
            return (8..=15).contains(&rest.len());
        }
    }
    phone(d)
        // A Pakistani mobile without its 0 (300 1234567), a Saudi one without it (55 123 4567).
        || (d.len() == 10 && d[0] == 3)
        || (d.len() == 9 && d[0] == 5)
}

/// A Pakistani or Saudi phone number, international or national.
fn phone(d: &[u8]) -> bool {
    let d = if d.starts_with(&[0, 0]) { &d[2..] } else { d };
    if let Some(r) = d.strip_prefix(&[9, 2]) {
        let r = r.strip_prefix(&[0]).unwrap_or(r);
        return match r.first() {
            Some(3) => r.len() == 10,
            Some(1..=9) => (9..=10).contains(&r.len()),
            _ => false,
        };
    }
    if let Some(r) = d.strip_prefix(&[9, 6, 6]) {
        let r = r.strip_prefix(&[0]).unwrap_or(r);
        return matches!(r.first(), Some(5 | 1)) && r.len() == 9
            || matches!(r.first(), Some(8 | 9)) && r.len() == 9;
    }
    match d {
        [0, 3, ..] => d.len() == 11,
        [0, 5, ..] => d.len() == 10,
        [0, 1, ..] => d.len() == 10,
        [0, 8 | 9, 2 | 0, ..] => (10..=11).contains(&d.len()),
        [0, 2..=9, ..] => (10..=11).contains(&d.len()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, String)> {
        let chars: Vec<char> = text.chars().map(super::super::ascii_digit).collect();
        let orig: Vec<char> = text.chars().collect();
        find(&chars)
            .into_iter()
            .map(|e| (e.kind, orig[e.start..e.end].iter().collect()))
            .collect()
    }

    #[test]
    fn check_digits() {
        assert!(luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]));
        assert!(!luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]));
        assert!(iban_valid(b"GB82WEST12345698765432"));
        assert!(iban_valid(b"SA0380000000608010167519"));
        assert!(!iban_valid(b"SA0380000000608010167518"));
    }

    #[test]
    fn identifiers_in_their_written_forms() {
        for (text, kind, value) in [
            ("CNIC 35202-1234567-1 please", Kind::Cnic, "35202-1234567-1"),
            ("b form 3520212345671", Kind::Cnic, "3520212345671"),
            ("شناختی کارڈ ۳۵۲۰۲-۱۲۳۴۵۶۷-۱", Kind::Cnic, "۳۵۲۰۲-۱۲۳۴۵۶۷-۱"),
            ("call +92 300 1234567 now", Kind::Phone, "+92 300 1234567"),
            ("call 0300-1234567.", Kind::Phone, "0300-1234567"),
            ("923001234567", Kind::Phone, "923001234567"),
            ("0092 300 1234567", Kind::Phone, "0092 300 1234567"),
            ("office (042) 35761234", Kind::Phone, "(042) 35761234"),
            ("جوال +966 55 123 4567", Kind::Phone, "+966 55 123 4567"),
            ("٠٥٥١٢٣٤٥٦٧", Kind::Phone, "٠٥٥١٢٣٤٥٦٧"),
            ("riyadh 011 4567890", Kind::Phone, "011 4567890"),
            ("iqama 2000000006", Kind::SaudiId, "2000000006"),
            (
                "IBAN SA03 8000 0000 6080 1016 7519 for refund",
                Kind::Iban,
                "SA03 8000 0000 6080 1016 7519",
            ),
            (
                "mail me at a.khan@gmail.com.",
                Kind::Email,
                "a.khan@gmail.com",
            ),
            (
                "pay https://school.pk/pay?token=abc123.",
                Kind::Url,
                "https://school.pk/pay?token=abc123",
            ),
            ("NTN: 1234567-8", Kind::Ntn, "1234567-8"),
            (
                "card 4111 1111 1111 1111",
                Kind::Card,
                "4111 1111 1111 1111",
            ),
        ] {
            assert_eq!(kinds(text), vec![(kind, value.to_string())], "{text}");
        }
    }

    #[test]
    fn dates_times_amounts_and_failed_checks_stay() {
        for text in [
            "on 12/03/2026 at 8:30 the fee was Rs 4,500",
            "۱۲ مارچ کو 35,000 روپے",
            "order 1234567890 is late",
            "2026-03-12 and 2026",
            "class 3-B, room 12, 2 children",
            "https://school.pk",
        ] {
            assert_eq!(kinds(text), vec![], "{text}");
        }
        for text in [
            "04-03-2026 10:30 ko van nahi aayi",
            "19-03-2026 10 baje",
            "Rs2500 was charged twice for the van and the bus",
            "PK 2500 rupees",
        ] {
            assert_eq!(kinds(text), vec![], "{text}");
        }
        // Any number in international form; national forms without their 0.
        assert_eq!(
            kinds("+971 50 123 4567"),
            vec![(Kind::Phone, "+971 50 123 4567".to_string())]
        );
        assert_eq!(
            kinds("نمبر۰۳۰۰۱۲۳۴۵۶۷"),
            vec![(Kind::Phone, "۰۳۰۰۱۲۳۴۵۶۷".to_string())]
        );
        assert_eq!(
            kinds("call 300 1234567"),
            vec![(Kind::Phone, "300 1234567".to_string())]
        );
        // Bounded work on a long run of digit groups.
        let long = "1 ".repeat(5_000);
        let started = std::time::Instant::now();
        let _ = kinds(&long);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        // A date right before a phone number: only the number.
        assert_eq!(
            kinds("12 03001234567"),
            vec![(Kind::Phone, "03001234567".to_string())]
        );
    }
}
