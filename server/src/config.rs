//! Command-line and environment configuration.
//!
//! Every flag can also be set through the environment variable named beside it, so the same
//! binary runs from a terminal, a systemd unit or a container without a wrapper script.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Parley's server configuration.
#[derive(Debug, Clone, Parser)]
#[command(name = "parley", version, about = "Parley: a real-time chat server")]
pub struct Config {
    /// Address to listen on; port 0 picks a free port. Defaults to `LEPTOS_SITE_ADDR` (which
    /// cargo-leptos sets), else 127.0.0.1:3000.
    #[arg(long, env = "PARLEY_LISTEN")]
    pub listen: Option<SocketAddr>,

    /// Address of the operators' Prometheus endpoint (`GET /metrics`), e.g. 127.0.0.1:9464. Off
    /// when unset; keep it on a private interface: it is not behind any sign-in.
    #[arg(long, env = "PARLEY_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Extra origins (scheme://host[:port]) allowed to connect and to call the HTTP API, comma
    /// separated. The server's own origin is always allowed; nothing else is by default.
    #[arg(long, env = "PARLEY_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Directory for Parley's data (the embedded database). Created if missing.
    #[arg(long, env = "PARLEY_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// What an acknowledged message survives on SQLite: `process` (the default; WAL with
    /// `synchronous=NORMAL`: a killed or crashed process loses nothing, a power cut can lose the
    /// last commits) or `power-loss` (`synchronous=FULL`: an fsync per group of commits). On
    /// PostgreSQL, durability is the server's own `synchronous_commit`.
    #[arg(long, env = "PARLEY_DURABILITY", value_enum, default_value_t = crate::store::Durability::Process)]
    pub durability: crate::store::Durability,

    /// A PostgreSQL database shared by several nodes (`postgres://user:pass@host:port/db`).
    /// Without it, Parley keeps its data in SQLite under `--data-dir`.
    #[arg(long, env = "PARLEY_DATABASE_URL", value_parser = parse_database_url)]
    pub database_url: Option<String>,

    /// Redis through which several nodes exchange Socket.IO broadcasts (`redis://host:port`,
    /// Redis 7 or later). Without it, this node serves only its own connections.
    #[arg(long, env = "PARLEY_REDIS_URL")]
    pub redis_url: Option<String>,

    /// Largest Socket.IO packet accepted, in bytes, on both transports (long-polling and
    /// WebSocket). A client that sends more is disconnected.
    #[arg(long, env = "PARLEY_MAX_PAYLOAD", default_value_t = 64 * 1024)]
    pub max_payload: usize,

    /// Requests (of any kind) one person may make per second, across all their tabs; more are
    /// refused with `rate_limited` and do not slow anyone else.
    #[arg(long, env = "PARLEY_RATE_PER_SECOND", default_value_t = 20)]
    pub rate_per_second: u32,

    /// How many requests above the steady rate a person may make in a burst.
    #[arg(long, env = "PARLEY_RATE_BURST", default_value_t = 40)]
    pub rate_burst: u32,

    /// Connections (tabs) one person may hold at once; more are refused with a `connect_error`.
    #[arg(long, env = "PARLEY_MAX_CONNECTIONS_PER_PERSON", default_value_t = 10)]
    pub max_connections_per_person: usize,

    /// Socket.IO connections one IP address may hold at once. Behind a reverse proxy every
    /// client shares the proxy's address: raise this there and limit at the proxy.
    #[arg(long, env = "PARLEY_MAX_CONNECTIONS_PER_IP", default_value_t = 50)]
    pub max_connections_per_ip: usize,

    /// Group rooms (public or private) one person may have created and not deleted.
    #[arg(long, env = "PARLEY_MAX_ROOMS_PER_PERSON", default_value_t = 20)]
    pub max_rooms_per_person: usize,

    /// Group rooms with at most this many members let every member mention everyone (`@room`,
    /// `@here`); in larger ones only the room's creator may. The lobby has no creator.
    #[arg(long, env = "PARLEY_ROOM_MENTION_MAX_MEMBERS", default_value_t = 50)]
    pub room_mention_max_members: usize,

    /// Different emoji one message may carry as reactions (the set offered has 8).
    #[arg(long, env = "PARLEY_MAX_REACTION_KINDS", default_value_t = 8)]
    pub max_reaction_kinds: usize,

    /// Searches one person may make per minute, across all their tabs; more are refused with
    /// `rate_limited`.
    #[arg(long, env = "PARLEY_SEARCHES_PER_MINUTE", default_value_t = 30)]
    pub searches_per_minute: u32,

    /// Searches running at once on this node; a search that finds them all busy waits up to a
    /// second, then is refused with `rate_limited`.
    #[arg(long, env = "PARLEY_SEARCHES_AT_ONCE", default_value_t = 4)]
    pub searches_at_once: usize,

    /// Let people join with a name and no password. A guest's name stays taken; the guest can
    /// come back only from the browser that holds their session.
    #[arg(long, env = "PARLEY_ALLOW_GUESTS", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_guests: bool,

    /// How long a sign-in lasts, in days.
    #[arg(long, env = "PARLEY_SESSION_DAYS", default_value_t = 30)]
    pub session_days: u32,

