//! Cross-node delivery latency (not part of the test suite): the time from a message's send on
//! one node to its arrival at clients on the other, under a steady load, beside the same load on
//! a single node. Both setups store in the same real PostgreSQL (started as the tests start it,
//! `tests/integration/common/servers.rs`), so what differs is the hop through Redis.
//!
//! Run: `cargo bench -p server --bench cluster`. Prints a table and writes it to
//! `server/benches/cluster-results.md`. Needs Debian's `postgresql` and `redis-server`.

#![allow(missing_docs, dead_code, clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/integration/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::events::messages::SendMessagePayload;
use app::model::RoomId;
use chat_client::{Connection, Incoming, Listen, Options};
use common::servers::{Postgres, Redis};
use common::{ChatClient, TestApp, spawn_app_with};
use uuid::Uuid;

/// Clients receiving every message.
const RECEIVERS: usize = 20;
/// Messages sent, one every `INTERVAL`.
const MESSAGES: usize = 1_000;
const INTERVAL: Duration = Duration::from_millis(5);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A receiving client that records, per message body, how long after the send it arrived (the
/// body carries the send instant's offset from `origin`: one process, one clock).
async fn receiver(
    node: &TestApp,
    cookie: &str,
    origin: Instant,
    sink: Arc<Mutex<Vec<Duration>>>,
) -> Connection {
    let mut options = Options::new(node.url("/"), Some("/chat"));
    options.cookie = Some(cookie.to_owned());
    options.wait = common::WAIT;
    Connection::open(options, Listen::Only("message:new"), move |incoming| {
        let arrived = origin.elapsed();
        let Incoming::Event { data, .. } = incoming else { return };
        let sent_at = data
            .get("body")
            .and_then(|b| b.as_str())
            .and_then(|b| b.strip_prefix("t="))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(sent_at) = sent_at {
            sink.lock().unwrap().push(arrived.saturating_sub(Duration::from_nanos(sent_at)));
        }
    })
    .await
    .unwrap()
}

struct Outcome {
    latencies: Vec<Duration>,
    expected: usize,
    elapsed: Duration,
}

async fn run(sender_node: &TestApp, receiver_node: &TestApp) -> Outcome {
    let origin = Instant::now();
    let sink = Arc::new(Mutex::new(Vec::with_capacity(RECEIVERS * MESSAGES)));
    let mut receivers = Vec::new();
    for i in 0..RECEIVERS {
        let cookie = sender_node.session(&format!("reader{i}")).await;
        receivers.push(receiver(receiver_node, &cookie, origin, Arc::clone(&sink)).await);
    }
    let sender: ChatClient = sender_node.connect("Writer").await;
    let started = Instant::now();
    let mut tick = tokio::time::interval(INTERVAL);
    for _ in 0..MESSAGES {
        tick.tick().await;
        let body = format!("t={}", origin.elapsed().as_nanos());
        let payload =
            SendMessagePayload { id: Uuid::now_v7(), room: RoomId::lobby(), body, thread: None };
        // Not awaiting the ack keeps the rate steady; what arrives is what counts.
        sender.emit("message:send", serde_json::to_value(&payload).unwrap()).await;
    }
    // Let the last deliveries land.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sink.lock().unwrap().len() < RECEIVERS * MESSAGES && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    for r in receivers {
        let _ = r.close().await;
    }
    let mut latencies = std::mem::take(&mut *sink.lock().unwrap());
    latencies.sort();
    Outcome { latencies, expected: RECEIVERS * MESSAGES, elapsed }
}

fn row(label: &str, o: &Outcome) -> String {
    let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1000.0);
    let l = &o.latencies;
    format!(
        "| {label} | {}/{} | {:.0} | {} | {} | {} | {} |",
        l.len(),
        o.expected,
        l.len() as f64 / o.elapsed.as_secs_f64(),
        ms(percentile(l, 0.5)),
        ms(percentile(l, 0.9)),
        ms(percentile(l, 0.99)),
        ms(*l.last().unwrap()),
    )
}

#[tokio::main]
async fn main() {
    let (redis, postgres) =
        tokio::task::spawn_blocking(|| (Redis::start(), Postgres::start())).await.unwrap();

    // One node on PostgreSQL, no Redis.
    let single_db = postgres.fresh_database().await;
    let single = spawn_app_with(|c| {
        c.database_url = Some(single_db);
        c.max_connections_per_ip = 10_000;
    })
    .await;
    let alone = run(&single, &single).await;
    single.stop().await;

    // Two nodes on PostgreSQL and Redis: sent on one, received on the other.
    let database = postgres.fresh_database().await;
    let node = || {
        let (redis_url, database) = (redis.url(), database.clone());
        spawn_app_with(move |c| {
            c.redis_url = Some(redis_url);
            c.database_url = Some(database);
            c.max_connections_per_ip = 10_000;
        })
    };
    let (one, two) = (node().await, node().await);
    let across = run(&one, &two).await;

    let mut out = String::new();
    writeln!(out, "Send→deliver latency, {MESSAGES} messages at {} per second into one room, each delivered to {RECEIVERS} clients (ms):\n", 1000 / INTERVAL.as_millis()).unwrap();
    writeln!(out, "| setup | delivered | deliveries/s | p50 | p90 | p99 | max |").unwrap();
    writeln!(out, "|---|---|---|---|---|---|---|").unwrap();
    writeln!(out, "{}", row("one node (PostgreSQL)", &alone)).unwrap();
    writeln!(out, "{}", row("two nodes (PostgreSQL + Redis), across", &across)).unwrap();
    writeln!(
        out,
        "\nRelease build (cargo bench), loopback, in one process; {} cores.",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    )
    .unwrap();
    println!("{out}");
    std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/cluster-results.md"), out)
        .unwrap();
}
