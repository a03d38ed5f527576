//! The bot's words: Project Fluent files (`flows/locales/{en,ur,ar,ur-Latn}.ftl`) and
//! the locale rules for numbers, money and dates (Roman Urdu formats as English does:
//! its readers write "Rs 11,500" and "5 Dec").
//!
//! Urdu and Arabic messages keep Fluent's Unicode isolation marks (FSI/PDI) around
//! every placeable, so a Latin name or a number inside right-to-left text keeps its
//! own direction; English messages do without them. Numbers use Arabic-Indic digits
//! in Arabic and South Asian (lakh) grouping in Urdu.

use crate::domain::fees::{Currency, Money};
use crate::domain::school::Locale;
use chrono::{Datelike, NaiveDate};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde_json::Value;

pub const LOCALES: [Locale; 4] = [Locale::En, Locale::Ur, Locale::Ar, Locale::UrLatn];

#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error("{file}: {problem}")]
    Load { file: String, problem: String },
    #[error("text {key:?} is missing in {locale}")]
    Missing { key: String, locale: &'static str },
    #[error("text {key:?} in {locale}: {problem}")]
    Format {
        key: String,
        locale: &'static str,
        problem: String,
    },
}

/// One bundle per locale (in [`LOCALES`] order), loaded once at start.
pub struct Texts {
    bundles: Vec<FluentBundle<FluentResource>>,
    /// Message ids per locale, for `flows check`.
    ids: [Vec<String>; 4],
}

impl std::fmt::Debug for Texts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Texts")
            .field("messages", &self.ids[0].len())
            .finish()
    }
}

fn index(locale: Locale) -> usize {
    match locale {
        Locale::En => 0,
        Locale::Ur => 1,
        Locale::Ar => 2,
        Locale::UrLatn => 3,
    }
}

fn langid(locale: Locale) -> unic_langid::LanguageIdentifier {
    // The four tags are valid BCP 47; the fallback is never used.
    locale.as_str().parse().unwrap_or_default()
}

impl Texts {
    /// The texts built into the binary (`locales/*.ftl` of [`crate::flow::EMBEDDED`]).
    pub fn embedded() -> Result<Self, TextError> {
        Self::from_files(
            crate::flow::EMBEDDED
                .iter()
                .map(|(name, source)| (name.to_string(), source.to_string()))
                .collect(),
        )
    }

    /// Picks `locales/{en,ur,ar,ur-Latn}.ftl` from the files of a flows set (paths relative to
    /// it); other files are ignored.
    pub fn from_files(files: Vec<(String, String)>) -> Result<Self, TextError> {
        let mut files: std::collections::HashMap<String, String> = files.into_iter().collect();
        let mut sources = Vec::new();
        for locale in LOCALES {
            let file = format!("locales/{}.ftl", locale.as_str());
            let source = files.remove(&file).ok_or_else(|| TextError::Load {
                file: file.clone(),
                problem: "not found".into(),
            })?;
            sources.push((file, source));
        }
        Self::from_sources(sources)
    }

