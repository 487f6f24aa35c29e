//! Persistence behind one trait, so the domain never names a database.
//!
//! [`SqliteStore`] is the embedded default (a file in the data dir, WAL mode, migrations embedded
//! in the binary and applied at start). [`PostgresStore`] is the store several nodes share. Both
//! are one implementation, [`sql::SqlStore`], over the same schema model and the same query text;
//! each database adds only what is its own (`sqlite.rs`, `postgres.rs`). One conformance suite
//! (`tests/integration/store.rs`) runs every method against both.

mod blobs;
mod postgres;
mod search_index;
mod sql;
mod sqlite;
mod sqlite_writer;

use app::events::admin::AuditEntry;
use app::model::{ChatMessage, Mention, RoomId, RoomKind, UserId, UserRef};
use async_trait::async_trait;
use uuid::Uuid;

pub use blobs::{BlobStream, Blobs, DiskBlobs, PgBlobs, open_blobs};
pub use postgres::{PostgresAppends, PostgresStore};
pub use sql::{Dialect, MessageKey, SqlStore};
pub use sqlite::{Durability, MIGRATIONS as SQLITE_MIGRATIONS, SqliteStore, SqliteWriter};

/// Opens the store a configuration names: Postgres for a `postgres://` (or `postgresql://`)
/// database URL, otherwise SQLite in `data_dir` with `durability`.
pub async fn open(
    database_url: Option<&str>,
    data_dir: &std::path::Path,
    durability: Durability,
) -> StoreResult<std::sync::Arc<dyn Store>> {
    Ok(match database_url {
        Some(url) => std::sync::Arc::new(PostgresStore::connect(url).await?),
        None => std::sync::Arc::new(SqliteStore::open_with(data_dir, durability).await?),
    })
}

/// What can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A row that must be unique exists already (e.g. a room name).
    #[error("already exists")]
    Conflict,
    /// A row the operation needs does not exist.
    #[error("not found")]
    NotFound,
    /// The database failed; logged, shown to clients as an internal error.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// SQLite's append writer failed (it runs its statements through rusqlite, not sqlx);
    /// logged, shown to clients as an internal error.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The schema could not be brought up to date.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// A member as a room's people list shows them (see [`Store::member_roles`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRoles {
    /// Who.
    pub user: UserRef,
    /// A bot's account.
    pub bot: bool,
    /// Moderates the room.
    pub moderator: bool,
}

/// A room row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRecord {
    /// Id (the name, for public rooms).
    pub id: RoomId,
    /// Public, private or direct.
    pub kind: RoomKind,
    /// Creator, if any.
    pub created_by: Option<UserId>,
    /// Members at the time of reading (a count the store maintains, not a count of rows).
    pub members: u32,
}

/// Where a member has read up to in a room (see [`Store::read_states`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadMarker {
    /// The room.
    pub room: RoomId,
    /// The last sequence number read.
    pub read_seq: u64,
    /// Messages after it by others, not deleted, up to the cap asked for.
    pub unread: u32,
    /// How many of those mention the person (named or `@room`), same cap.
    pub mentions: u32,
    /// The person muted the room.
    pub muted: bool,
}

/// A page of history, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistorySlice {
    /// The messages.
    pub messages: Vec<ChatMessage>,
    /// Whether older messages exist.
    pub has_more: bool,
    /// The room's revision, read before the messages (so resuming from it misses nothing).
    pub rev: u64,
}

/// A change to an existing message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageChange {
    /// New text.
    Edit {
        /// The validated body.
        body: String,
        /// Its mentions, resolved again.
        mentions: Vec<Mention>,
    },
    /// Removed by a moderator: deleted, and marked as a moderator's doing. `by`: the room
    /// moderator removing it, who must still be one of its room when the write happens (`None`:
    /// an administrator, whose role the caller checked).
    Remove {
        /// The room moderator, if it is one.
        by: Option<UserId>,
    },
    /// Deleted: the body is cleared.
    Delete,
}

/// A message to append (what a send becomes once validated); the store assigns its sequence
/// number and revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageToAppend {
    /// Client-chosen id.
    pub id: Uuid,
    /// Room.
    pub room: RoomId,
    /// Author.
    pub author: UserRef,
    /// Validated body.
    pub body: String,
    /// Its mentions, resolved against the room's members.
    pub mentions: Vec<Mention>,
    /// For a reply, the message it answers (checked by the caller: same room, not a reply).
    pub thread: Option<Uuid>,
    /// Acceptance time (ms since the epoch).
    pub sent_at_ms: i64,
    /// A file shared with it (its bytes stored already, see [`crate::files`]).
    pub attachment: Option<app::model::Attachment>,
}

