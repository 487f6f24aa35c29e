//! SQLite's full-text index, kept up to date beside the appends instead of inside them.
//!
//! Indexing a message in FTS5 inside its append cost a sixth of the server's CPU per delivered
//! copy in the many-rooms benchmark: the insert trigger added its words in the append's own
//! transaction, and FTS5 writes a new segment (with its structure record) at every commit,
//! however few words it holds. Group commit keeps transactions small when people write at a
//! steady pace, so nearly every message paid for a segment of its own while its sender waited
//! for the ack. Now the append's transaction stores the message alone, and the append writer
//! indexes what it committed in passes of their own, at most [`INDEX_EVERY`] after a commit:
//! one segment for the messages of that window. (Many rooms, alternating runs: 74.6 and 82.6 µs
//! of server CPU per copy before, 61.0 and 67.8 after, and a lower p99; a pass every 250 ms
//! saved as much CPU but held appends back for 5–7 ms at a time, and the p99 rose with it.)
//!
//! The passes run on the writer's connection, between two groups, not on a connection of their
//! own: a pass holds SQLite's write lock, and an append that found it taken would wait in
//! SQLite's busy handler, which polls with sleeps of up to 100 ms (the first version, on its own
//! connection, doubled the many-rooms p99).
//!
//! A search still sees every message acknowledged before it: it asks for a pass now and waits for
//! one that covers the writer's last commit (see [`SearchIndex::caught_up`]).
//!
//! The writer remembers the messages it committed since the last pass, in commit order, and a
//! pass gives them keys in that order (the search reads newest first by key). What a crash loses
//! of that list follows from the tables: a room's messages above the highest sequence number it
//! has in `message_search_keys` are not indexed yet, and the first pass after the store opens
//! indexes those of every room. A pass reads each message as it is at that moment (an edit or
//! deletion before it is simply what it indexes) under the write lock, so no edit slips between
//! reading a body and indexing it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use app::model::RoomId;
use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// How long the writer gathers commits before a pass (unless a search is waiting): the longest
/// a message stays out of the index when nobody searches. Longer windows index more messages
/// per segment, and make the appends that arrive during a pass wait longer.
pub const INDEX_EVERY: Duration = Duration::from_millis(50);

/// The most messages one pass indexes (a pass after opening takes 16 times as many). Appends
/// wait while a pass runs, about 40 µs per 1 KB message, so a burst is indexed in passes of
/// this size with the appends that waited meanwhile committed between them.
pub const PASS_AT_MOST: i64 = 512;

/// The most committed messages the writer remembers for the next pass. Past it (appends
/// outrunning indexing for a long while) it forgets them, and the next pass looks at every room
/// instead: memory stays bounded, and nothing is lost, only their keys' order within that pass.
const REMEMBERED_AT_MOST: usize = 64 * PASS_AT_MOST as usize;

/// The longest a search waits for the index to catch up before it searches what is indexed.
const SEARCH_WAITS_AT_MOST: Duration = Duration::from_secs(2);

/// What the writer and searches share.
#[derive(Debug)]
pub struct SearchIndex {
    /// Groups the writer committed so far, plus one: what the store held when it opened (the
    /// first pass's work).
    committed: AtomicU64,
    /// The `committed` count the last finished pass covered.
    indexed: watch::Sender<u64>,
    /// A search is waiting: pass now instead of gathering.
    urgent: Notify,
}

impl SearchIndex {
    pub fn new() -> Self {
        Self { committed: AtomicU64::new(1), indexed: watch::Sender::new(0), urgent: Notify::new() }
    }

    /// Returns once every message committed before the call is indexed (or after
    /// [`SEARCH_WAITS_AT_MOST`], if the writer cannot index: the search then finds what is).
    pub async fn caught_up(&self) {
        let target = self.committed.load(Ordering::SeqCst);
        let mut indexed = self.indexed.subscribe();
        if *indexed.borrow() >= target {
            return;
        }
        self.urgent.notify_one();
        let wait = indexed.wait_for(|&done| done >= target);
        if tokio::time::timeout(SEARCH_WAITS_AT_MOST, wait).await.is_err() {
            tracing::warn!("search index behind: searching what is indexed");
        }
    }

