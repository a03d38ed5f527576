//! `raabta flows check`: everything that can be wrong with the flows, found before a
//! parent meets it. The server runs the same check at start and refuses invalid flows.

use super::def::{Flow, InputKind, Render, StepKind, WindowPolicy};
use super::text::{strip_isolation, LOCALES};
use super::Library;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

/// A named Rust action: its inputs and outputs (implemented in `worker::actions`).
#[derive(Debug, Clone, Copy)]
pub struct ActionSpec {
    pub name: &'static str,
    pub inputs: &'static [&'static str],
    pub outputs: &'static [&'static str],
}

pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "redeem_code",
        inputs: &["code"],
        outputs: &["result", "role", "until"],
    },
    ActionSpec {
        name: "login_status",
        inputs: &[],
        outputs: &["result", "until"],
    },
    ActionSpec {
        name: "unlink_identity",
        inputs: &["link"],
        outputs: &["result"],
    },
    ActionSpec {
        name: "check_leave_dates",
        inputs: &["student", "dates"],
        outputs: &["result", "days", "holidays"],
    },
    ActionSpec {
        name: "fee_total",
        inputs: &[],
        outputs: &["owing", "total", "payment"],
    },
    ActionSpec {
        name: "cancel_request",
        inputs: &[],
        outputs: &[],
    },
    ActionSpec {
        name: "set_language",
        inputs: &["locale"],
        outputs: &[],
    },
    ActionSpec {
        name: "guardian_children",
        inputs: &[],
        outputs: &["children", "count", "first"],
    },
    ActionSpec {
        name: "fee_statement",
        inputs: &["student"],
        outputs: &[
            "child",
            "lines",
            "line_count",
            "outstanding",
            "payments",
            "payment_count",
        ],
    },
    ActionSpec {
        name: "attendance_summary",
        inputs: &["student"],
        outputs: &[
            "child",
            "present",
            "absent",
            "late",
            "excused",
            "days",
            "absent_days",
            "from",
        ],
    },
    ActionSpec {
        name: "create_leave_request",
        inputs: &["student", "kind", "dates", "reason", "attachment"],
        outputs: &["reference"],
    },
    ActionSpec {
        name: "pending_consents",
        inputs: &[],
        outputs: &["requests", "count", "answered", "answered_count"],
    },
    ActionSpec {
        name: "consent_details",
        inputs: &["request"],
        outputs: &["title", "description", "deadline", "child", "state"],
    },
    ActionSpec {
        name: "record_consent",
        inputs: &["request", "approved", "note", "expected"],
        outputs: &["result"],
    },
    ActionSpec {
        name: "leave_decision",
        inputs: &["request"],
        outputs: &["child", "decision", "note", "from", "to"],
    },
    ActionSpec {
        name: "teacher_classes",
        inputs: &[],
        outputs: &["classes", "count", "first"],
    },
    ActionSpec {
        name: "class_students",
        inputs: &["class"],
        outputs: &[
            "students",
            "count",
            "class_name",
            "marked",
            "was_present",
            "was_absent",
        ],
    },
    ActionSpec {
        name: "record_class_attendance",
        inputs: &["class", "absent", "students"],
        outputs: &["present", "absent", "on_leave", "late", "absent_names"],
    },
    ActionSpec {
        name: "class_leave_requests",
        inputs: &[],
        outputs: &["requests", "count", "may_decide"],
    },
    ActionSpec {
        name: "decide_class_leave",
        inputs: &["request", "decision", "note"],
        outputs: &["result"],
    },
    ActionSpec {
        name: "log_complaint",
        inputs: &["text", "category", "attachments"],
        outputs: &["reference"],
    },
    ActionSpec {
        name: "complaint_categories",
        inputs: &[],
        outputs: &["categories", "count"],
    },
    ActionSpec {
        name: "list_append",
        inputs: &["list", "item", "max"],
        outputs: &["list", "count", "result"],
    },
    ActionSpec {
        name: "my_complaints",
        inputs: &[],
        outputs: &["complaints", "count"],
    },
    ActionSpec {
        name: "complaint_details",
        inputs: &["complaint"],
        outputs: &["reference", "status", "status_label", "reply", "closed"],
    },
    ActionSpec {
        name: "complaint_news",
        inputs: &["complaint", "message"],
        outputs: &["reference", "status", "status_label", "reply", "reason"],
    },
    ActionSpec {
        name: "add_to_complaint",
        inputs: &["complaint", "message"],
        outputs: &["result", "reference"],
    },
    ActionSpec {
        name: "save_csat",
        inputs: &["complaint", "score", "comment"],
        outputs: &["result", "reference"],
    },
    ActionSpec {
        name: "reopen_complaint",
        inputs: &["complaint"],
        outputs: &["result", "reference"],
    },
    ActionSpec {
        name: "lead_kind",
        inputs: &[],
        outputs: &["kind", "web"],
    },
    ActionSpec {
        name: "check_phone",
        inputs: &["phone"],
        outputs: &["result", "phone"],
    },
    ActionSpec {
        name: "save_lead",
        inputs: &["kind", "name", "detail", "language", "question", "phone"],
        outputs: &["reference"],
    },
    ActionSpec {
        name: "privacy_request",
        inputs: &["kind"],
        outputs: &["result", "due", "reference"],
    },
    ActionSpec {
        name: "confirm_lead_phone",
        inputs: &["lead", "answer"],
        outputs: &["result"],
    },
    ActionSpec {
        name: "faq_answer",
        inputs: &["question"],
        outputs: &["found", "answer"],
    },
    ActionSpec {
        name: "face_photo",
        inputs: &["file", "session"],
        outputs: &["state", "classes", "class_name"],
    },
    ActionSpec {
        name: "face_submit",
        inputs: &["file", "more", "class"],
        outputs: &["class_name", "photos"],
    },
    ActionSpec {
        name: "face_proposal",
        inputs: &["session"],
        outputs: &[
            "state",
            "students",
            "count",
            "class_name",
            "present_count",
            "faces",
            "unmatched",
            "by_hand",
        ],
    },
    ActionSpec {
        name: "face_toggle",
        inputs: &["students", "toggle"],
        outputs: &["students", "present_count", "by_hand"],
    },
    ActionSpec {
        name: "face_confirm",
        inputs: &["session", "students"],
        outputs: &["saved", "rest", "rest_count", "rest_names", "class_name"],
    },
    ActionSpec {
        name: "face_rest",
        inputs: &["session", "rest", "mark"],
        outputs: &["count"],
    },
    ActionSpec {
        name: "face_drop_photos",
        inputs: &["file", "more"],
        outputs: &[],
    },
    ActionSpec {
        name: "face_drop",
        inputs: &["session"],
        outputs: &[],
    },
];