/// What [`Store::react`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reacted {
    /// The reaction was added or removed: the message with its new revision, which its audience
    /// must hear of.
    Changed(ChatMessage),
    /// It was there already (or was not, for a removal): the message unchanged.
    Unchanged(ChatMessage),
    /// Adding it would give the message more different reactions than allowed.
    TooManyKinds,
}

/// What [`Store::append`] did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// Stored now, with the room's next sequence number: its audience must hear of it.
    New(ChatMessage),
    /// Its author had already stored this id in this room (a retry after a lost ack): the
    /// message as stored, unchanged, which its audience has heard of already.
    Retry(ChatMessage),
}

impl Appended {
    /// The stored message, new or not.
    pub fn message(&self) -> &ChatMessage {
        match self {
            Self::New(m) | Self::Retry(m) => m,
        }
    }

    /// Takes the stored message.
    pub fn into_message(self) -> ChatMessage {
        match self {
            Self::New(m) | Self::Retry(m) => m,
        }
    }
}

/// The answer to an append whose id is stored already: a retry if the same author sent it to the
/// same room, a conflict for anyone or anywhere else (so knowing an id never replays a message).
fn retry_of(stored: ChatMessage, attempt: &MessageToAppend) -> StoreResult<Appended> {
    if stored.author.id == attempt.author.id && stored.room == attempt.room {
        Ok(Appended::Retry(stored))
    } else {
        Err(StoreError::Conflict)
    }
}

/// An incoming webhook as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRecord {
    /// Its id (in its URL).
    pub id: Uuid,
    /// Where it posts.
    pub room: RoomId,
    /// Whom it posts as.
    pub bot: UserId,
    /// The SHA-256 of its secret.
    pub secret_hash: String,
}

