//! The local triage's category by the language model (issue 15's encoder): the
//! complaint is compared with example complaints of each of the school's categories
//! (the built-in ones below for the default categories, the school's own from its
//! setting `complaint_category_examples`, "category: example" per line). The best
//! category wins when it is close enough and clearly ahead of the next; otherwise the
//! keyword rules decide. Embeddings of the examples are cached on disk like the
//! intents' (`nlu::cached_embeddings`).

use crate::nlu::classifier::cosine;
use crate::nlu::encoder::{Encoder, QUERY};

/// The school setting with its own category examples.
pub const SETTING_EXAMPLES: &str = "complaint_category_examples";
/// Examples a school may add at most.
pub const MAX_EXAMPLES: usize = 300;
/// Characters per example at most.
pub const MAX_EXAMPLE_LEN: usize = 300;

/// Decision thresholds, chosen by leave-one-out over the built-in examples
/// (`raabta triage tune`), never on the test set.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// The best category's score (mean of its two closest examples) at least.
    pub floor: f32,
    /// Ahead of the second category by at least.
    pub margin: f32,
}

pub const PARAMS: Params = Params {
    floor: 0.70,
    margin: 0.010,
};

/// Example complaints of the default categories: at least three per language
/// (English, Urdu, Arabic, Roman Urdu).
pub const EXAMPLES: &[(&str, &[&str])] = &[
    (
        "transport",
        &[
            "The van came very late today and the children missed assembly.",
            "The bus driver was rude and dropped the kids far from home.",
            "Pick-up from school is always delayed, the transport is not reliable.",
            "وین آج بھی دیر سے آئی، بچے اسمبلی میں نہیں پہنچ سکے۔",
            "بس کا ڈرائیور بچوں سے بدتمیزی کرتا ہے۔",
            "ٹرانسپورٹ والے بچوں کو گھر سے دور اتار دیتے ہیں۔",
            "تأخرت الحافلة اليوم كثيراً وفات الأطفال الطابور.",
            "سائق الحافلة غير مهذب مع الطلاب.",
            "مواعيد النقل المدرسي غير منتظمة.",
            "van aaj phir late aayi, bachay assembly miss kar gaye",
            "bus driver bachon se badtameezi karta hai",
            "pick and drop ka time theek nahi, roz der hoti hai",
        ],
    ),
    (
        "fees",
        &[
            "The fee voucher shows an amount I have already paid.",
            "I was charged a fine although I paid on time.",
            "Please explain the increase in tuition fees this term.",
            "فیس واؤچر میں پہلے سے ادا شدہ رقم دوبارہ لکھی ہے۔",
            "وقت پر فیس دینے کے باوجود جرمانہ لگا دیا گیا۔",
            "اس سال فیس بغیر بتائے بڑھا دی گئی ہے۔",
            "فاتورة الرسوم فيها مبلغ دفعته من قبل.",
            "فُرضت غرامة تأخير مع أنني دفعت في الموعد.",
            "لماذا ارتفعت الرسوم الدراسية هذا العام؟",
            "fee voucher mein pichla amount dobara likha hai",
            "time par fees di phir bhi fine laga diya",
            "fees bina bataye barha di gayi hai",
        ],
    ),
    (
        "teaching",
        &[
            "The teacher does not explain lessons and the syllabus is behind.",
            "Homework is never checked and the class test results are not shared.",
            "My child is not learning anything in English class.",
            "ٹیچر سبق سمجھاتی نہیں اور کورس پیچھے ہے۔",
            "کاپیاں چیک نہیں ہوتیں اور ٹیسٹ کے نمبر نہیں بتائے جاتے۔",
            "میرا بچہ انگریزی کی کلاس میں کچھ نہیں سیکھ رہا۔",
            "المعلم لا يشرح الدرس والمنهج متأخر.",
            "لا يتم تصحيح الواجبات ولا نعرف نتائج الاختبارات.",
            "ابني لا يتعلم شيئاً في حصة اللغة الإنجليزية.",
            "teacher sabaq samjhati nahi aur course peeche hai",
            "copies check nahi hoti aur test ke number nahi batate",
            "mera bacha english class mein kuch nahi seekh raha",
        ],
    ),
    (
        "behaviour",
        &[
            "Other students bully my son and take his things.",
            "The teacher shouted at my daughter and insulted her in class.",
            "A boy hit my child during break and nobody stopped him.",
            "کلاس کے بچے میرے بیٹے کو تنگ کرتے ہیں اور چیزیں چھین لیتے ہیں۔",
            "ٹیچر نے میری بیٹی پر چیخ کر اس کی بے عزتی کی۔",
            "بریک میں ایک لڑکے نے میرے بچے کو مارا۔",
            "يتنمر بعض الطلاب على ابني ويأخذون أغراضه.",
            "صرخت المعلمة على ابنتي وأهانتها.",
            "ضرب أحد الطلاب ابني في الفسحة.",
            "class ke bachay mere bete ko tang karte hain",
            "teacher ne meri beti par chilla kar uski be-izzati ki",
            "break mein aik larke ne mere bachay ko maara",
        ],
    ),
    (
        "facilities",
        &[
            "The toilets are dirty and there is no clean drinking water.",
            "Fans and lights in the classroom are broken.",
            "The playground is unsafe, there is broken glass near the swings.",
            "باتھ روم گندے ہیں اور پینے کا صاف پانی نہیں ہے۔",
            "کلاس میں پنکھے اور لائٹیں خراب ہیں۔",
            "گراؤنڈ میں ٹوٹا ہوا شیشہ پڑا ہے، بچوں کو خطرہ ہے۔",
            "دورات المياه متسخة ولا يوجد ماء شرب نظيف.",
            "المراوح والإضاءة في الفصل معطلة.",
            "الملعب غير آمن وفيه زجاج مكسور.",
            "bathroom gande hain aur peene ka saaf pani nahi",
            "class mein pankhe aur lights kharab hain",
            "ground mein toota hua sheesha para hai",
        ],
    ),
    (
        "food",
        &[
            "The canteen food is stale and overpriced.",
            "My child got sick after eating the school lunch.",
            "The meals are cold and the portions are small.",
            "کینٹین کا کھانا باسی اور مہنگا ہے۔",
            "سکول کا کھانا کھا کر میرا بچہ بیمار ہو گیا۔",
            "کھانا ٹھنڈا ہوتا ہے اور مقدار کم ہے۔",
            "طعام المقصف قديم وغالي الثمن.",
            "مرض ابني بعد أن أكل وجبة المدرسة.",
            "الوجبات باردة والكمية قليلة.",
            "canteen ka khana basi aur mehnga hai",
            "school ka khana kha kar bacha bimar ho gaya",
            "khana thanda hota hai aur miqdar kam hai",
        ],
    ),
    (
        "other",
        &[
            "I have been trying to reach the office but nobody picks up.",
            "We still have not received the school leaving certificate.",
            "The school app shows the wrong class for my child.",
            "دفتر سے رابطہ نہیں ہو رہا، کوئی فون نہیں اٹھاتا۔",
            "ابھی تک سکول چھوڑنے کا سرٹیفکیٹ نہیں ملا۔",
            "ایپ میں میرے بچے کی کلاس غلط دکھا رہی ہے۔",
            "أحاول الاتصال بالإدارة ولا أحد يرد.",
            "لم نستلم شهادة ترك المدرسة حتى الآن.",
            "التطبيق يعرض صفاً خاطئاً لابني.",
            "office se rabta nahi ho raha, koi phone nahi uthata",
            "abhi tak school leaving certificate nahi mila",
            "app mein mere bachay ki class ghalat dikha rahi hai",
        ],
    ),
];

