//! Upload benchmark (not part of the test suite): one person uploads 50 MiB files over loopback
//! (eight, one after another) while another keeps chatting in the same room. Reports the upload's throughput (from
//! `file:begin` to the finish's ack, so hashing, the preview check and the store's write are
//! in it) and the chatting person's message ack latency beside the same without the upload,
//! plus the server's peak RSS. The target: their p99 stays at or under 50 ms.
//!
//! The server is the real `parley` binary in its own process. The uploader speaks Socket.IO over
//! a raw WebSocket (see `common/uploader.rs`) and sends one chunk at a time, each when the
//! previous is acked, as the browser does.
//!
//! Setups: the default payload limit (64 KiB, so chunks of about 48 KiB) on SQLite (bytes in the
//! data dir) and on PostgreSQL (bytes in `file_parts`), and a 1 MiB payload limit on SQLite.
//!
//! Run: `cargo bench -p server --bench uploads`. Prints a table and writes it to
//! `server/benches/uploads-results.md`. The PostgreSQL row needs Debian's `postgresql` (skipped
//! with a note without `pg_ctl`).

#![allow(missing_docs, dead_code, clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/integration/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use app::events::messages::{SendMessage, SendMessagePayload};
use app::model::RoomId;
use common::servers::{Node, Postgres};
use common::uploader::Uploader;
use common::{ChatClient, call_auth};
use uuid::Uuid;

const FILE_BYTES: usize = 50 * 1024 * 1024;
/// Files uploaded one after another, so the chat is measured over seconds of uploading, not
/// a fraction of one.
const FILES: usize = 8;
/// One message from the chatting person every this long.
const CHAT_EVERY: Duration = Duration::from_millis(10);

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Noise (xorshift), so nothing along the way compresses it.
fn file_bytes() -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut out = Vec::with_capacity(FILE_BYTES);
    while out.len() < FILE_BYTES {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(FILE_BYTES);
    out
}

/// The chatting person's acks until `until` is set (and at least `at_least` of them).
async fn chat_acks(tab: &ChatClient, until: &AtomicBool, at_least: usize) -> Vec<Duration> {
    let mut acks = Vec::new();
    while !until.load(Ordering::Relaxed) || acks.len() < at_least {
        let started = Instant::now();
        let payload = SendMessagePayload {
            id: Uuid::now_v7(),
            room: RoomId::lobby(),
            body: "still here".into(),
            thread: None,
        };
        tab.request::<SendMessage>(&payload).await.expect("acknowledged");
        // Only what was sent while the other side went on (`until` not yet set) counts.
        if !until.load(Ordering::Relaxed) || at_least > 0 {
            acks.push(started.elapsed());
        }
        tokio::time::sleep(CHAT_EVERY).await;
    }
    acks.sort_unstable();
    acks
}

struct Outcome {
    chunk_bytes: u64,
    upload: Duration,
    quiet: Vec<Duration>,
    during: Vec<Duration>,
    rss_before_kib: u64,
    rss_peak_kib: u64,
}