/// Actions that only read: "back" may return past them (any other may have saved
/// something, which "back" never undoes).
pub const READ_ONLY_ACTIONS: &[&str] = &[
    "login_status",
    "guardian_children",
    "fee_statement",
    "attendance_summary",
    "pending_consents",
    "consent_details",
    "leave_decision",
    "teacher_classes",
    "class_students",
    "class_leave_requests",
    "check_leave_dates",
    "fee_total",
    "complaint_categories",
    "list_append",
    "my_complaints",
    "complaint_details",
    "complaint_news",
    "face_proposal",
    "face_toggle",
    "faq_answer",
    "lead_kind",
    "check_phone",
];

/// Texts the engine itself uses (commands, errors, re-prompts).
pub const ENGINE_TEXTS: &[&str] = &[
    "error-generic",
    "error-handoff",
    "cancelled",
    "privacy-stranger",
    "privacy-staff",
    "help-unknown",
    "help-guardian",
    "help-teacher",
    "language-set",
    "stopped",
    "started",
    "handoff-requested",
    "not-allowed",
    "loop-handoff",
    "choice-expired",
    "yes",
    "no",
    "invalid-choice",
    "invalid-text",
    "text-too-short",
    "text-too-long",
    "invalid-number",
    "number-out-of-range",
    "invalid-numbers",
    "invalid-date",
    "date-in-past",
    "date-range-inverted",
    "date-range-too-long",
    "need-photo",
    "need-document",
    "invalid-code-format",
    "thanks-reply",
    "thanks-waiting",
    "greeting-in-request",
    "office-hours",
    "help-handoff",
    "handoff-ack",
    "handoff-withdrawn",
    "handoff-left",
    "handoff-released",
    "handoff-draft-kept",
    "draft-continue",
    "went-back",
    "nothing-back",
    "confirmation-lapsed",
    "interrupt-note",
    "answer-before-question",
    "retry-stuck",
    "yes-no-meant",
    "switch-offer",
    "escape-skip",
    "escape-menu",
    "escape-office",
    "example-choice",
    "example-yes-no",
    "example-text",
    "example-number",
    "example-numbers",
    "example-date",
    "example-date-range",
    "example-photo",
    "example-document",
    "example-code",
];

