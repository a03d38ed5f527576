//! Names: every name the school knows (students, guardians, staff) in Latin, Urdu and
//! Arabic script, with common variants (Muhammad/Mohammad/Muhammed/M., bin/ibn/bint,
//! Al-/Al /El-, spacing, case), matched as whole words (in Arabic script also behind an
//! attached و ب ل ک ف), each token of a known name too — except tokens that are also
//! ordinary words or the school's class, section and house names (نور، سعيد، أمل, "Iqbal
//! House"), which count only beside another name token or after a cue; and names led by
//! an honorific (Mr., Sir, Ustad, صاحب, السيد …) or a relationship ("my son X", "meri
//! beti X", «میرا بیٹا X», «ابني X»), known or not. A list of common given names helps
//! with names the school does not know.

use super::{Entity, Kind};
use std::collections::HashMap;

/// How a known token counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Weight {
    /// A name wherever it stands.
    Name,
    /// Also an ordinary word (or part of a class/house name): a name only beside
    /// another name token or after a cue.
    Common,
}

/// The names a redactor knows.
#[derive(Debug, Clone, Default)]
pub struct NameIndex {
    tokens: HashMap<String, Weight>,
}

/// Words that are also given names, in the scripts used here: names only in company.
const COMMON: &[&str] = &[
    // English and Roman Urdu
    "noor",
    "nur",
    "saeed",
    "said",
    "amal",
    "iqbal",
    "khair",
    "khayr",
    "sabr",
    "sabar",
    "rahma",
    "rehmat",
    "rahmat",
    "hope",
    "faith",
    "joy",
    "grace",
    "rose",
    "may",
    "june",
    "sunny",
    "sky",
    "king",
    "prince",
    "rain",
    "star",
    "pearl",
    "hamid",
    "jamal",
    "kamal",
    "karim",
    "kareem",
    "aman",
    "amin",
    "ameen",
    "asif",
    "shams",
    "badr",
    "huda",
    "hidayat",
    "inam",
    "insaf",
    "ikhlas",
    "imaan",
    "iman",
    "khushi",
    "sukoon",
    "taj",
    "wafa",
    "zahid",
    "zafar",
    "fateh",
    "nasir",
    "naseer",
    "hanif",
    "shafiq",
    "latif",
    "azeem",
    "aziz",
    "majid",
    "rashid",
    "sultan",
    "malik",
    "shah",
    "mirza",
    "raja",
    "rana",
    "chaudhry",
    "sheikh",
    "syed",
    "bibi",
    "baba",
    "bano",
    "umeed",
    "ummeed",
    "sahar",
    "subah",
    "shabnam",
    "bahar",
    "gul",
    "phool",
    "chand",
    "sitara",
    "roshan",
    "roshni",
    // Arabic script
    "نور",
    "سعيد",
    "سعید",
    "أمل",
    "امل",
    "اقبال",
    "إقبال",
    "خیر",
    "خير",
    "صبر",
    "رحمة",
    "رحمت",
    "رحمه",
    "جمال",
    "كمال",
    "کمال",
    "كريم",
    "کریم",
    "امین",
    "أمين",
    "امين",
    "شمس",
    "بدر",
    "هدى",
    "ہدی",
    "ایمان",
    "إيمان",
    "وفاء",
    "ظفر",
    "ناصر",
    "حنیف",
    "لطیف",
    "عزيز",
    "عزیز",
    "ماجد",
    "راشد",
    "سلطان",
    "ملک",
    "مالك",
    "شاه",
    "شاہ",
    "خان",
    "سید",
    "السيد",
    "امید",
    "سحر",
    "صبح",
    "بہار",
    "گل",
    "چاند",
    "ستارہ",
    "روشن",
    "روشنی",
    "حسن",
    "حسين",
    "حسین",
    // «على» (on) folds to the name «علی».
    "علی",
    "على",
];

/// Connectors inside a name (bin, ibn, bint, al, el, ul, ud, binti).
const CONNECTORS: &[&str] = &[
    "bin", "ibn", "bint", "binti", "al", "el", "ul", "ud", "ud-din", "بن", "بنت", "ابن", "آل", "ال",
];

