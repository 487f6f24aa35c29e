//! The one implementation of [`Store`] both databases run: every query, column list and row
//! mapping is written here once.
//!
//! SQLite and PostgreSQL share the schema model (the same tables, columns and room kinds; see the
//! migrations) and nearly all of their SQL: `$N` parameters (SQLite reads `$3` as "the third
//! argument", as Postgres does), `ON CONFLICT … DO UPDATE`, `RETURNING`, `NOT deleted`. What
//! really differs is behind [`Dialect`], one small implementation per database:
//!
//! - how a write transaction begins (SQLite must take its write lock up front),
//! - how appends are committed (SQLite groups them in one writer, which runs this file's append
//!   statements through rusqlite on a thread of its own; Postgres commits each and resolves a
//!   race between nodes on the message id),
//! - how a message id is stored ([`MessageKey`]: text in SQLite, `UUID` in Postgres).
//!
//! Lists are sorted here, in Rust, by bytes, rather than with `ORDER BY`: Postgres sorts text by
//! the database's locale unless told `COLLATE "C"`, which SQLite does not know, and a page of
//! rooms must come out in the same order whichever database a node runs on.
//!
//! The generic code is bounded by what it asks of the database (an executor for connections and
//! pools, the column types it binds and decodes); both `sqlx::Sqlite` and `sqlx::Postgres` meet
//! those bounds, and the compiler checks it where each store is built.

use std::fmt;

use app::events::admin::{AdminAction, AuditEntry};
use app::limits::REACTORS_LISTED;
use app::model::{ChatMessage, DisplayName, Mention, Reaction, RoomId, RoomKind, UserId, UserRef};
use async_trait::async_trait;
use sqlx::{
    AssertSqlSafe, Database, Encode, Executor, FromRow, IntoArguments, Pool, QueryBuilder,
    Transaction, Type,
};
use uuid::Uuid;

use super::{
    Appended, HistorySlice, MemberRoles, MessageChange, MessageToAppend, Reacted, ReadMarker,
    RoomRecord, Store, StoreError, StoreResult, WebhookRecord,
};

/// What differs between the databases; everything else is [`SqlStore`]'s.
#[async_trait]
pub trait Dialect: Send + Sync + fmt::Debug + 'static {
    /// The sqlx driver.
    type Db: Database;

    /// Begins a transaction that is going to write.
    async fn begin_write(pool: &Pool<Self::Db>) -> StoreResult<Transaction<'static, Self::Db>>;

    /// Appends a message (see [`Store::append`]), usually through [`append_in`].
    async fn append(
        &self,
        pool: &Pool<Self::Db>,
        message: MessageToAppend,
    ) -> StoreResult<Appended>;

    /// The search's matches (see [`Store::search`]) as a query selecting `hit_room`, `hit_seq`,
    /// `hit_order` and `hit_tie` (larger is newer, by the first, then the second), newest first, with parameters `$1` the person, `$2`
    /// [`Dialect::match_expression`], `$3` the room or NULL, `$4` the author or NULL, `$5` the
    /// most rows.
    const SEARCH_HITS: &'static str;

    /// The engine's query for `terms` (words of letters and digits only, so nothing in them is
    /// query syntax): all of them, prefixes where [`app::search::is_prefix`]; narrowed to
    /// `room` where the engine's index knows rooms.
    fn match_expression(terms: &[String], room: Option<&RoomId>) -> String;

    /// Returns once every message acknowledged before the call can be found (an engine that
    /// indexes after the commit catches up; one that indexes in it has nothing to wait for).
    async fn search_ready(&self) {}
}

/// A store over one SQL database: a pool and the dialect's own parts.
#[derive(Debug, Clone)]
pub struct SqlStore<D: Dialect> {
    pub(super) pool: Pool<D::Db>,
    pub(super) dialect: D,
}

/// A message id as a column: each dialect says how it is stored (`Type`/`Encode`/`Decode` impls
/// beside the dialect).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageKey(pub Uuid);

/// Room kinds as the `kind` column spells them (a `CHECK` constraint in both schemas).
fn kind_text(kind: RoomKind) -> &'static str {
    match kind {
        RoomKind::Public => "public",
        RoomKind::Private => "private",
        RoomKind::Direct => "direct",
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(format!("bad {what} in the database").into()))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn unsigned(v: i64, what: &str) -> StoreResult<u64> {
    u64::try_from(v).map_err(|_| corrupt(what))
}

fn count(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn display_name(name: &str, what: &str) -> StoreResult<DisplayName> {
    DisplayName::parse(name).map_err(|_| corrupt(what))
}

/// An `audit_log` row with its actor's name.
/// A webhook as the queries read it.
#[derive(FromRow)]
struct WebhookRow {
    room_id: String,
    bot_id: String,
    secret_hash: String,
}

impl WebhookRow {
    fn into_record(self, id: Uuid) -> WebhookRecord {
        WebhookRecord {
            id,
            room: RoomId(self.room_id),
            bot: UserId(self.bot_id),
            secret_hash: self.secret_hash,
        }
    }
}

#[derive(FromRow)]
pub(super) struct AuditRow {
    id: i64,
    at_ms: i64,
    actor_id: String,
    actor_name: String,
    action: String,
    target: String,
    detail: String,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> StoreResult<Self> {
        Ok(Self {
            id: u64::try_from(row.id).map_err(|_| corrupt("audit id"))?,
            at_ms: row.at_ms,
            actor: UserRef {
                id: UserId(row.actor_id),
                name: display_name(&row.actor_name, "user name")?,
            },
            action: AdminAction::parse(&row.action).ok_or_else(|| corrupt("audit action"))?,
            target: UserId(row.target),
            detail: row.detail,
        })
    }
}

/// A `rooms` row and whether someone is a member (1) or not (0), for [`Store::room_for`].
#[derive(FromRow)]
pub(super) struct RoomForRow {
    #[sqlx(flatten)]
    room: RoomRow,
    member: i64,
}

/// A `rooms` row as `room_columns!()` selects it.
#[derive(FromRow)]
pub(super) struct RoomRow {
    id: String,
    kind: String,
    created_by: Option<String>,
    members: i64,
}

/// The condition that the person `$user` moderates the room `$room` (SQL expressions): a member
/// of a group room who is its creator or was made a moderator (a direct room has none). A
/// macro so queries stay one literal.
macro_rules! is_moderator {
    ($room:literal, $user:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM memberships mm JOIN rooms rr ON rr.id = mm.room_id \
             WHERE mm.room_id = ",
            $room,
            " AND mm.user_id = ",
            $user,
            " AND rr.kind <> 'direct' AND (mm.moderator OR rr.created_by = mm.user_id))"
        )
    };
}

