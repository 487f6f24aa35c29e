//! The Socket.IO surface: connect middleware, and one small handler per event.
//!
//! Handlers only extract, call the [`crate::domain`] and emit or ack. Every request event is
//! registered through [`on_request`], which ties the wire name, the payload type and the ack type
//! to one [`ClientEvent`] definition from the `app` crate and answers a malformed payload with
//! [`ChatError::InvalidPayload`] instead of dropping it. People are reached through rooms
//! (`room:{id}`), never through stored socket ids.

use std::future::Future;
use std::sync::Arc;

use app::ChatError;
use app::events::messages::{NewMessage, SendMessage, SendMessagePayload};
use app::events::{Ack, CHAT_NAMESPACE, ClientEvent, Handshake, ServerEvent};
use app::model::{DisplayName, RoomId};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Extension, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;

use crate::domain::{Chat, Identity};

/// Why a connection was refused; the text reaches the client as its `connect_error` message.
#[derive(Debug, thiserror::Error)]
pub enum ConnectRefusal {
    /// The `auth` payload was missing or had the wrong shape.
    #[error("invalid handshake: expected {{\"name\": string}}")]
    BadHandshake,
    /// The display name broke a rule.
    #[error(transparent)]
    InvalidName(#[from] ChatError),
}

/// The Socket.IO room a chat room's members are in.
pub fn room_key(room: &RoomId) -> String {
    format!("room:{room}")
}

/// Registers the chat namespace. Any other namespace is refused with a `connect_error`.
pub fn register(io: &SocketIo) {
    io.ns(CHAT_NAMESPACE, on_connect.with(authenticate));
}

/// Connect middleware: decides who the connection speaks for (see [`Identity`]).
async fn authenticate(
    socket: SocketRef,
    TryData(handshake): TryData<Handshake>,
) -> Result<(), ConnectRefusal> {
    let handshake = handshake.map_err(|_| ConnectRefusal::BadHandshake)?;
    let name = DisplayName::parse(&handshake.name)?;
    tracing::debug!(sid = %socket.id, %name, "authenticated");
    socket.extensions.insert(Identity { name });
    Ok(())
}

async fn on_connect(socket: SocketRef) {
    socket.join(room_key(&RoomId::lobby()));
    on_request::<SendMessage, _, _>(&socket, send_message);
}

/// Registers `handler` for the request event `E`: decodes `E::Payload`, passes the caller's
/// identity and the chat, and acks with `E`'s ack type.
fn on_request<E, F, Fut>(socket: &SocketRef, handler: F)
where
    E: ClientEvent,
    F: Fn(SocketRef, Identity, Arc<Chat>, E::Payload) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Ack<E>> + Send + 'static,
{
    socket.on(
        E::NAME,
        move |socket: SocketRef,
              State(chat): State<Arc<Chat>>,
              Extension(identity): Extension<Identity>,
              TryData(payload): TryData<E::Payload>,
              ack: AckSender| {
            let handler = handler.clone();
            async move {
                let result = match payload {
                    Ok(payload) => handler(socket, identity, chat, payload).await,
                    Err(e) => Err(ChatError::InvalidPayload { reason: e.to_string() }),
                };
                if let Err(e) = &result {
                    tracing::debug!(event = E::NAME, error = %e, "request refused");
                }
                if let Err(e) = ack.send(&result) {
                    tracing::debug!(event = E::NAME, error = %e, "could not send ack");
                }
            }
        },
    );
}

/// `message:send`: store, then tell the room's other members.
async fn send_message(
    socket: SocketRef,
    identity: Identity,
    chat: Arc<Chat>,
    request: SendMessagePayload,
) -> Ack<SendMessage> {
    let message = chat.post(&identity, request)?;
    // The sender learns from its ack; its other tabs and everyone else from the broadcast.
    if let Err(e) = socket.to(room_key(&message.room)).emit(NewMessage::NAME, &message).await {
        tracing::warn!(error = %e, "broadcast failed");
    }
    Ok(message)
}
