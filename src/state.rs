//! Application state shared by every handler. Cheap to clone (everything behind `Arc`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts, Path};
use axum::http::request::Parts;

use crate::cache::TtlCache;
use crate::client_cache::ClientCache;
use crate::config::Config;
use crate::crypto::keyring::KeyRing;
use crate::crypto::password::PasswordHasherPool;
use crate::crypto::secret::ServerSecret;
use crate::error::AppError;
use crate::mfa::MfaDeps;
use crate::model::now;
use crate::notify::Notifier;
use crate::notify::mail::Mailer;
use crate::notify::sms::SmsSender;
use crate::store::{self, Db, tenants::Tenant};
use crate::web::metrics::Metrics;
use crate::web::templates::Templates;

/// The server's shared parts, behind one `Arc`: axum clones the state for every extractor and
/// middleware of every request, and one reference count is much cheaper than one per part
/// (measured: the field-by-field clone and drop were 5 % of a JWKS request's CPU).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub config: Arc<Config>,
    /// The resolved public base URL without trailing slash.
    pub public_url: Arc<str>,
    pub db: Db,
    pub keys: Arc<KeyRing>,
    pub secret: ServerSecret,
    pub passwords: PasswordHasherPool,
    pub mailer: Mailer,
    pub templates: Arc<Templates>,
    /// `mailer`, the SMS sender and `templates` together, for the services' notices and codes.
    pub notifier: Notifier,
    pub metrics: Arc<Metrics>,
    pub tenants: Arc<TtlCache<Arc<Tenant>>>,
    /// This node's copies of clients, good until a change ([`crate::client_cache`]).
    pub clients: Arc<ClientCache>,
    /// Parsed `server.trusted_proxies` (validated at config load).
    pub trusted_proxies: Arc<[crate::web::client_ip::IpNet]>,
    /// Outbound HTTP to clients (back-channel logout); no redirects followed.
    pub http: reqwest::Client,
    /// Each issuer's discovery document, rendered once.
    pub documents: crate::oidc::discovery::Documents,
    /// The WebAuthn relying party: the host of `public_url`.
    pub rp: crate::mfa::webauthn::RelyingParty,
}

/// A client's endpoint is called, never a redirect it points to (a logout token must not be
/// forwarded somewhere else).
pub fn outbound_http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

impl AppState {
    // Each argument is one already-built part of the server; a builder would only restate them.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: Config,
        public_url: String,
        db: Db,
        keys: KeyRing,
        secret: ServerSecret,
        passwords: PasswordHasherPool,
        mailer: Mailer,
        sms: SmsSender,
    ) -> AppState {
        let ttl = Duration::from_secs(config.server.cache_ttl_secs);
        let templates = Arc::new(Templates::new(&config.server.themes_dir));
        let notifier = Notifier::new(mailer.clone(), sms, templates.clone());
        let trusted_proxies: Arc<[crate::web::client_ip::IpNet]> = config
            .server
            .trusted_proxies
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect();
        // The public URL was validated at config load; a host-less one cannot reach here.
        let rp =
            crate::mfa::webauthn::RelyingParty::new(&public_url).unwrap_or_else(|e| panic!("{e}"));
        AppState(Arc::new(Shared {
            config: Arc::new(config),
            public_url: public_url.into(),
            db,
            keys: Arc::new(keys),
            secret,
            passwords,
            mailer,
            templates,
            notifier,
            metrics: Arc::new(Metrics::default()),
            tenants: Arc::new(TtlCache::new(ttl)),
            clients: Arc::new(ClientCache::new(ttl)),
            trusted_proxies,
            http: outbound_http(),
            documents: Default::default(),
            rp,
        }))
    }

    /// What the MFA services run with, for one request: the database, the server secret, the
    /// notifier and the time now. The web side's only way to build one.
    pub fn mfa_deps(&self) -> MfaDeps<'_> {
        MfaDeps {
            db: &self.db,
            secret: &self.secret,
            notifier: &self.notifier,
            otp: &self.config.otp,
            rp: &self.rp,
            now: now(),
        }
    }

    /// Whether the public URL is https: cookies then carry `Secure` and responses carry HSTS.
    /// The one place that decides it, so a cookie and the HSTS header can never disagree.
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    pub fn issuer(&self, slug: &str) -> String {
        format!("{}/t/{slug}", self.public_url)
    }

    /// The client `client_id` of the tenant, from this node's copy while nothing changed any
    /// client ([`crate::client_cache`]), else from the database.
    pub async fn client(
        &self,
        tenant_id: &crate::ids::TenantId,
        client_id: &crate::ids::ClientId,
    ) -> store::StoreResult<Option<Arc<store::clients::Client>>> {
        self.clients.find(&self.db, tenant_id, client_id).await
    }

    /// The tenant for `slug`, from the per-node cache or the database.
    /// Shared, not copied: every request of a tenant reads it.
    pub async fn tenant(&self, slug: &str) -> Result<Arc<Tenant>, AppError> {
        if let Some(t) = self.tenants.get(slug) {
            return Ok(t);
        }
        let t = Arc::new(
            store::tenants::find_by_slug(&self.db, slug)
                .await?
                .ok_or(AppError::UnknownTenant)?,
        );
        self.tenants.put(slug, t.clone());
        Ok(t)
    }
}

impl FromRef<AppState> for Arc<Metrics> {
    fn from_ref(s: &AppState) -> Self {
        s.metrics.clone()
    }
}

/// The tenant named by the `{tenant}` path segment, and its issuer URL. Every per-tenant
/// handler takes this; an unknown slug is a 404 before the handler runs.
pub struct TenantCtx {
    pub tenant: Arc<Tenant>,
    pub issuer: String,
}

impl FromRequestParts<AppState> for TenantCtx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Path(params) =
            Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(|_| AppError::NotFound)?;
        let slug = params.get("tenant").ok_or(AppError::NotFound)?;
        let tenant = state.tenant(slug).await?;
        let issuer = state.issuer(&tenant.slug);
        Ok(TenantCtx { tenant, issuer })
    }
}
