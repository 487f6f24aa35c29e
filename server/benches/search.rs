//! Search benchmark (not part of the test suite): the latency of `Store::search` over a store
//! holding 1,000,000 messages in 1,000 rooms, for a person who is a member of 50 of them, on
//! SQLite (FTS5) and on PostgreSQL (`tsvector` + GIN, started as the tests start it).
//!
//! Run: `cargo bench -p server --bench search`. Prints a table and writes it to
//! `server/benches/search-results.md`. Needs Debian's `postgresql` for the second half (skipped
//! with a note if `pg_ctl` cannot be found).
//!
//! The messages are filled in one statement per store (the search index kept by the same
//! triggers or generated column as in production). Each body holds a word from three
//! vocabularies: `w0`–`w19` (each in 5% of all messages: a "the"), `v0`–`v499` (0.2%) and
//! `x0`–`x19999` (rare); 10,000 messages in rooms the person is not in hold `lonely`, which
//! therefore matches nothing of theirs (the whole match list is read and thrown away).

#![allow(missing_docs, dead_code, clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/integration/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use app::model::{RoomId, UserId};
use app::search::{SEARCH_RESULTS, terms};
use server::store::{PostgresStore, SqliteStore, Store};

const ROOMS: u64 = 1_000;
const PER_ROOM: u64 = 1_000;
/// The person is in every 20th room: 50 rooms.
const EVERY: u64 = 20;
const QUERIES: usize = 200;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A cheap deterministic sequence (xorshift), so both stores get the same queries.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A kind of query: its label, a maker of its text, and whether it is narrowed to one room.
type Kind = (&'static str, fn(&mut Rng) -> String, bool);

/// The kinds of query measured.
fn kinds() -> Vec<Kind> {
    vec![
        ("a very common word (5% of messages)", |r| format!("w{}", r.below(20)), false),
        ("a less common word (0.2%)", |r| format!("v{}", r.below(500)), false),
        ("a rare word, as a prefix (x123 finds x1234)", |r| format!("x{}", r.below(20_000)), false),
        (
            "two words, common and less common",
            |r| format!("w{} v{}", r.below(20), r.below(500)),
            false,
        ),
        ("a word only in others' rooms (no result)", |_| "lonely".to_owned(), false),
        ("a very common word in one room", |r| format!("w{}", r.below(20)), true),
    ]
}

async fn measure(store: &dyn Store, out: &mut String, name: &str, fill: Duration) {
    let ada = UserId("ada".into());
    let one_room = RoomId("r0000".into());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    writeln!(out, "\n## {name} (filled in {:.1} s)\n", fill.as_secs_f64()).unwrap();
    writeln!(out, "| query | results (median) | p50 | p99 |").unwrap();
    writeln!(out, "|---|---|---|---|").unwrap();
    for (label, make, in_room) in kinds() {
        eprintln!("{name}: {label}…");
        let mut times = Vec::with_capacity(QUERIES);
        let mut counts = Vec::with_capacity(QUERIES);
        for _ in 0..QUERIES {
            let words = terms(&make(&mut rng));
            let room = in_room.then_some(&one_room);
            let t = Instant::now();
            let hits = store.search(&ada, &words, room, None, SEARCH_RESULTS + 1).await.unwrap();
            times.push(t.elapsed());
            counts.push(hits.len());
        }
        times.sort();
        counts.sort_unstable();
        writeln!(
            out,
            "| {label} | {} | {:.2} ms | {:.2} ms |",
            counts[counts.len() / 2],
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99))
        )
        .unwrap();
    }
}

const BODY_SQLITE: &str = "'w' || (abs(random()) % 20) || ' v' || (abs(random()) % 500) || ' x' \
     || (abs(random()) % 20000) || ' a message with some ordinary words around the ones searched'";

