//! The error every client request can be answered with.

use serde::Serialize;

/// A typed refusal, sent in an ack as `{"Err": {"code": "...", ...}}`.
///
/// Each variant says what the client did wrong in terms it can show to a person; server internals
/// are logged on the server and surface only as [`ChatError::Internal`].
// `Deserialize` is written out in `wire` below rather than derived: see there why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ChatError {
    /// The payload did not have the shape the event expects (missing field, wrong type, ...).
    #[error("malformed request: {reason}")]
    InvalidPayload {
        /// What the decoder complained about.
        reason: String,
    },
    /// The message was empty after trimming whitespace.
    #[error("message is empty")]
    EmptyMessage,
    /// The message is longer than the server accepts.
    #[error("message is too long: {len} characters, at most {max}")]
    MessageTooLong {
        /// Characters in the refused message.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// The display name broke a rule of [`crate::model::DisplayName`].
    #[error("invalid display name: {reason}")]
    InvalidName {
        /// Which rule.
        reason: String,
    },
    /// The room name broke a rule of [`crate::model::parse_room_name`].
    #[error("invalid room name: {reason}")]
    InvalidRoomName {
        /// Which rule.
        reason: String,
    },
    /// A room with that name exists already.
    #[error("a room named {room} exists already")]
    RoomExists {
        /// The name asked for.
        room: String,
    },
    /// The request needs membership of a room the caller is not in.
    #[error("you are not a member of {room}")]
    NotMember {
        /// The room.
        room: String,
    },
    /// Only the room's creator may do this (or nobody, for the lobby).
    #[error("you may not do that in {room}")]
    Forbidden {
        /// The room.
        room: String,
    },
    /// An incoming webhook that does not exist (or was deleted), or the wrong secret for it:
    /// the two look the same, so a caller learns nothing about which webhooks exist.
    #[error("unknown webhook or wrong secret")]
    BadWebhook,
    /// The person named is unknown.
    #[error("no such person: {user}")]
    UnknownUser {
        /// The id that was named.
        user: String,
    },
    /// The message does not exist, is deleted, or is not the caller's to change.
    #[error("you cannot change message {id}")]
    NotAuthor {
        /// The message id that was named.
        id: uuid::Uuid,
    },
    /// A message id that belongs to another message (someone else's, or one in another room).
    /// A retry of one's own send reuses its id and gets the stored message back instead; any
    /// other reuse is refused and nothing is sent.
    #[error("message id {id} is already used by another message")]
    MessageIdTaken {
        /// The id that was sent.
        id: uuid::Uuid,
    },
    /// The room does not exist, or is private (or direct) and the caller is not in it: both get
    /// this same answer, so nobody can probe which private rooms exist.
    #[error("no such room: {room}")]
    UnknownRoom {
        /// The room that was named.
        room: String,
    },
    /// Too many requests: the person's rate limit (shared by their tabs) is used up.
    #[error("too many requests; try again in {retry_after_ms} ms")]
    RateLimited {
        /// When the next request will be accepted.
        retry_after_ms: u64,
    },
    /// Registration: the name belongs to someone already (an account or a guest).
    #[error("the name {name} is taken")]
    NameTaken {
        /// The name asked for.
        name: String,
    },
    /// Registration: the password breaks the length rule.
    #[error("a password needs {min} to {max} characters")]
    InvalidPassword {
        /// Fewest characters.
        min: usize,
        /// Most characters.
        max: usize,
    },
    /// Sign-in: no account has this name and password. Deliberately does not say which was wrong.
    #[error("wrong name or password")]
    BadCredentials,
    /// Guest names are switched off on this server.
    #[error("this server does not admit guests; create an account")]
    GuestsDisabled,
    /// The person already created as many rooms as the server allows.
    #[error("you may create at most {max} rooms")]
    TooManyRooms {
        /// The configured limit.
        max: usize,
    },
    /// The message does not exist, is deleted, or is in a room the caller is not a member of.
    #[error("no such message: {id}")]
    UnknownMessage {
        /// The message id that was named.
        id: uuid::Uuid,
    },
    /// A reply to a message that cannot start a thread: a reply itself, deleted, or in another
    /// room than the one named.
    #[error("message {id} cannot be replied to in a thread")]
    NotAThread {
        /// The message named as the thread.
        id: uuid::Uuid,
    },
    /// A reaction outside the allowed set ([`crate::model::REACTIONS`]).
    #[error("{emoji:?} is not one of the reactions offered")]
    UnknownReaction {
        /// What was sent.
        emoji: String,
    },
    /// The message has as many different reactions as the server allows; add to one of them.
    #[error("a message can have at most {max} different reactions")]
    TooManyReactions {
        /// The configured limit.
        max: usize,
    },
    /// `@room` / `@here` in a room where the caller may not notify everyone: rooms with more
    /// than `max_members` members allow it only to their creator.
    #[error(
        "only the room's creator may notify everyone in {room} (more than {max_members} members)"
    )]
    RoomMentionForbidden {
        /// The room.
        room: String,
        /// The configured size up to which every member may.
        max_members: usize,
    },
    /// A search without any word to look for (only punctuation, or only filters).
    #[error("type a word to search for")]
    EmptySearch,
    /// A search text longer than the server accepts.
    #[error("search text is too long: {len} characters, at most {max}")]
    SearchTooLong {
        /// Characters in the refused text.
        len: usize,
        /// The limit ([`crate::search::MAX_SEARCH_CHARS`]).
        max: usize,
    },
    /// A file larger than the server accepts.
    #[error("the file is too large: {size} bytes, at most {max}")]
    FileTooLarge {
        /// The file's size.
        size: u64,
        /// The configured limit.
        max: u64,
    },
    /// The file would take the person's uploads past their quota.
    #[error("your uploads would exceed your quota of {quota} bytes ({used} used)")]
    QuotaExceeded {
        /// Bytes the person's files take already.
        used: u64,
        /// The configured quota.
        quota: u64,
    },
    /// The file's content (as sniffed from its bytes, not its name) is not a type the server
    /// accepts.
    #[error("files of type {mime} are not accepted here")]
    FileTypeRefused {
        /// The type the bytes show.
        mime: String,
    },
    /// The person has as many uploads in progress as the server allows; finish or cancel one.
    #[error("at most {max} uploads at once")]
    TooManyUploads {
        /// The configured limit.
        max: usize,
    },
    /// The upload is unknown on this server (never begun, cancelled, finished or expired):
    /// begin it again.
    #[error("no such upload: {id}")]
    UnknownUpload {
        /// The upload named.
        id: uuid::Uuid,
    },
    /// A chunk that does not continue the upload where it stands, or runs past its size.
    #[error("the upload continues at byte {expected}")]
    UploadOffset {
        /// Where the next chunk must start.
        expected: u64,
    },
    /// Finishing an upload that has not received all of its bytes.
    #[error("the upload is incomplete: {received} of {size} bytes")]
    UploadIncomplete {
        /// Bytes received.
        received: u64,
        /// The size announced.
        size: u64,
    },
    /// A request to a server function failed before the server could answer (network, encoding).
    #[error("request failed: {reason}")]
    Request {
        /// What failed.
        reason: String,
    },
    /// Only administrators may do this (the caller is not one, or no more).
    #[error("only administrators may do that")]
    AdminRequired,
    /// An administrator asked for something the rules forbid on this person.
    #[error("you cannot do that to {user}: {reason}")]
    CannotModerate {
        /// The person.
        user: String,
        /// Why not, in words.
        reason: String,
    },
    /// The account is banned from this server.
    #[error("this account is banned")]
    Banned,
    /// Something failed on the server; details are in its log, not here.
    #[error("internal server error")]
    Internal,
}

