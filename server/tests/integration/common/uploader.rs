//! A Socket.IO client over a raw WebSocket, for uploads.
//!
//! The test client the other tests use (`rust_socketio` 0.6) sends a binary event as the event
//! name and the bytes, without the placeholder argument the protocol (and socket.io-client) puts
//! among the arguments, so it cannot send `file:chunk`'s `(header, bytes)`. This speaks just
//! enough of Engine.IO 4 / Socket.IO 5 by hand: connect to a namespace (`/chat` unless said
//! otherwise), answer pings, requests with
//! acks, and binary events (`451-` + one attachment frame).

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use super::TestApp;
use app::model::RoomId;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A Socket.IO client over a raw WebSocket, enough for requests with binary attachments.
pub struct Uploader {
    ws: Ws,
    next_ack: u64,
    /// The namespace, as packets name it (`/chat`).
    ns: &'static str,
}

impl Uploader {
    /// Connects to the in-process server as `name` (signed in).
    pub async fn connect(app: &TestApp, name: &str) -> Self {
        Self::connect_to(app.addr, &app.session(name).await).await
    }

    /// Connects to `/chat` at `addr` with this session cookie.
    pub async fn connect_to(addr: SocketAddr, cookie: &str) -> Self {
        Self::connect_to_namespace(addr, cookie, "/chat").await
    }

    /// Connects to the namespace `ns` at `addr` with this session cookie.
    pub async fn connect_to_namespace(addr: SocketAddr, cookie: &str, ns: &'static str) -> Self {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let mut request = url.into_client_request().expect("request");
        request.headers_mut().insert("cookie", cookie.parse().expect("header value"));
        // Without Nagle, as browsers connect: the header frame and the bytes frame of a chunk would
        // otherwise wait on each other's TCP acks (about 10 ms a chunk on loopback).
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
            .await
            .expect("websocket");
        let open = ws.next().await.expect("open packet").expect("frame");
        assert!(open.to_text().expect("text").starts_with('0'), "{open:?}");
        ws.send(Message::text(format!("40{ns},{{}}"))).await.expect("connect");
        let mut me = Self { ws, next_ack: 1, ns };
        let connected = me.packet(|text| text.starts_with(&format!("40{ns},"))).await;
        assert!(connected.contains("sid"), "{connected}");
        me
    }

    /// The next text packet `wanted` accepts (answering pings, skipping events).
    pub async fn packet(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + super::WAIT;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("a packet in time")
                .expect("open")
                .expect("frame");
            let Message::Text(text) = frame else { continue };
            if text.as_str() == "2" {
                self.ws.send(Message::text("3")).await.expect("pong");
                continue;
            }
            if wanted(text.as_str()) {
                return text.as_str().to_owned();
            }
        }
    }

    pub async fn ack(&mut self, id: u64) -> Value {
        let prefix = format!("43{},{id}[", self.ns);
        let text = self.packet(|t| t.starts_with(&prefix)).await;
        let args: Value = serde_json::from_str(&text[prefix.len() - 1..]).expect("ack json");
        args[0].clone()
    }

    pub async fn request(&mut self, event: &str, payload: Value) -> Value {
        let id = self.next_ack;
        self.next_ack += 1;
        let packet = format!("42{},{id}{}", self.ns, json!([event, payload]));
        self.ws.send(Message::text(packet)).await.expect("send");
        self.ack(id).await
    }

    /// Sends every request before reading any ack (one flush, so the server reads them together,
    /// in this order) and returns their acks in the same order.
    pub async fn requests_at_once(&mut self, requests: &[(&str, Value)]) -> Vec<Value> {
        let first = self.next_ack;
        for (event, payload) in requests {
            let id = self.next_ack;
            self.next_ack += 1;
            let packet = format!("42{},{id}{}", self.ns, json!([event, payload]));
            self.ws.feed(Message::text(packet)).await.expect("send");
        }
        self.ws.flush().await.expect("flush");
        // Acks may come in any order: each is kept by its id.
        let mut acks = std::collections::BTreeMap::new();
        while acks.len() < requests.len() {
            let prefix = format!("43{},", self.ns);
            let text = self.packet(|t| t.starts_with(&prefix)).await;
            let rest = &text[prefix.len()..];
            let digits = rest.find('[').expect("ack arguments");
            let id: u64 = rest[..digits].parse().expect("ack id");
            let args: Value = serde_json::from_str(&rest[digits..]).expect("ack json");
            acks.insert(id, args[0].clone());
        }
        assert_eq!(
            acks.keys().copied().collect::<Vec<_>>(),
            (first..self.next_ack).collect::<Vec<_>>()
        );
        acks.into_values().collect()
    }

    /// `file:chunk` with `bytes` as the binary attachment.
    pub async fn chunk(&mut self, upload: Uuid, offset: u64, bytes: &[u8]) -> Value {
        let id = self.next_ack;
        self.next_ack += 1;
        let args = json!(["file:chunk", { "id": upload, "offset": offset },
                          { "_placeholder": true, "num": 0 }]);
        self.ws.send(Message::text(format!("451-{},{id}{args}", self.ns))).await.expect("header");
        self.ws.send(Message::binary(bytes.to_vec())).await.expect("bytes");
        self.ack(id).await
    }

    /// Uploads `bytes` as `name` to `room` and finishes it: the finish's ack.
    pub async fn upload(&mut self, room: &RoomId, name: &str, bytes: &[u8]) -> Value {
        let upload = Uuid::now_v7();
        let begun = self
            .request(
                "file:begin",
                json!({ "id": upload, "room": room, "name": name, "size": bytes.len() }),
            )
            .await;
        let Some(progress) = begun.get("Ok") else { return begun };
        let chunk = progress["chunk_bytes"].as_u64().expect("chunk size") as usize;
        let mut offset = 0;
        for part in bytes.chunks(chunk) {
            let acked = self.chunk(upload, offset as u64, part).await;
            offset += part.len();
            assert_eq!(acked["Ok"]["received"], json!(offset), "{acked}");
        }
        self.request("file:finish", json!({ "id": upload, "caption": "" })).await
    }
}
