//! The web chat through the real router and the real worker: a question answered from
//! the FAQ, a lead left and stored, the page without JavaScript, and the limits (size,
//! length, rate, bad JSON, content type, unknown school or token).

use crate::support::{test_config, TestEnv};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use raabta::domain::activity::ActivityEntry;
use raabta::store::tenancy::School;
use serde_json::{json, Value};
use tower::ServiceExt;

async fn with_faq(env: &TestEnv, slug: &str) -> School {
    let school = env.school(slug).await;
    let rows = raabta::faq::parse_csv(include_bytes!("../../demo/faq.csv")).unwrap();
    let act = ActivityEntry::now("test", "faq.import", None, "test", json!({}));
    school.store.replace_faq(&rows, &act).await.unwrap();
    school
}

async fn post(
    router: &axum::Router,
    path: &str,
    content_type: &str,
    body: impl Into<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let res = router
        .clone()
        .oneshot(
            Request::post(path)
                .header("content-type", content_type)
                .body(body.into())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

async fn say(router: &axum::Router, slug: &str, body: Value) -> (StatusCode, Value) {
    let (status, _, text) = post(
        router,
        &format!("/chat/{slug}/messages"),
        "application/json",
        body.to_string(),
    )
    .await;
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text })),
    )
}

pub(crate) fn bot_texts(v: &Value) -> Vec<String> {
    v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["from"] == "bot")
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect()
}

