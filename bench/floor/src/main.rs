//! `parley-floor`: the benchmark's floor column. The Node reference's chat (room from the
//! handshake query; `chat message` broadcast to the room, sender included, and acked with
//! `{ ok: true }`) on the same Rust stack Parley uses (axum + socketioxide, one tokio runtime),
//! with nothing else: no sessions, no store, no membership, no presence.
//!
//! What it shows: the cost of the protocol, the crates and the kernel. Each of Parley's figures
//! is reported as a ratio to Node and to this; what Parley spends above the floor is Parley's
//! own work, what the floor spends is the stack's. Listens on `127.0.0.1:$PORT`.

use axum::Router;
use axum::routing::get;
use axum::serve::ListenerExt;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let (layer, io) = SocketIo::builder().build_layer();
    io.ns("/", async |socket: SocketRef| {
        let room = room_of(socket.req_parts().uri.query().unwrap_or_default());
        socket.join(room.clone());
        socket.on(
            "chat message",
            async move |socket: SocketRef, Data::<Value>(msg), ack: AckSender| {
                let _ = socket.within(room.clone()).emit("chat message", &msg).await;
                let _ = ack.send(&json!({ "ok": true }));
            },
        );
    });
    let app = Router::new().route("/health", get(async || "ok")).layer(layer);
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    // Node sets TCP_NODELAY on every connection; so does Parley. Without it a small packet
    // waits for the peer's delayed ACK.
    axum::serve(listener.tap_io(|tcp| drop(tcp.set_nodelay(true))), app).await
}

/// The `room` parameter of a handshake query (`EIO=4&transport=websocket&room=r1`), or `lobby`.
fn room_of(query: &str) -> String {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("room="))
        .filter(|room| !room.is_empty())
        .unwrap_or("lobby")
        .to_owned()
}
