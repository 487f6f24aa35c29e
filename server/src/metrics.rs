//! Figures for operators: a Prometheus `/metrics` endpoint and the live figures `/admin` shows.
//!
//! Each server owns its recorder (`metrics-exporter-prometheus`, built without its HTTP
//! listener) instead of installing a process-wide one: the figures are one node's, and tests that
//! run several servers in one process each read their own. Handles are registered once per
//! label set and kept (a request's counter is looked up in a small map, not built per request).
//!
//! What is counted where it happens: requests by event and outcome with their latency (ack
//! time), messages posted, rate-limit and connection-limit refusals. What is a state, not an
//! event, is read when scraped: connections by namespace and transport (from this node's
//! sockets), the store's latency (one probe query), and broadcast failures (the adapter could
//! not reach the other nodes; counted process-wide by [`adapter_error`]).
//!
//! The endpoint listens on its own address (`--metrics-addr`, off by default), never on the
//! public one: what it shows (event volumes, error rates) is for the operator's network only.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use metrics::{Counter, Histogram, Key, KeyName, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

static METADATA: Metadata<'static> = Metadata::new("parley", Level::INFO, Some(module_path!()));

/// Broadcasts the adapter failed to deliver, in this process (see [`adapter_error`]).
static ADAPTER_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Counts a broadcast (or a cross-node request) the adapter failed: with Redis, the other nodes'
/// clients missed it live. Process-wide, as the emit helpers that see it have no state; a
/// process runs one server outside of tests.
pub fn adapter_error() {
    ADAPTER_ERRORS.fetch_add(1, Ordering::Relaxed);
}

/// Latency buckets (seconds) for acks and the store: from a cached answer to a slow disk.
const BUCKETS: [f64; 12] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// How far back [`Metrics::rates`] looks.
const RATE_WINDOW: Duration = Duration::from_secs(10);