/// Words before a name.
const BEFORE: &[&str] = &[
    "mr",
    "mrs",
    "ms",
    "miss",
    "sir",
    "madam",
    "madame",
    "dr",
    "ustad",
    "ustaad",
    "ustadh",
    "maulana",
    "molana",
    "hazrat",
    "janab",
    "mister",
    "teacher",
    "principal",
    "coach",
    "mam",
    "maam",
    "madm",
    "جناب",
    "محترم",
    "محترمہ",
    "مس",
    "سر",
    "استاد",
    "استاذ",
    "ڈاکٹر",
    "ٹیچر",
    "میڈم",
    "السيد",
    "السيدة",
    "الأستاذ",
    "الاستاذ",
    "أستاذ",
    "الأستاذة",
    "الاستاذة",
    "الدكتور",
    "الشيخ",
    "المعلم",
    "المعلمة",
    "الأخ",
    "الأخت",
    "سيد",
    "السیدة",
];

/// Words after a name.
const AFTER: &[&str] = &[
    "sahib",
    "sahab",
    "saab",
    "sb",
    "begum",
    "bhai",
    "bhaiya",
    "baji",
    "apa",
    "sahiba",
    "صاحب",
    "صاحبہ",
    "بھائی",
    "باجی",
    "بیگم",
    "آپا",
];

/// Relationships before a name ("my son X"): one or two words.
const KIN: &[&str] = &[
    "my son",
    "my daughter",
    "my child",
    "my kid",
    "my nephew",
    "my niece",
    "my brother",
    "my sister",
    "my wife",
    "my husband",
    "my boy",
    "my girl",
    "mera beta",
    "meri beti",
    "mera bacha",
    "meri bachi",
    "mere bete",
    "meray betay",
    "mere betay",
    "meri bachchi",
    "mera bhai",
    "meri behan",
    "mera bhatija",
    "meri bhanji",
    "hamara beta",
    "hamari beti",
    "میرا بیٹا",
    "میری بیٹی",
    "میرے بیٹے",
    "میرا بچہ",
    "میری بچی",
    "میرا بھائی",
    "میری بہن",
    "ہمارا بیٹا",
    "ہماری بیٹی",
    "ابني",
    "ابنتي",
    "بنتي",
    "ولدي",
    "ابنى",
    "أخي",
    "اخي",
    "أختي",
    "اختي",
    "زوجي",
    "زوجتي",
    "طفلي",
    "طفلتي",
    "son",
    "daughter",
    "beta",
    "beti",
    "بیٹا",
    "بیٹی",
    "بیٹے",
];

/// Function words that are never a name, even after a cue.
const NOT_NAMES: &[&str] = &[
    "is",
    "was",
    "has",
    "had",
    "will",
    "would",
    "can",
    "could",
    "did",
    "does",
    "got",
    "gets",
    "and",
    "the",
    "a",
    "an",
    "who",
    "which",
    "that",
    "in",
    "at",
    "on",
    "from",
    "to",
    "of",
    "for",
    "with",
    "studies",
    "goes",
    "came",
    "comes",
    "said",
    "says",
    "told",
    "not",
    "also",
    "too",
    "just",
    "keeps",
    "has",
    "been",
    "being",
    "am",
    "are",
    "were",
    "in",
    "class",
    "grade",
    "school",
    "today",
    "yesterday",
    "tomorrow",
    "he",
    "she",
    "they",
    "his",
    "her",
    "please",
    "plz",
    "sir",
    "madam",
    "ko",
    "ki",
    "ka",
    "ke",
    "ne",
    "se",
    "hai",
    "hain",
    "tha",
    "thi",
    "the",
    "nahi",
    "nhi",
    "nai",
    "bhi",
    "aur",
    "ya",
    "ab",
    "aaj",
    "kal",
    "jo",
    "wo",
    "woh",
    "us",
    "is",
    "ye",
    "yeh",
    "mein",
    "main",
    "par",
    "pe",
    "ko",
    "kya",
    "kyun",
    "abhi",
    "bohat",
    "bahut",
    "sakta",
    "sakti",
    "raha",
    "rahi",
    "rahe",
    "gaya",
    "gayi",
    "kar",
    "کو",
    "کی",
    "کا",
    "کے",
    "نے",
    "سے",
    "ہے",
    "ہیں",
    "تھا",
    "تھی",
    "نہیں",
    "بھی",
    "اور",
    "جو",
    "آج",
    "کل",
    "اسکول",
    "سکول",
    "میں",
    "پر",
    "کیا",
    "وہ",
    "یہ",
    "ابھی",
    "بہت",
    "في",
    "من",
    "إلى",
    "الى",
    "على",
    "عن",
    "لم",
    "لن",
    "لا",
    "ما",
    "هو",
    "هي",
    "كان",
    "كانت",
    "قد",
    "اليوم",
    "أمس",
    "امس",
    "غدا",
    "غداً",
    "المدرسة",
    "يدرس",
    "عمره",
    "الذي",
    "التي",
    "مع",
    "و",
    "في",
    "صار",
    "يا",
    "اللي",
    "ليش",
    "ما",
    "عنده",
    "عندها",
    "مريض",
    "مريضة",
    "تعبان",
    "تعبانة",
];