/// The school's own examples from its setting text: `category: example` per line,
/// for one of its categories. Blank lines and `#` comments are skipped.
pub fn parse_examples(text: &str, categories: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((c, example)) = line.split_once(':') else {
            return Err(format!(
                "line {}: write it as \"category: example\", e.g. \"transport: van late again\"",
                n + 1
            ));
        };
        let (c, example) = (c.trim().to_lowercase(), example.trim());
        if !categories.contains(&c) {
            return Err(format!(
                "line {}: {c:?} is not one of the school's categories ({})",
                n + 1,
                categories.join(", ")
            ));
        }
        if example.is_empty() || example.chars().count() > MAX_EXAMPLE_LEN {
            return Err(format!(
                "line {}: an example is 1 to {MAX_EXAMPLE_LEN} characters",
                n + 1
            ));
        }
        out.push((c, example.to_string()));
    }
    if out.len() > MAX_EXAMPLES {
        return Err(format!("at most {MAX_EXAMPLES} examples"));
    }
    Ok(out)
}

/// The examples for a school's categories: built-in ones of the defaults it uses, and
/// its own.
pub fn examples_for(categories: &[String], own: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = EXAMPLES
        .iter()
        .filter(|(c, _)| categories.iter().any(|x| x == c))
        .flat_map(|(c, xs)| xs.iter().map(move |x| (c.to_string(), x.to_string())))
        .collect();
    out.extend(own.iter().cloned());
    out
}

