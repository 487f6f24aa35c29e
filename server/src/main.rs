//! The `parley` binary: reads the configuration, binds, and serves until SIGINT/SIGTERM.

use std::net::SocketAddr;

use clap::Parser;
use leptos::config::get_configuration;
use server::{AppState, Config, run, shutdown_signal, telemetry};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::parse();
    telemetry::init();

    // Leptos reads where the site's files are from the LEPTOS_* variables cargo-leptos sets.
    let mut leptos = get_configuration(None)?.leptos_options;
    let addr: SocketAddr = config.listen.unwrap_or(leptos.site_addr);

    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        tracing::error!(%addr, error = %e, "cannot listen");
        e
    })?;
    leptos.site_addr = listener.local_addr()?;
    let metrics_listen = config.metrics_listen;
    let state = AppState::new(config, leptos).await?;
    if let Some(addr) = metrics_listen {
        let metrics = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            tracing::error!(%addr, error = %e, "cannot listen for metrics");
            e
        })?;
        tracing::info!(%addr, "metrics at /metrics");
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = server::serve_metrics(metrics, state).await {
                tracing::error!(error = %e, "the metrics endpoint stopped");
            }
        });
    }
    run(listener, state, shutdown_signal()).await?;
    Ok(())
}
