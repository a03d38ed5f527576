//! A school-enquiry glossary: the topics parents and schools ask about, each with the
//! words that name it in English, Urdu, Arabic and Roman Urdu. A question and every FAQ
//! variant are glossed into the same topic tags, so keyword matching crosses scripts
//! ("فیس کتنی ہے", "كم الرسوم", "fees kitni hai" all carry `fee`), and the local model's
//! scores are joined by that evidence (the small encoder carries an English FAQ into
//! Roman Urdu and Arabic poorly on its own).
//!
//! Written from the domain (what school enquiries are about), not from any test
//! question: a topic the FAQ does not cover (a hostel, a job) is tagged too, so it
//! matches nothing rather than something near.

use std::collections::BTreeSet;
use std::sync::OnceLock;

/// Topics and the words that name them (any language; matched after folding, Arabic
/// words also without their article or a one-letter prefix, Roman Urdu words also by
/// their consonant skeleton).
const TOPICS: &[(&str, &[&str])] = &[
    (
        "admission",
        &[
            "admission",
            "admissions",
            "admit",
            "admitted",
            "enrol",
            "enroll",
            "enrolment",
            "enrollment",
            "registration",
            "intake",
            "seat",
            "seats",
            "join",
            "new session",
            "داخلہ",
            "داخلے",
            "داخلوں",
            "ایڈمیشن",
            "رجسٹریشن",
            "تسجیل",
            "قبول",
            "التحاق",
            "الالتحاق",
            "تقدیم",
            "dakhla",
            "dakhila",
            "dakhle",
            "dakhlay",
            "dakhlon",
            "registration",
        ],
    ),
    (
        "fee",
        &[
            "fee",
            "fees",
            "tuition",
            "charges",
            "charge",
            "cost",
            "costs",
            "price",
            "pay",
            "paid",
            "paying",
            "payment",
            "dues",
            "monthly",
            "expense",
            "expenses",
            "فیس",
            "فیسیں",
            "خرچہ",
            "خرچ",
            "اخراجات",
            "پیسے",
            "ادائیگی",
            "ماہانہ",
            "رسوم",
            "مصاریف",
            "قسط",
            "اقساط",
            "سعر",
            "تکلفه",
            "ادفع",
            "دفع",
            "شهری",
            "بالشهر",
            "fis",
            "kharcha",
            "kharch",
            "kharchay",
            "paise",
            "paisay",
            "paisa",
            "mahana",
            "raqam",
            "adaigi",
        ],
    ),
    (
        "time",
        &[
            "timing",
            "timings",
            "time",
            "hours",
            "finish",
            "finishes",
            "o'clock",
            "oclock",
            "morning",
            "afternoon",
            "home time",
            "off time",
            "closing time",
            "go home",
            "اوقات",
            "وقت",
            "بجے",
            "ٹائمنگ",
            "صبح",
            "دوپہر",
            "دوام",
            "الساعه",
            "ساعه",
            "یخلص",
            "ینتهی",
            "مواعید",
            "الصباحی",
            "timing",
            "waqt",
            "baje",
            "bajay",
            "bajey",
            "subah",
            "dopahar",
            "pohanchna",
        ],
    ),
    (
        "transport",
        &[
            "transport",
            "van",
            "vans",
            "bus",
            "buses",
            "pick",
            "drop",
            "pickup",
            "dropoff",
            "conveyance",
            "route",
            "routes",
            "ride",
            "ur:وین",
            "ٹرانسپورٹ",
            "ur:بس",
            "گاڑی",
            "لانے",
            "چھوڑنے",
            "مواصلات",
            "باص",
            "حافله",
            "نقل",
            "توصیل",
            "یوصل",
            "gari",
            "gaari",
            "transport",
        ],
    ),
    (
        "uniform",
        &[
            "uniform",
            "uniforms",
            "dress",
            "shirt",
            "shirts",
            "trousers",
            "tie",
            "shoes",
            "sweater",
            "jersey",
            "blazer",
            "clothes",
            "kameez",
            "shalwar",
            "وردی",
            "یونیفارم",
            "سویٹر",
            "جوتے",
            "کپڑے",
            "زی",
            "مریول",
            "wardi",
            "kapray",
            "kapre",
            "joote",
            "jootay",
        ],
    ),
    (
        "documents",
        &[
            "documents",
            "document",
            "docs",
            "papers",
            "certificate",
            "certificates",
            "b-form",
            "bform",
            "birth certificate",
            "cnic",
            "id card",
            "photos",
            "photographs",
            "passport",
            "report card",
            "leaving certificate",
            "کاغذات",
            "دستاویزات",
            "ب فارم",
            "شناختی کارڈ",
            "سرٹیفکیٹ",
            "تصاویر",
            "تصویریں",
            "اوراق",
            "مستندات",
            "وثائق",
            "شهاده",
            "هویه",
            "جواز",
            "kaghzaat",
            "kaghzat",
            "kagzat",
            "shanakhti",
        ],
    ),
    (
        "age",
        &[
            "age",
            "aged",
            "old",
            "years old",
            "born",
            "birthday",
            "age limit",
            "عمر",
            "عمره",
            "سنوات",
            "سن",
            "umar",
            "umr",
            "umer",
        ],
    ),
    (
        "test",
        &[
            "test",
            "tests",
            "entry test",
            "entry exam",
            "admission exam",
            "assessment",
            "interview",
            "ٹیسٹ",
            "امتحان",
            "انٹرویو",
            "اختبار",
            "مقابله",
            "imtihan",
            "imtehan",
        ],
    ),
    (
        "discount",
        &[
            "discount",
            "discounts",
            "concession",
            "sibling",
            "siblings",
            "bhai behan",
            "behan bhai",
            "بہن بھائی",
            "بھائی بہن",
            "brothers",
            "sisters",
            "reduction",
            "waiver",
            "rebate",
            "رعایت",
            "ڈسکاؤنٹ",
            "کمی",
            "خصم",
            "تخفیض",
            "اخوه",
            "اخوان",
            "riayat",
            "riyayat",
        ],
    ),
    (
        "payment",
        &[
            "bank",
            "transfer",
            "online payment",
            "online transfer",
            "jazzcash",
            "easypaisa",
            "easy paisa",
            "challan",
            "cheque",
            "credit card",
            "debit card",
            "late fee",
            "late fine",
            "penalty",
            "deadline",
            "due date",
            "deposit",
            "بینک",
            "جاز کیش",
            "ایزی پیسہ",
            "چالان",
            "جرمانہ",
            "لیٹ",
            "آن لائن",
            "جمع",
            "بنک",
            "بنکی",
            "تحویل",
            "سداد",
            "اسدد",
            "غرامه",
            "تاخیر",
            "jama",
            "jurmana",
        ],
    ),
    (
        "holidays",
        &[
            "holiday",
            "holidays",
            "vacation",
            "vacations",
            "break",
            "summer",
            "winter",
            "reopen",
            "reopens",
            "reopening",
            "چھٹیاں",
            "چھٹیوں",
            "گرمیوں",
            "گرمی",
            "سردیوں",
            "تعطیلات",
            "اجازه",
            "عطله",
            "الصیف",
            "الصیفیه",
            "الشتاء",
            "chuttiyan",
            "chuttiyon",
            "garmi",
            "garmiyon",
            "sardi",
            "sardiyon",
            "vacation",
        ],
    ),
    (
        "contact",
        &[
            "contact",
            "phone",
            "number",
            "call",
            "whatsapp",
            "email",
            "office",
            "principal",
            "reception",
            "helpline",
            "فون",
            "نمبر",
            "رابطہ",
            "کال",
            "واٹس ایپ",
            "آفس",
            "پرنسپل",
            "ar:رقم",
            "اتصال",
            "تواصل",
            "واتساب",
            "الاداره",
            "المدیر",
            "هاتف",
            "جوال",
            "rabta",
            "fone",
        ],
    ),
    (
        "location",
        &[
            "location",
            "address",
            "where",
            "campus",
            "campuses",
            "branch",
            "branches",
            "map",
            "landmark",
            "located",
            "کہاں",
            "کیمپس",
            "برانچ",
            "موقع",
            "عنوان",
            "ar:وین",
            "این",
            "فرع",
            "مکان",
            "kahan",
            "campus",
        ],
    ),
    (
        "food",
        &[
            "lunch",
            "food",
            "canteen",
            "tuck",
            "meal",
            "meals",
            "snacks",
            "tiffin",
            "breakfast",
            "کھانا",
            "کینٹین",
            "لنچ",
            "ناشتہ",
            "ٹفن",
            "مقصف",
            "وجبات",
            "وجبه",
            "غداء",
            "اکل",
            "طعام",
            "khana",
            "nashta",
        ],
    ),
    (
        "class-size",
        &[
            "class size",
            "section",
            "sections",
            "strength",
            "crowded",
            "ratio",
            "students per class",
            "how many students",
            "how many children",
            "سیکشن",
            "رش",
            "شعبه",
            "زحمه",
            "عدد الطلاب",
            "rush",
        ],
    ),
    (
        "curriculum",
        &[
            "curriculum",
            "syllabus",
            "board",
            "matric",
            "o level",
            "o-level",
            "a level",
            "cambridge",
            "medium",
            "subjects",
            "textbooks",
            "quran",
            "nazra",
            "نصاب",
            "بورڈ",
            "میٹرک",
            "میڈیم",
            "قرآن",
            "ناظرہ",
            "منهج",
            "مناهج",
            "التدریس",
            "القران",
            "nisab",
            "nazra",
        ],
    ),
    (
        "scholarship",
        &[
            "scholarship",
            "fee maaf",
            "fees maaf",
            "فیس معاف",
            "scholarships",
            "financial aid",
            "merit",
            "needy",
            "fee waiver",
            "وظیفہ",
            "اسکالرشپ",
            "میرٹ",
            "منحه",
            "منح",
            "اعفاء",
            "المتفوقین",
            "scholership",
            "wazifa",
        ],
    ),
    (
        "activities",
        &[
            "activities",
            "activity",
            "sports",
            "sport",
            "clubs",
            "club",
            "extracurricular",
            "cricket",
            "football",
            "robotics",
            "art",
            "music",
            "taekwondo",
            "karate",
            "کھیل",
            "سرگرمیاں",
            "کلب",
            "اسپورٹس",
            "انشطه",
            "نشاط",
            "ریاضه",
            "نادی",
            "کره",
            "khel",
            "sports",
        ],
    ),
    // Topics school FAQs often lack: tagged so that they match only an entry about them.
    (
        "hostel",
        &[
            "hostel",
            "boarding",
            "boarder",
            "boarders",
            "dormitory",
            "ہاسٹل",
            "بورڈنگ",
            "ar:سکن",
            "ar:داخلی",
            "rehaish",
        ],
    ),
    (
        "jobs",
        &[
            "job",
            "jobs",
            "vacancy",
            "vacancies",
            "hiring",
            "career",
            "careers",
            "نوکری",
            "ملازمت",
            "وظیفه خالی",
            "وظائف",
            "naukri",
            "vacancy",
        ],
    ),
    (
        "swimming",
        &["swimming", "pool", "سوئمنگ", "پول", "مسبح", "سباحه"],
    ),
    (
        "special-needs",
        &[
            "special needs",
            "autism",
            "autistic",
            "disability",
            "disabled",
            "slow learner",
            "خصوصی",
            "معذور",
            "توحد",
            "احتیاجات خاصه",
        ],
    ),
    (
        "results",
        &[
            "result",
            "results",
            "position holders",
            "pass rate",
            "toppers",
            "رزلٹ",
            "نتیجہ",
            "نتائج",
            "نسبه النجاح",
            "result",
        ],
    ),
];

