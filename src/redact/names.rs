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
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::LazyLock;

/// How a known token counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Weight {
    /// A name wherever it stands.
    Name,
    /// Also an ordinary word: a name only beside another name token or after a cue.
    Common,
    /// Part of a class, section, house or branch name: a name only beside another
    /// name token or after a cue ("my son Noor"), never when the place's whole name
    /// stands there ("Iqbal House"), and a name never runs on into it ("Ali Nursery").
    Place,
}

/// The lists, folded as the text's words are.
struct Lists {
    common: HashSet<String>,
    connectors: HashSet<String>,
    before: HashSet<String>,
    after: HashSet<String>,
    kin2: HashSet<String>,
    /// The first words of two-word relationships ("my", "meri", «میرا»).
    kin2_first: HashSet<String>,
    kin1: HashSet<String>,
    role: HashSet<String>,
    not_names: HashSet<String>,
    /// "X ke abbu", «X کے ابو»: the possessive and the relative after a name.
    possessive: HashSet<String>,
    kin_after: HashSet<String>,
}

static LISTS: LazyLock<Lists> = LazyLock::new(|| {
    let set = |l: &[&str]| l.iter().map(|w| fold_key(w)).collect::<HashSet<String>>();
    let kin: Vec<&str> = KIN.to_vec();
    Lists {
        possessive: set(&["ke", "ki", "ka", "کے", "کی", "کا"]),
        kin_after: set(&[
            "abbu",
            "abu",
            "ammi",
            "ami",
            "walid",
            "walida",
            "walidain",
            "bhai",
            "behn",
            "abba",
            "amma",
            "nana",
            "nani",
            "dada",
            "dadi",
            "ابو",
            "امی",
            "والد",
            "والدہ",
            "والدین",
            "بھائی",
            "بہن",
            "ابا",
            "اماں",
            "نانا",
            "نانی",
            "دادا",
            "دادی",
        ]),
        common: set(COMMON),
        connectors: set(CONNECTORS),
        before: set(BEFORE),
        after: set(AFTER),
        kin2: set(&kin
            .iter()
            .copied()
            .filter(|k| k.contains(' '))
            .collect::<Vec<_>>()),
        kin2_first: kin
            .iter()
            .filter_map(|k| k.split_once(' ').map(|(a, _)| fold(a)))
            .collect(),
        kin1: set(&kin
            .iter()
            .copied()
            .filter(|k| !k.contains(' '))
            .collect::<Vec<_>>()),
        role: set(ROLE),
        // Month names as the chat writes them are never names either.
        not_names: set(NOT_NAMES)
            .into_iter()
            .chain(
                crate::flow::text::MONTHS_UR
                    .iter()
                    .chain(&crate::flow::text::MONTHS_AR)
                    .map(|m| fold_key(m)),
            )
            .collect(),
    }
});

impl Lists {
    /// A cue or a function word: never a name itself.
    fn never(&self, f: &str) -> bool {
        self.not_names.contains(f)
            || self.connectors.contains(f)
            || self.before.contains(f)
            || self.after.contains(f)
            || self.kin1.contains(f)
            || self.role.contains(f)
    }
}

/// The names a redactor knows.
#[derive(Debug, Clone, Default)]
pub struct NameIndex {
    tokens: HashMap<String, Weight>,
    /// Class, section, house and branch names, folded, as word sequences.
    places: Vec<Vec<String>>,
    /// Adjacent token pairs of the school's people's names, keyed by the two tokens
    /// folded (and by their spelling skeletons), with how each is written (lower case).
    pairs: HashMap<String, Vec<(String, String)>>,
    /// Every token (folded, and its skeleton) of those pairs: most words are none, and
    /// cost one lookup.
    pair_tokens: std::collections::HashSet<String>,
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
    "dua",
    "duaa",
    "farah",
    "hayat",
    "saba",
    "rahat",
    "salamat",
    "barkat",
    "barakat",
    "naseeb",
    "dilshad",
    "shadab",
    "khurshid",
    "mehtab",
    "aftab",
    "mahtab",
    "sitara",
    "abid",
    "sabir",
    "shakir",
    "nadir",
    "qadir",
    "wali",
    "hafiz",
    "qari",
    "imam",
    "haji",
    "hajji",
    "ghazi",
    "دعا",
    "فرح",
    "حیات",
    "حياة",
    "صبا",
    "راحت",
    "سلامت",
    "برکت",
    "نصیب",
    "آفتاب",
    "حافظ",
    "قاری",
    "امام",
    "حاجی",
    "غازی",
    "ولی",
    "أول",
    "اول",
    "فرحة",
    "سعادة",
    "سعاده",
    "بشرى",
    "بشری",
    "ریحان",
    "ريحان",
    "وردة",
    "ورده",
    "ندى",
    "ندی",
    "هدایت",
    "روح",
    "جنة",
    "جنه",
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
    "جناب",
    "محترم",
    "محترمہ",
    "مس",
    "سر",
    "استاد",
    "استاذ",
    "ڈاکٹر",
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
    "نامی",
    "named",
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
];

