//! The embedded store: SQLite through sqlx, in WAL mode. Its queries are [`SqlStore`]'s; this
//! file holds what only SQLite needs: opening the file, taking the write lock up front, the
//! append writer's channel (the writer itself, on a thread of its own, is in
//! [`super::sqlite_writer`]), and message ids stored as text.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use app::model::RoomId;
use async_trait::async_trait;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{
    SqliteArgumentsBuffer, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions,
    SqliteSynchronous, SqliteTypeInfo, SqliteValueRef,
};
use sqlx::{Decode, Encode, Sqlite, SqlitePool, Type};
use tokio::sync::{mpsc, oneshot};
use uuid::fmt::Hyphenated;

use super::search_index::SearchIndex;
use super::sql::{Dialect, MESSAGE_BY_ID, MessageKey, MessageRow, SqlStore};
use super::sqlite_writer::{self, AppendJob, WriterOptions, Written};
use super::{Appended, MessageToAppend, StoreError, StoreResult};

/// Rooms, memberships and messages in one SQLite file.
pub type SqliteStore = SqlStore<SqliteWriter>;

/// SQLite's part of the store.
///
/// Appends go through one writer that commits them in groups: every request waiting when a
/// transaction starts rides in it, and each is acknowledged only after that commit. Under load
/// this turns thousands of fsyncs into a few, without ever acking an uncommitted message.
///
/// The writer has a connection of its own, outside the pool, on a thread of its own (see
/// [`super::sqlite_writer`] for why it is not sqlx's): when every pooled connection is busy with
/// reads (history pages and set-ups after a restart, each holding one for a query), a message
/// being sent must not queue behind them for a connection. It still shares SQLite's write lock
/// with the pool's other writes (sign-ins, joins), within the busy timeout.
///
/// Full-text indexing happens after the commit, in passes of its own (see [`super::search_index`]).
#[derive(Debug, Clone)]
pub struct SqliteWriter {
    appends: mpsc::Sender<AppendJob>,
    index: Arc<SearchIndex>,
}

/// How often the write-ahead log is copied back into the database, off the append path.
///
/// Left to SQLite, the commit that takes the log past 1,000 pages copies it back itself, and
/// every message in that group (and every one queued behind it) waits for the copy: a few
/// milliseconds at the p99 of a steady send rate. The writer's connection therefore never
/// checkpoints; a task does, at this interval, in `PASSIVE` mode (it never waits for the writer
/// nor makes it wait). The pooled connections keep SQLite's automatic checkpoint as a backstop
/// (they write rarely: sign-ins, joins, edits).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// How much an acknowledged message survives (SQLite's `synchronous`, in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Durability {
    /// `synchronous=NORMAL`: a commit is in the write-ahead log before it is acknowledged, and
    /// the log is synced to disk at checkpoints (every [`CHECKPOINT_EVERY`]). Survives a killed
    /// or crashed process; a power cut or kernel crash can lose the last commits before the
    /// next sync.
    #[default]
    Process,
    /// `synchronous=FULL`: the log is synced to disk at every commit (group commit makes that one
    /// sync per batch of waiting messages). Survives a power cut too, at the cost of an fsync per
    /// batch (see `cargo bench -p server --bench storage`).
    PowerLoss,
}

impl Durability {
    /// The value of SQLite's `synchronous` for it, as the append writer's connection sets it.
    fn pragma(self) -> &'static str {
        match self {
            Durability::Process => "NORMAL",
            Durability::PowerLoss => "FULL",
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) `dir/parley.db` and applies the embedded migrations, with
    /// [`Durability::Process`].
    pub async fn open(dir: &Path) -> StoreResult<Self> {
        Self::open_with(dir, Durability::default()).await
    }

    /// As [`SqliteStore::open`], with the durability chosen.
    pub async fn open_with(dir: &Path, durability: Durability) -> StoreResult<Self> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        let synchronous = match durability {
            Durability::Process => SqliteSynchronous::Normal,
            Durability::PowerLoss => SqliteSynchronous::Full,
        };
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(dir.join("parley.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool =
            SqlitePoolOptions::new().max_connections(4).connect_with(options.clone()).await?;
        MIGRATIONS.run(&pool).await?;
        let index = Arc::new(SearchIndex::new());
        let writer =
            WriterOptions { path: dir.join("parley.db"), synchronous: durability.pragma() };
        let appends = sqlite_writer::start(writer, index.clone())?;
        tokio::spawn(checkpoint_now_and_then(pool.clone(), appends.downgrade()));
        Ok(Self { pool, dialect: SqliteWriter { appends, index } })
    }
}

#[cfg(test)]
impl SqliteStore {
    /// Takes every pooled connection, each inside a read transaction, until dropped: for tests of
    /// what must still work while readers hold them all.
    pub(crate) async fn hold_every_reader(&self) -> Vec<sqlx::Transaction<'static, Sqlite>> {
        let mut held = Vec::new();
        for _ in 0..self.pool.options().get_max_connections() {
            let mut tx = self.pool.begin().await.expect("a pooled connection");
            sqlx::query("SELECT COUNT(*) FROM rooms").execute(&mut *tx).await.expect("read");
            held.push(tx);
        }
        held
    }
}

