//! Administration events, on their own namespace ([`ADMIN_NAMESPACE`]).
//!
//! Only administrators connect there: its connect middleware checks the session as `/chat`'s
//! does, then the person's role, and refuses anyone else with a `connect_error`. Every request
//! checks the role again (an administrator demoted while connected is refused from then on), and
//! every change is written to the audit log ([`ListAudit`]).
//!
//! Who is an administrator: whoever the server's `--admin` names (always, so a team cannot lock
//! itself out), and whoever an administrator promoted.

use serde::{Deserialize, Serialize};

use super::rooms::Empty;
use crate::model::{UserId, UserRef};

/// The Socket.IO namespace of administration.
pub const ADMIN_NAMESPACE: &str = "/admin";

/// The `connect_error` message of a connection to [`ADMIN_NAMESPACE`] by someone signed in who
/// is not an administrator.
pub const ADMINS_ONLY: &str = "administrators only";

/// A person an administrator acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PersonPayload {
    /// The person (their id: the lower-cased name).
    pub user: UserId,
}

/// Payload of [`BanPerson`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct BanPayload {
    /// The person banned.
    pub user: UserId,
    /// Why, for the audit log (may be empty; at most [`crate::limits::MAX_REASON_CHARS`]).
    #[serde(default)]
    pub reason: String,
}

client_event!(
    /// `admin:ban`: the person is signed out everywhere (every session ended, every open socket
    /// closed, on every node) and refused at sign-in until unbanned. Administrators cannot be
    /// banned (demote first), nor can one ban oneself.
    BanPerson, "admin:ban", BanPayload => Empty
);

client_event!(
    /// `admin:unban`: the person may sign in again.
    UnbanPerson, "admin:unban", PersonPayload => Empty
);

client_event!(
    /// `admin:promote`: the person becomes an administrator.
    Promote, "admin:promote", PersonPayload => Empty
);

client_event!(
    /// `admin:demote`: the person is an administrator no more; their `/admin` sockets close.
    /// Someone the server's `--admin` names stays one.
    Demote, "admin:demote", PersonPayload => Empty
);

client_event!(
    /// `admin:remove_message`: any message, in any room, is deleted as its author would delete
    /// it (text, mentions, reactions and file gone from history, sync and search) and marked
    /// `moderated`; its room hears `message:updated`. The audit log names its author as the
    /// target. Acked with the changed message.
    RemoveMessage, "admin:remove_message", crate::events::messages::DeleteRequest => crate::model::ChatMessage
);

client_event!(
    /// `admin:delete_room`: any public or private room is deleted as its creator would delete
    /// it (its members hear `room:deleted`, naming the administrator); not the lobby, not a
    /// direct conversation (`forbidden`). The audit log names its creator as the target.
    DeleteAnyRoom, "admin:delete_room", crate::events::rooms::RoomRef => crate::events::rooms::RoomRef
);

/// Payload of [`CreateWebhook`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// The room it posts in (public or private; the bot is added to it).
    pub room: crate::model::RoomId,
    /// The bot it posts as.
    pub bot: UserId,
}

/// Ack of [`CreateWebhook`]: the secret, shown this once. The server keeps only its SHA-256.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WebhookCreated {
    /// The webhook.
    pub id: uuid::Uuid,
    /// Where to `POST`: `/hooks/{id}` on the server's address.
    pub path: String,
    /// What the caller sends as `Authorization: Bearer <secret>`.
    pub secret: String,
    /// The room it posts in.
    pub room: crate::model::RoomId,
    /// The bot it posts as.
    pub bot: UserRef,
}

impl std::fmt::Debug for WebhookCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookCreated")
            .field("id", &self.id)
            .field("room", &self.room)
            .field("bot", &self.bot)
            .finish_non_exhaustive()
    }
}

/// Payload of [`DeleteWebhook`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookRef {
    /// The webhook.
    pub id: uuid::Uuid,
}

client_event!(
    /// `admin:create_webhook`: an incoming webhook for a room, posting as a bot (which it adds
    /// to the room). Anything that can `POST` JSON (CI, alerting) then posts there; see the
    /// README's "Incoming webhooks".
    CreateWebhook, "admin:create_webhook", NewWebhook => WebhookCreated
);

