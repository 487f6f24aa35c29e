//! Presence and typing.

use serde::{Deserialize, Serialize};

use crate::model::{RoomId, UserRef};

/// One entry of [`PresenceChanged`]'s list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Presence {
    /// Who.
    pub user: UserRef,
    /// Whether any of their tabs is connected now.
    pub online: bool,
}

/// Payload of [`Typing`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TypingNotice {
    /// Where.
    pub room: RoomId,
    /// Who is typing.
    pub user: UserRef,
}

server_event!(
    /// `presence` (server → everyone): people whose first tab connected or last tab closed since
    /// the previous `presence`, oldest first, one entry per person. The server gathers them for
    /// a moment ([`crate::limits::PRESENCE_BATCH_MS`]) so that many arrivals at once (everyone
    /// reconnecting after a restart) cost one event per connection, not one per arrival.
    PresenceChanged, "presence", Vec<Presence>
);

client_event!(
    /// `typing:start` (client → server): the caller is typing in a room they are in. Clients send
    /// at most one per [`crate::limits::TYPING_THROTTLE_MS`]; the server drops extras.
    StartTyping, "typing:start", super::rooms::RoomRef => ()
);

server_event!(
    /// `typing` (server → the room's other members): show "X is typing…" for
    /// [`crate::limits::TYPING_EXPIRY_MS`] or until X's next message.
    Typing, "typing", TypingNotice
);