/// One node's figures.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// `(event, outcome)` → its counter, and event → its latency histogram.
    requests: Mutex<HashMap<(&'static str, &'static str), Counter>>,
    latencies: Mutex<HashMap<&'static str, Histogram>>,
    refusals: Mutex<HashMap<&'static str, Counter>>,
    messages: Counter,
    store_latency: Histogram,
    /// Totals for the live figures (the Prometheus counters cannot be read back).
    messages_total: AtomicU64,
    requests_total: AtomicU64,
    /// Samples of the two totals, one a second, for rates over [`RATE_WINDOW`].
    samples: Mutex<VecDeque<(Instant, u64, u64)>>,
    started: Instant,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A recorder with every metric described (so a scrape lists them before they happen).
    pub fn new() -> Arc<Self> {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        let describe = |name: &'static str, unit: Option<Unit>, text: &'static str| {
            recorder.describe_counter(KeyName::from_const_str(name), unit, text.into());
        };
        describe(
            "parley_requests_total",
            None,
            "Socket.IO requests answered, by event and outcome (ok or the error code).",
        );
        describe("parley_messages_total", None, "Messages posted (by people, bots and webhooks).");
        describe(
            "parley_refusals_total",
            None,
            "Requests and connections refused by a limit, by limit.",
        );
        describe(
            "parley_adapter_errors_total",
            None,
            "Broadcasts or cross-node requests the adapter (Redis) failed.",
        );
        recorder.describe_histogram(
            KeyName::from_const_str("parley_request_duration_seconds"),
            Some(Unit::Seconds),
            "Time from a request's arrival to its ack, by event.".into(),
        );
        recorder.describe_histogram(
            KeyName::from_const_str("parley_store_latency_seconds"),
            Some(Unit::Seconds),
            "A probe query's round trip to the store, at each scrape and each admin:nodes request."
                .into(),
        );
        recorder.describe_gauge(
            KeyName::from_const_str("parley_connections"),
            None,
            "Open Socket.IO connections on this node, by namespace and transport.".into(),
        );
        let messages =
            recorder.register_counter(&Key::from_static_name("parley_messages_total"), &METADATA);
        let store_latency = recorder
            .register_histogram(&Key::from_static_name("parley_store_latency_seconds"), &METADATA);
        Arc::new(Self {
            recorder,
            handle,
            requests: Mutex::default(),
            latencies: Mutex::default(),
            refusals: Mutex::default(),
            messages,
            store_latency,
            messages_total: AtomicU64::new(0),
            requests_total: AtomicU64::new(0),
            samples: Mutex::default(),
            started: Instant::now(),
        })
    }

    /// A request to `event` was answered with `outcome` (`"ok"` or an error code) after
    /// `elapsed`.
    pub fn request(&self, event: &'static str, outcome: &'static str, elapsed: Duration) {
        self.requests_total.fetch_add(1, Ordering::Relaxed);
        let counter = {
            let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
            requests
                .entry((event, outcome))
                .or_insert_with(|| {
                    let labels = vec![
                        Label::from_static_parts("event", event),
                        Label::from_static_parts("outcome", outcome),
                    ];
                    self.recorder.register_counter(
                        &Key::from_parts("parley_requests_total", labels),
                        &METADATA,
                    )
                })
                .clone()
        };
        counter.increment(1);
        let histogram = {
            let mut latencies = self.latencies.lock().unwrap_or_else(|p| p.into_inner());
            latencies
                .entry(event)
                .or_insert_with(|| {
                    self.recorder.register_histogram(
                        &Key::from_parts(
                            "parley_request_duration_seconds",
                            vec![Label::from_static_parts("event", event)],
                        ),
                        &METADATA,
                    )
                })
                .clone()
        };
        histogram.record(elapsed.as_secs_f64());
    }

    /// A message was posted.
    pub fn message_posted(&self) {
        self.messages_total.fetch_add(1, Ordering::Relaxed);
        self.messages.increment(1);
    }

    /// A limit refused something: `"requests"` (the per-person rate), `"connections_per_address"`,
    /// `"connections_per_person"`, `"webhook"`.
    pub fn refused(&self, limit: &'static str) {
        let mut refusals = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        refusals
            .entry(limit)
            .or_insert_with(|| {
                self.recorder.register_counter(
                    &Key::from_parts(
                        "parley_refusals_total",
                        vec![Label::from_static_parts("limit", limit)],
                    ),
                    &METADATA,
                )
            })
            .increment(1);
    }

    /// The store answered a probe in `elapsed`.
    pub fn store_probe(&self, elapsed: Duration) {
        self.store_latency.record(elapsed.as_secs_f64());
    }

    /// Takes one sample of the totals (call once a second; [`Metrics::rates`] reads them).
    pub fn sample(&self) {
        let now = Instant::now();
        let mut samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        samples.push_back((
            now,
            self.messages_total.load(Ordering::Relaxed),
            self.requests_total.load(Ordering::Relaxed),
        ));
        while samples.front().is_some_and(|(at, _, _)| now.duration_since(*at) > RATE_WINDOW) {
            samples.pop_front();
        }
    }

    /// Messages and requests per second over the last [`RATE_WINDOW`] (up to now).
    pub fn rates(&self) -> (f64, f64) {
        let samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let Some(&(then, messages, requests)) = samples.front() else { return (0.0, 0.0) };
        let secs = then.elapsed().as_secs_f64();
        if secs < 0.5 {
            return (0.0, 0.0);
        }
        let per_second = |now: u64, before: u64| now.saturating_sub(before) as f64 / secs;
        (
            per_second(self.messages_total.load(Ordering::Relaxed), messages),
            per_second(self.requests_total.load(Ordering::Relaxed), requests),
        )
    }

    /// How long this server has run.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// The Prometheus text exposition, with the gauges of this moment: `connections` as
    /// `(namespace, transport, count)`.
    pub fn render(&self, connections: &[(String, &'static str, usize)]) -> String {
        for (namespace, transport, count) in connections {
            let labels = vec![
                Label::new("namespace", namespace.clone()),
                Label::from_static_parts("transport", transport),
            ];
            self.recorder
                .register_gauge(&Key::from_parts("parley_connections", labels), &METADATA)
                .set(*count as f64);
        }
        self.recorder
            .register_counter(&Key::from_static_name("parley_adapter_errors_total"), &METADATA)
            .absolute(ADAPTER_ERRORS.load(Ordering::Relaxed));
        self.handle.run_upkeep();
        self.handle.render()
    }
}

/// The label of a refusal: its wire code (`rate_limited`, `not_member`, …). The codes are the
/// variants of [`app::ChatError`], a fixed set, so each is leaked into a `&'static str` once.
pub fn outcome_of(error: &app::ChatError) -> &'static str {
    static CODES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let value = serde_json::to_value(error).unwrap_or_default();
    let code = value.get("code").and_then(|c| c.as_str()).unwrap_or("internal");
    let mut codes = CODES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(known) = codes.iter().find(|c| **c == code) {
        return known;
    }
    let leaked: &'static str = Box::leak(code.to_owned().into_boxed_str());
    codes.push(leaked);
    leaked
}

/// Samples `metrics` once a second for [`Metrics::rates`], until the server is gone.
pub async fn sample_every_second(metrics: std::sync::Weak<Metrics>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(metrics) = metrics.upgrade() else { return };
        metrics.sample();
    }
}
