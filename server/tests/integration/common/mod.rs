//! Test harness: the real server on `127.0.0.1:0` and a real Socket.IO client (the workspace's
//! `chat-client`, over `rust_socketio`).

#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use chat_client::{ConnectError, Connection, Incoming, Listen, Options};
use leptos::config::LeptosOptions;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use server::{AppState, Config};
use tokio::sync::{mpsc, oneshot};

pub mod servers;
pub mod stores;
pub mod uploader;

/// A new message to `room` (a fresh id, not a reply).
pub fn say(room: &app::model::RoomId, body: &str) -> app::events::messages::SendMessagePayload {
    app::events::messages::SendMessagePayload {
        id: uuid::Uuid::now_v7(),
        room: room.clone(),
        body: body.to_owned(),
        thread: None,
    }
}

/// How long a test waits for something that should happen promptly.
pub const WAIT: Duration = Duration::from_secs(10);

/// A running server; stopped (gracefully) when dropped.
pub struct TestApp {
    pub addr: SocketAddr,
    /// Where its `/metrics` is served.
    pub metrics_addr: SocketAddr,
    metrics_task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Session cookies by name, so several tabs of one person share a sign-in like a browser's.
    sessions: tokio::sync::Mutex<std::collections::HashMap<String, String>>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _data: Option<tempfile::TempDir>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Routes the server's logs through the test harness.
pub fn init_logs() {
    server::telemetry::init_for_tests();
}

/// Starts the server with the default test configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the server after letting `configure` adjust the configuration.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let data = tempfile::tempdir().expect("temp dir");
    let mut app = spawn_app_in(data.path(), configure).await;
    app._data = Some(data);
    app
}