/// Common given names (Pakistan and the Gulf), for names the school does not know.
const GIVEN: &[&str] = &[
    "muhammad",
    "ahmad",
    "ahmed",
    "abdullah",
    "abdul",
    "abdulrahman",
    "abdulaziz",
    "fatima",
    "aisha",
    "ayesha",
    "zainab",
    "maryam",
    "mariam",
    "khadija",
    "hafsa",
    "sara",
    "sarah",
    "hira",
    "sana",
    "sadia",
    "saima",
    "rabia",
    "mehwish",
    "sidra",
    "amna",
    "aamna",
    "areeba",
    "alishba",
    "eman",
    "anaya",
    "zara",
    "zoya",
    "hania",
    "laiba",
    "mahnoor",
    "iqra",
    "umair",
    "usman",
    "uthman",
    "umar",
    "omar",
    "hamza",
    "bilal",
    "hassan",
    "hussain",
    "husain",
    "zain",
    "zayn",
    "zaid",
    "zayd",
    "ibrahim",
    "ismail",
    "yusuf",
    "yousuf",
    "yousaf",
    "yunus",
    "idrees",
    "idris",
    "haris",
    "harris",
    "saad",
    "fahad",
    "fahd",
    "faisal",
    "faysal",
    "khalid",
    "khaled",
    "tariq",
    "tarik",
    "imran",
    "kamran",
    "farhan",
    "adnan",
    "arslan",
    "asad",
    "danish",
    "ehsan",
    "fawad",
    "irfan",
    "junaid",
    "kashif",
    "mohsin",
    "nadeem",
    "naveed",
    "rizwan",
    "salman",
    "shahid",
    "shoaib",
    "sohail",
    "talha",
    "waqar",
    "waqas",
    "yasir",
    "zeeshan",
    "zubair",
    "azhar",
    "arif",
    "atif",
    "babar",
    "fahim",
    "ghulam",
    "hamid",
    "jawad",
    "mansoor",
    "mubashir",
    "nabeel",
    "qasim",
    "rehan",
    "sajid",
    "shahzad",
    "sultan",
    "tahir",
    "tanveer",
    "wasim",
    "waseem",
    "yasin",
    "raheel",
    "mustafa",
    "murtaza",
    "abbas",
    "ali",
    "raza",
    "rizvi",
    "siddiqui",
    "qureshi",
    "chaudhry",
    "butt",
    "malik",
    "sheikh",
    "awan",
    "abbasi",
    "khan",
    "mirza",
    "nawaz",
    "qahtani",
    "alqahtani",
    "otaibi",
    "alotaibi",
    "harbi",
    "alharbi",
    "shehri",
    "alshehri",
    "ghamdi",
    "alghamdi",
    "zahrani",
    "alzahrani",
    "dosari",
    "aldosari",
    "mutairi",
    "almutairi",
    "shammari",
    "alshammari",
    "anazi",
    "alanazi",
    "subaie",
    "qarni",
    "faris",
    "fares",
    "nasser",
    "turki",
    "sultana",
    "noura",
    "nora",
    "reem",
    "lama",
    "dana",
    "haya",
    "lulwa",
    "maha",
    "mona",
    "nouf",
    "ghada",
    "hessa",
    "jawaher",
    "abeer",
    "shahad",
    "raghad",
    "ruba",
    "wijdan",
    "layla",
    "laila",
    "leila",
    "salma",
    "rania",
    "yasmin",
    "yasmeen",
    "hind",
    "asma",
    "asmaa",
    "rukhsana",
    "shazia",
    "nasreen",
    "parveen",
    "shabana",
    "tahira",
    "nighat",
    "kiran",
    "uzma",
    "bushra",
    "فاطمہ",
    "فاطمة",
    "عائشہ",
    "عائشة",
    "زینب",
    "زينب",
    "مریم",
    "مريم",
    "خدیجہ",
    "خديجة",
    "حفصہ",
    "سارہ",
    "سارة",
    "حرا",
    "ثناء",
    "صدف",
    "آمنہ",
    "آمنة",
    "محمد",
    "احمد",
    "أحمد",
    "عبداللہ",
    "عبدالله",
    "عبد",
    "عمر",
    "عثمان",
    "حمزہ",
    "حمزة",
    "بلال",
    "علی",
    "علي",
    "حسن",
    "حسین",
    "حسين",
    "زید",
    "زيد",
    "ابراہیم",
    "إبراهيم",
    "ابراهيم",
    "اسماعیل",
    "يوسف",
    "یوسف",
    "سعد",
    "فہد",
    "فهد",
    "فیصل",
    "فيصل",
    "خالد",
    "طارق",
    "عمران",
    "کامران",
    "فرحان",
    "عدنان",
    "ارسلان",
    "اسد",
    "دانش",
    "عرفان",
    "جنید",
    "محسن",
    "ندیم",
    "نوید",
    "رضوان",
    "سلمان",
    "شاہد",
    "شعیب",
    "سہیل",
    "طلحہ",
    "طلحة",
    "وقار",
    "یاسر",
    "ياسر",
    "زبیر",
    "قاسم",
    "مصطفی",
    "مصطفى",
    "عباس",
    "رضا",
    "القحطاني",
    "العتيبي",
    "الحربي",
    "الشهري",
    "الغامدي",
    "الزهراني",
    "الدوسري",
    "المطيري",
    "الشمري",
    "العنزي",
    "ناصر",
    "تركي",
    "نورة",
    "ريم",
    "لمى",
    "دانة",
    "هيا",
    "مها",
    "منى",
    "نوف",
    "غادة",
    "عبير",
    "شهد",
    "رغد",
    "ليلى",
    "سلمى",
    "رانيا",
    "ياسمين",
    "هند",
    "أسماء",
    "اسماء",
    "بشری",
    "کرن",
    "عظمی",
];

