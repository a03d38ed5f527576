//! Outgoing email (password reset links) over SMTP with lettre. Nothing is sent when
//! no SMTP server is configured; callers then offer the CLI's printed link instead.

use crate::config::Config;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("no SMTP server is configured (RAABTA_SMTP_URL)")]
    NotConfigured,
    #[error("the SMTP URL is not valid")]
    BadUrl,
    #[error("an address is not valid")]
    BadAddress,
    #[error("the message could not be built")]
    Build,
    /// Only the kind and the SMTP status code: a server's reply often repeats the address.
    #[error("the SMTP server refused the message or could not be reached ({kind}, code {code})")]
    Send { kind: &'static str, code: String },
}

/// Sends one plain-text email. The body may hold a secret link: it is never logged.
pub async fn send(config: &Config, to: &str, subject: &str, body: String) -> Result<(), MailError> {
    let Some(url) = &config.smtp_url else {
        return Err(MailError::NotConfigured);
    };
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
        .map_err(|_| MailError::BadUrl)?
        .timeout(Some(std::time::Duration::from_secs(20)))
        .build();
    let message = Message::builder()
        .from(
            config
                .mail_from
                .parse()
                .map_err(|_| MailError::BadAddress)?,
        )
        .to(to.parse().map_err(|_| MailError::BadAddress)?)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|_| MailError::Build)?;
    transport.send(message).await.map_err(|e| MailError::Send {
        kind: if e.is_permanent() {
            "permanent"
        } else if e.is_transient() {
            "transient"
        } else {
            "connection"
        },
        code: e
            .status()
            .map(|c| c.to_string())
            .unwrap_or_else(|| "none".into()),
    })?;
    Ok(())
}
