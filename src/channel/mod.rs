//! Messaging providers: verifying and parsing what they send us (`twilio`, `meta`,
//! `telegram`), and the in-memory registry of channel accounts that routes a webhook
//! to its school without touching the database.

pub mod media;
pub mod meta;
pub mod send;
pub mod telegram;
pub mod twilio;

use crate::domain::message::Provider;
use serde::{Deserialize, Serialize};

/// Default API bases; every channel may override its own (tests use local fakes).
pub const TWILIO_API: &str = "https://api.twilio.com";
pub const META_API: &str = "https://graph.facebook.com/v21.0";
pub const TELEGRAM_API: &str = "https://api.telegram.org";

pub fn default_api_base(p: Provider) -> &'static str {
    match p {
        Provider::Twilio => TWILIO_API,
        Provider::Meta => META_API,
        Provider::Telegram => TELEGRAM_API,
        Provider::Console | Provider::Web => "",
    }
}

/// A provider's secrets. Stored encrypted; Debug is redacted.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "provider", rename_all = "lowercase")]
pub enum Credentials {
    Twilio {
        account_sid: String,
        auth_token: String,
        /// The WhatsApp sender, `whatsapp:+<digits>`.
        from: String,
    },
    Meta {
        phone_number_id: String,
        access_token: String,
        /// Empty: the platform's Meta app signs this number's webhooks (the normal
        /// case); set only for a school the operator registered with its own app.
        #[serde(default)]
        app_secret: String,
        #[serde(default)]
        verify_token: String,
    },
    Telegram {
        bot_token: String,
        secret_token: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials::{}(<redacted>)", self.provider())
    }
}

impl Drop for Credentials {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        match self {
            Credentials::Twilio { auth_token, .. } => auth_token.zeroize(),
            Credentials::Meta {
                access_token,
                app_secret,
                verify_token,
                ..
            } => {
                access_token.zeroize();
                app_secret.zeroize();
                verify_token.zeroize();
            }
            Credentials::Telegram {
                bot_token,
                secret_token,
            } => {
                bot_token.zeroize();
                secret_token.zeroize();
            }
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChannelError {
    #[error("{0} must not be empty: a channel without its secret would accept unsigned traffic")]
    MissingSecret(&'static str),
    #[error("{0}")]
    Invalid(String),
}

impl Credentials {
    /// A Meta number with its own app (secret and verify token), not the platform's.
    pub fn has_own_meta_app(&self) -> bool {
        matches!(self, Credentials::Meta { app_secret, .. } if !app_secret.trim().is_empty())
    }

    pub fn provider(&self) -> Provider {
        match self {
            Credentials::Twilio { .. } => Provider::Twilio,
            Credentials::Meta { .. } => Provider::Meta,
            Credentials::Telegram { .. } => Provider::Telegram,
        }
    }

    /// Fails closed: every secret used to verify webhooks or call the API must be set.
    pub fn validate(&self) -> Result<(), ChannelError> {
        let need = |v: &str, name: &'static str| {
            if v.trim().is_empty() {
                Err(ChannelError::MissingSecret(name))
            } else {
                Ok(())
            }
        };
        match self {
            Credentials::Twilio {
                account_sid,
                auth_token,
                from,
            } => {
                need(account_sid, "account SID")?;
                need(auth_token, "auth token")?;
                if twilio_route(from).is_none() {
                    return Err(ChannelError::Invalid(
                        "the Twilio sender must look like whatsapp:+923001234567".into(),
                    ));
                }
                Ok(())
            }
            Credentials::Meta {
                phone_number_id,
                access_token,
                app_secret,
                verify_token,
            } => {
                need(phone_number_id, "phone number id")?;
                need(access_token, "access token")?;
                // Both empty: the platform's app. Both set: the school's own app (the
                // operator's registration). One without the other is a mistake.
                if app_secret.trim().is_empty() != verify_token.trim().is_empty() {
                    need(app_secret, "app secret")?;
                    need(verify_token, "verify token")?;
                }
                Ok(())
            }
            Credentials::Telegram {
                bot_token,
                secret_token,
            } => {
                need(bot_token, "bot token")?;
                need(secret_token, "secret token")?;
                if telegram::bot_id(bot_token).is_none() {
                    return Err(ChannelError::Invalid(
                        "the bot token must look like 123456:ABC…".into(),
                    ));
                }
                if secret_token.len() > 256
                    || !secret_token
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(ChannelError::Invalid(
                        "Telegram secret tokens are 1-256 characters of A-Z, a-z, 0-9, _ and -"
                            .into(),
                    ));
                }
                Ok(())
            }
        }
    }
}

/// Twilio routes on the sender number's digits: `whatsapp:+92300…` → `92300…`.
pub fn twilio_route(number: &str) -> Option<String> {
    let n = number.trim();
    let n = n.strip_prefix("whatsapp:").unwrap_or(n);
    let digits = n.strip_prefix('+')?;
    (digits.len() >= 6 && digits.len() <= 15 && digits.chars().all(|c| c.is_ascii_digit()))
        .then(|| digits.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_fails_closed() {
        let t = Credentials::Twilio {
            account_sid: "AC1".into(),
            auth_token: "".into(),
            from: "whatsapp:+14155238886".into(),
        };
        assert_eq!(t.validate(), Err(ChannelError::MissingSecret("auth token")));
        let m = Credentials::Meta {
            phone_number_id: "1".into(),
            access_token: "a".into(),
            app_secret: " ".into(),
            verify_token: "v".into(),
        };
        assert_eq!(m.validate(), Err(ChannelError::MissingSecret("app secret")));
        let tg = Credentials::Telegram {
            bot_token: "123:abc".into(),
            secret_token: "bad token!".into(),
        };
        assert!(tg.validate().is_err());
        assert!(!format!("{tg:?}").contains("123:abc"));
    }

    #[test]
    fn twilio_routes() {
        assert_eq!(
            twilio_route("whatsapp:+14155238886").as_deref(),
            Some("14155238886")
        );
        assert_eq!(
            twilio_route("+923001234567").as_deref(),
            Some("923001234567")
        );
        assert_eq!(twilio_route("923001234567"), None);
        assert_eq!(twilio_route("whatsapp:+92abc"), None);
    }
}
