//! Complaint triage: category, priority, sentiment, language, a one-line summary and a
//! suggested reply. By an OpenAI-compatible endpoint ([`ai`]) on text the PII redactor
//! stripped (the job in `worker::triage` decides), or locally by keyword rules in the
//! four languages. The AI's answer is checked here ([`parse`]); nothing here does IO.

pub mod ai;
pub mod model;

use serde::{Deserialize, Serialize};

/// The categories a school uses when it has not set its own.
pub const DEFAULT_CATEGORIES: &[&str] = &[
    "transport",
    "fees",
    "teaching",
    "behaviour",
    "facilities",
    "food",
    "other",
];

/// The school setting with its own categories (comma separated).
pub const SETTING_CATEGORIES: &str = "complaint_categories";
/// The school setting that turns AI triage on ("on"); off by default.
pub const SETTING_AI: &str = "ai_triage";
/// The school setting with its monthly AI budget in tokens.
pub const SETTING_AI_BUDGET: &str = "ai_monthly_tokens";
/// The budget when the school has not set one.
pub const DEFAULT_AI_BUDGET: i64 = 200_000;

/// A triaged complaint.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Triage {
    pub category: String,
    pub priority: String,
    pub sentiment: String,
    pub language: String,
    pub summary: String,
    pub suggested_reply: String,
}

impl std::fmt::Debug for Triage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The summary and the reply may name people: not printed.
        f.debug_struct("Triage")
            .field("category", &self.category)
            .field("priority", &self.priority)
            .field("sentiment", &self.sentiment)
            .field("language", &self.language)
            .finish_non_exhaustive()
    }
}

const PRIORITIES: &[&str] = &["low", "normal", "high", "urgent"];
const SENTIMENTS: &[&str] = &["negative", "neutral", "positive"];
const LANGUAGES: &[&str] = &["en", "ur", "ar", "ur-Latn"];

/// The school's categories from its setting (else the defaults); "other" is always one.
pub fn categories(setting: Option<&str>) -> Vec<String> {
    let mut c: Vec<String> = setting
        .unwrap_or_default()
        .split(',')
        .map(|c| c.trim().to_lowercase())
        .filter(|c| !c.is_empty())
        .collect();
    if c.is_empty() {
        c = DEFAULT_CATEGORIES.iter().map(|c| c.to_string()).collect();
    }
    if !c.iter().any(|x| x == "other") {
        c.push("other".into());
    }
    c
}

/// The prompt for a redacted complaint (`prompts/triage.j2`).
pub fn prompt(categories: &[String], redacted: &str) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.add_template("triage", include_str!("../../prompts/triage.j2"))
        .map_err(|e| e.to_string())?;
    env.get_template("triage")
        .and_then(|t| {
            t.render(minijinja::context! { categories => categories.to_vec(), text => redacted })
        })
        .map_err(|e| e.to_string())
}

/// The AI's answer, checked: one JSON object (possibly inside a code fence) with every
/// field, each value from its list, the summary one line of at most 200 characters.
pub fn parse(answer: &str, categories: &[String]) -> Result<Triage, String> {
    let trimmed = answer.trim();
    let body = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|b| b.strip_suffix("```"))
        .unwrap_or(trimmed)
        .trim();
    let mut t: Triage = serde_json::from_str(body)
        .map_err(|e| format!("not the JSON asked for: {}", e.classify_name()))?;
    t.category = t.category.trim().to_lowercase();
    t.priority = t.priority.trim().to_lowercase();
    t.sentiment = t.sentiment.trim().to_lowercase();
    t.language = t.language.trim().to_string();
    if !categories.contains(&t.category) {
        return Err("category not one of the school's".into());
    }
    if !PRIORITIES.contains(&t.priority.as_str()) {
        return Err("priority not one of low, normal, high, urgent".into());
    }
    if !SENTIMENTS.contains(&t.sentiment.as_str()) {
        return Err("sentiment not one of negative, neutral, positive".into());
    }
    if !LANGUAGES.contains(&t.language.as_str()) {
        return Err("language not one of en, ur, ar, ur-Latn".into());
    }
    t.summary = t
        .summary
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    if t.summary.is_empty() || t.summary.chars().count() > 200 {
        return Err("summary missing or longer than one line of 200 characters".into());
    }
    if t.suggested_reply.trim().is_empty() || t.suggested_reply.chars().count() > 2000 {
        return Err("suggested reply missing or too long".into());
    }
    Ok(t)
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "missing or wrong fields",
            serde_json::error::Category::Eof => "cut short",
        }
    }
}