/// A word folded for matching: lower case; Arabic-script letters folded (hamza forms,
/// Arabic/Urdu yeh, kaf, heh, teh marbuta), diacritics and tatweel dropped; Latin
/// letters without dots or apostrophes.
pub fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars().flat_map(char::to_lowercase) {
        match c {
            '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}' | '.' | '\'' | '’' => {}
            'أ' | 'إ' | 'آ' | 'ٱ' => out.push('ا'),
            'ي' | 'ى' | 'ې' | 'ئ' | 'ے' => out.push('ی'),
            'ك' => out.push('ک'),
            'ة' | 'ہ' | 'ۃ' | 'ھ' => out.push('ه'),
            'ؤ' => out.push('و'),
            'é' | 'è' | 'ê' => out.push('e'),
            'á' | 'à' | 'â' => out.push('a'),
            'ī' | 'í' => out.push('i'),
            'ū' | 'ú' => out.push('u'),
            _ => out.push(c),
        }
    }
    out
}

/// A value's key for consistent placeholders ("Ayesha" and "AYESHA" are one person).
pub fn fold_key(s: &str) -> String {
    s.split_whitespace().map(fold).collect::<Vec<_>>().join(" ")
}

/// The consonant skeleton of a Latin word of five letters or more (Muhammad, Mohammed,
/// Muhammed → "mhmd"; Ayesha, Aisha → "ash"), for spelling variants.
fn skeleton(w: &str) -> Option<String> {
    if w.chars().count() < 5 || !w.chars().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    let mut out = String::new();
    let mut last: Option<char> = None;
    let mut prev: Option<char> = None;
    for (i, c) in w.chars().enumerate() {
        let vowel = matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y' | 'w');
        let doubled = prev == Some(c);
        prev = Some(c);
        if i == 0 && vowel {
            out.push('a');
            last = Some('a');
            continue;
        }
        if vowel || doubled {
            continue;
        }
        if c == 'h' && !matches!(last, Some('k' | 'g' | 's' | 'c' | 'z' | 'd' | 't')) {
            continue;
        }
        out.push(c);
        last = Some(c);
    }
    (out.chars().count() >= 3).then(|| format!("~{out}"))
}