    /// Resolves when a search asks for a pass now.
    pub async fn wanted_now(&self) {
        self.urgent.notified().await;
    }
}

/// The writer's side: the messages to index, in the order they were committed, and when the
/// next pass is due.
#[derive(Debug)]
pub struct Pending {
    /// Room and sequence number of each message committed since the last pass (a window's
    /// worth; given up for a pass over every room if a pass fails).
    messages: Vec<(RoomId, u64)>,
    /// Every room, not only `messages`: the first pass, and the one after a failed pass.
    every_room: bool,
    due: Option<Instant>,
    unfinished: bool,
}

impl Pending {
    /// The first pass, over every room, due at once.
    pub fn at_open() -> Self {
        Self {
            messages: Vec::new(),
            every_room: true,
            due: Some(Instant::now()),
            unfinished: false,
        }
    }

    /// When a pass is due, if one is.
    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    /// Whether the last pass stopped at [`PASS_AT_MOST`] with more to index (the next one is due
    /// at once, after the appends waiting meanwhile).
    pub fn unfinished(&self) -> bool {
        self.unfinished
    }

    /// A group committed these messages (room, sequence number), in this order.
    pub fn committed(
        &mut self,
        index: &SearchIndex,
        messages: impl IntoIterator<Item = (RoomId, u64)>,
    ) {
        // A pass over every room is under way and covers them: it goes on until it finds fewer
        // than it may take.
        if !self.every_room {
            self.messages.extend(messages);
            if self.messages.len() > REMEMBERED_AT_MOST {
                self.messages = Vec::new();
                self.every_room = true;
            }
        }
        index.committed.fetch_add(1, Ordering::SeqCst);
        self.due.get_or_insert_with(|| Instant::now() + INDEX_EVERY);
    }

    /// Indexes what is pending (up to [`PASS_AT_MOST`] messages), in one transaction on the
    /// writer's connection.
    pub fn pass(&mut self, index: &SearchIndex, conn: &mut Connection) {
        let target = index.committed.load(Ordering::SeqCst);
        let (work, at_most) = if self.every_room {
            // What is left after an opening (or a failure) is a backlog, not live traffic:
            // larger passes take it in less time.
            (Work::EveryRoom, PASS_AT_MOST * 16)
        } else {
            let take = self.messages.len().min(PASS_AT_MOST as usize);
            (Work::These(&self.messages[..take]), PASS_AT_MOST)
        };
        match index_pass(conn, work, at_most) {
            Ok(indexed) => {
                let more = match work {
                    Work::EveryRoom => indexed >= at_most as u64,
                    Work::These(these) => {
                        let taken = these.len();
                        self.messages.drain(..taken);
                        !self.messages.is_empty()
                    }
                };
                if more {
                    self.unfinished = true;
                    self.due = Some(Instant::now());
                } else {
                    self.every_room = false;
                    self.unfinished = false;
                    self.due = None;
                    index.indexed.send_replace(target);
                }
            }
            Err(e) => {
                // Tried again later, over every room to be sure.
                tracing::error!(error = %e, "search indexing failed");
                self.messages = Vec::new();
                self.every_room = true;
                self.unfinished = false;
                self.due = Some(Instant::now() + INDEX_EVERY);
            }
        }
    }
}

/// What a pass indexes.
#[derive(Debug, Clone, Copy)]
pub enum Work<'a> {
    /// Every room's messages above its highest indexed sequence number.
    EveryRoom,
    /// These messages (room, sequence number), as committed; those deleted or gone by now are
    /// left out.
    These(&'a [(RoomId, u64)]),
}

