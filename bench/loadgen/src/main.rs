//! `parley-loadgen`: runs the same Socket.IO scenarios against Parley and the Node socket.io
//! tutorial chat in one run, on one machine, and writes the numbers side by side.
//!
//! Why a generator of our own: the claim to check is "faster and leaner than the Node chat it
//! replaces", so both servers must see the same clients, the same payloads and the same clock.
//! Every message carries its send instant (microseconds since the generator started); each copy
//! a client receives is timed against the same clock, so latency is send→deliver with no clock
//! skew. The generator runs beside the servers on the same cores, which caps what any server can
//! show here; the report says so.
//!
//! Scenarios (sizes scale with `--scale` for a quick smoke run):
//! 1. fan-out: 1 KB messages into one room of 1,000 clients, the rate stepped up until p99 passes
//!    100 ms; the peak sustained deliveries/s, then the latency at half of that rate;
//! 2. many rooms: 5,000 clients in 500 rooms of 10, one message per room per second;
//! 3. idle: 15,000 connections held, the server's RSS per connection.
//!
//! `scripts/bench` builds, installs the reference and runs this with the browser measurement.

mod clients;
mod report;
mod servers;
mod wire;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use futures_util::{StreamExt, stream};
use indicatif::{ProgressBar, ProgressStyle};

use clients::{Chatter, Identity, Probe, send_at};
// Reconnects in flight at once during the storm: socket.io-client would have every client retry
// at once; a bound keeps the generator's core from being the limit.
use report::STORM_IN_FLIGHT;
use report::{FanOut, Idle, Latency, P99_LIMIT_MS, Rooms, Step, Storm, TargetResults};
use servers::{Kind, Programs, Server};

/// Message size in the scenarios.
const MESSAGE_BYTES: usize = 1024;
/// The longest a scenario waits for the server to go quiet after connecting.
const SETTLE_MAX: Duration = Duration::from_secs(120);
/// Each scenario first sends at its lowest rate for this long, unrecorded: the first messages
/// after connecting pay for warming caches, buffers and allocators, on both servers and in the
/// generator (runs without it showed a first step with a p99 several times the next one's).
const WARM_UP: Duration = Duration::from_secs(2);
/// How long to wait after the last send of a step for its copies to arrive.
const DRAIN: Duration = Duration::from_secs(2);
/// Connects in flight at once.
const CONNECTING: usize = 64;
/// How long a client keeps retrying during the storm before it counts as failed.
const STORM_LIMIT: Duration = Duration::from_secs(60);
/// Retry delay while the server is down: short, so the measure is the server's, not a backoff.
const STORM_RETRY: Duration = Duration::from_millis(50);
/// Steps between the last fan-out rate that held and the first that failed, halving the gap.
const REFINE_STEPS: usize = 2;
/// How long a failed step's backlog is given to clear before the next measurement.
const BACKLOG_CLEAR: Duration = Duration::from_secs(5);
/// Fan-out send rates tried, in messages per second (each copied to every client).
const FANOUT_RATES: [f64; 12] =
    [10.0, 20.0, 40.0, 80.0, 120.0, 160.0, 240.0, 320.0, 480.0, 640.0, 960.0, 1280.0];

