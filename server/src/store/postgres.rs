//! The shared store for several nodes: PostgreSQL through sqlx.
//!
//! Every node holds a pool to the same database. Ordering comes from the database, not from a
//! node: an append bumps its room's counters with `UPDATE … RETURNING`, which takes the room
//! row's lock until the transaction commits, so appends from any number of nodes get gap-free,
//! increasing sequence numbers. Each append is its own transaction, acknowledged after commit
//! (Postgres groups concurrent commits into one WAL flush by itself).

use app::model::{ChatMessage, DisplayName, RoomId, RoomKind, UserId, UserRef};
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::{
    Appended, HistorySlice, MessageChange, NewMessage, RoomRecord, Store, StoreError, StoreResult,
};

/// Rooms, memberships and messages in a PostgreSQL database shared by every node.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

fn kind_column(kind: RoomKind) -> &'static str {
    match kind {
        RoomKind::Public => "public",
        RoomKind::Private => "private",
        RoomKind::Direct => "direct",
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(format!("bad {what} in the database").into()))
}

fn count(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn room_from_row(row: &PgRow) -> StoreResult<RoomRecord> {
    let kind = match row.try_get::<&str, _>("kind")? {
        "public" => RoomKind::Public,
        "private" => RoomKind::Private,
        "direct" => RoomKind::Direct,
        _ => return Err(corrupt("room kind")),
    };
    Ok(RoomRecord {
        id: RoomId(row.try_get("id")?),
        kind,
        created_by: row.try_get::<Option<String>, _>("created_by")?.map(UserId),
        members: count(row.try_get::<i64, _>("members")?),
    })
}

fn user_from_row(row: &PgRow) -> StoreResult<UserRef> {
    let name: String = row.try_get("name")?;
    Ok(UserRef {
        id: UserId(row.try_get("id")?),
        name: DisplayName::parse(&name).map_err(|_| corrupt("user name"))?,
    })
}

fn message_from_row(row: &PgRow) -> StoreResult<ChatMessage> {
    let name: String = row.try_get("author_name")?;
    let number = |column: &str, what| -> StoreResult<u64> {
        u64::try_from(row.try_get::<i64, _>(column)?).map_err(|_| corrupt(what))
    };
    Ok(ChatMessage {
        id: row.try_get("id")?,
        room: RoomId(row.try_get("room_id")?),
        seq: number("seq", "sequence number")?,
        author: UserRef {
            id: UserId(row.try_get("author_id")?),
            name: DisplayName::parse(&name).map_err(|_| corrupt("author name"))?,
        },
        body: row.try_get("body")?,
        sent_at_ms: row.try_get("sent_at")?,
        rev: number("rev", "revision")?,
        edited_at_ms: row.try_get("edited_at")?,
        deleted: row.try_get("deleted")?,
    })
}

/// The columns [`room_from_row`] reads, as a literal so queries stay literal SQL.
macro_rules! room_columns {
    () => {
        "r.id, r.kind, r.created_by, \
         r.member_count AS members"
    };
}

/// The columns [`message_from_row`] reads.
macro_rules! message_columns {
    () => {
        "room_id, seq, id, author_id, author_name, body, sent_at, rev, edited_at, deleted"
    };
}

const MESSAGE_BY_ID: &str = concat!("SELECT ", message_columns!(), " FROM messages WHERE id = $1");

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`) and applies the
    /// embedded migrations. Several nodes may start at once: sqlx takes an advisory lock around
    /// migrating.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new().max_connections(16).connect_with(options).await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }

    async fn find_message(&self, id: Uuid) -> StoreResult<Option<ChatMessage>> {
        let row = sqlx::query(MESSAGE_BY_ID).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(message_from_row).transpose()
    }

    /// One attempt at an append; `Ok(None)` if a concurrent append of the same id won.
    async fn try_append(&self, message: &NewMessage) -> StoreResult<Option<Appended>> {
        let mut tx = self.pool.begin().await?;
        if let Some(row) =
            sqlx::query(MESSAGE_BY_ID).bind(message.id).fetch_optional(&mut *tx).await?
        {
            return super::retry_of(message_from_row(&row)?, message).map(Some);
        }
        let counters: Option<(i64, i64)> = sqlx::query_as(
            "UPDATE rooms SET last_seq = last_seq + 1, last_rev = last_rev + 1 WHERE id = $1 \
             RETURNING last_seq, last_rev",
        )
        .bind(&message.room.0)
        .fetch_optional(&mut *tx)
        .await?;
        let (seq, rev) = counters.ok_or(StoreError::NotFound)?;
        let inserted = sqlx::query(
            "INSERT INTO messages (room_id, seq, id, author_id, author_name, body, sent_at, rev) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&message.room.0)
        .bind(seq)
        .bind(message.id)
        .bind(&message.author.id.0)
        .bind(message.author.name.as_str())
        .bind(&message.body)
        .bind(message.sent_at_ms)
        .bind(rev)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            // The same id committed by another node (a client retrying after a reconnect)
            // between our check and our insert: the transaction rolls back with our counters.
            Err(e) if is_unique_violation(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        let number = |v: i64, what| u64::try_from(v).map_err(|_| corrupt(what));
        Ok(Some(Appended::New(ChatMessage {
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
}

#[async_trait]
impl Store for PostgresStore {
    async fn upsert_user(&self, user: &UserRef) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = $2",
        )
        .bind(&user.id.0)
        .bind(user.name.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn user(&self, id: &UserId) -> StoreResult<Option<UserRef>> {
        let row = sqlx::query("SELECT id, name FROM users WHERE id = $1")
            .bind(&id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
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
        let row = sqlx::query("SELECT id, name, password_hash FROM users WHERE id = $1")
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
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(at_ms)
            .execute(&self.pool)
            .await?;
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
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
             VALUES ($1, $2, $3, $3) ON CONFLICT (token_hash, user_id) DO UPDATE SET last_used = $3",
        )
        .bind(token_hash)
        .bind(&user.0)
        .bind(at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn is_trusted_device(&self, token_hash: &str, user: &UserId) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM devices WHERE token_hash = $1 AND user_id = $2")
            .bind(token_hash)
            .bind(&user.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn session_user(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<UserRef>> {
        let row = sqlx::query(
            "SELECT u.id, u.name FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
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
        let live = sqlx::query_scalar(
            "SELECT token_hash FROM sessions WHERE token_hash = ANY($1) AND expires_at > $2",
        )
        .bind(token_hashes)
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        Ok(live)
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn create_room(
        &self,
        id: &RoomId,
        kind: RoomKind,
        by: Option<&UserId>,
        at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO rooms (id, kind, created_by, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&id.0)
            .bind(kind_column(kind))
            .bind(by.map(|u| u.0.as_str()))
            .bind(at_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict } else { e.into() })?;
        Ok(())
    }

    async fn delete_room(&self, id: &RoomId) -> StoreResult<bool> {
        let done =
            sqlx::query("DELETE FROM rooms WHERE id = $1").bind(&id.0).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn room(&self, id: &RoomId) -> StoreResult<Option<RoomRecord>> {
        let row = sqlx::query(concat!("SELECT ", room_columns!(), " FROM rooms r WHERE r.id = $1"))
            .bind(&id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(room_from_row).transpose()
    }

    async fn rooms_visible_to(&self, user: &UserId) -> StoreResult<Vec<RoomRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            room_columns!(),
            " FROM rooms r WHERE r.kind = 'public' \
             OR EXISTS (SELECT 1 FROM memberships m WHERE m.room_id = r.id AND m.user_id = $1) \
             ORDER BY r.id COLLATE \"C\""
        ))
        .bind(&user.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(room_from_row).collect()
    }

    async fn rooms_created_by(&self, user: &UserId) -> StoreResult<u32> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM rooms WHERE created_by = $1 AND kind IN ('public', 'private')",
        )
        .bind(&user.0)
        .fetch_one(&self.pool)
        .await?;
        Ok(count(n))
    }

    async fn add_member(&self, room: &RoomId, user: &UserId, at_ms: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO memberships (room_id, user_id, joined_at) VALUES ($1, $2, $3) \
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
        let done = sqlx::query("DELETE FROM memberships WHERE room_id = $1 AND user_id = $2")
            .bind(&room.0)
            .bind(&user.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn is_member(&self, room: &RoomId, user: &UserId) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM memberships WHERE room_id = $1 AND user_id = $2")
            .bind(&room.0)
            .bind(&user.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn memberships(&self, user: &UserId) -> StoreResult<Vec<RoomId>> {
        let rows = sqlx::query(
            "SELECT room_id FROM memberships WHERE user_id = $1 ORDER BY room_id COLLATE \"C\"",
        )
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
                                 WHERE mine.user_id = $1 AND r.kind = 'direct') \
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
             WHERE m.room_id = $1 ORDER BY u.name COLLATE \"C\"",
        )
        .bind(&room.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn append(&self, message: NewMessage) -> StoreResult<Appended> {
        if let Some(appended) = self.try_append(&message).await? {
            return Ok(appended);
        }
        let stored = self.find_message(message.id).await?.ok_or(StoreError::NotFound)?;
        super::retry_of(stored, &message)
    }

    async fn history(
        &self,
        room: &RoomId,
        before: Option<u64>,
        limit: u32,
    ) -> StoreResult<HistorySlice> {
        // The revision first: a message stored between the two reads is then both in the page
        // and after the revision, which resuming dedupes, instead of in neither.
        let rev: Option<i64> = sqlx::query_scalar("SELECT last_rev FROM rooms WHERE id = $1")
            .bind(&room.0)
            .fetch_optional(&self.pool)
            .await?;
        let rev = rev.ok_or(StoreError::NotFound)?;
        let before = before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
        let rows = sqlx::query(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE room_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
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
            " FROM messages WHERE room_id = $1 AND rev > $2 ORDER BY rev LIMIT $3"
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
        let mut tx = self.pool.begin().await?;
        // Takes the room row's lock: a concurrent change of the same room waits here.
        let rev: Option<i64> = sqlx::query_scalar(
            "UPDATE rooms SET last_rev = last_rev + 1 \
             WHERE id = (SELECT room_id FROM messages \
                         WHERE id = $1 AND author_id = $2 AND NOT deleted) \
             RETURNING last_rev",
        )
        .bind(id)
        .bind(&author.0)
        .fetch_optional(&mut *tx)
        .await?;
        let rev = rev.ok_or(StoreError::NotFound)?;
        let (body, deleted) = match &change {
            MessageChange::Edit { body } => (body.as_str(), false),
            MessageChange::Delete => ("", true),
        };
        // The condition again on the row written, in a statement that sees every commit made
        // while we waited for the lock (READ COMMITTED): a delete that won the race leaves
        // nothing to edit.
        let changed = sqlx::query(concat!(
            "UPDATE messages SET body = $3, deleted = $4, edited_at = $5, rev = $6 \
             WHERE id = $1 AND author_id = $2 AND NOT deleted RETURNING ",
            message_columns!()
        ))
        .bind(id)
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
