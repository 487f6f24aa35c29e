//! Parley's server: axum serves the Leptos app (SSR, server functions, static files) and
//! socketioxide serves the chat on the same port.
//!
//! - [`config`]: the clap configuration (flags and environment variables).
//! - [`state`]: [`AppState`], the one handle on everything a request may need.
//! - [`domain`]: rooms, identities and messages, with no knowledge of sockets.
//! - [`store`]: persistence behind the [`store::Store`] trait (SQLite by default).
//! - [`socket`]: the Socket.IO namespace, middleware and handlers over the domain.
//! - [`cookies`]: the session and device cookies, read and written in one place.
//! - [`pages`]: the server side of the page's server functions (first paint, sign-in).
//! - [`http`]: routes other than the app's pages (health check) and the origin guard.
//! - [`downloads`]: shared files over HTTP, to members of their room only.
//! - [`hooks`]: incoming webhooks (`POST /hooks/{id}`), posting as a bot.
//! - [`metrics`]: this node's figures, for Prometheus ([`metrics_router`], on its own address)
//!   and for `/admin`'s live view.
//!
//! Dependencies point one way: `socket` and `pages` use `cookies`, `domain` and `store`;
//! `domain` uses `store`; nothing below uses anything above. What the pages need of the sockets
//! (closing a signed-out session's tabs) is the [`domain::Connections`] trait, which `socket`
//! implements.
//!
//! [`router`] and [`run`] are what `main` uses and what the integration tests start on
//! `127.0.0.1:0`.

// Rendering the app's deeply nested Leptos view types needs a higher limit in release builds.
#![recursion_limit = "256"]

pub mod config;
pub mod cookies;
pub mod domain;
pub mod downloads;
pub mod hooks;
pub mod http;
pub mod metrics;
pub mod pages;
pub mod socket;
pub mod state;
pub mod store;
pub mod telemetry;

use std::future::Future;

use std::sync::Arc;

use app::session::SharedBackend;
use app::shell;
use axum::Router;
use axum::serve::{ListenerExt, TapIo};
use leptos_axum::LeptosRoutes;
use tokio::net::{TcpListener, TcpStream};

pub use config::Config;
pub use state::{AppState, StartError};

/// Builds the whole HTTP service: pages, static files, `/healthz` and Socket.IO.
pub fn router(state: AppState) -> Router {
    let routes = app::page_routes();
    let leptos_options = state.leptos.clone();
    // Server-side rendering and the sign-in server functions reach the domain through the app's
    // own trait.
    let backend: SharedBackend = Arc::new(pages::PageBackend {
        chat: state.chat.clone(),
        accounts: state.accounts.clone(),
        connections: state.connections.clone(),
        cookies: cookies::CookieWriter { secure: state.config.secure_cookies },
    });
    let pages = Router::new()
        .route("/healthz", axum::routing::get(http::healthz))
        .leptos_routes_with_context(
            &state,
            routes,
            move || leptos::context::provide_context(backend.clone()),
            move || shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        // Pages and static files (the WASM above all) go out compressed; Socket.IO traffic is
        // answered by the socket layer outside this one and is not touched.
        .layer(tower_http::compression::CompressionLayer::new())
        // Files go out as they are: compressing images and archives costs CPU for nothing.
        .route("/files/{id}", axum::routing::get(downloads::original))
        .route("/files/{id}/preview", axum::routing::get(downloads::preview))
        .route(
            "/hooks/{id}",
            axum::routing::post(hooks::post)
                .layer(axum::extract::DefaultBodyLimit::max(hooks::MAX_BODY_BYTES)),
        );
    state
        .with_socket_layer(pages)
        .layer(axum::middleware::map_request(http::own_socket_request))
        .layer(http::cors(&state.origins))
        .layer(axum::middleware::from_fn_with_state(state.origins.clone(), http::guard_origin))
        .with_state(state)
}

/// The operators' endpoint, `GET /metrics` (Prometheus text format), for a listener of its own
/// (`--metrics-listen`), never the public one.
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", axum::routing::get(metrics_page)).with_state(state)
}

/// Serves [`metrics_router`] on `listener` for as long as the process runs.
pub async fn serve_metrics(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    axum::serve(listener, metrics_router(state)).await
}

async fn metrics_page(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> impl axum::response::IntoResponse {
    use socket::nodes::{NodeAnswer, NodeQuery};
    let mut counts: Vec<(String, &'static str, usize)> = Vec::new();
    for namespace in [app::events::CHAT_NAMESPACE, app::events::admin::ADMIN_NAMESPACE] {
        for transport in ["websocket", "polling"] {
            counts.push((namespace.to_owned(), transport, 0));
        }
    }
    if let Some(NodeAnswer::Connections { listed: connections, .. }) =
        state.ops.nodes.ask_self(NodeQuery::Connections).await
    {
        for c in &connections {
            if let Some(entry) =
                counts.iter_mut().find(|(ns, t, _)| *ns == c.namespace && *t == c.transport)
            {
                entry.2 += 1;
            }
        }
    }
    match state.chat.probe_store().await {
        Ok(elapsed) => state.ops.metrics.store_probe(elapsed),
        Err(e) => tracing::warn!(error = %e, "the store did not answer the metrics probe"),
    }
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.ops.metrics.render(&counts),
    )
}

/// Serves `state` on `listener` until `shutdown` completes, then closes every Socket.IO
/// connection (so long-lived WebSockets do not hold the shutdown open) and drains requests.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let connections = state.connections.clone();
    let app = router(state);
    tracing::info!(addr = %listener.local_addr()?, "listening");
    // The peer address reaches the Socket.IO middleware, for the per-address connection limit.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(without_nagle(listener), app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down");
            connections.close().await;
        })
        .await
}

/// `listener`, with Nagle's algorithm off on every connection it accepts (`TCP_NODELAY`).
///
/// A chat writes small frames that should leave at once. With Nagle on, a frame written while
/// the previous one is still unacknowledged waits for that acknowledgement, which the client's
/// kernel may delay by up to 40 ms: the second message of a quick pair, or messages in a busy
/// room, could arrive that much later. Node's HTTP server turns Nagle off by default too.
pub fn without_nagle(listener: TcpListener) -> TapIo<TcpListener, fn(&mut TcpStream)> {
    listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    })
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use axum::serve::Listener;

    use super::*;

    #[tokio::test]
    async fn accepted_connections_send_without_nagle() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let mut listener = without_nagle(listener);
        let _client = TcpStream::connect(addr).await.expect("connect");
        let (accepted, _) = listener.accept().await;
        assert!(accepted.nodelay().expect("socket option"), "TCP_NODELAY is set");
    }
}