/// Scores per category: the mean of its two closest examples' cosines.
pub fn scores(text: &[f32], examples: &[(String, Vec<f32>)]) -> Vec<(String, f32)> {
    let mut by: Vec<(String, Vec<f32>)> = Vec::new();
    for (c, v) in examples {
        let s = cosine(text, v);
        match by.iter_mut().find(|(x, _)| x == c) {
            Some((_, list)) => list.push(s),
            None => by.push((c.clone(), vec![s])),
        }
    }
    let mut out: Vec<(String, f32)> = by
        .into_iter()
        .map(|(c, mut list)| {
            list.sort_by(|a, b| b.total_cmp(a));
            let top: Vec<f32> = list.into_iter().take(2).collect();
            (c, top.iter().sum::<f32>() / top.len() as f32)
        })
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

/// The category the scores decide on, if any.
pub fn decide(scores: &[(String, f32)], p: Params) -> Option<String> {
    let (best, s1) = scores.first()?;
    let s2 = scores.get(1).map_or(0.0, |x| x.1);
    (*s1 >= p.floor && s1 - s2 >= p.margin).then(|| best.clone())
}

/// The model's category for a complaint (blocking: call from a blocking thread).
pub fn category(
    encoder: &Encoder,
    cache_dir: Option<&std::path::Path>,
    text: &str,
    examples: &[(String, String)],
    p: Params,
) -> Result<Option<String>, String> {
    if examples.is_empty() {
        return Ok(None);
    }
    let texts: Vec<&str> = examples.iter().map(|(_, x)| x.as_str()).collect();
    let vectors = crate::nlu::service::cached_embeddings(encoder, cache_dir, &texts)?;
    let labelled: Vec<(String, Vec<f32>)> = examples
        .iter()
        .map(|(c, _)| c.clone())
        .zip(vectors)
        .collect();
    let query = encoder
        .embed(QUERY, &[text])
        .map_err(|e| e.to_string())?
        .pop()
        .ok_or("no embedding")?;
    Ok(decide(&scores(&query, &labelled), p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_category_has_three_examples_per_language() {
        for (c, xs) in EXAMPLES {
            assert!(super::super::DEFAULT_CATEGORIES.contains(c), "{c}");
            let arabic = |x: &&&str| x.chars().any(|ch| ('\u{0600}'..='\u{06FF}').contains(&ch));
            let urdu = |x: &&&str| {
                x.chars()
                    .any(|ch| matches!(ch, 'ی' | 'ہ' | 'ے' | 'ں' | 'ٹ' | 'ک' | 'گ' | 'چ' | 'پ'))
            };
            let latin: Vec<_> = xs.iter().filter(|x| !arabic(x)).collect();
            let ur = xs.iter().filter(|x| arabic(x) && urdu(x)).count();
            let ar = xs.iter().filter(|x| arabic(x) && !urdu(x)).count();
            assert!(
                latin.len() >= 6 && ur >= 3 && ar >= 3,
                "{c}: {} {ur} {ar}",
                latin.len()
            );
        }
    }

    #[test]
    fn the_schools_examples_are_checked() {
        let cats = vec!["transport".to_string(), "uniform".to_string()];
        let ok = parse_examples(
            "# ours\nuniform: shoes are too expensive\n\nTransport: van late",
            &cats,
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].0, "transport");
        assert!(parse_examples("food: cold", &cats)
            .unwrap_err()
            .contains("not one of"));
        assert!(parse_examples("no colon", &cats)
            .unwrap_err()
            .contains("line 1"));
        let all = examples_for(&cats, &ok);
        assert!(all.iter().any(|(c, _)| c == "uniform"));
        assert!(all.iter().filter(|(c, _)| c == "transport").count() >= 13);
    }

    #[test]
    fn a_close_second_decides_nothing() {
        let s = vec![("fees".to_string(), 0.9), ("transport".to_string(), 0.899)];
        assert_eq!(
            decide(
                &s,
                Params {
                    floor: 0.8,
                    margin: 0.005
                }
            ),
            None
        );
        let s = vec![("fees".to_string(), 0.9), ("transport".to_string(), 0.85)];
        assert_eq!(
            decide(
                &s,
                Params {
                    floor: 0.8,
                    margin: 0.005
                }
            )
            .as_deref(),
            Some("fees")
        );
        assert_eq!(
            decide(
                &s,
                Params {
                    floor: 0.95,
                    margin: 0.005
                }
            ),
            None
        );
    }
}