/// SQLite's schema history, embedded in the binary.
pub static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[async_trait]
impl Dialect for SqliteWriter {
    type Db = Sqlite;

    async fn begin_write(pool: &SqlitePool) -> StoreResult<sqlx::Transaction<'static, Sqlite>> {
        write_transaction(pool).await
    }

    // FTS5 yields its matches newest first (by key, which follows insertion), so the query can
    // stop at `$5` rows in the person's rooms instead of sorting every match. `CROSS JOIN` fixes
    // that order (SQLite never reorders it): left to itself the planner starts from the
    // person's few memberships and runs the full-text match once per message of their rooms.
    const SEARCH_HITS: &'static str = "\
        SELECT k.room_id AS hit_room, k.seq AS hit_seq, s.rowid AS hit_order, s.rowid AS hit_tie \
        FROM message_search s \
        CROSS JOIN message_search_keys k ON k.key = s.rowid \
        CROSS JOIN memberships ms ON ms.room_id = k.room_id AND ms.user_id = $1 \
        CROSS JOIN messages m ON m.room_id = k.room_id AND m.seq = k.seq \
        WHERE message_search MATCH $2 AND NOT m.deleted \
          AND ($3 IS NULL OR k.room_id = $3) \
          AND ($4 IS NULL OR m.author_id = $4) \
        ORDER BY s.rowid DESC LIMIT $5";

    fn match_expression(terms: &[String], room: Option<&RoomId>) -> String {
        // `"word"` or `"word"*`, side by side (FTS5's implicit AND), in the body only. Terms
        // hold only letters and digits, so the quotes need no escaping. A room filter is also a
        // match on the `room` column (one token: the id in hex, see 0009_search.sql), so
        // FTS5 reads only that room's matches instead of every match of a common word.
        let quoted: Vec<String> =
            terms
                .iter()
                .map(|t| {
                    if app::search::is_prefix(t) { format!("\"{t}\"*") } else { format!("\"{t}\"") }
                })
                .collect();
        let words = format!("body : ({})", quoted.join(" "));
        match room {
            Some(room) => format!("room : \"{}\" AND {words}", room_token(room)),
            None => words,
        }
    }

    async fn search_ready(&self) {
        self.index.caught_up().await;
    }

    async fn append(&self, pool: &SqlitePool, message: MessageToAppend) -> StoreResult<Appended> {
        let (reply, answer) = oneshot::channel();
        let closed = || StoreError::Database(sqlx::Error::PoolClosed);
        self.appends.send(AppendJob { message, reply }).await.map_err(|_| closed())?;
        match answer.await.map_err(|_| closed())? {
            Written::New(message) => Ok(Appended::New(message)),
            Written::NoRoom => Err(StoreError::NotFound),
            Written::Failed(e) => Err(e),
            Written::IdTaken(attempt) => {
                // Committed before the writer answered, so this read sees it.
                let stored: Option<MessageRow> = sqlx::query_as(MESSAGE_BY_ID)
                    .bind(MessageKey(attempt.id))
                    .fetch_optional(pool)
                    .await?;
                let stored = stored.ok_or(StoreError::Conflict)?;
                super::retry_of(stored.try_into()?, &attempt)
            }
        }
    }
}

/// A room as one FTS5 token: its id's UTF-8 bytes in hex (what SQLite's `hex()` gives the
/// triggers), lowercased as `unicode61` folds it.
fn room_token(room: &RoomId) -> String {
    room.0.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Message ids are text in SQLite (`0001_init.sql`), hyphenated.
impl Type<Sqlite> for MessageKey {
    fn type_info() -> SqliteTypeInfo {
        <Hyphenated as Type<Sqlite>>::type_info()
    }
}

impl Encode<'_, Sqlite> for MessageKey {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        self.0.hyphenated().encode_by_ref(buf)
    }
}

