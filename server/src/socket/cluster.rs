//! Several nodes: the Socket.IO Redis adapter (`socketioxide-redis`), so a broadcast, a room
//! join or a disconnect on one node reaches the sockets of every node.
//!
//! The `fred` driver is used rather than the `redis` one because it reconnects by itself (and
//! we subscribe again afterwards): a Redis restart interrupts cross-node delivery for as long as
//! Redis is down, not for the node's lifetime. Meanwhile each node still serves its own clients.

use std::time::Duration;

use fred::clients::SubscriberClient;
use fred::interfaces::EventInterface;
use fred::prelude::{Builder, Config, ReconnectPolicy};
use fred::types::RespVersion;
use socketioxide_redis::drivers::fred::FredDriver;
use socketioxide_redis::{FredAdapter, RedisAdapterConfig, RedisAdapterCtr};

/// The adapter type of a clustered server.
pub type ClusterAdapter = FredAdapter<socketioxide::adapter::Emitter>;

/// How long a node waits for the others to answer a cluster-wide request (rooms, fetching
/// sockets); a node that died is out of the count as soon as Redis sees its connection close.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest a Redis command (a publish) may take before it counts as failed.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);

/// Why the cluster could not be joined.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The URL or the connection to Redis failed.
    #[error("redis: {0}")]
    Redis(#[from] fred::error::Error),
    /// The adapter could not subscribe to its channels.
    #[error("redis adapter: {0}")]
    Adapter(String),
}

/// Connects to Redis at `url` (`redis://host:port[/db]`), reconnecting forever every half second
/// when the connection drops.
pub async fn connect(url: &str) -> Result<RedisAdapterCtr<FredDriver>, ClusterError> {
    let client = subscriber(url)?;
    client.on_reconnect(|server| async move {
        tracing::info!(%server, "reconnected to redis");
        Ok(())
    });
    client.on_error(|(error, _)| async move {
        tracing::warn!(%error, "redis connection error");
        Ok(())
    });
    let config =
        RedisAdapterConfig::default().with_request_timeout(REQUEST_TIMEOUT).with_prefix("parley");
    let adapter = RedisAdapterCtr::new_with_fred_config(client.clone(), config).await?;
    tokio::spawn(resubscribe_on_reconnect(client));
    Ok(adapter)
}

/// A client for Redis at `url` that reconnects forever, every half second.
fn subscriber(url: &str) -> Result<SubscriberClient, ClusterError> {
    let mut config = Config::from_url(url)?;
    // The adapter's drivers speak RESP3 (Redis 7 and later); fred does not read it off the URL.
    config.version = RespVersion::RESP3;
    Ok(Builder::from_config(config)
        .set_policy(ReconnectPolicy::new_constant(0, 500))
        // While Redis is away a command fails after this instead of waiting for the
        // reconnection, so requests are still acknowledged (late by at most this much).
        .with_performance_config(|perf| perf.default_command_timeout = COMMAND_TIMEOUT)
        .build_subscriber_client()?)
}

/// Subscribes again to the adapter's channels after every reconnection. (fred's own
/// `manage_subscriptions` sends a `SUBSCRIBE` with no channel first when, as here, only sharded
/// channels are used, which Redis refuses, and then gives up before the sharded ones.)
async fn resubscribe_on_reconnect(client: SubscriberClient) {
    use fred::interfaces::PubsubInterface;
    let mut reconnects = client.reconnect_rx();
    while reconnects.recv().await.is_ok() {
        for channel in client.tracked_shard_channels() {
            if let Err(error) = client.ssubscribe(channel.to_string()).await {
                tracing::warn!(%error, %channel, "could not subscribe again after reconnecting to redis");
            }
        }
    }
}

/// The channel every node listens to for questions about itself (see [`super::nodes`]).
const NODES_ASK: &str = "parley-nodes-ask";

/// Where answers to node `id`'s questions go.
fn nodes_reply(id: &str) -> String {
    format!("parley-nodes-reply-{id}")
}

/// Questions between nodes, on a Redis connection of their own (the adapter's client would
/// warn about channels it does not know).
pub struct NodeBus {
    client: SubscriberClient,
    id: String,
    pending: std::sync::Arc<super::nodes::Pending>,
}

impl NodeBus {
    /// Connects to Redis at `url` as node `id` and subscribes to its channels (again after every
    /// reconnection).
    pub async fn connect(url: &str, id: String) -> Result<Self, ClusterError> {
        use fred::interfaces::{ClientLike, PubsubInterface};
        let client = subscriber(url)?;
        client.init().await?;
        client.subscribe(vec![NODES_ASK.to_owned(), nodes_reply(&id)]).await?;
        client.manage_subscriptions();
        Ok(Self { client, id, pending: std::sync::Arc::default() })
    }

