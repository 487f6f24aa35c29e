//! The embedded store: SQLite through sqlx, in WAL mode.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use app::model::{ChatMessage, DisplayName, RoomId, RoomKind, UserId, UserRef};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use uuid::Uuid;

use super::{NewMessage, RoomRecord, Store, StoreError, StoreResult};

/// Rooms, memberships and messages in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

fn kind_str(kind: RoomKind) -> &'static str {
    match kind {
        RoomKind::Public => "public",
        RoomKind::Direct => "direct",
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(format!("bad {what} in the database").into()))
}

fn room_from_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<RoomRecord> {
    let kind = match row.try_get::<&str, _>("kind")? {
        "public" => RoomKind::Public,
        "direct" => RoomKind::Direct,
        _ => return Err(corrupt("room kind")),
    };
    Ok(RoomRecord {
        id: RoomId(row.try_get("id")?),
        kind,
        created_by: row.try_get::<Option<String>, _>("created_by")?.map(UserId),
        members: u32::try_from(row.try_get::<i64, _>("members")?).unwrap_or(u32::MAX),
    })
}

fn message_from_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<ChatMessage> {
    let id: String = row.try_get("id")?;
    let name: String = row.try_get("author_name")?;
    Ok(ChatMessage {
        id: Uuid::parse_str(&id).map_err(|_| corrupt("message id"))?,
        room: RoomId(row.try_get("room_id")?),
        seq: u64::try_from(row.try_get::<i64, _>("seq")?).map_err(|_| corrupt("sequence number"))?,
        author: UserRef {
            id: UserId(row.try_get("author_id")?),
            name: DisplayName::parse(&name).map_err(|_| corrupt("author name"))?,
        },
        body: row.try_get("body")?,
        sent_at_ms: row.try_get("sent_at")?,
    })
}

/// The columns [`room_from_row`] reads, as a literal so queries stay literal SQL.
macro_rules! room_columns {
    () => {
        "r.id, r.kind, r.created_by, \
         (SELECT COUNT(*) FROM memberships m WHERE m.room_id = r.id) AS members"
    };
}

const MESSAGE_COLUMNS_BY_ID: &str = "SELECT room_id, seq, id, author_id, author_name, body, sent_at \
     FROM messages WHERE id = ?1";

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
        Ok(Self { pool })
    }

    async fn find_message(&self, id: Uuid) -> StoreResult<Option<ChatMessage>> {
        let row = sqlx::query(MESSAGE_COLUMNS_BY_ID)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(message_from_row).transpose()
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn upsert_user(&self, user: &UserRef) -> StoreResult<()> {
        sqlx::query("INSERT INTO users (id, name) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET name = ?2")
            .bind(&user.id.0)
            .bind(user.name.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn user(&self, id: &UserId) -> StoreResult<Option<UserRef>> {
        let row = sqlx::query("SELECT id, name FROM users WHERE id = ?1")
            .bind(&id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let name: String = row.try_get("name")?;
            Ok(UserRef {
                id: UserId(row.try_get("id")?),
                name: DisplayName::parse(&name).map_err(|_| corrupt("user name"))?,
            })
        })
        .transpose()
    }

    async fn create_room(
        &self,
        id: &RoomId,
        kind: RoomKind,
        by: Option<&UserId>,
        at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO rooms (id, kind, created_by, created_at) VALUES (?1, ?2, ?3, ?4)")
            .bind(&id.0)
            .bind(kind_str(kind))
            .bind(by.map(|u| u.0.as_str()))
            .bind(at_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict } else { e.into() })?;
        Ok(())
    }

    async fn delete_room(&self, id: &RoomId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM rooms WHERE id = ?1").bind(&id.0).execute(&self.pool).await?;
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
            " FROM rooms r WHERE r.kind = 'public' \
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
        let rows = sqlx::query("SELECT room_id FROM memberships WHERE user_id = ?1 ORDER BY room_id")
            .bind(&user.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(RoomId(r.try_get("room_id")?))).collect()
    }

    async fn members(&self, room: &RoomId) -> StoreResult<Vec<UserRef>> {
        let rows = sqlx::query(
            "SELECT u.id, u.name FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.room_id = ?1 ORDER BY u.name",
        )
        .bind(&room.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let name: String = row.try_get("name")?;
                Ok(UserRef {
                    id: UserId(row.try_get("id")?),
                    name: DisplayName::parse(&name).map_err(|_| corrupt("user name"))?,
                })
            })
            .collect()
    }

    async fn append(&self, message: NewMessage) -> StoreResult<ChatMessage> {
        if let Some(found) = self.find_message(message.id).await? {
            return Ok(found);
        }
        let mut tx = self.pool.begin().await?;
        // The first statement writes, so the transaction takes SQLite's write lock at once.
        let seq: Option<i64> =
            sqlx::query_scalar("UPDATE rooms SET last_seq = last_seq + 1 WHERE id = ?1 RETURNING last_seq")
                .bind(&message.room.0)
                .fetch_optional(&mut *tx)
                .await?;
        let seq = seq.ok_or(StoreError::NotFound)?;
        let inserted = sqlx::query(
            "INSERT INTO messages (room_id, seq, id, author_id, author_name, body, sent_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&message.room.0)
        .bind(seq)
        .bind(message.id.to_string())
        .bind(&message.author.id.0)
        .bind(message.author.name.as_str())
        .bind(&message.body)
        .bind(message.sent_at_ms)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            // A concurrent retry of the same id won the race: keep its row, undo our seq.
            tx.rollback().await?;
            return self.find_message(message.id).await?.ok_or(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(ChatMessage {
            id: message.id,
            room: message.room,
            seq: u64::try_from(seq).map_err(|_| corrupt("sequence number"))?,
            author: message.author,
            body: message.body,
            sent_at_ms: message.sent_at_ms,
        })
    }

    async fn history(
        &self,
        room: &RoomId,
        before: Option<u64>,
        limit: u32,
    ) -> StoreResult<Vec<ChatMessage>> {
        let before = before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
        let rows = sqlx::query(
            "SELECT room_id, seq, id, author_id, author_name, body, sent_at FROM messages \
             WHERE room_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
        )
        .bind(&room.0)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut messages = rows.iter().map(message_from_row).collect::<StoreResult<Vec<_>>>()?;
        messages.reverse();
        Ok(messages)
    }
}