/// The condition that the `memberships` row's `user_id` is not the creator of the room `$room`
/// (whose role cannot be taken, nor they removed).
macro_rules! not_creator {
    ($room:literal) => {
        concat!(
            "user_id NOT IN (SELECT r.created_by FROM rooms r \
             WHERE r.id = ",
            $room,
            " AND r.created_by IS NOT NULL)"
        )
    };
}

/// The columns of [`RoomRow`], as a macro so queries stay one literal.
macro_rules! room_columns {
    () => {
        "r.id, r.kind, r.created_by, r.member_count AS members"
    };
}

impl TryFrom<RoomRow> for RoomRecord {
    type Error = StoreError;

    fn try_from(row: RoomRow) -> StoreResult<Self> {
        let kind = match row.kind.as_str() {
            "public" => RoomKind::Public,
            "private" => RoomKind::Private,
            "direct" => RoomKind::Direct,
            _ => return Err(corrupt("room kind")),
        };
        Ok(Self {
            id: RoomId(row.id),
            kind,
            created_by: row.created_by.map(UserId),
            members: count(row.members),
        })
    }
}

/// A signed-in person and whether they are a bot (1) or not (0), for
/// [`Store::session_identity`].
#[derive(FromRow)]
pub(super) struct SessionRow {
    #[sqlx(flatten)]
    user: UserRow,
    bot: i64,
}

/// A member with their roles, for [`Store::member_roles`] (flags as 1 or 0).
#[derive(FromRow)]
pub(super) struct MemberRolesRow {
    #[sqlx(flatten)]
    user: UserRow,
    bot: i64,
    moderator: i64,
}

/// A person: `u.id, u.name`.
#[derive(FromRow)]
pub(super) struct UserRow {
    id: String,
    name: String,
}

impl TryFrom<UserRow> for UserRef {
    type Error = StoreError;

    fn try_from(row: UserRow) -> StoreResult<Self> {
        Ok(Self { id: UserId(row.id), name: display_name(&row.name, "user name")? })
    }
}

/// A person with their password hash.
#[derive(FromRow)]
pub(super) struct CredentialsRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: Option<String>,
}

/// A member of a direct room.
#[derive(FromRow)]
pub(super) struct PeerRow {
    room_id: String,
    #[sqlx(flatten)]
    user: UserRow,
}

/// A read marker with its count.
#[derive(FromRow)]
pub(super) struct ReadRow {
    room_id: String,
    read_seq: i64,
    unread: i64,
    mentions: i64,
    muted: bool,
}

impl TryFrom<ReadRow> for ReadMarker {
    type Error = StoreError;

    fn try_from(row: ReadRow) -> StoreResult<Self> {
        Ok(Self {
            room: RoomId(row.room_id),
            read_seq: unsigned(row.read_seq, "read marker")?,
            unread: count(row.unread),
            mentions: count(row.mentions),
            muted: row.muted,
        })
    }
}

/// A `messages` row as `message_columns!()` selects it.
#[derive(FromRow)]
pub(super) struct MessageRow {
    room_id: String,
    seq: i64,
    id: MessageKey,
    author_id: String,
    author_name: String,
    body: String,
    sent_at: i64,
    rev: i64,
    edited_at: Option<i64>,
    deleted: bool,
    /// JSON: `[Mention]`.
    mentions: String,
    /// JSON: `[Reaction]`, the summary [`summarize_reactions`] made.
    reactions: String,
    thread_of: Option<MessageKey>,
    replies: i64,
    last_reply_at: Option<i64>,
    /// JSON: [`Attachment`], or NULL.
    attachment: Option<String>,
    moderated: bool,
}

/// The columns of [`MessageRow`], as a macro so queries stay one literal.
macro_rules! message_columns {
    () => {
        "room_id, seq, id, author_id, author_name, body, sent_at, rev, edited_at, deleted, \
         mentions, reactions, thread_of, replies, last_reply_at, attachment, moderated"
    };
}

/// One person's reaction, as the summary is made from.
#[derive(FromRow)]
pub(super) struct ReactionRow {
    emoji: String,
    #[sqlx(flatten)]
    user: UserRow,
}

/// The reactions of a message by emoji, in the order each emoji was first used; each lists its
/// first [`REACTORS_LISTED`] people (the rows come oldest first).
fn summarize_reactions(rows: Vec<ReactionRow>) -> StoreResult<Vec<Reaction>> {
    let mut out: Vec<Reaction> = Vec::new();
    for row in rows {
        let user = UserRef::try_from(row.user)?;
        let at = match out.iter().position(|r| r.emoji == row.emoji) {
            Some(at) => at,
            None => {
                out.push(Reaction { emoji: row.emoji, count: 0, by: Vec::new() });
                out.len() - 1
            }
        };
        let reaction = &mut out[at];
        reaction.count += 1;
        if reaction.by.len() < REACTORS_LISTED {
            reaction.by.push(user);
        }
    }
    Ok(out)
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

impl TryFrom<MessageRow> for ChatMessage {
    type Error = StoreError;

    fn try_from(row: MessageRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.0,
            room: RoomId(row.room_id),
            seq: unsigned(row.seq, "sequence number")?,
            author: UserRef {
                id: UserId(row.author_id),
                name: display_name(&row.author_name, "author name")?,
            },
            body: row.body,
            sent_at_ms: row.sent_at,
            rev: unsigned(row.rev, "revision")?,
            edited_at_ms: row.edited_at,
            deleted: row.deleted,
            moderated: row.moderated,
            mentions: serde_json::from_str(&row.mentions).map_err(|_| corrupt("mentions"))?,
            reactions: serde_json::from_str(&row.reactions).map_err(|_| corrupt("reactions"))?,
            thread: row.thread_of.map(|k| k.0),
            replies: count(row.replies),
            last_reply_at_ms: row.last_reply_at,
            attachment: row
                .attachment
                .map(|a| serde_json::from_str(&a).map_err(|_| corrupt("attachment")))
                .transpose()?,
        })
    }
}

/// The user id a mention row has: the person's, or `''` for `@room`.
pub(super) fn mention_row_user(mention: &Mention) -> &str {
    mention.user.as_ref().map_or("", |u| u.0.as_str())
}

// An append's statements, shared with SQLite's append writer (`sqlite_writer.rs`), which runs
// them through rusqlite (binding `$n` by name).

