//! The shared state of a server instance and how it is assembled.

use crate::auth::Jwt;
use crate::cache::{self, CacheOptions, SessionCache};
use crate::catalog::{DemoCatalog, Inventory, PostgresInventory, Pricing, SqliteInventory};
use crate::config::Config;
use crate::http::error::ApiError;
use crate::metrics::Metrics;
use crate::payment::{BankAccount, BankTransfer, PaymentProvider, Payments};
use crate::service::Flights;
use crate::store::{self, postgres::PgOptions, CartRecord, CartStore, PostgresStore, SqliteStore, TokenHash};
use cartsync_core::Limits;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Everything a request handler needs. One per server instance; instances
/// on the same database share nothing but the database (and the Redis
/// cache, when there is one).
pub struct App {
    /// This instance's name (logs, `/healthz`, `/metrics`).
    pub instance: String,
    pub store: Arc<dyn CartStore>,
    pub pricing: Arc<dyn Pricing>,
    pub inventory: Arc<dyn Inventory>,
    /// The demo catalog's admin side (`--dev` only).
    pub admin: Option<Arc<DemoCatalog>>,
    pub cache: Arc<dyn SessionCache>,
    pub metrics: Metrics,
    pub jwt: Jwt,
    pub limits: Limits,
    pub dev: bool,
    pub user_token_ttl_secs: u64,
    /// Longest time a request body may take to arrive (`408`).
    pub body_timeout: Duration,
    pub anonymous_cart_retention: Duration,
    pub idempotency_retention: Duration,
    /// How long an unpaid order holds its stock.
    pub hold_expiry: Duration,
    /// The payment providers (the first pays new orders).
    pub payments: Payments,
    /// The secret payment callbacks are signed with (the `--dev` lever
    /// that simulates the bank signs with it too).
    pub payment_callback_secret: Vec<u8>,
    /// Serialises the mutations of one cart in this process (see stripes.rs).
    pub cart_stripes: crate::stripes::CartStripes,
    /// Concurrent store reads of one token share one read.
    pub loads: Flights<TokenHash, Result<CartRecord, ApiError>>,
    /// The recovery worker's position: carts updated before it were
    /// verified by an earlier pass of this process.
    pub verified_until: AtomicU64,
}

/// What handlers hold.
pub type AppState = Arc<App>;

/// Why a server could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("opening the database: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("opening the session cache: {0}")]
    Cache(#[from] crate::cache::CacheError),
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
    /// Opens the database, the cache and the catalog named by `config`.
    pub async fn from_config(config: &Config) -> Result<Self, BuildError> {
        let instance = config.instance_name();
        let metrics = Metrics::new(&instance);
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
        let (store, inventory): (Arc<dyn CartStore>, Arc<dyn Inventory>) =
            if store::postgres::is_postgres_url(&config.database) {
                let options = PgOptions {
                    pool_size: config.pg_pool_size,
                    timeout: Duration::from_millis(config.store_timeout_ms.max(1)),
                    application_name: format!("cartsync {instance}"),
                };
                let pg = PostgresStore::connect(&config.database, &options).await?;
                let inventory = PostgresInventory::open(pg.pool().clone(), &catalog.products()).await?;
                (Arc::new(pg), Arc::new(inventory))
            } else {
                let path = SqliteStore::path_from_url(&config.database);
                let open = path.clone();
                let sqlite = tokio::task::spawn_blocking(move || SqliteStore::open(&open))
                    .await
                    .map_err(crate::store::StoreError::backend)??;
                let inventory = SqliteInventory::open(&path, &catalog.products())?;
                (Arc::new(sqlite), Arc::new(inventory))
            };
        let store: Arc<dyn CartStore> = Arc::new(store::Timed::new(store, metrics.store_seconds.clone()));
        let cache = cache::open(
            &config.cache,
            &CacheOptions {
                ttl: Duration::from_secs(config.cache_ttl_secs),
                capacity: config.cache_capacity,
                prefix: config.cache_prefix.clone(),
                timeout: Duration::from_millis(config.cache_timeout_ms.max(1)),
            },
        )?;
        let cache: Arc<dyn SessionCache> = Arc::new(cache::Timed::new(cache, metrics.cache_seconds.clone()));
        let secret = match &config.secret {
            Some(s) => s.clone().into_bytes(),
            None => {
                tracing::warn!("no --secret given: user tokens are signed with a random per-process key");
                crate::tokens::random_bytes::<32>()?.to_vec()
            }
        };
        let callback_secret = match &config.payment_callback_secret {
            Some(s) => s.clone().into_bytes(),
            None => {
                tracing::warn!(
                    "no --payment-callback-secret given: payment callbacks are signed with a random per-process key"
                );
                crate::tokens::random_bytes::<32>()?.to_vec()
            }
        };
        let bank: Arc<dyn PaymentProvider> = Arc::new(BankTransfer::new(
            store.clone(),
            BankAccount {
                beneficiary: config.bank_beneficiary.clone(),
                iban: config.bank_iban.clone(),
                bic: config.bank_bic.clone(),
            },
            callback_secret.clone(),
            config.payment_callback_tolerance_secs,
        ));
        let catalog = Arc::new(catalog);
        let day = Duration::from_secs(86_400);
        Ok(App {
            instance,
            store,
            pricing: catalog.clone(),
            inventory,
            admin: config.dev.then_some(catalog),
            cache,
            metrics,
            jwt: Jwt::new(secret),
            limits: Limits::default(),
            dev: config.dev,
            user_token_ttl_secs: config.user_token_ttl_secs,
            body_timeout: Duration::from_millis(config.body_timeout_ms.max(1)),
            anonymous_cart_retention: day * config.anonymous_cart_retention_days.min(100_000) as u32,
            idempotency_retention: day * config.idempotency_retention_days.min(100_000) as u32,
            hold_expiry: Duration::from_secs(config.hold_expiry_secs.clamp(1, 10 * 365 * 86_400)),
            payments: Payments::new(vec![bank]),
            payment_callback_secret: callback_secret,
            cart_stripes: crate::stripes::CartStripes::default(),
            loads: Flights::default(),
            verified_until: AtomicU64::new(0),
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