    /// Answers the other nodes' questions with `answer`, and routes the answers to ours.
    pub fn serve(&self, answer: super::nodes::Answerer) {
        use super::nodes::{Ask, Reply};
        use fred::interfaces::PubsubInterface;
        let mut messages = self.client.message_rx();
        let (client, id, pending) =
            (self.client.clone(), self.id.clone(), std::sync::Arc::clone(&self.pending));
        let reply_channel = nodes_reply(&id);
        tokio::spawn(async move {
            loop {
                let message = match messages.recv().await {
                    Ok(message) => message,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(n, "node questions dropped: too many at once");
                        continue;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                let Some(text) = message.value.as_str().map(|t| t.to_string()) else { continue };
                if message.channel == NODES_ASK {
                    let Ok(ask) = serde_json::from_str::<Ask>(&text) else { continue };
                    if ask.from == id {
                        continue;
                    }
                    let (client, answer) = (client.clone(), std::sync::Arc::clone(&answer));
                    tokio::spawn(async move {
                        let reply = Reply { id: ask.id, answer: answer(ask.query).await };
                        let text = serde_json::to_string(&reply).unwrap_or_default();
                        if let Err(error) =
                            client.publish::<i64, _, _>(nodes_reply(&ask.from), text).await
                        {
                            crate::metrics::adapter_error();
                            tracing::warn!(%error, "could not answer another node");
                        }
                    });
                } else if message.channel == reply_channel.as_str()
                    && let Ok(reply) = serde_json::from_str::<Reply>(&text)
                {
                    pending.deliver(reply);
                }
            }
        });
    }

    /// Asks every other node; their answers, and whether one is missing (did not answer within
    /// [`REQUEST_TIMEOUT`], or Redis could not be asked).
    pub async fn ask(
        &self,
        query: super::nodes::NodeQuery,
    ) -> (Vec<super::nodes::NodeAnswer>, bool) {
        use fred::interfaces::PubsubInterface;
        let listeners = match self.client.pubsub_numsub::<(String, u32), _>(NODES_ASK).await {
            Ok((_, n)) => n.saturating_sub(1) as usize,
            Err(error) => {
                crate::metrics::adapter_error();
                tracing::warn!(%error, "could not count the other nodes");
                return (Vec::new(), true);
            }
        };
        if listeners == 0 {
            return (Vec::new(), false);
        }
        let (id, mut answers) = self.pending.open(listeners);
        let ask = super::nodes::Ask { from: self.id.clone(), id, query };
        let text = serde_json::to_string(&ask).unwrap_or_default();
        if let Err(error) = self.client.publish::<i64, _, _>(NODES_ASK, text).await {
            self.pending.close(id);
            crate::metrics::adapter_error();
            tracing::warn!(%error, "could not ask the other nodes");
            return (Vec::new(), true);
        }
        let mut got = Vec::with_capacity(listeners);
        let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
        while got.len() < listeners {
            match tokio::time::timeout_at(deadline, answers.recv()).await {
                Ok(Some(answer)) => got.push(answer),
                _ => break,
            }
        }
        self.pending.close(id);
        let partial = got.len() < listeners;
        (got, partial)
    }
}

/// How often each node asks the cluster who is online. A node that dies takes its people
/// offline for everyone within this plus [`REQUEST_TIMEOUT`].
pub const PRESENCE_SWEEP: Duration = Duration::from_secs(2);

/// Every [`PRESENCE_SWEEP`], asks every node which people have tabs (the `user:{id}` Socket.IO
/// rooms, through the adapter), tells the domain, and announces as offline whoever had tabs
/// at the previous sweep and has none now. That covers people whose node died without saying
/// goodbye. Every node sweeps, so such news may come once per surviving node; clients take
/// "offline" twice as once.
pub async fn sweep_presence(
    io: socketioxide::SocketIo<ClusterAdapter>,
    chat: std::sync::Arc<crate::domain::Chat>,
    news: super::PresenceNews,
) {
    use app::events::CHAT_NAMESPACE;
    use app::events::presence::Presence;
    use app::model::UserId;

    let mut tick = tokio::time::interval(PRESENCE_SWEEP);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // People found gone whose announcement failed (their name could not be read): tried again
    // at the next sweep unless they came back meanwhile, never dropped.
    let mut unannounced: Vec<UserId> = Vec::new();
    loop {
        tick.tick().await;
        let Some(ns) = io.of(CHAT_NAMESPACE) else { return };
        let rooms = match ns.clone().rooms().await {
            Ok(rooms) => rooms,
            Err(e) => {
                // Redis is away: nobody is declared offline on a guess.
                tracing::warn!(error = %e, "presence sweep skipped: the other nodes cannot be asked");
                continue;
            }
        };
        let online = rooms
            .iter()
            .filter_map(|r| r.strip_prefix("user:"))
            .map(|id| UserId(id.to_owned()))
            .collect();
        let mut gone = chat.report_cluster_presence(online);
        gone.extend(unannounced.drain(..).filter(|u| !chat.is_online(u)));
        for id in gone {
            match chat.person(&id).await {
                Ok(Some(user)) => news.send(Presence { user, online: false }),
                // No such person any more: nobody to announce.
                Ok(None) => {}
                Err(_) => {
                    tracing::warn!(user = %id, "offline announcement postponed to the next sweep");
                    unannounced.push(id);
                }
            }
        }
        unannounced.sort();
        unannounced.dedup();
    }
}
