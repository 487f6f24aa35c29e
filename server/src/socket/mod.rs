//! The Socket.IO surface: connect middleware, and one small handler per event.
//!
//! Handlers only extract, call the [`crate::domain`] and emit or ack. Every request event is
//! registered through [`on_request`], which ties the wire name, the payload type and the ack type
//! to one [`ClientEvent`] definition from the `app` crate, answers a malformed payload with
//! [`ChatError::InvalidPayload`] instead of dropping it, and runs a change after the connection's
//! earlier changes (see [`order`]).
//!
//! A connection runs, in order: `authenticate` (identity from the session cookie the browser
//! sends with the handshake, see [`crate::cookies`]), `admit` (limits, rooms, handlers,
//! presence), then the `connected` handler. A connection without a valid session is refused with
//! a `connect_error` saying "please sign in"; nothing in the `auth` payload is trusted.
//!
//! People are reached through Socket.IO rooms, never through stored socket ids: every connection
//! joins `user:{id}` (all of a person's tabs), `session:{digest}` (the tabs of one sign-in, closed
//! together on sign-out) and `room:{id}` for each group room its person is in. The tab that made
//! a request learns the outcome from its ack; every other tab, its person's included, from a
//! broadcast.
//!
//! Handlers are registered in `admit`, a middleware, because middlewares run before the client
//! is told it is connected: a request sent right after connecting can never arrive before its
//! handler.

pub mod admin;
pub mod cluster;
mod handlers;
mod limits;
pub mod nodes;
mod order;
pub mod presence;

pub use limits::{ConnectionLimits, RequestLimiter};
pub use presence::{PresenceChanges, PresenceNews};

use std::sync::Arc;

use app::ChatError;
use app::events::messages::NewMessage;
use app::events::presence::Presence;
use app::events::{Ack, CHAT_NAMESPACE, ClientEvent, ConnectAuth, ServerEvent};
use app::model::{ChatMessage, RoomId, UserId};
use app::session::SIGN_IN_REQUIRED;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Extension, MaybeExtension, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
// Not re-exported by socketioxide; `SocketIo::ns` requires it of the adapter.
use socketioxide::operators::BroadcastOperators;
use socketioxide_core::adapter::DefinedAdapter;

use crate::cookies::{client_of, session_token};
use crate::domain::{
    Accounts, Audience, Chat, Connections, Identity, Seat, SessionDigest, SessionToken,
};

