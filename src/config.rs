//! Typed configuration from the environment (`RAABTA_*`) and an optional TOML file
//! (`RAABTA_CONFIG` or `--config`). Environment variables win over the file.
//! Secrets (the master key, a database URL that may carry a password) are wrapped so
//! that `Debug` never prints them.

use crate::domain::Secret;
use crate::store::crypto::{CryptoError, MasterKey};
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("RAABTA_META_APP_SECRET and RAABTA_META_VERIFY_TOKEN go together, neither empty")]
    MetaApp,
    #[error("configuration: {0}")]
    Load(String),
    #[error("RAABTA_ENV must be development or production (got {0:?})")]
    BadEnv(String),
    #[error("RAABTA_LISTEN must be host:port, e.g. 127.0.0.1:8080 (got {0:?})")]
    BadListen(String),
    #[error("RAABTA_PUBLIC_URL must start with http:// or https:// (got {0:?})")]
    BadPublicUrl(String),
    #[error("RAABTA_MASTER_KEY: {0}")]
    MasterKey(CryptoError),
    #[error("RAABTA_MASTER_KEY is required when RAABTA_ENV=production (base64 of 32 random bytes, e.g. `openssl rand -base64 32`)")]
    MasterKeyRequired,
    #[error("master key file {path}: {source}")]
    MasterKeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("master key file {0} does not hold base64 of 32 bytes")]
    MasterKeyFileBad(PathBuf),
    #[error("{0} holds a database but no master.key: set RAABTA_MASTER_KEY to the key it was made (or restored) with; a new key could not read it")]
    MasterKeyMissing(PathBuf),
}

/// An OpenAI-compatible AI endpoint.
#[derive(Debug, Clone)]
pub struct AiConfig {
    /// e.g. `https://api.openai.com/v1` (a test's local fake in tests).
    pub base_url: String,
    pub api_key: Secret<String>,
    pub model: String,
    pub timeout: std::time::Duration,
    /// No school's monthly budget goes above this (`RAABTA_AI_MONTHLY_TOKENS_CAP`).
    pub monthly_tokens_cap: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Deserialize, Default)]
struct Raw {
    env: Option<String>,
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    listen: Option<String>,
    public_url: Option<String>,
    master_key: Option<String>,
    max_open_schools: Option<usize>,
    key_cache_seconds: Option<u64>,
    webchat_per_address: Option<u32>,
    webchat_per_school: Option<u32>,
    seed_demo: Option<bool>,
    meta_rate: Option<u32>,
    twilio_rate: Option<u32>,
    telegram_rate: Option<u32>,
    send_lease_seconds: Option<u64>,
    job_lease_seconds: Option<u64>,
    flows_dir: Option<PathBuf>,
    models_dir: Option<PathBuf>,
    backup_dir: Option<PathBuf>,
    ai_base_url: Option<String>,
    ai_api_key: Option<String>,
    ai_model: Option<String>,
    ai_timeout_seconds: Option<u64>,
    ai_monthly_tokens_cap: Option<i64>,
    client_ip_header: Option<String>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    meta_app_secret: Option<String>,
    meta_verify_token: Option<String>,
    metrics_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub env: Environment,
    /// `sqlite://…` or `postgres://…`. May hold a password: never logged.
    pub database_url: Secret<String>,
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Externally visible base URL (for webhook signatures behind proxies).
    pub public_url: String,
    pub master_key: Option<Secret<String>>,
    pub max_open_schools: usize,
    /// How long a process trusts its cached school keys (key rotation waits this long).
    pub key_cache_seconds: u64,
    /// Web chat messages a minute from one address (`RAABTA_WEBCHAT_PER_ADDRESS`, 30).
    pub webchat_per_address: u32,
    /// Web chat messages a minute to one school (`RAABTA_WEBCHAT_PER_SCHOOL`, 600).
    pub webchat_per_school: u32,
    /// Create the demo school on first start (default: development only).
    pub seed_demo: bool,
    /// Messages per second per sender: Meta 80, Twilio 10, Telegram 30 by default.
    pub meta_rate: u32,
    pub twilio_rate: u32,
    pub telegram_rate: u32,
    /// How long a claimed outbox row is held before another sender may retry it.
    pub send_lease_seconds: u64,
    /// How long a claimed job is held before another runner may run it again (a
    /// process killed mid-job leaves such a claim).
    pub job_lease_seconds: u64,
    /// A flows directory (flow files, `templates.yaml`, `locales/*.ftl`) that replaces
    /// the flows built into the binary; None (the default): the built-in ones.
    pub flows_dir: Option<PathBuf>,
    /// The local models (`scripts/fetch-models.sh` writes them): `RAABTA_MODELS_DIR`,
    /// default `./models`. The service runs without them (spelling-only matching).
    pub models_dir: PathBuf,
    /// Where `serve` takes a backup daily (`RAABTA_BACKUP_DIR`); None: no scheduled
    /// backups (`raabta backup --out` by hand or from cron).
    pub backup_dir: Option<PathBuf>,
    /// An OpenAI-compatible endpoint for complaint triage (`RAABTA_AI_BASE_URL`,
    /// `RAABTA_AI_API_KEY`, `RAABTA_AI_MODEL`): None (the default) triages locally.
    pub ai: Option<AiConfig>,
    /// A header set by a trusted proxy with the client's address (e.g. `fly-client-ip`);
    /// without it the TCP peer address is used (sign-in limits per address).
    pub client_ip_header: Option<String>,
    /// Outgoing mail for password reset links: `smtps://user:pass@host:465` or
    /// `smtp://user:pass@host:587?tls=required` (lettre's URL form). None: no email;
    /// `raabta users reset-link` prints links instead. Holds a password: never logged.
    pub smtp_url: Option<Secret<String>>,
    /// The sender address of those emails.
    pub mail_from: String,
    /// The platform's Meta app (`RAABTA_META_APP_SECRET`, `RAABTA_META_VERIFY_TOKEN`):
    /// it signs every school's WhatsApp Cloud API webhooks, so it is the operator's,
    /// never typed by a school. Overrides `raabta platform meta-app set`.
    pub meta_app: Option<crate::routing::PlatformMetaApp>,
    /// `RAABTA_METRICS_TOKEN`: with it, `/metrics` needs `Authorization: Bearer …` and
    /// shows per-school figures; without it, totals only, to anyone.
    pub metrics_token: Option<Secret<String>>,
}