/// Keywords per default category, in the four languages (lower case, matched inside
/// words for the scripts that attach prefixes).
const KEYWORDS: &[(&str, &[&str])] = &[
    (
        "transport",
        &[
            "van",
            "bus",
            "driver",
            "route",
            "pick up",
            "pickup",
            "drop",
            "وین",
            "بس",
            "ڈرائیور",
            "الباص",
            "الحافلة",
            "السائق",
            "النقل",
        ],
    ),
    (
        "fees",
        &[
            "fee",
            "fees",
            "challan",
            "voucher",
            "refund",
            "overcharg",
            "فیس",
            "چالان",
            "الرسوم",
            "رسوم",
            "استرداد",
        ],
    ),
    (
        "teaching",
        &[
            "teacher",
            "homework",
            "marks",
            "exam",
            "result",
            "class work",
            "ٹیچر",
            "استاد",
            "ہوم ورک",
            "نمبر",
            "امتحان",
            "المعلم",
            "المعلمة",
            "الواجب",
            "الدرجات",
            "الاختبار",
        ],
    ),
    (
        "behaviour",
        &[
            "bully",
            "bullied",
            "hit",
            "beat",
            "fight",
            "abuse",
            "tease",
            "mara",
            "marta",
            "maar",
            "تنگ",
            "مارا",
            "مارتا",
            "لڑائی",
            "التنمر",
            "تنمر",
            "ضرب",
            "يضرب",
        ],
    ),
    (
        "food",
        &[
            "canteen",
            "food",
            "lunch",
            "khana",
            "کینٹین",
            "کھانا",
            "المقصف",
            "الطعام",
            "الأكل",
        ],
    ),
    (
        "facilities",
        &[
            "washroom",
            "toilet",
            "fan",
            "ac ",
            "water",
            "clean",
            "dirty",
            "ganda",
            "پانی",
            "واش روم",
            "صفائی",
            "گندا",
            "الحمام",
            "دورة المياه",
            "المكيف",
            "نظافة",
        ],
    ),
];

const URGENT: &[&str] = &[
    "injur",
    "blood",
    "bleed",
    "hospital",
    "unconscious",
    "harass",
    "abuse",
    "missing",
    "زخمی",
    "خون",
    "ہسپتال",
    "ہراس",
    "لاپتہ",
    "جرح",
    "دم",
    "المستشفى",
    "تحرش",
    "مفقود",
];
const HIGH: &[&str] = &[
    "bully",
    "bullied",
    "hit",
    "beat",
    "fight",
    "unsafe",
    "danger",
    "threat",
    "مارا",
    "مارتا",
    "لڑائی",
    "دھمکی",
    "خطرہ",
    "تنمر",
    "ضرب",
    "تهديد",
    "خطر",
];
const POSITIVE: &[&str] = &[
    "thank",
    "shukriya",
    "شکریہ",
    "شكرا",
    "appreciate",
    "great",
    "mehrbani",
];

/// Whether a keyword occurs as a word (or a phrase of words): a Latin keyword at the
/// start of a word ("bully" in "bullying", not "bus" in "abuse"), an Arabic-script one
/// as the word or behind the prefixes Urdu and Arabic attach («للتنمر», «يضرب»).
fn keyword_in(k: &str, words: &[&str], spaced: &str) -> bool {
    let k = k.trim();
    if k.contains(' ') {
        return spaced.contains(&format!(" {k} "));
    }
    if k.is_ascii() {
        return words.iter().any(|w| w.starts_with(k));
    }
    const PREFIXES: &[&str] = &[
        "وال", "بال", "فال", "كال", "لل", "ال", "و", "ف", "ب", "ل", "ك", "ک", "ي", "ت", "ن",
    ];
    words.iter().any(|w| {
        *w == k
            || PREFIXES.iter().any(|p| {
                w.strip_prefix(p).is_some_and(|rest| {
                    rest == k || (rest.starts_with(k) && k.chars().count() >= 4)
                })
            })
    })
}