/// Roles before a name ("the driver Faraz", «ڈرائیور عدیل», «السائق ناصر»): the next
/// word is a name when it is capitalised (Latin) or a known name or given name.
const ROLE: &[&str] = &[
    "driver",
    "conductor",
    "attendant",
    "lawyer",
    "teacher",
    "principal",
    "coach",
    "guard",
    "maid",
    "nanny",
    "father",
    "mother",
    "wife",
    "husband",
    "uncle",
    "aunt",
    "cousin",
    "son",
    "daughter",
    "brother",
    "sister",
    "student",
    "classmate",
    "boy",
    "girl",
    "friend",
    "named",
    "called",
    "beta",
    "beti",
    "bhai",
    "behan",
    "walida",
    "abbu",
    "ammi",
    "chacha",
    "mamu",
    "khala",
    "phuppo",
    "ustani",
    "naam",
    "ڈرائیور",
    "کنڈکٹر",
    "وکیل",
    "والد",
    "والدہ",
    "ابو",
    "امی",
    "بیوی",
    "شوہر",
    "ٹیچر",
    "استانی",
    "چوکیدار",
    "ماموں",
    "چچا",
    "خالہ",
    "پھوپھو",
    "بیٹا",
    "بیٹی",
    "بیٹے",
    "بھائی",
    "بہن",
    "طالب",
    "طالبہ",
    "نام",
    "السائق",
    "سائق",
    "والسائق",
    "المحامي",
    "محامي",
    "المعلم",
    "المعلمة",
    "معلمة",
    "معلم",
    "الطالب",
    "الطالبة",
    "طالبة",
    "والد",
    "والدة",
    "ابن",
    "بنت",
    "اسمه",
    "اسمها",
    "زميله",
    "زميلتها",
    "صديقه",
    "صديقتها",
    "الحارس",
    "المشرفة",
    "المشرف",
    "مدير",
    "المدير",
    "المديرة",
];