#[derive(Parser, Debug)]
#[command(about = "Runs the benchmark scenarios against Parley and the Node socket.io reference")]
struct Args {
    /// The release `parley` binary.
    #[arg(long, default_value = "target/release/parley")]
    parley: PathBuf,
    /// cargo-leptos's site directory.
    #[arg(long, default_value = "target/site")]
    site_root: PathBuf,
    /// The reference chat (with `node_modules` installed).
    #[arg(long, default_value = "bench/reference")]
    reference: PathBuf,
    /// The release `parley-floor` binary (`bench/floor`).
    #[arg(long, default_value = "target/release/parley-floor")]
    floor: PathBuf,
    /// Where results.json, results.md, fanout.svg and the server logs go.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// The browser measurement written by the Playwright benchmark, if it ran.
    #[arg(long)]
    browser: Option<PathBuf>,
    /// A Markdown file whose `<!-- results -->` section is replaced by the new tables.
    #[arg(long)]
    docs: Option<PathBuf>,
    /// Multiplies every client count (e.g. 0.1 for a smoke run).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Servers to run against (comma-separated: parley, node, floor). The report needs all
    /// three; fewer (while working on one number) write `partial.json` only.
    #[arg(long, value_delimiter = ',', default_value = "parley,node,floor")]
    servers: Vec<String>,
    /// Seconds each fan-out step sends for.
    #[arg(long, default_value_t = 4)]
    step_seconds: u64,
    /// Record a `perf` profile of Parley during each scenario's measured phase into this
    /// directory (`*.perf.data`, and `*.perf.txt` summaries). Needs Debian's `linux-perf`.
    #[arg(long)]
    perf: Option<PathBuf>,
    /// Pin the servers to these CPUs (`taskset -c` list, e.g. `0`); run the generator pinned to
    /// the others (`taskset -c 1 parley-loadgen --server-cpus 0`) so the two stop competing.
    #[arg(long)]
    server_cpus: Option<String>,
    /// Scenarios to run (comma-separated: fanout, rooms, idle, storm).
    #[arg(long, value_delimiter = ',', default_value = "fanout,rooms,idle,storm")]
    scenarios: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out)?;
    let programs = Programs {
        parley: args.parley.clone(),
        site_root: args.site_root.clone(),
        reference: args.reference.clone(),
        floor: args.floor.clone(),
        logs: args.out.clone(),
        perf: args.perf.clone(),
        server_cpus: args.server_cpus.clone(),
    };
    let scaled = |n: usize| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let n = ((n as f64) * args.scale).round() as usize;
        n.max(10)
    };
    let step = Duration::from_secs(args.step_seconds);
    let started = Instant::now();
    let mut targets = Vec::new();
    let kinds: Vec<Kind> =
        [("parley", Kind::Parley), ("node", Kind::Reference), ("floor", Kind::Floor)]
            .into_iter()
            .filter(|(name, _)| args.servers.iter().any(|s| s == name))
            .map(|(_, kind)| kind)
            .collect();
    let wanted = |name: &str| args.scenarios.iter().any(|s| s == name);
    if !["fanout", "rooms", "idle", "storm"].into_iter().all(wanted) || kinds.len() < 3 {
        // A partial run (while working on one number): JSON only, the report needs all three.
        let mut partial = serde_json::Map::new();
        for &kind in &kinds {
            let mut one = serde_json::Map::new();
            if wanted("fanout") {
                let r = fan_out(kind, &programs, scaled(1_000), step).await?;
                one.insert("fanout".into(), serde_json::to_value(r)?);
            }
            if wanted("rooms") {
                let r = many_rooms(kind, &programs, scaled(5_000), 10).await?;
                one.insert("rooms".into(), serde_json::to_value(r)?);
            }
            if wanted("idle") {
                let r = idle(kind, &programs, scaled(15_000)).await?;
                one.insert("idle".into(), serde_json::to_value(r)?);
            }
            if wanted("storm") {
                let r = storm(kind, &programs, scaled(5_000), 10).await?;
                one.insert("storm".into(), serde_json::to_value(r)?);
            }
            partial.insert(kind.label().to_owned(), one.into());
        }
        let text = serde_json::to_string_pretty(&partial)?;
        std::fs::write(args.out.join("partial.json"), &text)?;
        #[allow(clippy::print_stdout)]
        {
            println!("{text}");
        }
        return Ok(());
    }
    for &kind in &kinds {
        let fanout = fan_out(kind, &programs, scaled(1_000), step).await?;
        let rooms = many_rooms(kind, &programs, scaled(5_000), 10).await?;
        let idle = idle(kind, &programs, scaled(15_000)).await?;
        let storm = storm(kind, &programs, scaled(5_000), 10).await?;
        targets.push(TargetResults { name: kind.label().to_owned(), fanout, rooms, idle, storm });
    }
    let browser = match &args.browser {
        Some(path) if path.exists() => Some(serde_json::from_str(
            &std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?,
        )?),
        _ => None,
    };
    let results = report::Results {
        machine: report::Machine::this(),
        reference: format!(
            "node {} / socket.io {}",
            servers::node_version(),
            servers::socket_io_version(&args.reference)
        ),
        scale: args.scale,
        seconds: started.elapsed().as_secs(),
        server_cpus: args.server_cpus.clone(),
        targets,
        browser,
    };
    report::write(&results, &args.out, args.docs.as_deref())?;
    Ok(())
}