/// Arabic one-letter prefixes and the article, stripped to find a word's base.
const AR_PREFIXES: &[&str] = &["وال", "بال", "فال", "کال", "لل", "ال", "و", "ب", "ف", "ل"];

/// A form's language, for the few words Urdu and Arabic spell alike with different
/// meanings (وین: a van in Urdu, "where" in Arabic): `ur:` or `ar:` before the form.
#[derive(Clone, Copy, PartialEq)]
enum Only {
    Any,
    Ur,
    Ar,
}

struct Index {
    /// Folded single words (and their skeletons for Latin words) → topic.
    words: Vec<(String, &'static str, Only)>,
    skeletons: Vec<(String, &'static str)>,
    /// Folded phrases of several words → topic.
    phrases: Vec<(String, &'static str)>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut ix = Index {
            words: Vec::new(),
            skeletons: Vec::new(),
            phrases: Vec::new(),
        };
        for (topic, forms) in TOPICS {
            for f in *forms {
                let (only, f) = match (f.strip_prefix("ur:"), f.strip_prefix("ar:")) {
                    (Some(f), _) => (Only::Ur, f),
                    (_, Some(f)) => (Only::Ar, f),
                    _ => (Only::Any, *f),
                };
                let folded = crate::nlu::ngram::folded(f);
                if folded.contains(' ') {
                    ix.phrases.push((folded, topic));
                } else {
                    if let Some(sk) = crate::nlu::ngram::skeleton(&folded).filter(|s| s.len() >= 3)
                    {
                        ix.skeletons.push((sk, topic));
                    }
                    ix.words.push((folded, topic, only));
                }
            }
        }
        ix
    })
}

