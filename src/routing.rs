//! The channel registry: every channel account, decrypted, held in memory so that a
//! webhook is verified and routed to its school without a database round trip. It is
//! loaded at start and refreshed periodically (a channel added by the CLI in another
//! process appears within the refresh interval) and after changes made in-process.

use crate::channel::{default_api_base, twilio_route, ChannelError, Credentials};
use crate::domain::message::Provider;
use crate::domain::school::{Tenant, TenantStatus};
use crate::store::tenancy::Tenancy;
use crate::store::{ChannelRow, StoreError};
use chrono::Utc;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

use crate::store::tenancy::channel_credentials_field as cred_field;

/// One channel account, ready to verify and send.
#[derive(Debug)]
pub struct Account {
    pub id: Uuid,
    pub tenant: Tenant,
    pub provider: Provider,
    pub route_key: String,
    pub api_base: String,
    pub credentials: Credentials,
}

#[derive(Debug, Default)]
pub struct Routes {
    twilio: HashMap<String, Arc<Account>>,
    meta: HashMap<String, Arc<Account>>,
    telegram: HashMap<String, Arc<Account>>,
    /// Every account by its id (the sender and media fetcher look channels up by id).
    by_id: HashMap<Uuid, Arc<Account>>,
}

impl Routes {
    /// By the `To` of an inbound Twilio request (`whatsapp:+14155238886`).
    pub fn twilio(&self, to: &str) -> Option<Arc<Account>> {
        twilio_route(to).and_then(|r| self.twilio.get(&r).cloned())
    }
    pub fn meta(&self, phone_number_id: &str) -> Option<Arc<Account>> {
        self.meta.get(phone_number_id).cloned()
    }
    pub fn telegram(&self, route: &str) -> Option<Arc<Account>> {
        self.telegram.get(route).cloned()
    }
    pub fn meta_accounts(&self) -> impl Iterator<Item = &Arc<Account>> {
        self.meta.values()
    }
    pub fn by_id(&self, id: Uuid) -> Option<Arc<Account>> {
        self.by_id.get(&id).cloned()
    }
    /// A school's channel accounts, oldest first.
    pub fn by_tenant(&self, tenant: crate::domain::TenantId) -> Vec<Arc<Account>> {
        let mut v: Vec<_> = self
            .by_id
            .values()
            .filter(|a| a.tenant.id == tenant)
            .cloned()
            .collect();
        v.sort_by_key(|a| a.id);
        v
    }
    pub fn len(&self) -> usize {
        self.by_id.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Default)]
pub struct Registry {
    routes: RwLock<Arc<Routes>>,
    /// When the last on-demand reload ran (ms since the epoch).
    last_on_demand: std::sync::atomic::AtomicI64,
}

/// An unknown route reloads the registry at most this often (a channel added a moment
/// ago is found without waiting for the periodic refresh; random routes from strangers
/// cannot hammer the database).
pub const ON_DEMAND_RELOAD_MS: i64 = 1_000;

impl Registry {
    pub fn current(&self) -> Arc<Routes> {
        self.routes.read().map(|r| r.clone()).unwrap_or_default()
    }

    /// Looks something up in the routes; if it is not there, reloads (at most once a
    /// second, see [`Registry::reload_for_unknown`]) and looks again.
    pub async fn find<T>(
        &self,
        tenancy: &Tenancy,
        lookup: impl Fn(&Routes) -> Option<T>,
    ) -> Option<T> {
        if let Some(found) = lookup(&self.current()) {
            return Some(found);
        }
        self.reload_for_unknown(tenancy)
            .await
            .and_then(|fresh| lookup(&fresh))
    }

    /// Reloads when a webhook names a route we do not know, at most once a second.
    /// Returns the routes to look in again, or None when it was too soon (or failed).
    pub async fn reload_for_unknown(&self, tenancy: &Tenancy) -> Option<Arc<Routes>> {
        use std::sync::atomic::Ordering;
        let now = Utc::now().timestamp_millis();
        let last = self.last_on_demand.load(Ordering::Relaxed);
        if now - last < ON_DEMAND_RELOAD_MS
            || self
                .last_on_demand
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return None;
        }
        match self.reload(tenancy).await {
            Ok(_) => Some(self.current()),
            Err(e) => {
                tracing::warn!(error = %e, "on-demand channel registry reload failed");
                None
            }
        }
    }

    /// Reloads every channel from the control store. A channel whose credentials do
    /// not decrypt or validate is left out (fail closed) with an error in the log.
    pub async fn reload(&self, tenancy: &Tenancy) -> Result<usize, StoreError> {
        let routes = load(tenancy).await?;
        let n = routes.len();
        if let Ok(mut w) = self.routes.write() {
            *w = Arc::new(routes);
        }
        Ok(n)
    }
}

async fn load(tenancy: &Tenancy) -> Result<Routes, StoreError> {
    let tenants: HashMap<_, _> = tenancy
        .list()
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let mut routes = Routes::default();
    for row in tenancy.backend().control.channels().await? {
        let Some(tenant) = tenants
            .get(&row.tenant_id)
            .filter(|t| t.status == TenantStatus::Active)
        else {
            continue;
        };
        match decrypt(tenancy, &row).await {
            Ok(credentials) => {
                let account = Arc::new(Account {
                    id: row.id,
                    tenant: tenant.clone(),
                    provider: row.provider,
                    route_key: row.route_key.clone(),
                    api_base: row.api_base.clone(),
                    credentials,
                });
                routes.by_id.insert(account.id, account.clone());
                let map = match row.provider {
                    Provider::Twilio => &mut routes.twilio,
                    Provider::Meta => &mut routes.meta,
                    Provider::Telegram => &mut routes.telegram,
                    // The simulator's conversations never come through a channel row.
                    Provider::Console => continue,
                };
                map.insert(row.route_key, account);
            }
            Err(e) => {
                tracing::error!(channel = %row.id, school = %tenant.slug, error = %e, "channel refused: it will not accept traffic");
            }
        }
    }
    Ok(routes)
}