async fn run(env: &[(&str, String)], bytes: &[u8]) -> Outcome {
    let node = Node::start(env).await;
    let pid = node.pid();
    let addr = node.addr;
    let chatter =
        call_auth(addr, "register", &[("name", "Chatter"), ("password", "chatter's")], None)
            .await
            .expect("chatter");
    let sharer =
        call_auth(addr, "register", &[("name", "Sharer"), ("password", "sharer's!")], None)
            .await
            .expect("sharer");
    let tab = ChatClient::connect(&node.url("/"), "/chat", serde_json::json!({}), Some(&chatter))
        .await
        .expect("connected");
    let mut uploader = Uploader::connect_to(addr, &sharer).await;

    let quiet_done = AtomicBool::new(true);
    let quiet = chat_acks(&tab, &quiet_done, 200).await;
    let rss_before_kib = rss_kib(pid);

    let uploading = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(rss_before_kib));
    let sampler = tokio::spawn({
        let (uploading, peak) = (Arc::clone(&uploading), Arc::clone(&peak));
        async move {
            while uploading.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    });
    let upload_done = AtomicBool::new(false);
    let upload = async {
        let started = Instant::now();
        let mut chunk_bytes = 0;
        let mut bytes = bytes.to_vec();
        for n in 0..FILES {
            // A different file each time (the same bytes would be stored once).
            bytes[..8].copy_from_slice(&(n as u64).to_le_bytes());
            let id = Uuid::now_v7();
            let name = format!("archive-{n}.bin");
            let begin =
                serde_json::json!({ "id": id, "room": "lobby", "name": name, "size": bytes.len() });
            let begun = uploader.request("file:begin", begin).await;
            chunk_bytes = begun["Ok"]["chunk_bytes"].as_u64().expect("chunk size");
            let mut offset = 0u64;
            for part in bytes.chunks(chunk_bytes as usize) {
                let acked = uploader.chunk(id, offset, part).await;
                offset += part.len() as u64;
                assert_eq!(acked["Ok"]["received"].as_u64(), Some(offset), "{acked}");
            }
            let finished = uploader
                .request("file:finish", serde_json::json!({ "id": id, "caption": "" }))
                .await;
            assert!(finished.get("Ok").is_some(), "upload refused: {finished}");
        }
        let took = started.elapsed();
        upload_done.store(true, Ordering::Relaxed);
        (chunk_bytes, took)
    };
    let ((chunk_bytes, took), during) = tokio::join!(upload, chat_acks(&tab, &upload_done, 0));
    uploading.store(false, Ordering::Relaxed);
    sampler.await.unwrap();
    Outcome {
        chunk_bytes,
        upload: took,
        quiet,
        during,
        rss_before_kib,
        rss_peak_kib: peak.load(Ordering::Relaxed),
    }
}

fn row(out: &mut String, setup: &str, o: &Outcome) {
    let mib_s = (FILE_BYTES * FILES) as f64 / (1024.0 * 1024.0) / o.upload.as_secs_f64();
    writeln!(
        out,
        "| {setup} | {} KiB | {:.2} s | {mib_s:.1} MiB/s | {:.1} / {:.1} ms | {:.1} / {:.1} / {:.1} ms ({} acks) | {} → {} MiB |",
        o.chunk_bytes / 1024,
        o.upload.as_secs_f64() / FILES as f64,
        ms(percentile(&o.quiet, 0.5)),
        ms(percentile(&o.quiet, 0.99)),
        ms(percentile(&o.during, 0.5)),
        ms(percentile(&o.during, 0.99)),
        ms(o.during.last().copied().unwrap_or_default()),
        o.during.len(),
        o.rss_before_kib / 1024,
        o.rss_peak_kib / 1024,
    )
    .unwrap();
}

#[tokio::main]
async fn main() {
    let bytes = file_bytes();
    let mut out = String::new();
    writeln!(out, "# Uploads: 50 MiB files over loopback while someone chats\n").unwrap();
    writeln!(
        out,
        "{FILES} files of 50 MiB uploaded one after another, one chunk in flight (as the browser \
         sends them); `upload` is the time per file. Chat acks: one message every {} ms from \
         another person in the same room, before the uploads (quiet) and while they run.\n",
        CHAT_EVERY.as_millis()
    )
    .unwrap();
    writeln!(
        out,
        "| setup | chunk | upload (per file) | throughput | chat ack p50 / p99, quiet | chat ack p50 / p99 / max, during | server RSS |"
    )
    .unwrap();
    writeln!(out, "|---|---|---|---|---|---|---|").unwrap();

    eprintln!("SQLite, default payload limit…");
    let o = run(&[], &bytes).await;
    row(&mut out, "SQLite, `--max-payload` 64 KiB (default)", &o);

    eprintln!("SQLite, 1 MiB payload limit…");
    let o = run(&[("PARLEY_MAX_PAYLOAD", (1024 * 1024).to_string())], &bytes).await;
    row(&mut out, "SQLite, `--max-payload` 1 MiB", &o);

    let has_pg = std::process::Command::new("sh")
        .args(["-c", "command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl"])
        .output()
        .is_ok_and(|o| o.status.success());
    if has_pg {
        eprintln!("PostgreSQL, default payload limit…");
        let pg = Postgres::start();
        let url = pg.fresh_database().await;
        let o = run(&[("PARLEY_DATABASE_URL", url)], &bytes).await;
        row(&mut out, "PostgreSQL, `--max-payload` 64 KiB (default)", &o);
    } else {
        writeln!(out, "\n(PostgreSQL skipped: `pg_ctl` not found.)").unwrap();
    }

    println!("{out}");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/uploads-results.md");
    std::fs::write(path, &out).unwrap();
    eprintln!("written to {path}");
}
