//! A Socket.IO client over a raw WebSocket that does only what the generator measures.
//!
//! Why not `chat_client` (`rust_socketio`), which the integration tests use: measured against
//! this generator's needs it got in the way three times. It did not set `TCP_NODELAY`, so every
//! connect's namespace packet waited for the server's delayed ACK (~40 ms) and set-up capped near
//! 1,300 connections/s for any server; it picked ack ids at random from 0–999, which collide
//! under load and could panic its receive task (after which that client heard nothing); and it
//! decoded every copy into JSON on the generator's one core, so at 1,000 copies a burst the
//! generator's own queue, not the server, set the fan-out p50.
//!
//! Here each client is one task owning its socket. Outgoing packets are formatted once, acks get
//! sequential ids per connection, and an incoming copy is parsed only as far as the send instant
//! it carries (`"body":"t=<µs>;`): no JSON tree is built on the receive path.
//!
//! Wire format (Engine.IO 4 / Socket.IO 5, text frames): `0{…}` open, `2`/`3` ping/pong,
//! `40/chat,` namespace connect (answered by `40/chat,{…}` or `44/chat,{…}`), `42/chat,<id>["event",data]`
//! an event with an ack id, `43/chat,<id>[data]` the ack, `41/chat,` disconnect.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// What a connection tells the generator about.
pub trait Listener: Send + Sync + 'static {
    /// A copy of a chat message arrived, sent at `sent_us` on the probe's clock.
    fn delivered(&self, sent_us: u64);
    /// A send was acknowledged (`ok`) or refused or never answered (`!ok`).
    fn acked(&self, ok: bool);
}

/// Where to connect.
pub struct Target<'a> {
    /// `127.0.0.1:PORT`.
    pub host: &'a str,
    /// Extra handshake query, `&room=r1` (or empty).
    pub query: &'a str,
    /// The namespace, `/chat` or `/`.
    pub namespace: &'a str,
    /// A `Cookie` header for the upgrade request.
    pub cookie: Option<&'a str>,
    /// The event whose copies are timed.
    pub event: &'a str,
}

enum Command {
    Emit { event: &'static str, data: String, ack: Ack },
    Close,
}

enum Ack {
    /// Count it on the listener (and time the sender's copy if the ack carries one).
    Probe,
    /// Hand the raw ack arguments back.
    Reply(oneshot::Sender<String>),
}

/// One connected client; the connection closes when this is dropped or closed.
pub struct Socket {
    commands: mpsc::UnboundedSender<Command>,
}

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

impl Socket {
    /// Connects, joins the namespace and waits until it accepts (within `wait`).
    pub async fn connect(
        target: &Target<'_>,
        listener: Arc<dyn Listener>,
        wait: Duration,
    ) -> Result<Self> {
        let (ws, prefix) = tokio::time::timeout(wait, handshake(target))
            .await
            .map_err(|_| anyhow!("no namespace answer within {wait:?}"))??;
        let (commands, receive) = mpsc::unbounded_channel();
        let marker = format!("[\"{}\",", target.event);
        tokio::spawn(run(ws, prefix, marker, receive, listener, wait));
        Ok(Self { commands })
    }

    /// Emits `event` with `data` (JSON text); the ack is counted on the listener.
    pub fn emit_counted(&self, event: &'static str, data: String) -> bool {
        self.commands.send(Command::Emit { event, data, ack: Ack::Probe }).is_ok()
    }

    /// Emits `event` with `data` and waits up to `wait` for the ack's raw argument array.
    pub async fn request(
        &self,
        event: &'static str,
        data: String,
        wait: Duration,
    ) -> Result<String> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Emit { event, data, ack: Ack::Reply(reply) })
            .map_err(|_| anyhow!("connection closed"))?;
        tokio::time::timeout(wait, answer)
            .await
            .map_err(|_| anyhow!("no ack to {event} within {wait:?}"))?
            .map_err(|_| anyhow!("connection closed before the ack to {event}"))
    }

    /// Leaves the namespace and closes the WebSocket.
    pub fn close(&self) {
        let _ = self.commands.send(Command::Close);
    }
}

