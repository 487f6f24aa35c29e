//! SQLite's append writer: a thread of its own that commits appends in groups and indexes them
//! for search between groups, on a connection of its own, through rusqlite.
//!
//! Why not sqlx here, as everywhere else: sqlx runs each SQLite connection on a thread of its
//! own and hands every statement to it and every result back, each hand-off a wake-up of the
//! other thread. An append is two statements, a group adds `BEGIN` and `COMMIT`, so a message
//! cost four to eight thread switches; on the one core the benchmark gives the server, `perf`
//! put the kernel's switching alone at a sixth of its CPU in the many-rooms scenario. Here the
//! requests reach this thread through a channel, the whole group runs in one go on the thread
//! that owns the connection, and each answer goes back once: two wake-ups per group, however
//! many statements. The statements are [`sql`](super::sql)'s, the same text PostgreSQL runs.
//!
//! The thread runs a single-threaded tokio runtime for its timers (when a search-index pass is
//! due) and channels; the database calls in it block that runtime, which has nothing else to
//! run. It ends when the store's last handle is dropped (the channel closes).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, named_params};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::search_index::{Pending, SearchIndex};
use super::sql::{
    COUNT_REPLY, GIVE_COUNTERS_BACK, INSERT_MENTION, INSERT_MESSAGE, TAKE_COUNTERS,
    appended_message, mention_row_user, to_json,
};
use super::{MessageToAppend, StoreError, StoreResult};
use app::model::ChatMessage;

/// The most appends committed in one transaction.
pub const MAX_GROUP: usize = 512;

/// An append waiting for the writer, and where its answer goes.
#[derive(Debug)]
pub struct AppendJob {
    pub message: MessageToAppend,
    pub reply: oneshot::Sender<Written>,
}

/// What became of an append.
#[derive(Debug)]
pub enum Written {
    /// Stored and committed.
    New(ChatMessage),
    /// Its id is taken (nothing was stored): the stored message decides between a retry and a
    /// conflict, read by the requester (see [`super::retry_of`]).
    IdTaken(MessageToAppend),
    /// Its room does not exist.
    NoRoom,
    /// Nothing of its group was committed.
    Failed(StoreError),
}

/// How the writer opens its connection.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// The database file (created and migrated already).
    pub path: PathBuf,
    /// SQLite's `synchronous`, as the pool's connections have it.
    pub synchronous: &'static str,
}

/// Opens the writer's connection and starts its thread; appends sent to the returned channel
/// are committed in groups, and `index` is kept up to date.
pub fn start(
    options: WriterOptions,
    index: Arc<SearchIndex>,
) -> StoreResult<mpsc::Sender<AppendJob>> {
    let conn = open(&options)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
    let (appends, jobs) = mpsc::channel(4 * MAX_GROUP);
    std::thread::Builder::new()
        .name("parley-appends".into())
        .spawn(move || runtime.block_on(write_appends(options, conn, jobs, index)))
        .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
    Ok(appends)
}

/// The writer's connection: as the pool's (WAL is the file's mode already), without automatic
/// checkpoints: the commit that took the log past 1,000 pages would copy it back itself, with
/// every message of that group and those queued behind it waiting. A task checkpoints instead
/// (see `sqlite.rs`).
pub fn open(options: &WriterOptions) -> rusqlite::Result<Connection> {
    let conn = open_file(&options.path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "synchronous", options.synchronous)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update_and_check(None, "wal_autocheckpoint", 0, |_| Ok(()))?;
    Ok(conn)
}

