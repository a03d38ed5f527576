//! Channel settings (administrators): the school's WhatsApp (Twilio, Meta) and Telegram
//! accounts with their webhook URLs; add one or rotate its credentials (validated,
//! stored encrypted with the school's key, never shown back); send a test message to
//! the administrator's own WhatsApp number; set that number.
//!
//! The platform operator's side (schools, every school's channels) stays on the command
//! line (`raabta tenant …`, `raabta channel …`).

use super::error::{AdminError, AdminForm, Administrator, Empty, On, Staff};
use super::web::{redirect, render_page, staff_activity, Said};
use crate::app::App;
use crate::channel::Credentials;
use crate::domain::message::{OutboundMessage, OutboundMode, Provider};
use crate::domain::phone::Phone;
use crate::routing::AddChannelError;
use crate::store::tenancy::School;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

store_port!(ActivityStore, ConversationStore, OfficeStore, OutboxStore);

pub async fn page(
    State(app): State<App>,
    Administrator(Staff { school, session: s }): Administrator,
) -> Result<Response, AdminError> {
    view(&app, &school, &s, Said::nothing()).await
}

/// The channels page, for an administrator (every caller has checked the role).
async fn view(
    app: &App,
    school: &School,
    s: &super::auth::ActiveSession,
    said: Said,
) -> Result<Response, AdminError> {
    let rows = app.tenancy.backend().control.channels().await?;
    let phone = port(school)
        .staff_phone(s.staff.id)
        .await?
        .map(|p| p.e164().to_string());
    let channels: Vec<_> = rows
        .iter()
        .filter(|r| r.tenant_id == school.tenant.id)
        .map(|r| {
            context! {
                id => r.id.to_string(), provider => r.provider.as_str(),
                route => r.route_key.clone(),
                webhook => format!("{}{}", app.config.public_url, crate::routing::webhook_path(r.provider, &r.route_key)),
                api_base => r.api_base.clone(), added => r.created_at.format("%Y-%m-%d").to_string(),
                whatsapp => matches!(r.provider, Provider::Twilio | Provider::Meta)
                    && r.status == crate::store::ChannelStatus::Active,
                pending => r.status == crate::store::ChannelStatus::Pending,
            }
        })
        .collect();
    Ok(render_page(
        "channels.html",
        school,
        s,
        context! { channels => channels, my_phone => phone },
        said,
    ))
}

#[derive(Deserialize)]
pub struct CredentialsForm {
    provider: String,
    #[serde(default)]
    account_sid: String,
    #[serde(default)]
    auth_token: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    phone_number_id: String,
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    app_secret: String,
    #[serde(default)]
    verify_token: String,
    #[serde(default)]
    bot_token: String,
    #[serde(default)]
    secret_token: String,
}

impl CredentialsForm {
    fn credentials(&self) -> Option<Credentials> {
        let t = |s: &str| s.trim().to_string();
        Some(match self.provider.as_str() {
            "twilio" => Credentials::Twilio {
                account_sid: t(&self.account_sid),
                auth_token: t(&self.auth_token),
                from: t(&self.from),
            },
            "meta" => Credentials::Meta {
                phone_number_id: t(&self.phone_number_id),
                access_token: t(&self.access_token),
                app_secret: t(&self.app_secret),
                verify_token: t(&self.verify_token),
            },
            "telegram" => Credentials::Telegram {
                bot_token: t(&self.bot_token),
                // Telegram echoes this secret in a header on every webhook call; the
                // admin registers the same one with setWebhook (required: validate()).
                secret_token: t(&self.secret_token),
            },
            _ => return None,
        })
    }
}

fn problem(e: AddChannelError) -> Result<String, crate::store::StoreError> {
    match e {
        AddChannelError::Store(crate::store::StoreError::Conflict(_)) => {
            Ok("That number or bot is registered already.".into())
        }
        AddChannelError::Store(e) => Err(e),
        other => Ok(other.to_string()),
    }
}

/// Adds a channel account for this school.
pub async fn add(
    State(app): State<App>,
    AdminForm { staff, form: f }: AdminForm<CredentialsForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let Some(creds) = f.credentials() else {
        return view(&app, &school, &s, Said::refused("Choose a provider.")).await;
    };
    let provider = creds.provider();
    match crate::routing::register_channel(
        &app.tenancy,
        school.tenant.slug.as_str(),
        creds,
        None,
        crate::routing::Registrant::SchoolAdmin,
    )
    .await
    {
        Ok(row) => {
            let details = json!({ "provider": provider.as_str(), "status": row.status.as_str() });
            changed(&app, &school, &s, "channel.add", &row, details).await?;
            if row.status == crate::store::ChannelStatus::Pending {
                tracing::info!(school = %school.tenant.slug, channel = %row.id, provider = %provider, "channel waiting for the operator's approval");
            }
            Ok(redirect("/admin/channels"))
        }
        Err(e) => view(&app, &school, &s, Said::refused(problem(e)?)).await,
    }
}

