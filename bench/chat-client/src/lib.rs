//! A Socket.IO client for driving Parley (or any Socket.IO server) from Rust: the integration
//! tests and the load generator both connect, wait for the namespace, send requests and read
//! acks through this one piece of plumbing over `rust_socketio`.
//!
//! It knows nothing of Parley's events: it deals in event names and JSON values. What a test or a
//! benchmark does with them (typed decoding, latency probes) stays with the caller.
//!
//! Two things `rust_socketio` leaves to its users are settled here once:
//!
//! - A connect is not done when `connect()` returns, but when the namespace answers: with
//!   `connect` (accepted) or `connect_error` (refused by a middleware, with its message).
//!   [`Connection::open`] waits for that answer.
//! - An ack arrives as the raw argument array; [`Connection::request`] hands back its first
//!   value, which is the whole ack for servers that ack with one value (as Parley does).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::{Event, Payload, TransportType};
use serde_json::Value;

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server's base URL (`http://127.0.0.1:3000/`), with any handshake query.
    pub url: String,
    /// The namespace (`/chat`); `None` for `/`.
    pub namespace: Option<String>,
    /// A `Cookie` header sent with the handshake (Parley's session cookie).
    pub cookie: Option<String>,
    /// The handshake's `auth` payload.
    pub auth: Option<Value>,
    /// WebSocket from the first request, without long-polling first.
    pub websocket_only: bool,
    /// How long the namespace may take to answer.
    pub wait: Duration,
}

impl Options {
    /// Connects to `url`'s `namespace`, over the default transports, waiting up to 10 s.
    pub fn new(url: impl Into<String>, namespace: Option<&str>) -> Self {
        Self {
            url: url.into(),
            namespace: namespace.map(str::to_owned),
            cookie: None,
            auth: None,
            websocket_only: false,
            wait: Duration::from_secs(10),
        }
    }
}

/// What the server sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// An event and its first argument.
    Event {
        /// The event name.
        name: String,
        /// Its first argument (`null` if it had none).
        data: Value,
    },
    /// The server ended the namespace connection.
    Closed,
}

/// Which events to hand to the listener.
#[derive(Debug, Clone, Copy)]
pub enum Listen {
    /// Every event (tests).
    All,
    /// Only this one (a load generator measuring one event pays for no others).
    Only(&'static str),
}

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The transport failed (no server, bad URL).
    #[error("transport: {0}")]
    Transport(#[from] rust_socketio::Error),
    /// The namespace refused the connection; the text is the server's `connect_error` payload.
    #[error("refused: {0}")]
    Refused(String),
    /// The namespace did not answer in time.
    #[error("no answer to the namespace connect within {0:?}")]
    Timeout(Duration),
}

/// A connected client.
pub struct Connection {
    client: Client,
}

/// The first value of a payload (`null` if it has none).
pub fn first_value(payload: Payload) -> Value {
    match payload {
        Payload::Text(mut values) if !values.is_empty() => values.swap_remove(0),
        Payload::Text(_) => Value::Null,
        Payload::Binary(bytes) => Value::String(format!("<{} bytes>", bytes.len())),
        #[allow(deprecated)]
        Payload::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
    }
}

/// An ack's value: `rust_socketio` hands an ack over as the raw argument array.
fn ack_value(payload: Payload) -> Value {
    match first_value(payload) {
        Value::Array(mut args) if !args.is_empty() => args.swap_remove(0),
        other => other,
    }
}

impl Connection {
    /// Connects and waits until the namespace accepts or refuses. `on_event` is called, on the
    /// client's task, for what [`Listen`] selects and for the server closing the connection.
    pub async fn open(
        options: Options,
        listen: Listen,
        on_event: impl Fn(Incoming) + Send + Sync + 'static,
    ) -> Result<Self, ConnectError> {
        let (status_tx, mut status) = tokio::sync::mpsc::unbounded_channel::<Result<(), String>>();
        let refused = status_tx.clone();
        let on_event = Arc::new(on_event);
        let mut builder = ClientBuilder::new(options.url);
        if let Some(namespace) = &options.namespace {
            builder = builder.namespace(namespace.as_str());
        }
        if let Some(auth) = options.auth {
            builder = builder.auth(auth);
        }
        if let Some(cookie) = options.cookie {
            builder = builder.opening_header("Cookie", cookie);
        }
        if options.websocket_only {
            builder = builder.transport_type(TransportType::Websocket);
        }
        let closed = Arc::clone(&on_event);
        builder = builder
            .reconnect(false)
            .on(Event::Connect, move |_, _| {
                let _ = status_tx.send(Ok(()));
                async {}.boxed()
            })
            .on(Event::Error, move |payload, _| {
                let _ = refused.send(Err(format!("{:?}", first_value(payload))));
                async {}.boxed()
            })
            // The server ending the namespace connection (a `41` packet).
            .on(Event::Close, move |_, _| {
                closed(Incoming::Closed);
                async {}.boxed()
            });
        builder = match listen {
            Listen::All => builder.on_any(move |event, payload, _| {
                on_event(Incoming::Event {
                    name: String::from(event.as_str()),
                    data: first_value(payload),
                });
                async {}.boxed()
            }),
            Listen::Only(name) => builder.on(name, move |payload, _| {
                on_event(Incoming::Event { name: name.to_owned(), data: first_value(payload) });
                async {}.boxed()
            }),
        };
        let client = builder.connect().await?;
        match tokio::time::timeout(options.wait, status.recv()).await {
            Ok(Some(Ok(()))) => Ok(Self { client }),
            Ok(Some(Err(e))) => Err(ConnectError::Refused(e)),
            Ok(None) | Err(_) => Err(ConnectError::Timeout(options.wait)),
        }
    }

    /// Emits `event` and waits up to `wait` for its ack's value; `None` if the emit failed or no
    /// ack came in time (the server may or may not have acted on it).
    pub async fn request(&self, event: &str, payload: Value, wait: Duration) -> Option<Value> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.request_then(event, payload, wait, move |ack| {
            let _ = tx.send(ack);
        })
        .await
        .ok()?;
        tokio::time::timeout(wait, rx).await.ok()?.ok()
    }

    /// Emits `event` and returns once it is sent; `done` gets the ack's value when it comes
    /// (never, if it does not come within `wait`). For senders that must not wait for acks.
    pub async fn request_then(
        &self,
        event: &str,
        payload: Value,
        wait: Duration,
        done: impl FnOnce(Value) + Send + 'static,
    ) -> Result<(), rust_socketio::Error> {
        // `rust_socketio` wants an `Fn` callback; the ack comes once.
        let done = Arc::new(Mutex::new(Some(done)));
        self.client
            .emit_with_ack(event, payload, wait, move |ack, _| {
                if let Some(done) = done.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    done(ack_value(ack));
                }
                async {}.boxed()
            })
            .await
    }

    /// Emits an event that expects no ack.
    pub async fn emit(&self, event: &str, payload: Value) -> Result<(), rust_socketio::Error> {
        self.client.emit(event, payload).await
    }

    /// Closes the connection.
    pub async fn close(self) -> Result<(), rust_socketio::Error> {
        self.client.disconnect().await
    }
}