/// Rooms, memberships and messages.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Records a person (or updates their display name).
    async fn upsert_user(&self, user: &UserRef) -> StoreResult<()>;
    /// A person by id.
    async fn user(&self, id: &UserId) -> StoreResult<Option<UserRef>>;

    /// Records a new person with an Argon2 hash (`None`: a guest); [`StoreError::Conflict`] if
    /// the id is taken.
    async fn create_account(
        &self,
        user: &UserRef,
        password_hash: Option<&str>,
        at_ms: i64,
    ) -> StoreResult<()>;
    /// A person and their password hash (`None` inside: no password, a guest).
    async fn credentials(&self, id: &UserId) -> StoreResult<Option<(UserRef, Option<String>)>>;
    /// Opens a session known by `token_hash`, valid until `expires_ms`, unless the person is
    /// banned (`Ok(false)`, nothing written): one statement, so a sign-in cannot slip past a ban.
    async fn create_session(
        &self,
        token_hash: &str,
        user: &UserId,
        at_ms: i64,
        expires_ms: i64,
    ) -> StoreResult<bool>;
    /// Remembers that the device known by `token_hash` signed in to `user` (again).
    async fn trust_device(&self, token_hash: &str, user: &UserId, at_ms: i64) -> StoreResult<()>;
    /// Whether the device known by `token_hash` signed in to `user` before.
    async fn is_trusted_device(&self, token_hash: &str, user: &UserId) -> StoreResult<bool>;
    /// The person of an unexpired session.
    async fn session_user(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<UserRef>>;
    /// Like [`Store::session_user`], with whether the person is a bot (what a connection needs,
    /// in one query).
    async fn session_identity(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<(UserRef, bool)>>;
    /// Ends a session; false if there was none.
    async fn delete_session(&self, token_hash: &str) -> StoreResult<bool>;
    /// Which of `token_hashes` are sessions that exist and have not expired at `now_ms`.
    async fn live_sessions(&self, token_hashes: &[String], now_ms: i64)
    -> StoreResult<Vec<String>>;

    /// Creates a room; [`StoreError::Conflict`] if the id is taken.
    async fn create_room(
        &self,
        id: &RoomId,
        kind: RoomKind,
        by: Option<&UserId>,
        at_ms: i64,
    ) -> StoreResult<()>;
    /// Deletes a room with its memberships and messages; false if there was none.
    async fn delete_room(&self, id: &RoomId) -> StoreResult<bool>;
    /// One room.
    async fn room(&self, id: &RoomId) -> StoreResult<Option<RoomRecord>>;
    /// One room, and whether `user` is a member of it, in one query (every request in a room
    /// needs both).
    async fn room_for(&self, id: &RoomId, user: &UserId)
    -> StoreResult<Option<(RoomRecord, bool)>>;
    /// Every public room and the private and direct rooms `user` is in, sorted by id.
    async fn rooms_visible_to(&self, user: &UserId) -> StoreResult<Vec<RoomRecord>>;
    /// How many group rooms (public or private) `user` created and still exist.
    async fn rooms_created_by(&self, user: &UserId) -> StoreResult<u32>;

    /// Adds a member, who has read everything posted before they joined; false if they already
    /// were one.
    async fn add_member(&self, room: &RoomId, user: &UserId, at_ms: i64) -> StoreResult<bool>;
    /// Removes a member; false if they were not one.
    async fn remove_member(&self, room: &RoomId, user: &UserId) -> StoreResult<bool>;
    /// Whether `user` is a member of `room`.
    async fn is_member(&self, room: &RoomId, user: &UserId) -> StoreResult<bool>;
    /// The rooms `user` is a member of.
    async fn memberships(&self, user: &UserId) -> StoreResult<Vec<RoomId>>;
    /// A room's members.
    async fn members(&self, room: &RoomId) -> StoreResult<Vec<UserRef>>;
    /// The people of every direct room `user` is in (`user` included), by room, in one query.
    async fn direct_peers(&self, user: &UserId) -> StoreResult<Vec<(RoomId, UserRef)>>;

    /// Moves `user`'s read marker in `room` forward to `seq` (never back, never past the room's
    /// last message), in one statement; [`StoreError::NotFound`] if they are not a member.
    async fn mark_read(&self, room: &RoomId, user: &UserId, seq: u64) -> StoreResult<()>;
    /// `user`'s read state in each room they are in (or only in `room`): the marker and how many
    /// messages after it others wrote and did not delete, counted up to `cap`. Sorted by room.
    async fn read_states(
        &self,
        user: &UserId,
        room: Option<&RoomId>,
        cap: u32,
    ) -> StoreResult<Vec<ReadMarker>>;

    /// Mutes or unmutes `room` for `user`; [`StoreError::NotFound`] if they are not a member.
    async fn set_muted(&self, room: &RoomId, user: &UserId, muted: bool) -> StoreResult<()>;

    /// Adds (`on`) or removes `user`'s `emoji` reaction to message `id`, in one transaction: a
    /// change gives the message the room's next revision; asking for what holds changes nothing.
    /// An addition that would make more than `max_kinds` different emoji is refused.
    /// [`StoreError::NotFound`] if the message does not exist or is deleted.
    async fn react(
        &self,
        id: Uuid,
        user: &UserId,
        emoji: &str,
        on: bool,
        max_kinds: usize,
        at_ms: i64,
    ) -> StoreResult<Reacted>;

    /// Appends a message with the room's next sequence number and revision, committed before
    /// returning. A reply also updates the message it answers (reply count, last reply time),
    /// which takes the revision after the reply's. A message id is an idempotency key scoped to its author and room: if the same
    /// author stored the same id in the same room, that message is returned unchanged
    /// ([`Appended::Retry`]); if the id belongs to anyone else's message or another room, the
    /// append is refused with [`StoreError::Conflict`] and nothing changes.
    async fn append(&self, message: MessageToAppend) -> StoreResult<Appended>;
    /// The `limit` newest replies in the thread of message `parent` with `seq < before` (if
    /// given), oldest first; [`StoreError::NotFound`] if there is no such message.
    async fn thread(
        &self,
        parent: Uuid,
        before: Option<u64>,
        limit: u32,
    ) -> StoreResult<HistorySlice>;
    /// The `limit` newest messages of a room's own timeline (replies in threads left out) with
    /// `seq < before` (if given), oldest first.
    async fn history(
        &self,
        room: &RoomId,
        before: Option<u64>,
        limit: u32,
    ) -> StoreResult<HistorySlice>;
    /// Up to `limit` messages of a room changed after revision `after_rev`, by revision.
    async fn changes(
        &self,
        room: &RoomId,
        after_rev: u64,
        limit: u32,
    ) -> StoreResult<Vec<ChatMessage>>;
    /// One message.
    async fn message(&self, id: Uuid) -> StoreResult<Option<ChatMessage>>;
    /// Up to `limit` messages, newest first, that contain every one of `terms` (lowercase words
    /// of letters and digits, as [`app::search::terms`] makes them; a term of
    /// [`app::search::PREFIX_MIN_CHARS`] or more also matches words it begins), in rooms `user`
    /// is a member of at the time of the query, optionally only in `room` and by `author`.
    /// Deleted messages never match; edited ones match their current text. Full text through
    /// the database's own engine (FTS5, `tsvector`), never a scan of the messages.
    async fn search(
        &self,
        user: &UserId,
        terms: &[String],
        room: Option<&RoomId>,
        author: Option<&UserId>,
        limit: u32,
    ) -> StoreResult<Vec<ChatMessage>>;
    /// Counts `file` (its content hash, `size` bytes) against `user`'s upload quota, in one
    /// statement: `Ok(None)` if it was counted (or had been: the same file twice counts once),
    /// `Ok(Some(used))` if it would take them past `quota` (nothing written).
    async fn record_upload(
        &self,
        user: &UserId,
        file: &str,
        size: u64,
        quota: u64,
    ) -> StoreResult<Option<u64>>;

    /// Bytes `user`'s uploaded files take (each distinct file once).
    async fn upload_usage(&self, user: &UserId) -> StoreResult<u64>;

    /// Edits or deletes a message of `author`'s that is not deleted, giving it the room's next
    /// revision (an edit replaces its mentions; a delete removes its mentions and reactions, and its attachment). The condition is part of the write itself, so an edit racing a delete can never
    /// put text back into a deleted message: [`StoreError::NotFound`] (and nothing changes) if
    /// the message does not exist, is someone else's, or is deleted.
    async fn change_message(
        &self,
        id: Uuid,
        author: &UserId,
        change: MessageChange,
        at_ms: i64,
    ) -> StoreResult<ChatMessage>;

    /// Whether `user` carries the administrator flag (those the configuration names are the
    /// domain's business).
    async fn is_admin(&self, user: &UserId) -> StoreResult<bool>;

    /// Sets or clears `user`'s administrator flag.
    async fn set_admin(&self, user: &UserId, admin: bool) -> StoreResult<()>;

    /// Marks `user` banned and ends every session of theirs, in one transaction.
    async fn ban(&self, user: &UserId, at_ms: i64) -> StoreResult<()>;

    /// Lifts `user`'s ban (their ended sessions stay ended).
    async fn unban(&self, user: &UserId) -> StoreResult<()>;

    /// Appends an entry to the audit log.
    async fn record_audit(
        &self,
        actor: &UserId,
        action: &str,
        target: &UserId,
        detail: &str,
        at_ms: i64,
    ) -> StoreResult<()>;

    /// Audit entries older than `before` (or the newest), newest first, at most `limit`.
    async fn audit(&self, before: Option<u64>, limit: usize) -> StoreResult<Vec<AuditEntry>>;

    /// Creates a bot's account: no password, marked a bot. [`StoreError::Conflict`] if the name
    /// is taken (by a person or a bot).
    async fn create_bot(&self, user: &UserRef, at_ms: i64) -> StoreResult<()>;

    /// Whether `user` is a bot's account.
    async fn is_bot(&self, user: &UserId) -> StoreResult<bool>;

    /// `room`'s members with what the people list shows of each, in one query: whether they
    /// are a bot, and whether they moderate the room (its creator, or made a moderator; never in
    /// a direct room). Sorted like [`Store::members`].
    async fn member_roles(&self, room: &RoomId) -> StoreResult<Vec<MemberRoles>>;

    /// Whether `user` moderates `room` (and is a member of it).
    async fn is_moderator(&self, room: &RoomId, user: &UserId) -> StoreResult<bool>;

    /// Makes the member `user` a moderator of `room` or not, if `by` moderates it (checked in
    /// the same statement) and `user` is not its creator; false if nothing was written.
    async fn set_moderator(
        &self,
        room: &RoomId,
        by: &UserId,
        user: &UserId,
        moderator: bool,
    ) -> StoreResult<bool>;

    /// Removes the member `user` from `room` if `by` moderates it and `user` does not (both
    /// checked in the same statement); false if nothing was removed.
    async fn remove_member_by(
        &self,
        room: &RoomId,
        by: &UserId,
        user: &UserId,
    ) -> StoreResult<bool>;

    /// Ends every session of `user` (a bot's tokens are its sessions).
    async fn end_sessions(&self, user: &UserId) -> StoreResult<()>;

    /// Ends one session; whose it was, if it existed.
    async fn end_session(&self, token_hash: &str) -> StoreResult<Option<UserId>>;

    /// One round trip to the database (for its latency).
    async fn ping(&self) -> StoreResult<()>;

    /// Records an incoming webhook posting in `room` as `bot`.
    async fn create_webhook(
        &self,
        hook: &WebhookRecord,
        created_by: &UserId,
        at_ms: i64,
    ) -> StoreResult<()>;

    /// The webhook `id`, if it exists and its bot is not banned.
    async fn webhook(&self, id: Uuid) -> StoreResult<Option<WebhookRecord>>;

    /// Deletes the webhook `id`; what it was, if there was one.
    async fn delete_webhook(&self, id: Uuid) -> StoreResult<Option<WebhookRecord>>;
}