/// Starts the server on an existing data directory (to test what survives a restart).
pub async fn spawn_app_in(dir: &std::path::Path, configure: impl FnOnce(&mut Config)) -> TestApp {
    server::telemetry::init_for_tests();
    let mut config = Config::for_tests(dir.to_path_buf());
    configure(&mut config);
    let listener = tokio::net::TcpListener::bind(config.listen.expect("test listen address"))
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let leptos = LeptosOptions::builder().output_name("parley").site_addr(addr).build();
    let state = AppState::new(config, leptos).await.expect("state");
    // Every test server also serves its operators' endpoint, on a port of its own.
    let metrics = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind metrics");
    let metrics_addr = metrics.local_addr().expect("metrics addr");
    let metrics_task = tokio::spawn(server::serve_metrics(metrics, state.clone()));
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(server::run(listener, state, async {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        metrics_addr,
        metrics_task,
        sessions: Default::default(),
        shutdown: Some(tx),
        server: Some(server),
        _data: None,
    }
}

impl TestApp {
    /// Shuts the server down gracefully and waits until it has stopped.
    pub async fn stop(mut self) {
        // It holds the server's state (the store's connections) for as long as it runs.
        self.metrics_task.abort();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server stopped cleanly");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A session cookie (`parley_session=…`) for `name`: registers the account on first use
    /// (password [`password_of`]), then reuses the sign-in.
    pub async fn session(&self, name: &str) -> String {
        let mut sessions = self.sessions.lock().await;
        if let Some(cookie) = sessions.get(&name.to_lowercase()) {
            return cookie.clone();
        }
        let cookie = match register(self.addr, name, &password_of(name)).await {
            Ok(cookie) => cookie,
            Err(_) => sign_in(self.addr, name, &password_of(name)).await.expect("signed in"),
        };
        sessions.insert(name.to_lowercase(), cookie.clone());
        cookie
    }

    /// Connects to `/chat` as `name` (signed in) and waits until the namespace accepted it.
    pub async fn connect(&self, name: &str) -> ChatClient {
        let cookie = self.session(name).await;
        self.connect_with_cookie(Some(&cookie)).await.expect("connected")
    }

    /// Connects with this `Cookie` header (or none); `Err` carries the `connect_error` message.
    pub async fn connect_with_cookie(&self, cookie: Option<&str>) -> Result<ChatClient, String> {
        ChatClient::connect(&self.url("/"), "/chat", serde_json::json!({}), cookie).await
    }
}

/// The password the harness registers `name` with (names are case-insensitive, so is this).
pub fn password_of(name: &str) -> String {
    format!("secret of {}", name.to_lowercase())
}

/// Calls a sign-in server function (`/api/{endpoint}`, form-encoded as the browser does).
/// `Ok` carries the `parley_session=…` cookie pair, `Err` the status and the typed error body.
pub async fn call_auth(
    addr: SocketAddr,
    endpoint: &str,
    form: &[(&str, &str)],
    cookie: Option<&str>,
) -> Result<String, (u16, Value)> {
    let mut request =
        reqwest::Client::new().post(format!("http://{addr}/api/{endpoint}")).form(form);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.expect("server answered");
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("parley_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    match cookie {
        Some(cookie) if status == 200 => Ok(cookie),
        _ => Err((status, body)),
    }
}

/// Calls a sign-in server function and returns its status, every cookie pair it set
/// (`name=value`) and its JSON body.
pub async fn call_auth_cookies(
    addr: SocketAddr,
    endpoint: &str,
    form: &[(&str, &str)],
    cookies: &[String],
) -> (u16, Vec<String>, Value) {
    let mut request =
        reqwest::Client::new().post(format!("http://{addr}/api/{endpoint}")).form(form);
    if !cookies.is_empty() {
        request = request.header("cookie", cookies.join("; "));
    }
    let response = request.send().await.expect("server answered");
    let status = response.status().as_u16();
    let set: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .collect();
    (status, set, response.json().await.unwrap_or(Value::Null))
}

/// Registers an account; `Ok` carries its session cookie.
pub async fn register(
    addr: SocketAddr,
    name: &str,
    password: &str,
) -> Result<String, (u16, Value)> {
    call_auth(addr, "register", &[("name", name), ("password", password)], None).await
}

/// Signs in; `Ok` carries the session cookie.
pub async fn sign_in(addr: SocketAddr, name: &str, password: &str) -> Result<String, (u16, Value)> {
    call_auth(addr, "sign_in", &[("name", name), ("password", password)], None).await
}

/// The name [`ChatClient`] records the server's closing of the connection under.
pub const CLOSED: &str = "close";

/// A received server event.
#[derive(Debug, Clone)]
pub struct Received {
    pub event: String,
    pub data: Value,
}

/// A Socket.IO client that records every event it receives (over the shared `chat-client`).
pub struct ChatClient {
    connection: Connection,
    events: mpsc::UnboundedReceiver<Received>,
}

impl ChatClient {
    pub async fn connect(
        base: &str,
        namespace: &str,
        auth: Value,
        cookie: Option<&str>,
    ) -> Result<Self, String> {
        let (events_tx, events) = mpsc::unbounded_channel();
        let mut options = Options::new(base, Some(namespace));
        options.auth = Some(auth);
        options.cookie = cookie.map(str::to_owned);
        options.wait = WAIT;
        let connection = Connection::open(options, Listen::All, move |incoming| {
            // The server ending the namespace connection is recorded as an event named `close`,
            // so tests can wait for it (see `ChatClient::closed`).
            let received = match incoming {
                Incoming::Event { name, data } => Received { event: name, data },
                Incoming::Closed => Received { event: CLOSED.to_owned(), data: Value::Null },
            };
            let _ = events_tx.send(received);
        })
        .await
        .map_err(|e| match e {
            ConnectError::Refused(why) => why,
            other => other.to_string(),
        })?;
        Ok(Self { connection, events })
    }

    /// Emits `event` and waits up to `wait` for its (single) ack value; `None` if the emit
    /// failed or no ack came (the server may or may not have applied it).
    async fn ack(&self, event: &str, payload: Value, wait: Duration) -> Option<Value> {
        self.connection.request(event, payload, wait).await
    }

    /// Emits `E` and waits up to `wait` for its typed ack; `None` as for [`Self::ack`].
    pub async fn try_request<E: app::events::ClientEvent>(
        &self,
        payload: &E::Payload,
        wait: Duration,
    ) -> Option<app::events::Ack<E>> {
        let ack = self.ack(E::NAME, serde_json::to_value(payload).ok()?, wait).await?;
        serde_json::from_value(ack).ok()
    }

    /// Emits `event` and waits up to `wait` for its ack; `None` if none came (e.g. closed).
    pub async fn request_raw_within(
        &self,
        event: &str,
        payload: Value,
        wait: Duration,
    ) -> Option<Value> {
        self.ack(event, payload, wait).await
    }

    /// Emits `event` with `payload` and returns the (single) ack value.
    pub async fn request_raw(&self, event: &str, payload: Value) -> Value {
        self.ack(event, payload, WAIT).await.expect("an ack in time")
    }

    /// Emits a typed request and decodes its typed ack.
    pub async fn request<E: app::events::ClientEvent>(
        &self,
        payload: &E::Payload,
    ) -> app::events::Ack<E>
    where
        E::Payload: Serialize,
    {
        let ack = self.request_raw(E::NAME, serde_json::to_value(payload).unwrap()).await;
        serde_json::from_value(ack).expect("ack has the declared type")
    }

    /// Waits for the next `E` this client receives (skipping other events).
    pub async fn next<E: app::events::ServerEvent>(&mut self) -> E::Payload
    where
        E::Payload: DeserializeOwned,
    {
        loop {
            let received = tokio::time::timeout(WAIT, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("no `{}` within {WAIT:?}", E::NAME))
                .expect("client closed");
            if received.event == E::NAME {
                return serde_json::from_value(received.data)
                    .expect("payload has the declared type");
            }
        }
    }

    /// Waits for an `E` that satisfies `accept` and returns it with every event received before
    /// it (to check what must *not* have arrived).
    pub async fn until<E: app::events::ServerEvent>(
        &mut self,
        accept: impl Fn(&E::Payload) -> bool,
    ) -> (E::Payload, Vec<Received>)
    where
        E::Payload: DeserializeOwned,
    {
        let mut before = Vec::new();
        loop {
            let received = tokio::time::timeout(WAIT, self.events.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!("no matching `{}` within {WAIT:?}; got {before:?}", E::NAME)
                })
                .expect("client closed");
            if received.event == E::NAME {
                let payload: E::Payload = serde_json::from_value(received.data.clone())
                    .expect("payload has the declared type");
                if accept(&payload) {
                    return (payload, before);
                }
            }
            before.push(received);
        }
    }

    /// Like [`Self::until`] but gives up after `wait`, returning `None`.
    pub async fn try_until<E: app::events::ServerEvent>(
        &mut self,
        accept: impl Fn(&E::Payload) -> bool,
        wait: Duration,
    ) -> Option<E::Payload>
    where
        E::Payload: DeserializeOwned,
    {
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(Some(received)) = tokio::time::timeout_at(deadline, self.events.recv()).await {
            if received.event == E::NAME
                && let Ok(payload) = serde_json::from_value::<E::Payload>(received.data)
                && accept(&payload)
            {
                return Some(payload);
            }
        }
        None
    }

    /// Waits until the server closes this connection (skipping other events).
    pub async fn closed(&mut self) {
        loop {
            let received =
                tokio::time::timeout(WAIT, self.events.recv()).await.unwrap_or_else(|_| {
                    panic!("the server did not close the connection within {WAIT:?}")
                });
            match received {
                Some(r) if r.event == CLOSED => return,
                Some(_) => {}
                None => return,
            }
        }
    }

    /// Emits an event without waiting for an ack.
    pub async fn emit(&self, event: &str, payload: Value) {
        self.connection.emit(event, payload).await.expect("emit");
    }

    /// Closes the connection.
    pub async fn close(self) {
        self.connection.close().await.expect("disconnect");
    }

    /// Every `E` received so far, without waiting (other events are dropped).
    pub fn drain_of<E: app::events::ServerEvent>(&mut self) -> Vec<E::Payload>
    where
        E::Payload: DeserializeOwned,
    {
        self.drain()
            .into_iter()
            .filter(|r| r.event == E::NAME)
            .map(|r| serde_json::from_value(r.data).expect("payload has the declared type"))
            .collect()
    }

    /// Everything received so far, without waiting.
    pub fn drain(&mut self) -> Vec<Received> {
        let mut out = Vec::new();
        while let Ok(r) = self.events.try_recv() {
            out.push(r);
        }
        out
    }

    /// Asserts that no `event` arrives within `quiet`.
    pub async fn assert_no<E: app::events::ServerEvent>(&mut self, quiet: Duration) {
        let deadline = tokio::time::Instant::now() + quiet;
        while let Ok(Some(r)) = tokio::time::timeout_at(deadline, self.events.recv()).await {
            assert_ne!(r.event, E::NAME, "unexpected `{}`: {}", E::NAME, r.data);
        }
    }
}
