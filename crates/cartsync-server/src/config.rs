//! Command-line flags, each with an environment-variable twin.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The cartsync reference cart authority.
#[derive(Debug, Clone, Parser)]
#[command(name = "cartsync-server", version, about)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "CARTSYNC_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Database URL: `sqlite://path` (the embedded default, created on
    /// start) or `postgres://user@host:port/db` (several instances may share
    /// it; for failover name every node and add
    /// `target_session_attrs=read-write`, e.g.
    /// `postgres://u@h1:5432,h2:5432/db?target_session_attrs=read-write`).
    /// Migrated on start.
    #[arg(long, env = "CARTSYNC_DATABASE", default_value = "sqlite://cartsync.db")]
    pub database: String,

    /// Session cache: `memory` (in process, the default) or a Redis URL
    /// (`redis://127.0.0.1:6379/0`) shared by every instance. Redis being
    /// down costs store reads, never a request.
    #[arg(long, env = "CARTSYNC_CACHE", default_value = "memory")]
    pub cache: String,

    /// Prefix of every Redis key this server writes (several deployments
    /// may share one Redis).
    #[arg(long, env = "CARTSYNC_CACHE_PREFIX", default_value = "cartsync:")]
    pub cache_prefix: String,

    /// Most projections the in-process cache holds (least recently used
    /// go first).
    #[arg(long, env = "CARTSYNC_CACHE_CAPACITY", default_value_t = 100_000)]
    pub cache_capacity: u64,

    /// Longest a Redis command may take before it counts as a miss.
    #[arg(long, env = "CARTSYNC_CACHE_TIMEOUT_MS", default_value_t = 250)]
    pub cache_timeout_ms: u64,

    /// Most PostgreSQL connections this instance holds.
    #[arg(long, env = "CARTSYNC_PG_POOL_SIZE", default_value_t = 16)]
    pub pg_pool_size: usize,

    /// Longest wait for a PostgreSQL connection (pooled or new); past it
    /// the request answers `503 store_unavailable`.
    #[arg(long, env = "CARTSYNC_STORE_TIMEOUT_MS", default_value_t = 5_000)]
    pub store_timeout_ms: u64,

    /// This instance's name in logs, `/healthz`, `/metrics` and PostgreSQL's
    /// `application_name`; the listen address when absent.
    #[arg(long, env = "CARTSYNC_INSTANCE")]
    pub instance: Option<String>,

    /// Directory of static files (the demo storefront) served at `/`.
    #[arg(long, env = "CARTSYNC_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// Catalog JSON file; the bundled demo catalog when absent.
    #[arg(long, env = "CARTSYNC_CATALOG")]
    pub catalog: Option<PathBuf>,

    /// Secret for signing user tokens (HS256). A random one per process when
    /// absent, so tokens then do not survive a restart.
    #[arg(long, env = "CARTSYNC_SECRET", hide_env_values = true)]
    pub secret: Option<String>,

    /// Enables `POST /api/v1/dev/login` and the `/api/v1/admin/*` endpoints.
    #[arg(long, env = "CARTSYNC_DEV")]
    pub dev: bool,

    /// Origins allowed to call the API cross-origin (repeat or separate with
    /// commas). Same origin only when absent.
    #[arg(long, env = "CARTSYNC_CORS_ORIGIN", value_delimiter = ',')]
    pub cors_origin: Vec<String>,

    /// Anonymous carts untouched this many days are deleted.
    #[arg(long, env = "CARTSYNC_ANONYMOUS_CART_RETENTION_DAYS", default_value_t = 30)]
    pub anonymous_cart_retention_days: u64,

    /// Idempotency records are kept this many days (longer than the client's
    /// 7-day outbox limit).
    #[arg(long, env = "CARTSYNC_IDEMPOTENCY_RETENTION_DAYS", default_value_t = 30)]
    pub idempotency_retention_days: u64,

    /// Seconds between recovery passes (expiry and snapshot verification).
    #[arg(long, env = "CARTSYNC_RECOVERY_INTERVAL_SECS", default_value_t = 3600)]
    pub recovery_interval_secs: u64,

    /// Session cache time-to-live in seconds.
    #[arg(long, env = "CARTSYNC_CACHE_TTL_SECS", default_value_t = 300)]
    pub cache_ttl_secs: u64,

    /// User token lifetime in seconds (dev login).
    #[arg(long, env = "CARTSYNC_USER_TOKEN_TTL_SECS", default_value_t = 86_400)]
    pub user_token_ttl_secs: u64,

    /// Longest time a client may take to send a request's header (and an
    /// idle keep-alive connection may wait for its next one); the
    /// connection is closed after it.
    #[arg(long, env = "CARTSYNC_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_timeout_ms: u64,

    /// Longest time a client may take to send a request body (`408
    /// request_timeout`, and the connection is closed).
    #[arg(long, env = "CARTSYNC_BODY_TIMEOUT_MS", default_value_t = 10_000)]
    pub body_timeout_ms: u64,

    /// Most connections served at once; past it new connections wait to be
    /// accepted. Default: three quarters of the process's open-file limit.
    #[arg(long, env = "CARTSYNC_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,

    /// How long an unpaid order holds its stock, in seconds (the bank
    /// transfer's pay-by date); the recovery worker then releases it and
    /// marks the order `expired`.
    #[arg(long, env = "CARTSYNC_HOLD_EXPIRY_SECS", default_value_t = 259_200)]
    pub hold_expiry_secs: u64,

    /// Secret the payment provider signs its callbacks with (HMAC-SHA256).
    /// A random one per process when absent: then only `--dev`'s simulated
    /// payments can be signed.
    #[arg(long, env = "CARTSYNC_PAYMENT_CALLBACK_SECRET", hide_env_values = true)]
    pub payment_callback_secret: Option<String>,

    /// How far a callback's signed timestamp may be from now, in seconds.
    #[arg(long, env = "CARTSYNC_PAYMENT_CALLBACK_TOLERANCE_SECS", default_value_t = 300)]
    pub payment_callback_tolerance_secs: u64,

    /// The account bank transfers go to: beneficiary name.
    #[arg(long, env = "CARTSYNC_BANK_BENEFICIARY", default_value = "Tidewater Supply Co.")]
    pub bank_beneficiary: String,

    /// The account bank transfers go to: IBAN.
    #[arg(long, env = "CARTSYNC_BANK_IBAN", default_value = "DE89 3704 0044 0532 0130 00")]
    pub bank_iban: String,

    /// The account bank transfers go to: BIC.
    #[arg(long, env = "CARTSYNC_BANK_BIC", default_value = "COBADEFFXXX")]
    pub bank_bic: String,
}