async fn sqlite(out: &mut String) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).await.unwrap();
    let pool =
        sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("parley.db").display()))
            .await
            .unwrap();
    let fill = Instant::now();
    for statement in [
        "INSERT INTO users (id, name) VALUES ('ada', 'Ada')".to_owned(),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {}) \
             INSERT INTO rooms (id, kind, created_by, created_at, last_seq, last_rev) \
             SELECT printf('r%04d', i), 'public', 'ada', 0, {PER_ROOM}, {PER_ROOM} FROM n",
            ROOMS - 1
        ),
        format!(
            "INSERT INTO memberships (room_id, user_id, joined_at) \
             SELECT id, 'ada', 0 FROM rooms WHERE id LIKE 'r%' AND CAST(substr(id, 2) AS INTEGER) % {EVERY} = 0"
        ),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {}) \
             INSERT INTO messages (room_id, seq, id, author_id, author_name, body, sent_at, rev) \
             SELECT printf('r%04d', i % {ROOMS}), i / {ROOMS} + 1, \
                    printf('00000000-0000-7000-8000-%012d', i), 'ada', 'Ada', \
                    CASE WHEN i % 100 = 1 THEN 'lonely ' ELSE '' END || {BODY_SQLITE}, \
                    1795000000000 + i, i / {ROOMS} + 1 FROM n",
            ROOMS * PER_ROOM - 1
        ),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(statement)).execute(&pool).await.unwrap();
    }
    // Rows written behind the store's back are indexed by the first pass of a store opened
    // after them (as after a crash); a search waits for that pass.
    drop(store);
    let store = SqliteStore::open(dir.path()).await.unwrap();
    store.search(&UserId("ada".into()), &["lonely".to_owned()], None, None, 1).await.unwrap();
    let fill = fill.elapsed();
    eprintln!("SQLite filled and indexed in {:.1} s", fill.as_secs_f64());
    measure(&store, out, "SQLite, FTS5", fill).await;
}

const BODY_POSTGRES: &str = "'w' || floor(random() * 20) || ' v' || floor(random() * 500) || ' x' \
     || floor(random() * 20000) || ' a message with some ordinary words around the ones searched'";

async fn postgres(out: &mut String) {
    let server = tokio::task::spawn_blocking(common::servers::Postgres::start).await.unwrap();
    let url = server.fresh_database().await;
    let store = PostgresStore::connect(&url).await.unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let fill = Instant::now();
    for statement in [
        "INSERT INTO users (id, name) VALUES ('ada', 'Ada')".to_owned(),
        format!(
            "INSERT INTO rooms (id, kind, created_by, created_at, last_seq, last_rev) \
             SELECT 'r' || lpad(i::text, 4, '0'), 'public', 'ada', 0, {PER_ROOM}, {PER_ROOM} \
             FROM generate_series(0, {}) AS i",
            ROOMS - 1
        ),
        format!(
            "INSERT INTO memberships (room_id, user_id, joined_at) \
             SELECT id, 'ada', 0 FROM rooms WHERE id LIKE 'r%' AND substr(id, 2)::int % {EVERY} = 0"
        ),
        format!(
            "INSERT INTO messages (room_id, seq, id, author_id, author_name, body, sent_at, rev) \
             SELECT 'r' || lpad((i % {ROOMS})::text, 4, '0'), i / {ROOMS} + 1, \
                    ('00000000-0000-7000-8000-' || lpad(i::text, 12, '0'))::uuid, 'ada', 'Ada', \
                    CASE WHEN i % 100 = 1 THEN 'lonely ' ELSE '' END || {BODY_POSTGRES}, \
                    1795000000000 + i, i / {ROOMS} + 1 \
             FROM generate_series(0, {}) AS i",
            ROOMS * PER_ROOM - 1
        ),
        "ANALYZE".to_owned(),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(statement)).execute(&pool).await.unwrap();
    }
    let fill = fill.elapsed();
    eprintln!("PostgreSQL filled in {:.1} s", fill.as_secs_f64());
    measure(&store, out, "PostgreSQL, tsvector + GIN", fill).await;
}

#[tokio::main]
async fn main() {
    let mut out = String::new();
    writeln!(out, "# Search benchmark\n").unwrap();
    writeln!(
        out,
        "Machine: {} cores; `cargo bench -p server --bench search`. {} messages in {ROOMS} rooms; \
         the person searching is in {} of them; {QUERIES} queries of each kind, each asking for \
         the newest {} matches. Target: p99 ≤ 50 ms.",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        ROOMS * PER_ROOM,
        ROOMS / EVERY,
        SEARCH_RESULTS + 1
    )
    .unwrap();
    // `SEARCH_BENCH_STORES=postgres` (or `sqlite`) measures one store only.
    let only = std::env::var("SEARCH_BENCH_STORES").unwrap_or_else(|_| "sqlite,postgres".into());
    if only.contains("sqlite") {
        sqlite(&mut out).await;
    }
    let has_postgres = only.contains("postgres")
        && std::process::Command::new("sh")
            .args(["-c", "command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl"])
            .output()
            .is_ok_and(|o| o.status.success());
    if has_postgres {
        postgres(&mut out).await;
    } else {
        writeln!(out, "\nPostgreSQL: not measured (no `pg_ctl`; `apt-get install postgresql`).")
            .unwrap();
    }
    print!("{out}");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/search-results.md");
    std::fs::write(path, &out).unwrap();
    println!("\nwritten to {path}");
}