/// The topics a text is about, as tags (`fee`, `admission`…), in a fixed order.
pub fn topics(text: &str) -> BTreeSet<&'static str> {
    let ix = index();
    let folded = crate::nlu::ngram::folded(text);
    let language = crate::flow::input::written_in(text);
    let fits = |only: Only| match (only, language) {
        (Only::Any, _) => true,
        (Only::Ur, Some(crate::domain::school::Locale::Ar)) => false,
        (Only::Ar, Some(crate::domain::school::Locale::Ur)) => false,
        // Arabic-script text of no clear language: both readings.
        _ => true,
    };
    let mut out = BTreeSet::new();
    let padded = format!(" {folded} ");
    for (p, t) in &ix.phrases {
        if padded.contains(&format!(" {p} ")) {
            out.insert(*t);
        }
    }
    for w in folded.split(' ').filter(|w| !w.is_empty()) {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric());
        let mut bases = vec![w];
        if w.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)) {
            for p in AR_PREFIXES {
                if let Some(rest) = w.strip_prefix(p) {
                    if rest.chars().count() >= 2 {
                        bases.push(rest);
                    }
                }
            }
        }
        for b in &bases {
            for (f, t, only) in &ix.words {
                if f == b && fits(*only) {
                    out.insert(*t);
                }
            }
        }
        if let Some(sk) = crate::nlu::ngram::skeleton(w).filter(|s| s.len() >= 3) {
            for (s, t) in &ix.skeletons {
                if *s == sk {
                    out.insert(*t);
                }
            }
        }
    }
    out
}

/// The text with its topic tags appended (`… ⟦fee⟧ ⟦admission⟧`), for keyword matching.
pub fn tagged(text: &str) -> String {
    let mut s = text.to_string();
    for t in topics(text) {
        s.push_str(" topic");
        s.push_str(&t.replace('-', ""));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_topic_in_four_languages() {
        for q in [
            "What is the fee?",
            "فیس کتنی ہے؟",
            "كم الرسوم؟",
            "fees kitni hai",
            "fis kitni hy",
        ] {
            assert!(topics(q).contains("fee"), "{q}: {:?}", topics(q));
        }
        for q in [
            "When do admissions open?",
            "داخلے کب شروع ہوں گے",
            "متى يبدأ التسجيل",
            "dakhla kab hai",
        ] {
            assert!(topics(q).contains("admission"), "{q}: {:?}", topics(q));
        }
        assert!(topics("is there a hostel?").contains("hostel"));
        assert!(topics("hello there").is_empty());
        assert!(tagged("van?").contains("topictransport"));
    }
}
