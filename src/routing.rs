//! The channel registry: every channel account, decrypted, held in memory so that a
//! webhook is verified and routed to its school without a database round trip. It is
//! loaded at start and refreshed periodically (a channel added by the CLI in another
//! process appears within the refresh interval) and after changes made in-process.

use crate::channel::{default_api_base, twilio_route, ChannelError, Credentials};
use crate::domain::message::Provider;
use crate::domain::school::{Tenant, TenantStatus};
use crate::store::tenancy::Tenancy;
use crate::store::{ChannelRow, ChannelStatus, StoreError};
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

/// The platform's Meta app: one app serves every school's WhatsApp Cloud API numbers,
/// so its secret (which signs their webhooks) and verify token are the operator's.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct PlatformMetaApp {
    app_secret: String,
    verify_token: String,
}

impl std::fmt::Debug for PlatformMetaApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlatformMetaApp(<redacted>)")
    }
}

impl Drop for PlatformMetaApp {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.app_secret.zeroize();
        self.verify_token.zeroize();
    }
}

impl PlatformMetaApp {
    pub fn new(app_secret: String, verify_token: String) -> Self {
        Self {
            app_secret: app_secret.trim().to_string(),
            verify_token: verify_token.trim().to_string(),
        }
    }
    pub fn app_secret(&self) -> &str {
        &self.app_secret
    }
    pub fn verify_token(&self) -> &str {
        &self.verify_token
    }
}

/// The control setting that keeps the platform's Meta app (sealed with the master key).
pub const PLATFORM_META_SETTING: &str = crate::store::tenancy::PLATFORM_META;

/// Stores the platform's Meta app (`raabta platform meta-app set`), sealed with the
/// master key; running servers use it from their next registry refresh.
pub async fn set_platform_meta_app(
    tenancy: &Tenancy,
    app: &PlatformMetaApp,
) -> Result<(), StoreError> {
    if app.app_secret.is_empty() || app.verify_token.is_empty() {
        return Err(StoreError::Corrupt(
            "the app secret and verify token must not be empty".into(),
        ));
    }
    let json = zeroize::Zeroizing::new(
        serde_json::to_vec(app).map_err(|_| StoreError::Corrupt("does not serialise".into()))?,
    );
    let sealed = tenancy
        .master()
        .seal_blob(PLATFORM_META_SETTING, &json)
        .map_err(StoreError::from)?;
    tenancy
        .backend()
        .control
        .put_setting(PLATFORM_META_SETTING, &sealed)
        .await
}

async fn stored_platform_meta_app(
    tenancy: &Tenancy,
) -> Result<Option<PlatformMetaApp>, StoreError> {
    let Some(sealed) = tenancy
        .backend()
        .control
        .setting(PLATFORM_META_SETTING)
        .await?
    else {
        return Ok(None);
    };
    let plain = zeroize::Zeroizing::new(
        tenancy
            .master()
            .open_blob(PLATFORM_META_SETTING, &sealed)
            .map_err(StoreError::from)?,
    );
    serde_json::from_slice(&plain)
        .map(Some)
        .map_err(|_| StoreError::Corrupt("the platform Meta app setting does not parse".into()))
}

#[derive(Debug, Default)]
pub struct Routes {
    /// The platform's Meta app, when configured.
    platform_meta: Option<PlatformMetaApp>,
    twilio: HashMap<String, Arc<Account>>,
    meta: HashMap<String, Arc<Account>>,
    telegram: HashMap<String, Arc<Account>>,
    /// Every account by its id (the sender and media fetcher look channels up by id).
    by_id: HashMap<Uuid, Arc<Account>>,
    /// Schools being closed: their chat (channels and web chat) is off.
    closing: Vec<crate::domain::TenantId>,
}