/// Opens the WebSocket with `TCP_NODELAY`, reads the Engine.IO open packet and joins the
/// namespace. Returns the socket and the namespace's packet prefix (`/chat,` or empty).
async fn handshake(target: &Target<'_>) -> Result<(Ws, String)> {
    let stream = TcpStream::connect(target.host).await.context("tcp connect")?;
    stream.set_nodelay(true)?;
    let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket{}", target.host, target.query);
    let mut request = url.into_client_request()?;
    if let Some(cookie) = target.cookie {
        request.headers_mut().insert("cookie", HeaderValue::from_str(cookie)?);
    }
    let (mut ws, _) = tokio_tungstenite::client_async(request, stream).await.context("upgrade")?;
    let prefix =
        if target.namespace == "/" { String::new() } else { format!("{},", target.namespace) };
    match next_text(&mut ws).await? {
        open if open.starts_with('0') => {}
        other => bail!("expected the Engine.IO open packet, got {other:.80}"),
    }
    ws.send(Message::text(format!("40{prefix}"))).await?;
    loop {
        let text = next_text(&mut ws).await?;
        if text == "2" {
            ws.send(Message::text("3")).await?;
        } else if let Some(rest) = text.strip_prefix("40") {
            if rest.starts_with(prefix.as_str()) {
                return Ok((ws, prefix));
            }
        } else if let Some(rest) = text.strip_prefix("44") {
            bail!("namespace refused: {rest:.200}");
        }
    }
}

async fn next_text(ws: &mut Ws) -> Result<String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
            Some(Ok(Message::Close(_))) | None => bail!("closed during the handshake"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
        }
    }
}

/// The connection's task: writes commands, answers pings, times copies, settles acks.
async fn run(
    mut ws: Ws,
    prefix: String,
    marker: String,
    mut commands: mpsc::UnboundedReceiver<Command>,
    listener: Arc<dyn Listener>,
    wait: Duration,
) {
    let mut next_id: u64 = 0;
    let mut pending: HashMap<u64, (Ack, Instant)> = HashMap::new();
    let mut sweep = tokio::time::interval(wait);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            frame = ws.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                    Some(Ok(_)) => continue,
                };
                let text = text.as_str();
                if text == "2" {
                    if ws.send(Message::text("3")).await.is_err() {
                        break;
                    }
                } else if let Some(rest) = text.strip_prefix("42") {
                    let rest = rest.strip_prefix(prefix.as_str()).unwrap_or(rest);
                    if rest.starts_with(marker.as_str())
                        && let Some(sent) = send_instant(rest)
                    {
                        listener.delivered(sent);
                    }
                } else if let Some(rest) = text.strip_prefix("43") {
                    let rest = rest.strip_prefix(prefix.as_str()).unwrap_or(rest);
                    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                    let Ok(id) = rest[..digits].parse::<u64>() else { continue };
                    let args = &rest[digits..];
                    match pending.remove(&id) {
                        Some((Ack::Probe, _)) => {
                            // Parley acks with the stored message (the sender's copy); the
                            // reference acks `{ ok: true }` and echoes to the sender too.
                            if let Some(sent) = send_instant(args) {
                                listener.delivered(sent);
                            }
                            listener.acked(args.contains("\"Ok\"") || args.contains("\"ok\""));
                        }
                        Some((Ack::Reply(reply), _)) => {
                            let _ = reply.send(args.to_owned());
                        }
                        None => {}
                    }
                } else if text.starts_with("41") {
                    break;
                }
            }
            command = commands.recv() => match command {
                Some(Command::Emit { event, data, ack }) => {
                    let id = next_id;
                    next_id += 1;
                    pending.insert(id, (ack, Instant::now()));
                    let packet = format!("42{prefix}{id}[\"{event}\",{data}]");
                    if ws.send(Message::text(packet)).await.is_err() {
                        break;
                    }
                }
                Some(Command::Close) | None => {
                    let _ = ws.send(Message::text(format!("41{prefix}"))).await;
                    let _ = ws.close(None).await;
                    break;
                }
            },
            _ = sweep.tick() => {
                let now = Instant::now();
                pending.retain(|_, (ack, at)| {
                    let live = now.duration_since(*at) < wait;
                    if !live && matches!(ack, Ack::Probe) {
                        listener.acked(false);
                    }
                    live
                });
            }
        }
    }
    // Whatever was still waiting will never be answered.
    for (ack, _) in pending.into_values() {
        if matches!(ack, Ack::Probe) {
            listener.acked(false);
        }
    }
}

/// The send instant a stamped body carries: the digits after the first `"body":"t=`.
fn send_instant(packet: &str) -> Option<u64> {
    const KEY: &str = "\"body\":\"t=";
    let at = packet.find(KEY)? + KEY.len();
    let digits = packet[at..].bytes().take_while(u8::is_ascii_digit).count();
    packet[at..at + digits].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::send_instant;

    #[test]
    fn reads_the_send_instant_and_nothing_else() {
        assert_eq!(send_instant(r#"["message:new",{"id":"x","body":"t=123;xxxx"}]"#), Some(123));
        assert_eq!(send_instant(r#"[{"Ok":{"body":"t=9;"}}]"#), Some(9));
        assert_eq!(send_instant(r#"[{"ok":true}]"#), None);
        assert_eq!(send_instant(r#"["message:new",{"body":"hello"}]"#), None);
    }
}
