//! The embedded store: SQLite through sqlx, in WAL mode.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use app::model::{ChatMessage, DisplayName, RoomId, RoomKind, UserId, UserRef};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::{
    Appended, HistorySlice, MessageChange, NewMessage, RoomRecord, Store, StoreError, StoreResult,
};

/// Rooms, memberships and messages in one SQLite file.
///
/// Appends go through one writer task that commits them in groups: every request waiting when
/// a transaction starts rides in it, and each is acknowledged only after that commit. Under load
/// this turns thousands of fsyncs into a few, without ever acking an uncommitted message.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    appends: mpsc::Sender<AppendJob>,
}

#[derive(Debug)]
struct AppendJob {
    message: NewMessage,
    reply: oneshot::Sender<StoreResult<Appended>>,
}

/// The most appends committed in one transaction.
const MAX_GROUP: usize = 512;

/// The `kind` column and the `invite_only` flag of a room kind (see migration 0003).
fn kind_columns(kind: RoomKind) -> (&'static str, bool) {
    match kind {
        RoomKind::Public => ("public", false),
        RoomKind::Private => ("public", true),
        RoomKind::Direct => ("direct", false),
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(format!("bad {what} in the database").into()))
}

fn room_from_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<RoomRecord> {
    let kind = match (row.try_get::<&str, _>("kind")?, row.try_get::<bool, _>("invite_only")?) {
        ("public", false) => RoomKind::Public,
        ("public", true) => RoomKind::Private,
        ("direct", _) => RoomKind::Direct,
        _ => return Err(corrupt("room kind")),
    };
    Ok(RoomRecord {
        id: RoomId(row.try_get("id")?),
        kind,
        created_by: row.try_get::<Option<String>, _>("created_by")?.map(UserId),
        members: u32::try_from(row.try_get::<i64, _>("members")?).unwrap_or(u32::MAX),
    })
}

fn user_from_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<UserRef> {
    let name: String = row.try_get("name")?;
    Ok(UserRef {
        id: UserId(row.try_get("id")?),
        name: DisplayName::parse(&name).map_err(|_| corrupt("user name"))?,
    })
}

fn message_from_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<ChatMessage> {
    let id: String = row.try_get("id")?;
    let name: String = row.try_get("author_name")?;
    Ok(ChatMessage {
        id: Uuid::parse_str(&id).map_err(|_| corrupt("message id"))?,
        room: RoomId(row.try_get("room_id")?),
        seq: u64::try_from(row.try_get::<i64, _>("seq")?)
            .map_err(|_| corrupt("sequence number"))?,
        author: UserRef {
            id: UserId(row.try_get("author_id")?),
            name: DisplayName::parse(&name).map_err(|_| corrupt("author name"))?,
        },
        body: row.try_get("body")?,
        sent_at_ms: row.try_get("sent_at")?,
        rev: u64::try_from(row.try_get::<i64, _>("rev")?).map_err(|_| corrupt("revision"))?,
        edited_at_ms: row.try_get("edited_at")?,
        deleted: row.try_get::<bool, _>("deleted")?,
    })
}

/// The columns [`room_from_row`] reads, as a literal so queries stay literal SQL.
macro_rules! room_columns {
    () => {
        "r.id, r.kind, r.invite_only, r.created_by, \
         r.member_count AS members"
    };
}

/// The columns [`message_from_row`] reads.
macro_rules! message_columns {
    () => {
        "room_id, seq, id, author_id, author_name, body, sent_at, rev, edited_at, deleted"
    };
}

const MESSAGE_BY_ID: &str = concat!("SELECT ", message_columns!(), " FROM messages WHERE id = ?1");

impl SqliteStore {
    /// Opens (creating if needed) `dir/parley.db` and applies the embedded migrations.
    pub async fn open(dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(dir.join("parley.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode NORMAL loses nothing on a process crash; only a power loss can drop
            // the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let (appends, jobs) = mpsc::channel(4 * MAX_GROUP);
        tokio::spawn(write_appends(pool.clone(), jobs));
        Ok(Self { pool, appends })
    }

    async fn find_message(&self, id: Uuid) -> StoreResult<Option<ChatMessage>> {
        let row =
            sqlx::query(MESSAGE_BY_ID).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(message_from_row).transpose()
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn upsert_user(&self, user: &UserRef) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, name) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET name = ?2",
        )
        .bind(&user.id.0)
        .bind(user.name.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn create_account(
        &self,
        user: &UserRef,
        password_hash: Option<&str>,
        at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(&user.id.0)
        .bind(user.name.as_str())
        .bind(password_hash)
        .bind(at_ms)
        .execute(&self.pool)
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict } else { e.into() })?;
        Ok(())
    }

