//! [`AppState`]: everything a page, server function or socket handler may need, cloned cheaply.

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use socketioxide::adapter::Adapter;
use socketioxide::{SocketIo, SocketIoBuilder};

use crate::config::Config;
use crate::domain::files::{FileLimits, Files};
use crate::domain::{AccountPolicy, Accounts, Chat, ChatLimits, Connections};
use crate::http::OriginPolicy;
use crate::socket;
use crate::store::StoreError;

/// Initial WebSocket read buffer per connection (see `SocketOptions::apply`).
const WS_READ_BUFFER_BYTES: usize = 1024;

/// How many packets may wait to be written to one connection (engineioxide's default is 128).
/// Past it a packet for that connection is dropped: a broadcast is then seen on resume, but an
/// answer to a request is lost, and the client waits for it in vain. A window of presence news
/// sends each connection one `room:joined` per newcomer at once (at most
/// [`crate::socket::presence::JOINS_PER_WINDOW`]), so 128 was overflowed by a crowd arriving
/// together (the benchmark's 500 guests lost a `room:create` answer this way). The queue grows
/// only while a connection is behind (tokio allocates its slots 32 at a time as they fill);
/// broadcasts in it share their encoded bytes with every other recipient's copy.
pub const SEND_QUEUE_PACKETS: usize = 512;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The accounts service could not be set up.
    #[error(transparent)]
    Accounts(#[from] app::ChatError),
    /// Redis (for several nodes) could not be reached.
    #[error(transparent)]
    Cluster(#[from] socket::cluster::ClusterError),
}

/// Wraps a router in the Socket.IO layer (whose type depends on the adapter).
type SocketLayerFn = Arc<dyn Fn(Router<AppState>) -> Router<AppState> + Send + Sync>;

/// Shared application state, handed to the Leptos routes (server functions read it from context)
/// and, through socketioxide's state, to the socket handlers.
#[derive(Clone)]
pub struct AppState {
    /// Where the site's files are and how Leptos renders.
    pub leptos: LeptosOptions,
    /// The live connections (the Socket.IO server), for what sign-out and shutdown need of them.
    pub connections: Arc<dyn Connections>,
    /// The chat domain.
    pub chat: Arc<Chat>,
    /// Accounts and sessions.
    pub accounts: Arc<Accounts>,
    /// Uploads and the stored files.
    pub files: Arc<Files>,
    /// Which cross-origin callers are allowed.
    pub origins: Arc<OriginPolicy>,
    /// Incoming webhooks.
    pub webhooks: Arc<crate::domain::webhooks::Webhooks>,
    /// The per-person request buckets the sockets use (webhooks draw on their bot's).
    pub limiter: socket::RequestLimiter,
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// This node's metrics and the way to the others.
    pub ops: socket::Ops,
    socket_layer: SocketLayerFn,
}

impl AppState {
    /// Opens the store, builds the domain and the Socket.IO server for `config`.
    pub async fn new(config: Config, leptos: LeptosOptions) -> Result<Self, StartError> {
        let store =
            crate::store::open(config.database_url.as_deref(), &config.data_dir, config.durability)
                .await?;
        let chat = Arc::new(Chat::new(
            Arc::clone(&store),
            ChatLimits {
                max_rooms_per_person: config.max_rooms_per_person,
                room_mention_max_members: config.room_mention_max_members,
                max_reaction_kinds: config.max_reaction_kinds,
                searches_per_minute: config.searches_per_minute,
                searches_at_once: config.searches_at_once,
            },
        ));
        let blobs =
            crate::store::open_blobs(config.database_url.as_deref(), &config.data_dir).await?;
        let files = Arc::new(
            Files::new(
                Arc::clone(&chat),
                blobs,
                &config.data_dir,
                FileLimits {
                    max_file_bytes: config.max_file_bytes,
                    quota_bytes: config.upload_quota_bytes,
                    uploads_per_person: config.uploads_per_person.max(1),
                    types: config.upload_types.clone(),
                    chunk_bytes: chunk_bytes(config.max_payload),
                },
            )
            .await
            .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?,
        );
        let policy = AccountPolicy {
            allow_guests: config.allow_guests,
            session_ttl: std::time::Duration::from_secs(u64::from(config.session_days) * 86_400),
            sign_in_attempts_per_minute: config.sign_in_attempts_per_minute,
            attempts_per_address_per_minute: config.auth_attempts_per_address_per_minute,
            hashes_at_once: config.hashes_at_once,
            hash_wait: std::time::Duration::from_millis(config.hash_wait_ms),
        };
        let admin = Arc::new(crate::domain::Admin::new(
            Arc::clone(&chat),
            Arc::clone(&store),
            &config.admins,
        ));
        let webhooks =
            Arc::new(crate::domain::webhooks::Webhooks::new(Arc::clone(&chat), Arc::clone(&store)));
        let accounts = Arc::new(Accounts::new(store, policy).await?);
        let limiter = socket::RequestLimiter::new(config.rate_per_second, config.rate_burst);
        let (news, changes) = socket::PresenceNews::new();
        let metrics = crate::metrics::Metrics::new();
        tokio::spawn(crate::metrics::sample_every_second(Arc::downgrade(&metrics)));
        let node_id = node_id();
        let bus = match &config.redis_url {
            Some(url) => {
                Some(Arc::new(socket::cluster::NodeBus::connect(url, node_id.clone()).await?))
            }
            None => None,
        };
        let ops = socket::Ops { metrics, nodes: socket::nodes::Nodes::new(node_id, bus) };
        let check = std::time::Duration::from_millis(config.session_check_ms.max(1));
        let options = SocketOptions {
            news: news.clone(),
            max_payload: config.max_payload,
            chat: Arc::clone(&chat),
            files: Arc::clone(&files),
            accounts: Arc::clone(&accounts),
            admin,
            ops: ops.clone(),
            limiter: limiter.clone(),
            limits: socket::ConnectionLimits::new(
                config.max_connections_per_ip,
                config.max_connections_per_person,
            ),
        };
        let (socket_layer, connections): (SocketLayerFn, Arc<dyn Connections>) = match &config
            .redis_url
        {
            None => {
                let (layer, io) = options.apply(SocketIo::builder()).build_layer();
                let ((), ()) = socket::register(&io);
                ops.nodes.serve(io.clone(), Arc::clone(&ops.metrics), Arc::clone(&chat));
                tokio::spawn(socket::presence::deliver(io.clone(), changes));
                tokio::spawn(socket::end_stale_sessions(io.clone(), Arc::clone(&accounts), check));
                (
                    Arc::new(move |router: Router<AppState>| router.layer(layer.clone())),
                    Arc::new(io),
                )
            }
            Some(url) => {
                let adapter = socket::cluster::connect(url).await?;
                let builder =
                    SocketIo::builder().with_adapter::<socket::cluster::ClusterAdapter>(adapter);
                let (layer, io) = options.apply(builder).build_layer();
                // Subscribed to the cluster's channels before the first client is served.
                let (chat_ns, admin_ns) = socket::register(&io);
                for started in [chat_ns.await, admin_ns.await] {
                    started.map_err(|e| socket::cluster::ClusterError::Adapter(e.to_string()))?;
                }
                tracing::info!(node = ops.nodes.id(), "joined the cluster through redis");
                ops.nodes.serve(io.clone(), Arc::clone(&ops.metrics), Arc::clone(&chat));
                tokio::spawn(socket::presence::deliver(io.clone(), changes));
                tokio::spawn(socket::end_stale_sessions(io.clone(), Arc::clone(&accounts), check));
                tokio::spawn(socket::cluster::sweep_presence(io.clone(), Arc::clone(&chat), news));
                (
                    Arc::new(move |router: Router<AppState>| router.layer(layer.clone())),
                    Arc::new(io),
                )
            }
        };
        let origins = Arc::new(OriginPolicy::new(&config.allowed_origins));
        Ok(Self {
            leptos,
            connections,
            chat,
            accounts,
            files,
            origins,
            webhooks,
            limiter,
            config: Arc::new(config),
            ops,
            socket_layer,
        })
    }

    /// Adds the layer that serves Socket.IO for this state's server.
    pub fn with_socket_layer(&self, router: Router<AppState>) -> Router<AppState> {
        (self.socket_layer)(router)
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// Bytes one upload chunk may carry under a `max_payload` packet limit: room for the packet's
/// framing, and for long-polling's base64 (4 bytes for 3), whichever transport the client is on.
fn chunk_bytes(max_payload: usize) -> u32 {
    let usable = max_payload.saturating_sub(1024) / 4 * 3;
    u32::try_from(usable.max(1024)).unwrap_or(u32::MAX)
}

/// What every Socket.IO server gets, whichever adapter it runs on.
struct SocketOptions {
    news: socket::PresenceNews,
    max_payload: usize,
    chat: Arc<Chat>,
    files: Arc<Files>,
    accounts: Arc<Accounts>,
    admin: Arc<crate::domain::Admin>,
    ops: socket::Ops,
    limiter: socket::RequestLimiter,
    limits: socket::ConnectionLimits,
}

impl SocketOptions {
    fn apply<A: Adapter>(self, builder: SocketIoBuilder<A>) -> SocketIoBuilder<A> {
        builder
            // One payload limit for both transports: `max_payload` bounds long-polling bodies,
            // the WebSocket limits bound messages and frames.
            .max_payload(self.max_payload as u64)
            .ws_max_message_size(self.max_payload)
            .ws_max_frame_size(self.max_payload)
            // Each WebSocket keeps its read buffer for its whole life, and most connections of
            // a chat sit idle: 1 KiB (instead of engineioxide's 4 KiB) holds a typical message
            // in one read and saves 3 KiB per connection. Larger frames still arrive whole; the
            // buffer grows to fit them, read by read.
            .ws_read_buffer_size(WS_READ_BUFFER_BYTES)
            .max_buffer_size(SEND_QUEUE_PACKETS)
            .with_state(self.chat)
            .with_state(self.files)
            .with_state(self.accounts)
            .with_state(self.admin)
            .with_state(self.limiter)
            .with_state(self.limits)
            .with_state(self.news)
            .with_state(self.ops)
    }
}

/// A name for this node, unique in its cluster: the host's name (where the environment gives
/// it) and a random suffix, since several nodes may share a host.
fn node_id() -> String {
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty() && h.len() <= 64);
    let suffix = uuid::Uuid::now_v7().simple().to_string();
    // The v7 id's last characters are its random part.
    let suffix = &suffix[suffix.len() - 6..];
    match host {
        Some(host) => format!("{host}-{suffix}"),
        None => format!("node-{suffix}"),
    }
}
