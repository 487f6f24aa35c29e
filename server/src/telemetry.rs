//! Logging: `tracing` with an `EnvFilter` (set `RUST_LOG`, default `info`).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; a second call is a no-op (tests call it once per process).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

/// Like [`init`], but writes through the test harness so output is shown only for failed tests.
pub fn init_for_tests() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
}
