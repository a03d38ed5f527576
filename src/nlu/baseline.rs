//! The trigger-word baseline the language model is measured against: what the bot
//! understood before it (global commands and the menus' words), generously applied —
//! a trigger anywhere in the message counts, not only the whole message.

use super::Intent;
use crate::flow::def::StepKind;
use crate::flow::engine::{command, command_words, Command};
use crate::flow::{input, Library};

fn intent_of_command(c: Command) -> Intent {
    match c {
        Command::Greeting => Intent::Greeting,
        Command::Thanks => Intent::Thanks,
        Command::Stop => Intent::Stop,
        Command::Language | Command::SetLanguage(_) => Intent::Language,
        Command::Human => Intent::Office,
        Command::Complaint => Intent::Complaint,
        Command::MyData(_) => Intent::MyData,
        Command::Menu | Command::Help | Command::Back | Command::Cancel | Command::Start => {
            Intent::Unknown
        }
    }
}

fn intent_of_entry(id: &str) -> Option<Intent> {
    Some(match id {
        "fees" => Intent::Fees,
        "leave" | "class_leave" => Intent::Leave,
        "attendance" | "mark_attendance" => Intent::Attendance,
        "consents" => Intent::Consent,
        "complaint" => Intent::Complaint,
        "my_complaints" => Intent::MyComplaints,
        "office" => Intent::Office,
        "language" => Intent::Language,
        _ => return None,
    })
}

/// Whether `phrase` occurs in `text` as whole words.
fn contains_words(text: &str, phrase: &str) -> bool {
    let t = format!(" {text} ");
    t.contains(&format!(" {phrase} "))
}

/// The baseline's intent for a message.
pub fn trigger_intent(lib: &Library, text: &str) -> Intent {
    if let Some(c) = command(text) {
        return intent_of_command(c);
    }
    let typed = input::normalise(text)
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>();
    let typed = typed.split_whitespace().collect::<Vec<_>>().join(" ");
    for menu in ["menu", "teacher_menu"] {
        let Some(flow) = lib.current(menu) else {
            continue;
        };
        for step in &flow.steps {
            if let StepKind::Ask(a) = &step.kind {
                for c in &a.choices {
                    let hit = c
                        .words
                        .iter()
                        .any(|w| contains_words(&typed, &input::normalise(w)));
                    if hit {
                        if let Some(i) = intent_of_entry(&c.id) {
                            return i;
                        }
                    }
                }
            }
        }
    }
    for w in command_words() {
        if contains_words(&typed, &input::normalise(w)) {
            if let Some(c) = command(w) {
                return intent_of_command(c);
            }
        }
    }
    Intent::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers() {
        let lib = Library::embedded().unwrap();
        assert_eq!(trigger_intent(&lib, "fees"), Intent::Fees);
        assert_eq!(trigger_intent(&lib, "meri fees kitni hai"), Intent::Fees);
        assert_eq!(trigger_intent(&lib, "shukriya"), Intent::Thanks);
        assert_eq!(trigger_intent(&lib, "who won the match"), Intent::Unknown);
    }
}