#[derive(Debug, thiserror::Error)]
pub enum AddChannelError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Channel(#[from] ChannelError),
    #[error("the API base must be an http:// or https:// URL")]
    BadApiBase,
    #[error("no such channel for this school")]
    UnknownChannel,
    #[error("the new credentials are for another provider")]
    OtherProvider,
    #[error("the number or phone number id differs: add a new channel instead")]
    RouteChanged,
    #[error("the channel was changed meanwhile; reload and try again")]
    Changed,
}

async fn decrypt(tenancy: &Tenancy, row: &ChannelRow) -> Result<Credentials, AddChannelError> {
    let ring = tenancy.key_ring(row.tenant_id).await?;
    let plain = ring
        .decrypt(cred_field(row.id), &row.credentials_enc)
        .map_err(StoreError::from)?;
    let creds: Credentials = serde_json::from_slice(&plain)
        .map_err(|_| StoreError::Corrupt("channel credentials do not parse".into()))?;
    if creds.provider() != row.provider {
        return Err(
            StoreError::Corrupt("channel credentials belong to another provider".into()).into(),
        );
    }
    creds.validate()?;
    Ok(creds)
}

/// The path of a channel's webhook (after the public URL).
pub fn webhook_path(provider: Provider, route: &str) -> String {
    match provider {
        Provider::Twilio => "/webhooks/twilio".to_string(),
        Provider::Meta => "/webhooks/meta".to_string(),
        Provider::Telegram => format!("/webhooks/telegram/{route}"),
        Provider::Console => "(console: no webhook)".to_string(),
    }
}

/// Replaces a channel's credentials (rotation). The new ones are validated, must be for
/// the same provider and keep the channel's route (Meta's phone number id, Twilio's
/// sender; a new number is a new channel), and replace the old ones only if nobody
/// changed them meanwhile. The channel must belong to the school `slug`.
pub async fn rotate_channel(
    tenancy: &Tenancy,
    slug: &str,
    channel: Uuid,
    credentials: Credentials,
) -> Result<ChannelRow, AddChannelError> {
    credentials.validate()?;
    let school = tenancy.school(slug).await?;
    let row = tenancy
        .backend()
        .control
        .channels()
        .await?
        .into_iter()
        .find(|r| r.id == channel && r.tenant_id == school.tenant.id)
        .ok_or(AddChannelError::UnknownChannel)?;
    if credentials.provider() != row.provider {
        return Err(AddChannelError::OtherProvider);
    }
    let same_route = match &credentials {
        Credentials::Twilio { from, .. } => {
            twilio_route(from).as_deref() == Some(row.route_key.as_str())
        }
        Credentials::Meta {
            phone_number_id, ..
        } => phone_number_id.trim() == row.route_key,
        Credentials::Telegram { .. } => true,
    };
    if !same_route {
        return Err(AddChannelError::RouteChanged);
    }
    let json = zeroize::Zeroizing::new(
        serde_json::to_vec(&credentials)
            .map_err(|_| StoreError::Corrupt("credentials do not serialise".into()))?,
    );
    let new = school
        .store
        .keys()
        .encrypt(cred_field(row.id), &json)
        .map_err(StoreError::from)?;
    if !tenancy
        .backend()
        .control
        .replace_channel_credentials(row.id, &row.credentials_enc, &new)
        .await?
    {
        return Err(AddChannelError::Changed);
    }
    Ok(ChannelRow {
        credentials_enc: new,
        ..row
    })
}

/// Registers a channel for a school: validates the secrets (fail closed), derives the
/// route, encrypts the credentials with the school's data key and stores them.
pub async fn add_channel(
    tenancy: &Tenancy,
    slug: &str,
    credentials: Credentials,
    api_base: Option<String>,
) -> Result<ChannelRow, AddChannelError> {
    credentials.validate()?;
    let school = tenancy.school(slug).await?;
    let provider = credentials.provider();
    let api_base = api_base
        .unwrap_or_else(|| default_api_base(provider).to_string())
        .trim_end_matches('/')
        .to_string();
    if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
        return Err(AddChannelError::BadApiBase);
    }
    let route_key = match &credentials {
        Credentials::Twilio { from, .. } => {
            twilio_route(from).ok_or_else(|| ChannelError::Invalid("bad sender".into()))?
        }
        Credentials::Meta {
            phone_number_id, ..
        } => phone_number_id.trim().to_string(),
        Credentials::Telegram { .. } => Uuid::new_v4().simple().to_string(),
    };
    let id = Uuid::now_v7();
    let json = zeroize::Zeroizing::new(
        serde_json::to_vec(&credentials)
            .map_err(|_| StoreError::Corrupt("credentials do not serialise".into()))?,
    );
    let credentials_enc = school
        .store
        .keys()
        .encrypt(cred_field(id), &json)
        .map_err(StoreError::from)?;
    let row = ChannelRow {
        id,
        tenant_id: school.tenant.id,
        provider,
        route_key,
        api_base,
        credentials_enc,
        created_at: Utc::now(),
    };
    tenancy.backend().control.insert_channel(&row).await?;
    Ok(row)
}
