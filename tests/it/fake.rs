//! A local fake of the providers' send APIs (Twilio Messages, Meta Graph, Telegram Bot
//! API), reached through each channel's configurable API base. It records every request
//! and answers with scripted responses first, then with success.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Router;
use serde_json::json;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub body: String,
}

#[derive(Default)]
struct Inner {
    requests: Vec<Recorded>,
    script: VecDeque<(u16, String)>,
    counter: u64,
    /// The next this many media downloads answer 500.
    media_failures: u32,
    /// Media downloads answer 404 (the provider no longer has it).
    media_gone: bool,
    /// Media downloads take this long.
    media_delay: std::time::Duration,
}

#[derive(Clone, Default)]
pub struct FakeProviders {
    inner: Arc<Mutex<Inner>>,
    pub base: String,
}

impl FakeProviders {
    pub async fn start() -> Self {
        let mut fake = FakeProviders::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        fake.base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(handle).with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    /// The next requests get these (status, JSON body) answers, in order.
    pub fn script(&self, responses: &[(u16, serde_json::Value)]) {
        let mut i = self.inner.lock().unwrap();
        for (s, b) in responses {
            i.script.push_back((*s, b.to_string()));
        }
    }

    /// The next `n` media downloads fail with HTTP 500.
    pub fn fail_media(&self, n: u32) {
        self.inner.lock().unwrap().media_failures = n;
    }

    /// Media downloads answer 404 from now on.
    pub fn media_gone(&self) {
        self.inner.lock().unwrap().media_gone = true;
    }

    /// Media downloads take this long from now on.
    pub fn delay_media(&self, d: std::time::Duration) {
        self.inner.lock().unwrap().media_delay = d;
    }

    /// Media downloads asked for (the bytes themselves, not Meta's URL lookups).
    pub fn media_downloads(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path.starts_with("GET ") && is_media_download(&r.path[4..]))
            .count()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// Successful sends (requests that were not answered with a scripted error).
    pub fn sends(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| {
                r.path.ends_with("/Messages.json")
                    || r.path.ends_with("/messages")
                    || r.path.ends_with("/sendMessage")
            })
            .collect()
    }
}

/// A small JPEG whose EXIF segment carries a location.
pub fn jpeg_with_exif() -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    let exif = b"Exif\0\0GPS 33.6844N 73.0479E";
    j.extend_from_slice(&[0xFF, 0xE1]);
    j.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    j.extend_from_slice(exif);
    j.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x04, 0x01, 0x02]);
    j.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x11, 0x22, 0xFF, 0xD9]);
    j
}

async fn handle(
    State(fake): State<FakeProviders>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> axum::response::Response {
    let path = uri.path().to_string();
    let media = {
        let mut i = fake.inner.lock().unwrap();
        i.requests.push(Recorded {
            path: format!(
                "{} {}{}",
                method,
                path,
                uri.query().map(|q| format!("?{q}")).unwrap_or_default()
            ),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        if method == Method::GET && is_media_download(&path) {
            if i.media_gone {
                Err(StatusCode::NOT_FOUND)
            } else if i.media_failures > 0 {
                i.media_failures -= 1;
                Err(StatusCode::INTERNAL_SERVER_ERROR)
            } else {
                Ok(i.media_delay)
            }
        } else {
            Ok(std::time::Duration::ZERO)
        }
    };
    match media {
        Err(status) => return status.into_response(),
        Ok(delay) if !delay.is_zero() => tokio::time::sleep(delay).await,
        Ok(_) => {}
    }
    let mut i = fake.inner.lock().unwrap();
    // Media downloads.
    if method == Method::DELETE {
        return StatusCode::NO_CONTENT.into_response();
    }
    if method == Method::GET && path.contains("/Media/") {
        let bytes = if path.ends_with("ME0002") {
            b"MZ\x90\x00 not a document".to_vec()
        } else {
            jpeg_with_exif()
        };
        return (StatusCode::OK, bytes).into_response();
    }
    // Meta: media id -> JSON with a download URL (on this fake) -> the bytes.
    if method == Method::GET
        && path.ends_with("/1003383421387256")
        && !path.starts_with("/meta-media/")
    {
        let url = format!("{}/meta-media/1003383421387256", fake.base);
        let sha = sha256_hex(&jpeg_with_exif());
        return (
            StatusCode::OK,
            json!({ "url": url, "mime_type": "image/jpeg", "sha256": sha }).to_string(),
        )
            .into_response();
    }
    if method == Method::GET && path.starts_with("/meta-media/") {
        return (StatusCode::OK, jpeg_with_exif()).into_response();
    }
    if path.ends_with("/getFile") {
        return (
            StatusCode::OK,
            json!({ "ok": true, "result": { "file_path": "photos/file_1.jpg" } }).to_string(),
        )
            .into_response();
    }
    if path.contains("/file/bot") {
        return (StatusCode::OK, jpeg_with_exif()).into_response();
    }
    if let Some((status, body)) = i.script.pop_front() {
        i.requests.pop();
        return (StatusCode::from_u16(status).unwrap(), body).into_response();
    }
    i.counter += 1;
    let n = i.counter;
    let body = if path.ends_with("/Messages.json") {
        json!({ "sid": format!("SMfake{n}"), "status": "queued" })
    } else if path.ends_with("/messages") {
        json!({ "messaging_product": "whatsapp", "messages": [{ "id": format!("wamid.fake{n}") }] })
    } else if path.ends_with("/sendMessage") {
        json!({ "ok": true, "result": { "message_id": n } })
    } else {
        json!({ "ok": true, "result": true })
    };
    (StatusCode::OK, body.to_string()).into_response()
}

fn is_media_download(path: &str) -> bool {
    path.contains("/Media/") || path.starts_with("/meta-media/") || path.contains("/file/bot")
}

pub fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

/// A local SMTP server (no TLS, no auth) that keeps every message it is given.
#[derive(Clone, Default)]
pub struct FakeSmtp {
    pub url: String,
    messages: Arc<Mutex<Vec<String>>>,
}

impl FakeSmtp {
    pub async fn start() -> Self {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = FakeSmtp {
            url: format!("smtp://{}", listener.local_addr().unwrap()),
            messages: Arc::default(),
        };
        let messages = fake.messages.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let messages = messages.clone();
                tokio::spawn(async move {
                    let (r, mut w) = stream.into_split();
                    let mut lines = BufReader::new(r).lines();
                    let _ = w.write_all(b"220 fake ESMTP\r\n").await;
                    let mut data: Option<String> = None;
                    while let Ok(Some(line)) = lines.next_line().await {
                        if let Some(body) = data.as_mut() {
                            if line == "." {
                                messages.lock().unwrap().push(std::mem::take(body));
                                data = None;
                                let _ = w.write_all(b"250 queued\r\n").await;
                            } else {
                                body.push_str(&line);
                                body.push('\n');
                            }
                            continue;
                        }
                        let verb = line
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                            .to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" | "HELO" => b"250-fake\r\n250 8BITMIME\r\n",
                            "DATA" => {
                                data = Some(String::new());
                                b"354 go ahead\r\n"
                            }
                            "QUIT" => {
                                let _ = w.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => b"250 ok\r\n",
                        };
                        let _ = w.write_all(reply).await;
                    }
                });
            }
        });
        fake
    }

    /// The messages received so far (headers and body, quoted-printable as sent).
    pub fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }
}