fn last_choices(v: &Value) -> Vec<(String, String)> {
    v["messages"].as_array().unwrap().last().unwrap()["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["title"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_asks_and_leaves_details_in_the_web_chat() {
    let env = TestEnv::sqlite().await;
    let school = with_faq(&env, "webchat").await;
    let router = env.router();

    let (status, page) = {
        let res = router
            .clone()
            .oneshot(Request::get("/chat/webchat").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("frame-ancestors *"), "embeddable: {csp}");
        assert!(res.headers().get("set-cookie").is_none(), "no cookie");
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    };
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("School webchat"), "{page}");
    assert!(page.contains("action=\"/chat/webchat#chat-form\""));

    let (status, v) = say(
        &router,
        "webchat",
        json!({ "text": "what are the school timings?" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 43);
    let bot = bot_texts(&v);
    assert!(bot[0].contains("Welcome to School webchat"), "{bot:?}");
    assert!(bot[1].contains("7:45 am"), "{bot:?}");
    assert!(bot[2].contains("Anything else?"), "{bot:?}");

    // The lead's questions; the language and the confirmation are buttons.
    for (text, expect) in [
        ("apply", "Your name, please?"),
        ("Nadia Rehman", "Which class is your child"),
        ("Grade 2", "Which language"),
    ] {
        let (status, v) = say(&router, "webchat", json!({ "token": token, "text": text })).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let bot = bot_texts(&v);
        assert!(bot.last().unwrap().contains(expect), "{text}: {bot:?}");
    }
    let (_, v) = say(
        &router,
        "webchat",
        json!({ "token": token, "text": "Grade 2" }),
    )
    .await;
    let (_, v) = {
        // "Grade 2" again is no language: asked again, with the buttons.
        let choices = last_choices(&v);
        assert_eq!(choices.len(), 4, "{v}");
        let (id, title) = choices
            .iter()
            .find(|(_, t)| t == "English")
            .unwrap()
            .clone();
        say(
            &router,
            "webchat",
            json!({ "token": token, "choice": { "id": id, "title": title } }),
        )
        .await
    };
    let bot = bot_texts(&v);
    assert!(
        bot.last().unwrap().contains("Name: Nadia Rehman"),
        "{bot:?}"
    );
    let yes = last_choices(&v).into_iter().next().unwrap();
    let (_, v) = say(
        &router,
        "webchat",
        json!({ "token": token, "choice": { "id": yes.0, "title": yes.1 } }),
    )
    .await;
    let bot = bot_texts(&v);
    assert!(
        bot.iter().any(|t| t.contains("Thank you, Nadia Rehman")),
        "{bot:?}"
    );

    // Stored, encrypted, with its conversation (the web chat) and the office's notice.
    let leads = school.store.leads(None, 10).await.unwrap();
    assert_eq!(leads.len(), 1);
    let lead = &leads[0];
    assert_eq!(lead.name.expose(), "Nadia Rehman");
    assert_eq!(lead.detail.expose(), "Grade 2");
    assert_eq!(lead.kind, "parent");
    assert_eq!(lead.status, "new");
    assert_eq!(lead.language, "en");
    assert_eq!(lead.provider, Some(raabta::domain::message::Provider::Web));
    // The token is never stored: the sender is its hash.
    let sender = lead.sender.as_ref().unwrap().expose().clone();
    assert!(sender.starts_with("web:") && !sender.contains(&token));
    assert_eq!(school.store.lead_counts().await.unwrap()["new"], 1);

    // Without JavaScript: the form posts and the page comes back with the thread and
    // the token in a hidden field.
    let (status, _, html) = post(
        &router,
        "/chat/webchat",
        "application/x-www-form-urlencoded",
        "token=&text=how+much+is+the+fee%3F",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Monthly tuition is Rs 9,500"), "{html}");
    let hidden = html
        .split("name=\"token\" id=\"token\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    assert_eq!(hidden.len(), 43);
    let (_, _, html) = post(
        &router,
        "/chat/webchat",
        "application/x-www-form-urlencoded",
        format!("token={hidden}&text=do+you+have+a+swimming+pool%3F"),
    )
    .await;
    assert!(html.contains("Monthly tuition"), "the thread goes on");
    assert!(
        html.contains("I don&#x27;t have an answer") || html.contains("I don't have an answer"),
        "{html}"
    );
    assert!(
        html.contains("name=\"choice\""),
        "the yes/no buttons are form buttons"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_chat_refuses_what_it_should() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.webchat_per_address = 12;
    let env = TestEnv::with_config(config, dir, None).await;
    with_faq(&env, "limits").await;
    let router = env.router();
    let path = "/chat/limits/messages";

    // Bad JSON, unknown fields, wrong types: 400 with the reason (never the content).
    let (status, _, body) = post(&router, path, "application/json", "{\"text\": ").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("syntax error at line 1"), "{body}");
    let (status, _, body) = post(
        &router,
        path,
        "application/json",
        r#"{"txt": "secret words"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("unknown field `txt`"), "{body}");
    let (status, _, body) = post(
        &router,
        path,
        "application/json",
        r#"{"text": ["secret words"]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("wrong type") && !body.contains("secret"),
        "{body}"
    );
    let (status, _, body) = post(&router, path, "application/json", r#"{}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("empty"), "{body}");
    // A cross-site form cannot post JSON: anything else is refused.
    let (status, _, _) = post(&router, path, "text/plain", r#"{"text": "hi there"}"#).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Too long a message; too big a body.
    let long = json!({ "text": "ا".repeat(raabta::webchat::MAX_TEXT + 1) }).to_string();
    let (status, _, body) = post(&router, path, "application/json", long).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("too long"), "{body}");
    let huge = json!({ "text": "a".repeat(raabta::webchat::MAX_BODY) }).to_string();
    let (status, _, _) = post(&router, path, "application/json", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Unknown school; a token that was never issued.
    let (status, _) = say(&router, "nope", json!({ "text": "fees?" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, v) = say(
        &router,
        "limits",
        json!({ "token": "x".repeat(43), "text": "fees?" }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, v) = say(
        &router,
        "limits",
        json!({ "token": "short", "text": "fees?" }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    // No message of these reached the school.
    let school = env.app.tenancy.school("limits").await.unwrap();
    assert_eq!(school.store.inbound_count().await.unwrap(), 0);

    // Per conversation: 6 at once after the first, then 429 with Retry-After.
    let (status, v) = say(&router, "limits", json!({ "text": "school timings?" })).await;
    assert_eq!(status, StatusCode::OK);
    let token = v["token"].as_str().unwrap().to_string();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (status, _, _) = post(
            &router,
            path,
            "application/json",
            json!({ "token": token, "text": "school timings?" }).to_string(),
        )
        .await;
        statuses.push(status);
    }
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    let (status, headers, body) = post(
        &router,
        path,
        "application/json",
        json!({ "token": token, "text": "school timings?" }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(body.contains("this conversation"), "{body}");
    assert!(headers.get("retry-after").is_some());
    // Per address (12 a minute here, refused requests included): new conversations from
    // the same address run out.
    let (status, _, body) = post(
        &router,
        path,
        "application/json",
        json!({ "text": "uniform?" }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.contains("this address"), "{body}");
    // Refused messages were not stored: 1 + 6.
    assert_eq!(school.store.inbound_count().await.unwrap(), 7);
}

/// A WhatsApp number typed in the web chat is asked about on WhatsApp, and only its
/// owner's "yes" shows it to the office; someone else's answer changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_typed_in_the_web_chat_is_confirmed_on_whatsapp() {
    use raabta::console::Simulator;
    use raabta::domain::message::Provider;
    let env = TestEnv::sqlite().await;
    let school = with_faq(&env, "linked").await;
    // The school's WhatsApp line (a simulated Meta number).
    let line = Simulator::on_line(&env.app, "linked", Provider::Meta, "923009990000")
        .await
        .unwrap();
    let router = env.router();
    let (_, v) = say(&router, "linked", json!({ "text": "apply" })).await;
    let token = v["token"].as_str().unwrap().to_string();
    for (text, expect) in [
        ("Hina Aslam", "Which class"),
        ("KG", "Which language"),
        ("english", "Your WhatsApp number"),
        ("my number is secret", "does not look like a phone number"),
        ("0300 555 6667", "send this to the office?"),
    ] {
        let (status, v) = say(&router, "linked", json!({ "token": token, "text": text })).await;
        assert_eq!(status, StatusCode::OK);
        let bot = bot_texts(&v);
        assert!(
            bot.iter().rev().take(3).any(|t| t.contains(expect)),
            "{text}: {bot:?}"
        );
    }
    let (_, v) = say(&router, "linked", json!({ "token": token, "text": "yes" })).await;
    assert!(bot_texts(&v)
        .iter()
        .any(|t| t.contains("Thank you, Hina Aslam")));
    let lead = school.store.leads(None, 10).await.unwrap().remove(0);
    assert_eq!(lead.phone.as_ref().unwrap().expose(), "+923005556667");
    assert!(lead.phone_confirmed_at.is_none(), "not confirmed yet");

    // Someone else on WhatsApp cannot confirm it; the number's owner is asked.
    let mut stranger = Simulator::new(
        &env.app,
        "linked",
        Provider::Meta,
        Some(line.channel),
        "923001111111",
    )
    .await
    .unwrap();
    stranger.say("yes").await.unwrap();
    let mut owner = Simulator::new(
        &env.app,
        "linked",
        Provider::Meta,
        Some(line.channel),
        "923005556667",
    )
    .await
    .unwrap();
    let asked = owner.settle().await.unwrap();
    let asked: Vec<String> = asked.iter().map(|m| m.render()).collect();
    assert!(
        asked
            .iter()
            .any(|t| t.contains("Was it you?") && t.contains("School linked")),
        "{asked:?}"
    );
    let lead = school.store.lead(lead.id).await.unwrap().unwrap();
    assert!(lead.phone_confirmed_at.is_none());
    let replies = owner.say("yes").await.unwrap();
    assert!(replies
        .iter()
        .any(|m| m.render().contains("contact you on this number")));
    let lead = school.store.lead(lead.id).await.unwrap().unwrap();
    assert!(lead.phone_confirmed_at.is_some(), "confirmed by its owner");
}