    async fn credentials(&self, id: &UserId) -> StoreResult<Option<(UserRef, Option<String>)>> {
        let row = sqlx::query("SELECT id, name, password_hash FROM users WHERE id = ?1")
            .bind(&id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok((user_from_row(&row)?, row.try_get("password_hash")?))).transpose()
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user: &UserId,
        at_ms: i64,
        expires_ms: i64,
    ) -> StoreResult<()> {
        // Expired sessions are swept whenever one is opened; the index keeps it cheap.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= ?1")
            .bind(at_ms)
            .execute(&self.pool)
            .await?;
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)")
            .bind(token_hash)
            .bind(&user.0)
            .bind(at_ms)
            .bind(expires_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn trust_device(&self, token_hash: &str, user: &UserId, at_ms: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO devices (token_hash, user_id, created_at, last_used) \
             VALUES (?1, ?2, ?3, ?3) ON CONFLICT (token_hash, user_id) DO UPDATE SET last_used = ?3",
        )
        .bind(token_hash)
        .bind(&user.0)
        .bind(at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn is_trusted_device(&self, token_hash: &str, user: &UserId) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM devices WHERE token_hash = ?1 AND user_id = ?2")
            .bind(token_hash)
            .bind(&user.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn session_user(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<UserRef>> {
        let row = sqlx::query(
            "SELECT u.id, u.name FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = ?1 AND s.expires_at > ?2",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn live_sessions(
        &self,
        token_hashes: &[String],
        now_ms: i64,
    ) -> StoreResult<Vec<String>> {
        // The list travels as one JSON array (SQLite has no array parameters).
        let list = serde_json::to_string(token_hashes)
            .map_err(|e| StoreError::Database(sqlx::Error::Encode(Box::new(e))))?;
        let live = sqlx::query_scalar(
            "SELECT token_hash FROM sessions \
             WHERE token_hash IN (SELECT value FROM json_each(?1)) AND expires_at > ?2",
        )
        .bind(list)
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        Ok(live)
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE token_hash = ?1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn rooms_created_by(&self, user: &UserId) -> StoreResult<u32> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM rooms WHERE created_by = ?1 AND kind = 'public'",
        )
        .bind(&user.0)
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    async fn user(&self, id: &UserId) -> StoreResult<Option<UserRef>> {
        let row = sqlx::query("SELECT id, name FROM users WHERE id = ?1")
            .bind(&id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn create_room(
        &self,
        id: &RoomId,
        kind: RoomKind,
        by: Option<&UserId>,
        at_ms: i64,
    ) -> StoreResult<()> {
        let (kind, invite_only) = kind_columns(kind);
        sqlx::query(
            "INSERT INTO rooms (id, kind, invite_only, created_by, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(&id.0)
        .bind(kind)
        .bind(invite_only)
        .bind(by.map(|u| u.0.as_str()))
        .bind(at_ms)
        .execute(&self.pool)
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict } else { e.into() })?;
        Ok(())
    }

    async fn delete_room(&self, id: &RoomId) -> StoreResult<bool> {
        let done =
            sqlx::query("DELETE FROM rooms WHERE id = ?1").bind(&id.0).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn room(&self, id: &RoomId) -> StoreResult<Option<RoomRecord>> {
        let row = sqlx::query(concat!("SELECT ", room_columns!(), " FROM rooms r WHERE r.id = ?1"))
            .bind(&id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(room_from_row).transpose()
    }

    async fn rooms_visible_to(&self, user: &UserId) -> StoreResult<Vec<RoomRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            room_columns!(),
            " FROM rooms r WHERE (r.kind = 'public' AND r.invite_only = 0) \
             OR EXISTS (SELECT 1 FROM memberships m WHERE m.room_id = r.id AND m.user_id = ?1) \
             ORDER BY r.id"
        ))
        .bind(&user.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(room_from_row).collect()
    }

    async fn add_member(&self, room: &RoomId, user: &UserId, at_ms: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO memberships (room_id, user_id, joined_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&room.0)
        .bind(&user.0)
        .bind(at_ms)
        .execute(&self.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
            _ => e.into(),
        })?;
        Ok(done.rows_affected() > 0)
    }

    async fn remove_member(&self, room: &RoomId, user: &UserId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM memberships WHERE room_id = ?1 AND user_id = ?2")
            .bind(&room.0)
            .bind(&user.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn is_member(&self, room: &RoomId, user: &UserId) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM memberships WHERE room_id = ?1 AND user_id = ?2")
            .bind(&room.0)
            .bind(&user.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn memberships(&self, user: &UserId) -> StoreResult<Vec<RoomId>> {
        let rows =
            sqlx::query("SELECT room_id FROM memberships WHERE user_id = ?1 ORDER BY room_id")
                .bind(&user.0)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|r| Ok(RoomId(r.try_get("room_id")?))).collect()
    }

    async fn direct_peers(&self, user: &UserId) -> StoreResult<Vec<(RoomId, UserRef)>> {
        let rows = sqlx::query(
            "SELECT m.room_id, u.id, u.name FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.room_id IN (SELECT mine.room_id FROM memberships mine \
                                 JOIN rooms r ON r.id = mine.room_id \
                                 WHERE mine.user_id = ?1 AND r.kind = 'direct') \
             ORDER BY m.room_id, u.name",
        )
        .bind(&user.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok((RoomId(row.try_get("room_id")?), user_from_row(row)?))).collect()
    }

    async fn members(&self, room: &RoomId) -> StoreResult<Vec<UserRef>> {
        let rows = sqlx::query(
            "SELECT u.id, u.name FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.room_id = ?1 ORDER BY u.name",
        )
        .bind(&room.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn append(&self, message: NewMessage) -> StoreResult<Appended> {
        let (reply, answer) = oneshot::channel();
        let closed = || StoreError::Database(sqlx::Error::PoolClosed);
        self.appends.send(AppendJob { message, reply }).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    async fn history(
        &self,
        room: &RoomId,
        before: Option<u64>,
        limit: u32,
    ) -> StoreResult<HistorySlice> {
        // The revision first: a message stored between the two reads is then both in the page
        // and after the revision, which resuming dedupes, instead of in neither.
        let rev: Option<i64> = sqlx::query_scalar("SELECT last_rev FROM rooms WHERE id = ?1")
            .bind(&room.0)
            .fetch_optional(&self.pool)
            .await?;
        let rev = rev.ok_or(StoreError::NotFound)?;
        let before = before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
        let rows = sqlx::query(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE room_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
        ))
        .bind(&room.0)
        .bind(before)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let mut messages = rows.iter().map(message_from_row).collect::<StoreResult<Vec<_>>>()?;
        let has_more = messages.len() > limit as usize;
        messages.truncate(limit as usize);
        messages.reverse();
        Ok(HistorySlice { messages, has_more, rev: u64::try_from(rev).unwrap_or_default() })
    }

    async fn changes(
        &self,
        room: &RoomId,
        after_rev: u64,
        limit: u32,
    ) -> StoreResult<Vec<ChatMessage>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE room_id = ?1 AND rev > ?2 ORDER BY rev LIMIT ?3"
        ))
        .bind(&room.0)
        .bind(i64::try_from(after_rev).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(message_from_row).collect()
    }

    async fn message(&self, id: Uuid) -> StoreResult<Option<ChatMessage>> {
        self.find_message(id).await
    }

    async fn change_message(
        &self,
        id: Uuid,
        author: &UserId,
        change: MessageChange,
        at_ms: i64,
    ) -> StoreResult<ChatMessage> {
        let id_text = id.to_string();
        let mut tx = write_transaction(&self.pool).await?;
        let rev: Option<i64> = sqlx::query_scalar(
            "UPDATE rooms SET last_rev = last_rev + 1 \
             WHERE id = (SELECT room_id FROM messages \
                         WHERE id = ?1 AND author_id = ?2 AND deleted = 0) \
             RETURNING last_rev",
        )
        .bind(&id_text)
        .bind(&author.0)
        .fetch_optional(&mut *tx)
        .await?;
        let rev = rev.ok_or(StoreError::NotFound)?;
        let (body, deleted) = match &change {
            MessageChange::Edit { body } => (body.as_str(), false),
            MessageChange::Delete => ("", true),
        };
        // The author and not-deleted condition again, on the row written: the guard belongs to
        // the write, not to a read before it.
        let changed = sqlx::query(concat!(
            "UPDATE messages SET body = ?3, deleted = ?4, edited_at = ?5, rev = ?6 \
             WHERE id = ?1 AND author_id = ?2 AND deleted = 0 RETURNING ",
            message_columns!()
        ))
        .bind(&id_text)
        .bind(&author.0)
        .bind(body)
        .bind(deleted)
        .bind(at_ms)
        .bind(rev)
        .fetch_optional(&mut *tx)
        .await?;
        // Nothing written: the transaction rolls back with the revision it took.
        let changed = changed.ok_or(StoreError::NotFound)?;
        let message = message_from_row(&changed)?;
        tx.commit().await?;
        Ok(message)
    }
}

/// Begins a transaction that holds the write lock from its first statement.
///
/// `pool.begin()` issues a deferred `BEGIN`: a transaction that reads before it writes takes a
/// read snapshot first, and if another connection commits in between (a sign-in writing its
/// session, say), the upgrade to writing fails at once with `SQLITE_BUSY_SNAPSHOT`; the busy
/// timeout does not help because the conflict is not a lock wait. `BEGIN IMMEDIATE` waits for the
/// write lock (within the busy timeout) before reading anything.
async fn write_transaction(pool: &SqlitePool) -> StoreResult<sqlx::Transaction<'static, Sqlite>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// The writer task: takes every waiting append, commits them in one transaction, answers each.
async fn write_appends(pool: SqlitePool, mut jobs: mpsc::Receiver<AppendJob>) {
    let mut batch = Vec::with_capacity(MAX_GROUP);
    while jobs.recv_many(&mut batch, MAX_GROUP).await > 0 {
        let results = match commit_group(&pool, &batch).await {
            Ok(results) => results,
            Err(e) => {
                tracing::error!(error = %e, size = batch.len(), "append group failed");
                batch
                    .iter()
                    .map(|_| Err(StoreError::Database(sqlx::Error::WorkerCrashed)))
                    .collect()
            }
        };
        for (job, result) in batch.drain(..).zip(results) {
            // The requester may have gone (disconnected); its message is stored all the same.
            let _ = job.reply.send(result);
        }
    }
}

async fn commit_group(
    pool: &SqlitePool,
    batch: &[AppendJob],
) -> StoreResult<Vec<StoreResult<Appended>>> {
    let mut tx = write_transaction(pool).await?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        results.push(append_one(&mut tx, &job.message).await?);
    }
    tx.commit().await?;
    Ok(results)
}

/// Appends one message inside the group's transaction. The outer error aborts the group (a
/// database failure); the inner one answers this message only (its room is gone, or its id is
/// someone else's).
async fn append_one(
    conn: &mut SqliteConnection,
    message: &NewMessage,
) -> StoreResult<StoreResult<Appended>> {
    let id = message.id.to_string();
    let existing = sqlx::query(MESSAGE_BY_ID).bind(&id).fetch_optional(&mut *conn).await?;
    if let Some(row) = existing {
        return Ok(super::retry_of(message_from_row(&row)?, message));
    }
    let counters: Option<(i64, i64)> = sqlx::query_as(
        "UPDATE rooms SET last_seq = last_seq + 1, last_rev = last_rev + 1 WHERE id = ?1 \
         RETURNING last_seq, last_rev",
    )
    .bind(&message.room.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((seq, rev)) = counters else { return Ok(Err(StoreError::NotFound)) };
    sqlx::query(
        "INSERT INTO messages (room_id, seq, id, author_id, author_name, body, sent_at, rev) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .bind(&message.room.0)
    .bind(seq)
    .bind(&id)
    .bind(&message.author.id.0)
    .bind(message.author.name.as_str())
    .bind(&message.body)
    .bind(message.sent_at_ms)
    .bind(rev)
    .execute(&mut *conn)
    .await?;
    let number = |v: i64, what| u64::try_from(v).map_err(|_| corrupt(what));
    Ok(Ok(Appended::New(ChatMessage {
        id: message.id,
        room: message.room.clone(),
        seq: number(seq, "sequence number")?,
        author: message.author.clone(),
        body: message.body.clone(),
        sent_at_ms: message.sent_at_ms,
        rev: number(rev, "revision")?,
        edited_at_ms: None,
        deleted: false,
    })))
}