/// Why a connection was refused; the text reaches the client as its `connect_error` message.
#[derive(Debug, thiserror::Error)]
pub enum ConnectRefusal {
    /// No session cookie, or one that is unknown, forged, signed out or expired.
    #[error("{}", SIGN_IN_REQUIRED)]
    SignInRequired,
    /// The server failed.
    #[error(transparent)]
    Chat(#[from] ChatError),
    /// The handshake's `auth` is not an object with an optional string `token`.
    #[error("the auth payload must be an object such as {{\"token\": \"parley_bot_…\"}}")]
    InvalidAuth,
    /// Signed in, but not an administrator (at `/admin`).
    #[error("{}", app::events::admin::ADMINS_ONLY)]
    AdminsOnly,
    /// The address or the person holds as many connections as allowed.
    #[error("too many connections {0}")]
    TooManyConnections(&'static str),
}

/// The address a connection comes from (the peer of the TCP connection).
#[derive(Debug, Clone, Copy)]
struct ClientAddr(std::net::IpAddr);

/// When a connection was made (ms since the epoch), for `/admin`'s list.
#[derive(Debug, Clone, Copy)]
struct ConnectedAt(i64);

/// What operators see of the sockets: this node's figures and the way to the other nodes.
#[derive(Clone)]
pub struct Ops {
    /// This node's metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Every node, for `/admin`'s lists.
    pub nodes: nodes::Nodes,
}

/// What a chat room's Socket.IO room is named: this, then the room's id.
const ROOM_KEY_PREFIX: &str = "room:";

/// The Socket.IO room of a chat room's members.
pub fn room_key(room: &RoomId) -> String {
    format!("{ROOM_KEY_PREFIX}{room}")
}

/// The Socket.IO room of the tabs of one session.
pub fn session_key(session: &SessionDigest) -> String {
    format!("session:{}", session.0)
}

/// The Socket.IO room of one person's tabs.
pub fn user_key(user: &UserId) -> String {
    format!("user:{user}")
}

fn audience_keys(audience: &Audience) -> Vec<String> {
    match audience {
        Audience::Room(room) => vec![room_key(room)],
        Audience::People(people) => people.iter().map(user_key).collect(),
    }
}

/// Registers the chat namespace and the administration one ([`admin`]). Any other namespace is
/// refused with a `connect_error`. With a remote adapter the results are the adapter's starts
/// (subscribing to its channels), to be awaited before serving; with the local one, `()`.
pub fn register<A: Adapter + DefinedAdapter>(io: &SocketIo<A>) -> (A::InitRes, A::InitRes) {
    // `with` wraps: the last middleware added runs first.
    let chat = io.ns(CHAT_NAMESPACE, connected::<A>.with(admit::<A>).with(authenticate::<A>));
    (chat, admin::register(io))
}

/// The namespaces whose sockets live on a session.
const SESSION_NAMESPACES: [&str; 2] = [CHAT_NAMESPACE, app::events::admin::ADMIN_NAMESPACE];

/// Sign-out and shutdown close connections through the Socket.IO server, whichever adapter it
/// runs on.
#[async_trait::async_trait]
impl<A: Adapter> Connections for SocketIo<A> {
    async fn close_session(&self, session: &SessionDigest) {
        for namespace in SESSION_NAMESPACES {
            if let Some(ns) = self.of(namespace)
                && let Err(e) = ns.within(session_key(session)).disconnect().await
            {
                // Other nodes close them at their next session check (`end_stale_sessions`).
                tracing::warn!(error = %e, "could not close a signed-out session's sockets everywhere");
            }
        }
    }

    async fn close(&self) {
        SocketIo::close(self).await;
    }

    async fn deliver_new(&self, message: &ChatMessage, audience: &Audience) {
        if let Some(ns) = self.of(CHAT_NAMESPACE) {
            emit::<A, NewMessage>(ns.to(audience_keys(audience)), message).await;
        }
    }
}

/// First middleware: decides who the connection speaks for, from the session cookie alone.
async fn authenticate<A: Adapter>(
    socket: SocketRef<A>,
    State(accounts): State<Arc<Accounts>>,
    State(chat): State<Arc<Chat>>,
    TryData(auth): TryData<ConnectAuth>,
) -> Result<(), ConnectRefusal> {
    // A bot's token, when sent, is the only credential looked at: a wrong one is refused, never
    // passed over for a cookie. It is a session like a cookie's and checked the same way.
    let token = match auth.map_err(|_| ConnectRefusal::InvalidAuth)?.token {
        Some(token) => SessionToken::from_cookie(&token),
        None => session_token(&socket.req_parts().headers).ok_or(ConnectRefusal::SignInRequired)?,
    };
    let identity = {
        // Catch-up work: after a restart every client is checked at once (see `Chat`).
        let _turn = chat.catching_up().await;
        accounts.identity(&token).await?.ok_or(ConnectRefusal::SignInRequired)?
    };
    let digest = token.digest();
    socket.join(session_key(&digest));
    socket.extensions.insert(ConnectedAt(crate::domain::now_ms()));
    if let Some(ip) = client_of(socket.req_parts()).address {
        socket.extensions.insert(ClientAddr(ip));
    }
    // For `end_stale_sessions`: the session this connection lives on.
    socket.extensions.insert(digest);
    socket.extensions.insert(identity);
    Ok(())
}

/// Every `every`, closes this node's connections whose session has ended: expired, or signed
/// out where the news could not reach this node (another node's sign-out during a Redis outage,
/// a session deleted in the database). A session therefore outlives its end on an open socket
/// by at most `every` (plus the store's answer); sign-out on a reachable node closes at once.
pub async fn end_stale_sessions<A: Adapter>(
    io: SocketIo<A>,
    accounts: Arc<Accounts>,
    every: std::time::Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let sockets: Vec<_> = SESSION_NAMESPACES
            .iter()
            .filter_map(|namespace| io.of(*namespace))
            .flat_map(|ns| ns.local().sockets())
            .collect();
        let mut sessions: Vec<SessionDigest> =
            sockets.iter().filter_map(|s| s.extensions.get::<SessionDigest>()).collect();
        sessions.sort_by(|a, b| a.0.cmp(&b.0));
        sessions.dedup();
        let live = match accounts.live_sessions(&sessions).await {
            Ok(live) => live,
            // Logged by the domain; nobody is disconnected on a failed look-up.
            Err(_) => continue,
        };
        for socket in sockets {
            let ended =
                socket.extensions.get::<SessionDigest>().is_some_and(|d| !live.contains(&d));
            if ended {
                tracing::info!(sid = %socket.id, "closing a connection whose session has ended");
                if let Err(e) = socket.disconnect() {
                    tracing::warn!(error = %e, "could not close a connection whose session ended");
                }
            }
        }
    }
}

/// Second middleware: admits the connection within the limits, records the person, joins their
/// rooms, registers the handlers and marks them online. Everything that can fail comes before
/// the presence count.
async fn admit<A: Adapter>(
    socket: SocketRef<A>,
    State(chat): State<Arc<Chat>>,
    State(limits): State<ConnectionLimits>,
    State(news): State<PresenceNews>,
    State(ops): State<Ops>,
    Extension(identity): Extension<Identity>,
) -> Result<(), ConnectRefusal> {
    // The address limit comes before anything is written: a refused connection leaves no trace.
    let ip = socket.extensions.get::<ClientAddr>().map(|a| a.0);
    if let Some(ip) = ip
        && !limits.acquire(ip)
    {
        ops.metrics.refused("connections_per_address");
        return Err(ConnectRefusal::TooManyConnections("from this address"));
    }
    let release = || {
        if let Some(ip) = ip {
            limits.release(ip);
        }
    };
    let from_sibling = sibling_rooms(&socket, &identity.user.id);
    let connected = match from_sibling {
        Some(rooms) => crate::domain::Connected { rooms, joined_lobby: None },
        None => match chat.connect(&identity).await {
            Ok(connected) => connected,
            Err(e) => {
                release();
                return Err(e.into());
            }
        },
    };
    let Some(came_online) = chat.mark_online(&identity, limits.max_per_person) else {
        release();
        ops.metrics.refused("connections_per_person");
        return Err(ConnectRefusal::TooManyConnections("for this person"));
    };
    // In one call: a tab found in the person's room always has its rooms (see `sibling_rooms`).
    let mut keys: Vec<String> = connected.rooms.iter().map(room_key).collect();
    keys.push(user_key(&identity.user.id));
    socket.join(keys);
    handlers::register(&socket);
    on_chunk(&socket);
    socket.on_disconnect(on_disconnect::<A>);
    if let Some(change) = connected.joined_lobby {
        news.joined_lobby(change);
    }
    // The first tab here may not be the first anywhere: ask every node.
    if came_online
        && !has_other_tabs(socket.broadcast(), &identity.user.id, socket.id).await.unwrap_or(false)
    {
        news.send(Presence { user: identity.user.clone(), online: true });
    }
    Ok(())
}

/// The group rooms of `user`, read from another of their tabs on this node, if there is one.
///
/// A member's tabs are in each of their group rooms' Socket.IO rooms, moved on every node
/// before a join, leave, removal or deletion is answered, and a tab joins its person's room
/// together with its rooms; so a further tab (the common case: many tabs, and every tab after
/// a restart) learns its rooms from memory instead of the store, and the person, connected
/// already, is known to be in the lobby. A join whose tabs are being moved at that moment can
/// be missed, as it can between a read of the store and the join of the person's room: the
/// client's next room list or reconnect sets it right.
fn sibling_rooms<A: Adapter>(socket: &SocketRef<A>, user: &UserId) -> Option<Vec<RoomId>> {
    let sibling =
        socket.within(user_key(user)).sockets().into_iter().find(|s| s.id != socket.id)?;
    let rooms = sibling.rooms();
    let mut ids: Vec<RoomId> = rooms
        .iter()
        .filter_map(|key| key.strip_prefix(ROOM_KEY_PREFIX))
        .map(|id| RoomId(id.to_owned()))
        .collect();
    ids.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Some(ids)
}

/// The connect handler, run once the client has been told it is connected.
async fn connected<A: Adapter>(socket: SocketRef<A>, Extension(identity): Extension<Identity>) {
    tracing::debug!(sid = %socket.id, user = %identity.user.id, "connected");
}

/// Whether `user` has a connected tab other than `except`, on any node. With the Redis adapter
/// this asks the other nodes (bounded by the adapter's request timeout); `None` if that failed.
async fn has_other_tabs<A: Adapter>(
    ops: BroadcastOperators<A>,
    user: &UserId,
    except: socketioxide::socket::Sid,
) -> Option<bool> {
    match ops.within(user_key(user)).fetch_sockets().await {
        Ok(sockets) => Some(sockets.iter().any(|s| s.data().id != except)),
        Err(e) => {
            tracing::warn!(error = %e, "could not ask the other nodes about a person's tabs");
            None
        }
    }
}

async fn on_disconnect<A: Adapter>(
    socket: SocketRef<A>,
    io: SocketIo<A>,
    State(chat): State<Arc<Chat>>,
    State(limits): State<ConnectionLimits>,
    State(news): State<PresenceNews>,
    Extension(identity): Extension<Identity>,
    MaybeExtension(addr): MaybeExtension<ClientAddr>,
) {
    if let Some(ClientAddr(ip)) = addr {
        limits.release(ip);
    }
    // Out of the person's room first: socketioxide removes a closing socket from its rooms only
    // after this handler, and a tab opening on another node meanwhile would count this one as
    // still there and not announce itself (while this one, not seeing it yet, announces the
    // person offline). Leaving first, whichever check runs second sees the other's truth.
    socket.leave(user_key(&identity.user.id));
    if chat.disconnect(&identity) {
        let Some(ns) = io.of(CHAT_NAMESPACE) else { return };
        // Tabs on other nodes keep the person online. If the nodes could not be asked, the
        // cluster's presence sweep (see `cluster`) sends the news once they can. `deliver`
        // checks the news again before sending it.
        if has_other_tabs(ns, &identity.user.id, socket.id).await == Some(false) {
            news.send(Presence { user: identity.user, online: false });
        }
    }
}

/// Emits a typed server event. A failed broadcast is logged as a warning: the change is stored
/// and recipients catch up when they next resume, but an operator must see that live delivery
/// failed (typically the Redis adapter unreachable, so other nodes' clients missed it).
async fn emit<A: Adapter, E: ServerEvent>(to: BroadcastOperators<A>, payload: &E::Payload) {
    if let Err(e) = to.emit(E::NAME, payload).await {
        crate::metrics::adapter_error();
        tracing::warn!(event = E::NAME, error = %e, "broadcast failed; recipients see it on resume");
    }
}

/// Emits `E` to an audience, leaving out the tab that caused it (it has its ack).
async fn emit_to<A: Adapter, E: ServerEvent>(
    socket: &SocketRef<A>,
    audience: &Audience,
    payload: &E::Payload,
) {
    emit::<A, E>(socket.to(audience_keys(audience)), payload).await;
}

/// Who sent a request, through which socket, and what answering it may use: the context
/// every request handler gets.
pub struct Caller<A: Adapter> {
    /// The requesting socket.
    pub socket: SocketRef<A>,
    /// The whole server, to move other sockets between rooms. Always go through
    /// `io.of(CHAT_NAMESPACE)`: the bare `io.within(..)` means the `/` namespace, which Parley
    /// does not serve.
    pub io: SocketIo<A>,
    /// Who is asking.
    pub identity: Identity,
    /// The domain.
    pub chat: Arc<Chat>,
    /// Uploads.
    pub files: Arc<crate::domain::files::Files>,
    /// Roles (the room list says whether the caller is an administrator).
    pub admin: Arc<crate::domain::Admin>,
    /// Metrics and the other nodes.
    pub ops: Ops,
}

impl<A: Adapter> Caller<A> {
    /// What the requesting connection tells of its person's place in `room`: whether it is in
    /// the room's Socket.IO room (see [`Seat`]). A look-up in this node's memory.
    fn seat(&self, room: &RoomId) -> Seat {
        let key = room_key(room);
        if self.socket.rooms().iter().any(|joined| *joined == key) {
            Seat::Hears
        } else {
            Seat::Unknown
        }
    }
}

/// Registers the `file:chunk` handler: two arguments, the [`ChunkHeader`] and the bytes (a
/// binary attachment). Chunks are not counted against the request rate (a 50 MB file is a
/// thousand of them, each waiting for the last one's ack, bounded by the uploads a person may
/// have at once); a refused chunk is, so a client cannot flood refusals.
///
/// [`ChunkHeader`]: app::events::files::ChunkHeader
fn on_chunk<A: Adapter>(socket: &SocketRef<A>) {
    use app::events::files::{ChunkHeader, UploadChunk};
    socket.on(
        <UploadChunk as ClientEvent>::NAME,
        move |State(files): State<Arc<crate::domain::files::Files>>,
              State(limiter): State<RequestLimiter>,
              Extension(identity): Extension<Identity>,
              TryData(payload): TryData<(ChunkHeader, bytes::Bytes)>,
              ack: AckSender<A>| async move {
            let result: Ack<UploadChunk> = match payload {
                Ok((header, bytes)) => files.chunk(&identity, header, &bytes).await,
                Err(e) => Err(ChatError::InvalidPayload { reason: e.to_string() }),
            };
            let result = match result {
                Err(e) => Err(limiter.check(&identity.user.id).err().unwrap_or(e)),
                ok => ok,
            };
            if let Err(e) = ack.send(&result) {
                tracing::debug!(event = "file:chunk", error = %e, "could not send ack");
            }
        },
    );
}

/// Whether a request waits for the connection's earlier changes (see [`order`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// It changes something: it takes effect after the changes the connection sent before it.
    Change,
    /// It only reads (or starts something transient, like typing): it runs at once.
    Read,
}

