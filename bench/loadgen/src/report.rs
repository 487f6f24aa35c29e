//! Results: JSON for tools, a Markdown table for people (also spliced into
//! `docs/BENCHMARKS.md`), and an SVG plot of the fan-out steps.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use plotters::prelude::*;
use serde::Serialize;
use serde_json::Value;

/// Send→deliver latency of one window, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Self {
        #[allow(clippy::cast_precision_loss)]
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }
}

/// One constant-rate window.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Messages sent per second.
    pub rate: f64,
    pub sent: u64,
    /// Copies that should arrive (sent × clients in the room).
    pub expected: u64,
    pub delivered: u64,
    pub deliveries_per_s: f64,
    /// Sends not acknowledged (refused or no ack within 10 s).
    pub errors: u64,
    pub latency: Latency,
    /// CPU time the server process used (user + system, all threads) from the first send
    /// until the copies had arrived: what the work cost the server, whatever the generator did.
    pub server_cpu_ms: f64,
    /// Share of one core the server used while the messages were being sent (1.0 = one core
    /// busy all the time): near 1.0 on a pinned server, the server is the limit.
    pub server_busy: f64,
    /// The same for the generator's own process: near 1.0 on a pinned generator, the generator
    /// is the limit and the step says nothing about the server.
    pub generator_busy: f64,
}

impl Step {
    /// Server CPU per delivered copy, in microseconds.
    pub fn cpu_us_per_delivery(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let delivered = self.delivered.max(1) as f64;
        self.server_cpu_ms * 1000.0 / delivered
    }
}

/// Reconnects the storm scenario keeps in flight at once (see `main.rs`).
pub const STORM_IN_FLIGHT: usize = 1000;

/// A fan-out step "holds" if p99 stays within this many ms and (nearly) every copy arrived.
pub const P99_LIMIT_MS: f64 = 100.0;

impl Step {
    /// Whether the server kept up: p99 within `p99_limit_ms` and at least 99% of the copies.
    pub fn holds(&self, p99_limit_ms: f64) -> bool {
        self.latency.p99_ms <= p99_limit_ms && self.delivered * 100 >= self.expected * 99
    }
}

#[derive(Debug, Serialize)]
pub struct FanOut {
    pub clients: usize,
    pub connect_per_s: f64,
    pub connect_errors: u64,
    /// Seconds the server stayed busy after the last client connected (see `settle`).
    pub settle_s: f64,
    pub steps: Vec<Step>,
    /// The step with the most deliveries/s that still held.
    pub peak: Option<Step>,
    /// At half the peak's send rate.
    pub half: Option<Step>,
}

#[derive(Debug, Serialize)]
pub struct Rooms {
    pub clients: usize,
    pub rooms: usize,
    pub connect_per_s: f64,
    pub connect_errors: u64,
    /// Seconds the server stayed busy after the last client connected.
    pub settle_s: f64,
    pub step: Step,
}

#[derive(Debug, Serialize)]
pub struct Idle {
    pub clients: usize,
    pub held: usize,
    pub connect_per_s: f64,
    pub connect_errors: u64,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub per_connection_kib: f64,
}

/// The reconnect storm: everyone in the many-rooms layout loses the server at once.
#[derive(Debug, Serialize)]
pub struct Storm {
    pub clients: usize,
    pub rooms: usize,
    /// Messages acknowledged just before the crash (one per room).
    pub acked_before: u64,
    /// From the kill until the first client was connected again (the server's restart).
    pub first_back_s: f64,
    /// From the kill until every client had reconnected and resumed.
    pub all_resumed_s: f64,
    pub resumed: usize,
    /// Clients that could not reconnect within the storm's limit.
    pub failed: u64,
    /// Acknowledged-before-the-crash messages a resuming client did not get back (Parley; the
    /// others keep nothing, so nothing is checked there).
    pub missing: u64,
    /// Sent during the storm by rooms whose first tab was back (one per room per second).
    pub sent_during: u64,
    pub errors_during: u64,
    /// Send→deliver latency of the copies delivered during the storm.
    pub latency: Latency,
}

#[derive(Debug, Serialize)]
pub struct TargetResults {
    pub name: String,
    pub fanout: FanOut,
    pub rooms: Rooms,
    pub idle: Idle,
    pub storm: Storm,
}

/// What the run ran on.
#[derive(Debug, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub date: String,
}