impl ChatError {
    /// The HTTP status a server function answers this refusal with: a 4xx for what the caller
    /// got wrong (so proxies and logs do not count a wrong password as a server failure), 500
    /// only for [`ChatError::Internal`].
    pub fn http_status(&self) -> u16 {
        match self {
            Self::BadCredentials | Self::BadWebhook => 401,
            Self::GuestsDisabled | Self::Forbidden { .. } | Self::AdminRequired | Self::Banned => {
                403
            }
            Self::UnknownRoom { .. }
            | Self::UnknownUser { .. }
            | Self::UnknownMessage { .. }
            | Self::UnknownUpload { .. } => 404,
            Self::FileTooLarge { .. } | Self::QuotaExceeded { .. } => 413,
            Self::NameTaken { .. }
            | Self::RoomExists { .. }
            | Self::MessageIdTaken { .. }
            | Self::CannotModerate { .. } => 409,
            Self::RateLimited { .. } => 429,
            Self::Internal => 500,
            _ => 422,
        }
    }
}

/// Server functions (sign-in, registration) answer with the same typed errors as socket acks.
impl leptos::server_fn::error::FromServerFnError for ChatError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        Self::Request { reason: value.to_string() }
    }
}

/// Reading a [`ChatError`] without serde's buffering.
///
/// A derived `Deserialize` for an internally tagged enum (`#[serde(tag = "code")]`) reads the
/// object into serde's private `Content` tree, then replays it into a visitor per variant: for
/// these forty variants that was 75 KB (7 KB compressed, 10%) of the WASM module the sign-in
/// page loads (the sign-in server functions answer with this type). Here the object is read once into
/// [`Wire`], a flat struct of every field any variant has, and `code` picks the variant. The
/// wire format is the derived `Serialize`'s, unchanged; a test in the server's suite
/// (`published_api.rs`) round-trips one example of every variant the JSON Schema lists, so a
/// variant added to the enum and not here fails it.
mod wire {
    use serde::de::{Deserialize, Deserializer, Error};
    use uuid::Uuid;

    use super::ChatError;

    /// Every field of every variant; which are required depends on `code`.
    #[derive(serde::Deserialize)]
    struct Wire {
        code: String,
        reason: Option<String>,
        room: Option<String>,
        user: Option<String>,
        name: Option<String>,
        emoji: Option<String>,
        mime: Option<String>,
        id: Option<Uuid>,
        len: Option<u64>,
        min: Option<u64>,
        max: Option<u64>,
        max_members: Option<u64>,
        retry_after_ms: Option<u64>,
        size: Option<u64>,
        used: Option<u64>,
        quota: Option<u64>,
        expected: Option<u64>,
        received: Option<u64>,
    }

