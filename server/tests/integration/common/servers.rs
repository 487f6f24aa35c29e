//! Real database and message-broker servers for tests: Debian's PostgreSQL and Redis, each
//! started in a temporary directory on a free loopback port and stopped when dropped.
//!
//! `scripts/test` installs the packages; a missing binary fails the test with what to install,
//! never skips it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (free when asked; the server binds it right after).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// Whether this process runs as root (PostgreSQL refuses to).
fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Runs `program args` as the `postgres` system user when we are root, as ourselves otherwise.
fn pg_command(bin: &Path, program: &str, root: bool) -> Command {
    let path = bin.join(program);
    if root {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(path);
        cmd
    } else {
        Command::new(path)
    }
}

/// The directory holding `initdb` and `pg_ctl`: `PARLEY_PG_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin` (where Debian puts them, off the PATH).
fn pg_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("PARLEY_PG_BIN") {
        return dir.into();
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!("PostgreSQL is not installed: `apt-get install postgresql` (scripts/test does)")
    })
}

fn run(mut cmd: Command, what: &str) {
    let out = cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A PostgreSQL server of our own.
pub struct Postgres {
    pub port: u16,
    bin: PathBuf,
    data: PathBuf,
    root: bool,
    _dir: tempfile::TempDir,
}

impl Postgres {
    /// `initdb` in a temporary directory (trust auth, no fsync: test data only) and `pg_ctl
    /// start` on a free port, listening on 127.0.0.1 only.
    pub fn start() -> Self {
        let bin = pg_bin();
        let root = is_root();
        let dir = tempfile::tempdir().expect("temp dir");
        if root {
            let ids = |flag| {
                let out =
                    Command::new("id").args([flag, "postgres"]).output().expect("id postgres");
                String::from_utf8_lossy(&out.stdout).trim().parse::<u32>().expect("postgres user")
            };
            std::os::unix::fs::chown(dir.path(), Some(ids("-u")), Some(ids("-g"))).expect("chown");
        }
        let data = dir.path().join("data");
        let mut initdb = pg_command(&bin, "initdb", root);
        initdb.arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            "parley",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        run(initdb, "initdb");
        let port = free_port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            dir.path().display()
        );
        let mut start = pg_command(&bin, "pg_ctl", root);
        start
            .arg("-D")
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(dir.path().join("log"))
            .args(["-w", "start"]);
        run(start, "pg_ctl start");
        Self { port, bin, data, root, _dir: dir }
    }

    /// A URL for the server's default database.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://parley@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates an empty database and returns its URL.
    pub async fn fresh_database(&self) -> String {
        use sqlx::Connection;
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!("t{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let mut conn =
            sqlx::PgConnection::connect(&self.url("postgres")).await.expect("connect to postgres");
        // `name` is ours (t0, t1, …), not input.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create database");
        self.url(&name)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let mut stop = pg_command(&self.bin, "pg_ctl", self.root);
        stop.arg("-D").arg(&self.data).args(["-m", "immediate", "-w", "stop"]);
        let _ = stop.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}

/// A Redis server of our own (no persistence).
pub struct Redis {
    pub port: u16,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Redis {
    /// `redis-server` on a free port with `--save ""`, waiting until it answers.
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// Starts (or restarts) Redis on `port`.
    pub fn start_on(port: u16) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("redis-server: {e}: `apt-get install redis-server` (scripts/test does)")
            });
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { port, child, _dir: dir }
    }

    /// The URL the Redis adapter connects to (RESP3, which it needs).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/?protocol=resp3", self.port)
    }

    /// Kills the server at once (as a crash would).
    pub fn kill(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `parley` process (the real binary), for what only a process can do: die by `kill -9`.
pub struct Node {
    pub addr: std::net::SocketAddr,
    child: std::process::Child,
    _data: tempfile::TempDir,
}

impl Node {
    /// Starts `parley` on a free port with these extra environment variables; waits for
    /// `/healthz`.
    pub async fn start(env: &[(&str, String)]) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_parley"));
        cmd.env("PARLEY_LISTEN", addr.to_string())
            .env("PARLEY_DATA_DIR", data.path())
            .env("LEPTOS_OUTPUT_NAME", "parley")
            .env("LEPTOS_SITE_ADDR", addr.to_string())
            .env("PARLEY_RATE_PER_SECOND", "100000")
            .env("PARLEY_RATE_BURST", "100000")
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdin(Stdio::null());
        for (key, value) in env {
            cmd.env(key, value);
        }
        let child = cmd.spawn().expect("start parley");
        let node = Self { addr, child, _data: data };
        let started = Instant::now();
        let url = format!("http://{addr}/healthz");
        while !reqwest::get(&url).await.is_ok_and(|r| r.status().is_success()) {
            assert!(started.elapsed() < Duration::from_secs(20), "parley did not start on {addr}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        node
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The process id (to read its memory from `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`: no goodbye to Redis, to clients or to anyone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}
