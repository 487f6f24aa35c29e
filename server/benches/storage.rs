//! Storage benchmark (not part of the test suite): acknowledged durable appends per second on
//! SQLite, and the latency of reading the newest 50 messages of a room holding 1,000,000.
//!
//! Run: `cargo bench -p server --bench storage`. Prints a table and writes it to
//! `server/benches/storage-results.md`.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::{DisplayName, RoomId, RoomKind, UserId, UserRef};
use server::store::{Durability, MessageToAppend, SqliteStore, Store};
use uuid::Uuid;

const WRITERS: usize = 64;
const PER_WRITER: usize = 800;
const BIG_ROOM: u64 = 1_000_000;
const QUERIES: usize = 500;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ada() -> UserRef {
    UserRef { id: UserId("ada".into()), name: DisplayName::parse("Ada").unwrap() }
}

fn message(room: &RoomId, i: usize) -> MessageToAppend {
    MessageToAppend {
        id: Uuid::now_v7(),
        room: room.clone(),
        author: ada(),
        body: format!("benchmark message number {i} with a little text to make it realistic"),
        mentions: Vec::new(),
        thread: None,
        sent_at_ms: 1_795_000_000_000,
        attachment: None,
    }
}

/// Acknowledged appends: each writer waits for its ack (= the commit) before the next. The
/// rate, and the latencies of every append.
async fn concurrent_appends(store: &Arc<SqliteStore>, room: &RoomId) -> (f64, Vec<Duration>) {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = Arc::clone(store);
        let room = room.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(PER_WRITER);
            for i in 0..PER_WRITER {
                let t = Instant::now();
                store.append(message(&room, w * PER_WRITER + i)).await.unwrap();
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    ((WRITERS * PER_WRITER) as f64 / elapsed.as_secs_f64(), latencies)
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    store.upsert_user(&ada()).await.unwrap();
    let room = RoomId("bench".into());
    store.create_room(&room, RoomKind::Public, Some(&ada().id), 0).await.unwrap();

    // 1. Acknowledged appends, with the default durability and with --durability power-loss.
    let total = WRITERS * PER_WRITER;
    let (rate, latencies) = concurrent_appends(&store, &room).await;
    let full_dir = tempfile::tempdir().unwrap();
    let full =
        Arc::new(SqliteStore::open_with(full_dir.path(), Durability::PowerLoss).await.unwrap());
    full.upsert_user(&ada()).await.unwrap();
    full.create_room(&room, RoomKind::Public, Some(&ada().id), 0).await.unwrap();
    let (full_rate, full_latencies) = concurrent_appends(&full, &room).await;

    // One writer alone: the latency of a single durable append with nothing to group with.
    let mut single = Vec::new();
    for i in 0..500 {
        let t = Instant::now();
        store.append(message(&room, i)).await.unwrap();
        single.push(t.elapsed());
    }
    single.sort();

    // 2. A room with 1,000,000 messages, filled in one statement, then the newest 50 read again
    //    and again through the store.
    let big = RoomId("big".into());
    store.create_room(&big, RoomKind::Public, Some(&ada().id), 0).await.unwrap();
    let pool =
        sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("parley.db").display()))
            .await
            .unwrap();
    let fill = Instant::now();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         INSERT INTO messages (room_id, seq, id, author_id, author_name, body, sent_at, rev) \
         SELECT 'big', i, printf('00000000-0000-7000-8000-%012d', i), 'ada', 'Ada', \
                'filler message ' || i, 1795000000000 + i, i FROM n",
    )
    .bind(BIG_ROOM as i64)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE rooms SET last_seq = ?1, last_rev = ?1 WHERE id = 'big'")
        .bind(BIG_ROOM as i64)
        .execute(&pool)
        .await
        .unwrap();
    let fill = fill.elapsed();
    let mut reads = Vec::with_capacity(QUERIES);
    for _ in 0..QUERIES {
        let t = Instant::now();
        let page = store.history(&big, None, 50).await.unwrap();
        reads.push(t.elapsed());
        assert_eq!(page.messages.last().map(|m| m.seq), Some(BIG_ROOM));
    }
    reads.sort();
    // An old page, deep in the room (keyset pagination: no OFFSET scan).
    let mut deep = Vec::with_capacity(QUERIES);
    for k in 0..QUERIES {
        let t = Instant::now();
        store.history(&big, Some(1_000 + k as u64), 50).await.unwrap();
        deep.push(t.elapsed());
    }
    deep.sort();

    let mut out = String::new();
    writeln!(out, "# Storage benchmark (SQLite, WAL, synchronous=NORMAL)\n").unwrap();
    writeln!(
        out,
        "Machine: {} cores; `cargo bench -p server --bench storage`.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    )
    .unwrap();
    writeln!(out, "| measure | value | target |").unwrap();
    writeln!(out, "|---|---|---|").unwrap();
    writeln!(out, "| acked durable appends/s ({WRITERS} concurrent writers, {total} messages) | {rate:.0} | ≥ 10,000 |").unwrap();
    writeln!(
        out,
        "| append ack latency under that load p50 / p99 | {:.2} ms / {:.2} ms | |",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99))
    )
    .unwrap();
    writeln!(
        out,
        "| the same with `--durability power-loss` (synchronous=FULL): appends/s, p50 / p99 | {full_rate:.0}, {:.2} ms / {:.2} ms | |",
        ms(percentile(&full_latencies, 0.5)),
        ms(percentile(&full_latencies, 0.99))
    )
    .unwrap();
    writeln!(
        out,
        "| single writer append latency p50 / p99 | {:.2} ms / {:.2} ms | |",
        ms(percentile(&single, 0.5)),
        ms(percentile(&single, 0.99))
    )
    .unwrap();
    writeln!(
        out,
        "| newest 50 of a 1,000,000-message room p50 / p99 | {:.3} ms / {:.3} ms | ≤ 5 ms |",
        ms(percentile(&reads, 0.5)),
        ms(percentile(&reads, 0.99))
    )
    .unwrap();
    writeln!(
        out,
        "| an old page (before seq ~1,000) p50 / p99 | {:.3} ms / {:.3} ms | |",
        ms(percentile(&deep, 0.5)),
        ms(percentile(&deep, 0.99))
    )
    .unwrap();
    writeln!(
        out,
        "| filling the 1,000,000-message room (one statement) | {:.1} s | |",
        fill.as_secs_f64()
    )
    .unwrap();
    print!("{out}");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/storage-results.md");
    std::fs::write(path, &out).unwrap();
    println!("\nwritten to {path}");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}