impl Routes {
    /// Whether the school is being closed (its chat is off).
    pub fn is_closing(&self, school: crate::domain::TenantId) -> bool {
        self.closing.contains(&school)
    }
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
    pub fn platform_meta(&self) -> Option<&PlatformMetaApp> {
        self.platform_meta.as_ref()
    }
    /// The secret that signs this Meta account's webhooks: its own app's (a school the
    /// operator registered with its own Meta app), else the platform app's.
    pub fn meta_secret<'a>(&'a self, account: &'a Account) -> Option<&'a str> {
        match &account.credentials {
            Credentials::Meta { app_secret, .. } if !app_secret.is_empty() => {
                Some(app_secret.as_str())
            }
            Credentials::Meta { .. } => self.platform_meta.as_ref().map(|p| p.app_secret()),
            _ => None,
        }
    }
    /// Every distinct secret that may sign a Meta webhook, each once.
    pub fn meta_secrets(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .meta
            .values()
            .filter_map(|a| self.meta_secret(a))
            .chain(self.platform_meta.as_ref().map(|p| p.app_secret()))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
    /// Every distinct Meta verify token (the platform's and own apps').
    pub fn meta_verify_tokens(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .meta
            .values()
            .filter_map(|a| match &a.credentials {
                Credentials::Meta { verify_token, .. } if !verify_token.is_empty() => {
                    Some(verify_token.as_str())
                }
                _ => None,
            })
            .chain(self.platform_meta.as_ref().map(|p| p.verify_token()))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
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
    /// The platform's Meta app from the environment (wins over the stored one).
    configured_meta: Option<PlatformMetaApp>,
    /// When the last on-demand reload ran (ms since the epoch).
    last_on_demand: std::sync::atomic::AtomicI64,
}

/// An unknown route reloads the registry at most this often (a channel added a moment
/// ago is found without waiting for the periodic refresh; random routes from strangers
/// cannot hammer the database).
pub const ON_DEMAND_RELOAD_MS: i64 = 1_000;

impl Registry {
    /// A registry whose platform Meta app comes from the configuration.
    pub fn with_platform_meta(configured: Option<PlatformMetaApp>) -> Self {
        Self {
            configured_meta: configured,
            ..Self::default()
        }
    }

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
        let mut routes = load(tenancy).await?;
        routes.platform_meta = match &self.configured_meta {
            Some(m) => Some(m.clone()),
            None => stored_platform_meta_app(tenancy).await.unwrap_or_else(|e| {
                tracing::error!(error = %e, "the stored platform Meta app is unreadable: Meta webhooks of schools without their own app are refused");
                None
            }),
        };
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
    // A closing school's chat is off (its administrators may still sign in).
    let closing: Vec<_> = tenancy
        .backend()
        .control
        .closures()
        .await?
        .into_iter()
        .map(|c| c.tenant_id)
        .collect();
    let mut routes = Routes {
        closing: closing.clone(),
        ..Routes::default()
    };
    for row in tenancy.backend().control.channels().await? {
        if closing.contains(&row.tenant_id) {
            continue;
        }
        // A channel waiting for the operator's approval takes no traffic.
        if row.status != ChannelStatus::Active {
            continue;
        }
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
                    Provider::Console | Provider::Web => continue,
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
    #[error("WhatsApp Cloud API numbers use the platform's Meta app: leave the app secret and verify token out (a school with its own Meta app is registered by the operator)")]
    OwnMetaApp,
}

/// Who registers a channel: the operator (active at once; a pending claim of the same
/// route by any school is replaced) or a school's administrator in the web admin
/// (Twilio and Meta wait for the operator's approval; the platform's Meta app only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registrant {
    Operator,
    SchoolAdmin,
}

/// A channel's credentials as stored: JSON encrypted under the school's key, bound to
/// the channel's id.
fn encrypt(
    school: &crate::store::tenancy::School,
    channel: Uuid,
    credentials: &Credentials,
) -> Result<Vec<u8>, StoreError> {
    let json = zeroize::Zeroizing::new(
        serde_json::to_vec(credentials)
            .map_err(|_| StoreError::Corrupt("credentials do not serialise".into()))?,
    );
    Ok(school.store.keys().encrypt(cred_field(channel), &json)?)
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
        Provider::Web => "/chat/<school>".to_string(),
    }
}

/// The school's channel with this id (None when it is not theirs or not there).
pub async fn school_channel(
    tenancy: &Tenancy,
    tenant: crate::domain::TenantId,
    channel: Uuid,
) -> Result<Option<ChannelRow>, StoreError> {
    Ok(tenancy
        .backend()
        .control
        .channels()
        .await?
        .into_iter()
        .find(|r| r.id == channel && r.tenant_id == tenant))
}

/// Replaces a channel's credentials (rotation). The new ones are validated, must be for
/// the same provider and keep the channel's route (Meta's phone number id, Twilio's
/// sender; a new number is a new channel), and replace the old ones only if nobody
/// changed them meanwhile. The channel must belong to the school `slug`.
///
/// A school administrator cannot set or change a Meta number's app (secret and verify
/// token): the platform's stays the platform's, and a school's own app (registered by
/// the operator) is kept as it was.
pub async fn rotate_channel(
    tenancy: &Tenancy,
    slug: &str,
    channel: Uuid,
    mut credentials: Credentials,
    by: Registrant,
) -> Result<ChannelRow, AddChannelError> {
    let school = admissible(tenancy, slug, &credentials, by).await?;
    let row = school_channel(tenancy, school.tenant.id, channel)
        .await?
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
    if by == Registrant::SchoolAdmin {
        if let (
            Credentials::Meta {
                app_secret,
                verify_token,
                ..
            },
            Credentials::Meta {
                app_secret: old_secret,
                verify_token: old_token,
                ..
            },
        ) = (&mut credentials, &decrypt(tenancy, &row).await?)
        {
            app_secret.clone_from(old_secret);
            verify_token.clone_from(old_token);
        }
    }
    let new = encrypt(&school, row.id, &credentials)?;
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

/// Makes every Meta channel that holds an app secret of its own use the platform's
/// app instead. Before the platform app existed, each school typed the one shared app
/// secret into its channel: once the operator has rotated that secret at Meta and
/// stored the new one, this stops the old copies from verifying anything. Returns how
/// many channels changed. (A school that truly has its own app is registered again
/// with `channel add meta --app-secret`.)
pub async fn adopt_platform_meta_app(tenancy: &Tenancy) -> Result<usize, AddChannelError> {
    let slugs: HashMap<_, _> = tenancy
        .list()
        .await?
        .into_iter()
        .map(|t| (t.id, t.slug.to_string()))
        .collect();
    let mut changed = 0;
    for row in tenancy.backend().control.channels().await? {
        if row.provider != Provider::Meta {
            continue;
        }
        let creds = decrypt(tenancy, &row).await?;
        let Credentials::Meta {
            phone_number_id,
            access_token,
            app_secret,
            ..
        } = &creds
        else {
            continue;
        };
        if app_secret.is_empty() {
            continue;
        }
        let Some(slug) = slugs.get(&row.tenant_id) else {
            continue;
        };
        let platform = Credentials::Meta {
            phone_number_id: phone_number_id.clone(),
            access_token: access_token.clone(),
            app_secret: String::new(),
            verify_token: String::new(),
        };
        rotate_channel(tenancy, slug, row.id, platform, Registrant::Operator).await?;
        changed += 1;
    }
    Ok(changed)
}

/// The operator registers a channel for a school: see [`register_channel`].
pub async fn add_channel(
    tenancy: &Tenancy,
    slug: &str,
    credentials: Credentials,
    api_base: Option<String>,
) -> Result<ChannelRow, AddChannelError> {
    register_channel(tenancy, slug, credentials, api_base, Registrant::Operator).await
}

/// Registers a channel for a school: validates the secrets (fail closed), derives the
/// route, encrypts the credentials with the school's data key and stores them, active
/// or pending by who registers it ([`Registrant`]).
/// Checks credentials a registrant may give (a school's administrator cannot bring a
/// Meta app of their own) and finds the school.
async fn admissible(
    tenancy: &Tenancy,
    slug: &str,
    credentials: &Credentials,
    by: Registrant,
) -> Result<crate::store::tenancy::School, AddChannelError> {
    credentials.validate()?;
    if by == Registrant::SchoolAdmin && credentials.has_own_meta_app() {
        return Err(AddChannelError::OwnMetaApp);
    }
    Ok(tenancy.school(slug).await?)
}

pub async fn register_channel(
    tenancy: &Tenancy,
    slug: &str,
    credentials: Credentials,
    api_base: Option<String>,
    by: Registrant,
) -> Result<ChannelRow, AddChannelError> {
    let school = admissible(tenancy, slug, &credentials, by).await?;
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
    let credentials_enc = encrypt(&school, id, &credentials)?;
    let row = ChannelRow {
        id,
        tenant_id: school.tenant.id,
        provider,
        route_key,
        api_base,
        credentials_enc,
        created_at: Utc::now(),
        status: match (by, provider) {
            (Registrant::SchoolAdmin, Provider::Twilio | Provider::Meta) => ChannelStatus::Pending,
            _ => ChannelStatus::Active,
        },
    };
    tenancy
        .backend()
        .control
        .insert_channel(&row, by == Registrant::Operator)
        .await?;
    Ok(row)
}