/// The local triage: the first default category whose keywords occur (else "other",
/// or "other" when the school's categories differ from the defaults), priority from
/// urgency words, sentiment negative unless thanks, the language by script, the
/// summary the text's start, no suggested reply of substance.
pub fn local(text: &str, categories: &[String], language: &str) -> Triage {
    let t = text.to_lowercase();
    let words: Vec<&str> = t
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let spaced = format!(" {} ", words.join(" "));
    let has = |keys: &[&str]| keys.iter().any(|k| keyword_in(k, &words, &spaced));
    let category = KEYWORDS
        .iter()
        .find(|(c, words)| categories.iter().any(|x| x == c) && has(words))
        .map(|(c, _)| c.to_string())
        .unwrap_or_else(|| "other".into());
    let priority = if has(URGENT) {
        "urgent"
    } else if has(HIGH) {
        "high"
    } else {
        "normal"
    };
    let sentiment = if has(POSITIVE) {
        "positive"
    } else {
        "negative"
    };
    let summary: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let summary = if summary.chars().count() > 120 {
        format!("{}…", summary.chars().take(120).collect::<String>())
    } else {
        summary
    };
    Triage {
        category,
        priority: priority.into(),
        sentiment: sentiment.into(),
        language: language.into(),
        summary,
        suggested_reply: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cats() -> Vec<String> {
        categories(None)
    }

    #[test]
    fn answers_are_checked() {
        let ok = r#"```json
{"category": "Transport", "priority": "high", "sentiment": "negative", "language": "ur-Latn",
 "summary": "Van late for [PERSON_1] three days", "suggested_reply": "Hum maazrat khwah hain."}
```"#;
        let t = parse(ok, &cats()).unwrap();
        assert_eq!(t.category, "transport");
        assert!(!format!("{t:?}").contains("PERSON"));
        for bad in [
            "not json",
            r#"{"category": "parking", "priority": "high", "sentiment": "negative", "language": "en", "summary": "x", "suggested_reply": "y"}"#,
            r#"{"category": "fees", "priority": "soon", "sentiment": "negative", "language": "en", "summary": "x", "suggested_reply": "y"}"#,
            r#"{"category": "fees", "priority": "high", "sentiment": "negative", "language": "en", "summary": "", "suggested_reply": "y"}"#,
            r#"{"category": "fees"}"#,
        ] {
            assert!(parse(bad, &cats()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_prompt_carries_the_categories_and_the_redacted_text() {
        let p = prompt(&cats(), "[PERSON_1] ki van late hai").unwrap();
        assert!(p.contains("transport, fees, teaching"));
        assert!(p.contains("[PERSON_1] ki van late hai"));
    }

    #[test]
    fn local_rules_in_four_languages() {
        assert_eq!(
            local("The van was late again", &cats(), "en").category,
            "transport"
        );
        assert_eq!(local("فیس زیادہ لی گئی", &cats(), "ur").category, "fees");
        assert_eq!(
            local("ابني يتعرض للتنمر", &cats(), "ar").category,
            "behaviour"
        );
        assert_eq!(local("ابني يتعرض للتنمر", &cats(), "ar").priority, "high");
        assert_eq!(
            local("canteen ka khana ganda hai", &cats(), "ur-Latn").category,
            "food"
        );
        assert_eq!(
            local("washroom bohat ganda hai", &cats(), "ur-Latn").category,
            "facilities"
        );
        assert_eq!(
            local("he fell and was taken to hospital", &cats(), "en").priority,
            "urgent"
        );
        let own = categories(Some("Buses, Academics"));
        assert_eq!(own, ["buses", "academics", "other"]);
        assert_eq!(local("The van was late", &own, "en").category, "other");
    }
}