/// Registers `handler` for the request event `E`: decodes `E::Payload`, passes the caller's
/// context (after the connection's earlier changes, for a [`Kind::Change`]), and acks with `E`'s
/// ack type.
fn on_request<A, E, F, Fut>(socket: &SocketRef<A>, kind: Kind, handler: F)
where
    A: Adapter,
    E: ClientEvent,
    F: Fn(Caller<A>, E::Payload) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Ack<E>> + Send + 'static,
{
    socket.on(
        E::NAME,
        move |socket: SocketRef<A>,
              io: SocketIo<A>,
              State(chat): State<Arc<Chat>>,
              State(files): State<Arc<crate::domain::files::Files>>,
              State(admin): State<Arc<crate::domain::Admin>>,
              State(limiter): State<RequestLimiter>,
              State(ops): State<Ops>,
              Extension(identity): Extension<Identity>,
              TryData(payload): TryData<E::Payload>,
              ack: AckSender<A>| {
            let handler = handler.clone();
            // Here, not in the task: this part runs in the order the packets arrived.
            let turn = (kind == Kind::Change).then(|| order::take_turn(&socket));
            async move {
                let mut turn = turn;
                if let Some(turn) = &mut turn {
                    turn.start().await;
                }
                let started = std::time::Instant::now();
                let metrics = Arc::clone(&ops.metrics);
                let result = match (limiter.check(&identity.user.id), payload) {
                    (Err(refused), _) => {
                        metrics.refused("requests");
                        Err(refused)
                    }
                    (Ok(()), Ok(payload)) => {
                        let caller = Caller { socket, io, identity, chat, files, admin, ops };
                        handler(caller, payload).await
                    }
                    (Ok(()), Err(e)) => Err(ChatError::InvalidPayload { reason: e.to_string() }),
                };
                let outcome = match &result {
                    Ok(_) => "ok",
                    Err(e) => {
                        tracing::debug!(event = E::NAME, error = %e, "request refused");
                        crate::metrics::outcome_of(e)
                    }
                };
                metrics.request(E::NAME, outcome, started.elapsed());
                if let Err(e) = ack.send(&result) {
                    tracing::debug!(event = E::NAME, error = %e, "could not send ack");
                }
                drop(turn);
            }
        },
    );
}
