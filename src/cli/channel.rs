//! `raabta channel …`: WhatsApp (Twilio, Meta) and Telegram channel accounts.

use clap::Subcommand;
use raabta::app::App;
use raabta::config::Config;

#[derive(Subcommand)]
pub(super) enum ChannelCmd {
    /// Register a channel account for a school (credentials are stored encrypted).
    #[command(subcommand)]
    Add(ChannelAdd),
    /// List channel accounts, their status and webhook URLs (never their secrets).
    List,
    /// Approve a channel a school administrator added in the web admin (a Twilio
    /// number or Meta phone-number id is pending until then).
    Approve {
        /// The channel's id (from `channel list`).
        id: uuid::Uuid,
    },
}

#[derive(Subcommand)]
pub(super) enum ChannelAdd {
    /// WhatsApp through Twilio.
    Twilio {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        account_sid: String,
        #[arg(long, env = "RAABTA_TWILIO_AUTH_TOKEN", hide_env_values = true)]
        auth_token: String,
        /// The WhatsApp sender, e.g. whatsapp:+14155238886.
        #[arg(long)]
        from: String,
        #[arg(long)]
        api_base: Option<String>,
    },
    /// WhatsApp Cloud API (Meta).
    Meta {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        phone_number_id: String,
        #[arg(long, env = "RAABTA_META_ACCESS_TOKEN", hide_env_values = true)]
        access_token: String,
        /// Only for a school with its own Meta app (with --verify-token); without them
        /// the platform's Meta app signs this number's webhooks.
        #[arg(long, requires = "verify_token")]
        app_secret: Option<String>,
        #[arg(long, requires = "app_secret")]
        verify_token: Option<String>,
        #[arg(long)]
        api_base: Option<String>,
    },
    /// Telegram bot.
    Telegram {
        #[arg(long)]
        tenant: String,
        #[arg(long, env = "RAABTA_TELEGRAM_BOT_TOKEN", hide_env_values = true)]
        bot_token: String,
        #[arg(long, env = "RAABTA_TELEGRAM_SECRET_TOKEN", hide_env_values = true)]
        secret_token: String,
        #[arg(long)]
        api_base: Option<String>,
    },
}

pub(super) async fn channel_cmd(config: Config, cmd: ChannelCmd) -> anyhow::Result<()> {
    use raabta::channel::Credentials;
    let app = App::build(config).await?;
    match cmd {
        ChannelCmd::Add(add) => {
            let (tenant, creds, api_base) = match add {
                ChannelAdd::Twilio {
                    tenant,
                    account_sid,
                    auth_token,
                    from,
                    api_base,
                } => (
                    tenant,
                    Credentials::Twilio {
                        account_sid,
                        auth_token,
                        from,
                    },
                    api_base,
                ),
                ChannelAdd::Meta {
                    tenant,
                    phone_number_id,
                    access_token,
                    app_secret,
                    verify_token,
                    api_base,
                } => (
                    tenant,
                    Credentials::Meta {
                        phone_number_id,
                        access_token,
                        app_secret: app_secret.unwrap_or_default(),
                        verify_token: verify_token.unwrap_or_default(),
                    },
                    api_base,
                ),
                ChannelAdd::Telegram {
                    tenant,
                    bot_token,
                    secret_token,
                    api_base,
                } => (
                    tenant,
                    Credentials::Telegram {
                        bot_token,
                        secret_token,
                    },
                    api_base,
                ),
            };
            let row = raabta::routing::add_channel(&app.tenancy, &tenant, creds, api_base).await?;
            println!(
                "added {} channel {} for {tenant}; webhook URL: {}{}",
                row.provider,
                row.id,
                app.config.public_url,
                raabta::routing::webhook_path(row.provider, &row.route_key)
            );
            if row.provider == raabta::domain::message::Provider::Telegram {
                println!("register it with Telegram's setWebhook, passing the same secret_token");
            }
            println!(
                "running servers pick it up within {}s",
                raabta::app::REGISTRY_REFRESH.as_secs()
            );
        }
        ChannelCmd::List => {
            let tenants: std::collections::HashMap<_, _> = app
                .tenancy
                .list()
                .await?
                .into_iter()
                .map(|t| (t.id, t.slug.to_string()))
                .collect();
            let rows = app.tenancy.backend().control.channels().await?;
            if rows.is_empty() {
                println!(
                    "no channels yet: `raabta channel add twilio|meta|telegram --tenant <slug> …`"
                );
            }
            for r in rows {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}{}\t{}",
                    tenants.get(&r.tenant_id).map(String::as_str).unwrap_or("?"),
                    r.provider,
                    r.id,
                    r.status.as_str(),
                    if r.provider == raabta::domain::message::Provider::Telegram {
                        "-"
                    } else {
                        r.route_key.as_str()
                    },
                    app.config.public_url,
                    raabta::routing::webhook_path(r.provider, &r.route_key),
                    r.api_base
                );
            }
        }
        ChannelCmd::Approve { id } => {
            let control = &app.tenancy.backend().control;
            let Some(row) = control.channels().await?.into_iter().find(|r| r.id == id) else {
                anyhow::bail!("no channel {id}: see `raabta channel list`");
            };
            if !control.approve_channel(id).await? {
                anyhow::bail!(
                    "channel {id} is not pending (it is {})",
                    row.status.as_str()
                );
            }
            let school = app
                .tenancy
                .list()
                .await?
                .into_iter()
                .find(|t| t.id == row.tenant_id)
                .map(|t| t.slug.to_string())
                .unwrap_or_default();
            let mut entry = raabta::domain::activity::ActivityEntry::now(
                "operator",
                "channel.approve",
                Some(format!("channel:{id}")),
                "cli",
                serde_json::json!({ "provider": row.provider.as_str() }),
            );
            entry.at = chrono::Utc::now();
            app.tenancy
                .school(&school)
                .await?
                .store
                .log_activity(&entry)
                .await?;
            println!(
                "approved {} channel {id} ({}) for {school}; running servers pick it up within {}s",
                row.provider,
                row.route_key,
                raabta::app::REGISTRY_REFRESH.as_secs()
            );
        }
    }
    Ok(())
}