/// Flows the engine starts by name.
pub const ENGINE_FLOWS: &[&str] = &[
    "login",
    "menu",
    "teacher_menu",
    "language",
    "cancel",
    "media_in",
];

/// WhatsApp's limits: reply buttons (≤3, title ≤20), list rows (≤10, title ≤24).
pub const MAX_BUTTONS: usize = 3;
pub const MAX_BUTTON_TITLE: usize = 20;
pub const MAX_LIST_ROWS: usize = 10;
pub const MAX_LIST_TITLE: usize = 24;

pub const WINDOW: Duration = Duration::from_secs(24 * 3600);

/// One problem, naming file, step and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub step: Option<String>,
    pub problem: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.step {
            Some(s) => write!(f, "{}, step {s:?}: {}", self.file, self.problem),
            None => write!(f, "{}: {}", self.file, self.problem),
        }
    }
}

pub fn check(lib: &Library) -> Vec<Problem> {
    let mut out = Vec::new();
    let flows: BTreeMap<&str, &Flow> = lib.flows().map(|f| (f.id.as_str(), f)).collect();
    for id in ENGINE_FLOWS {
        if !flows.contains_key(id) {
            out.push(Problem {
                file: format!("{id}.yaml"),
                step: None,
                problem: "this flow is required by the engine but missing".into(),
            });
        }
    }
    for key in ENGINE_TEXTS {
        text_exists(lib, "flows/locales", None, key, &mut out);
    }
    for flow in flows.values() {
        check_flow(lib, &flows, flow, &mut out);
    }
    out
}

fn text_exists(lib: &Library, file: &str, step: Option<&str>, key: &str, out: &mut Vec<Problem>) {
    for locale in LOCALES {
        if !lib.texts.has(locale, key) {
            out.push(Problem {
                file: file.to_string(),
                step: step.map(str::to_string),
                problem: format!("text {key:?} is missing in {}.ftl", locale.as_str()),
            });
        }
    }
}

fn edges(flow: &Flow, i: usize) -> Vec<String> {
    let step = &flow.steps[i];
    let implicit = || {
        step.next
            .clone()
            .or_else(|| flow.steps.get(i + 1).map(|s| s.id.clone()))
    };
    let mut e = Vec::new();
    match &step.kind {
        StepKind::Goto(t) => e.push(t.clone()),
        StepKind::Branch { cases, default, .. } => {
            e.extend(cases.values().cloned());
            e.push(default.clone());
        }
        StepKind::Ask(a) => {
            e.extend(implicit());
            if let Some(t) = &a.timeout {
                e.push(t.goto.clone());
            }
            if let Some(f) = &a.fallback {
                e.push(f.clone());
            }
        }
        StepKind::Call { on_error, .. } => {
            e.extend(implicit());
            e.extend(on_error.clone());
        }
        StepKind::Flow(_) | StepKind::Handoff(_) | StepKind::End(_) => {}
        _ => e.extend(implicit()),
    }
    e
}

