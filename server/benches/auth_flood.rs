//! A flood of password work from one address (not part of the test suite): 500 concurrent
//! registrations and 500 concurrent sign-ins with wrong passwords, while someone who is already
//! signed in keeps chatting. Reports what the flood got (created, refused, wrong password),
//! that person's message ack latency during the flood beside before it, and the server's peak
//! RSS. The server is the real `parley` binary in a process of its own, so its memory is its
//! own (an earlier in-process version measured mostly its 1,000 HTTP clients).
//!
//! Two setups: the default limits, and the per-address limit lifted (a deployment behind a proxy
//! that shares one address), where only the bounded hashing (`--hashes-at-once`) stands between
//! the flood and the server's memory.
//!
//! Run: `cargo bench -p server --bench auth_flood`. Prints a table and writes it to
//! `server/benches/auth-flood-results.md`.

#![allow(missing_docs, dead_code, clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/integration/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use app::events::messages::{SendMessage, SendMessagePayload};
use app::model::RoomId;
use common::servers::Node;
use common::{ChatClient, call_auth};
use uuid::Uuid;

const REGISTRATIONS: usize = 500;
const SIGN_INS: usize = 500;
/// One message from the chatting person every this long.
const CHAT_EVERY: Duration = Duration::from_millis(20);

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

#[derive(Default)]
struct Outcome {
    created: usize,
    rate_limited: usize,
    bad_credentials: usize,
    other: usize,
    flood_time: Duration,
    quiet: Vec<Duration>,
    during: Vec<Duration>,
    rss_before_kib: u64,
    rss_peak_kib: u64,
}

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
        acks.push(started.elapsed());
        tokio::time::sleep(CHAT_EVERY).await;
    }
    acks.sort_unstable();
    acks
}

async fn run(setup: &str, env: &[(&str, String)]) -> Outcome {
    let node = Node::start(env).await;
    let pid = node.pid();
    let addr = node.addr;
    call_auth(addr, "register", &[("name", "Victim"), ("password", "the right password")], None)
        .await
        .expect("victim");
    let cookie =
        call_auth(addr, "register", &[("name", "Chatter"), ("password", "chatter's")], None)
            .await
            .expect("chatter");
    let tab = ChatClient::connect(&node.url("/"), "/chat", serde_json::json!({}), Some(&cookie))
        .await
        .expect("connected");
    let mut outcome = Outcome::default();

    let done = AtomicBool::new(true);
    outcome.quiet = chat_acks(&tab, &done, 50).await;
    outcome.rss_before_kib = rss_kib(pid);

    let flooding = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(outcome.rss_before_kib));
    let sampler = tokio::spawn({
        let (flooding, peak) = (Arc::clone(&flooding), Arc::clone(&peak));
        async move {
            while !flooding.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    });
    // One HTTP client for the whole flood (a client per request costs the generator more than
    // the server).
    let http = reqwest::Client::new();
    let call = |endpoint: &'static str, name: String, password: &'static str| {
        let http = http.clone();
        async move {
            let response = http
                .post(format!("http://{addr}/api/{endpoint}"))
                .form(&[("name", name.as_str()), ("password", password)])
                .send()
                .await
                .expect("answered");
            let ok = response.status().is_success();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            if ok { Ok(()) } else { Err(body) }
        }
    };
    let registrations =
        (0..REGISTRATIONS).map(|i| call("register", format!("Flood{i}"), "a long enough password"));
    // Half at an existing name, half at fresh ones.
    let sign_ins = (0..SIGN_INS).map(|i| {
        let name = if i % 2 == 0 { "Victim".to_owned() } else { format!("Nobody{i}") };
        call("sign_in", name, "a wrong password")
    });
    let started = Instant::now();
    let flood = async {
        let (a, b) = tokio::join!(
            futures_util::future::join_all(registrations),
            futures_util::future::join_all(sign_ins)
        );
        done.store(true, Ordering::Relaxed);
        a.into_iter().chain(b).collect::<Vec<_>>()
    };
    done.store(false, Ordering::Relaxed);
    let (results, during) = tokio::join!(flood, chat_acks(&tab, &done, 10));
    outcome.flood_time = started.elapsed();
    flooding.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    outcome.rss_peak_kib = peak.load(Ordering::Relaxed);
    outcome.during = during;
    for r in results {
        match r {
            Ok(()) => outcome.created += 1,
            Err(e) => match e["code"].as_str() {
                Some("rate_limited") => outcome.rate_limited += 1,
                Some("bad_credentials") => outcome.bad_credentials += 1,
                _ => outcome.other += 1,
            },
        }
    }
    println!("{setup}: done in {:?}", outcome.flood_time);
    outcome
}

fn row(setup: &str, o: &Outcome) -> String {
    let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
    format!(
        "| {setup} | {} | {} | {} | {} | {:.1} s | {} / {} | {} / {} | {} | {:.0} → {:.0} MiB |",
        o.created,
        o.rate_limited,
        o.bad_credentials,
        o.other,
        o.flood_time.as_secs_f64(),
        ms(percentile(&o.quiet, 0.5)),
        ms(percentile(&o.quiet, 0.99)),
        ms(percentile(&o.during, 0.5)),
        ms(percentile(&o.during, 0.99)),
        o.during.len(),
        o.rss_before_kib as f64 / 1024.0,
        o.rss_peak_kib as f64 / 1024.0,
    )
}

#[tokio::main]
async fn main() {
    // The server's defaults, then its account limits lifted (as behind a proxy that gives
    // every client one address), where only the bounded hashing protects it.
    let defaults = run("defaults", &[]).await;
    let lifted = run(
        "per-address limit lifted",
        &[
            ("PARLEY_AUTH_ATTEMPTS_PER_ADDRESS_PER_MINUTE", "1000000".into()),
            ("PARLEY_SIGN_IN_ATTEMPTS_PER_MINUTE", "1000000".into()),
        ],
    )
    .await;

    let mut out = String::new();
    writeln!(
        out,
        "{REGISTRATIONS} concurrent registrations + {SIGN_INS} concurrent wrong-password sign-ins \
         from one address, while another person sends a message every {} ms \
         (`cargo bench -p server --bench auth_flood`; `--hashes-at-once 2`):\n",
        CHAT_EVERY.as_millis()
    )
    .unwrap();
    writeln!(
        out,
        "| setup | created | rate_limited | bad_credentials | other | flood took | ack p50 / p99 before (ms) | ack p50 / p99 during (ms) | acks during | RSS before → peak |"
    )
    .unwrap();
    writeln!(out, "|---|---|---|---|---|---|---|---|---|---|").unwrap();
    writeln!(out, "{}", row("default limits", &defaults)).unwrap();
    writeln!(out, "{}", row("per-address and per-name limits lifted", &lifted)).unwrap();
    print!("\n{out}");
    std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/auth-flood-results.md"), out)
        .unwrap();
}
