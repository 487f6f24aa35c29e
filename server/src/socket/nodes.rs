//! Asking every node about itself: its connections and its live figures, for `/admin`.
//!
//! The Socket.IO adapter answers "which sockets are in this room" across nodes, but only with
//! their ids: what an administrator needs (who, over which transport, from where, since when)
//! lives in each node's sockets. So each node answers for itself: with Redis, a request is
//! published on one channel every node listens to, and each other node publishes its answer on
//! the asker's own channel; the asker waits for as many answers as there are listeners (Redis
//! counts them), at most [`super::cluster::REQUEST_TIMEOUT`], and says so when one was missing.
//! Alone, a node answers only itself. Nothing is stored or kept between requests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use app::events::CHAT_NAMESPACE;
use app::events::admin::{ADMIN_NAMESPACE, ConnectionInfo, NodeStats};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use tokio::sync::mpsc;

use super::{ClientAddr, ConnectedAt};
use crate::domain::{Chat, Identity, SessionDigest};
use crate::metrics::Metrics;

/// What a node is asked.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub enum NodeQuery {
    /// Its open connections.
    Connections,
    /// Its figures.
    Figures,
}

/// A node's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum NodeAnswer {
    /// Its open connections (sorted; to another node, the first
    /// [`app::limits::MAX_LISTED_CONNECTIONS`]), and how many it has.
    Connections {
        /// The connections.
        listed: Vec<ConnectionInfo>,
        /// How many.
        total: usize,
    },
    /// Its figures.
    Figures(NodeStats),
}

/// How a node answers a question about itself.
pub type Answerer = Arc<dyn Fn(NodeQuery) -> BoxFuture<'static, NodeAnswer> + Send + Sync>;

/// This node, and the way to the others.
#[derive(Clone)]
pub struct Nodes {
    id: Arc<str>,
    /// How this node answers (set once its Socket.IO server exists).
    local: Arc<OnceLock<Answerer>>,
    bus: Option<Arc<super::cluster::NodeBus>>,
}

/// What a set of nodes answered.
pub struct Answers {
    /// This node's answer first.
    pub answers: Vec<NodeAnswer>,
    /// Whether a node that should have answered did not.
    pub partial: bool,
}

impl Nodes {
    /// A node named `id`; `bus` reaches the others (none: it is alone).
    pub fn new(id: String, bus: Option<Arc<super::cluster::NodeBus>>) -> Self {
        Self { id: id.into(), local: Arc::default(), bus }
    }

    /// This node's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Answers for this node from `io`'s sockets, `metrics` and a store probe through `chat`;
    /// with a bus, starts answering the other nodes too.
    pub fn serve<A: Adapter>(&self, io: SocketIo<A>, metrics: Arc<Metrics>, chat: Arc<Chat>) {
        let node = Arc::clone(&self.id);
        let answer: Answerer = Arc::new(move |query| {
            let (io, metrics, chat, node) =
                (io.clone(), Arc::clone(&metrics), Arc::clone(&chat), Arc::clone(&node));
            Box::pin(async move {
                match query {
                    NodeQuery::Connections => {
                        let listed = local_connections(&io, &node);
                        NodeAnswer::Connections { total: listed.len(), listed }
                    }
                    NodeQuery::Figures => {
                        NodeAnswer::Figures(local_figures(&io, &node, &metrics, &chat).await)
                    }
                }
            })
        });
        if let Some(bus) = &self.bus {
            // Another node gets what it can list, not a whole node's sockets.
            let local = Arc::clone(&answer);
            let bounded: Answerer = Arc::new(move |query| {
                let local = Arc::clone(&local);
                Box::pin(async move {
                    match local(query).await {
                        NodeAnswer::Connections { mut listed, total } => {
                            listed.truncate(app::limits::MAX_LISTED_CONNECTIONS);
                            NodeAnswer::Connections { listed, total }
                        }
                        other => other,
                    }
                })
            });
            bus.serve(bounded);
        }
        let _ = self.local.set(answer);
    }

    /// Asks this node only.
    pub async fn ask_self(&self, query: NodeQuery) -> Option<NodeAnswer> {
        match self.local.get() {
            Some(local) => Some(local(query).await),
            None => None,
        }
    }

