//! Sending to the providers. Each call returns a [`SendOutcome`] that says what the
//! outbox should do next; errors are classified from the providers' documented codes.
//! Request URLs (Telegram's contains the bot token) never appear in errors or logs.

use super::Credentials;
use crate::domain::message::{Choice, OutboundMessage};
use serde_json::{json, Value};
use std::time::Duration;

/// WhatsApp's limits for interactive messages.
pub const MAX_BUTTONS: usize = 3;
pub const MAX_BUTTON_TITLE: usize = 20;
pub const MAX_LIST_ROWS: usize = 10;
pub const MAX_LIST_TITLE: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Accepted {
        provider_message_id: String,
    },
    /// Network error, 5xx, 429 or a throttle code: try again later.
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// The recipient opted out or blocked us: never send to them again.
    OptedOut {
        reason: String,
    },
    /// Outside the 24-hour window: needs a template or a manual link.
    WindowClosed {
        reason: String,
    },
    /// Anything else: retrying will not help.
    Failed {
        reason: String,
    },
}

fn retry(reason: impl Into<String>) -> SendOutcome {
    SendOutcome::Retry {
        reason: reason.into(),
        after: None,
    }
}

/// The provider said yes but its answer carried no message id: it was sent, so it must
/// not be sent again; delivery reports simply cannot be matched to it.
fn accepted_without_id() -> SendOutcome {
    tracing::warn!("provider accepted a message without returning its id");
    SendOutcome::Accepted {
        provider_message_id: format!("unknown:{}", uuid::Uuid::new_v4()),
    }
}

fn failed(reason: impl Into<String>) -> SendOutcome {
    SendOutcome::Failed {
        reason: reason.into(),
    }
}

/// A callback answer (a tapped inline button) sent to a WhatsApp provider.
fn callback_answer_off_telegram() -> SendOutcome {
    failed("callback answers exist only on Telegram")
}

fn network(e: reqwest::Error) -> SendOutcome {
    retry(format!("network: {}", e.without_url()))
}