fn check_flow(lib: &Library, flows: &BTreeMap<&str, &Flow>, flow: &Flow, out: &mut Vec<Problem>) {
    let file = flow.file.clone();
    let mut problem = |step: Option<&str>, p: String| {
        out.push(Problem {
            file: file.clone(),
            step: step.map(str::to_string),
            problem: p,
        })
    };
    let ids: HashMap<&str, usize> = flow
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    if ids.len() != flow.steps.len() {
        problem(None, "two steps share an id".into());
    }
    let mut texts: Vec<(String, String)> = Vec::new();
    for (i, step) in flow.steps.iter().enumerate() {
        let sid = step.id.as_str();
        for target in edges(flow, i) {
            if !ids.contains_key(target.as_str()) {
                problem(
                    Some(sid),
                    format!("goes to step {target:?}, which does not exist"),
                );
            }
        }
        if let Some(p) = &step.window_policy {
            check_policy(lib, p, sid, &mut problem);
        }
        match &step.kind {
            StepKind::Say { text, lines } => {
                texts.push((sid.into(), text.clone()));
                if let Some(l) = lines {
                    texts.push((sid.into(), l.text.clone()));
                }
            }
            StepKind::Ask(a) => {
                texts.push((sid.into(), a.text.clone()));
                texts.extend(a.reprompt.iter().map(|r| (sid.to_string(), r.clone())));
                for c in &a.choices {
                    texts.push((sid.into(), c.label.clone()));
                }
                if a.input == InputKind::Choice && a.choices.is_empty() && a.choices_from.is_none()
                {
                    problem(
                        Some(sid),
                        "a choice question needs `choices` or `choices_from`".into(),
                    );
                }
                if a.input != InputKind::Choice && a.choices_from.is_some() {
                    problem(Some(sid), "`choices_from` needs `input: choice`".into());
                }
                let labels: Vec<String> = if a.input == InputKind::YesNo && a.choices.is_empty() {
                    vec!["yes".into(), "no".into()]
                } else {
                    a.choices.iter().map(|c| c.label.clone()).collect()
                };
                if a.render == Render::Auto && !labels.is_empty() {
                    for locale in LOCALES {
                        let rendered: Vec<String> = labels
                            .iter()
                            .filter_map(|k| {
                                lib.texts
                                    .render(locale, k, &serde_json::Map::new())
                                    .ok()
                                    .map(|t| strip_isolation(&t))
                            })
                            .collect();
                        let longest = rendered
                            .iter()
                            .map(|t| t.chars().count())
                            .max()
                            .unwrap_or(0);
                        let fits_buttons =
                            rendered.len() <= MAX_BUTTONS && longest <= MAX_BUTTON_TITLE;
                        let fits_list =
                            rendered.len() <= MAX_LIST_ROWS && longest <= MAX_LIST_TITLE;
                        if !fits_buttons && !fits_list {
                            problem(Some(sid), format!(
                                "choice labels do not fit WhatsApp in {} ({} choices, longest {longest} characters; buttons allow {MAX_BUTTONS}×{MAX_BUTTON_TITLE}, lists {MAX_LIST_ROWS}×{MAX_LIST_TITLE}): shorten them or say `render: numbered`",
                                locale.as_str(), rendered.len()
                            ));
                        }
                    }
                }
            }
            StepKind::Call {
                action,
                args,
                out: outs,
                ..
            } => match ACTIONS.iter().find(|a| a.name == action) {
                None => problem(Some(sid), format!("unknown action {action:?}")),
                Some(spec) => {
                    let given: BTreeSet<&str> = args.keys().map(String::as_str).collect();
                    let wanted: BTreeSet<&str> = spec.inputs.iter().copied().collect();
                    if given != wanted {
                        problem(
                            Some(sid),
                            format!(
                                "action {action} takes inputs {:?}, the step gives {:?}",
                                spec.inputs, given
                            ),
                        );
                    }
                    for o in outs.keys() {
                        if !spec.outputs.contains(&o.as_str()) {
                            problem(
                                Some(sid),
                                format!(
                                    "action {action} has no output {o:?} (it has {:?})",
                                    spec.outputs
                                ),
                            );
                        }
                    }
                }
            },
            StepKind::ForEach { flow: f, .. } if !flows.contains_key(f.as_str()) => {
                problem(
                    Some(sid),
                    format!("for_each runs flow {f:?}, which does not exist"),
                );
            }
            StepKind::Flow(target) => match target.strip_prefix('$') {
                None => {
                    if !flows.contains_key(target.as_str()) {
                        problem(
                            Some(sid),
                            format!("switches to flow {target:?}, which does not exist"),
                        );
                    }
                }
                Some(var) => {
                    // Menus: every choice of the question that sets the variable is a flow.
                    for s in &flow.steps {
                        if let StepKind::Ask(a) = &s.kind {
                            if a.var == var {
                                for c in &a.choices {
                                    if !flows.contains_key(c.id.as_str()) {
                                        problem(Some(&s.id), format!(
                                            "choice {:?} is used as a flow, but no such flow exists",
                                            c.id
                                        ));
                                    }
                                }
                            }
                        }
                    }
                }
            },
            StepKind::Handoff(t) => texts.push((sid.into(), t.clone())),
            StepKind::End(Some(t)) => texts.push((sid.into(), t.clone())),
            _ => {}
        }
    }
    if let Some(p) = &flow.window_policy {
        check_policy(lib, p, "(flow)", &mut problem);
    }
    for (sid, key) in texts {
        for locale in LOCALES {
            if !lib.texts.has(locale, &key) {
                problem(
                    Some(&sid),
                    format!("text {key:?} is missing in {}.ftl", locale.as_str()),
                );
            }
        }
    }
    // Reachability.
    let mut seen = BTreeSet::new();
    let mut stack = vec![0usize];
    while let Some(i) = stack.pop() {
        if !seen.insert(i) {
            continue;
        }
        for t in edges(flow, i) {
            if let Some(j) = ids.get(t.as_str()) {
                stack.push(*j);
            }
        }
    }
    for (i, s) in flow.steps.iter().enumerate() {
        if !seen.contains(&i) {
            problem(Some(&s.id), "this step is never reached".into());
        }
    }
    // Loops must wait for the person somewhere (an ask), or they would spin.
    let no_ask: Vec<usize> = (0..flow.steps.len())
        .filter(|i| !matches!(flow.steps[*i].kind, StepKind::Ask(_)))
        .collect();
    if let Some(step) = cycle_without(flow, &ids, &no_ask) {
        problem(
            Some(&step),
            "a loop with no question in it would never end: put an ask in the loop".into(),
        );
    }
    // Messages after a long wait need a window policy.
    let mut starts: Vec<(String, &str)> = Vec::new();
    if flow.triggered {
        starts.push((flow.steps[0].id.clone(), "the flow is started by staff"));
    }
    for s in &flow.steps {
        if let StepKind::Ask(a) = &s.kind {
            if let Some(t) = &a.timeout {
                if t.after >= WINDOW {
                    starts.push((t.goto.clone(), "after a wait of 24 hours or more"));
                }
            }
        }
    }
    for (start, why) in starts {
        for sid in sends_until_ask(flow, &ids, &start) {
            let step = &flow.steps[ids[sid.as_str()]];
            if step.window_policy.is_none() && flow.window_policy.is_none() {
                problem(Some(&sid), format!(
                    "sends free-form text {why} without a window_policy (a template or `manual: true`)"
                ));
            }
        }
    }
}