/// Takes room `$1`'s next sequence number and `$2` revisions; returns the new counters.
pub(super) const TAKE_COUNTERS: &str = "UPDATE rooms SET last_seq = last_seq + 1, \
     last_rev = last_rev + $2 WHERE id = $1 RETURNING last_seq, last_rev";
/// Gives back what [`TAKE_COUNTERS`] took (the id turned out to be taken).
pub(super) const GIVE_COUNTERS_BACK: &str =
    "UPDATE rooms SET last_seq = last_seq - 1, last_rev = last_rev - $2 WHERE id = $1";
/// Stores a message; changes nothing if its id is taken.
pub(super) const INSERT_MESSAGE: &str = "INSERT INTO messages \
       (room_id, seq, id, author_id, author_name, body, sent_at, rev, mentions, thread_of, \
        attachment) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING";
/// Records that message `$2` of room `$1` mentions `$3`.
pub(super) const INSERT_MENTION: &str =
    "INSERT INTO mentions (room_id, seq, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
/// Counts a reply sent at `$3` to message `$1` of room `$2`, which is now at revision `$4`.
pub(super) const COUNT_REPLY: &str = "UPDATE messages SET replies = replies + 1, \
     last_reply_at = $3, rev = $4 WHERE id = $1 AND room_id = $2";

