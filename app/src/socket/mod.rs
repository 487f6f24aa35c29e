//! The client side of the Socket.IO connection, behind one trait.
//!
//! Components talk to [`SocketClient`], never to JavaScript: in the browser ([`Socket`] under
//! `hydrate`) it wraps the official `socket.io-client` from npm through wasm-bindgen, because no
//! Rust Socket.IO client compiles for wasm32 today; during SSR it is a no-op, since a page is
//! rendered before any connection exists. A pure-Rust client can replace the JS one by
//! implementing this trait, without touching a component.
//!
//! Everything is typed by the event definitions in [`crate::events`]: a request is emitted by
//! [`ClientEvent::NAME`] and its ack decoded as [`Ack<E>`](crate::events::Ack), a subscription
//! decodes [`ServerEvent::Payload`].

#[cfg(feature = "hydrate")]
mod js;
#[cfg(not(feature = "hydrate"))]
mod noop;

use std::future::Future;

use send_wrapper::SendWrapper;

use crate::error::ChatError;
use crate::events::{ClientEvent, ServerEvent};

/// The socket implementation for this build: the JS client in the browser, a no-op on the server.
#[cfg(feature = "hydrate")]
pub type Socket = js::JsSocket;
#[cfg(feature = "hydrate")]
pub use js::load_client;
/// The socket implementation for this build: the JS client in the browser, a no-op on the server.
#[cfg(not(feature = "hydrate"))]
pub type Socket = noop::NoopSocket;

/// How long a request waits for its ack before failing with [`RequestError::Timeout`].
pub const REQUEST_TIMEOUT_MS: u32 = 10_000;

/// How long a request carrying bytes (a file's chunk) waits for its ack: a chunk of the largest
/// payload takes seconds on a slow uplink.
pub const BYTES_TIMEOUT_MS: u32 = 60_000;

/// Which Engine.IO transports the client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transports {
    /// Long-polling first, upgraded to WebSocket (the Socket.IO default).
    #[default]
    Default,
    /// Long-polling only (what a client behind a WebSocket-hostile proxy gets).
    PollingOnly,
    /// WebSocket only.
    WebSocketOnly,
}

/// Where and how to connect. There are no credentials here: the browser sends the session
/// cookie with the handshake, and the server's connect middleware checks it.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The namespace path, resolved against the page's origin (e.g. `/chat`).
    pub namespace: &'static str,
    /// Allowed transports.
    pub transports: Transports,
}

/// The connection's state, as a person should see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// Opening the first connection.
    Connecting,
    /// Connected.
    Connected,
    /// Lost; the client retries on its own.
    Reconnecting {
        /// Why the connection dropped, as the client reports it.
        reason: String,
    },
    /// The server refused the connection (its connect middleware said no).
    Refused {
        /// The middleware's message.
        message: String,
    },
}

/// Why a request did not produce a success value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The server answered with a typed refusal.
    #[error(transparent)]
    Rejected(#[from] ChatError),
    /// No ack arrived in time (the request may or may not have been applied).
    #[error("the server did not answer in time")]
    Timeout,
    /// The payload or the ack could not be converted.
    #[error("could not encode or decode: {0}")]
    Codec(String),
    /// There is no connection in this build (SSR).
    #[error("no connection")]
    Unavailable,
}

/// A listener registration; dropping it removes the listener.
#[must_use = "the listener is removed when this is dropped"]
///
/// It is `Send + Sync` so Leptos cleanups can own it, but it must be dropped on the thread that
/// made it (the browser has only one); [`SendWrapper`] panics otherwise.
pub struct Subscription(Option<SendWrapper<Box<dyn FnOnce()>>>);

impl Subscription {
    /// A subscription whose drop runs `remove`.
    pub fn new(remove: impl FnOnce() + 'static) -> Self {
        Self(Some(SendWrapper::new(Box::new(remove))))
    }

    /// A subscription with nothing to remove.
    pub fn none() -> Self {
        Self(None)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(remove) = self.0.take() {
            (remove.take())();
        }
    }
}

/// A typed Socket.IO client.
pub trait SocketClient: Clone + Send + Sync + 'static {
    /// Opens a connection (it reconnects by itself until [`SocketClient::disconnect`]).
    /// When the server closes the connection (for instance because the session was signed out),
    /// it tries once more, so the server's verdict arrives as [`ConnectionStatus::Refused`].
    fn connect(options: &ConnectOptions) -> Result<Self, RequestError>;

    /// Emits `E` and waits for its ack.
    fn request<E: ClientEvent>(
        &self,
        payload: &E::Payload,
    ) -> impl Future<Output = Result<E::Ok, RequestError>> + 'static;

    /// Emits `E` with `bytes` as its second argument, a Socket.IO binary attachment (sent as
    /// bytes over WebSocket, never as JSON numbers), and waits for its ack.
    fn request_with_bytes<E: ClientEvent>(
        &self,
        payload: &E::Payload,
        bytes: &[u8],
    ) -> impl Future<Output = Result<E::Ok, RequestError>> + 'static;

    /// Calls `handler` for every `E` the server sends, until the subscription is dropped.
    fn subscribe<E: ServerEvent>(&self, handler: impl Fn(E::Payload) + 'static) -> Subscription;

    /// Calls `handler` whenever the connection status changes, until the subscription is dropped.
    fn watch_status(&self, handler: impl Fn(ConnectionStatus) + 'static) -> Subscription;

    /// Closes the connection for good.
    fn disconnect(&self);
}