    /// Asks every node, this one included.
    pub async fn ask(&self, query: NodeQuery) -> Answers {
        let mut answers = Vec::new();
        if let Some(local) = self.local.get() {
            answers.push(local(query).await);
        }
        let mut partial = false;
        if let Some(bus) = &self.bus {
            let (others, missing) = bus.ask(query).await;
            answers.extend(others);
            partial = missing;
        }
        Answers { answers, partial }
    }
}

/// The order connections are listed in: by person, then oldest first.
pub fn listing_order(a: &ConnectionInfo, b: &ConnectionInfo) -> std::cmp::Ordering {
    (a.user.name.as_str(), a.since_ms, &a.sid).cmp(&(b.user.name.as_str(), b.since_ms, &b.sid))
}

/// This node's sockets on the session namespaces, in [`listing_order`].
pub fn local_connections<A: Adapter>(io: &SocketIo<A>, node: &str) -> Vec<ConnectionInfo> {
    let mut out = Vec::new();
    for namespace in [CHAT_NAMESPACE, ADMIN_NAMESPACE] {
        let Some(ns) = io.of(namespace) else { continue };
        for socket in ns.local().sockets() {
            // Sockets still in their connect middleware have no identity yet.
            let Some(identity) = socket.extensions.get::<Identity>() else { continue };
            out.push(ConnectionInfo {
                node: node.to_owned(),
                sid: socket.id.to_string(),
                namespace: namespace.to_owned(),
                user: identity.user.clone(),
                bot: identity.bot,
                transport: transport_name(socket.transport_type()).to_owned(),
                address: socket.extensions.get::<ClientAddr>().map(|a| a.0.to_string()),
                since_ms: socket.extensions.get::<ConnectedAt>().map_or(0, |c| c.0),
                session: socket.extensions.get::<SessionDigest>().map(|d| d.0).unwrap_or_default(),
            });
        }
    }
    out.sort_by(listing_order);
    out
}

/// `websocket` or `polling`.
pub fn transport_name(transport: socketioxide::TransportType) -> &'static str {
    match transport {
        socketioxide::TransportType::Websocket => "websocket",
        socketioxide::TransportType::Polling => "polling",
    }
}

async fn local_figures<A: Adapter>(
    io: &SocketIo<A>,
    node: &str,
    metrics: &Metrics,
    chat: &Chat,
) -> NodeStats {
    let connections = local_connections(io, node);
    let websocket = connections.iter().filter(|c| c.transport == "websocket").count();
    let (messages_per_second, requests_per_second) = metrics.rates();
    let store_ms = match chat.probe_store().await {
        Ok(elapsed) => {
            metrics.store_probe(elapsed);
            Some(elapsed.as_secs_f64() * 1000.0)
        }
        Err(_) => None,
    };
    NodeStats {
        node: node.to_owned(),
        connections: u32::try_from(connections.len()).unwrap_or(u32::MAX),
        websocket: u32::try_from(websocket).unwrap_or(u32::MAX),
        messages_per_second,
        requests_per_second,
        store_ms,
        uptime_secs: metrics.uptime().as_secs(),
    }
}

/// A request on the bus.
#[derive(Serialize, Deserialize)]
pub(super) struct Ask {
    pub from: String,
    pub id: u64,
    pub query: NodeQuery,
}

/// An answer on the bus.
#[derive(Serialize, Deserialize)]
pub(super) struct Reply {
    pub id: u64,
    pub answer: NodeAnswer,
}

/// This node's requests in flight: request id → where their answers go.
#[derive(Default)]
pub(super) struct Pending {
    next: AtomicU64,
    waiting: Mutex<HashMap<u64, mpsc::Sender<NodeAnswer>>>,
}

impl Pending {
    /// A new request expecting up to `capacity` answers.
    pub(super) fn open(&self, capacity: usize) -> (u64, mpsc::Receiver<NodeAnswer>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(capacity.max(1));
        self.waiting.lock().unwrap_or_else(|p| p.into_inner()).insert(id, tx);
        (id, rx)
    }

    /// The request is answered or given up: later answers are dropped.
    pub(super) fn close(&self, id: u64) {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }

    /// An answer arrived.
    pub(super) fn deliver(&self, reply: Reply) {
        let tx = self.waiting.lock().unwrap_or_else(|p| p.into_inner()).get(&reply.id).cloned();
        if let Some(tx) = tx {
            // Full or closed: the asker has all it waits for, or gave up.
            let _ = tx.try_send(reply.answer);
        }
    }
}