client_event!(
    /// `admin:delete_webhook`: the webhook's URL answers `bad_webhook` from then on.
    DeleteWebhook, "admin:delete_webhook", WebhookRef => Empty
);

/// Payload of [`CreateBot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NewBot {
    /// The bot's display name (the same rules and the same name space as people's: a bot cannot
    /// take a person's name, nor a person a bot's).
    pub name: String,
}

/// Ack of [`CreateBot`] and [`IssueBotToken`]: the token, shown this once. The server keeps only
/// its SHA-256.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BotToken {
    /// The bot.
    pub bot: UserRef,
    /// What the bot connects with: `io("/chat", { auth: { token } })`.
    pub token: String,
}

impl std::fmt::Debug for BotToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotToken").field("bot", &self.bot).finish_non_exhaustive()
    }
}

client_event!(
    /// `admin:create_bot`: an account for a script, marked as a bot wherever it appears, that
    /// has no password and connects to `/chat` only with the token in the ack. It reads and
    /// posts under the same rules, limits and rooms as a person.
    CreateBot, "admin:create_bot", NewBot => BotToken
);

client_event!(
    /// `admin:bot_token`: one more token for a bot (its other tokens stay valid: hand the new
    /// one over, then revoke the old ones with [`RevokeBotTokens`] and issue again).
    IssueBotToken, "admin:bot_token", PersonPayload => BotToken
);

client_event!(
    /// `admin:revoke_bot_tokens`: every token of the bot ends and its open sockets close, on
    /// every node.
    RevokeBotTokens, "admin:revoke_bot_tokens", PersonPayload => Empty
);

/// What an administrator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AdminAction {
    /// [`BanPerson`].
    Ban,
    /// [`UnbanPerson`].
    Unban,
    /// [`Promote`].
    Promote,
    /// [`Demote`].
    Demote,
    /// [`RemoveMessage`].
    RemoveMessage,
    /// [`DeleteAnyRoom`].
    DeleteRoom,
    /// [`CreateWebhook`].
    CreateWebhook,
    /// [`DeleteWebhook`].
    DeleteWebhook,
    /// [`CreateBot`].
    CreateBot,
    /// [`IssueBotToken`].
    IssueBotToken,
    /// [`RevokeBotTokens`].
    RevokeBotTokens,
    /// A room moderator's [`crate::events::rooms::RemoveRoomMessage`].
    RoomRemoveMessage,
    /// [`crate::events::rooms::RemoveMember`].
    RemoveMember,
    /// [`crate::events::rooms::SetModerator`], making someone a moderator.
    AddModerator,
    /// [`crate::events::rooms::SetModerator`], taking the role.
    DropModerator,
    /// [`EndSession`].
    EndSession,
}

impl AdminAction {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ban => "ban",
            Self::Unban => "unban",
            Self::Promote => "promote",
            Self::Demote => "demote",
            Self::RemoveMessage => "remove_message",
            Self::DeleteRoom => "delete_room",
            Self::CreateWebhook => "create_webhook",
            Self::DeleteWebhook => "delete_webhook",
            Self::CreateBot => "create_bot",
            Self::IssueBotToken => "issue_bot_token",
            Self::RevokeBotTokens => "revoke_bot_tokens",
            Self::RoomRemoveMessage => "room_remove_message",
            Self::RemoveMember => "remove_member",
            Self::AddModerator => "add_moderator",
            Self::DropModerator => "drop_moderator",
            Self::EndSession => "end_session",
        }
    }

    /// The action named `name`, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Ban,
            Self::Unban,
            Self::Promote,
            Self::Demote,
            Self::RemoveMessage,
            Self::DeleteRoom,
            Self::CreateWebhook,
            Self::DeleteWebhook,
            Self::CreateBot,
            Self::IssueBotToken,
            Self::RevokeBotTokens,
            Self::RoomRemoveMessage,
            Self::RemoveMember,
            Self::AddModerator,
            Self::DropModerator,
            Self::EndSession,
        ]
        .into_iter()
        .find(|a| a.as_str() == name)
    }
}