fn is_arabic_script(c: char) -> bool {
    matches!(c, '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' | '\u{08A0}'..='\u{08FF}' | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}')
}

/// A word of the text: its characters' span and folded form.
struct Word {
    start: usize,
    end: usize,
    folded: String,
    /// Latin and starting with a capital letter.
    capital: bool,
}

fn words(chars: &[char]) -> Vec<Word> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let letter = c.is_alphabetic() || ('\u{064B}'..='\u{065F}').contains(&c);
        if !letter {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len()
            && (chars[i].is_alphabetic()
                || ('\u{064B}'..='\u{065F}').contains(&chars[i])
                || chars[i] == '\u{0670}'
                || chars[i] == '\u{0640}'
                || (matches!(chars[i], '\'' | '’')
                    && chars.get(i + 1).is_some_and(|n| n.is_alphabetic())))
        {
            i += 1;
        }
        let w: String = chars[start..i].iter().collect();
        out.push(Word {
            start,
            end: i,
            capital: chars[start].is_uppercase(),
            folded: fold(&w),
        });
    }
    out
}

impl NameIndex {
    /// The built-in lists (common given names; ordinary words that are also names).
    pub fn with_defaults() -> Self {
        let mut idx = Self::default();
        for g in GIVEN {
            idx.add_token(&fold(g), Weight::Name);
        }
        for c in COMMON {
            idx.tokens.insert(fold(c), Weight::Common);
        }
        idx
    }

    fn add_token(&mut self, t: &str, w: Weight) {
        if t.chars().count() < 2 || CONNECTORS.contains(&t) || NOT_NAMES.contains(&t) {
            return;
        }
        // An ordinary word stays ordinary: known as a name only in company.
        let w = if COMMON.iter().any(|c| fold(c) == t) {
            Weight::Common
        } else {
            w
        };
        let e = self.tokens.entry(t.to_string()).or_insert(w);
        if w == Weight::Common {
            *e = Weight::Common;
        }
        if let Some(sk) = skeleton(t) {
            self.tokens.entry(sk).or_insert(w);
        }
        // "alqahtani" / "القحطاني" are also known without their article.
        for article in ["al", "el", "ال"] {
            if let Some(rest) = t.strip_prefix(article) {
                if rest.chars().count() >= 3 {
                    self.tokens.entry(rest.to_string()).or_insert(w);
                }
            }
        }
    }

    /// A person's full name (any script): each of its tokens becomes a name token.
    pub fn add_name(&mut self, name: &str) {
        for part in name.split(|c: char| c.is_whitespace() || matches!(c, '-' | '.' | ',')) {
            let f = fold(part);
            self.add_token(&f, Weight::Name);
        }
        // "Al Qahtani" is also written "AlQahtani".
        let parts: Vec<String> = name.split_whitespace().map(fold).collect();
        for pair in parts.windows(2) {
            if matches!(pair[0].as_str(), "al" | "el") {
                self.add_token(&format!("al{}", pair[1]), Weight::Name);
            }
        }
    }