    /// Builds the bundles from (file name, source) in the order en, ur, ar, ur-Latn.
    pub fn from_sources(sources: Vec<(String, String)>) -> Result<Self, TextError> {
        if sources.len() != LOCALES.len() {
            return Err(TextError::Load {
                file: "flows/locales".into(),
                problem: "four locale files are needed (en, ur, ar, ur-Latn)".into(),
            });
        }
        let mut bundles = Vec::new();
        let mut ids: [Vec<String>; 4] = Default::default();
        for (i, (locale, (file, source))) in LOCALES.into_iter().zip(sources).enumerate() {
            let resource =
                FluentResource::try_new(source).map_err(|(_, errors)| TextError::Load {
                    file: file.clone(),
                    problem: format!(
                        "syntax error: {}",
                        errors
                            .iter()
                            .map(|e| format!("{e:?}"))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                })?;
            for entry in resource.entries() {
                if let fluent_syntax::ast::Entry::Message(m) = entry {
                    ids[i].push(m.id.name.to_string());
                }
            }
            let mut bundle = FluentBundle::new_concurrent(vec![langid(locale)]);
            bundle.set_use_isolating(locale.is_rtl());
            bundle.set_formatter(Some(match locale {
                Locale::En | Locale::UrLatn => format_en,
                Locale::Ur => format_ur,
                Locale::Ar => format_ar,
            }));
            bundle
                .add_resource(resource)
                .map_err(|errors| TextError::Load {
                    file,
                    problem: format!("{errors:?}"),
                })?;
            bundles.push(bundle);
        }
        Ok(Self { bundles, ids })
    }

    fn bundle(&self, locale: Locale) -> &FluentBundle<FluentResource> {
        &self.bundles[index(locale)]
    }

    pub fn has(&self, locale: Locale, key: &str) -> bool {
        self.bundle(locale)
            .get_message(key)
            .is_some_and(|m| m.value().is_some())
    }

    /// Message ids defined in a locale.
    pub fn ids(&self, locale: Locale) -> &[String] {
        &self.ids[index(locale)]
    }

    /// Renders a message with variables (numbers, strings, and the `money` / `date`
    /// objects described in [`format_value`]).
    pub fn render(
        &self,
        locale: Locale,
        key: &str,
        vars: &serde_json::Map<String, Value>,
    ) -> Result<String, TextError> {
        let bundle = self.bundle(locale);
        let pattern = bundle
            .get_message(key)
            .and_then(|m| m.value())
            .ok_or_else(|| TextError::Missing {
                key: key.to_string(),
                locale: locale.as_str(),
            })?;
        let mut args = FluentArgs::new();
        for (name, value) in vars {
            match value {
                Value::Number(n) => {
                    if let Some(f) = n.as_f64() {
                        args.set(name.as_str(), FluentValue::from(f));
                    }
                }
                // What people and staff wrote (names, reasons) loses bidi overrides.
                Value::String(s) => args.set(
                    name.as_str(),
                    FluentValue::from(crate::domain::bidi::neutralise(s).into_owned()),
                ),
                Value::Bool(b) => args.set(name.as_str(), FluentValue::from(b.to_string())),
                // Any other object (an attachment) is "some": texts select on it.
                Value::Object(_) => args.set(
                    name.as_str(),
                    FluentValue::from(format_value(locale, value).unwrap_or_else(|| "some".into())),
                ),
                // Lets a text say what is missing: `{ $attachment -> [none] … *[other] … }`.
                Value::Null => args.set(name.as_str(), FluentValue::from("none")),
                Value::Array(a) => args.set(name.as_str(), FluentValue::from(a.len())),
            }
        }
        let mut errors = Vec::new();
        let out = bundle.format_pattern(pattern, Some(&args), &mut errors);
        if let Some(e) = errors.first() {
            return Err(TextError::Format {
                key: key.to_string(),
                locale: locale.as_str(),
                problem: e.to_string(),
            });
        }
        Ok(out.into_owned())
    }
}

/// Formats a typed value: `{"money": <minor units>, "currency": "PKR"}`,
/// `{"date": "2026-12-05"}`, a number or a string.
pub fn format_value(locale: Locale, value: &Value) -> Option<String> {
    match value {
        Value::Object(o) => {
            if let (Some(minor), Some(cur)) = (
                o.get("money").and_then(Value::as_i64),
                o.get("currency").and_then(Value::as_str),
            ) {
                let currency = cur.parse::<Currency>().ok()?;
                return Some(format_money(locale, Money { minor, currency }));
            }
            if let Some(d) = o.get("date").and_then(Value::as_str) {
                let date = NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?;
                return Some(format_date(locale, date));
            }
            if let Some(m) = o.get("month").and_then(Value::as_str) {
                let first = NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok()?;
                return Some(format_month(locale, first));
            }
            // A picked item (a child, a class) shows its label.
            o.get("label").and_then(Value::as_str).map(str::to_string)
        }
        Value::Number(n) => n.as_f64().map(|f| format_number(locale, f)),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

pub fn money_value(m: Money) -> Value {
    serde_json::json!({ "money": m.minor, "currency": m.currency.as_str() })
}

pub fn date_value(d: NaiveDate) -> Value {
    serde_json::json!({ "date": d.format("%Y-%m-%d").to_string() })
}

fn format_en(v: &FluentValue, _: &intl_memoizer::concurrent::IntlLangMemoizer) -> Option<String> {
    number_of(v).map(|n| format_number(Locale::En, n))
}
fn format_ur(v: &FluentValue, _: &intl_memoizer::concurrent::IntlLangMemoizer) -> Option<String> {
    number_of(v).map(|n| format_number(Locale::Ur, n))
}
fn format_ar(v: &FluentValue, _: &intl_memoizer::concurrent::IntlLangMemoizer) -> Option<String> {
    number_of(v).map(|n| format_number(Locale::Ar, n))
}

fn number_of(v: &FluentValue) -> Option<f64> {
    match v {
        FluentValue::Number(n) => Some(n.value),
        _ => None,
    }
}

/// Digits grouped the local way: 1,250,000 (en), 12,50,000 (ur, lakh grouping),
/// ١٬٢٥٠٬٠٠٠ (ar, Arabic-Indic digits). Up to two decimals, trailing zeros dropped.
pub fn format_number(locale: Locale, n: f64) -> String {
    let negative = n < 0.0;
    let cents = (n.abs() * 100.0).round() as u64;
    let (int, frac) = (cents / 100, cents % 100);
    let mut s = group(locale, int);
    if frac != 0 {
        let f = if frac % 10 == 0 {
            format!("{}", frac / 10)
        } else {
            format!("{frac:02}")
        };
        s.push(if locale == Locale::Ar {
            '\u{066B}'
        } else {
            '.'
        });
        s.push_str(&f);
    }
    if negative {
        s.insert(0, '-');
    }
    localise_digits(locale, &s)
}

fn group(locale: Locale, int: u64) -> String {
    let digits = int.to_string();
    let sep = if locale == Locale::Ar {
        '\u{066C}'
    } else {
        ','
    };
    let bytes: Vec<char> = digits.chars().collect();
    let mut out = String::new();
    let n = bytes.len();
    for (i, c) in bytes.iter().enumerate() {
        let left = n - i;
        out.push(*c);
        if left > 1 {
            let boundary = match locale {
                // 12,34,56,789: the last three, then pairs.
                Locale::Ur => left - 1 == 3 || (left - 1 > 3 && (left - 1 - 3).is_multiple_of(2)),
                _ => (left - 1).is_multiple_of(3),
            };
            if boundary {
                out.push(sep);
            }
        }
    }
    out
}

pub fn localise_digits(locale: Locale, s: &str) -> String {
    if locale != Locale::Ar {
        return s.to_string();
    }
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(0x0660 + (c as u32 - '0' as u32)).unwrap_or(c),
            other => other,
        })
        .collect()
}

pub fn format_money(locale: Locale, m: Money) -> String {
    let mut amount = format_number(locale, m.minor as f64 / 100.0);
    // Paisa and halalas always show two digits: Rs 7,500.50, not 7,500.5.
    if m.minor % 10 == 0 && m.minor % 100 != 0 {
        amount.push(if locale == Locale::Ar {
            '\u{0660}'
        } else {
            '0'
        });
    }
    match (locale, m.currency) {
        (Locale::En | Locale::UrLatn, Currency::Pkr) => format!("Rs {amount}"),
        (Locale::En | Locale::UrLatn, Currency::Sar) => format!("SAR {amount}"),
        (Locale::Ur, Currency::Pkr) => format!("{amount} روپے"),
        (Locale::Ur, Currency::Sar) => format!("{amount} ریال"),
        (Locale::Ar, Currency::Pkr) => format!("{amount} روبية"),
        (Locale::Ar, Currency::Sar) => format!("{amount} ر.س"),
    }
}

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
/// Month names in Urdu and Arabic as the chat writes them (also never names to the
/// PII redactor).
pub const MONTHS_UR: [&str; 12] = [
    "جنوری",
    "فروری",
    "مارچ",
    "اپریل",
    "مئی",
    "جون",
    "جولائی",
    "اگست",
    "ستمبر",
    "اکتوبر",
    "نومبر",
    "دسمبر",
];
pub const MONTHS_AR: [&str; 12] = [
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
];

/// "5 Dec 2026", "5 دسمبر 2026", "٥ ديسمبر ٢٠٢٦".
pub fn format_date(locale: Locale, d: NaiveDate) -> String {
    let m = d.month0() as usize;
    let month = match locale {
        Locale::En | Locale::UrLatn => MONTHS_EN[m],
        Locale::Ur => MONTHS_UR[m],
        Locale::Ar => MONTHS_AR[m],
    };
    localise_digits(locale, &format!("{} {} {}", d.day(), month, d.year()))
}

/// "September 2026" in the locale's month names and digits.
pub fn format_month(locale: Locale, d: NaiveDate) -> String {
    let m = d.month0() as usize;
    let month = match locale {
        Locale::En | Locale::UrLatn => MONTHS_EN[m],
        Locale::Ur => MONTHS_UR[m],
        Locale::Ar => MONTHS_AR[m],
    };
    localise_digits(locale, &format!("{} {}", month, d.year()))
}

/// A fee period as the school wrote it; "2026-09" becomes a month, shown by name.
pub fn period_value(period: &str) -> Value {
    let is_month =
        period.len() == 7 && NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d").is_ok();
    if is_month {
        serde_json::json!({ "month": period })
    } else {
        Value::String(period.to_string())
    }
}

/// Removes Unicode bidi isolation marks (for comparing texts in tests and tools).
pub fn strip_isolation(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '\u{2068}' | '\u{2069}' | '\u{2066}' | '\u{2067}'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts() -> Texts {
        Texts::from_sources(vec![
            (
                "en".into(),
                "hello = Hello { $name }\nkids = { $n ->\n [one] one child\n *[other] { $n } children\n}\n".into(),
            ),
            ("ur".into(), "hello = سلام { $name }\nkids = { $n } بچے\n".into()),
            ("ar".into(), "hello = مرحبا { $name }\nkids = { $n ->\n [one] طفل واحد\n *[other] { $n } أطفال\n}\n".into()),
            ("ur-Latn".into(), "hello = Salam { $name }\nkids = { $n } bachay\n".into()),
        ])
        .unwrap()
    }

    #[test]
    fn renders_with_plurals_and_isolation() {
        let t = texts();
        let mut v = serde_json::Map::new();
        v.insert("name".into(), Value::from("Ali"));
        v.insert("n".into(), Value::from(1));
        assert_eq!(t.render(Locale::En, "hello", &v).unwrap(), "Hello Ali");
        assert_eq!(t.render(Locale::En, "kids", &v).unwrap(), "one child");
        // Right-to-left text isolates the Latin name.
        assert_eq!(
            t.render(Locale::Ur, "hello", &v).unwrap(),
            "سلام \u{2068}Ali\u{2069}"
        );
        v.insert("n".into(), Value::from(12));
        assert_eq!(
            strip_isolation(&t.render(Locale::Ar, "kids", &v).unwrap()),
            "١٢ أطفال"
        );
        assert!(matches!(
            t.render(Locale::En, "nope", &v),
            Err(TextError::Missing { .. })
        ));
    }

    #[test]
    fn numbers_money_dates_per_locale() {
        assert_eq!(format_number(Locale::En, 1250000.0), "1,250,000");
        assert_eq!(format_number(Locale::Ur, 1250000.0), "12,50,000");
        assert_eq!(format_number(Locale::Ur, 999.0), "999");
        assert_eq!(format_number(Locale::Ur, 12500.0), "12,500");
        assert_eq!(format_number(Locale::Ar, 1250.5), "١٬٢٥٠٫٥");
        let m = Money {
            minor: 1_250_000,
            currency: Currency::Pkr,
        };
        assert_eq!(format_money(Locale::En, m), "Rs 12,500");
        assert_eq!(format_money(Locale::Ur, m), "12,500 روپے");
        let m = Money {
            minor: 750_050,
            currency: Currency::Pkr,
        };
        assert_eq!(format_money(Locale::En, m), "Rs 7,500.50");
        let d = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        assert_eq!(format_date(Locale::En, d), "5 Dec 2026");
        assert_eq!(format_date(Locale::Ar, d), "٥ ديسمبر ٢٠٢٦");
        assert_eq!(
            format_value(Locale::Ur, &date_value(d)).unwrap(),
            "5 دسمبر 2026"
        );
    }
}