/// One entry of the audit log: an administrator's action, or a room moderator's in their room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AuditEntry {
    /// Increasing: the page before an entry is asked for with its id.
    pub id: u64,
    /// When (ms since the epoch).
    pub at_ms: i64,
    /// The administrator (or room moderator) who did it.
    pub actor: UserRef,
    /// What was done.
    pub action: AdminAction,
    /// Whom it was done to (a removed message: its author).
    pub target: UserId,
    /// The reason given, if any; for a removed message, its room and id.
    pub detail: String,
}

/// Payload of [`ListAudit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AuditRequest {
    /// Entries older than this id (none: the newest).
    #[serde(default)]
    pub before: Option<u64>,
}

/// Ack of [`ListAudit`]: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AuditPage {
    /// The entries.
    pub entries: Vec<AuditEntry>,
    /// Whether older entries exist.
    pub more: bool,
}

client_event!(
    /// `admin:audit`: a page of the audit log ([`crate::limits::AUDIT_PAGE`] entries).
    ListAudit, "admin:audit", AuditRequest => AuditPage
);

/// One open Socket.IO connection, as its node reports it (see [`ListConnections`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ConnectionInfo {
    /// The node it is connected to (its Socket.IO server id).
    pub node: String,
    /// The socket's id.
    pub sid: String,
    /// `/chat` or `/admin`.
    pub namespace: String,
    /// Whose it is.
    pub user: UserRef,
    /// A bot's.
    pub bot: bool,
    /// `websocket` or `polling` (long-polling), now.
    pub transport: String,
    /// The client's address, as the node sees it (a proxy's, behind one that is not trusted).
    pub address: Option<String>,
    /// When it connected (ms since the epoch).
    pub since_ms: i64,
    /// The sign-in it lives on: what [`EndSession`] takes. Not a credential (a digest of one).
    pub session: String,
}

/// Ack of [`ListConnections`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ConnectionList {
    /// Every node's connections, by person, then connected-since; at most
    /// [`crate::limits::MAX_LISTED_CONNECTIONS`].
    pub connections: Vec<ConnectionInfo>,
    /// How many there are in all.
    pub total: u32,
    /// How many nodes answered (this one included).
    pub nodes: u32,
    /// Whether some node did not answer in time (the list lacks its connections).
    pub partial: bool,
}

client_event!(
    /// `admin:connections`: the open connections of every node (asked through the cluster,
    /// answered by each node from its own sockets), with transport, address and since when;
    /// the first [`crate::limits::MAX_LISTED_CONNECTIONS`] by person, and how many in all.
    ListConnections, "admin:connections", Empty => ConnectionList
);

/// Payload of [`EndSession`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SessionRef {
    /// [`ConnectionInfo::session`].
    pub session: String,
}

client_event!(
    /// `admin:end_session`: signs one sign-in out (a lost laptop, a stolen cookie): the session
    /// ends and its tabs close on every node; the person's other sign-ins stay. Unknown or
    /// already ended: `{}` all the same.
    EndSession, "admin:end_session", SessionRef => Empty
);

/// One node's live figures (see [`NodeFigures`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NodeStats {
    /// The node (its Socket.IO server id).
    pub node: String,
    /// Open connections on `/chat` and `/admin`.
    pub connections: u32,
    /// Of which over WebSocket.
    pub websocket: u32,
    /// Messages posted on this node per second, over the last 10 s.
    pub messages_per_second: f64,
    /// Requests answered per second, over the last 10 s.
    pub requests_per_second: f64,
    /// One probe query's round trip to the store, in ms (`None`: the store did not answer).
    pub store_ms: Option<f64>,
    /// Seconds since the node started.
    pub uptime_secs: u64,
}

/// Ack of [`NodeFigures`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NodeList {
    /// Every node that answered, by id.
    pub nodes: Vec<NodeStats>,
    /// Whether some node did not answer in time.
    pub partial: bool,
}

client_event!(
    /// `admin:nodes`: each node's live figures (connections, messages and requests per
    /// second, store latency); poll it for a live view.
    NodeFigures, "admin:nodes", Empty => NodeList
);