    /// The codes, for the "unknown variant" message.
    const CODES: &[&str] = &[
        "invalid_payload",
        "empty_message",
        "message_too_long",
        "invalid_name",
        "invalid_room_name",
        "room_exists",
        "not_member",
        "forbidden",
        "bad_webhook",
        "unknown_user",
        "not_author",
        "message_id_taken",
        "unknown_room",
        "rate_limited",
        "name_taken",
        "invalid_password",
        "bad_credentials",
        "guests_disabled",
        "too_many_rooms",
        "unknown_message",
        "not_a_thread",
        "unknown_reaction",
        "too_many_reactions",
        "room_mention_forbidden",
        "empty_search",
        "search_too_long",
        "file_too_large",
        "quota_exceeded",
        "file_type_refused",
        "too_many_uploads",
        "unknown_upload",
        "upload_offset",
        "upload_incomplete",
        "request",
        "admin_required",
        "cannot_moderate",
        "banned",
        "internal",
    ];

    fn need<T, E: Error>(value: Option<T>, field: &'static str) -> Result<T, E> {
        value.ok_or_else(|| E::missing_field(field))
    }

    /// A count the server sends as `usize`.
    fn count<E: Error>(value: Option<u64>, field: &'static str) -> Result<usize, E> {
        usize::try_from(need::<u64, E>(value, field)?)
            .map_err(|_| E::custom(format_args!("{field} is out of range")))
    }

    impl<'de> Deserialize<'de> for ChatError {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            use ChatError::*;
            let w = Wire::deserialize(deserializer)?;
            Ok(match w.code.as_str() {
                "invalid_payload" => InvalidPayload { reason: need(w.reason, "reason")? },
                "empty_message" => EmptyMessage,
                "message_too_long" => {
                    MessageTooLong { len: count(w.len, "len")?, max: count(w.max, "max")? }
                }
                "invalid_name" => InvalidName { reason: need(w.reason, "reason")? },
                "invalid_room_name" => InvalidRoomName { reason: need(w.reason, "reason")? },
                "room_exists" => RoomExists { room: need(w.room, "room")? },
                "not_member" => NotMember { room: need(w.room, "room")? },
                "forbidden" => Forbidden { room: need(w.room, "room")? },
                "bad_webhook" => BadWebhook,
                "unknown_user" => UnknownUser { user: need(w.user, "user")? },
                "not_author" => NotAuthor { id: need(w.id, "id")? },
                "message_id_taken" => MessageIdTaken { id: need(w.id, "id")? },
                "unknown_room" => UnknownRoom { room: need(w.room, "room")? },
                "rate_limited" => {
                    RateLimited { retry_after_ms: need(w.retry_after_ms, "retry_after_ms")? }
                }
                "name_taken" => NameTaken { name: need(w.name, "name")? },
                "invalid_password" => {
                    InvalidPassword { min: count(w.min, "min")?, max: count(w.max, "max")? }
                }
                "bad_credentials" => BadCredentials,
                "guests_disabled" => GuestsDisabled,
                "too_many_rooms" => TooManyRooms { max: count(w.max, "max")? },
                "unknown_message" => UnknownMessage { id: need(w.id, "id")? },
                "not_a_thread" => NotAThread { id: need(w.id, "id")? },
                "unknown_reaction" => UnknownReaction { emoji: need(w.emoji, "emoji")? },
                "too_many_reactions" => TooManyReactions { max: count(w.max, "max")? },
                "room_mention_forbidden" => RoomMentionForbidden {
                    room: need(w.room, "room")?,
                    max_members: count(w.max_members, "max_members")?,
                },
                "empty_search" => EmptySearch,
                "search_too_long" => {
                    SearchTooLong { len: count(w.len, "len")?, max: count(w.max, "max")? }
                }
                "file_too_large" => {
                    FileTooLarge { size: need(w.size, "size")?, max: need(w.max, "max")? }
                }
                "quota_exceeded" => {
                    QuotaExceeded { used: need(w.used, "used")?, quota: need(w.quota, "quota")? }
                }
                "file_type_refused" => FileTypeRefused { mime: need(w.mime, "mime")? },
                "too_many_uploads" => TooManyUploads { max: count(w.max, "max")? },
                "unknown_upload" => UnknownUpload { id: need(w.id, "id")? },
                "upload_offset" => UploadOffset { expected: need(w.expected, "expected")? },
                "upload_incomplete" => UploadIncomplete {
                    received: need(w.received, "received")?,
                    size: need(w.size, "size")?,
                },
                "request" => Request { reason: need(w.reason, "reason")? },
                "admin_required" => AdminRequired,
                "cannot_moderate" => CannotModerate {
                    user: need(w.user, "user")?,
                    reason: need(w.reason, "reason")?,
                },
                "banned" => Banned,
                "internal" => Internal,
                other => return Err(D::Error::unknown_variant(other, CODES)),
            })
        }
    }
}
