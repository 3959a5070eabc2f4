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

    /// Database URL (`sqlite://path`); created and migrated on start.
    #[arg(long, env = "CARTSYNC_DATABASE", default_value = "sqlite://cartsync.db")]
    pub database: String,

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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_flags_and_env_twins() {
        let c = Config::try_parse_from(["cartsync-server"]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database, "sqlite://cartsync.db");
        assert!(!c.dev && c.cors_origin.is_empty() && c.secret.is_none());
        assert_eq!(
            (c.anonymous_cart_retention_days, c.idempotency_retention_days),
            (30, 30)
        );
        let c = Config::try_parse_from([
            "cartsync-server",
            "--listen",
            "127.0.0.1:9",
            "--dev",
            "--cors-origin",
            "https://a.example,https://b.example",
            "--idempotency-retention-days",
            "45",
        ])
        .unwrap();
        assert_eq!(c.listen.port(), 9);
        assert!(c.dev);
        assert_eq!(c.cors_origin.len(), 2);
        assert_eq!(c.idempotency_retention_days, 45);
        // The only test in this binary touching this variable.
        std::env::set_var("CARTSYNC_CACHE_TTL_SECS", "7");
        let c = Config::try_parse_from(["cartsync-server"]).unwrap();
        std::env::remove_var("CARTSYNC_CACHE_TTL_SECS");
        assert_eq!(c.cache_ttl_secs, 7);
        assert!(Config::try_parse_from(["cartsync-server", "--listen", "nowhere"]).is_err());
    }
}
