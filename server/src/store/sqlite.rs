//! The embedded store: SQLite through sqlx, in WAL mode. Its queries are [`SqlStore`]'s; this
//! file holds what only SQLite needs: opening the file, taking the write lock up front, one
//! writer task that commits appends in groups, and message ids stored as text.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use app::model::RoomId;
use async_trait::async_trait;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{
    SqliteArgumentsBuffer, SqliteConnectOptions, SqliteConnection, SqliteJournalMode,
    SqlitePoolOptions, SqliteSynchronous, SqliteTypeInfo, SqliteValueRef,
};
use sqlx::{ConnectOptions, Connection, Decode, Encode, Sqlite, SqlitePool, Type};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use uuid::fmt::Hyphenated;

use super::search_index::{Pending, SearchIndex};
use super::sql::{Dialect, MessageKey, SqlStore, append_in};
use super::{Appended, MessageToAppend, StoreError, StoreResult};

/// Rooms, memberships and messages in one SQLite file.
pub type SqliteStore = SqlStore<SqliteWriter>;

/// SQLite's part of the store.
///
/// Appends go through one writer task that commits them in groups: every request waiting when
/// a transaction starts rides in it, and each is acknowledged only after that commit. Under load
/// this turns thousands of fsyncs into a few, without ever acking an uncommitted message.
///
/// The writer has a connection of its own, outside the pool: when every pooled connection is
/// busy with reads (history pages and set-ups after a restart, each holding one for a query), a
/// message being sent must not queue behind them for a connection. It still shares SQLite's
/// write lock with the pool's other writes (sign-ins, joins), within the busy timeout.
///
/// Full-text indexing happens after the commit, in passes of its own (see [`super::search_index`]).
#[derive(Debug, Clone)]
pub struct SqliteWriter {
    appends: mpsc::Sender<AppendJob>,
    index: Arc<SearchIndex>,
}

#[derive(Debug)]
struct AppendJob {
    message: MessageToAppend,
    reply: oneshot::Sender<StoreResult<Appended>>,
}

/// The most appends committed in one transaction.
const MAX_GROUP: usize = 512;

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
        let writer = writer_options(&options).connect().await?;
        let (appends, jobs) = mpsc::channel(4 * MAX_GROUP);
        let index = Arc::new(SearchIndex::new());
        tokio::spawn(write_appends(writer_options(&options), writer, jobs, index.clone()));
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

    async fn append(&self, _: &SqlitePool, message: MessageToAppend) -> StoreResult<Appended> {
        let (reply, answer) = oneshot::channel();
        let closed = || StoreError::Database(sqlx::Error::PoolClosed);
        self.appends.send(AppendJob { message, reply }).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
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

/// The append writer's connection: as the pool's, without automatic checkpoints (see
/// [`CHECKPOINT_EVERY`]).
fn writer_options(options: &SqliteConnectOptions) -> SqliteConnectOptions {
    options.clone().pragma("wal_autocheckpoint", "0")
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

/// The writer task: takes every waiting append, commits them in one transaction on its own
/// connection, answers each. A failed group is answered with errors (nothing of it was
/// committed); if the connection itself no longer answers, the next group opens a new one.
/// Between groups, when one is due, it runs a search-index pass (see [`super::search_index`]).
async fn write_appends(
    options: SqliteConnectOptions,
    mut conn: SqliteConnection,
    mut jobs: mpsc::Receiver<AppendJob>,
    index: Arc<SearchIndex>,
) {
    let mut batch = Vec::with_capacity(MAX_GROUP);
    let mut broken = false;
    let mut pending = Pending::at_open();
    let mut passed_last = false;
    loop {
        if broken {
            match options.connect().await {
                Ok(fresh) => {
                    conn = fresh;
                    broken = false;
                }
                Err(e) => tracing::error!(error = %e, "the append writer cannot reconnect"),
            }
        }
        // An unfinished pass lets the appends that waited meanwhile go first, then goes on:
        // the two alternate, so neither starves the other under a steady stream.
        if pending.unfinished() && passed_last {
            while batch.len() < MAX_GROUP
                && let Ok(job) = jobs.try_recv()
            {
                batch.push(job);
            }
        }
        let due = pending.due();
        // Otherwise a due pass goes first: under a steady stream of appends it would never find
        // the queue empty.
        if batch.is_empty() {
            tokio::select! {
                biased;
                () = async { tokio::time::sleep_until(due.unwrap_or_else(Instant::now)).await },
                    if due.is_some() => {
                    pending.pass(&index, &mut conn).await;
                    passed_last = true;
                    continue;
                }
                () = index.wanted_now(), if due.is_some() => {
                    pending.pass(&index, &mut conn).await;
                    passed_last = true;
                    continue;
                }
                received = jobs.recv_many(&mut batch, MAX_GROUP) => {
                    if received == 0 {
                        return;
                    }
                }
            }
        }
        passed_last = false;
        let results = match commit_group(&mut conn, &batch).await {
            Ok(results) => {
                let new = results.iter().filter_map(|result| match result {
                    Ok(Appended::New(message)) => Some((message.room.clone(), message.seq)),
                    _ => None,
                });
                pending.committed(&index, new);
                results
            }
            Err(e) => {
                tracing::error!(error = %e, size = batch.len(), "append group failed");
                broken = conn.ping().await.is_err();
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
    conn: &mut SqliteConnection,
    batch: &[AppendJob],
) -> StoreResult<Vec<StoreResult<Appended>>> {
    // See `write_transaction` on why IMMEDIATE.
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        // Under the write lock no other transaction can store the same id meanwhile, so
        // `Ok(None)` (an id taken by a message not visible here) cannot happen.
        let result = append_in::<Sqlite>(&mut tx, &job.message).await?;
        results.push(result.and_then(|appended| appended.ok_or(StoreError::Conflict)));
    }
    tx.commit().await?;
    Ok(results)
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
        let options = SqliteConnectOptions::from_str("sqlite:")
            .expect("options")
            .filename(dir.path().join("parley.db"));
        let level = |mut conn: SqliteConnection| async move {
            let (pages,): (i64,) = sqlx::query_as("PRAGMA wal_autocheckpoint")
                .fetch_one(&mut conn)
                .await
                .expect("pragma");
            pages
        };
        assert_eq!(level(writer_options(&options).connect().await.expect("writer")).await, 0);
        assert_eq!(level(store.pool.acquire().await.expect("pooled").detach()).await, 1000);
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
    }
}