/// Function words that are never a name, even after a cue.
const NOT_NAMES: &[&str] = &[
    // Months and weekdays (English, Roman Urdu, Urdu and Arabic weekdays; Urdu and Arabic
    // months come from the chat's own list, `flow::text`).
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "peer",
    "pir",
    "mangal",
    "budh",
    "jumerat",
    "juma",
    "jumma",
    "hafta",
    "itwar",
    "پیر",
    "منگل",
    "بدھ",
    "جمعرات",
    "جمعہ",
    "ہفتہ",
    "اتوار",
    "الأحد",
    "الاثنين",
    "الثلاثاء",
    "الأربعاء",
    "الخميس",
    "الجمعة",
    "السبت",
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
    "asadullah",
    "obaidullah",
    "ubaidullah",
    "ehsanullah",
    "hidayatullah",
    "rahmatullah",
    "nimra",
    "waleed",
    "walid",
    "faraz",
    "majed",
    "majid",
    "adeel",
    "adil",
    "imtiaz",
    "aslam",
    "akram",
    "anwar",
    "arshad",
    "ashfaq",
    "ashraf",
    "ayaz",
    "aziz",
    "bashir",
    "dawood",
    "daud",
    "farooq",
    "faheem",
    "ghazanfar",
    "habib",
    "hameed",
    "haroon",
    "harun",
    "hashim",
    "ijaz",
    "ilyas",
    "iftikhar",
    "ishaq",
    "jameel",
    "jamil",
    "javed",
    "khurram",
    "liaqat",
    "mahmood",
    "mahmud",
    "mehmood",
    "masood",
    "moin",
    "muneeb",
    "mujtaba",
    "nasir",
    "naeem",
    "noman",
    "nouman",
    "parvez",
    "pervaiz",
    "qamar",
    "rafiq",
    "rahim",
    "raheem",
    "rauf",
    "riaz",
    "saeed",
    "sajjad",
    "saleem",
    "salim",
    "sami",
    "shabbir",
    "shafqat",
    "shakeel",
    "shehzad",
    "shahzaib",
    "sikandar",
    "tanvir",
    "tauseef",
    "touseef",
    "umer",
    "usama",
    "osama",
    "wajid",
    "yaqoob",
    "yaqub",
    "younis",
    "zafar",
    "zaheer",
    "zahid",
    "zakir",
    "zulfiqar",
    "ammar",
    "anas",
    "ayan",
    "aryan",
    "daniyal",
    "ebad",
    "hadi",
    "huzaifa",
    "ibad",
    "mustafa",
    "rayyan",
    "rayan",
    "saim",
    "shayan",
    "taha",
    "uzair",
    "zohaib",
    "abdulrehman",
    "abdurrahman",
    "aqsa",
    "alina",
    "anum",
    "ayat",
    "benish",
    "dua",
    "eshal",
    "fiza",
    "hadia",
    "hafsah",
    "hajra",
    "huma",
    "javeria",
    "kinza",
    "lubna",
    "madiha",
    "maham",
    "maira",
    "mehreen",
    "mishal",
    "momina",
    "nadia",
    "naila",
    "noreen",
    "rida",
    "rimsha",
    "rubina",
    "saba",
    "sabeen",
    "saira",
    "samina",
    "shagufta",
    "shaista",
    "sobia",
    "sumaira",
    "tayyaba",
    "tehreem",
    "wajiha",
    "yumna",
    "zunaira",
    "amina",
    "batool",
    "zahra",
    "zehra",
    "hoor",
    "hur",
    "munira",
    "muneera",
    "razan",
    "dalal",
    "jana",
    "jood",
    "joud",
    "lujain",
    "manar",
    "rahaf",
    "renad",
    "sadeem",
    "wasan",
    "yara",
    "bandar",
    "nawaf",
    "mishal",
    "mishaal",
    "rakan",
    "saud",
    "sattam",
    "talal",
    "thamer",
    "waleed",
    "yazeed",
    "yazid",
    "ziyad",
    "ziad",
    "hamad",
    "hamoud",
    "mansour",
    "mansur",
    "musaed",
    "abdulmajeed",
    "abdulelah",
    "fawaz",
    "hatem",
    "hatim",
    "osman",
    "qadir",
    "zubaida",
    "ریحانہ",
    "اسد",
    "اسداللہ",
    "نمرہ",
    "ولید",
    "وليد",
    "فراز",
    "ماجد",
    "عدیل",
    "عديل",
    "امتیاز",
    "اسلم",
    "اکرم",
    "انور",
    "ارشد",
    "اشفاق",
    "اشرف",
    "بشیر",
    "داؤد",
    "فاروق",
    "حبیب",
    "حمید",
    "ہارون",
    "ہاشم",
    "اعجاز",
    "الیاس",
    "افتخار",
    "جمیل",
    "جاوید",
    "خرم",
    "محمود",
    "مسعود",
    "نعیم",
    "نعمان",
    "پرویز",
    "قمر",
    "رفیق",
    "رحیم",
    "ریاض",
    "سجاد",
    "سلیم",
    "شبیر",
    "شکیل",
    "شہزاد",
    "سکندر",
    "تنویر",
    "عمیر",
    "اسامہ",
    "واجد",
    "یعقوب",
    "ذیشان",
    "حیدر",
    "کاشف",
    "کامران",
    "شازیہ",
    "پروین",
    "نمرہ",
    "لبنی",
    "مدیحہ",
    "نادیہ",
    "رابعہ",
    "ثمینہ",
    "صائمہ",
    "شگفتہ",
    "بتول",
    "زہرا",
    "حور",
    "حراء",
    "رزان",
    "دلال",
    "جنى",
    "جود",
    "لجين",
    "منار",
    "رهف",
    "سديم",
    "يارا",
    "بندر",
    "نواف",
    "مشعل",
    "راكان",
    "سعود",
    "طلال",
    "ثامر",
    "يزيد",
    "زياد",
    "حمد",
    "منصور",
    "فواز",
    "حاتم",
    "منيرة",
    "شازية",
    "بروين",
    "كاشف",
    "ميرزا",
    "ذيشان",
    "حيدر",
    "كيرن",
    "شهزاد",
    "عائشه",
    "الفيصل",
    "السهلي",
    "السہلی",
    "العمري",
    "العمری",
    "الأحمدي",
    "الاحمدي",
    "الشهراني",
    "النعيمي",
    "نعيم",
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

/// The key of two adjacent name tokens.
fn pair_key(a: &str, b: &str) -> String {
    format!("{a}\u{1}{b}")
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
        for c in &LISTS.common {
            idx.tokens.insert(c.clone(), Weight::Common);
        }
        idx
    }

    fn add_token(&mut self, t: &str, w: Weight) {
        let lists = &*LISTS;
        if t.chars().count() < 2 || lists.never(t) {
            return;
        }
        // An ordinary word stays ordinary, a class or house name a place.
        let w = match self.tokens.get(t) {
            Some(Weight::Place) => Weight::Place,
            _ if lists.common.contains(t) => Weight::Common,
            _ => w,
        };
        self.tokens.insert(t.to_string(), w);
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
        // The name as a sequence: two of its tokens side by side, in order ("Sabr Ali",
        // "Ali Khan" of "Muhammad Ali Khan"), are a name even when each is also an
        // ordinary word.
        let seq: Vec<(String, String)> = name
            .split(|c: char| c.is_whitespace() || matches!(c, '-' | '.' | ','))
            .map(|t| (fold(t), t.to_lowercase()))
            .filter(|(t, _)| !t.is_empty())
            .collect();
        for pair in seq.windows(2) {
            let ((fa, ra), (fb, rb)) = (&pair[0], &pair[1]);
            let (sa, sb) = (skeleton(fa), skeleton(fb));
            // One of the two may be spelled differently ("khair mohammed").
            let mut keys = vec![pair_key(fa, fb)];
            if let Some(sa) = &sa {
                keys.push(pair_key(sa, fb));
            }
            if let Some(sb) = &sb {
                keys.push(pair_key(fa, sb));
            }
            self.pair_tokens.insert(fa.clone());
            self.pair_tokens.insert(fb.clone());
            for k in keys {
                let written = self.pairs.entry(k).or_default();
                if !written.iter().any(|(a, b)| a == ra && b == rb) {
                    written.push((ra.clone(), rb.clone()));
                }
            }
        }
        // "Al Qahtani" is also written "AlQahtani".
        let parts: Vec<String> = name.split_whitespace().map(fold).collect();
        for pair in parts.windows(2) {
            if matches!(pair[0].as_str(), "al" | "el") {
                self.add_token(&format!("al{}", pair[1]), Weight::Name);
            }
        }
    }

    /// A class, section, house or branch name: its tokens are names only beside
    /// another name token.
    pub fn add_protected(&mut self, name: &str) {
        let mut seq = Vec::new();
        for part in name.split(|c: char| c.is_whitespace() || matches!(c, '-' | '.' | ',')) {
            let f = fold(part);
            if f.is_empty() {
                continue;
            }
            if f.chars().all(|c| c.is_ascii_digit()) {
                // "KG 1": words are letters only, so the sequence is too.
                continue;
            }
            seq.push(f.clone());
            // A person's name stays a name ("Fatima Jinnah House" must not free
            // "Fatima"); the place itself is protected as a sequence.
            if f.chars().count() >= 2 && self.tokens.get(&f) != Some(&Weight::Name) {
                self.tokens.insert(f, Weight::Place);
            }
        }
        if seq.len() > 1 {
            self.places.push(seq);
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
        if capital {
            if let Some(sk) = skeleton(w) {
                if let Some(x) = self.tokens.get(&sk) {
                    return Some(*x);
                }
            }
        }
        let first = w.chars().next()?;
        if is_arabic_script(first) && w.chars().count() > 3 {
            for prefix in ["و", "ب", "ل", "ک", "ف", "وال", "بال", "لل", "ول"] {
                if let Some(rest) = w.strip_prefix(prefix) {
                    // «لمحمد» → «محمد»; «للقحطاني» → «قحطانی» (names are also known
                    // without their article).
                    if let Some(x) = self.tokens.get(rest) {
                        return Some(*x);
                    }
                }
            }
        }
        None
    }

    /// The names in a text (characters).
    pub fn find(&self, chars: &[char]) -> Vec<Entity> {
        let lists = &*LISTS;
        let ws = words(chars);
        let n = ws.len();
        if n == 0 {
            return Vec::new();
        }
        let mut never: Vec<bool> = ws.iter().map(|w| lists.never(&w.folded)).collect();
        // The school's own place names as they stand ("Iqbal House", «جناح ہاؤس»):
        // never a person, cue or not.
        for place in &self.places {
            for i in 0..n.saturating_sub(place.len() - 1) {
                if place
                    .iter()
                    .enumerate()
                    .all(|(k, p)| ws[i + k].folded == *p)
                {
                    for flag in never.iter_mut().skip(i).take(place.len()) {
                        *flag = true;
                    }
                }
            }
        }
        let weights: Vec<Option<Weight>> = ws
            .iter()
            .zip(&never)
            .map(|(w, never)| {
                if *never {
                    None
                } else {
                    self.weight(&w.folded, w.capital)
                }
            })
            .collect();
        let adjacent = |a: usize, b: usize| {
            // Only spaces, a hyphen or a dot between two words of one name.
            ws[b].start - ws[a].end <= 3
                && chars[ws[a].end..ws[b].start]
                    .iter()
                    .all(|c| matches!(c, ' ' | '-' | '.' | '\u{200C}'))
        };
        // Two tokens of one of the school's names side by side, in its order: a name,
        // even when each alone is an ordinary word ("Sabr Ali", «علی خان»).
        let mut known = vec![false; n];
        if !self.pairs.is_empty() && n > 1 {
            // A word that is never a name on its own («على», on) is one here only as
            // the name writes it («علی», «علي»).
            let allowed = |x: usize, written: &str| {
                !never[x]
                    || chars[ws[x].start..ws[x].end]
                        .iter()
                        .flat_map(|c| c.to_lowercase())
                        .eq(written.chars())
            };
            // Only beside a word that is a pair token as it is written; the other word
            // may be a spelling variant (its skeleton, computed only then).
            // A pair token is a known token (it has a weight) or a word never a name
            // alone («علی»): only those are looked up.
            let in_fold: Vec<bool> = ws
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    (weights[i].is_some() || never[i]) && self.pair_tokens.contains(&w.folded)
                })
                .collect();
            for i in 0..n - 1 {
                if !(in_fold[i] || in_fold[i + 1]) || !adjacent(i, i + 1) {
                    continue;
                }
                let (fa, fb) = (&ws[i].folded, &ws[i + 1].folded);
                let mut keys = Vec::with_capacity(2);
                if in_fold[i] && in_fold[i + 1] {
                    keys.push(pair_key(fa, fb));
                } else if in_fold[i] {
                    keys.extend(skeleton(fb).map(|sb| pair_key(fa, &sb)));
                } else {
                    keys.extend(skeleton(fa).map(|sa| pair_key(&sa, fb)));
                }
                let found = keys.iter().any(|k| {
                    self.pairs.get(k).is_some_and(|written| {
                        written
                            .iter()
                            .any(|(a, b)| allowed(i, a) && allowed(i + 1, b))
                    })
                });
                if found {
                    known[i] = true;
                    known[i + 1] = true;
                }
            }
        }
        // Cues. Strong (an honorific, "my son", «ابني», "… sahib"): the word is a name
        // unless a function word. Weak (a role: "the driver X"): only a capitalised or
        // known word.
        let mut strong = vec![false; n];
        let mut weak = vec![false; n];
        for i in 0..n {
            let f = ws[i].folded.as_str();
            if i + 1 < n && (lists.before.contains(f) || lists.kin1.contains(f)) {
                strong[i + 1] = true;
            }
            if i > 0 && lists.after.contains(f) {
                strong[i - 1] = true;
            }
            if i + 2 < n
                && lists.kin2_first.contains(f)
                && lists.kin2.contains(&format!("{f} {}", ws[i + 1].folded))
            {
                strong[i + 2] = true;
            }
            if i + 1 < n && lists.role.contains(f) {
                weak[i + 1] = true;
            }
            // «صبر کے ابو»: whose father — the word before is a person.
            if i + 2 < n
                && lists.possessive.contains(ws[i + 1].folded.as_str())
                && lists.kin_after.contains(ws[i + 2].folded.as_str())
                && adjacent(i, i + 1)
            {
                strong[i] = true;
            }
        }
        let is_name = |i: usize| -> bool {
            if known[i] {
                return true;
            }
            if never[i] {
                return false;
            }
            let beside_name = |j: usize| {
                weights[j] == Some(Weight::Name)
                    && (if j < i {
                        adjacent(j, i)
                    } else {
                        adjacent(i, j)
                    })
            };
            let company = (i > 0 && beside_name(i - 1)) || (i + 1 < n && beside_name(i + 1));
            match weights[i] {
                Some(Weight::Name) => true,
                Some(Weight::Common | Weight::Place) => company || strong[i] || weak[i],
                None => {
                    let letters = ws[i].folded.chars().count() >= 2;
                    letters && (strong[i] || (weak[i] && ws[i].capital))
                }
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
            let cued = strong[i] || weak[i];
            let mut j = i + 1;
            while j < n
                && adjacent(j - 1, j)
                && (!never[j] || known[j] || lists.connectors.contains(&ws[j].folded))
            {
                // Once a name has started, ordinary words that are also names, and (after
                // a cue) capitalised words, go on with it ("Muhammad Ali Khan", "Mr. Tariq
                // Mehmood").
                let goes_on = is_name(j)
                    || weights[j] == Some(Weight::Common)
                    || (cued && ws[j].capital && ws[i].capital && weights[j].is_none());
                if goes_on {
                    end = ws[j].end;
                    j += 1;
                } else if lists.connectors.contains(&ws[j].folded)
                    && j + 1 < n
                    && adjacent(j, j + 1)
                    && (is_name(j + 1) || (cued && ws[j + 1].capital))
                {
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

    #[test]
    fn two_tokens_of_a_known_name_in_order_are_a_name_even_when_ordinary_words() {
        let mut idx = school();
        for n in ["Sabr Ali", "صبر علی", "محمّد علي خان", "Khair Muhammad"] {
            idx.add_name(n);
        }
        assert_eq!(
            names(&idx, "— صبر علی (سیکشن نور) کے نمبر"),
            vec!["صبر علی"]
        );
        assert_eq!(names(&idx, "ملف علي خان."), vec!["علي خان"]);
        assert!(names(&idx, "Areeb aur khair mohammed ki larai")
            .contains(&"khair mohammed".to_string()));
        // Each alone, with no other name beside it, stays an ordinary word; «على» (on)
        // is never «علی».
        assert!(names(&idx, "sabr karein").is_empty());
        assert!(names(&idx, "صبر على الأذى").is_empty());
        // Whose father: the word before is a person.
        assert_eq!(names(&idx, "صبر کے ابو کا نمبر"), vec!["صبر"]);
        assert_eq!(names(&idx, "Noor ke abbu ka number"), vec!["Noor"]);
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
        assert_eq!(
            names(&idx, "Muhammad Ali Khan Iqbal House mein"),
            ["Muhammad Ali Khan"]
        );
        assert_eq!(
            names(&idx, "Muhammad Ali Khan June se absent"),
            ["Muhammad Ali Khan"]
        );
        let mut idx = school();
        idx.add_protected("Fatima Jinnah House");
        idx.add_name("Walid Al-Harbi");
        assert_eq!(names(&idx, "Noor Fatima ko maara"), ["Noor Fatima"]);
        assert_eq!(names(&idx, "Walid was hit"), ["Walid"]);
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
