//! What every file in `webhook-fixtures/` parses into, checked against a reviewed
//! snapshot beside it (`<name>.parsed.json`): Meta button and list replies, template
//! quick replies, Telegram callback queries, statuses, media. A parser change that
//! alters any of them fails here until the snapshot is reviewed and rewritten
//! (`RAABTA_BLESS=1 cargo test --test it fixture_parse`).

use crate::webhooks::{fixture, fixture_names, TG_TOKEN};
use raabta::domain::message::InboundEvent;
use std::path::PathBuf;

fn parsed(provider: &str, name: &str) -> serde_json::Value {
    let f = fixture(provider, name);
    let events: Vec<(String, Vec<InboundEvent>)> = match provider {
        "meta" => raabta::channel::meta::parse(&f.body).unwrap_or_else(|e| panic!("{name}: {e}")),
        "twilio" => {
            let params = raabta::channel::twilio::parse_form(&f.body);
            let events =
                raabta::channel::twilio::events(&params).unwrap_or_else(|e| panic!("{name}: {e}"));
            vec![(String::new(), events)]
        }
        "telegram" => {
            let bot = raabta::channel::telegram::bot_id(TG_TOKEN).unwrap();
            let events = raabta::channel::telegram::events(bot, &f.body)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            vec![(String::new(), events)]
        }
        other => panic!("unknown provider {other}"),
    };
    serde_json::to_value(
        events
            .into_iter()
            .map(|(route, events)| serde_json::json!({ "route": route, "events": events }))
            .collect::<Vec<_>>(),
    )
    .unwrap()
}

#[test]
fn every_fixture_parses_as_its_reviewed_snapshot() {
    let bless = std::env::var_os("RAABTA_BLESS").is_some();
    let mut problems = Vec::new();
    let mut checked = 0;
    for provider in ["meta", "twilio", "telegram"] {
        for name in fixture_names(provider) {
            let got = parsed(provider, &name);
            let path: PathBuf = [
                env!("CARGO_MANIFEST_DIR"),
                "webhook-fixtures",
                provider,
                &format!("{name}.parsed.json"),
            ]
            .iter()
            .collect();
            let text = serde_json::to_string_pretty(&got).unwrap() + "\n";
            if bless {
                std::fs::write(&path, &text).unwrap();
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(want) if want == text => checked += 1,
                Ok(_) => problems.push(format!("{provider}/{name}: parses differently:\n{text}")),
                Err(_) => problems.push(format!("{provider}/{name}: no snapshot")),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(bless || checked >= 30, "only {checked} fixtures checked");
}

/// The snapshots are not only equal to themselves: the replies people tap parse into
/// the choices the flows expect.
#[test]
fn taps_parse_into_choices() {
    let choice = |provider: &str, name: &str| {
        let v = parsed(provider, name);
        v[0]["events"][0]["body"].clone()
    };
    let b = choice("meta", "button-reply");
    assert_eq!(b["type"], "choice", "{b}");
    assert_eq!(b["id"], "menu.fees", "{b}");
    assert_eq!(b["title"], "Fees", "{b}");
    let l = choice("meta", "list-reply");
    assert_eq!(l["type"], "choice", "{l}");
    assert_eq!(l["id"], "child.2", "{l}");
    assert_eq!(l["title"], "Bilal", "{l}");
    let q = choice("meta", "template-button");
    assert_eq!(q["type"], "choice", "{q}");
    assert_eq!(q["id"], "consent.approve", "{q}");
    let t = choice("telegram", "callback");
    assert_eq!(t["type"], "choice", "{t}");
    assert!(t["callback_id"].is_string(), "{t}");
    let tb = choice("twilio", "button");
    assert_eq!(tb["type"], "choice", "{tb}");
}