impl Decode<'_, Sqlite> for MessageKey {
    fn decode(value: SqliteValueRef<'_>) -> Result<Self, BoxDynError> {
        Ok(Self(*<Hyphenated as Decode<Sqlite>>::decode(value)?.as_uuid()))
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

/// Checkpoints the write-ahead log every [`CHECKPOINT_EVERY`] while the store is open (while its
/// append channel has a sender).
async fn checkpoint_now_and_then(pool: SqlitePool, open: mpsc::WeakSender<AppendJob>) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if open.upgrade().is_none() || pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            tracing::warn!(error = %e, "could not checkpoint the write-ahead log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn synchronous(store: &SqliteStore) -> i64 {
        let (level,): (i64,) =
            sqlx::query_as("PRAGMA synchronous").fetch_one(&store.pool).await.expect("pragma");
        level
    }

    #[tokio::test]
    async fn an_append_commits_while_readers_hold_every_pooled_connection() {
        use crate::store::Store;
        use app::model::{DisplayName, RoomId, UserRef};
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path()).await.expect("open");
        let ada = UserRef::named(DisplayName::parse("Ada").expect("name"));
        store.create_account(&ada, Some("h"), 0).await.expect("account");
        let _readers = store.hold_every_reader().await;
        let message = MessageToAppend {
            id: uuid::Uuid::now_v7(),
            room: RoomId::lobby(),
            author: ada,
            body: "hello".into(),
            mentions: Vec::new(),
            thread: None,
            sent_at_ms: 0,
            attachment: None,
        };
        // Before the writer had a connection of its own, this waited for a pooled one forever.
        let appended = tokio::time::timeout(Duration::from_secs(30), store.append(message))
            .await
            .expect("the append did not wait for a reader");
        assert!(matches!(appended, Ok(Appended::New(m)) if m.seq == 1 && m.body == "hello"));
    }

    /// The append writer never checkpoints on its own (a commit would wait for the copy); the
    /// pool's connections still do, and the checkpoint task ends with the store.
    #[tokio::test]
    async fn checkpoints_are_left_to_a_task_that_ends_with_the_store() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path()).await.expect("open");
        let writer = sqlite_writer::open(&WriterOptions {
            path: dir.path().join("parley.db"),
            synchronous: "NORMAL",
        })
        .expect("writer");
        let writer_pages: i64 =
            writer.query_row("PRAGMA wal_autocheckpoint", [], |row| row.get(0)).expect("pragma");
        assert_eq!(writer_pages, 0);
        let (pooled_pages,): (i64,) = sqlx::query_as("PRAGMA wal_autocheckpoint")
            .fetch_one(&store.pool)
            .await
            .expect("pragma");
        assert_eq!(pooled_pages, 1000);
        let (appends, _jobs) = mpsc::channel::<AppendJob>(1);
        let open = appends.downgrade();
        drop(appends);
        tokio::time::timeout(
            Duration::from_secs(30),
            checkpoint_now_and_then(store.pool.clone(), open),
        )
        .await
        .expect("the checkpoint task ends once the store is gone");
    }

    #[tokio::test]
    async fn durability_sets_sqlite_synchronous_on_every_connection() {
        let dir = tempfile::tempdir().expect("temp dir");
        let normal = SqliteStore::open(dir.path()).await.expect("open");
        assert_eq!(synchronous(&normal).await, 1, "NORMAL");
        drop(normal);
        let full = SqliteStore::open_with(dir.path(), Durability::PowerLoss).await.expect("open");
        // Every connection of the pool, not only the first.
        let mut levels = Vec::new();
        let mut held = Vec::new();
        for _ in 0..3 {
            let mut conn = full.pool.acquire().await.expect("connection");
            let (level,): (i64,) =
                sqlx::query_as("PRAGMA synchronous").fetch_one(&mut *conn).await.expect("pragma");
            levels.push(level);
            held.push(conn);
        }
        assert_eq!(levels, [2, 2, 2], "FULL");
        // The append writer's connection too: it is where messages are committed.
        for (durability, level) in [(Durability::Process, 1), (Durability::PowerLoss, 2)] {
            let writer = sqlite_writer::open(&WriterOptions {
                path: dir.path().join("parley.db"),
                synchronous: durability.pragma(),
            })
            .expect("writer");
            let set: i64 =
                writer.query_row("PRAGMA synchronous", [], |row| row.get(0)).expect("pragma");
            assert_eq!(set, level, "{durability:?}");
        }
    }
}
