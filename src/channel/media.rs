//! Fetching inbound media from the providers. URLs that carry a token (Telegram file
//! URLs) are never logged or put in an error. Twilio and Meta media are only fetched from
//! the channel's API base (a media URL in a webhook cannot make us call another host).

use super::Credentials;
use crate::domain::media::MAX_MEDIA_BYTES;
use serde_json::Value;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    /// Network, 5xx, 429: try again later.
    #[error("{0}")]
    Retry(String),
    /// Retrying will not help.
    #[error("{0}")]
    Fatal(String),
}

fn status_error(who: &str, status: reqwest::StatusCode) -> FetchError {
    let msg = format!("{who} media fetch: HTTP {}", status.as_u16());
    if status.as_u16() == 429 || status.is_server_error() {
        FetchError::Retry(msg)
    } else {
        FetchError::Fatal(msg)
    }
}

/// Sends a request and reads its JSON answer.
async fn json_of(req: reqwest::RequestBuilder, who: &str) -> Result<Value, FetchError> {
    let res = req.send().await.map_err(|e| net(who, e))?;
    if !res.status().is_success() {
        return Err(status_error(who, res.status()));
    }
    res.json().await.map_err(|e| net(who, e))
}

/// Sends a request and reads its body, up to the media size limit.
async fn body(req: reqwest::RequestBuilder, who: &str) -> Result<Vec<u8>, FetchError> {
    let mut res = req.send().await.map_err(|e| net(who, e))?;
    if !res.status().is_success() {
        return Err(status_error(who, res.status()));
    }
    if res
        .content_length()
        .map(|n| n as usize > MAX_MEDIA_BYTES)
        .unwrap_or(false)
    {
        return Err(FetchError::Fatal("media is larger than the limit".into()));
    }
    // Read in chunks and stop at the limit: a missing or false Content-Length cannot
    // make us buffer an unbounded body.
    let mut out = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| FetchError::Retry(format!("{who}: {}", e.without_url())))?
    {
        if out.len() + chunk.len() > MAX_MEDIA_BYTES {
            return Err(FetchError::Fatal("media is larger than the limit".into()));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn net(who: &str, e: reqwest::Error) -> FetchError {
    FetchError::Retry(format!("{who}: {}", e.without_url()))
}

/// The path of a Twilio media URL, re-rooted on the channel's API base.
pub fn twilio_media_url(api_base: &str, media_url: &str) -> Option<String> {
    let path = media_url
        .strip_prefix("https://api.twilio.com")
        .or_else(|| media_url.strip_prefix(api_base))?;
    (path.starts_with("/2010-04-01/Accounts/") && !path.contains(".."))
        .then(|| format!("{api_base}{path}"))
}

/// Deletes Twilio's copy of a media item; call it only after ours is stored. Other
/// providers keep no copy we can delete.
pub async fn delete_provider_copy(
    client: &reqwest::Client,
    api_base: &str,
    credentials: &Credentials,
    media_ref: &str,
) {
    if let Credentials::Twilio {
        account_sid,
        auth_token,
        ..
    } = credentials
    {
        let Some(url) = twilio_media_url(api_base, media_ref) else {
            return;
        };
        match client
            .delete(&url)
            .basic_auth(account_sid, Some(auth_token))
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => {}
            _ => tracing::warn!("could not delete the media copy at Twilio"),
        }
    }
}

/// Meta serves media from its own CDN hosts; the access token goes nowhere else.
fn meta_media_host_allowed(url: &str, api_base: &str) -> bool {
    // Parsed, not split by hand: `https://cdn.fbcdn.net:1@evil.example/` is evil.example.
    let Ok(u) = reqwest::Url::parse(url) else {
        return false;
    };
    if !u.username().is_empty() || u.password().is_some() {
        return false;
    }
    if let Ok(base) = reqwest::Url::parse(api_base) {
        if u.scheme() == base.scheme()
            && u.host_str() == base.host_str()
            && u.port_or_known_default() == base.port_or_known_default()
            && u.path().starts_with(base.path())
        {
            return true;
        }
    }
    if u.scheme() != "https" || u.port().is_some() {
        return false;
    }
    let Some(host) = u.host_str() else {
        return false;
    };
    ["fbcdn.net", "fbsbx.com", "facebook.com", "whatsapp.net"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

/// Downloads one media item.
pub async fn fetch(
    client: &reqwest::Client,
    api_base: &str,
    credentials: &Credentials,
    media_ref: &str,
    sha256: Option<&str>,
) -> Result<Vec<u8>, FetchError> {
    match credentials {
        Credentials::Twilio {
            account_sid,
            auth_token,
            ..
        } => {
            let url = twilio_media_url(api_base, media_ref)
                .ok_or_else(|| FetchError::Fatal("not a Twilio media URL".into()))?;
            let req = client.get(&url).basic_auth(account_sid, Some(auth_token));
            body(req, "twilio").await
        }
        Credentials::Meta { access_token, .. } => {
            if media_ref.is_empty()
                || !media_ref
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(FetchError::Fatal("not a Meta media id".into()));
            }
            let req = client
                .get(format!("{api_base}/{media_ref}"))
                .bearer_auth(access_token);
            let v = json_of(req, "meta").await?;
            let url = v
                .get("url")
                .and_then(Value::as_str)
                .ok_or_else(|| FetchError::Fatal("no media URL".into()))?;
            if !meta_media_host_allowed(url, api_base) {
                return Err(FetchError::Fatal(
                    "media URL is not on Meta's media hosts".into(),
                ));
            }
            let bytes = body(client.get(url).bearer_auth(access_token), "meta").await?;
            if let Some(expected) = sha256 {
                let got = hex::encode(Sha256::digest(&bytes));
                if !got.eq_ignore_ascii_case(expected) {
                    return Err(FetchError::Retry("media checksum mismatch".into()));
                }
            }
            Ok(bytes)
        }
        Credentials::Telegram { bot_token, .. } => {
            let req = client
                .get(format!("{api_base}/bot{bot_token}/getFile"))
                .query(&[("file_id", media_ref)]);
            let v = json_of(req, "telegram").await?;
            let path = v
                .pointer("/result/file_path")
                .and_then(Value::as_str)
                .filter(|p| !p.contains(".."))
                .ok_or_else(|| FetchError::Fatal("no file path".into()))?;
            let req = client.get(format!("{api_base}/file/bot{bot_token}/{path}"));
            body(req, "telegram").await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_media_hosts() {
        let graph = "https://graph.facebook.com/v21.0";
        assert!(meta_media_host_allowed(
            "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1",
            graph
        ));
        assert!(meta_media_host_allowed(
            "https://scontent.xx.fbcdn.net/v/x.jpg",
            graph
        ));
        assert!(meta_media_host_allowed(
            "http://127.0.0.1:9/media/1",
            "http://127.0.0.1:9"
        ));
        assert!(!meta_media_host_allowed(
            "https://scontent.fbcdn.net:1@evil.example/x",
            "https://graph.facebook.com/v21.0"
        ));
        assert!(!meta_media_host_allowed(
            "https://evil.example\\.fbcdn.net/x",
            "https://graph.facebook.com/v21.0"
        ));
        assert!(!meta_media_host_allowed(
            "https://evil.example/fbcdn.net",
            graph
        ));
        assert!(!meta_media_host_allowed(
            "https://fbcdn.net.evil.example/x",
            graph
        ));
        assert!(!meta_media_host_allowed(
            "http://169.254.169.254/latest",
            graph
        ));
    }

    #[test]
    fn twilio_urls_are_rerooted_and_checked() {
        let u = twilio_media_url(
            "http://127.0.0.1:9",
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/SM1/Media/ME1",
        );
        assert_eq!(
            u.as_deref(),
            Some("http://127.0.0.1:9/2010-04-01/Accounts/AC1/Messages/SM1/Media/ME1")
        );
        assert!(
            twilio_media_url("http://x", "https://evil.example/2010-04-01/Accounts/").is_none()
        );
        assert!(twilio_media_url("http://x", "https://api.twilio.com/other").is_none());
        assert!(twilio_media_url(
            "http://x",
            "https://api.twilio.com/2010-04-01/Accounts/../x"
        )
        .is_none());
    }
}
