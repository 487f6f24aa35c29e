//! Room events: listing, creating, joining, leaving, deleting rooms and opening direct rooms.

use serde::{Deserialize, Serialize};

use crate::model::{Member, RoomId, RoomSummary, UserId, UserRef};

/// An empty payload, for requests that need no arguments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Empty {}

/// A payload naming one room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RoomRef {
    /// The room.
    pub room: RoomId,
}

/// Payload of [`RoomDeleted`]: the room, and who deleted it (so its members can be told why it
/// vanished).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RoomGone {
    /// The room.
    pub room: RoomId,
    /// Who deleted it (its creator).
    pub by: UserRef,
}

/// Ack of [`ListRooms`]: every public room, the caller's private and direct rooms, and which
/// they joined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RoomList {
    /// Who the server says the caller is.
    pub me: UserRef,
    /// The rooms, sorted by id.
    pub rooms: Vec<RoomSummary>,
    /// The rooms the caller is a member of.
    pub joined: Vec<RoomId>,
    /// The caller's read state in each of those rooms.
    #[serde(default)]
    pub read: Vec<ReadState>,
    /// Whether the caller is an administrator: the UI then offers moderation (which `/admin`
    /// checks again for itself).
    #[serde(default)]
    pub admin: bool,
}

/// Where someone has read up to in a room, and what is left: ack of [`MarkRead`] and payload of
/// [`RoomRead`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReadState {
    /// The room.
    pub room: RoomId,
    /// The last sequence number read (0: nothing yet).
    pub read_seq: u64,
    /// Messages after it written by others and not deleted, counted up to
    /// [`crate::limits::UNREAD_COUNT_CAP`].
    pub unread: u32,
    /// How many of those mention the person (by name or through `@room`), same cap.
    #[serde(default)]
    pub mentions: u32,
    /// The person muted the room: no notifications from it (counts and badges stay).
    #[serde(default)]
    pub muted: bool,
}

/// Payload of [`MuteRoom`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MutePayload {
    /// The room (the caller must be a member).
    pub room: RoomId,
    /// Mute (`true`) or unmute; setting what is set already changes nothing.
    pub muted: bool,
}

/// Payload of [`MarkRead`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MarkReadPayload {
    /// The room.
    pub room: RoomId,
    /// The newest sequence number the person has seen; a marker never moves back, and never
    /// past the room's last message.
    pub seq: u64,
}

/// Payload of [`CreateRoom`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRoomPayload {
    /// The name; see [`crate::model::parse_room_name`].
    pub name: String,
    /// A private room: listed and joinable only for the people its members invite.
    #[serde(default)]
    pub private: bool,
}

/// Payload of [`InviteToRoom`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct InvitePayload {
    /// The private room.
    pub room: RoomId,
    /// Who to add.
    pub user: UserId,
}

/// A room with its members: ack of [`JoinRoom`] and [`RoomMembers`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RoomView {
    /// The room.
    pub room: RoomSummary,
    /// Its members, online first, then by name.
    pub members: Vec<Member>,
}

/// Payload of [`OpenDirect`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct OpenDirectPayload {
    /// The other person.
    pub user: UserId,
}

/// Someone joined or left a room: payload of [`MemberJoined`] and [`MemberLeft`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MemberChange {
    /// The room.
    pub room: RoomId,
    /// Who.
    pub user: UserRef,
    /// The room's member count afterwards.
    pub members: u32,
    /// Whether `user` is a bot.
    #[serde(default)]
    pub bot: bool,
}

/// Payload of [`RemoveMember`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MemberPayload {
    /// The room.
    pub room: RoomId,
    /// The member.
    pub user: UserId,
}

/// Payload of [`SetModerator`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ModeratorPayload {
    /// The room.
    pub room: RoomId,
    /// The member.
    pub user: UserId,
    /// Whether they moderate it from now on.
    pub moderator: bool,
}

/// Payload of [`ModeratorChanged`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ModeratorChange {
    /// The room.
    pub room: RoomId,
    /// The member.
    pub user: UserRef,
    /// Whether they moderate it now.
    pub moderator: bool,
    /// The moderator who changed it.
    pub by: UserRef,
}

