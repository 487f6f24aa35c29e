//! Socket.IO clients (websocket transport) that speak either server's chat, and the probe that
//! timestamps every message and records when each copy arrives: one process, one clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use hdrhistogram::Histogram;
use serde_json::{Value, json};

use crate::servers::{Kind, Server};
use crate::wire::{Listener, Socket, Target};

/// How long a connect or an ack may take before it counts as an error.
const WAIT: Duration = Duration::from_secs(10);

/// Shared by every client of a run: the clock, the latency histogram, the counters.
pub struct Probe {
    origin: Instant,
    latency_us: Mutex<Histogram<u64>>,
    delivered: AtomicU64,
    acked: AtomicU64,
}

/// What the probe saw since the last [`Probe::take`].
pub struct Window {
    pub delivered: u64,
    pub acked: u64,
    pub latency_us: Histogram<u64>,
}

impl Probe {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            origin: Instant::now(),
            latency_us: Mutex::new(new_histogram()),
            delivered: AtomicU64::new(0),
            acked: AtomicU64::new(0),
        })
    }

    /// A message body of `size` bytes that starts with the send instant.
    pub fn stamped_body(&self, size: usize) -> String {
        let mut body = format!("t={};", self.origin.elapsed().as_micros());
        let pad = size.saturating_sub(body.len());
        body.extend(std::iter::repeat_n('x', pad));
        body
    }

    /// Returns what was seen since the last call and starts a new window.
    pub fn take(&self) -> Window {
        let mut latency = self.latency_us.lock().unwrap_or_else(|e| e.into_inner());
        Window {
            delivered: self.delivered.swap(0, Ordering::Relaxed),
            acked: self.acked.swap(0, Ordering::Relaxed),
            latency_us: std::mem::replace(&mut *latency, new_histogram()),
        }
    }
}