impl Machine {
    pub fn this() -> Self {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpu = read("/proc/cpuinfo")
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        #[allow(clippy::cast_precision_loss)]
        let memory_gib = read("/proc/meminfo")
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0.0, |kib| kib as f64 / 1024.0 / 1024.0);
        let date = std::process::Command::new("date")
            .args(["-u", "+%Y-%m-%d %H:%M UTC"])
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|d| d.trim().to_owned())
            .unwrap_or_default();
        Self {
            cpu,
            // The machine's processors, not this process's share (the generator may be pinned).
            cores: std::fs::read_to_string("/proc/cpuinfo")
                .map(|c| c.lines().filter(|l| l.starts_with("processor")).count())
                .ok()
                .filter(|&n| n > 0)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(0, usize::from)),
            memory_gib,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
            date,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Results {
    pub machine: Machine,
    pub reference: String,
    pub scale: f64,
    pub seconds: u64,
    /// CPUs the servers were pinned to (the generator ran on the others), if pinned.
    pub server_cpus: Option<String>,
    pub targets: Vec<TargetResults>,
    /// Written by `end2end/bench/first-load.spec.ts`.
    pub browser: Option<Value>,
}

/// Writes `results.json`, `results.md` and `fanout.svg` into `out`, prints the Markdown, and
/// replaces the results section of `docs` if given.
pub fn write(results: &Results, out: &Path, docs: Option<&Path>) -> Result<()> {
    std::fs::write(out.join("results.json"), serde_json::to_string_pretty(results)?)?;
    plot(results, &out.join("fanout.svg"))?;
    let markdown = markdown(results);
    std::fs::write(out.join("results.md"), &markdown)?;
    #[allow(clippy::print_stdout)]
    {
        println!("\n{markdown}");
    }
    if let Some(docs) = docs {
        let text =
            std::fs::read_to_string(docs).with_context(|| format!("read {}", docs.display()))?;
        let (start, end) = ("<!-- results:start -->", "<!-- results:end -->");
        let (Some(a), Some(b)) = (text.find(start), text.find(end)) else {
            anyhow::bail!("{} has no {start} … {end} section", docs.display());
        };
        let spliced = format!("{}{start}\n{markdown}\n{}", &text[..a], &text[b..]);
        std::fs::write(docs, spliced)?;
        if let Some(dir) = docs.parent() {
            std::fs::copy(out.join("fanout.svg"), dir.join("benchmarks-fanout.svg"))?;
        }
    }
    Ok(())
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 { format!("{:.2}×", a / b) } else { "–".to_owned() }
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

fn markdown(r: &Results) -> String {
    let mut s = String::new();
    let m = &r.machine;
    let _ = writeln!(
        s,
        "Run {} on {} ({} cores, {:.0} GiB, Linux {}); reference: {}; scale {}; took {} s. {}\n",
        m.date,
        m.cpu,
        m.cores,
        m.memory_gib,
        m.kernel,
        r.reference,
        r.scale,
        r.seconds,
        match &r.server_cpus {
            Some(cpus) =>
                format!("Each server ran pinned to CPUs {cpus}, the generator on the other cores."),
            None => "The generator shared the cores with the server under test.".to_owned(),
        }
    );
    let (Some(parley), Some(node), Some(floor)) =
        (r.targets.first(), r.targets.get(1), r.targets.get(2))
    else {
        return s;
    };
    let all = [parley, node, floor];
    let browser = |key: &str| r.browser.as_ref().and_then(|b| b.get(key)).and_then(Value::as_f64);
    let common = common_cpu(&all);

    s.push_str(
        "### Targets\n\n| target | goal | Parley | Node socket.io | Rust floor | Parley ÷ Node | \
         Parley ÷ floor | |\n|---|---|---|---|---|---|---|---|\n",
    );
    // (what, goal, the three values, unit, the largest Parley ÷ Node that meets the goal, or
    // the smallest for a "more is better" measure).
    let mut target = |what: &str, goal: &str, v: [Option<f64>; 3], unit: &str, goal_ratio: f64| {
        let fmt = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.1}{unit}"));
        let met = match (v[0], v[1]) {
            (Some(p), Some(n)) if goal_ratio >= 0.0 => Some(p <= goal_ratio * n),
            (Some(p), Some(n)) => Some(p >= -goal_ratio * n),
            _ => None,
        };
        let _ = writeln!(
            s,
            "| {what} | {goal} | {} | {} | {} | {} | {} | {} |",
            fmt(v[0]),
            fmt(v[1]),
            fmt(v[2]),
            ratio_of(v[0], v[1]),
            ratio_of(v[0], v[2]),
            verdict(met)
        );
    };
    let rooms_cpu = all.map(|t| Some(t.rooms.step.cpu_us_per_delivery()));
    target("many rooms: server CPU per delivered copy", "≤ 0.75× Node", rooms_cpu, " µs", 0.75);
    let rooms_p99 = all.map(|t| Some(t.rooms.step.latency.p99_ms));
    target("many rooms: p99 send→deliver", "≤ Node", rooms_p99, " ms", 1.0);
    // Latency at the same load for all three: half of the lowest peak, down to a stepped rate
    // every server ran (each server's own half-peak run is in the fan-out table).
    let lowest_peak = all
        .iter()
        .filter_map(|t| t.fanout.peak.as_ref().map(|p| p.rate))
        .fold(f64::INFINITY, f64::min);
    let same_rate = all[0]
        .fanout
        .steps
        .iter()
        .map(|st| st.rate)
        .filter(|&rate| rate <= lowest_peak / 2.0)
        .filter(|&rate| all.iter().all(|t| t.fanout.steps.iter().any(|st| st.rate == rate)))
        .fold(None, |best: Option<f64>, rate| Some(best.map_or(rate, |b| b.max(rate))));
    let at_rate = |t: &TargetResults, f: fn(&Latency) -> f64| {
        let rate = same_rate?;
        t.fanout.steps.iter().find(|st| st.rate == rate).map(|st| f(&st.latency))
    };
    let rate_text = same_rate.map_or("–".to_owned(), |r| format!("{r:.0}"));
    let what = format!("fan-out: p50 at {rate_text} msgs/s (half of the lowest peak)");
    target(&what, "≤ Node", all.map(|t| at_rate(t, |l| l.p50_ms)), " ms", 1.0);
    let what = format!("fan-out: p99 at {rate_text} msgs/s");
    target(&what, "≤ Node", all.map(|t| at_rate(t, |l| l.p99_ms)), " ms", 1.0);
    target(
        "fan-out: server CPU per delivered copy (rates all three held)",
        "≤ 0.7× Node",
        common.each_ref().map(|c| c.as_ref().map(|(mean, _)| *mean)),
        " µs",
        0.7,
    );
    let peak = all.map(|t| t.fanout.peak.as_ref().map(|p| p.deliveries_per_s));
    target("fan-out: peak deliveries/s (p99 ≤ 100 ms)", "≥ Node", peak, "", -1.0);
    let connects = all.map(|t| Some(t.fanout.connect_per_s));
    target("connections set up per second (fresh people)", "≥ Node", connects, "", -1.0);
    let idle_connects = all.map(|t| Some(t.idle.connect_per_s));
    target("connections set up per second (tabs of 150 people)", "≥ Node", idle_connects, "", -1.0);
    let storm = all.map(|t| Some(t.storm.all_resumed_s));
    let what =
        format!("reconnect storm: kill → all {} reconnected and resumed", parley.storm.clients);
    target(&what, "≤ Node", storm, " s", 1.0);
    let storm_p99 = all.map(|t| Some(t.storm.latency.p99_ms));
    target("reconnect storm: p99 send→deliver meanwhile", "≤ Node", storm_p99, " ms", 1.0);
    let rss = all.map(|t| Some(t.idle.per_connection_kib));
    let what = format!("RSS per idle connection ({} held)", parley.idle.held);
    target(&what, "≤ Node", rss, " KiB", 1.0);
    let _ = writeln!(
        s,
        "| reconnect storm: acknowledged before the kill, missing after | 0 | {} of {} | – | – | | | {} |",
        parley.storm.missing,
        parley.storm.acked_before,
        verdict(Some(parley.storm.missing == 0 && parley.storm.failed == 0))
    );
    let kb = browser("totalCompressedBytes").map(|b| b / 1000.0);
    let _ = writeln!(
        s,
        "| first load, compressed wasm + js + css | ≤ 200 KB | {} | | | | | {} |",
        kb.map_or("–".to_owned(), |v| format!("{v:.0} KB")),
        verdict(kb.map(|v| v <= 200.0))
    );
    let fmt_ms = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.1} ms"));
    let _ = writeln!(
        s,
        "| interactive after navigation (loopback) | ≤ 500 ms | {} | | | | | {} |",
        fmt_ms(browser("interactiveMs")),
        verdict(browser("interactiveMs").map(|v| v <= 500.0))
    );
    if let Some((_, rates)) = &common[0] {
        let _ = writeln!(
            s,
            "\nFan-out CPU per copy is the mean over the send rates every server held ({rates}), \
             so each server is weighed at the same load."
        );
    }

    s.push_str("\n### Fan-out: 1 KB messages into one room\n\n");
    let _ = writeln!(
        s,
        "{} clients. After the last connect each server stayed busy for {:.1} s (Parley), {:.1} s \
         (Node) and {:.1} s (floor); steps start on a quiet server. Failed connects: {}, {}, {}.\n",
        parley.fanout.clients,
        parley.fanout.settle_s,
        node.fanout.settle_s,
        floor.fanout.settle_s,
        parley.fanout.connect_errors,
        node.fanout.connect_errors,
        floor.fanout.connect_errors,
    );
    s.push_str("| server | msgs/s sent | deliveries/s | delivered | p50 | p90 | p99 | max | errors | server CPU µs/copy | server busy | generator busy |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for t in all {
        for step in t.fanout.steps.iter().chain(t.fanout.half.iter()) {
            let _ = writeln!(
                s,
                "| {} | {:.0} | {:.0} | {}/{} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {:.1} | {:.0}% | {:.0}% |",
                t.name,
                step.rate,
                step.deliveries_per_s,
                step.delivered,
                step.expected,
                step.latency.p50_ms,
                step.latency.p90_ms,
                step.latency.p99_ms,
                step.latency.max_ms,
                step.errors,
                step.cpu_us_per_delivery(),
                step.server_busy * 100.0,
                step.generator_busy * 100.0
            );
        }
    }
    s.push_str(
        "\nLatencies in ms. Each server's last row is the run at half its peak rate. Busy: the \
         share of one core each process used while the messages were sent (on a pinned run, \
         near 100% means that process was the limit).\n",
    );

    s.push_str(
        "\n### Many rooms and idle connections\n\n| | Parley | Node socket.io | Rust floor | \
         Parley ÷ Node | Parley ÷ floor |\n|---|---|---|---|---|---|\n",
    );
    let rows: [Row<TargetResults, f64>; 11] = [
        ("rooms: deliveries/s", |t| t.rooms.step.deliveries_per_s),
        ("rooms: p50 ms", |t| t.rooms.step.latency.p50_ms),
        ("rooms: p99 ms", |t| t.rooms.step.latency.p99_ms),
        ("rooms: server CPU µs per copy", |t| t.rooms.step.cpu_us_per_delivery()),
        ("rooms: server busy, % of a core", |t| t.rooms.step.server_busy * 100.0),
        ("rooms: generator busy, % of a core", |t| t.rooms.step.generator_busy * 100.0),
        ("rooms: connects/s", |t| t.rooms.connect_per_s),
        ("rooms: busy after connecting, s", |t| t.rooms.settle_s),
        ("idle: connects/s", |t| t.idle.connect_per_s),
        ("idle: RSS per connection KiB", |t| t.idle.per_connection_kib),
        ("idle: RSS total MiB", |t| kib_to_mib(t.idle.rss_after_kib)),
    ];
    for (what, value) in rows {
        let [a, b, c] = all.map(value);
        let _ = writeln!(
            s,
            "| {what} | {a:.1} | {b:.1} | {c:.1} | {} | {} |",
            ratio(a, b),
            ratio(a, c)
        );
    }
    let _ = writeln!(
        s,
        "\nRooms: {} clients in {} rooms, one message per room per second for 10 s; delivered \
         {}/{} (Parley), {}/{} (Node), {}/{} (floor). Idle: {} of {} connections held (Parley), \
         {} (Node), {} (floor).",
        parley.rooms.clients,
        parley.rooms.rooms,
        parley.rooms.step.delivered,
        parley.rooms.step.expected,
        node.rooms.step.delivered,
        node.rooms.step.expected,
        floor.rooms.step.delivered,
        floor.rooms.step.expected,
        parley.idle.held,
        parley.idle.clients,
        node.idle.held,
        floor.idle.held,
    );
    s.push_str(
        "\n### Reconnect storm\n\n| | Parley | Node socket.io | Rust floor |\n|---|---|---|---|\n",
    );
    let rows: [Row<Storm, String>; 8] = [
        ("kill → first client back, s", |st| format!("{:.2}", st.first_back_s)),
        ("kill → every client reconnected and resumed, s", |st| {
            format!("{:.2}", st.all_resumed_s)
        }),
        ("clients resumed / failed", |st| format!("{} / {}", st.resumed, st.failed)),
        ("acknowledged before the kill / missing after", |st| {
            format!("{} / {}", st.acked_before, st.missing)
        }),
        ("sent meanwhile / unacknowledged", |st| {
            format!("{} / {}", st.sent_during, st.errors_during)
        }),
        ("p50 send→deliver meanwhile, ms", |st| format!("{:.1}", st.latency.p50_ms)),
        ("p99 send→deliver meanwhile, ms", |st| format!("{:.1}", st.latency.p99_ms)),
        ("max send→deliver meanwhile, ms", |st| format!("{:.1}", st.latency.max_ms)),
    ];
    for (what, value) in rows {
        let [a, b, c] = all.map(|t| value(&t.storm));
        let _ = writeln!(s, "| {what} | {a} | {b} | {c} |");
    }
    let _ = writeln!(
        s,
        "\n{} clients in {} rooms; one acknowledged message per room, then the server is killed \
         (SIGKILL) and started again on its port and data. Every client retries every 50 ms \
         ({STORM_IN_FLIGHT} at once) until it is back; a Parley client then resumes its room \
         with `message:sync` from before the acknowledged message and checks it came back (the \
         others store nothing: they only reconnect). Meanwhile each room whose first tab is back \
         sends one message a second.",
        parley.storm.clients, parley.storm.rooms,
    );
    if let Some(b) = &r.browser {
        let _ = writeln!(s, "\nBrowser (release build, Chromium): `{b}`");
    }
    s.push_str("\n![fan-out latency](benchmarks-fanout.svg)\n");
    s
}

