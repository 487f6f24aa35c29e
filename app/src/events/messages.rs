//! Message events: sending (`message:send`) and delivery (`message:new`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ClientEvent, ServerEvent};
use crate::model::{ChatMessage, RoomId};

/// `message:send` (client → server): post a message to a room.
///
/// Acked with the stored [`ChatMessage`] or a [`crate::ChatError`].
#[derive(Debug, Clone, Copy)]
pub struct SendMessage;

/// Payload of [`SendMessage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendMessagePayload {
    /// Id chosen by the client (UUID v7), so a retried send can be recognised.
    pub id: Uuid,
    /// Target room.
    pub room: RoomId,
    /// The text, as typed. Trimmed by the server; see [`crate::limits::MAX_MESSAGE_CHARS`].
    pub body: String,
}

impl ClientEvent for SendMessage {
    const NAME: &'static str = "message:send";
    type Payload = SendMessagePayload;
    type Ok = ChatMessage;
}

/// `message:new` (server → room): a message was stored in a room the client is in.
#[derive(Debug, Clone, Copy)]
pub struct NewMessage;

impl ServerEvent for NewMessage {
    const NAME: &'static str = "message:new";
    type Payload = ChatMessage;
}
