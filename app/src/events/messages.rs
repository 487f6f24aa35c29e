//! Message events: sending (`message:send`) and delivery (`message:new`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{ChatMessage, RoomId};

/// Payload of [`SendMessage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SendMessagePayload {
    /// Id chosen by the client (UUID v7), so a retried send can be recognised.
    pub id: Uuid,
    /// Target room (public or direct); the sender must be a member.
    pub room: RoomId,
    /// The text, as typed. Trimmed by the server; see [`crate::limits::MAX_MESSAGE_CHARS`].
    pub body: String,
    /// To reply in a thread: the message answered (in `room`, not deleted, not itself a reply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<Uuid>,
}

client_event!(
    /// `message:send` (client → server): post a message to a room, or a reply in a thread.
    /// Acked with the stored [`ChatMessage`]; sending an id again returns the message stored
    /// the first time. A reply also changes the message it answers (reply count, last reply
    /// time), which its audience gets as [`MessageUpdated`].
    SendMessage, "message:send", SendMessagePayload => ChatMessage
);

/// Payload of [`LoadThread`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ThreadRequest {
    /// The message that started the thread (in a room the caller is a member of).
    pub parent: Uuid,
    /// Only replies with a sequence number below this one; `None` for the newest page.
    #[serde(default)]
    pub before: Option<u64>,
}

/// Ack of [`LoadThread`]: the message answered and one page of its replies, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ThreadPage {
    /// The message that started the thread, as it stands.
    pub parent: ChatMessage,
    /// At most [`crate::limits::HISTORY_PAGE`] replies, oldest first; `room` is the parent's
    /// room, `has_more` says whether older replies exist, `rev` is the room's revision when
    /// read (replies are changes of the room, replayed by [`SyncRoom`]).
    pub page: HistoryPage,
}

client_event!(
    /// `message:thread` (client → server): a page of a thread's replies, newest page first,
    /// then older ones by `before`.
    LoadThread, "message:thread", ThreadRequest => ThreadPage
);

server_event!(
    /// `message:new` (server → room members, or both people of a direct room, every tab):
    /// a message was stored. The sending tab learns from its ack instead.
    NewMessage, "message:new", ChatMessage
);

/// Payload of [`LoadHistory`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HistoryRequest {
    /// The room (the caller must be a member).
    pub room: RoomId,
    /// Only messages with a sequence number below this one (the oldest the client holds);
    /// `None` for the newest page.
    #[serde(default)]
    pub before: Option<u64>,
    /// With `before`: also every message back to this sequence number, in one page of at most
    /// [`crate::limits::MAX_HISTORY_SPAN`] messages (to open a room at an older message, such
    /// as a search result, with everything after it). `None`: one ordinary page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back_to: Option<u64>,
}

/// Ack of [`LoadHistory`]: one page of a room's messages, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HistoryPage {
    /// The room.
    pub room: RoomId,
    /// At most [`crate::limits::HISTORY_PAGE`] messages, oldest first.
    pub messages: Vec<ChatMessage>,
    /// Whether older messages exist.
    pub has_more: bool,
    /// The room's revision when the page was read: resume from here.
    pub rev: u64,
}

/// Payload of [`SyncRoom`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// The room (the caller must be a member).
    pub room: RoomId,
    /// The last revision the client holds.
    pub after_rev: u64,
}

/// Ack of [`SyncRoom`]: changes after a revision, in revision order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SyncPage {
    /// The room.
    pub room: RoomId,
    /// At most [`crate::limits::SYNC_PAGE`] new, edited or deleted messages, by revision.
    pub changes: Vec<ChatMessage>,
    /// Whether more changes follow: ask again after the last one's revision.
    pub more: bool,
}

/// Payload of [`EditMessage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EditRequest {
    /// The message (the caller must be its author).
    pub id: Uuid,
    /// The new text (same rules as a new message).
    pub body: String,
}

/// Payload of [`DeleteMessage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DeleteRequest {
    /// The message (the caller must be its author).
    pub id: Uuid,
}

client_event!(
    /// `message:history` (client → server): a page of a room's history, newest first page
    /// first, then older ones by `before` (keyset pagination on the sequence number).
    LoadHistory, "message:history", HistoryRequest => HistoryPage
);
client_event!(
    /// `message:sync` (client → server): after a reconnect, everything that changed in a room
    /// since the client's last revision; repeat while `more`.
    SyncRoom, "message:sync", SyncRequest => SyncPage
);
client_event!(
    /// `message:edit` (client → server): change the text of one's own message.
    EditMessage, "message:edit", EditRequest => ChatMessage
);
client_event!(
    /// `message:delete` (client → server): delete one's own message.
    DeleteMessage, "message:delete", DeleteRequest => ChatMessage
);

/// Payload of [`ReactToMessage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ReactPayload {
    /// The message (in a room the caller is a member of, not deleted).
    pub id: Uuid,
    /// One of [`crate::model::REACTIONS`].
    pub emoji: String,
    /// Add (`true`) or remove the caller's reaction. Not a toggle: asking for what holds
    /// already changes nothing, so a retried request is harmless.
    pub on: bool,
}

client_event!(
    /// `message:react` (client → server): add or remove one's reaction to a message. Acked with
    /// the message as it stands; when something changed, its audience gets
    /// [`MessageUpdated`] (the change takes the room's next revision, so a resume replays it).
    ReactToMessage, "message:react", ReactPayload => ChatMessage
);

server_event!(
    /// `message:updated` (server → the message's audience): a message was edited, deleted or
    /// reacted to.
    MessageUpdated, "message:updated", ChatMessage
);

client_event!(
    /// `message:search` (client → server): messages matching words, across every room and
    /// direct conversation the caller is a member of (see [`crate::search`]). Bounded per
    /// person and per node: too many searches are refused with `rate_limited`.
    SearchMessages, "message:search", crate::search::SearchRequest => crate::search::SearchResults
);
