//! `cartsync-server`: parses flags, opens the store, serves until SIGTERM or
//! Ctrl-C, then drains in-flight requests and exits.

use cartsync_server::{build, recovery, Config};
use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    // Logs go to stderr (stdout stays free for output a caller may pipe),
    // coloured only when stderr is a terminal.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = Config::parse();
    match serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "cartsync-server failed");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let (router, app) = build(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    // `listen` first: tools read the address from this line.
    tracing::info!(
        listen = %listener.local_addr()?,
        instance = %app.instance,
        database = %redacted(&config.database),
        cache = %redacted(&config.cache),
        dev = config.dev,
        "cartsync-server listening"
    );
    let worker = tokio::spawn(recovery::run_forever(
        app.clone(),
        Duration::from_secs(config.recovery_interval_secs),
    ));
    let sweeper = tokio::spawn(recovery::sweep_forever(
        app.clone(),
        recovery::sweep_interval(app.hold_expiry),
    ));
    let limits = config.conn_limits();
    tracing::info!(
        max_connections = limits.max_connections,
        header_timeout_ms = limits.header_timeout.as_millis() as u64,
        body_timeout_ms = config.body_timeout_ms,
        "connection limits"
    );
    cartsync_server::serve::serve(listener, router, limits, shutdown_signal()).await?;
    worker.abort();
    sweeper.abort();
    tracing::info!(instance = %app.instance, "cartsync-server stopped");
    Ok(())
}

/// A URL for the logs, without its password.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C: shutting down"),
        () = term => tracing::info!("SIGTERM: shutting down"),
    }
}
