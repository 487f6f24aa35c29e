//! The servers under test, each started fresh for a scenario as a child process on a free
//! loopback port, so its memory can be read from `/proc` and nothing carries over.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Which server a scenario runs against; decides the wire details of a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Parley (`/chat` namespace, a session cookie, `message:send` acked with the stored message).
    Parley,
    /// The Node Socket.IO tutorial chat (`/` namespace, room from the query, `chat message`).
    Reference,
    /// `bench/floor`: the same chat as the reference on Parley's Rust stack with no application.
    Floor,
}

impl Kind {
    /// The name in tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::Parley => "Parley",
            Self::Reference => "Node socket.io",
            Self::Floor => "Rust floor",
        }
    }
}

/// Where the programs live.
#[derive(Debug, Clone)]
pub struct Programs {
    /// The release `parley` binary.
    pub parley: PathBuf,
    /// cargo-leptos's site directory (pages are not benchmarked, but the server wants one).
    pub site_root: PathBuf,
    /// `bench/reference`, with its `node_modules` installed.
    pub reference: PathBuf,
    /// The release `parley-floor` binary.
    pub floor: PathBuf,
    /// Where the servers' logs go.
    pub logs: PathBuf,
    /// Where `perf` profiles of Parley go, if asked for.
    pub perf: Option<PathBuf>,
    /// CPUs the servers are pinned to (`taskset -c`), if any.
    pub server_cpus: Option<String>,
}

/// A running server; killed when dropped.
pub struct Server {
    /// What it is.
    pub kind: Kind,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    port: u16,
    scenario: String,
    child: Child,
    data: tempfile::TempDir,
}

impl Server {
    /// Starts a fresh server of `kind` and waits until it answers its health check.
    pub async fn start(kind: Kind, programs: &Programs, scenario: &str) -> Result<Self> {
        let port = free_port()?;
        let data = tempfile::tempdir()?;
        let child = spawn(kind, programs, scenario, port, data.path(), false)?;
        let server = Self {
            kind,
            base: format!("http://127.0.0.1:{port}"),
            port,
            scenario: scenario.to_owned(),
            child,
            data,
        };
        server.healthy().await?;
        Ok(server)
    }