    /// How often (milliseconds) each node checks that its open connections' sessions are still
    /// valid, closing those that expired or were signed out elsewhere: the longest a connection
    /// outlives its session.
    #[arg(long, env = "PARLEY_SESSION_CHECK_MS", default_value_t = 30_000)]
    pub session_check_ms: u64,

    /// Sign-in attempts allowed per name and minute (slows password guessing), from browsers
    /// that never signed in to that name; each browser that did has as many of its own, so
    /// other people's failures cannot lock a person out of their own browsers.
    #[arg(long, env = "PARLEY_SIGN_IN_ATTEMPTS_PER_MINUTE", default_value_t = 10)]
    pub sign_in_attempts_per_minute: u32,

    /// Registrations, sign-ins and guest joins allowed per client address and minute, all
    /// together (IPv6 addresses count by their /64). Behind a reverse proxy every client shares
    /// the proxy's address: raise this there and limit at the proxy.
    #[arg(long, env = "PARLEY_AUTH_ATTEMPTS_PER_ADDRESS_PER_MINUTE", default_value_t = 30)]
    pub auth_attempts_per_address_per_minute: u32,

    /// Password hashes (Argon2id, ~19 MiB of memory each) computed at once; a registration or
    /// sign-in that finds them all busy waits up to 2 s, then gets `rate_limited`.
    #[arg(long, env = "PARLEY_HASHES_AT_ONCE", default_value_t = 2)]
    pub hashes_at_once: usize,

    /// How long a registration or sign-in waits for a free hashing turn (milliseconds) before
    /// it is refused with `rate_limited`.
    #[arg(long, env = "PARLEY_HASH_WAIT_MS", default_value_t = 2_000)]
    pub hash_wait_ms: u64,

    /// Largest file one upload may be, in bytes.
    #[arg(long, env = "PARLEY_MAX_FILE_BYTES", default_value_t = 50 * 1024 * 1024)]
    pub max_file_bytes: u64,

    /// Bytes each person's uploaded files may take in total (each distinct file counted once).
    #[arg(long, env = "PARLEY_UPLOAD_QUOTA_BYTES", default_value_t = 1024 * 1024 * 1024)]
    pub upload_quota_bytes: u64,

    /// Uploads one person may have in progress at once (across their tabs, on one node).
    #[arg(long, env = "PARLEY_UPLOADS_PER_PERSON", default_value_t = 3)]
    pub uploads_per_person: usize,

    /// File types accepted, as sniffed from the bytes (not the name), comma separated: exact
    /// types (`application/pdf`), families (`image/*`), or `*` for anything. Bytes no signature
    /// identifies count as `application/octet-stream` (plain text, SVG and HTML among them; they
    /// are always served as downloads, never rendered).
    #[arg(
        long,
        env = "PARLEY_UPLOAD_TYPES",
        value_delimiter = ',',
        default_value = "image/*,application/pdf,application/zip,application/gzip,application/octet-stream,text/*,audio/*,video/*"
    )]
    pub upload_types: Vec<String>,

    /// People who are administrators whatever the store says (they cannot be demoted), by
    /// name, comma separated: the first administrator of a new server. They may promote others.
    #[arg(long = "admin", env = "PARLEY_ADMINS", value_delimiter = ',')]
    pub admins: Vec<String>,

    /// Mark the session cookie `Secure` (browsers then send it over HTTPS only). Turn on when
    /// Parley is served over HTTPS, directly or behind a proxy.
    #[arg(long, env = "PARLEY_SECURE_COOKIES", default_value_t = false, action = clap::ArgAction::Set)]
    pub secure_cookies: bool,
}

impl Config {
    /// A configuration for tests: listen on a free loopback port, data in `data_dir`.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        Self {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            allowed_origins: Vec::new(),
            data_dir,
            database_url: None,
            durability: crate::store::Durability::Process,
            redis_url: None,
            metrics_listen: None,
            max_payload: 64 * 1024,
            // Tests drive hundreds of requests a second from one person; the flood test sets
            // its own limit.
            rate_per_second: 100_000,
            rate_burst: 100_000,
            max_connections_per_person: 10,
            max_connections_per_ip: 1_000,
            max_rooms_per_person: 20,
            room_mention_max_members: 50,
            max_reaction_kinds: 8,
            searches_per_minute: 1_000,
            searches_at_once: 4,
            allow_guests: false,
            session_days: 30,
            session_check_ms: 30_000,
            sign_in_attempts_per_minute: 10,
            // Every test client comes from 127.0.0.1; the limit tests set their own.
            auth_attempts_per_address_per_minute: 100_000,
            hashes_at_once: 2,
            hash_wait_ms: 2_000,
            secure_cookies: false,
            admins: Vec::new(),
            max_file_bytes: 50 * 1024 * 1024,
            upload_quota_bytes: 1024 * 1024 * 1024,
            uploads_per_person: 3,
            upload_types: vec!["*".to_owned()],
        }
    }
}

/// Accepts Postgres URLs only: SQLite is configured by `--data-dir`, and a typo should stop the
/// server at start rather than send it to the wrong database.
fn parse_database_url(url: &str) -> Result<String, String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(url.to_owned())
    } else {
        Err("expected a postgres:// URL (SQLite is configured with --data-dir)".to_owned())
    }
}