fn check_policy(
    lib: &Library,
    p: &WindowPolicy,
    sid: &str,
    problem: &mut impl FnMut(Option<&str>, String),
) {
    match &p.template {
        Some(t) => match lib.templates.templates.get(t) {
            None => problem(
                Some(sid),
                format!("window_policy names template {t:?}, which is not in templates.yaml"),
            ),
            Some(tpl) => {
                if tpl.variables.len() != p.vars.len() {
                    problem(
                        Some(sid),
                        format!(
                            "template {t:?} takes {} variables, the window_policy gives {}",
                            tpl.variables.len(),
                            p.vars.len()
                        ),
                    );
                }
            }
        },
        None if !p.manual => problem(
            Some(sid),
            "a window_policy needs a template or `manual: true`".into(),
        ),
        None => {}
    }
}

/// Sending steps reachable from `start` before (and including) the first ask.
fn sends_until_ask(flow: &Flow, ids: &HashMap<&str, usize>, start: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut stack: Vec<usize> = ids.get(start).copied().into_iter().collect();
    while let Some(i) = stack.pop() {
        if !seen.insert(i) {
            continue;
        }
        let s = &flow.steps[i];
        let sends = matches!(
            s.kind,
            StepKind::Say { .. } | StepKind::Ask(_) | StepKind::Handoff(_) | StepKind::End(Some(_))
        );
        if sends {
            out.push(s.id.clone());
        }
        if matches!(s.kind, StepKind::Ask(_)) {
            continue;
        }
        for t in edges(flow, i) {
            if let Some(j) = ids.get(t.as_str()) {
                stack.push(*j);
            }
        }
    }
    out
}