impl Listener for Probe {
    fn delivered(&self, sent_us: u64) {
        let now = u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX);
        let micros = now.saturating_sub(sent_us).max(1);
        self.latency_us.lock().unwrap_or_else(|e| e.into_inner()).saturating_record(micros);
        self.delivered.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an ack; refusals and lost sends are what is missing from the count.
    fn acked(&self, ok: bool) {
        if ok {
            self.acked.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs to 100 s at 3 significant digits.
    Histogram::new_with_bounds(1, 100_000_000, 3).unwrap_or_else(|_| unreachable!("valid bounds"))
}

/// Someone to connect as: Parley wants a session; the reference takes anyone.
#[derive(Clone)]
pub struct Identity {
    cookie: Option<String>,
}

impl Identity {
    /// Joins `server` under `name`: a Parley guest session (`POST /api/guest`), or nothing.
    pub async fn join(http: &reqwest::Client, server: &Server, name: &str) -> Result<Self> {
        if server.kind != Kind::Parley {
            return Ok(Self { cookie: None });
        }
        let response = http
            .post(format!("{}/api/guest", server.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("name={name}"))
            .send()
            .await?;
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("parley_session="))
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        match cookie {
            Some(cookie) => Ok(Self { cookie: Some(cookie) }),
            None => bail!("guest sign-in as {name} refused: {}", response.status()),
        }
    }
}

/// A connected client and the room it talks in.
pub struct Chatter {
    kind: Kind,
    socket: Socket,
    room: String,
}

impl Chatter {
    /// Connects over WebSocket and waits for the namespace to accept. On the reference (and the
    /// floor) the room comes from the handshake query; on Parley the client starts in its rooms
    /// (the lobby, and rooms its person created or joined earlier).
    pub async fn connect(
        server: &Server,
        identity: &Identity,
        room: &str,
        probe: &Arc<Probe>,
    ) -> Result<Self> {
        let kind = server.kind;
        let host = server.base.trim_start_matches("http://");
        let query = match kind {
            Kind::Parley => String::new(),
            Kind::Reference | Kind::Floor => format!("&room={room}"),
        };
        let target = Target {
            host,
            query: &query,
            namespace: if kind == Kind::Parley { "/chat" } else { "/" },
            cookie: identity.cookie.as_deref(),
            event: receive_event(kind),
        };
        let listener: Arc<dyn Listener> = Arc::clone(probe) as Arc<dyn Listener>;
        let socket = Socket::connect(&target, listener, WAIT).await.context("connect")?;
        Ok(Self { kind, socket, room: room.to_owned() })
    }

    /// Parley only: creates a private room named `name` and talks there from now on (the other
    /// tabs of this person, connected afterwards, are in it too).
    pub async fn create_room(&mut self, name: &str) -> Result<()> {
        let data = json!({ "name": name, "private": true }).to_string();
        let args = self.socket.request("room:create", data, WAIT).await?;
        let ack: Value = serde_json::from_str(&args).context("room:create ack")?;
        let id = ack
            .get(0)
            .and_then(|a| a.get("Ok"))
            .and_then(|room| room.get("id"))
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("room:create refused: {ack}"))?;
        self.room = id.to_owned();
        Ok(())
    }

    /// The room this client talks in.
    pub fn room(&self) -> &str {
        &self.room
    }

    /// Sends one stamped message of `size` bytes; the ack (or refusal) is counted by the probe.
    pub fn send(&self, probe: &Arc<Probe>, size: usize) {
        let body = probe.stamped_body(size);
        let (event, payload) = match self.kind {
            Kind::Parley => (
                "message:send",
                json!({ "id": uuid::Uuid::now_v7(), "room": self.room, "body": body }),
            ),
            Kind::Reference | Kind::Floor => ("chat message", json!({ "body": body })),
        };
        if !self.socket.emit_counted(event, payload.to_string()) {
            probe.acked(false);
        }
    }

    /// Sends one stamped message and waits for its ack: the stored message's revision and id on
    /// Parley (`(0, "")` on the others, which store nothing). `None` if it was refused.
    pub async fn send_acked(
        &self,
        probe: &Arc<Probe>,
        size: usize,
    ) -> Result<Option<(u64, String)>> {
        let body = probe.stamped_body(size);
        if self.kind != Kind::Parley {
            let args = self
                .socket
                .request("chat message", json!({ "body": body }).to_string(), WAIT)
                .await?;
            return Ok(args.contains("\"ok\"").then(|| (0, String::new())));
        }
        let data = json!({ "id": uuid::Uuid::now_v7(), "room": self.room, "body": body });
        let args = self.socket.request("message:send", data.to_string(), WAIT).await?;
        let ack: Value = serde_json::from_str(&args).context("message:send ack")?;
        let stored = ack.get(0).and_then(|a| a.get("Ok"));
        Ok(stored.and_then(|m| Some((m.get("rev")?.as_u64()?, m.get("id")?.as_str()?.to_owned()))))
    }

    /// Parley only: resumes the room as a client that held everything before revision `rev`
    /// (`message:sync` after `rev - 1`, every page); whether the message `id` came back.
    pub async fn resume(&self, rev: u64, id: &str) -> Result<bool> {
        let mut after = rev.saturating_sub(1);
        loop {
            let data = json!({ "room": self.room, "after_rev": after }).to_string();
            let args = self.socket.request("message:sync", data, WAIT).await?;
            let ack: Value = serde_json::from_str(&args).context("message:sync ack")?;
            let page = ack
                .get(0)
                .and_then(|a| a.get("Ok"))
                .ok_or_else(|| anyhow!("message:sync refused: {ack}"))?;
            let changes =
                page.get("changes").and_then(Value::as_array).cloned().unwrap_or_default();
            if changes.iter().any(|m| m.get("id").and_then(Value::as_str) == Some(id)) {
                return Ok(true);
            }
            let more = page.get("more").and_then(Value::as_bool).unwrap_or(false);
            match changes.last().and_then(|m| m.get("rev")).and_then(Value::as_u64) {
                Some(last) if more => after = last,
                _ => return Ok(false),
            }
        }
    }

    /// Closes the connection.
    pub async fn close(self) {
        self.socket.close();
    }
}

fn receive_event(kind: Kind) -> &'static str {
    match kind {
        Kind::Parley => "message:new",
        Kind::Reference | Kind::Floor => "chat message",
    }
}

/// Sends from `senders` in turn at `rate` messages per second for `duration`; returns how many
/// were sent. Paced against the clock, so a slow emit is caught up rather than lost.
pub async fn send_at(
    senders: &[&Chatter],
    probe: &Arc<Probe>,
    size: usize,
    rate: f64,
    duration: Duration,
) -> u64 {
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let mut sent = 0u64;
    while started.elapsed() < duration {
        tick.tick().await;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let due = (started.elapsed().as_secs_f64() * rate) as u64;
        while sent < due {
            let index = usize::try_from(sent).unwrap_or(0) % senders.len();
            senders[index].send(probe, size);
            sent += 1;
        }
    }
    sent
}