client_event!(
    /// `room:remove_message` (client → server): a moderator of the message's room removes it
    /// (others see "removed by a moderator"; text, reactions and file are gone from history,
    /// sync and search). Refused with `unknown_message` for someone who does not moderate that
    /// room or a direct conversation. The room hears `message:updated`; acked with the message.
    RemoveRoomMessage, "room:remove_message", crate::events::messages::DeleteRequest => crate::model::ChatMessage
);
client_event!(
    /// `room:remove_member` (client → server): a moderator of a public or private room (not the
    /// lobby) removes a member who is not a moderator. Their tabs hear [`RemovedFromRoom`], the
    /// room [`MemberLeft`]. A private room's former member needs a new invitation; a public
    /// room stays open to them, as to anyone. Acked with the room and its members.
    RemoveMember, "room:remove_member", MemberPayload => RoomView
);
client_event!(
    /// `room:set_moderator` (client → server): a moderator makes a member a moderator of the
    /// room, or no longer one (never its creator: `cannot_moderate`). The room hears
    /// [`ModeratorChanged`]; acked with the room and its members.
    SetModerator, "room:set_moderator", ModeratorPayload => RoomView
);

client_event!(
    /// `room:list` (client → server): the sidebar's rooms.
    ListRooms, "room:list", Empty => RoomList
);
client_event!(
    /// `room:create` (client → server): create a public or private room and join it. Refused
    /// with `room_exists` if the name is taken, `invalid_room_name` if it breaks a rule,
    /// `too_many_rooms` past the per-person limit.
    CreateRoom, "room:create", CreateRoomPayload => RoomSummary
);
client_event!(
    /// `room:join` (client → server): join a public room (joining twice is harmless). Private
    /// and direct rooms are refused with `forbidden` to non-members.
    JoinRoom, "room:join", RoomRef => RoomView
);
client_event!(
    /// `room:invite` (client → server): a member adds someone to a private room; the ack is
    /// the room with its members.
    InviteToRoom, "room:invite", InvitePayload => RoomView
);
client_event!(
    /// `room:leave` (client → server): leave a group room (not the lobby).
    LeaveRoom, "room:leave", RoomRef => RoomSummary
);
client_event!(
    /// `room:delete` (client → server): delete a group room; only its creator may.
    DeleteRoom, "room:delete", RoomRef => RoomRef
);
client_event!(
    /// `room:members` (client → server): a room the caller is in, with its members.
    RoomMembers, "room:members", RoomRef => RoomView
);
client_event!(
    /// `room:mark_read` (client → server): the person has seen `room` up to `seq`; the ack is
    /// their read state there, and their other tabs get [`RoomRead`].
    MarkRead, "room:mark_read", MarkReadPayload => ReadState
);
client_event!(
    /// `room:mute` (client → server): mute or unmute a room's notifications for the person, in
    /// every tab and browser; the ack is their read state there, their other tabs get
    /// [`RoomRead`].
    MuteRoom, "room:mute", MutePayload => ReadState
);
client_event!(
    /// `dm:open` (client → server): the direct room with someone, created on first use.
    OpenDirect, "dm:open", OpenDirectPayload => RoomSummary
);

server_event!(
    /// `room:created` (server → everyone, or only the creator's tabs for a private room): a
    /// room appeared.
    RoomCreated, "room:created", RoomSummary
);
server_event!(
    /// `room:added` (server → the invited person's tabs): someone added you to a private room.
    RoomAdded, "room:added", RoomSummary
);
server_event!(
    /// `room:deleted` (server → everyone, or a private room's members): a room is gone.
    RoomDeleted, "room:deleted", RoomGone
);
server_event!(
    /// `room:direct` (server → both people, every tab): a direct room was opened.
    DirectOpened, "room:direct", RoomSummary
);
server_event!(
    /// `room:joined` (server → everyone, or a private room's members): someone joined a room;
    /// members show a notice.
    MemberJoined, "room:joined", MemberChange
);
server_event!(
    /// `room:left` (server → everyone, or a private room's members): someone left a room;
    /// members show a notice.
    MemberLeft, "room:left", MemberChange
);
server_event!(
    /// `room:removed` (server → the removed person's tabs, on every node): a moderator removed
    /// you from a room; `by` names them.
    RemovedFromRoom, "room:removed", RoomGone
);
server_event!(
    /// `room:moderator` (server → everyone in a public room, or a private room's members): a
    /// member became a moderator of the room, or stopped being one.
    ModeratorChanged, "room:moderator", ModeratorChange
);
server_event!(
    /// `room:read` (server → the person's other tabs, on every node): their read state in a
    /// room changed.
    RoomRead, "room:read", ReadState
);
