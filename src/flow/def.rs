//! Flow files: one YAML file per flow under `flows/`, with readable step ids.
//!
//! ```yaml
//! id: fees
//! roles: [guardian]
//! steps:
//!   - id: children
//!     call: guardian_children
//!     out: { children: children, count: count }
//!   - id: show
//!     say: fees-summary
//! ```
//!
//! A step is one of `say`, `ask`, `call`, `branch`, `goto`, `set`, `for_each`, `flow`,
//! `handoff`, `end`; without `next` (or a `goto`) it continues with the step below it.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("{file}: {problem}")]
    Invalid { file: String, problem: String },
    #[error("{file}, step {step:?}: {problem}")]
    Step {
        file: String,
        step: String,
        problem: String,
    },
    #[error("{0}")]
    Io(String),
}

/// Who may run a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Not yet logged in (the login flow).
    Unknown,
    Guardian,
    Teacher,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    pub id: String,
    /// First 16 hex digits of the SHA-256 of the file: sessions keep the version they
    /// started with.
    pub hash: String,
    pub file: String,
    pub roles: Vec<Role>,
    /// Started by staff (a consent form, a decision): its messages may arrive after the
    /// 24-hour window, so it needs a window policy.
    pub triggered: bool,
    /// Reminders and similar: not sent to people who said "stop".
    pub essential: bool,
    /// A started-by-staff flow that cannot wait for the person's current request to
    /// end (a reminder on the eve of a deadline): it is delivered right after the
    /// answer to the question being asked. Others wait until the request ends or the
    /// person has been idle a while.
    pub urgent: bool,
    pub window_policy: Option<WindowPolicy>,
    pub steps: Vec<Step>,
}

impl Flow {
    pub fn step(&self, id: &str) -> Option<(usize, &Step)> {
        self.steps.iter().enumerate().find(|(_, s)| s.id == id)
    }
    pub fn first(&self) -> Option<&Step> {
        self.steps.first()
    }
    /// The step after `id` in file order (the implicit `next`).
    pub fn after(&self, id: &str) -> Option<&Step> {
        self.step(id).and_then(|(i, _)| self.steps.get(i + 1))
    }
}

/// What to do when a message must go out after the 24-hour window closed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct WindowPolicy {
    /// An approved template from `flows/templates.yaml`; without one, the message
    /// becomes a manual wa.me link for staff.
    #[serde(default)]
    pub template: Option<String>,
    /// Template variables: `$var` references or literal text, in order.
    #[serde(default)]
    pub vars: Vec<String>,
    /// `manual`: no template, staff get a wa.me link (must be said explicitly).
    #[serde(default)]
    pub manual: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub id: String,
    pub kind: StepKind,
    /// Explicit next step (else the one below).
    pub next: Option<String>,
    pub window_policy: Option<WindowPolicy>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    Say {
        text: String,
        lines: Option<Lines>,
    },
    Ask(Box<Ask>),
    Call {
        action: String,
        args: BTreeMap<String, String>,
        out: BTreeMap<String, String>,
        on_error: Option<String>,
    },
    Branch {
        on: String,
        cases: BTreeMap<String, String>,
        default: String,
    },
    Goto(String),
    Set(BTreeMap<String, String>),
    ForEach {
        list: String,
        item: String,
        flow: String,
    },
    /// Switch to another flow (a literal id or `$var`).
    Flow(String),
    Handoff(String),
    End(Option<String>),
}

/// A list rendered as lines under a message (fee lines, attendance days).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lines {
    pub each: String,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    Choice,
    Text,
    Number,
    Numbers,
    Date,
    DateRange,
    Photo,
    Document,
    AccessCode,
    YesNo,
}