fn progress(len: usize, what: String) -> ProgressBar {
    let bar = ProgressBar::new(len as u64).with_message(what);
    bar.set_style(
        ProgressStyle::with_template("{msg:40} [{bar:30}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// Signs `people` in (Parley guests; nothing for the reference).
async fn identities(server: &Server, prefix: &str, people: usize) -> Result<Vec<Identity>> {
    let http = reqwest::Client::new();
    let bar = progress(people, format!("{} {prefix}: sign in", server.kind.label()));
    let names: Vec<String> = (0..people).map(|i| format!("{prefix}{i}")).collect();
    let joined: Vec<Result<Identity>> = stream::iter(names.iter())
        .map(|name| {
            let (http, bar) = (&http, &bar);
            async move {
                let identity = Identity::join(http, server, name).await;
                bar.inc(1);
                identity
            }
        })
        .buffered(CONNECTING)
        .collect()
        .await;
    bar.finish();
    joined.into_iter().collect()
}

/// Connects one client per `(identity, room)`, `CONNECTING` at a time; returns the clients,
/// the connects per second and how many failed.
async fn connect_all(
    server: &Server,
    probe: &Arc<Probe>,
    plan: &[(&Identity, String)],
    what: &str,
) -> (Vec<Chatter>, f64, u64) {
    let bar = progress(plan.len(), format!("{} {what}: connect", server.kind.label()));
    let started = Instant::now();
    let results: Vec<Result<Chatter>> = stream::iter(plan.iter())
        .map(|(identity, room)| {
            let bar = &bar;
            async move {
                let chatter = Chatter::connect(server, identity, room, probe).await;
                bar.inc(1);
                chatter
            }
        })
        .buffered(CONNECTING)
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    bar.finish();
    let mut failed = 0;
    let mut chatters = Vec::with_capacity(results.len());
    for result in results {
        match result {
            Ok(c) => chatters.push(c),
            Err(e) => {
                failed += 1;
                if failed <= 3 {
                    eprintln!("connect failed: {e:#}");
                }
            }
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let rate = chatters.len() as f64 / elapsed.max(1e-9);
    (chatters, rate, failed)
}

/// Waits until the server has finished the work that connecting set off (on Parley, telling
/// everyone of each arrival), so a measurement starts on a quiet server: until it uses under
/// 5% of a core over half a second, for at most [`SETTLE_MAX`]. Returns the seconds waited.
async fn settle(server: &Server) -> f64 {
    let started = Instant::now();
    let window = Duration::from_millis(500);
    while started.elapsed() < SETTLE_MAX {
        let before = server.cpu_ms().unwrap_or_default();
        tokio::time::sleep(window).await;
        let used = server.cpu_ms().unwrap_or_default() - before;
        if used < 0.05 * window.as_secs_f64() * 1000.0 {
            break;
        }
    }
    started.elapsed().as_secs_f64()
}

/// Sends at `rate` for `duration`, waits for the copies, and reads the window.
async fn measure(
    server: &Server,
    senders: &[&Chatter],
    probe: &Arc<Probe>,
    rate: f64,
    duration: Duration,
    copies_per_message: u64,
) -> Step {
    let _ = probe.take();
    let generator_cpu = || servers::process_cpu_ms("self").unwrap_or_default();
    let cpu_before = server.cpu_ms().unwrap_or_default();
    let generator_before = generator_cpu();
    let started = Instant::now();
    let sent = send_at(senders, probe, MESSAGE_BYTES, rate, duration).await;
    let sending_ms = started.elapsed().as_secs_f64() * 1000.0;
    let server_busy = (server.cpu_ms().unwrap_or_default() - cpu_before) / sending_ms;
    let generator_busy = (generator_cpu() - generator_before) / sending_ms;
    tokio::time::sleep(DRAIN).await;
    let window = probe.take();
    let server_cpu_ms = server.cpu_ms().unwrap_or_default() - cpu_before;
    #[allow(clippy::cast_precision_loss)]
    let deliveries_per_s = window.delivered as f64 / duration.as_secs_f64();
    Step {
        rate,
        sent,
        expected: sent * copies_per_message,
        delivered: window.delivered,
        deliveries_per_s,
        errors: sent.saturating_sub(window.acked),
        latency: Latency::of(&window.latency_us),
        server_cpu_ms,
        server_busy,
        generator_busy,
    }
}

async fn close_all(chatters: Vec<Chatter>) {
    stream::iter(chatters).for_each_concurrent(CONNECTING, Chatter::close).await;
}

/// Scenario 1: one room of `clients`, the send rate stepped up until p99 passes the limit.
async fn fan_out(
    kind: Kind,
    programs: &Programs,
    clients: usize,
    step: Duration,
) -> Result<FanOut> {
    let server = Server::start(kind, programs, "fanout").await?;
    let probe = Probe::new();
    let people = identities(&server, "fan", clients).await?;
    let plan: Vec<_> = people.iter().map(|p| (p, "lobby".to_owned())).collect();
    let (chatters, connect_per_s, connect_errors) =
        connect_all(&server, &probe, &plan, "fan-out").await;
    let settle_s = settle(&server).await;
    let copies = chatters.len() as u64;
    let senders: Vec<&Chatter> = chatters.iter().take(10).collect();
    let _ = measure(&server, &senders, &probe, FANOUT_RATES[0], WARM_UP, copies).await;
    let profile = server.profile(programs.perf.as_deref(), "fanout")?;
    let mut steps = Vec::new();
    let bar = progress(FANOUT_RATES.len(), format!("{} fan-out: steps", kind.label()));
    for rate in FANOUT_RATES {
        let result = measure(&server, &senders, &probe, rate, step, copies).await;
        bar.inc(1);
        let holds = result.holds(P99_LIMIT_MS);
        steps.push(result);
        if !holds {
            break;
        }
    }
    // The doubling steps bracket the limit; halve the bracket twice to find it more closely
    // (a server that holds 80/s but not 120/s may hold 110/s).
    if let [.., held, failed] = steps.as_slice()
        && held.holds(P99_LIMIT_MS)
        && !failed.holds(P99_LIMIT_MS)
    {
        let (mut low, mut high) = (held.rate, failed.rate);
        for _ in 0..REFINE_STEPS {
            let rate = f64::midpoint(low, high).round();
            if rate <= low || rate >= high {
                break;
            }
            // Let the failed step's backlog clear first.
            tokio::time::sleep(BACKLOG_CLEAR).await;
            let result = measure(&server, &senders, &probe, rate, step, copies).await;
            if result.holds(P99_LIMIT_MS) {
                low = rate;
            } else {
                high = rate;
            }
            steps.push(result);
        }
        steps.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    }
    bar.finish();
    let peak = steps
        .iter()
        .filter(|s| s.holds(P99_LIMIT_MS))
        .max_by(|a, b| a.deliveries_per_s.total_cmp(&b.deliveries_per_s))
        .cloned();
    // Let a backlog from the failed step clear before measuring again.
    tokio::time::sleep(BACKLOG_CLEAR).await;
    let half = match &peak {
        Some(peak) => Some(measure(&server, &senders, &probe, peak.rate / 2.0, step, copies).await),
        None => None,
    };
    drop(profile);
    drop(senders);
    close_all(chatters).await;
    Ok(FanOut { clients, connect_per_s, connect_errors, settle_s, steps, peak, half })
}

/// Connects `per_room` tabs for each of `people`, each person's room a room of its own: the
/// first tab creates it (Parley) or names it in its query (the others); later tabs of a Parley
/// guest start in their person's rooms, so they talk where the first one created. Returns the
/// first tabs (the senders), the rest, connects/s and failed connects.
async fn rooms_setup(
    server: &Server,
    probe: &Arc<Probe>,
    people: &[Identity],
    per_room: usize,
) -> Result<(Vec<Chatter>, Vec<Chatter>, f64, u64)> {
    let started = Instant::now();
    let firsts: Vec<_> = people.iter().enumerate().map(|(i, p)| (p, format!("r{i}"))).collect();
    let (mut firsts, _, mut connect_errors) = connect_all(server, probe, &firsts, "rooms").await;
    if server.kind == Kind::Parley {
        for (i, first) in firsts.iter_mut().enumerate() {
            first.create_room(&format!("bench-{i}")).await?;
        }
    }
    let rest: Vec<_> = firsts
        .iter()
        .zip(people)
        .flat_map(|(first, p)| (1..per_room).map(move |_| (p, first.room().to_owned())))
        .collect();
    let (rest, _, failed) = connect_all(server, probe, &rest, "rooms").await;
    connect_errors += failed;
    #[allow(clippy::cast_precision_loss)]
    let connect_per_s = (firsts.len() + rest.len()) as f64 / started.elapsed().as_secs_f64();
    Ok((firsts, rest, connect_per_s, connect_errors))
}

/// Scenario 2: `clients` in rooms of `per_room`, one message per room per second. On Parley each
/// room belongs to one guest whose `per_room` tabs are its members (a person per client would
/// make the set-up, not the chat, the measurement: everyone is told of every arrival).
async fn many_rooms(
    kind: Kind,
    programs: &Programs,
    clients: usize,
    per_room: usize,
) -> Result<Rooms> {
    let server = Server::start(kind, programs, "rooms").await?;
    let probe = Probe::new();
    let rooms = clients / per_room;
    let people = identities(&server, "room", rooms).await?;
    let profile = server.profile(programs.perf.as_deref(), "rooms-connect")?;
    let (firsts, rest, connect_per_s, connect_errors) =
        rooms_setup(&server, &probe, &people, per_room).await?;
    drop(profile);
    let settle_s = settle(&server).await;
    let senders: Vec<&Chatter> = firsts.iter().collect();
    #[allow(clippy::cast_precision_loss)]
    let _ = measure(&server, &senders, &probe, rooms as f64, WARM_UP, per_room as u64).await;
    let profile = server.profile(programs.perf.as_deref(), "rooms-send")?;
    #[allow(clippy::cast_precision_loss)]
    let step =
        measure(&server, &senders, &probe, rooms as f64, Duration::from_secs(10), per_room as u64)
            .await;
    drop(profile);
    drop(senders);
    close_all(firsts).await;
    close_all(rest).await;
    Ok(Rooms { clients, rooms, connect_per_s, connect_errors, settle_s, step })
}

/// Scenario 3: `clients` idle connections; the server's RSS growth per connection. On Parley
/// they are 100 tabs each of `clients / 100` guests (see [`many_rooms`] on why not one each).
async fn idle(kind: Kind, programs: &Programs, clients: usize) -> Result<Idle> {
    let server = Server::start(kind, programs, "idle").await?;
    let probe = Probe::new();
    let tabs = 100.min(clients);
    let people = identities(&server, "idle", clients.div_ceil(tabs)).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before_kib = server.rss_kib()?;
    let plan: Vec<_> = people
        .iter()
        .flat_map(|p| std::iter::repeat_n(p, tabs))
        .take(clients)
        .map(|p| (p, "lobby".to_owned()))
        .collect();
    let profile = server.profile(programs.perf.as_deref(), "idle-connect")?;
    let (chatters, connect_per_s, connect_errors) =
        connect_all(&server, &probe, &plan, "idle").await;
    drop(profile);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after_kib = server.rss_kib()?;
    let held = chatters.len();
    close_all(chatters).await;
    #[allow(clippy::cast_precision_loss)]
    let per_connection_kib =
        rss_after_kib.saturating_sub(rss_before_kib) as f64 / held.max(1) as f64;
    Ok(Idle {
        clients,
        held,
        connect_per_s,
        connect_errors,
        rss_before_kib,
        rss_after_kib,
        per_connection_kib,
    })
}

/// Scenario 4, the reconnect storm: the many-rooms layout (`clients` in rooms of `per_room`)
/// with one acknowledged message per room; then the server is killed (SIGKILL) and started
/// again, and every client reconnects at once (retrying every 50 ms while it is down) and
/// resumes: on Parley it asks `message:sync` for its room from before the last acknowledged
/// message and checks that message came back. Meanwhile each room whose first tab is back sends
/// one message a second, timed as in the other scenarios.
async fn storm(kind: Kind, programs: &Programs, clients: usize, per_room: usize) -> Result<Storm> {
    let mut server = Server::start(kind, programs, "storm").await?;
    let probe = Probe::new();
    let rooms = clients / per_room;
    let people = identities(&server, "storm", rooms).await?;
    let (firsts, rest, _, _) = rooms_setup(&server, &probe, &people, per_room).await?;
    settle(&server).await;
    let acked: Vec<Option<(u64, String)>> = stream::iter(&firsts)
        .map(|first| async { first.send_acked(&probe, MESSAGE_BYTES).await.ok().flatten() })
        .buffered(CONNECTING)
        .collect()
        .await;
    let acked_before = acked.iter().filter(|a| a.is_some()).count() as u64;
    let room_ids: Vec<String> = firsts.iter().map(|f| f.room().to_owned()).collect();
    // Tabs of room i: the first, then the rest in order (rooms_setup's layout).
    let plan: Vec<(usize, usize)> = (0..firsts.len())
        .map(|i| (i, 0))
        .chain((0..firsts.len()).flat_map(|i| (1..per_room).map(move |t| (i, t))))
        .collect();

    server.crash_and_restart(programs)?;
    let crashed = Instant::now();
    // The old connections are dead; let them go.
    drop(firsts);
    drop(rest);
    let _ = probe.take();

    let back: Arc<Vec<OnceLock<Chatter>>> =
        Arc::new((0..room_ids.len()).map(|_| OnceLock::new()).collect());
    let done = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let sender = {
        let (back, done, sent, probe) =
            (Arc::clone(&back), Arc::clone(&done), Arc::clone(&sent), Arc::clone(&probe));
        tokio::spawn(async move {
            #[allow(clippy::cast_precision_loss)]
            let gap = Duration::from_secs_f64(1.0 / back.len().max(1) as f64);
            let mut tick = tokio::time::interval(gap);
            let mut next = 0usize;
            while !done.load(Ordering::Relaxed) {
                tick.tick().await;
                if let Some(first) = back[next % back.len()].get() {
                    first.send(&probe, MESSAGE_BYTES);
                    sent.fetch_add(1, Ordering::Relaxed);
                }
                next += 1;
            }
        })
    };
    let first_back = OnceLock::new();
    let missing = AtomicU64::new(0);
    let bar = progress(plan.len(), format!("{} storm: reconnect", kind.label()));
    let outcomes: Vec<Option<(Option<Chatter>, Duration)>> = stream::iter(&plan)
        .map(|&(room, tab)| {
            let (server, probe, people, room_ids, acked) =
                (&server, &probe, &people, &room_ids, &acked);
            let (back, first_back, missing, bar) = (&back, &first_back, &missing, &bar);
            async move {
                let chatter = loop {
                    match Chatter::connect(server, &people[room], &room_ids[room], probe).await {
                        Ok(chatter) => break chatter,
                        Err(_) if crashed.elapsed() < STORM_LIMIT => {
                            tokio::time::sleep(STORM_RETRY).await
                        }
                        Err(_) => return None,
                    }
                };
                let _ = first_back.set(crashed.elapsed());
                if kind == Kind::Parley
                    && let Some((rev, id)) = &acked[room]
                    && !chatter.resume(*rev, id).await.unwrap_or(false)
                {
                    missing.fetch_add(1, Ordering::Relaxed);
                }
                let at = crashed.elapsed();
                bar.inc(1);
                if tab == 0 {
                    let _ = back[room].set(chatter);
                    Some((None, at))
                } else {
                    Some((Some(chatter), at))
                }
            }
        })
        .buffer_unordered(STORM_IN_FLIGHT)
        .collect()
        .await;
    bar.finish();
    let all_resumed = outcomes.iter().flatten().map(|(_, at)| *at).max().unwrap_or_default();
    let resumed = outcomes.iter().flatten().count();
    let failed = (plan.len() - resumed) as u64;
    done.store(true, Ordering::Relaxed);
    let _ = sender.await;
    tokio::time::sleep(DRAIN).await;
    let window = probe.take();
    let sent_during = sent.load(Ordering::Relaxed);
    let rest: Vec<Chatter> = outcomes.into_iter().flatten().filter_map(|(c, _)| c).collect();
    close_all(rest).await;
    if let Ok(back) = Arc::try_unwrap(back) {
        close_all(back.into_iter().filter_map(OnceLock::into_inner).collect()).await;
    }
    Ok(Storm {
        clients: plan.len(),
        rooms: room_ids.len(),
        acked_before,
        first_back_s: first_back.get().copied().unwrap_or_default().as_secs_f64(),
        all_resumed_s: all_resumed.as_secs_f64(),
        resumed,
        failed,
        missing: missing.load(Ordering::Relaxed),
        sent_during,
        errors_during: sent_during.saturating_sub(window.acked),
        latency: Latency::of(&window.latency_us),
    })
}