fn open_file(path: &Path) -> rusqlite::Result<Connection> {
    // NO_MUTEX: only this thread uses the connection.
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// The writer's loop: takes every waiting append, commits them in one transaction, answers
/// each. A failed group is answered with errors (nothing of it was committed). Between groups,
/// when one is due, it runs a search-index pass (see [`super::search_index`]).
async fn write_appends(
    options: WriterOptions,
    mut conn: Connection,
    mut jobs: mpsc::Receiver<AppendJob>,
    index: Arc<SearchIndex>,
) {
    let mut batch = Vec::with_capacity(MAX_GROUP);
    let mut pending = Pending::at_open();
    let mut passed_last = false;
    loop {
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
                    pending.pass(&index, &mut conn);
                    passed_last = true;
                    continue;
                }
                () = index.wanted_now(), if due.is_some() => {
                    pending.pass(&index, &mut conn);
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
        match commit_group(&mut conn, &batch) {
            Ok(outcomes) => {
                let new = outcomes.iter().filter_map(|outcome| match outcome {
                    Outcome::New(message) => Some((message.room.clone(), message.seq)),
                    _ => None,
                });
                pending.committed(&index, new);
                for (job, outcome) in batch.drain(..).zip(outcomes) {
                    let written = match outcome {
                        Outcome::New(message) => Written::New(message),
                        Outcome::IdTaken => Written::IdTaken(job.message),
                        Outcome::NoRoom => Written::NoRoom,
                    };
                    // The requester may have gone (disconnected); its message is stored all
                    // the same.
                    let _ = job.reply.send(written);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, size = batch.len(), "append group failed");
                for job in batch.drain(..) {
                    let _ = job.reply.send(Written::Failed(StoreError::Sqlite(copy_of(&e))));
                }
                // The transaction was rolled back when it dropped; if it could not be, the
                // connection is in no state for the next group.
                if !conn.is_autocommit() {
                    match open(&options) {
                        Ok(fresh) => conn = fresh,
                        Err(e) => tracing::error!(error = %e, "the append writer cannot reopen"),
                    }
                }
            }
        }
    }
}

/// An append's outcome inside its group.
#[expect(
    clippy::large_enum_variant,
    reason = "one short-lived Vec per group; the message moves on into `Written` unboxed"
)]
enum Outcome {
    New(ChatMessage),
    IdTaken,
    NoRoom,
}

/// Commits `batch` in one transaction; an error means nothing of it was.
fn commit_group(conn: &mut Connection, batch: &[AppendJob]) -> StoreResult<Vec<Outcome>> {
    // IMMEDIATE: the write lock first (within the busy timeout), so no other connection's commit
    // can invalidate a read snapshot taken before the first write (see `write_transaction` in
    // `sqlite.rs`).
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        outcomes.push(append(&tx, &job.message)?);
    }
    tx.commit()?;
    Ok(outcomes)
}

/// One append, inside the group's transaction: [`super::sql::append_in`]'s statements, in its
/// order (the room's counters first, then the insert; the counters go back if the id is taken,
/// so a room's sequence numbers have no gaps).
fn append(conn: &Connection, message: &MessageToAppend) -> StoreResult<Outcome> {
    let room = message.room.0.as_str();
    // A reply changes two messages (itself, and the one it answers): two revisions.
    let revisions: i64 = if message.thread.is_some() { 2 } else { 1 };
    let counters: Option<(i64, i64)> = conn
        .prepare_cached(TAKE_COUNTERS)?
        .query_row(named_params! { "$1": room, "$2": revisions }, |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    let Some((seq, last_rev)) = counters else { return Ok(Outcome::NoRoom) };
    let rev = last_rev - revisions + 1;
    let key = message.id.hyphenated().to_string();
    let inserted = conn.prepare_cached(INSERT_MESSAGE)?.execute(named_params! {
        "$1": room,
        "$2": seq,
        "$3": key,
        "$4": message.author.id.0.as_str(),
        "$5": message.author.name.as_str(),
        "$6": message.body.as_str(),
        "$7": message.sent_at_ms,
        "$8": rev,
        "$9": to_json(&message.mentions),
        "$10": message.thread.map(|parent| parent.hyphenated().to_string()),
        "$11": message.attachment.as_ref().map(to_json),
    });
    match inserted {
        Ok(1..) => {}
        // The id is taken (`ON CONFLICT DO NOTHING`), or (under the write lock, only by a
        // defect) the room's sequence number is: give the counters back.
        Ok(0)
        | Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error {
                code: rusqlite::ErrorCode::ConstraintViolation,
                extended_code:
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY,
            },
            _,
        )) => {
            conn.prepare_cached(GIVE_COUNTERS_BACK)?
                .execute(named_params! { "$1": room, "$2": revisions })?;
            return Ok(Outcome::IdTaken);
        }
        Err(e) => return Err(e.into()),
    }
    let mut mentioned: Vec<&str> = message.mentions.iter().map(mention_row_user).collect();
    mentioned.sort_unstable();
    mentioned.dedup();
    for user in mentioned {
        conn.prepare_cached(INSERT_MENTION)?
            .execute(named_params! { "$1": room, "$2": seq, "$3": user })?;
    }
    if let Some(parent) = message.thread {
        conn.prepare_cached(COUNT_REPLY)?.execute(named_params! {
            "$1": parent.hyphenated().to_string(),
            "$2": room,
            "$3": message.sent_at_ms,
            "$4": last_rev,
        })?;
    }
    Ok(Outcome::New(appended_message(message, seq, rev)?))
}