    /// Kills the server outright (SIGKILL: no shutdown, nothing flushed) and starts it again on
    /// the same port and data directory, without waiting for it to answer. Parley comes back
    /// with its store (sessions, rooms, acknowledged messages); the reference and the floor
    /// keep nothing.
    pub fn crash_and_restart(&mut self, programs: &Programs) -> Result<()> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(self.kind, programs, &self.scenario, self.port, self.data.path(), true)?;
        Ok(())
    }

    /// Waits up to 30 s until the server answers its health check.
    pub async fn healthy(&self) -> Result<()> {
        let health = match self.kind {
            Kind::Parley => format!("{}/healthz", self.base),
            Kind::Reference | Kind::Floor => format!("{}/health", self.base),
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if reqwest::get(&health).await.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!("{} did not answer {health} within 30 s", self.kind.label())
    }

    /// Starts `perf record` on this server for one phase of a scenario, if profiling was asked for
    /// (Parley only: the reference is JIT-compiled JavaScript, which `perf` cannot name). The
    /// profile stops when the returned guard is dropped.
    pub fn profile(&self, perf: Option<&Path>, phase: &str) -> Result<Option<Profile>> {
        let Some(dir) = perf else { return Ok(None) };
        if self.kind != Kind::Parley {
            return Ok(None);
        }
        std::fs::create_dir_all(dir)?;
        let data = dir.join(format!("{}-{phase}.perf.data", slug(self.kind)));
        // cpu-clock works in VMs without hardware counters; DWARF call graphs because release
        // Rust omits frame pointers. 199 Hz keeps the data file to a few hundred MB.
        let child = Command::new("perf")
            .args(["record", "-q", "-e", "cpu-clock", "-F", "199", "--call-graph", "dwarf,16384"])
            .arg("-p")
            .arg(self.child.id().to_string())
            .arg("-o")
            .arg(&data)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("start perf (apt-get install linux-perf)")?;
        // perf needs a moment to attach before the phase starts.
        std::thread::sleep(Duration::from_millis(500));
        Ok(Some(Profile { child, data }))
    }

    /// CPU time the server process has used so far (user + system, all threads), in ms.
    pub fn cpu_ms(&self) -> Result<f64> {
        process_cpu_ms(&self.child.id().to_string())
    }

    /// The server process's resident memory in KiB (`VmRSS` in `/proc/PID/status`).
    pub fn rss_kib(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS in /proc status")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `perf record`; stopped (SIGINT, so it writes its file) when dropped, then
/// summarised next to the data as `*.perf.txt` (`perf report`, hottest symbols first).
pub struct Profile {
    child: Child,
    data: PathBuf,
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-INT").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
        let report = self.data.with_extension("txt");
        let Ok(out) = std::fs::File::create(&report) else { return };
        let _ = Command::new("perf")
            .args(["report", "--stdio", "--no-children", "--percent-limit", "0.5"])
            .args(["--sort", "dso,symbol", "-g", "none", "-i"])
            .arg(&self.data)
            .stdout(out)
            .stderr(Stdio::null())
            .status();
    }
}

/// Starts `kind` as a child process on `port` over `data`, logging to the scenario's log
/// (appended to on a restart).
fn spawn(
    kind: Kind,
    programs: &Programs,
    scenario: &str,
    port: u16,
    data: &Path,
    append: bool,
) -> Result<Child> {
    let log = programs.logs.join(format!("{}-{scenario}.log", slug(kind)));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(&log)
        .with_context(|| format!("open {}", log.display()))?;
    let mut command = match kind {
        Kind::Parley => {
            let mut c = Command::new(&programs.parley);
            c.env("PARLEY_LISTEN", format!("127.0.0.1:{port}"))
                .env("PARLEY_DATA_DIR", data)
                .env("LEPTOS_SITE_ROOT", &programs.site_root)
                .env("LEPTOS_OUTPUT_NAME", "parley")
                .env("RUST_LOG", "warn")
                // Generous limits: the benchmark measures throughput, not the limiter.
                .env("PARLEY_ALLOW_GUESTS", "true")
                .env("PARLEY_RATE_PER_SECOND", "1000000")
                .env("PARLEY_RATE_BURST", "1000000")
                .env("PARLEY_MAX_CONNECTIONS_PER_IP", "1000000")
                // Every generated person joins from loopback.
                .env("PARLEY_AUTH_ATTEMPTS_PER_ADDRESS_PER_MINUTE", "1000000")
                .env("PARLEY_MAX_CONNECTIONS_PER_PERSON", "1000");
            c
        }
        Kind::Reference => {
            let mut c = Command::new("node");
            c.arg(programs.reference.join("server.js")).env("PORT", port.to_string());
            c
        }
        Kind::Floor => {
            let mut c = Command::new(&programs.floor);
            c.env("PORT", port.to_string());
            c
        }
    };
    if let Some(cpus) = &programs.server_cpus {
        // taskset execs the server, so the child's pid stays the server's.
        let mut pinned = Command::new("taskset");
        pinned.arg("-c").arg(cpus).arg(command.get_program()).args(command.get_args());
        for (key, value) in command.get_envs() {
            if let Some(value) = value {
                pinned.env(key, value);
            }
        }
        command = pinned;
    }
    command
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("start {}", kind.label()))
}

fn slug(kind: Kind) -> &'static str {
    match kind {
        Kind::Parley => "parley",
        Kind::Reference => "reference",
        Kind::Floor => "floor",
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `node --version`, for the report.
pub fn node_version() -> String {
    Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The `socket.io` version installed under `dir`.
pub fn socket_io_version(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("node_modules/socket.io/package.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| v.get("version").and_then(|v| v.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// CPU time a process (`pid`, or `self`) has used so far (user + system, all threads), in ms
/// (`/proc/PID/stat` fields 14 and 15, in clock ticks of 10 ms on Linux).
pub fn process_cpu_ms(pid: &str) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) is in parentheses and may hold spaces; count after it.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).context("odd /proc stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64> {
        Ok(fields.get(i).context("short /proc stat")?.parse::<u64>()? as f64)
    };
    // After the name: field 3 is index 0, so utime (14) is 11 and stime (15) is 12.
    Ok((ticks(11)? + ticks(12)?) * 10.0)
}