/// Indexes `work` (up to `at_most` messages of it for [`Work::EveryRoom`]) in one transaction;
/// returns how many messages were indexed.
pub fn index_pass(conn: &mut Connection, work: Work<'_>, at_most: i64) -> rusqlite::Result<u64> {
    if matches!(work, Work::These([])) {
        return Ok(0);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let before: i64 =
        tx.query_row("SELECT COALESCE(MAX(key), 0) FROM message_search_keys", [], |row| {
            row.get(0)
        })?;
    // Keys follow the order messages were committed, so the search's newest-first by key
    // holds.
    let keyed = match work {
        // A prefix of each room's unindexed messages, room by room in sequence order: taking a
        // later message of a room without an earlier one would leave that one below the
        // room's highest indexed `seq` for good. Within such a backlog, keys go room by room.
        // `CROSS JOIN` keeps rooms the outer loop (SQLite never reorders it): a range of each
        // room's messages, not a scan of every message ever stored.
        Work::EveryRoom => tx
            .prepare_cached(
                "INSERT INTO message_search_keys (room_id, seq) \
             SELECT m.room_id, m.seq FROM rooms r CROSS JOIN messages m ON m.room_id = r.id \
             WHERE m.seq > (SELECT COALESCE(MAX(k.seq), 0) FROM message_search_keys k \
                            WHERE k.room_id = r.id) \
               AND NOT m.deleted \
             ORDER BY r.id, m.seq LIMIT ?1",
            )?
            .execute([at_most])?,
        // `OR IGNORE`: one the pass after opening found first.
        Work::These(messages) => {
            let list: Vec<(&str, u64)> =
                messages.iter().map(|(room, seq)| (room.0.as_str(), *seq)).collect();
            let list = serde_json::to_string(&list).unwrap_or_else(|_| "[]".to_owned());
            tx.prepare_cached(
                "INSERT OR IGNORE INTO message_search_keys (room_id, seq) \
                 SELECT m.room_id, m.seq FROM json_each(?1) AS j \
                 CROSS JOIN messages m \
                   ON m.room_id = j.value ->> 0 AND m.seq = j.value ->> 1 \
                 WHERE NOT m.deleted \
                 ORDER BY j.key",
            )?
            .execute([list])?
        }
    };
    if keyed > 0 {
        tx.prepare_cached(
            "INSERT INTO message_search (rowid, body, room) \
             SELECT k.key, m.body, hex(m.room_id) FROM message_search_keys k \
             JOIN messages m ON m.room_id = k.room_id AND m.seq = k.seq \
             WHERE k.key > ?1",
        )?
        .execute([before])?;
    }
    tx.commit()?;
    Ok(keyed as u64)
}

#[cfg(test)]
mod tests {
    use app::model::{DisplayName, RoomId, UserRef};
    use uuid::Uuid;

    use crate::store::{MessageChange, MessageToAppend, SqliteStore, Store};

    async fn store_with_ada(dir: &std::path::Path) -> (SqliteStore, UserRef) {
        let store = SqliteStore::open(dir).await.expect("open");
        let ada = UserRef::named(DisplayName::parse("Ada").expect("name"));
        // Opened again, the account is there already.
        let _ = store.create_account(&ada, Some("h"), 0).await;
        store.add_member(&RoomId::lobby(), &ada.id, 0).await.expect("lobby");
        (store, ada)
    }

    async fn say(store: &SqliteStore, ada: &UserRef, body: &str) -> Uuid {
        let id = Uuid::now_v7();
        let message = MessageToAppend {
            id,
            room: RoomId::lobby(),
            author: ada.clone(),
            body: body.into(),
            mentions: Vec::new(),
            thread: None,
            sent_at_ms: 0,
            attachment: None,
        };
        store.append(message).await.expect("append");
        id
    }

    async fn found(store: &SqliteStore, ada: &UserRef, word: &str) -> Vec<String> {
        let hits = store.search(&ada.id, &[word.to_owned()], None, None, 10).await.expect("search");
        hits.into_iter().map(|m| m.body.to_string()).collect()
    }

    /// Indexing waits up to [`super::INDEX_EVERY`] for more commits, but a search made right
    /// after an ack finds the message: it has the pass run first.
    #[tokio::test]
    async fn a_search_finds_every_message_acknowledged_before_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, ada) = store_with_ada(dir.path()).await;
        for n in 0..20 {
            let word = format!("word{n}");
            say(&store, &ada, &format!("saying {word} now")).await;
            assert_eq!(found(&store, &ada, &word).await, [format!("saying {word} now")]);
        }
        assert_eq!(found(&store, &ada, "saying").await.len(), 10, "the limit");
    }

    /// Appends outrunning indexing do not grow the writer's memory without bound: past the
    /// limit it forgets the list and looks at every room in the next pass.
    #[test]
    fn the_remembered_messages_are_bounded() {
        let index = super::SearchIndex::new();
        let mut pending = super::Pending::at_open();
        pending.every_room = false;
        let lobby = RoomId::lobby();
        pending
            .committed(&index, (1..=super::REMEMBERED_AT_MOST as u64).map(|s| (lobby.clone(), s)));
        assert!(!pending.every_room);
        assert_eq!(pending.messages.len(), super::REMEMBERED_AT_MOST);
        pending.committed(&index, [(lobby.clone(), super::REMEMBERED_AT_MOST as u64 + 1)]);
        assert!(pending.every_room, "the next pass looks at every room");
        assert!(pending.messages.is_empty());
        pending.committed(&index, [(lobby, super::REMEMBERED_AT_MOST as u64 + 2)]);
        assert!(pending.messages.is_empty(), "nothing is remembered while every room is due");
    }

    /// A burst larger than one pass is indexed over several, all before the search answers.
    #[tokio::test]
    async fn a_burst_larger_than_a_pass_is_indexed_whole() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, ada) = store_with_ada(dir.path()).await;
        let burst = 3 * super::PASS_AT_MOST + 5;
        let sends = (0..burst).map(|n| {
            let (store, ada) = (&store, &ada);
            async move { say(store, ada, &format!("burst item{n}")).await }
        });
        futures_util::future::join_all(sends).await;
        for n in [0, super::PASS_AT_MOST, burst - 1] {
            assert_eq!(found(&store, &ada, &format!("item{n}")).await, [format!("burst item{n}")]);
        }
    }

    /// A message edited before its pass is indexed with its new text; one deleted before it
    /// is not indexed at all.
    #[tokio::test]
    async fn a_pass_indexes_what_the_message_is_by_then() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, ada) = store_with_ada(dir.path()).await;
        let edited = say(&store, &ada, "draft wording").await;
        let deleted = say(&store, &ada, "regrettable wording").await;
        let edit = MessageChange::Edit { body: "final wording".into(), mentions: Vec::new() };
        store.change_message(edited, &ada.id, edit, 1).await.expect("edit");
        store.change_message(deleted, &ada.id, MessageChange::Delete, 1).await.expect("delete");
        assert_eq!(found(&store, &ada, "wording").await, ["final wording"]);
        assert!(found(&store, &ada, "draft").await.is_empty());
        assert!(found(&store, &ada, "regrettable").await.is_empty());
    }

    /// What a crash left committed but unindexed is indexed when the store opens again.
    #[tokio::test]
    async fn the_first_pass_after_opening_indexes_what_was_left_unindexed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, ada) = store_with_ada(dir.path()).await;
        say(&store, &ada, "kept before the crash").await;
        say(&store, &ada, "lost in the crash").await;
        assert_eq!(found(&store, &ada, "crash").await.len(), 2);
        // As if the process died between the second commit and its pass: its words and key go.
        let mut tx = store.pool.begin().await.expect("begin");
        sqlx::query(
            "DELETE FROM message_search WHERE rowid = (SELECT MAX(key) FROM message_search_keys)",
        )
        .execute(&mut *tx)
        .await
        .expect("words");
        sqlx::query("DELETE FROM message_search_keys WHERE key = (SELECT MAX(key) FROM message_search_keys)")
            .execute(&mut *tx)
            .await
            .expect("key");
        tx.commit().await.expect("commit");
        assert_eq!(found(&store, &ada, "crash").await, ["kept before the crash"]);
        drop(store);

        let (store, ada) = store_with_ada(dir.path()).await;
        let mut hits = found(&store, &ada, "crash").await;
        hits.sort();
        assert_eq!(hits, ["kept before the crash", "lost in the crash"]);
    }
}