/// A step on a cycle made only of `nodes`, if any.
fn cycle_without(flow: &Flow, ids: &HashMap<&str, usize>, nodes: &[usize]) -> Option<String> {
    let allowed: BTreeSet<usize> = nodes.iter().copied().collect();
    // 0 = new, 1 = on stack, 2 = done
    let mut state = vec![0u8; flow.steps.len()];
    fn dfs(
        i: usize,
        flow: &Flow,
        ids: &HashMap<&str, usize>,
        allowed: &BTreeSet<usize>,
        state: &mut [u8],
    ) -> Option<usize> {
        state[i] = 1;
        for t in edges(flow, i) {
            let Some(&j) = ids.get(t.as_str()) else {
                continue;
            };
            if !allowed.contains(&j) {
                continue;
            }
            if state[j] == 1 {
                return Some(j);
            }
            if state[j] == 0 {
                if let Some(c) = dfs(j, flow, ids, allowed, state) {
                    return Some(c);
                }
            }
        }
        state[i] = 2;
        None
    }
    for &i in nodes {
        if state[i] == 0 {
            if let Some(c) = dfs(i, flow, ids, &allowed, &mut state) {
                return Some(flow.steps[c].id.clone());
            }
        }
    }
    None
}

#[cfg(test)]
mod shipped {
    /// The flows in `flows/` pass every check (so `cargo test` in CI refuses a bad flow).
    #[test]
    fn shipped_flows_are_valid() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("flows");
        let lib = crate::flow::Library::load(&dir).expect("flows load");
        let problems: Vec<String> = super::check(&lib).iter().map(|p| p.to_string()).collect();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

#[cfg(test)]
mod tests {
    /// English command words (what a person types to steer the bot) found in a
    /// text of another locale: placeables and variant keys are not text.
    fn english_command_words(
        text: &str,
        words: &std::collections::BTreeSet<String>,
    ) -> Vec<String> {
        let mut visible = String::new();
        let (mut brace, mut bracket) = (0usize, false);
        for c in text.chars() {
            match c {
                '{' => brace += 1,
                '}' => brace = brace.saturating_sub(1),
                '[' if brace == 0 => bracket = true,
                ']' if bracket => bracket = false,
                _ if brace == 0 && !bracket => visible.push(c),
                _ => {}
            }
        }
        visible
            .split(|c: char| !c.is_ascii_alphabetic())
            .map(str::to_ascii_lowercase)
            .filter(|w| words.contains(w))
            .collect()
    }

    /// The parts of a text in quotes ("…" or «…»).
    fn quoted(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut current: Option<String> = None;
        for c in text.chars() {
            match (c, current.as_mut()) {
                ('"' | '»', Some(_)) => out.extend(current.take()),
                ('"' | '«', None) => current = Some(String::new()),
                (c, Some(q)) => q.push(c),
                _ => {}
            }
        }
        out
    }

    /// English command words that have a Roman Urdu word (shown as that instead).
    const ENGLISH_ONLY: &[&str] = &[
        "office",
        "skip",
        "back",
        "cancel",
        "help",
        "stop",
        "start",
        "language",
        "leave",
        "attendance",
        "yes",
        "consent",
        "complaint",
        "agent",
        "human",
        "unsubscribe",
    ];