impl Config {
    /// The accept loop's limits (`--header-timeout-ms`, `--max-connections`).
    pub fn conn_limits(&self) -> crate::serve::ConnLimits {
        crate::serve::ConnLimits {
            header_timeout: std::time::Duration::from_millis(self.header_timeout_ms.max(1)),
            max_connections: self
                .max_connections
                .unwrap_or_else(crate::serve::default_max_connections),
            drain: std::time::Duration::from_secs(10),
        }
    }

    /// `--instance`, or the listen address.
    pub fn instance_name(&self) -> String {
        self.instance.clone().unwrap_or_else(|| self.listen.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_flags_and_env_twins() {
        let c = Config::try_parse_from(["cartsync-server"]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database, "sqlite://cartsync.db");
        assert_eq!((c.cache.as_str(), c.cache_prefix.as_str()), ("memory", "cartsync:"));
        assert_eq!(
            (c.pg_pool_size, c.store_timeout_ms, c.cache_timeout_ms),
            (16, 5_000, 250)
        );
        assert_eq!(c.instance_name(), "127.0.0.1:8080");
        assert_eq!((c.header_timeout_ms, c.body_timeout_ms), (10_000, 10_000));
        let limits = c.conn_limits();
        assert_eq!(limits.header_timeout.as_secs(), 10);
        assert_eq!(limits.max_connections, crate::serve::default_max_connections());
        assert!(limits.max_connections >= 16);
        assert!(!c.dev && c.cors_origin.is_empty() && c.secret.is_none());
        assert_eq!(
            (c.anonymous_cart_retention_days, c.idempotency_retention_days),
            (30, 30)
        );
        assert_eq!((c.hold_expiry_secs, c.payment_callback_tolerance_secs), (259_200, 300));
        assert!(c.payment_callback_secret.is_none());
        let c = Config::try_parse_from([
            "cartsync-server",
            "--listen",
            "127.0.0.1:9",
            "--dev",
            "--cors-origin",
            "https://a.example,https://b.example",
            "--idempotency-retention-days",
            "45",
            "--hold-expiry-secs",
            "60",
        ])
        .unwrap();
        assert_eq!(c.listen.port(), 9);
        assert!(c.dev);
        assert_eq!(c.cors_origin.len(), 2);
        assert_eq!(c.idempotency_retention_days, 45);
        assert_eq!(c.hold_expiry_secs, 60);
        // The only test in this binary touching this variable.
        std::env::set_var("CARTSYNC_CACHE_TTL_SECS", "7");
        std::env::set_var("CARTSYNC_CACHE", "redis://127.0.0.1:6379/3");
        std::env::set_var("CARTSYNC_INSTANCE", "eu-1");
        std::env::set_var("CARTSYNC_HOLD_EXPIRY_SECS", "90");
        std::env::set_var("CARTSYNC_PAYMENT_CALLBACK_SECRET", "whsec");
        let c = Config::try_parse_from(["cartsync-server"]).unwrap();
        for v in [
            "CARTSYNC_CACHE_TTL_SECS",
            "CARTSYNC_CACHE",
            "CARTSYNC_INSTANCE",
            "CARTSYNC_HOLD_EXPIRY_SECS",
            "CARTSYNC_PAYMENT_CALLBACK_SECRET",
        ] {
            std::env::remove_var(v);
        }
        assert_eq!(c.cache_ttl_secs, 7);
        assert_eq!(c.cache, "redis://127.0.0.1:6379/3");
        assert_eq!(c.instance_name(), "eu-1");
        assert_eq!(c.hold_expiry_secs, 90);
        assert_eq!(c.payment_callback_secret.as_deref(), Some("whsec"));
        assert!(Config::try_parse_from(["cartsync-server", "--listen", "nowhere"]).is_err());
    }
}
