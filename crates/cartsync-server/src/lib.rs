//! # cartsync-server
//!
//! The reference cart authority: protocol v1 over axum, a durable store
//! behind [`store::CartStore`] (embedded SQLite, or PostgreSQL for several
//! instances), a disposable session cache (in process, or Redis), a demo
//! catalog behind pricing and inventory traits, checkout from a revalidated
//! snapshot, and a recovery worker. Every cart decision is the core's
//! (`cartsync_core::decide_batch`, `merge`, `replay`); this crate loads,
//! commits and serves.
//!
//! The library exists so tests can build the real router
//! ([`http::router`]) without a socket.

pub mod app;
pub mod auth;
pub mod cache;
pub mod catalog;
pub mod checkout;
pub mod config;
pub mod http;
pub mod metrics;
pub mod payment;
pub mod recovery;
pub mod serve;
pub mod service;
pub mod store;
pub mod stripes;
pub mod tokens;

pub use app::{App, AppState};
pub use config::Config;

/// Builds the router for a config (what `main` serves).
pub async fn build(config: &Config) -> Result<(axum::Router, AppState), app::BuildError> {
    let app = std::sync::Arc::new(App::from_config(config).await?);
    let router = http::router(app.clone(), config.static_dir.as_deref(), &config.cors_origin);
    Ok((router, app))
}