impl Config {
    /// Reads the optional TOML file, then `RAABTA_*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::new();
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("RAABTA_CONFIG").map(PathBuf::from));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Load(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            fig = fig.merge(Toml::file(path));
        }
        fig = fig.merge(Env::prefixed("RAABTA_").ignore(&["config", "test_postgres_url"]));
        let raw: Raw = fig
            .extract()
            .map_err(|e| ConfigError::Load(e.to_string()))?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: Raw) -> Result<Self, ConfigError> {
        let env = match raw.env.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("development") | Some("dev") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            Some(other) => return Err(ConfigError::BadEnv(other.to_string())),
        };
        let data_dir = raw.data_dir.unwrap_or_else(|| PathBuf::from("./data"));
        let listen_s = raw.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen_s
            .parse()
            .map_err(|_| ConfigError::BadListen(listen_s.clone()))?;
        let public_url = raw
            .public_url
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::BadPublicUrl(public_url));
        }
        let database_url = raw
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("control.db").display()));
        Ok(Self {
            env,
            database_url: Secret::new(database_url),
            data_dir,
            listen,
            public_url,
            master_key: raw.master_key.map(Secret::new),
            max_open_schools: raw.max_open_schools.unwrap_or(64),
            key_cache_seconds: raw.key_cache_seconds.unwrap_or(30),
            webchat_per_address: raw.webchat_per_address.unwrap_or(30).max(1),
            webchat_per_school: raw.webchat_per_school.unwrap_or(600).max(4),
            seed_demo: raw.seed_demo.unwrap_or(env == Environment::Development),
            meta_rate: raw.meta_rate.unwrap_or(80).max(1),
            twilio_rate: raw.twilio_rate.unwrap_or(10).max(1),
            telegram_rate: raw.telegram_rate.unwrap_or(30).max(1),
            send_lease_seconds: raw.send_lease_seconds.unwrap_or(60).max(1),
            job_lease_seconds: raw.job_lease_seconds.unwrap_or(300).max(4),
            flows_dir: raw.flows_dir.filter(|d| !d.as_os_str().is_empty()),
            ai: match raw.ai_base_url.filter(|u| !u.trim().is_empty()) {
                None => None,
                Some(base_url) => Some(AiConfig {
                    base_url: base_url.trim().trim_end_matches('/').to_string(),
                    api_key: Secret::new(raw.ai_api_key.unwrap_or_default()),
                    model: raw
                        .ai_model
                        .filter(|m| !m.trim().is_empty())
                        .unwrap_or_else(|| "gpt-4o-mini".into()),
                    // Two calls must fit in an attempt (three quarters of the job lease).
                    timeout: std::time::Duration::from_secs(
                        raw.ai_timeout_seconds
                            .unwrap_or(30)
                            .clamp(1, 600)
                            .min((raw.job_lease_seconds.unwrap_or(300).max(4) * 35 / 100).max(1)),
                    ),
                    monthly_tokens_cap: raw.ai_monthly_tokens_cap.unwrap_or(1_000_000).max(0),
                }),
            },
            models_dir: raw
                .models_dir
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or_else(crate::models::default_dir),
            backup_dir: raw.backup_dir.filter(|d| !d.as_os_str().is_empty()),
            client_ip_header: raw
                .client_ip_header
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty()),
            smtp_url: raw
                .smtp_url
                .filter(|u| !u.trim().is_empty())
                .map(Secret::new),
            mail_from: raw
                .mail_from
                .unwrap_or_else(|| "Raabta <no-reply@raabta.invalid>".into()),
            meta_app: match (raw.meta_app_secret, raw.meta_verify_token) {
                (None, None) => None,
                (Some(secret), Some(token))
                    if !secret.trim().is_empty() && !token.trim().is_empty() =>
                {
                    Some(crate::routing::PlatformMetaApp::new(secret, token))
                }
                _ => return Err(ConfigError::MetaApp),
            },
            metrics_token: raw
                .metrics_token
                .filter(|t| !t.trim().is_empty())
                .map(|t| Secret::new(t.trim().to_string())),
        })
    }

    /// Development defaults with everything kept under `data_dir` (used by tests and
    /// tools that build a config in code rather than from the environment).
    pub fn in_dir(data_dir: &Path) -> Self {
        Self::from_raw(Raw {
            data_dir: Some(data_dir.to_path_buf()),
            ..Raw::default()
        })
        .unwrap_or_else(|_| unreachable!("defaults are valid"))
    }

    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }

    /// The master key: from `RAABTA_MASTER_KEY`; in development, from (or newly
    /// generated into) `<data dir>/master.key` with mode 0600 and a loud warning;
    /// in production its absence is an error.
    pub fn master_key(&self) -> Result<MasterKey, ConfigError> {
        if let Some(k) = &self.master_key {
            return MasterKey::from_base64(k.expose()).map_err(ConfigError::MasterKey);
        }
        if self.is_production() {
            return Err(ConfigError::MasterKeyRequired);
        }
        let path = self.data_dir.join("master.key");
        let io = |source| ConfigError::MasterKeyFile {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(s) => {
                MasterKey::from_base64(&s).map_err(|_| ConfigError::MasterKeyFileBad(path.clone()))
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && self.data_dir.join("control.db").exists() =>
            {
                // A database made with a key that is not here (a restore run with
                // RAABTA_MASTER_KEY set, say): a new key could not read it.
                Err(ConfigError::MasterKeyMissing(self.data_dir.clone()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                crate::fsutil::create_private_dir(&self.data_dir).map_err(io)?;
                let key = MasterKey::generate();
                crate::fsutil::write_private(&path, key.to_base64().as_bytes()).map_err(io)?;
                tracing::warn!(
                    path = %path.display(),
                    "no RAABTA_MASTER_KEY: generated a development master key into the data dir. \
                     Anyone who can read this file can decrypt every school's personal data. \
                     Set RAABTA_MASTER_KEY (and RAABTA_ENV=production) for real deployments."
                );
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = Config::from_raw(Raw::default()).unwrap();
        assert_eq!(c.env, Environment::Development);
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert!(c.database_url.expose().starts_with("sqlite://"));
        assert!(c.seed_demo);
        // The flows built into the binary, unless a directory is configured.
        assert!(c.flows_dir.is_none());
        let c = Config::from_raw(Raw {
            flows_dir: Some("/srv/flows".into()),
            ..Raw::default()
        })
        .unwrap();
        assert_eq!(c.flows_dir.as_deref(), Some(Path::new("/srv/flows")));
    }

    #[test]
    fn bad_values_are_named() {
        let bad = |raw: Raw| Config::from_raw(raw).unwrap_err().to_string();
        assert!(bad(Raw {
            env: Some("staging".into()),
            ..Raw::default()
        })
        .contains("RAABTA_ENV"));
        assert!(bad(Raw {
            listen: Some("8080".into()),
            ..Raw::default()
        })
        .contains("RAABTA_LISTEN"));
        assert!(bad(Raw {
            public_url: Some("ftp://x".into()),
            ..Raw::default()
        })
        .contains("RAABTA_PUBLIC_URL"));
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let c = Config::from_raw(Raw {
            database_url: Some("postgres://u:hunter2@db/x".into()),
            master_key: Some("c2VjcmV0".into()),
            ..Raw::default()
        })
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("c2VjcmV0"));
    }

    #[test]
    fn production_requires_a_master_key() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::from_raw(Raw {
            env: Some("production".into()),
            data_dir: Some(dir.path().into()),
            ..Raw::default()
        })
        .unwrap();
        assert!(matches!(
            c.master_key(),
            Err(ConfigError::MasterKeyRequired)
        ));
        assert!(!c.seed_demo);
    }

    #[test]
    fn development_key_is_generated_once_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::from_raw(Raw {
            data_dir: Some(dir.path().into()),
            ..Raw::default()
        })
        .unwrap();
        let a = c.master_key().unwrap();
        let b = c.master_key().unwrap();
        assert_eq!(a.check_value(), b.check_value());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("master.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
