//! The shared state of a server instance and how it is assembled.

use crate::auth::Jwt;
use crate::cache::SessionCache;
use crate::catalog::{DemoCatalog, Inventory, Pricing, SqliteInventory};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::{CartStore, SqliteStore};
use cartsync_core::Limits;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Everything a request handler needs. One per server instance; two
/// instances on the same database share nothing but the database.
pub struct App {
    pub store: Arc<dyn CartStore>,
    pub pricing: Arc<dyn Pricing>,
    pub inventory: Arc<dyn Inventory>,
    /// The demo catalog's admin side (`--dev` only).
    pub admin: Option<Arc<DemoCatalog>>,
    pub cache: SessionCache,
    pub metrics: Metrics,
    pub jwt: Jwt,
    pub limits: Limits,
    pub dev: bool,
    pub user_token_ttl_secs: u64,
    pub anonymous_cart_retention: Duration,
    pub idempotency_retention: Duration,
    /// Serialises checkouts in this process: reprice, reserve and commit the
    /// order happen as one step, so two submits cannot both reserve.
    pub checkout_lock: tokio::sync::Mutex<()>,
    /// Serialises the mutations of one cart in this process (see stripes.rs).
    pub cart_stripes: crate::stripes::CartStripes,
}

/// What handlers hold.
pub type AppState = Arc<App>;

/// Why a server could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("opening the database: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("reading the catalog {path}: {source}")]
    CatalogFile { path: String, source: std::io::Error },
    #[error("loading the catalog: {0}")]
    Catalog(#[from] crate::catalog::CatalogError),
    #[error("opening the inventory: {0}")]
    Inventory(#[from] crate::catalog::InventoryError),
    #[error("the OS random source failed: {0}")]
    Random(#[from] getrandom::Error),
}

impl App {
    /// Opens the database and the catalog named by `config`.
    pub fn from_config(config: &Config) -> Result<Self, BuildError> {
        let path = SqliteStore::path_from_url(&config.database);
        let store = SqliteStore::open(&path)?;
        let catalog = match &config.catalog {
            Some(path) => {
                let json = std::fs::read_to_string(path).map_err(|source| BuildError::CatalogFile {
                    path: path.display().to_string(),
                    source,
                })?;
                DemoCatalog::from_json(&json)?
            }
            None => DemoCatalog::bundled()?,
        };
        let secret = match &config.secret {
            Some(s) => s.clone().into_bytes(),
            None => {
                tracing::warn!("no --secret given: user tokens are signed with a random per-process key");
                crate::tokens::random_bytes::<32>()?.to_vec()
            }
        };
        let inventory = SqliteInventory::open(&path, &catalog.products())?;
        let catalog = Arc::new(catalog);
        let day = Duration::from_secs(86_400);
        Ok(App {
            store: Arc::new(store),
            pricing: catalog.clone(),
            inventory: Arc::new(inventory),
            admin: config.dev.then_some(catalog),
            cache: SessionCache::new(Duration::from_secs(config.cache_ttl_secs), 100_000),
            metrics: Metrics::default(),
            jwt: Jwt::new(secret),
            limits: Limits::default(),
            dev: config.dev,
            user_token_ttl_secs: config.user_token_ttl_secs,
            anonymous_cart_retention: day * config.anonymous_cart_retention_days.min(100_000) as u32,
            idempotency_retention: day * config.idempotency_retention_days.min(100_000) as u32,
            checkout_lock: tokio::sync::Mutex::new(()),
            cart_stripes: crate::stripes::CartStripes::default(),
        })
    }
}

/// Milliseconds since the Unix epoch (the server's clock; the core takes
/// time as an argument).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