/// A table row: its label and how to read its value off one server's results.
type Row<T, V> = (&'static str, fn(&T) -> V);

fn ratio_of(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => ratio(a, b),
        _ => "–".to_owned(),
    }
}

/// Each server's mean CPU per delivered copy over the fan-out rates that every server held, and
/// those rates as text: comparing each over its own held steps would weigh a server that held
/// more (cheaper per copy at higher rates, where fixed costs spread) differently.
fn common_cpu(all: &[&TargetResults; 3]) -> [Option<(f64, String)>; 3] {
    let held = |t: &TargetResults, rate: f64| {
        t.fanout.steps.iter().find(|st| st.rate == rate && st.holds(P99_LIMIT_MS)).cloned()
    };
    let rates: Vec<f64> = all[0]
        .fanout
        .steps
        .iter()
        .map(|st| st.rate)
        .filter(|&rate| all.iter().all(|t| held(t, rate).is_some()))
        .collect();
    if rates.is_empty() {
        return [None, None, None];
    }
    let listed = rates.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(", ") + " msgs/s";
    all.map(|t| {
        let costs: Vec<f64> = rates
            .iter()
            .filter_map(|&rate| held(t, rate))
            .map(|st| st.cpu_us_per_delivery())
            .collect();
        #[allow(clippy::cast_precision_loss)]
        let mean = costs.iter().sum::<f64>() / costs.len().max(1) as f64;
        Some((mean, listed.clone()))
    })
}

#[allow(clippy::cast_precision_loss)]
fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// p99 against deliveries/s for each server's fan-out steps.
fn plot(r: &Results, path: &Path) -> Result<()> {
    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let steps = |i: usize| r.targets.get(i).map(|t| t.fanout.steps.clone()).unwrap_or_default();
    let all: Vec<Step> = (0..3).flat_map(steps).collect();
    let x_max = all.iter().map(|s| s.deliveries_per_s).fold(1.0, f64::max) * 1.1;
    let y_max = all.iter().map(|s| s.latency.p99_ms).fold(1.0, f64::max).min(1_000.0) * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption("Fan-out: p99 send→deliver latency vs deliveries/s", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    chart.configure_mesh().x_desc("deliveries per second").y_desc("p99 latency (ms)").draw()?;
    for (i, colour) in [(0, RED), (1, BLUE), (2, RGBColor(90, 90, 90))] {
        let Some(t) = r.targets.get(i) else { continue };
        let points: Vec<(f64, f64)> = t
            .fanout
            .steps
            .iter()
            .map(|s| (s.deliveries_per_s, s.latency.p99_ms.min(y_max)))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
            .label(t.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, colour.filled())))?;
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    root.present()?;
    Ok(())
}