/// How a question takes its answer from the sentence that opened the flow ("mera
/// beta kal school nahi aayega" opens leave with "kal" as its dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromSentence {
    /// The longest run of words that is a valid answer (never a bare number).
    Span,
    /// The whole sentence (a complaint's text).
    Whole,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Render {
    /// Buttons (≤3), a list (≤10) or numbered text, whichever the labels fit.
    #[default]
    Auto,
    /// Always numbered text (long labels).
    Numbered,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub text: String,
    pub input: InputKind,
    pub var: String,
    pub choices: Vec<ChoiceDef>,
    /// A list variable of `{id, label}` objects (children, classes).
    pub choices_from: Option<String>,
    /// For `numbers`: a list variable of `{label}` (or `{name}`) objects whose names may be typed
    /// instead of their numbers ("Ayesha absent"; a first name when only one has it).
    pub names_from: Option<String>,
    pub render: Render,
    pub optional: bool,
    /// For `yes_no`: an acknowledgement ("ok", 👍) is not taken as yes (consent must be
    /// meant); elsewhere it is.
    pub strict: bool,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub timeout: Option<Timeout>,
    pub retries: u32,
    pub reprompt: Option<String>,
    pub fallback: Option<String>,
    /// Answered from the opening sentence when it holds an answer (asked otherwise).
    pub from_sentence: Option<FromSentence>,
    /// For `choice`: any other text, photo or document is taken too: the answer is
    /// then `other` and the text (or `{media}`) goes into this variable.
    pub other: Option<String>,
    /// The question waits like the menu's: the person is not in the middle of anything
    /// there (a staff reply with "Reply" and "Menu" buttons). A staff-started flow
    /// replaces it instead of waiting behind it, and a menu word leaves it.
    pub resting: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceDef {
    /// The value stored in the variable (and, for menus, a flow id).
    pub id: String,
    /// Text key of the label.
    pub label: String,
    /// Extra words that pick this choice ("fees", "chutti", "فیس").
    #[serde(default)]
    pub words: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeout {
    pub after: Duration,
    pub goto: String,
}

// ---- YAML shape ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlow {
    id: String,
    #[serde(default)]
    roles: Vec<Role>,
    #[serde(default)]
    triggered: bool,
    #[serde(default = "yes")]
    essential: bool,
    #[serde(default)]
    urgent: bool,
    #[serde(default)]
    window_policy: Option<WindowPolicy>,
    steps: Vec<RawStep>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: String,
    say: Option<String>,
    ask: Option<String>,
    call: Option<String>,
    branch: Option<String>,
    goto: Option<String>,
    set: Option<BTreeMap<String, String>>,
    for_each: Option<String>,
    flow: Option<String>,
    handoff: Option<String>,
    end: Option<serde_norway::Value>,
    // modifiers
    next: Option<String>,
    lines: Option<Lines>,
    input: Option<InputKind>,
    var: Option<String>,
    #[serde(default)]
    choices: Vec<ChoiceDef>,
    choices_from: Option<String>,
    names_from: Option<String>,
    #[serde(default)]
    render: Render,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    strict: bool,
    min: Option<i64>,
    max: Option<i64>,
    timeout: Option<RawTimeout>,
    retries: Option<u32>,
    reprompt: Option<String>,
    fallback: Option<String>,
    from_sentence: Option<FromSentence>,
    other: Option<String>,
    #[serde(default)]
    resting: bool,
    #[serde(default)]
    args: BTreeMap<String, String>,
    #[serde(default)]
    out: BTreeMap<String, String>,
    on_error: Option<String>,
    #[serde(default)]
    cases: BTreeMap<String, String>,
    default: Option<String>,
    #[serde(rename = "as")]
    item: Option<String>,
    #[serde(rename = "do")]
    each_flow: Option<String>,
    window_policy: Option<WindowPolicy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeout {
    after: String,
    goto: String,
}

/// "90s", "30m", "2h", "3d".
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

/// Default re-prompts before an ask gives up (fallback or handoff).
pub const DEFAULT_RETRIES: u32 = 2;

pub fn parse_flow(file: &str, source: &str) -> Result<Flow, FlowError> {
    let raw: RawFlow = serde_norway::from_str(source).map_err(|e| FlowError::Invalid {
        file: file.to_string(),
        problem: e.to_string(),
    })?;
    let hash = hex::encode(&Sha256::digest(source.as_bytes())[..8]);
    let mut steps = Vec::with_capacity(raw.steps.len());
    for s in raw.steps {
        let err = |problem: String| FlowError::Step {
            file: file.to_string(),
            step: s.id.clone(),
            problem,
        };
        // A field the step's kind cannot do without.
        let needed = |field: &Option<String>, problem: &str| {
            field.clone().ok_or_else(|| err(problem.into()))
        };
        let kinds = [
            s.say.is_some(),
            s.ask.is_some(),
            s.call.is_some(),
            s.branch.is_some(),
            s.goto.is_some(),
            s.set.is_some(),
            s.for_each.is_some(),
            s.flow.is_some(),
            s.handoff.is_some(),
            s.end.is_some(),
        ]
        .iter()
        .filter(|k| **k)
        .count();
        if kinds != 1 {
            return Err(err(
                "a step needs exactly one of say, ask, call, branch, goto, set, for_each, flow, handoff, end"
                    .into(),
            ));
        }
        let kind = if let Some(text) = s.say.clone() {
            StepKind::Say {
                text,
                lines: s.lines.clone(),
            }
        } else if let Some(text) = s.ask.clone() {
            let input = s.input.ok_or_else(|| err("an ask needs `input`".into()))?;
            let var = needed(&s.var, "an ask needs `var`")?;
            let timeout = match &s.timeout {
                Some(t) => Some(Timeout {
                    after: parse_duration(&t.after).ok_or_else(|| {
                        err(format!("timeout {:?}: use 90s, 30m, 2h or 3d", t.after))
                    })?,
                    goto: t.goto.clone(),
                }),
                None => None,
            };
            StepKind::Ask(Box::new(Ask {
                text,
                input,
                var,
                choices: s.choices.clone(),
                choices_from: s.choices_from.clone(),
                names_from: s.names_from.clone(),
                render: s.render,
                optional: s.optional,
                strict: s.strict,
                min: s.min,
                max: s.max,
                timeout,
                retries: s.retries.unwrap_or(DEFAULT_RETRIES),
                reprompt: s.reprompt.clone(),
                fallback: s.fallback.clone(),
                from_sentence: s.from_sentence,
                other: s.other.clone(),
                resting: s.resting,
            }))
        } else if let Some(action) = s.call.clone() {
            StepKind::Call {
                action,
                args: s.args.clone(),
                out: s.out.clone(),
                on_error: s.on_error.clone(),
            }
        } else if let Some(on) = s.branch.clone() {
            StepKind::Branch {
                on,
                cases: s.cases.clone(),
                default: needed(&s.default, "a branch needs `default`")?,
            }
        } else if let Some(to) = s.goto.clone() {
            StepKind::Goto(to)
        } else if let Some(set) = s.set.clone() {
            StepKind::Set(set)
        } else if let Some(list) = s.for_each.clone() {
            StepKind::ForEach {
                list,
                item: needed(&s.item, "a for_each needs `as`")?,
                flow: needed(&s.each_flow, "a for_each needs `do` (a flow id)")?,
            }
        } else if let Some(to) = s.flow.clone() {
            StepKind::Flow(to)
        } else if let Some(text) = s.handoff.clone() {
            StepKind::Handoff(text)
        } else {
            let text = match &s.end {
                Some(serde_norway::Value::String(t)) => Some(t.clone()),
                Some(serde_norway::Value::Null) | Some(serde_norway::Value::Bool(true)) => None,
                _ => return Err(err("`end` takes a text key or `true`".into())),
            };
            StepKind::End(text)
        };
        if s.other.is_some() && s.input != Some(InputKind::Choice) {
            return Err(err("`other` belongs to a choice ask".into()));
        }
        if s.resting && s.ask.is_none() {
            return Err(err("`resting` belongs to an ask".into()));
        }
        let only_for_ask = s.input.is_some() && s.ask.is_none();
        if only_for_ask {
            return Err(err("`input` belongs to an ask".into()));
        }
        steps.push(Step {
            id: s.id,
            kind,
            next: s.next,
            window_policy: s.window_policy,
        });
    }
    if steps.is_empty() {
        return Err(FlowError::Invalid {
            file: file.to_string(),
            problem: "a flow needs at least one step".into(),
        });
    }
    Ok(Flow {
        id: raw.id,
        hash,
        file: file.to_string(),
        roles: raw.roles,
        triggered: raw.triggered,
        essential: raw.essential,
        urgent: raw.urgent,
        window_policy: raw.window_policy,
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_steps_and_rejects_ambiguous_ones() {
        let f = parse_flow(
            "t.yaml",
            "id: t\nroles: [guardian]\nsteps:\n  - id: a\n    say: hello\n  - id: b\n    ask: q\n    input: yes_no\n    var: ok\n    timeout: { after: 2h, goto: a }\n  - id: c\n    end: true\n",
        )
        .unwrap();
        assert_eq!(f.steps.len(), 3);
        assert_eq!(f.after("a").unwrap().id, "b");
        let StepKind::Ask(ask) = &f.steps[1].kind else {
            panic!()
        };
        assert_eq!(
            ask.timeout.as_ref().unwrap().after,
            Duration::from_secs(7200)
        );
        let e = parse_flow(
            "t.yaml",
            "id: t\nsteps:\n  - id: a\n    say: x\n    goto: b\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("step \"a\""), "{e}");
        assert!(parse_flow("t.yaml", "id: t\nsteps:\n  - id: a\n    sya: x\n").is_err());
    }
}
