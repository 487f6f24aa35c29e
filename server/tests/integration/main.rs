//! The server's integration tests: the real server on `127.0.0.1:0` (or the real binary, for the
//! crash and failover cases) and real Socket.IO clients.
//!
//! One test binary rather than one per file: each integration-test file is its own crate that
//! links the whole server, and eleven of them took eleven links and ~7 GB of debug binaries in a
//! fresh build (enough to fill CI's disk). As modules of one crate they link once.

mod common;

mod abuse;
mod accounts;
mod admin;
mod bots;
mod cluster;
mod crash;
mod failover;
mod files;
mod hardening;
mod history;
mod http;
mod messages;
mod moderation;
mod operators;
mod published_api;
mod read_state;
mod request_fuzz;
mod rooms;
mod search;
mod store;
mod team_chat;
mod webhooks;