/// Sends one message to `recipient` (WhatsApp digits or id, or Telegram chat id).
pub async fn send(
    client: &reqwest::Client,
    api_base: &str,
    credentials: &Credentials,
    recipient: &str,
    message: &OutboundMessage,
    status_callback: &str,
) -> SendOutcome {
    match credentials {
        Credentials::Twilio {
            account_sid,
            auth_token,
            from,
        } => {
            twilio(
                client,
                api_base,
                account_sid,
                auth_token,
                from,
                recipient,
                message,
                status_callback,
            )
            .await
        }
        Credentials::Meta {
            phone_number_id,
            access_token,
            ..
        } => match meta_body(recipient, message) {
            Some(body) => meta_post(client, api_base, phone_number_id, access_token, &body).await,
            None => callback_answer_off_telegram(),
        },
        Credentials::Telegram { bot_token, .. } => {
            telegram(client, api_base, bot_token, recipient, message).await
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn twilio(
    client: &reqwest::Client,
    api_base: &str,
    sid: &str,
    token: &str,
    from: &str,
    recipient: &str,
    message: &OutboundMessage,
    status_callback: &str,
) -> SendOutcome {
    if matches!(message, OutboundMessage::CallbackAnswer { .. }) {
        return callback_answer_off_telegram();
    }
    let to = format!("whatsapp:+{}", recipient.trim_start_matches('+'));
    let body = message.as_numbered_text();
    let form = [
        ("To", to.as_str()),
        ("From", from),
        ("Body", body.as_str()),
        ("StatusCallback", status_callback),
    ];
    twilio_post(client, api_base, sid, token, &form).await
}

async fn twilio_post(
    client: &reqwest::Client,
    api_base: &str,
    sid: &str,
    token: &str,
    form: &[(&str, &str)],
) -> SendOutcome {
    let req = client
        .post(format!(
            "{api_base}/2010-04-01/Accounts/{sid}/Messages.json"
        ))
        .basic_auth(sid, Some(token))
        .form(form);
    exchange(req, &TWILIO).await
}

/// Where a provider's JSON answer carries the message id, and what its error codes mean.
struct Answers {
    who: &'static str,
    /// JSON pointer to the message id of an accepted message.
    id_at: &'static str,
    /// JSON pointer to the error code of a refusal (0 when missing).
    code_at: &'static str,
    opt_out: &'static [i64],
    window: &'static [i64],
    throttle: &'static [i64],
}

const TWILIO: Answers = Answers {
    who: "twilio",
    id_at: "/sid",
    code_at: "/code",
    opt_out: &[21610],
    window: &[63016],
    throttle: &[20429, 14107],
};

const META: Answers = Answers {
    who: "meta",
    id_at: "/messages/0/id",
    code_at: "/error/code",
    opt_out: &[131050],
    window: &[131047],
    throttle: &[4, 80007, 130429, 131048, 131056],
};

/// Sends a request and reads the provider's answer: the message id, or what a
/// refusal means.
async fn exchange(req: reqwest::RequestBuilder, answers: &Answers) -> SendOutcome {
    let res = match req.send().await {
        Ok(r) => r,
        Err(e) => return network(e),
    };
    let status = res.status();
    let v: Value = res.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let code = v
            .pointer(answers.code_at)
            .and_then(Value::as_i64)
            .unwrap_or(0);
        return classify(
            status.as_u16(),
            code,
            answers.opt_out,
            answers.window,
            answers.throttle,
            answers.who,
        );
    }
    match v.pointer(answers.id_at).and_then(Value::as_str) {
        Some(id) => SendOutcome::Accepted {
            provider_message_id: id.to_string(),
        },
        None => accepted_without_id(),
    }
}

/// Maps an HTTP status and provider code to an outcome.
fn classify(
    http: u16,
    code: i64,
    opt_out: &[i64],
    window: &[i64],
    throttle: &[i64],
    who: &str,
) -> SendOutcome {
    let reason = format!("{who} error {code} (HTTP {http})");
    if opt_out.contains(&code) {
        SendOutcome::OptedOut { reason }
    } else if window.contains(&code) {
        SendOutcome::WindowClosed { reason }
    } else if http == 429 || http >= 500 || throttle.contains(&code) {
        retry(reason)
    } else {
        SendOutcome::Failed { reason }
    }
}

fn fits(choices: &[Choice], max: usize, title: usize) -> bool {
    !choices.is_empty()
        && choices.len() <= max
        && choices.iter().all(|c| c.title.chars().count() <= title)
}

/// The Graph API body for a message: reply buttons (≤3, titles ≤20), a list (≤10 rows,
/// titles ≤24), or numbered text when the choices do not fit.
pub fn meta_body(recipient: &str, message: &OutboundMessage) -> Option<Value> {
    let OutboundMessage::Text { text, choices, .. } = message else {
        return None;
    };
    let mut body =
        json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": recipient });
    if fits(choices, MAX_BUTTONS, MAX_BUTTON_TITLE) {
        let buttons: Vec<Value> = choices
            .iter()
            .map(|c| json!({ "type": "reply", "reply": { "id": c.id, "title": c.title } }))
            .collect();
        body["type"] = json!("interactive");
        body["interactive"] =
            json!({ "type": "button", "body": { "text": text }, "action": { "buttons": buttons } });
    } else if fits(choices, MAX_LIST_ROWS, MAX_LIST_TITLE) {
        let rows: Vec<Value> = choices
            .iter()
            .map(|c| json!({ "id": c.id, "title": c.title }))
            .collect();
        body["type"] = json!("interactive");
        body["interactive"] = json!({
            "type": "list",
            "body": { "text": text },
            "action": { "button": "Choose", "sections": [{ "title": "Options", "rows": rows }] }
        });
    } else {
        body["type"] = json!("text");
        body["text"] = json!({ "body": message.as_numbered_text() });
    }
    Some(body)
}

async fn meta_post(
    client: &reqwest::Client,
    api_base: &str,
    phone_number_id: &str,
    token: &str,
    body: &Value,
) -> SendOutcome {
    let req = client
        .post(format!("{api_base}/{phone_number_id}/messages"))
        .bearer_auth(token)
        .json(body);
    exchange(req, &META).await
}

async fn telegram(
    client: &reqwest::Client,
    api_base: &str,
    bot_token: &str,
    recipient: &str,
    message: &OutboundMessage,
) -> SendOutcome {
    let (method, body) = match message {
        OutboundMessage::CallbackAnswer { callback_id } => (
            "answerCallbackQuery",
            json!({ "callback_query_id": callback_id }),
        ),
        OutboundMessage::Text { text, choices, .. } => {
            let mut body = json!({ "chat_id": recipient, "text": text });
            if !choices.is_empty() {
                let rows: Vec<Value> = choices
                    .iter()
                    .map(|c| json!([{ "text": c.title, "callback_data": c.id.chars().take(64).collect::<String>() }]))
                    .collect();
                body["reply_markup"] = json!({ "inline_keyboard": rows });
            }
            ("sendMessage", body)
        }
    };
    let res = client
        .post(format!("{api_base}/bot{bot_token}/{method}"))
        .json(&body)
        .send()
        .await;
    let res = match res {
        Ok(r) => r,
        Err(e) => return network(e),
    };
    let status = res.status();
    let v: Value = res.json().await.unwrap_or(Value::Null);
    if status.is_success() && v.get("ok").and_then(Value::as_bool) == Some(true) {
        let id = match message {
            OutboundMessage::CallbackAnswer { callback_id } => format!("cbq:{callback_id}"),
            _ => match v.pointer("/result/message_id").and_then(Value::as_i64) {
                Some(m) => format!("{recipient}:{m}"),
                None => return accepted_without_id(),
            },
        };
        return SendOutcome::Accepted {
            provider_message_id: id,
        };
    }
    let code = v
        .get("error_code")
        .and_then(Value::as_i64)
        .unwrap_or(status.as_u16() as i64);
    if code == 429 {
        let after = v
            .pointer("/parameters/retry_after")
            .and_then(Value::as_u64)
            .map(Duration::from_secs);
        return SendOutcome::Retry {
            reason: "telegram 429".into(),
            after,
        };
    }
    classify(status.as_u16(), code, &[403], &[], &[], "telegram")
}

/// Sends an approved template (outside the 24-hour window). Telegram has no templates.
pub async fn send_template(
    client: &reqwest::Client,
    api_base: &str,
    credentials: &Credentials,
    recipient: &str,
    template: &crate::templates::Template,
    vars: &[String],
    status_callback: &str,
) -> SendOutcome {
    match credentials {
        Credentials::Meta {
            phone_number_id,
            access_token,
            ..
        } => {
            let Some(t) = &template.meta else {
                return failed("template not approved on Meta");
            };
            let params: Vec<Value> = vars
                .iter()
                .map(|v| json!({ "type": "text", "text": v }))
                .collect();
            let body = json!({
                "messaging_product": "whatsapp",
                "to": recipient,
                "type": "template",
                "template": {
                    "name": t.name,
                    "language": { "code": t.language },
                    "components": [{ "type": "body", "parameters": params }]
                }
            });
            meta_post(client, api_base, phone_number_id, access_token, &body).await
        }
        Credentials::Twilio {
            account_sid,
            auth_token,
            from,
        } => {
            let Some(t) = &template.twilio else {
                return failed("template not approved on Twilio");
            };
            let to = format!("whatsapp:+{}", recipient.trim_start_matches('+'));
            let variables: serde_json::Map<String, Value> = vars
                .iter()
                .enumerate()
                .map(|(i, v)| ((i + 1).to_string(), json!(v)))
                .collect();
            let variables = Value::Object(variables).to_string();
            let form = [
                ("To", to.as_str()),
                ("From", from.as_str()),
                ("ContentSid", t.content_sid.as_str()),
                ("ContentVariables", variables.as_str()),
                ("StatusCallback", status_callback),
            ];
            twilio_post(client, api_base, account_sid, auth_token, &form).await
        }
        Credentials::Telegram { .. } => failed("Telegram has no templates"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choices(titles: &[&str]) -> Vec<Choice> {
        titles
            .iter()
            .enumerate()
            .map(|(i, t)| Choice {
                id: format!("c{i}"),
                title: t.to_string(),
            })
            .collect()
    }

    #[test]
    fn meta_renders_buttons_lists_or_numbered_text() {
        let m = |c: Vec<Choice>| OutboundMessage::Text {
            text: "Pick".into(),
            choices: c,
            template: None,
            template_vars: Vec::new(),
        };
        let b = meta_body("92300", &m(choices(&["Fees", "Leave"]))).unwrap();
        assert_eq!(b["interactive"]["type"], "button");
        let l = meta_body("92300", &m(choices(&["a", "b", "c", "d"]))).unwrap();
        assert_eq!(l["interactive"]["type"], "list");
        let long = meta_body(
            "92300",
            &m(choices(&["This title is far too long for a list row"])),
        )
        .unwrap();
        assert_eq!(long["type"], "text");
        assert_eq!(
            long["text"]["body"],
            "Pick\n1. This title is far too long for a list row"
        );
        let t = meta_body("92300", &OutboundMessage::text("hi")).unwrap();
        assert_eq!(t["text"]["body"], "hi");
    }

    #[test]
    fn classification() {
        assert!(matches!(
            classify(400, 21610, &[21610], &[63016], &[], "t"),
            SendOutcome::OptedOut { .. }
        ));
        assert!(matches!(
            classify(400, 63016, &[21610], &[63016], &[], "t"),
            SendOutcome::WindowClosed { .. }
        ));
        assert!(matches!(
            classify(503, 0, &[], &[], &[], "t"),
            SendOutcome::Retry { .. }
        ));
        assert!(matches!(
            classify(429, 0, &[], &[], &[], "t"),
            SendOutcome::Retry { .. }
        ));
        assert!(matches!(
            classify(400, 130429, &[], &[], &[130429], "t"),
            SendOutcome::Retry { .. }
        ));
        assert!(matches!(
            classify(400, 100, &[], &[], &[], "t"),
            SendOutcome::Failed { .. }
        ));
    }
}
