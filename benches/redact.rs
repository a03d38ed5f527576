//! The PII redactor's throughput: the evaluation corpus's messages joined two by two
//! (about 200 characters each, four languages) through a redactor that knows 5,000
//! names.
//! Run: `cargo bench --bench redact` (figures in BENCHMARKS.md).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use raabta::redact::Redactor;
use raabta::store::KnownNames;
use std::hint::black_box;
use std::path::Path;

const FIRST: &[&str] = &[
    "Muhammad",
    "Ahmed",
    "Ali",
    "Hassan",
    "Usman",
    "Bilal",
    "Hamza",
    "Fahad",
    "Saad",
    "Omar",
    "Ayesha",
    "Fatima",
    "Zainab",
    "Maryam",
    "Sara",
    "Hira",
    "Noor",
    "Amna",
    "Khadija",
    "Laiba",
    "محمد",
    "احمد",
    "علی",
    "حسن",
    "عثمان",
    "بلال",
    "حمزہ",
    "فہد",
    "سعد",
    "عمر",
    "عائشہ",
    "فاطمہ",
    "زینب",
    "مریم",
    "سارہ",
    "حرا",
    "نور",
    "آمنہ",
    "خدیجہ",
    "لائبہ",
    "عبدالله",
    "خالد",
    "فيصل",
    "سلمان",
    "نورة",
    "ريم",
    "هيا",
    "لمى",
    "شهد",
    "رغد",
];
const LAST: &[&str] = &[
    "Khan",
    "Siddiqui",
    "Qureshi",
    "Malik",
    "Chaudhry",
    "Butt",
    "Awan",
    "Abbasi",
    "Raza",
    "Hussain",
    "Iqbal",
    "Mirza",
    "Sheikh",
    "Shah",
    "Javed",
    "Aslam",
    "Akram",
    "Anwar",
    "Tariq",
    "Mehmood",
    "Al-Qahtani",
    "Al-Otaibi",
    "Al-Harbi",
    "Al-Shehri",
    "Al-Ghamdi",
    "Al-Zahrani",
    "Al-Dosari",
    "Al-Mutairi",
    "Al-Shammari",
    "Al-Anazi",
    "خان",
    "صدیقی",
    "قریشی",
    "ملک",
    "چوہدری",
    "بٹ",
    "اعوان",
    "عباسی",
    "رضا",
    "حسین",
    "اقبال",
    "مرزا",
    "شیخ",
    "شاہ",
    "جاوید",
    "اسلم",
    "اکرم",
    "انور",
    "طارق",
    "محمود",
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
    "Rafiq",
    "Saleem",
    "Nadeem",
    "Farooq",
    "Haroon",
    "Yaqoob",
    "Zafar",
    "Zahid",
    "Sultan",
    "Rana",
    "Bhatti",
    "Gill",
    "Cheema",
    "Warraich",
    "Sandhu",
    "Bajwa",
    "Gondal",
    "Janjua",
    "Kiyani",
    "Niazi",
    "Afridi",
    "Yousafzai",
    "Durrani",
    "Khattak",
    "Marwat",
    "Baloch",
    "Bugti",
    "Mengal",
    "Jamali",
    "Leghari",
    "Mazari",
    "Bhutto",
    "Zardari",
    "Soomro",
    "Memon",
    "Shaikh",
    "Ansari",
    "Rizvi",
    "Naqvi",
    "Zaidi",
    "Jafri",
    "Kazmi",
    "Gilani",
    "Hashmi",
];

fn roster() -> KnownNames {
    let mut known = KnownNames::default();
    'outer: for f in FIRST {
        for l in LAST {
            known.people.push(format!("{f} {l}"));
            if known.people.len() >= 5_000 {
                break 'outer;
            }
        }
    }
    known.places = vec![
        "Grade 5".into(),
        "Section Noor".into(),
        "Iqbal House".into(),
    ];
    known
}

/// The corpus's messages two by two (about 200 characters each).
fn messages() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pii/corpus.jsonl");
    let one: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect();
    one.chunks(2).map(|pair| pair.join(" ")).collect()
}

fn bench(c: &mut Criterion) {
    let known = roster();
    assert_eq!(known.people.len(), 5_000);
    let redactor = Redactor::for_school(&known);
    let msgs = messages();
    let chars: usize = msgs.iter().map(|m| m.chars().count()).sum();
    eprintln!(
        "{} messages, {:.0} characters on average; 5,000 names",
        msgs.len(),
        chars as f64 / msgs.len() as f64
    );
    let mut g = c.benchmark_group("redact");
    g.throughput(Throughput::Elements(msgs.len() as u64));
    g.bench_function("corpus_messages_5000_names", |b| {
        b.iter(|| {
            for m in &msgs {
                black_box(redactor.redact(black_box(m)).unwrap());
            }
        })
    });
    g.finish();
    c.bench_function("build_redactor_5000_names", |b| {
        b.iter(|| black_box(Redactor::for_school(black_box(&known))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