    #[test]
    fn no_english_command_word_in_urdu_arabic_or_roman_urdu_texts() {
        // Every ASCII word that steers the bot: global commands, skip words and the
        // words of every choice in the shipped flows.
        let lib = crate::flow::Library::embedded().unwrap();
        let mut words: std::collections::BTreeSet<String> = crate::flow::engine::command_words()
            .chain(crate::flow::input::SKIP_WORDS.iter().copied())
            .flat_map(|w| w.split(' '))
            .filter(|w| w.len() > 2 && w.chars().all(|c| c.is_ascii_alphabetic()))
            .map(str::to_string)
            .collect();
        for flow in lib.flows() {
            for step in &flow.steps {
                if let crate::flow::def::StepKind::Ask(a) = &step.kind {
                    for c in &a.choices {
                        words.extend(
                            c.words
                                .iter()
                                .chain(std::iter::once(&c.id))
                                .filter(|w| {
                                    w.len() > 2 && w.chars().all(|c| c.is_ascii_alphabetic())
                                })
                                .map(|w| w.to_ascii_lowercase()),
                        );
                    }
                }
            }
        }
        assert!(words.contains("menu") && words.contains("skip") && words.contains("office"));
        let mut found = Vec::new();
        for (name, source) in crate::flow::EMBEDDED {
            let Some(locale) = name
                .strip_prefix("locales/")
                .and_then(|n| n.strip_suffix(".ftl"))
            else {
                continue;
            };
            if locale == "en" {
                continue;
            }
            // Roman Urdu is written in Latin letters: its own command words ("haan",
            // "wapas", "menu", "fees" — Urdu's loanwords) are its words; the English
            // ones that have an Urdu word are not.
            let forbidden: std::collections::BTreeSet<String> = if locale == "ur-Latn" {
                ENGLISH_ONLY.iter().map(|w| w.to_string()).collect()
            } else {
                words.clone()
            };
            // A language's own name ("English", "Roman Urdu") is no command word.
            let endonym =
                |l: &&str| l.starts_with("language-en =") || l.starts_with("language-ur-latn =");
            for line in source
                .lines()
                .filter(|l| !l.starts_with('#') && !endonym(l))
            {
                let (key, text) = line.split_once(" = ").unwrap_or(("", line));
                // In Roman Urdu prose "school office" is Urdu; what the person is told to
                // type (in quotes) and the buttons are checked.
                let label = key == "yes"
                    || key == "no"
                    || key.starts_with("escape-")
                    || key.starts_with("menu-");
                let text = if locale == "ur-Latn" && !label {
                    quoted(text).join(" ")
                } else {
                    text.to_string()
                };
                for w in english_command_words(&text, &forbidden) {
                    found.push(format!("{locale}: {w:?} in {line}"));
                }
            }
        }
        assert!(
            found.is_empty(),
            "English command words shown to Urdu, Arabic or Roman Urdu readers:\n{}",
            found.join("\n")
        );
    }

    use super::*;
    use crate::flow::text::Texts;
    use crate::templates::Templates;

    fn lib(flows: &[(&str, &str)], ftl: &str) -> Library {
        let texts = Texts::from_sources(vec![
            ("en".into(), ftl.into()),
            ("ur".into(), ftl.into()),
            ("ar".into(), ftl.into()),
            ("ur-Latn".into(), ftl.into()),
        ])
        .unwrap();
        Library::from_sources(
            flows
                .iter()
                .map(|(f, s)| (f.to_string(), s.to_string()))
                .collect(),
            texts,
            Templates::embedded().unwrap(),
        )
        .unwrap()
    }

    fn problems(flow: &str, ftl: &str) -> Vec<String> {
        check(&lib(&[("t.yaml", flow)], ftl))
            .into_iter()
            .filter(|p| p.file == "t.yaml")
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn finds_broken_references_missing_texts_and_spinning_loops() {
        let p = problems(
            "id: t\nsteps:\n  - id: a\n    say: hello\n    next: nowhere\n  - id: b\n    call: no_such_action\n  - id: c\n    goto: b\n",
            "hello = hi\n",
        );
        let all = p.join("\n");
        assert!(
            all.contains("step \"a\": goes to step \"nowhere\""),
            "{all}"
        );
        assert!(all.contains("unknown action \"no_such_action\""), "{all}");
        assert!(all.contains("never reached"), "{all}");
        assert!(all.contains("loop with no question"), "{all}");
        let p = problems(
            "id: t\nsteps:\n  - id: a\n    say: missing-key\n",
            "x = y\n",
        );
        assert!(
            p.iter()
                .any(|p| p.contains("\"missing-key\" is missing in ur.ftl")),
            "{p:?}"
        );
    }

    #[test]
    fn long_labels_and_late_free_text_are_refused() {
        let flow = "id: t\nsteps:\n  - id: a\n    ask: q\n    input: choice\n    var: v\n    choices:\n      - { id: x, label: long }\n    timeout: { after: 2d, goto: late }\n  - id: b\n    end: true\n  - id: late\n    say: q\n";
        let ftl = "q = Question\nlong = A label that is much too long for any row\n";
        let all = problems(flow, ftl).join("\n");
        assert!(all.contains("do not fit WhatsApp"), "{all}");
        assert!(
            all.contains("step \"late\": sends free-form text after a wait"),
            "{all}"
        );
        let fixed = flow
            .replace("label: long }", "label: long }\n    render: numbered")
            .replace(
                "    say: q\n",
                "    say: q\n    window_policy: { manual: true }\n",
            );
        assert_eq!(problems(&fixed, ftl), Vec::<String>::new());
    }
}