/// The same error again, for each append of a failed group (rusqlite's errors are not `Clone`).
fn copy_of(e: &StoreError) -> rusqlite::Error {
    match e {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(code, message)) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use app::model::{DisplayName, RoomId, UserRef};
    use uuid::Uuid;

    use crate::store::{Appended, MessageToAppend, SqliteStore, Store, StoreError};

    fn message(id: Uuid, author: &UserRef, body: &str) -> MessageToAppend {
        MessageToAppend {
            id,
            room: RoomId::lobby(),
            author: author.clone(),
            body: body.into(),
            mentions: Vec::new(),
            thread: None,
            sent_at_ms: 0,
            attachment: None,
        }
    }

    /// One id sent three times in one group (a retry racing its original, and someone else who
    /// knows the id): stored once, the retry answered with it, the other person refused, and the
    /// room's sequence numbers keep no gap.
    #[tokio::test]
    async fn an_id_taken_in_the_same_group_is_a_retry_or_a_conflict_and_leaves_no_gap() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path()).await.expect("open");
        let mut people = Vec::new();
        for name in ["Ada", "Bob"] {
            let person = UserRef::named(DisplayName::parse(name).expect("name"));
            store.create_account(&person, Some("h"), 0).await.expect("account");
            store.add_member(&RoomId::lobby(), &person.id, 0).await.expect("lobby");
            people.push(person);
        }
        let (ada, bob) = (&people[0], &people[1]);
        let id = Uuid::now_v7();
        // Sent together: the writer usually finds them waiting and commits them in one group.
        let (first, again, other) = tokio::join!(
            store.append(message(id, ada, "hello")),
            store.append(message(id, ada, "hello")),
            store.append(message(id, bob, "hijack")),
        );
        let (first, again) = (first.expect("stored"), again.expect("a retry"));
        let (new, retry) = match (first, again) {
            (Appended::New(new), Appended::Retry(retry))
            | (Appended::Retry(retry), Appended::New(new)) => (new, retry),
            other => panic!("one new message and one retry, got {other:?}"),
        };
        assert_eq!((new.seq, new.body.as_str()), (1, "hello"));
        assert_eq!(retry, new);
        assert!(matches!(other, Err(StoreError::Conflict)), "{other:?}");
        let next = store.append(message(Uuid::now_v7(), bob, "next")).await.expect("stored");
        assert!(matches!(next, Appended::New(m) if m.seq == 2), "no gap in the sequence");
    }

    /// An append into a room that does not exist is refused alone; the rest of its group is
    /// stored.
    #[tokio::test]
    async fn an_append_to_no_room_is_refused_without_failing_its_group() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path()).await.expect("open");
        let ada = UserRef::named(DisplayName::parse("Ada").expect("name"));
        store.create_account(&ada, Some("h"), 0).await.expect("account");
        let mut nowhere = message(Uuid::now_v7(), &ada, "lost");
        nowhere.room = RoomId("no-such-room".into());
        let (refused, stored) = tokio::join!(
            store.append(nowhere),
            store.append(message(Uuid::now_v7(), &ada, "kept")),
        );
        assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
        assert!(matches!(stored, Ok(Appended::New(m)) if m.seq == 1 && m.body == "kept"));
    }
}