    /// A class, section or house name: its tokens are names only in company.
    pub fn add_protected(&mut self, name: &str) {
        for part in name.split(|c: char| c.is_whitespace() || matches!(c, '-' | '.' | ',')) {
            let f = fold(part);
            if f.chars().count() >= 2 {
                self.tokens.insert(f, Weight::Common);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// How a folded word counts: itself, its skeleton (a spelling variant: a name on
    /// its own only when capitalised), or (Arabic script) behind an attached prefix.
    fn weight(&self, w: &str, capital: bool) -> Option<Weight> {
        if let Some(x) = self.tokens.get(w) {
            return Some(*x);
        }
        if let Some(sk) = skeleton(w) {
            if let Some(x) = self.tokens.get(&sk) {
                return Some(if capital { *x } else { Weight::Common });
            }
        }
        let first = w.chars().next()?;
        if is_arabic_script(first) && w.chars().count() > 3 {
            for prefix in ["و", "ب", "ل", "ک", "ف", "وال", "بال", "لل", "ول"] {
                if let Some(rest) = w.strip_prefix(prefix) {
                    if let Some(x) = self.tokens.get(rest) {
                        return Some(*x);
                    }
                    // «لمحمد» → «محمد»; «للقحطاني» → «القحطاني» ↔ «قحطانی».
                    if let Some(x) = self.tokens.get(&format!("ال{rest}")) {
                        return Some(*x);
                    }
                }
            }
        }
        None
    }

    /// The names in a text (characters).
    pub fn find(&self, chars: &[char]) -> Vec<Entity> {
        let ws = words(chars);
        if ws.is_empty() {
            return Vec::new();
        }
        let n = ws.len();
        // Per word: a name token, a common one, a connector, or nothing.
        let weights: Vec<Option<Weight>> = ws
            .iter()
            .map(|w| {
                // Cue words are never names themselves ("sahib", "my", "Mr").
                let f = w.folded.as_str();
                if BEFORE.contains(&f) || AFTER.contains(&f) || KIN.contains(&f) {
                    None
                } else {
                    self.weight(f, w.capital)
                }
            })
            .collect();
        let connector = |i: usize| CONNECTORS.contains(&ws[i].folded.as_str());
        // Cues: the word after a "before" word or a relationship, the word before an
        // "after" word.
        let mut cued = vec![false; n];
        for i in 0..n {
            let f = ws[i].folded.as_str();
            if BEFORE.contains(&f) && i + 1 < n {
                cued[i + 1] = true;
            }
            if AFTER.contains(&f) && i > 0 {
                cued[i - 1] = true;
            }
            if i + 2 < n {
                let two = format!("{} {}", f, ws[i + 1].folded);
                if KIN.contains(&two.as_str()) {
                    cued[i + 2] = true;
                }
            }
            if KIN.contains(&f) && i + 1 < n {
                cued[i + 1] = true;
            }
        }
        let adjacent = |a: usize, b: usize| {
            // Only spaces, a hyphen or a dot between two words of one name.
            chars[ws[a].end..ws[b].start]
                .iter()
                .all(|c| matches!(c, ' ' | '-' | '.' | '\u{200C}'))
                && ws[b].start - ws[a].end <= 3
        };
        let is_name = |i: usize| -> bool {
            let f = ws[i].folded.as_str();
            if NOT_NAMES.contains(&f)
                || connector(i)
                || BEFORE.contains(&f)
                || AFTER.contains(&f)
                || KIN.contains(&f)
            {
                return false;
            }
            match weights[i] {
                Some(Weight::Name) => true,
                Some(Weight::Common) => {
                    cued[i]
                        || (i > 0
                            && adjacent(i - 1, i)
                            && weights[i - 1] == Some(Weight::Name)
                            && !NOT_NAMES.contains(&ws[i - 1].folded.as_str()))
                        || (i + 1 < n
                            && adjacent(i, i + 1)
                            && weights[i + 1] == Some(Weight::Name)
                            && !NOT_NAMES.contains(&ws[i + 1].folded.as_str()))
                }
                None => cued[i] && ws[i].folded.chars().count() >= 2,
            }
        };
        let mut out: Vec<Entity> = Vec::new();
        let mut i = 0;
        while i < n {
            if !is_name(i) {
                i += 1;
                continue;
            }
            // An initial before it ("M. Ali").
            let mut start = ws[i].start;
            if i > 0
                && ws[i - 1].folded.chars().count() == 1
                && ws[i - 1].capital
                && adjacent(i - 1, i)
            {
                start = ws[i - 1].start;
            }
            let mut end = ws[i].end;
            let mut j = i + 1;
            while j < n && adjacent(j - 1, j) {
                // Once a name has started, ordinary words that are also names go on
                // with it ("Muhammad Ali Khan", "Noor Fatima").
                let common_in_name = weights[j] == Some(Weight::Common)
                    && !NOT_NAMES.contains(&ws[j].folded.as_str());
                if is_name(j)
                    || common_in_name
                    || (ws[j].capital
                        && weights[j].is_none()
                        && ws[i].capital
                        && !NOT_NAMES.contains(&ws[j].folded.as_str())
                        && cued[i])
                {
                    end = ws[j].end;
                    j += 1;
                } else if connector(j) && j + 1 < n && adjacent(j, j + 1) && is_name(j + 1) {
                    end = ws[j + 1].end;
                    j += 2;
                } else {
                    break;
                }
            }
            out.push(Entity {
                kind: Kind::Person,
                start,
                end,
            });
            i = j;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(idx: &NameIndex, text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        idx.find(&chars)
            .into_iter()
            .map(|e| chars[e.start..e.end].iter().collect())
            .collect()
    }

    fn school() -> NameIndex {
        let mut idx = NameIndex::with_defaults();
        for n in [
            "Muhammad Ali Khan",
            "محمد علی خان",
            "Abdullah bin Saad Al-Qahtani",
            "عبدالله بن سعد القحطاني",
            "Noor Fatima",
            "نور فاطمہ",
            "Zubaida Parveen",
        ] {
            idx.add_name(n);
        }
        idx.add_protected("Iqbal House");
        idx.add_protected("Section Noor");
        idx
    }

    #[test]
    fn roster_names_with_variants_and_prefixes() {
        let idx = school();
        assert_eq!(
            names(&idx, "Mohammed Ali Khan was late"),
            ["Mohammed Ali Khan"]
        );
        assert_eq!(names(&idx, "M. Ali said"), ["M. Ali"]);
        assert_eq!(
            names(&idx, "Abdullah ibn Saad AlQahtani"),
            ["Abdullah ibn Saad AlQahtani"]
        );
        assert_eq!(names(&idx, "وعبدالله القحطاني"), ["وعبدالله القحطاني"]);
        assert_eq!(names(&idx, "zubaida parveen ko"), ["zubaida parveen"]);
    }

    #[test]
    fn ordinary_words_only_in_company() {
        let idx = school();
        assert_eq!(
            names(&idx, "the hall was full of noor"),
            Vec::<String>::new()
        );
        assert_eq!(names(&idx, "Iqbal House won"), Vec::<String>::new());
        assert_eq!(names(&idx, "Noor Fatima in Section Noor"), ["Noor Fatima"]);
        assert_eq!(names(&idx, "my daughter Noor is ill"), ["Noor"]);
        assert_eq!(names(&idx, "نور کی روشنی"), Vec::<String>::new());
    }

    #[test]
    fn cues_find_names_the_school_does_not_know() {
        let idx = school();
        assert_eq!(names(&idx, "Mr. Tariq Mehmood shouted"), ["Tariq Mehmood"]);
        assert_eq!(names(&idx, "meri beti zarnish ko"), ["zarnish"]);
        assert_eq!(names(&idx, "میرا بیٹا شہزور اسکول"), ["شہزور"]);
        assert_eq!(names(&idx, "ابني فهد مريض"), ["فهد"]);
        assert_eq!(names(&idx, "Qadir sahib ne kaha"), ["Qadir"]);
        assert_eq!(names(&idx, "my son is sick"), Vec::<String>::new());
    }
}
