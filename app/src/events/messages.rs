//! Message events: sending (`message:send`) and delivery (`message:new`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{ChatMessage, RoomId};

/// Payload of [`SendMessage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendMessagePayload {
    /// Id chosen by the client (UUID v7), so a retried send can be recognised.
    pub id: Uuid,
    /// Target room (public or direct); the sender must be a member.
    pub room: RoomId,
    /// The text, as typed. Trimmed by the server; see [`crate::limits::MAX_MESSAGE_CHARS`].
    pub body: String,
}

client_event!(
    /// `message:send` (client → server): post a message to a room. Acked with the stored
    /// [`ChatMessage`]; sending an id again returns the message stored the first time.
    SendMessage, "message:send", SendMessagePayload => ChatMessage
);

server_event!(
    /// `message:new` (server → room members, or both people of a direct room, every tab):
    /// a message was stored. The sending tab learns from its ack instead.
    NewMessage, "message:new", ChatMessage
);