/// Records whom message `seq` of `room` mentions (after its rows were cleared, for an edit).
async fn put_mentions<DB>(
    conn: &mut DB::Connection,
    room: &RoomId,
    seq: i64,
    mentions: &[Mention],
) -> StoreResult<()>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
{
    let mut targets: Vec<&str> = mentions.iter().map(mention_row_user).collect();
    targets.sort_unstable();
    targets.dedup();
    for user in targets {
        sqlx::query(INSERT_MENTION)
            .bind(room.0.as_str())
            .bind(seq)
            .bind(user)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub(super) const MESSAGE_BY_ID: &str =
    concat!("SELECT ", message_columns!(), " FROM messages WHERE id = $1");

/// How many ids one `IN (…)` list carries (SQLite allows 32,766 parameters, Postgres 65,535).
const IDS_PER_QUERY: usize = 1_000;

/// A page from `rows` read newest first with one more than `limit` (which tells whether older
/// ones exist), oldest first, at revision `rev`.
fn page(rows: Vec<MessageRow>, limit: u32, rev: i64) -> StoreResult<HistorySlice> {
    let mut messages: Vec<ChatMessage> = mapped(rows)?;
    let has_more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    messages.reverse();
    Ok(HistorySlice { messages, has_more, rev: u64::try_from(rev).unwrap_or_default() })
}

fn mapped<R, T: TryFrom<R, Error = StoreError>>(rows: Vec<R>) -> StoreResult<Vec<T>> {
    rows.into_iter().map(T::try_from).collect()
}

/// Appends one message inside `conn`'s transaction; both dialects' appends end here.
///
/// The outer error is the database failing (the caller aborts its transaction); the inner one
/// answers this message only: [`StoreError::NotFound`] if its room is gone,
/// [`StoreError::Conflict`] if its id is someone else's message or another room's.
/// `Ok(Ok(None))`: the id was taken, yet no message holds it when read back (another
/// transaction's insert not visible here; possible only where appends run concurrently): the
/// transaction must be rolled back and the stored message read again.
///
/// A new message costs two statements (the room's counters, then the insert); the id is looked
/// up only when the insert finds it taken, which is a client's retry and rare. The counters are
/// taken first because they lock the room's row (in PostgreSQL; SQLite's writer holds the
/// database's write lock), so the sequence number is the room's next; a retry gives them back
/// before anyone else can read them, so a room's sequence numbers have no gaps.
pub async fn append_in<DB>(
    conn: &mut DB::Connection,
    message: &MessageToAppend,
) -> StoreResult<StoreResult<Option<Appended>>>
where
    DB: Database,
    DB::QueryResult: RowsAffected,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> MessageKey: Encode<'q, DB> + Type<DB>,
    for<'q> Option<MessageKey>: Encode<'q, DB>,
    for<'r> MessageRow: FromRow<'r, DB::Row>,
    for<'r> (i64, i64): FromRow<'r, DB::Row>,
{
    let key = MessageKey(message.id);
    // A reply changes two messages (itself, and the one it answers): two revisions.
    let revisions: i64 = if message.thread.is_some() { 2 } else { 1 };
    let counters: Option<(i64, i64)> = sqlx::query_as(TAKE_COUNTERS)
        .bind(message.room.0.as_str())
        .bind(revisions)
        .fetch_optional(&mut *conn)
        .await?;
    let Some((seq, last_rev)) = counters else { return Ok(Err(StoreError::NotFound)) };
    let rev = last_rev - revisions + 1;
    let attachment = message.attachment.as_ref().map(to_json);
    let inserted = sqlx::query(INSERT_MESSAGE)
        .bind(message.room.0.as_str())
        .bind(seq)
        .bind(key)
        .bind(message.author.id.0.as_str())
        .bind(message.author.name.as_str())
        .bind(message.body.as_str())
        .bind(message.sent_at_ms)
        .bind(rev)
        .bind(to_json(&message.mentions).as_str())
        .bind(message.thread.map(MessageKey))
        .bind(attachment.as_deref())
        .execute(&mut *conn)
        .await;
    match inserted {
        Ok(done) if affected::<DB>(&done) => {}
        Ok(_) => {
            // The id is taken: give the counters back, then the stored message decides
            // between a retry and a conflict.
            sqlx::query(GIVE_COUNTERS_BACK)
                .bind(message.room.0.as_str())
                .bind(revisions)
                .execute(&mut *conn)
                .await?;
            let existing: Option<MessageRow> =
                sqlx::query_as(MESSAGE_BY_ID).bind(key).fetch_optional(&mut *conn).await?;
            return match existing {
                Some(row) => Ok(super::retry_of(row.try_into()?, message).map(Some)),
                None => Ok(Ok(None)),
            };
        }
        Err(e) if is_unique_violation(&e) => return Ok(Ok(None)),
        Err(e) => return Err(e.into()),
    }
    put_mentions::<DB>(conn, &message.room, seq, &message.mentions).await?;
    if let Some(parent) = message.thread {
        sqlx::query(COUNT_REPLY)
            .bind(MessageKey(parent))
            .bind(message.room.0.as_str())
            .bind(message.sent_at_ms)
            .bind(last_rev)
            .execute(&mut *conn)
            .await?;
    }
    Ok(Ok(Some(Appended::New(appended_message(message, seq, rev)?))))
}

/// The message `message` became, stored as number `seq` of its room at revision `rev`.
pub(super) fn appended_message(
    message: &MessageToAppend,
    seq: i64,
    rev: i64,
) -> StoreResult<ChatMessage> {
    Ok(ChatMessage {
        id: message.id,
        room: message.room.clone(),
        seq: unsigned(seq, "sequence number")?,
        author: message.author.clone(),
        body: message.body.clone(),
        sent_at_ms: message.sent_at_ms,
        rev: unsigned(rev, "revision")?,
        edited_at_ms: None,
        deleted: false,
        moderated: false,
        mentions: message.mentions.clone(),
        reactions: Vec::new(),
        thread: message.thread,
        replies: 0,
        last_reply_at_ms: None,
        attachment: message.attachment.clone(),
    })
}

#[async_trait]
impl<D> Store for SqlStore<D>
where
    D: Dialect,
    <D::Db as Database>::QueryResult: RowsAffected,
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> Option<&'q str>: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> i64: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> bool: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> MessageKey: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> Option<MessageKey>: Encode<'q, D::Db>,
    for<'r> RoomRow: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> RoomForRow: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> SessionRow: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> MemberRolesRow: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> UserRow: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> CredentialsRow: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> PeerRow: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> MessageRow: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> ReadRow: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> ReactionRow: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> AuditRow: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> WebhookRow: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> (String, i64): FromRow<'r, <D::Db as Database>::Row>,
    for<'r> (i64,): FromRow<'r, <D::Db as Database>::Row>,
    for<'r> (String,): FromRow<'r, <D::Db as Database>::Row>,
{
    async fn upsert_user(&self, user: &UserRef) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = $2",
        )
        .bind(user.id.0.as_str())
        .bind(user.name.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn user(&self, id: &UserId) -> StoreResult<Option<UserRef>> {
        let row: Option<UserRow> = sqlx::query_as("SELECT id, name FROM users WHERE id = $1")
            .bind(id.0.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(UserRef::try_from).transpose()
    }

    async fn create_account(
        &self,
        user: &UserRef,
        password_hash: Option<&str>,
        at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, name, password_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(user.id.0.as_str())
        .bind(user.name.as_str())
        .bind(password_hash)
        .bind(at_ms)
        .execute(&self.pool)
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict } else { e.into() })?;
        Ok(())
    }

    async fn credentials(&self, id: &UserId) -> StoreResult<Option<(UserRef, Option<String>)>> {
        let row: Option<CredentialsRow> =
            sqlx::query_as("SELECT id, name, password_hash FROM users WHERE id = $1")
                .bind(id.0.as_str())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|row| Ok((row.user.try_into()?, row.password_hash))).transpose()
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user: &UserId,
        at_ms: i64,
        expires_ms: i64,
    ) -> StoreResult<bool> {
        // Expired sessions are swept whenever one is opened; the index keeps it cheap.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(at_ms)
            .execute(&self.pool)
            .await?;
        let done = sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
             SELECT $1, $2, $3, $4 \
             WHERE EXISTS (SELECT 1 FROM users WHERE id = $2 AND banned_at IS NULL)",
        )
        .bind(token_hash)
        .bind(user.0.as_str())
        .bind(at_ms)
        .bind(expires_ms)
        .execute(&self.pool)
        .await?;
        Ok(affected::<D::Db>(&done))
    }

    async fn trust_device(&self, token_hash: &str, user: &UserId, at_ms: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO devices (token_hash, user_id, created_at, last_used) \
             VALUES ($1, $2, $3, $3) ON CONFLICT (token_hash, user_id) DO UPDATE SET last_used = $3",
        )
        .bind(token_hash)
        .bind(user.0.as_str())
        .bind(at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn is_trusted_device(&self, token_hash: &str, user: &UserId) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM devices WHERE token_hash = $1 AND user_id = $2")
            .bind(token_hash)
            .bind(user.0.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn session_user(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<UserRef>> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT u.id, u.name FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.banned_at IS NULL",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.map(UserRef::try_from).transpose()
    }

    async fn session_identity(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<(UserRef, bool)>> {
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT u.id, u.name, CAST(CASE WHEN u.bot THEN 1 ELSE 0 END AS BIGINT) AS bot \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.banned_at IS NULL",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((UserRef::try_from(row.user)?, row.bot == 1))).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(affected::<D::Db>(&done))
    }

    async fn live_sessions(
        &self,
        token_hashes: &[String],
        now_ms: i64,
    ) -> StoreResult<Vec<String>> {
        let mut live = Vec::new();
        for chunk in token_hashes.chunks(IDS_PER_QUERY) {
            let mut query = QueryBuilder::<D::Db>::new(
                "SELECT s.token_hash FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE u.banned_at IS NULL AND ",
            );
            query.push("s.expires_at > ").push_bind(now_ms).push(" AND s.token_hash IN (");
            let mut list = query.separated(", ");
            for hash in chunk {
                list.push_bind(hash.as_str());
            }
            query.push(")");
            let rows: Vec<(String,)> = query.build_query_as().fetch_all(&self.pool).await?;
            live.extend(rows.into_iter().map(|(hash,)| hash));
        }
        Ok(live)
    }

    async fn create_room(
        &self,
        id: &RoomId,
        kind: RoomKind,
        by: Option<&UserId>,
        at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO rooms (id, kind, created_by, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id.0.as_str())
            .bind(kind_text(kind))
            .bind(by.map(|u| u.0.as_str()))
            .bind(at_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict } else { e.into() })?;
        Ok(())
    }

    async fn delete_room(&self, id: &RoomId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM rooms WHERE id = $1")
            .bind(id.0.as_str())
            .execute(&self.pool)
            .await?;
        Ok(affected::<D::Db>(&done))
    }

    async fn room(&self, id: &RoomId) -> StoreResult<Option<RoomRecord>> {
        let row: Option<RoomRow> =
            sqlx::query_as(concat!("SELECT ", room_columns!(), " FROM rooms r WHERE r.id = $1"))
                .bind(id.0.as_str())
                .fetch_optional(&self.pool)
                .await?;
        row.map(RoomRecord::try_from).transpose()
    }

    async fn room_for(
        &self,
        id: &RoomId,
        user: &UserId,
    ) -> StoreResult<Option<(RoomRecord, bool)>> {
        let row: Option<RoomForRow> = sqlx::query_as(concat!(
            "SELECT ",
            room_columns!(),
            ", CAST(CASE WHEN EXISTS (SELECT 1 FROM memberships m \
                                      WHERE m.room_id = r.id AND m.user_id = $2) \
               THEN 1 ELSE 0 END AS BIGINT) AS member \
             FROM rooms r WHERE r.id = $1"
        ))
        .bind(id.0.as_str())
        .bind(user.0.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((RoomRecord::try_from(row.room)?, row.member == 1))).transpose()
    }

    async fn rooms_visible_to(&self, user: &UserId) -> StoreResult<Vec<RoomRecord>> {
        let rows: Vec<RoomRow> = sqlx::query_as(concat!(
            "SELECT ",
            room_columns!(),
            " FROM rooms r WHERE r.kind = 'public' \
             OR EXISTS (SELECT 1 FROM memberships m WHERE m.room_id = r.id AND m.user_id = $1)"
        ))
        .bind(user.0.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut rooms: Vec<RoomRecord> = mapped(rows)?;
        rooms.sort_unstable_by(|a, b| a.id.0.cmp(&b.id.0));
        Ok(rooms)
    }

    async fn rooms_created_by(&self, user: &UserId) -> StoreResult<u32> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM rooms WHERE created_by = $1 AND kind IN ('public', 'private')",
        )
        .bind(user.0.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(count(n))
    }

    async fn add_member(&self, room: &RoomId, user: &UserId, at_ms: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO memberships (room_id, user_id, joined_at, read_seq) \
             VALUES ($1, $2, $3, COALESCE((SELECT r.last_seq FROM rooms r WHERE r.id = $1), 0)) \
             ON CONFLICT DO NOTHING",
        )
        .bind(room.0.as_str())
        .bind(user.0.as_str())
        .bind(at_ms)
        .execute(&self.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
            _ => e.into(),
        })?;
        Ok(affected::<D::Db>(&done))
    }

    async fn remove_member(&self, room: &RoomId, user: &UserId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM memberships WHERE room_id = $1 AND user_id = $2")
            .bind(room.0.as_str())
            .bind(user.0.as_str())
            .execute(&self.pool)
            .await?;
        Ok(affected::<D::Db>(&done))
    }

    async fn is_member(&self, room: &RoomId, user: &UserId) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM memberships WHERE room_id = $1 AND user_id = $2")
            .bind(room.0.as_str())
            .bind(user.0.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn memberships(&self, user: &UserId) -> StoreResult<Vec<RoomId>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT room_id FROM memberships WHERE user_id = $1")
                .bind(user.0.as_str())
                .fetch_all(&self.pool)
                .await?;
        let mut rooms: Vec<RoomId> = rows.into_iter().map(|(id,)| RoomId(id)).collect();
        rooms.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(rooms)
    }

    async fn members(&self, room: &RoomId) -> StoreResult<Vec<UserRef>> {
        let rows: Vec<UserRow> = sqlx::query_as(
            "SELECT u.id, u.name FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.room_id = $1",
        )
        .bind(room.0.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut members: Vec<UserRef> = mapped(rows)?;
        members
            .sort_unstable_by(|a, b| (a.name.as_str(), &a.id.0).cmp(&(b.name.as_str(), &b.id.0)));
        Ok(members)
    }

    async fn direct_peers(&self, user: &UserId) -> StoreResult<Vec<(RoomId, UserRef)>> {
        let rows: Vec<PeerRow> = sqlx::query_as(
            "SELECT m.room_id, u.id, u.name FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.room_id IN (SELECT mine.room_id FROM memberships mine \
                                 JOIN rooms r ON r.id = mine.room_id \
                                 WHERE mine.user_id = $1 AND r.kind = 'direct')",
        )
        .bind(user.0.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut peers = rows
            .into_iter()
            .map(|row| Ok((RoomId(row.room_id), UserRef::try_from(row.user)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        peers.sort_unstable_by(|(ra, a), (rb, b)| {
            (&ra.0, a.name.as_str(), &a.id.0).cmp(&(&rb.0, b.name.as_str(), &b.id.0))
        });
        Ok(peers)
    }

    async fn mark_read(&self, room: &RoomId, user: &UserId, seq: u64) -> StoreResult<()> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        // One statement: the membership check, the clamp to the room's last message and the
        // never-backwards rule are all part of the write.
        let done = sqlx::query(
            "UPDATE memberships SET read_seq = \
               (SELECT CASE WHEN $3 < r.last_seq THEN $3 ELSE r.last_seq END \
                FROM rooms r WHERE r.id = memberships.room_id) \
             WHERE room_id = $1 AND user_id = $2 AND read_seq < $3",
        )
        .bind(room.0.as_str())
        .bind(user.0.as_str())
        .bind(seq)
        .execute(&self.pool)
        .await?;
        if affected::<D::Db>(&done) || self.is_member(room, user).await? {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn read_states(
        &self,
        user: &UserId,
        room: Option<&RoomId>,
        cap: u32,
    ) -> StoreResult<Vec<ReadMarker>> {
        // The count stops at `cap` rows per room (a keyset range on the messages' primary key).
        let rows: Vec<ReadRow> = sqlx::query_as(
            "SELECT m.room_id, m.read_seq, \
               (SELECT COUNT(*) FROM (SELECT 1 FROM messages msg \
                  WHERE msg.room_id = m.room_id AND msg.seq > m.read_seq \
                    AND msg.author_id <> m.user_id AND NOT msg.deleted \
                    AND msg.thread_of IS NULL \
                  LIMIT $3) AS counted) AS unread, \
               (SELECT COUNT(*) FROM (SELECT DISTINCT mm.seq FROM mentions mm \
                  JOIN messages msg ON msg.room_id = mm.room_id AND msg.seq = mm.seq \
                  WHERE mm.room_id = m.room_id AND mm.user_id IN (m.user_id, '') \
                    AND mm.seq > m.read_seq AND msg.author_id <> m.user_id AND NOT msg.deleted \
                  LIMIT $3) AS counted) AS mentions, \
               m.muted \
             FROM memberships m WHERE m.user_id = $1 AND ($2 = '' OR m.room_id = $2)",
        )
        .bind(user.0.as_str())
        .bind(room.map_or("", |r| r.0.as_str()))
        .bind(i64::from(cap))
        .fetch_all(&self.pool)
        .await?;
        let mut markers: Vec<ReadMarker> = mapped(rows)?;
        markers.sort_unstable_by(|a, b| a.room.0.cmp(&b.room.0));
        Ok(markers)
    }

    async fn set_muted(&self, room: &RoomId, user: &UserId, muted: bool) -> StoreResult<()> {
        let done =
            sqlx::query("UPDATE memberships SET muted = $3 WHERE room_id = $1 AND user_id = $2")
                .bind(room.0.as_str())
                .bind(user.0.as_str())
                .bind(muted)
                .execute(&self.pool)
                .await?;
        if affected::<D::Db>(&done) { Ok(()) } else { Err(StoreError::NotFound) }
    }

    async fn react(
        &self,
        id: Uuid,
        user: &UserId,
        emoji: &str,
        on: bool,
        max_kinds: usize,
        at_ms: i64,
    ) -> StoreResult<Reacted> {
        let place: Option<(String, i64)> =
            sqlx::query_as("SELECT room_id, seq FROM messages WHERE id = $1 AND NOT deleted")
                .bind(MessageKey(id))
                .fetch_optional(&self.pool)
                .await?;
        let (room, seq) = place.ok_or(StoreError::NotFound)?;
        let mut tx = D::begin_write(&self.pool).await?;
        // The room's write lock first, as every change of a room takes it: concurrent reactions
        // to one message are applied one after the other, each summary made from every row
        // committed before it. If nothing changes, the rollback returns the revision.
        let (rev,): (i64,) = sqlx::query_as(
            "UPDATE rooms SET last_rev = last_rev + 1 WHERE id = $1 RETURNING last_rev",
        )
        .bind(room.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let done = if on {
            let (kinds,): (i64,) = sqlx::query_as(
                "SELECT COUNT(DISTINCT emoji) FROM reactions \
                 WHERE room_id = $1 AND seq = $2 AND emoji <> $3",
            )
            .bind(room.as_str())
            .bind(seq)
            .bind(emoji)
            .fetch_one(&mut *tx)
            .await?;
            // Other emoji than this one: adding to an emoji in use never makes a new kind.
            if usize::try_from(kinds).unwrap_or(usize::MAX) >= max_kinds {
                return Ok(Reacted::TooManyKinds);
            }
            sqlx::query(
                "INSERT INTO reactions (room_id, seq, emoji, user_id, at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(room.as_str())
            .bind(seq)
            .bind(emoji)
            .bind(user.0.as_str())
            .bind(at_ms)
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query(
                "DELETE FROM reactions \
                 WHERE room_id = $1 AND seq = $2 AND emoji = $3 AND user_id = $4",
            )
            .bind(room.as_str())
            .bind(seq)
            .bind(emoji)
            .bind(user.0.as_str())
            .execute(&mut *tx)
            .await?
        };
        if !affected::<D::Db>(&done) {
            drop(tx);
            let message = self.message(id).await?.ok_or(StoreError::NotFound)?;
            return Ok(Reacted::Unchanged(message));
        }
        let rows: Vec<ReactionRow> = sqlx::query_as(
            "SELECT r.emoji, u.id, u.name FROM reactions r JOIN users u ON u.id = r.user_id \
             WHERE r.room_id = $1 AND r.seq = $2 ORDER BY r.at, r.user_id",
        )
        .bind(room.as_str())
        .bind(seq)
        .fetch_all(&mut *tx)
        .await?;
        let summary = to_json(&summarize_reactions(rows)?);
        // Not deleted, checked again in the write: a delete that won the lock wins.
        let changed: Option<MessageRow> = sqlx::query_as(concat!(
            "UPDATE messages SET reactions = $3, rev = $4 \
             WHERE room_id = $1 AND seq = $2 AND NOT deleted RETURNING ",
            message_columns!()
        ))
        .bind(room.as_str())
        .bind(seq)
        .bind(summary.as_str())
        .bind(rev)
        .fetch_optional(&mut *tx)
        .await?;
        let message = ChatMessage::try_from(changed.ok_or(StoreError::NotFound)?)?;
        tx.commit().await?;
        Ok(Reacted::Changed(message))
    }

    async fn append(&self, message: MessageToAppend) -> StoreResult<Appended> {
        self.dialect.append(&self.pool, message).await
    }

    async fn history(
        &self,
        room: &RoomId,
        before: Option<u64>,
        limit: u32,
    ) -> StoreResult<HistorySlice> {
        // The revision first: a message stored between the two reads is then both in the page
        // and after the revision, which resuming dedupes, instead of in neither.
        let rev: Option<(i64,)> = sqlx::query_as("SELECT last_rev FROM rooms WHERE id = $1")
            .bind(room.0.as_str())
            .fetch_optional(&self.pool)
            .await?;
        let (rev,) = rev.ok_or(StoreError::NotFound)?;
        let before = before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
        let rows: Vec<MessageRow> = sqlx::query_as(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE room_id = $1 AND seq < $2 AND thread_of IS NULL \
             ORDER BY seq DESC LIMIT $3"
        ))
        .bind(room.0.as_str())
        .bind(before)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        page(rows, limit, rev)
    }

    async fn thread(
        &self,
        parent: Uuid,
        before: Option<u64>,
        limit: u32,
    ) -> StoreResult<HistorySlice> {
        let rev: Option<(i64,)> = sqlx::query_as(
            "SELECT r.last_rev FROM rooms r JOIN messages m ON m.room_id = r.id WHERE m.id = $1",
        )
        .bind(MessageKey(parent))
        .fetch_optional(&self.pool)
        .await?;
        let (rev,) = rev.ok_or(StoreError::NotFound)?;
        let before = before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
        let rows: Vec<MessageRow> = sqlx::query_as(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE thread_of = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
        ))
        .bind(MessageKey(parent))
        .bind(before)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        page(rows, limit, rev)
    }

    async fn changes(
        &self,
        room: &RoomId,
        after_rev: u64,
        limit: u32,
    ) -> StoreResult<Vec<ChatMessage>> {
        let rows: Vec<MessageRow> = sqlx::query_as(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE room_id = $1 AND rev > $2 ORDER BY rev LIMIT $3"
        ))
        .bind(room.0.as_str())
        .bind(i64::try_from(after_rev).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        mapped(rows)
    }

    async fn search(
        &self,
        user: &UserId,
        terms: &[String],
        room: Option<&RoomId>,
        author: Option<&UserId>,
        limit: u32,
    ) -> StoreResult<Vec<ChatMessage>> {
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        self.dialect.search_ready().await;
        // Only constant text goes into the statement; everything from the caller is bound.
        let sql = format!(
            "SELECT {} FROM messages JOIN ({}) AS h ON room_id = h.hit_room AND seq = h.hit_seq \
             ORDER BY h.hit_order DESC, h.hit_tie DESC",
            message_columns!(),
            D::SEARCH_HITS
        );
        let matching = D::match_expression(terms, room);
        let rows: Vec<MessageRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(user.0.as_str())
            .bind(matching.as_str())
            .bind(room.map(|r| r.0.as_str()))
            .bind(author.map(|a| a.0.as_str()))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        mapped(rows)
    }

    async fn message(&self, id: Uuid) -> StoreResult<Option<ChatMessage>> {
        let row: Option<MessageRow> =
            sqlx::query_as(MESSAGE_BY_ID).bind(MessageKey(id)).fetch_optional(&self.pool).await?;
        row.map(ChatMessage::try_from).transpose()
    }

    async fn record_upload(
        &self,
        user: &UserId,
        file: &str,
        size: u64,
        quota: u64,
    ) -> StoreResult<Option<u64>> {
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        let quota = i64::try_from(quota).unwrap_or(i64::MAX);
        let mut tx = D::begin_write(&self.pool).await?;
        // The person's row lock (Postgres; SQLite's write lock is the database's) orders two
        // uploads finishing at once on any nodes, and the check is part of the write: neither
        // can pass a sum read before the other wrote.
        sqlx::query("UPDATE users SET name = name WHERE id = $1")
            .bind(user.0.as_str())
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query(
            "INSERT INTO uploads (user_id, file, size) \
             SELECT $1, $2, $3 \
             WHERE (SELECT COALESCE(SUM(size), 0) FROM uploads WHERE user_id = $1) + $3 <= $4 \
                OR EXISTS (SELECT 1 FROM uploads WHERE user_id = $1 AND file = $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(user.0.as_str())
        .bind(file)
        .bind(size)
        .bind(quota)
        .execute(&mut *tx)
        .await?;
        let refused = if affected::<D::Db>(&done) {
            None
        } else {
            let counted: Option<(i64,)> =
                sqlx::query_as("SELECT size FROM uploads WHERE user_id = $1 AND file = $2")
                    .bind(user.0.as_str())
                    .bind(file)
                    .fetch_optional(&mut *tx)
                    .await?;
            match counted {
                Some(_) => None,
                None => {
                    let (used,): (i64,) = sqlx::query_as(
                        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM uploads \
                         WHERE user_id = $1",
                    )
                    .bind(user.0.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
                    Some(u64::try_from(used).unwrap_or_default())
                }
            }
        };
        tx.commit().await?;
        Ok(refused)
    }

    async fn create_bot(&self, user: &UserRef, at_ms: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, name, password_hash, created_at, bot) \
             VALUES ($1, $2, NULL, $3, TRUE)",
        )
        .bind(user.id.0.as_str())
        .bind(user.name.as_str())
        .bind(at_ms)
        .execute(&self.pool)
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict } else { e.into() })?;
        Ok(())
    }

    async fn is_bot(&self, user: &UserId) -> StoreResult<bool> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users WHERE id = $1 AND bot")
            .bind(user.0.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    async fn member_roles(&self, room: &RoomId) -> StoreResult<Vec<MemberRoles>> {
        let rows: Vec<MemberRolesRow> = sqlx::query_as(
            "SELECT u.id, u.name, \
               CAST(CASE WHEN u.bot THEN 1 ELSE 0 END AS BIGINT) AS bot, \
               CAST(CASE WHEN r.kind <> 'direct' \
                          AND (m.moderator OR r.created_by = m.user_id) THEN 1 ELSE 0 END \
                    AS BIGINT) AS moderator \
             FROM memberships m JOIN users u ON u.id = m.user_id JOIN rooms r ON r.id = m.room_id \
             WHERE m.room_id = $1",
        )
        .bind(room.0.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut members = rows
            .into_iter()
            .map(|row| {
                Ok(MemberRoles {
                    user: UserRef::try_from(row.user)?,
                    bot: row.bot == 1,
                    moderator: row.moderator == 1,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        members.sort_unstable_by(|a, b| {
            (a.user.name.as_str(), &a.user.id.0).cmp(&(b.user.name.as_str(), &b.user.id.0))
        });
        Ok(members)
    }

    async fn is_moderator(&self, room: &RoomId, user: &UserId) -> StoreResult<bool> {
        let row = sqlx::query(concat!("SELECT 1 WHERE ", is_moderator!("$1", "$2")))
            .bind(room.0.as_str())
            .bind(user.0.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn set_moderator(
        &self,
        room: &RoomId,
        by: &UserId,
        user: &UserId,
        moderator: bool,
    ) -> StoreResult<bool> {
        let done = sqlx::query(concat!(
            "UPDATE memberships SET moderator = $4 WHERE room_id = $1 AND user_id = $3 AND ",
            not_creator!("$1"),
            " AND ",
            is_moderator!("$1", "$2")
        ))
        .bind(room.0.as_str())
        .bind(by.0.as_str())
        .bind(user.0.as_str())
        .bind(moderator)
        .execute(&self.pool)
        .await?;
        Ok(affected::<D::Db>(&done))
    }

    async fn remove_member_by(
        &self,
        room: &RoomId,
        by: &UserId,
        user: &UserId,
    ) -> StoreResult<bool> {
        let done = sqlx::query(concat!(
            "DELETE FROM memberships WHERE room_id = $1 AND user_id = $3 AND NOT moderator AND ",
            not_creator!("$1"),
            " AND ",
            is_moderator!("$1", "$2")
        ))
        .bind(room.0.as_str())
        .bind(by.0.as_str())
        .bind(user.0.as_str())
        .execute(&self.pool)
        .await?;
        Ok(affected::<D::Db>(&done))
    }

    async fn end_session(&self, token_hash: &str) -> StoreResult<Option<UserId>> {
        let row: Option<(String,)> =
            sqlx::query_as("DELETE FROM sessions WHERE token_hash = $1 RETURNING user_id")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id,)| UserId(id)))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn end_sessions(&self, user: &UserId) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.0.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_webhook(
        &self,
        hook: &WebhookRecord,
        created_by: &UserId,
        at_ms: i64,
    ) -> StoreResult<()> {
        let id = hook.id.to_string();
        sqlx::query(
            "INSERT INTO webhooks (id, room_id, bot_id, secret_hash, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.as_str())
        .bind(hook.room.0.as_str())
        .bind(hook.bot.0.as_str())
        .bind(hook.secret_hash.as_str())
        .bind(created_by.0.as_str())
        .bind(at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn webhook(&self, id: Uuid) -> StoreResult<Option<WebhookRecord>> {
        let key = id.to_string();
        // A banned bot's webhooks post nothing.
        let row: Option<WebhookRow> = sqlx::query_as(
            "SELECT w.room_id, w.bot_id, w.secret_hash FROM webhooks w \
             JOIN users u ON u.id = w.bot_id WHERE w.id = $1 AND u.banned_at IS NULL",
        )
        .bind(key.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| row.into_record(id)))
    }

    async fn delete_webhook(&self, id: Uuid) -> StoreResult<Option<WebhookRecord>> {
        let key = id.to_string();
        let row: Option<WebhookRow> = sqlx::query_as(
            "DELETE FROM webhooks WHERE id = $1 RETURNING room_id, bot_id, secret_hash",
        )
        .bind(key.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| row.into_record(id)))
    }

    async fn is_admin(&self, user: &UserId) -> StoreResult<bool> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users WHERE id = $1 AND admin")
            .bind(user.0.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    async fn set_admin(&self, user: &UserId, admin: bool) -> StoreResult<()> {
        sqlx::query("UPDATE users SET admin = $2 WHERE id = $1")
            .bind(user.0.as_str())
            .bind(admin)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn ban(&self, user: &UserId, at_ms: i64) -> StoreResult<()> {
        let mut tx = D::begin_write(&self.pool).await?;
        sqlx::query("UPDATE users SET banned_at = $2 WHERE id = $1")
            .bind(user.0.as_str())
            .bind(at_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.0.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn unban(&self, user: &UserId) -> StoreResult<()> {
        sqlx::query("UPDATE users SET banned_at = NULL WHERE id = $1")
            .bind(user.0.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn record_audit(
        &self,
        actor: &UserId,
        action: &str,
        target: &UserId,
        detail: &str,
        at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (at_ms, actor_id, action, target, detail) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(at_ms)
        .bind(actor.0.as_str())
        .bind(action)
        .bind(target.0.as_str())
        .bind(detail)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn audit(&self, before: Option<u64>, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        let before = before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT a.id, a.at_ms, a.actor_id, u.name AS actor_name, a.action, a.target, a.detail \
             FROM audit_log a JOIN users u ON u.id = a.actor_id \
             WHERE a.id < $1 ORDER BY a.id DESC LIMIT $2",
        )
        .bind(before)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(AuditEntry::try_from).collect()
    }

    async fn upload_usage(&self, user: &UserId) -> StoreResult<u64> {
        let (used,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM uploads WHERE user_id = $1",
        )
        .bind(user.0.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(used).unwrap_or_default())
    }

    async fn change_message(
        &self,
        id: Uuid,
        author: &UserId,
        change: MessageChange,
        at_ms: i64,
    ) -> StoreResult<ChatMessage> {
        let mut tx = D::begin_write(&self.pool).await?;
        // Takes the room's write lock (its row lock in Postgres; the database's in SQLite): a
        // concurrent change of the same room waits here.
        let rev: Option<(i64,)> = sqlx::query_as(
            "UPDATE rooms SET last_rev = last_rev + 1 \
             WHERE id = (SELECT room_id FROM messages \
                         WHERE id = $1 AND author_id = $2 AND NOT deleted) \
             RETURNING last_rev",
        )
        .bind(MessageKey(id))
        .bind(author.0.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let (rev,) = rev.ok_or(StoreError::NotFound)?;
        let (body, deleted, mentions) = match &change {
            MessageChange::Edit { body, mentions } => (body.as_str(), false, mentions.as_slice()),
            MessageChange::Delete | MessageChange::Remove { .. } => ("", true, &[][..]),
        };
        let moderated = matches!(change, MessageChange::Remove { .. });
        if let MessageChange::Remove { by: Some(by) } = &change {
            // Under the room's lock: a moderator whose role was taken before this point is
            // refused, one whose role is taken later removed it first.
            let allowed = sqlx::query(concat!(
                "SELECT 1 FROM messages msg WHERE msg.id = $1 AND ",
                is_moderator!("msg.room_id", "$2")
            ))
            .bind(MessageKey(id))
            .bind(by.0.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            if allowed.is_none() {
                return Err(StoreError::NotFound);
            }
        }
        // The author and not-deleted condition again, on the row written, in a statement that
        // sees every commit made while we waited for the lock: the guard belongs to the write,
        // so a delete that won the race leaves nothing to edit. A delete also clears the
        // reactions' summary (their rows go below).
        let changed: Option<MessageRow> = sqlx::query_as(concat!(
            "UPDATE messages SET body = $3, deleted = $4, edited_at = $5, rev = $6, mentions = $7, \
               moderated = $8, \
               reactions = CASE WHEN $4 THEN '[]' ELSE reactions END, \
               attachment = CASE WHEN $4 THEN NULL ELSE attachment END \
             WHERE id = $1 AND author_id = $2 AND NOT deleted RETURNING ",
            message_columns!()
        ))
        .bind(MessageKey(id))
        .bind(author.0.as_str())
        .bind(body)
        .bind(deleted)
        .bind(at_ms)
        .bind(rev)
        .bind(to_json(&mentions).as_str())
        .bind(moderated)
        .fetch_optional(&mut *tx)
        .await?;
        // Nothing written: the transaction rolls back with the revision it took.
        let message = ChatMessage::try_from(changed.ok_or(StoreError::NotFound)?)?;
        let seq = i64::try_from(message.seq).unwrap_or(i64::MAX);
        sqlx::query("DELETE FROM mentions WHERE room_id = $1 AND seq = $2")
            .bind(message.room.0.as_str())
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        put_mentions::<D::Db>(&mut tx, &message.room, seq, mentions).await?;
        if deleted {
            sqlx::query("DELETE FROM reactions WHERE room_id = $1 AND seq = $2")
                .bind(message.room.0.as_str())
                .bind(seq)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(message)
    }
}

/// Whether a write changed any row.
fn affected<DB: Database>(done: &DB::QueryResult) -> bool
where
    DB::QueryResult: RowsAffected,
{
    RowsAffected::rows_affected(done) > 0
}

/// `rows_affected` of a driver's query result (sqlx gives each driver its own inherent method).
pub trait RowsAffected {
    /// Rows the statement changed.
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        Self::rows_affected(self)
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        Self::rows_affected(self)
    }
}