/// A channel added or changed by this administrator: logged, and the registry reloaded
/// so that its webhooks and sends find it.
async fn changed(
    app: &App,
    school: &School,
    s: &super::auth::ActiveSession,
    action: &str,
    row: &crate::store::ChannelRow,
    details: serde_json::Value,
) -> Result<(), crate::store::StoreError> {
    let entry = staff_activity(
        s,
        action,
        Some(format!("channel:{}", row.id)),
        details,
        app.clock.now(),
    );
    port(school).log_activity(&entry).await?;
    reload(app).await;
    Ok(())
}

async fn reload(app: &App) {
    if let Err(e) = app.registry.reload(&app.tenancy).await {
        tracing::warn!(error = %e, "channel registry reload failed; the periodic refresh will retry");
    }
}

/// Replaces a channel's credentials.
pub async fn rotate(
    State(app): State<App>,
    On(id, AdminForm { staff, form: f }): On<AdminForm<CredentialsForm>>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let Some(creds) = f.credentials() else {
        return view(&app, &school, &s, Said::refused("Choose a provider.")).await;
    };
    match crate::routing::rotate_channel(
        &app.tenancy,
        school.tenant.slug.as_str(),
        id,
        creds,
        crate::routing::Registrant::SchoolAdmin,
    )
    .await
    {
        Ok(row) => {
            let details = json!({ "provider": row.provider.as_str() });
            changed(&app, &school, &s, "channel.rotate", &row, details).await?;
            view(
                &app,
                &school,
                &s,
                Said::notice("The new credentials are in use."),
            )
            .await
        }
        Err(AddChannelError::UnknownChannel) => Err(AdminError::NotFound),
        Err(e) => view(&app, &school, &s, Said::refused(problem(e)?)).await,
    }
}

#[derive(Deserialize)]
pub struct PhoneForm {
    phone: String,
}

/// Sets the signed-in administrator's own WhatsApp number (for test messages).
pub async fn my_phone(
    State(app): State<App>,
    AdminForm { staff, form: f }: AdminForm<PhoneForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let phone = match f.phone.trim() {
        "" => None,
        p => match Phone::parse(p, school.tenant.timezone.phone_region()) {
            Ok(p) => Some(p),
            Err(e) => return view(&app, &school, &s, Said::refused(format!("Phone: {e}"))).await,
        },
    };
    let entry = staff_activity(
        &s,
        "staff.set_phone",
        Some(format!("staff:{}", s.staff.id.0)),
        json!({ "set": phone.is_some() }),
        app.clock.now(),
    );
    match port(&school)
        .set_staff_phone(s.staff.id, phone.as_ref(), &entry)
        .await
    {
        Ok(_) => Ok(redirect("/admin/channels")),
        Err(crate::store::StoreError::Conflict(msg)) => {
            view(
                &app,
                &school,
                &s,
                Said::refused_with(StatusCode::CONFLICT, msg),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// Queues a test message on a WhatsApp channel to the administrator's own number.
pub async fn test(
    State(app): State<App>,
    On(id, AdminForm { staff, .. }): On<AdminForm<Empty>>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let row = crate::routing::school_channel(&app.tenancy, school.tenant.id, id)
        .await?
        .ok_or(AdminError::NotFound)?;
    if !matches!(row.provider, Provider::Twilio | Provider::Meta) {
        return view(
            &app,
            &school,
            &s,
            Said::refused(
                "Telegram bots cannot start a chat: message the bot, then it can answer.",
            ),
        )
        .await;
    }
    let Some(phone) = port(&school).staff_phone(s.staff.id).await? else {
        return view(
            &app,
            &school,
            &s,
            Said::refused("Set your own WhatsApp number first."),
        )
        .await;
    };
    let store = port(&school);
    let now = app.clock.now();
    let conversation = store
        .ensure_conversation(row.id, row.provider, &phone.digits(), now)
        .await?;
    let entry = staff_activity(
        &s,
        "channel.test",
        Some(format!("channel:{}", row.id)),
        json!({ "provider": row.provider.as_str() }),
        now,
    );
    let text = format!(
        "Raabta test message for {}: this channel works.",
        school.tenant.name
    );
    crate::outbound::queue_staff_message(
        store,
        conversation,
        &format!("channel-test:{}", Uuid::now_v7()),
        &OutboundMessage::text(&text),
        Some(OutboundMode::Provider),
        &entry,
    )
    .await?;
    app.wake_worker();
    view(
        &app,
        &school,
        &s,
        Said::notice("A test message is on its way to your number (see the Outbox if it does not arrive: outside WhatsApp's 24-hour window it waits as a manual link)."),
    )
    .await
}
