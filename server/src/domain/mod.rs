//! The chat domain: who is speaking, which rooms exist and who is in them, what a posted message
//! becomes and who must hear of it.
//!
//! Nothing here knows about sockets. Handlers in [`crate::socket`] extract a request, call
//! [`Chat`] and deliver what it returns to an [`Audience`]; this layer is tested on its own
//! against a real store. Persistence goes through the [`Store`] trait; presence and typing are
//! per-node memory.

mod accounts;
pub mod admin;
mod connections;
pub mod files;
pub mod guard;
mod moderation;
mod presence;
mod typing;
pub mod webhooks;

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use app::ChatError;
use app::events::messages::{HistoryPage, SendMessagePayload, SyncPage, ThreadPage};
use app::events::presence::TypingNotice;
use app::events::rooms::{MemberChange, ReadState, RoomList, RoomView};
use app::limits::{HISTORY_PAGE, MAX_HISTORY_SPAN, SYNC_PAGE, UNREAD_COUNT_CAP};
use app::mentions::find_mentions;
use app::model::{
    Attachment, ChatMessage, Member, Mention, RoomId, RoomKind, RoomSummary, UserId, UserRef,
    parse_room_name, reaction_label, validate_body,
};
use app::search::{MAX_SEARCH_CHARS, SEARCH_RESULTS, SearchRequest, SearchResults};
use app::session::Initial;
use uuid::Uuid;

pub use accounts::{
    AccountPolicy, Accounts, Client, DeviceToken, NewSession, SessionDigest, SessionToken,
};
pub use admin::Admin;
pub use connections::Connections;
pub use presence::OnlineTabs;
pub use typing::TypingThrottle;

use crate::store::{
    Appended, MessageChange, MessageToAppend, Reacted, ReadMarker, RoomRecord, Store, StoreError,
};

/// Who a connection speaks for: always the person of a checked session (see [`Accounts`]),
/// never anything a client payload says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The person.
    pub user: UserRef,
    /// Whether the account is a bot's (shown as such to the rooms it joins).
    pub bot: bool,
}

impl Identity {
    fn id(&self) -> &UserId {
        &self.user.id
    }
}

/// Who must receive an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// The members of a group room.
    Room(RoomId),
    /// Every tab of these people (direct rooms).
    People(Vec<UserId>),
}

/// What the caller's connection already tells of its person's place in a room.
///
/// The socket layer keeps every tab of a member, on every node, in the live audience of each
/// group room the person is in, and moves them in or out before a join, leave, removal or
/// deletion is answered (see `socket::handlers::move_tabs`). So a connection that hears a group
/// room speaks for a member: a send or a typing notice from it needs no membership read from the
/// store, which keeps the store's connections free for what must read it. The append still
/// fails if the room is gone. A connection that does not hear the room proves nothing (it may
/// have been opened before a join on another tab), and the store is asked as before; so is
/// every direct room, whose tabs are reached through their people, not a room of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seat {
    /// The connection hears the room's live messages.
    Hears,
    /// Nothing is known: the store says (HTTP callers, webhooks, tests of the domain alone).
    Unknown,
}

impl Seat {
    /// Whether `room` is a group room this seat proves membership of.
    fn proves(self, room: &RoomId) -> bool {
        self == Self::Hears && !room.is_direct()
    }
}

/// What a new connection needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    /// Group rooms the person is a member of (the connection joins their Socket.IO rooms).
    pub rooms: Vec<RoomId>,
    /// Set on the person's very first connection, when they were added to the lobby.
    pub joined_lobby: Option<MemberChange>,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// Store failures are logged here and reach clients only as [`ChatError::Internal`].
pub(crate) fn internal(e: StoreError) -> ChatError {
    tracing::error!(error = %e, "store failure");
    ChatError::Internal
}

fn unknown(room: &RoomId) -> ChatError {
    ChatError::UnknownRoom { room: room.to_string() }
}

/// The refusal for someone who is not in `record`: a public room is listed for everyone, so they
/// learn they are not a member; a private or direct room is, for them, a room that does not
/// exist (the same answer as for a name nobody took), so its existence cannot be probed.
fn outsider(record: &RoomRecord) -> ChatError {
    match record.kind {
        RoomKind::Public => ChatError::NotMember { room: record.id.to_string() },
        RoomKind::Private | RoomKind::Direct => unknown(&record.id),
    }
}

fn read_state(marker: ReadMarker) -> ReadState {
    ReadState {
        room: marker.room,
        read_seq: marker.read_seq,
        unread: marker.unread,
        mentions: marker.mentions,
        muted: marker.muted,
    }
}

/// The limits the domain enforces (configured; see `Config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatLimits {
    /// Group rooms one person may have created and not deleted.
    pub max_rooms_per_person: usize,
    /// Rooms with at most this many members let every member use `@room`; larger ones only
    /// their creator.
    pub room_mention_max_members: usize,
    /// Different emoji one message may carry as reactions.
    pub max_reaction_kinds: usize,
    /// Searches one person may make per minute, all their tabs together.
    pub searches_per_minute: u32,
    /// Searches running at once on this node.
    pub searches_at_once: usize,
}

impl Default for ChatLimits {
    fn default() -> Self {
        Self {
            max_rooms_per_person: 20,
            room_mention_max_members: 50,
            max_reaction_kinds: 8,
            searches_per_minute: 30,
            searches_at_once: 4,
        }
    }
}

/// The chat service.
#[derive(Debug)]
pub struct Chat {
    store: Arc<dyn Store>,
    presence: OnlineTabs,
    typing: TypingThrottle,
    search: guard::SearchGate,
    catching_up: tokio::sync::Semaphore,
    limits: ChatLimits,
}

/// Catch-up work (setting up a connection, history and sync pages) that may use the store at
/// once; live work (sending, editing, reacting) never waits for a turn.
///
/// When every client comes back together (a restart, a network blip), each one sets up its
/// connection and asks for what it missed. Left to the store's few connections, those thousands
/// of reads queue ahead of the messages the clients already back are sending: the
/// reconnect-storm benchmark (`scripts/bench`) measured a p50 of 212 ms and a p99 of 377 ms for
/// those messages. Taking turns, a send waits behind at most this many reads.
///
/// Two, of SQLite's four pooled connections: the other two stay free for live reads, and on a
/// busy core fewer reader threads compete with the one that serves live requests. In the storm
/// (5,000 clients, the server on one core) four turns gave a p99 of 69–103 ms for the messages
/// sent meanwhile and two gave 43–44 ms, with every client back in 2.6–3.0 s and 2.9–3.5 s.
pub const CATCHING_UP_AT_ONCE: usize = 2;

impl Chat {
    /// A chat over `store`, within `limits`.
    pub fn new(store: Arc<dyn Store>, limits: ChatLimits) -> Self {
        Self {
            store,
            presence: OnlineTabs::default(),
            typing: TypingThrottle::default(),
            search: guard::SearchGate::new(limits.searches_per_minute, limits.searches_at_once),
            catching_up: tokio::sync::Semaphore::new(CATCHING_UP_AT_ONCE),
            limits,
        }
    }

    /// Waits for a turn at catch-up work (see [`CATCHING_UP_AT_ONCE`]); it ends when the
    /// permit is dropped. For callers outside `Chat` doing such work (the session check).
    pub async fn catching_up(&self) -> tokio::sync::SemaphorePermit<'_> {
        // The semaphore is never closed, so this always gets a permit.
        match self.catching_up.acquire().await {
            Ok(permit) => permit,
            Err(_) => unreachable!("the catch-up semaphore is never closed"),
        }
    }

    /// The mentions in `body`, resolved against `room`'s members; refused if it uses `@room`
    /// where the caller may not (see [`ChatLimits::room_mention_max_members`]). A body without
    /// `@` costs no query.
    async fn mentions(
        &self,
        who: &Identity,
        record: &RoomRecord,
        body: &str,
    ) -> Result<Vec<Mention>, ChatError> {
        if !body.contains('@') {
            return Ok(Vec::new());
        }
        let members = self.store.members(&record.id).await.map_err(internal)?;
        let mentions = find_mentions(body, &members);
        let everyone = mentions.iter().any(|m| m.user.is_none());
        let max = self.limits.room_mention_max_members;
        if everyone
            && record.kind.is_group()
            && record.members as usize > max
            && record.created_by.as_ref() != Some(who.id())
        {
            return Err(ChatError::RoomMentionForbidden {
                room: record.id.to_string(),
                max_members: max,
            });
        }
        Ok(mentions)
    }

    async fn summary(&self, record: RoomRecord) -> Result<RoomSummary, ChatError> {
        let peers = match record.kind {
            RoomKind::Direct => self.store.members(&record.id).await.map_err(internal)?,
            RoomKind::Public | RoomKind::Private => Vec::new(),
        };
        Ok(RoomSummary {
            id: record.id,
            kind: record.kind,
            members: record.members,
            created_by: record.created_by,
            peers,
        })
    }

    async fn record(&self, room: &RoomId) -> Result<RoomRecord, ChatError> {
        self.store.room(room).await.map_err(internal)?.ok_or_else(|| unknown(room))
    }

    /// A room the caller must be a member of.
    async fn member_room(&self, who: &Identity, room: &RoomId) -> Result<RoomRecord, ChatError> {
        let found = self.store.room_for(room, who.id()).await.map_err(internal)?;
        match found {
            None => Err(unknown(room)),
            Some((record, false)) => Err(outsider(&record)),
            Some((record, true)) => Ok(record),
        }
    }

    /// Who hears of changes in a room: its Socket.IO room, or both people of a direct room.
    async fn audience(&self, record: &RoomRecord) -> Result<Audience, ChatError> {
        Ok(match record.kind {
            RoomKind::Public | RoomKind::Private => Audience::Room(record.id.clone()),
            RoomKind::Direct => {
                let members = self.store.members(&record.id).await.map_err(internal)?;
                Audience::People(members.into_iter().map(|m| m.id).collect())
            }
        })
    }

    /// A connection is opening (its session was checked, so the person exists): make sure they
    /// are in the lobby. Call [`Chat::mark_online`] once nothing else can fail.
    ///
    /// Every tab, and every client after a server restart, comes through here: a person already
    /// in the lobby costs one read (their rooms), not a write. Two first tabs at once may both
    /// try the insert; the store adds them once and only that one announces the arrival.
    #[tracing::instrument(skip_all, fields(user = %who.user.id))]
    pub async fn connect(&self, who: &Identity) -> Result<Connected, ChatError> {
        let _turn = self.catching_up().await;
        let lobby = RoomId::lobby();
        let mut memberships = self.store.memberships(who.id()).await.map_err(internal)?;
        let mut joined_lobby = None;
        if !memberships.contains(&lobby) {
            if self.store.add_member(&lobby, who.id(), now_ms()).await.map_err(internal)? {
                let members = self.record(&lobby).await?.members;
                joined_lobby = Some(MemberChange {
                    room: lobby.clone(),
                    user: who.user.clone(),
                    members,
                    bot: who.bot,
                });
            }
            memberships.push(lobby);
        }
        let rooms = memberships.into_iter().filter(|r| !r.is_direct()).collect();
        Ok(Connected { rooms, joined_lobby })
    }

    /// Counts a new connection unless the person holds `max` already; `Some(true)` if it is
    /// their first tab (they came online), `None` if refused.
    pub fn mark_online(&self, who: &Identity, max: usize) -> Option<bool> {
        self.presence.connect(who.id(), max)
    }

    /// A connection closed; true if it was the person's last tab.
    pub fn disconnect(&self, who: &Identity) -> bool {
        self.presence.disconnect(who.id())
    }

    /// Whether `user` has a connected tab (on any node, as last reported).
    pub fn is_online(&self, user: &UserId) -> bool {
        self.presence.is_online(user)
    }

    /// Records who has a tab anywhere in the cluster; returns who went offline since the last
    /// report (see [`OnlineTabs::report_cluster`]).
    pub fn report_cluster_presence(
        &self,
        online: std::collections::HashSet<UserId>,
    ) -> Vec<UserId> {
        self.presence.report_cluster(online)
    }

    /// A person by id, for presence news about someone not connected here.
    pub async fn person(&self, id: &UserId) -> Result<Option<UserRef>, ChatError> {
        self.store.user(id).await.map_err(internal)
    }

    /// The sidebar: public rooms, the caller's private and direct rooms, and what they joined.
    /// A fixed number of queries however many direct rooms the caller has.
    pub async fn list_rooms(&self, who: &Identity) -> Result<RoomList, ChatError> {
        let records = self.store.rooms_visible_to(who.id()).await.map_err(internal)?;
        let mut peers: std::collections::HashMap<RoomId, Vec<UserRef>> =
            std::collections::HashMap::new();
        for (room, person) in self.store.direct_peers(who.id()).await.map_err(internal)? {
            peers.entry(room).or_default().push(person);
        }
        let rooms = records
            .into_iter()
            .map(|record| RoomSummary {
                peers: match record.kind {
                    RoomKind::Direct => peers.remove(&record.id).unwrap_or_default(),
                    RoomKind::Public | RoomKind::Private => Vec::new(),
                },
                id: record.id,
                kind: record.kind,
                members: record.members,
                created_by: record.created_by,
            })
            .collect();
        let joined = self.store.memberships(who.id()).await.map_err(internal)?;
        let read = self
            .store
            .read_states(who.id(), None, UNREAD_COUNT_CAP)
            .await
            .map_err(internal)?
            .into_iter()
            .map(read_state)
            .collect();
        Ok(RoomList { me: who.user.clone(), rooms, joined, read, admin: false })
    }

    /// Records that the caller has seen `room` up to `seq`; returns their read state there and
    /// who must hear of it (their own other tabs).
    #[tracing::instrument(skip_all, fields(user = %who.user.id, room = %room, seq))]
    pub async fn mark_read(
        &self,
        who: &Identity,
        room: &RoomId,
        seq: u64,
    ) -> Result<(ReadState, Audience), ChatError> {
        self.member_room(who, room).await?;
        self.store.mark_read(room, who.id(), seq).await.map_err(|e| match e {
            // Left the room meanwhile.
            StoreError::NotFound => ChatError::NotMember { room: room.to_string() },
            e => internal(e),
        })?;
        self.own_read_state(who, room).await
    }

    /// Creates a group room named `name` (public, or `private`: by invitation) with the caller as
    /// its first member.
    #[tracing::instrument(skip_all, fields(user = %who.user.id, name))]
    pub async fn create_room(
        &self,
        who: &Identity,
        name: &str,
        private: bool,
    ) -> Result<RoomSummary, ChatError> {
        let id = parse_room_name(name)?;
        let created = self.store.rooms_created_by(who.id()).await.map_err(internal)?;
        if usize::try_from(created).unwrap_or(usize::MAX) >= self.limits.max_rooms_per_person {
            return Err(ChatError::TooManyRooms { max: self.limits.max_rooms_per_person });
        }
        let kind = if private { RoomKind::Private } else { RoomKind::Public };
        let now = now_ms();
        self.store.create_room(&id, kind, Some(who.id()), now).await.map_err(|e| match e {
            StoreError::Conflict => ChatError::RoomExists { room: id.to_string() },
            e => internal(e),
        })?;
        self.store.add_member(&id, who.id(), now).await.map_err(internal)?;
        let record = self.record(&id).await?;
        self.summary(record).await
    }

    /// Joins a public room; the change is `None` if the caller was a member already.
    #[tracing::instrument(skip_all, fields(user = %who.user.id, room = %room))]
    pub async fn join(
        &self,
        who: &Identity,
        room: &RoomId,
    ) -> Result<(RoomView, Option<MemberChange>), ChatError> {
        let record = self.record(room).await?;
        let member = self.store.is_member(room, who.id()).await.map_err(internal)?;
        // Direct rooms are entered with `dm:open`, private ones by invitation only.
        if record.kind != RoomKind::Public && !member {
            return Err(outsider(&record));
        }
        let added = self.store.add_member(room, who.id(), now_ms()).await.map_err(|e| match e {
            StoreError::NotFound => unknown(room),
            e => internal(e),
        })?;
        let view = self.room_view(who, room).await?;
        let change = added.then(|| MemberChange {
            room: room.clone(),
            user: who.user.clone(),
            members: view.room.members,
            bot: who.bot,
        });
        Ok((view, change))
    }

    /// Leaves a group room (never the lobby).
    #[tracing::instrument(skip_all, fields(user = %who.user.id, room = %room))]
    pub async fn leave(
        &self,
        who: &Identity,
        room: &RoomId,
    ) -> Result<(RoomSummary, Option<MemberChange>), ChatError> {
        let record = self.record(room).await?;
        if record.kind != RoomKind::Public
            && !self.store.is_member(room, who.id()).await.map_err(internal)?
        {
            return Err(outsider(&record));
        }
        if !record.kind.is_group() || *room == RoomId::lobby() {
            return Err(ChatError::Forbidden { room: room.to_string() });
        }
        let removed = self.store.remove_member(room, who.id()).await.map_err(internal)?;
        let summary = self.summary(self.record(room).await?).await?;
        let change = removed.then(|| MemberChange {
            room: room.clone(),
            user: who.user.clone(),
            members: summary.members,
            bot: who.bot,
        });
        Ok((summary, change))
    }

    /// Makes the caller a member of `room` again after a [`Chat::leave`] whose live part (moving
    /// their connections out of the room) failed, so the store and the live rooms agree.
    #[tracing::instrument(skip_all, fields(user = %who.user.id, room = %room))]
    pub async fn undo_leave(&self, who: &Identity, room: &RoomId) -> Result<(), ChatError> {
        self.store.add_member(room, who.id(), now_ms()).await.map_err(internal)?;
        Ok(())
    }

    /// Deletes a group room; only its creator may. Returns who must hear of it.
    #[tracing::instrument(skip_all, fields(user = %who.user.id, room = %room))]
    pub async fn delete_room(&self, who: &Identity, room: &RoomId) -> Result<RoomKind, ChatError> {
        let record = self.record(room).await?;
        if record.kind != RoomKind::Public
            && !self.store.is_member(room, who.id()).await.map_err(internal)?
        {
            return Err(outsider(&record));
        }
        if !record.kind.is_group() || record.created_by.as_ref() != Some(who.id()) {
            return Err(ChatError::Forbidden { room: room.to_string() });
        }
        self.store.delete_room(room).await.map_err(internal)?;
        Ok(record.kind)
    }

    /// Deletes a public or private room whoever made it (a moderator's deletion: the caller
    /// checks the role). Returns its kind and creator. The lobby and direct rooms: `forbidden`.
    pub async fn remove_room(
        &self,
        room: &RoomId,
    ) -> Result<(RoomKind, Option<UserId>), ChatError> {
        let record = self.record(room).await?;
        if !record.kind.is_group() || *room == RoomId::lobby() {
            return Err(ChatError::Forbidden { room: room.to_string() });
        }
        self.store.delete_room(room).await.map_err(internal)?;
        Ok((record.kind, record.created_by))
    }

    /// Adds `user` to a private room the caller is a member of. `None` if they were a member.
    #[tracing::instrument(skip_all, fields(user = %who.user.id, room = %room, invitee = %user))]
    pub async fn invite(
        &self,
        who: &Identity,
        room: &RoomId,
        user: &UserId,
    ) -> Result<(RoomView, Option<MemberChange>), ChatError> {
        let record = self.member_room(who, room).await?;
        if record.kind != RoomKind::Private {
            return Err(ChatError::Forbidden { room: room.to_string() });
        }
        let invitee = self
            .store
            .user(user)
            .await
            .map_err(internal)?
            .ok_or_else(|| ChatError::UnknownUser { user: user.to_string() })?;
        let added = self.store.add_member(room, user, now_ms()).await.map_err(internal)?;
        let view = self.room_view(who, room).await?;
        let bot = view.members.iter().any(|m| m.user.id == *user && m.bot);
        let change = added.then(|| MemberChange {
            room: room.clone(),
            user: invitee,
            members: view.room.members,
            bot,
        });
        Ok((view, change))
    }

    /// How long one round trip to the store takes now.
    pub async fn probe_store(&self) -> Result<std::time::Duration, ChatError> {
        let started = Instant::now();
        self.store.ping().await.map_err(internal)?;
        Ok(started.elapsed())
    }

    /// A room the caller is in, with its members (online first, then by name).
    pub async fn room_view(&self, who: &Identity, room: &RoomId) -> Result<RoomView, ChatError> {
        let record = self.member_room(who, room).await?;
        let members = self.store.member_roles(room).await.map_err(internal)?;
        let mut members: Vec<Member> = members
            .into_iter()
            .map(|m| Member {
                online: self.presence.is_online(&m.user.id),
                bot: m.bot,
                moderator: m.moderator,
                user: m.user,
            })
            .collect();
        members.sort_by(|a, b| {
            b.online.cmp(&a.online).then_with(|| a.user.name.as_str().cmp(b.user.name.as_str()))
        });
        Ok(RoomView { room: self.summary(record).await?, members })
    }

    /// The direct room between the caller and `peer`, created on first use. The flag is true when
    /// it was created now (both people should hear of it).
    #[tracing::instrument(skip_all, fields(user = %who.user.id, peer = %peer))]
    pub async fn open_direct(
        &self,
        who: &Identity,
        peer: &UserId,
    ) -> Result<(RoomSummary, bool), ChatError> {
        if peer == who.id() {
            return Err(ChatError::UnknownUser { user: peer.to_string() });
        }
        self.store
            .user(peer)
            .await
            .map_err(internal)?
            .ok_or_else(|| ChatError::UnknownUser { user: peer.to_string() })?;
        let id = RoomId::direct(who.id(), peer);
        let now = now_ms();
        let created = match self.store.create_room(&id, RoomKind::Direct, Some(who.id()), now).await
        {
            Ok(()) => true,
            Err(StoreError::Conflict) => false,
            Err(e) => return Err(internal(e)),
        };
        for user in [who.id(), peer] {
            self.store.add_member(&id, user, now).await.map_err(internal)?;
        }
        let summary = self.summary(self.record(&id).await?).await?;
        Ok((summary, created))
    }

    /// Stores a message and says who must receive it: `None` when it is a retry (the same
    /// author, room and id as a message stored before), which returns the stored message and
    /// must not be delivered again. An id that belongs to any other message is refused with
    /// [`ChatError::MessageIdTaken`].
    #[tracing::instrument(skip_all, fields(user = %who.user.id, room = %request.room, id = %request.id))]
    pub async fn post(
        &self,
        who: &Identity,
        request: SendMessagePayload,
        seat: Seat,
    ) -> Result<(ChatMessage, Option<Audience>), ChatError> {
        let body = validate_body(&request.body)?;
        self.post_message(who, request.id, request.room, body, request.thread, None, seat).await
    }

    /// A shared file (its bytes stored already) posted as message `id` with `caption`: a
    /// message like any other (idempotent by id, acked after commit, replayed on resume).
    pub async fn share_file(
        &self,
        who: &Identity,
        id: Uuid,
        room: RoomId,
        caption: &str,
        thread: Option<Uuid>,
        attachment: Attachment,
    ) -> Result<(ChatMessage, Option<Audience>), ChatError> {
        let caption =
            if caption.trim().is_empty() { String::new() } else { validate_body(caption)? };
        self.post_message(who, id, room, caption, thread, Some(attachment), Seat::Unknown).await
    }

    /// The file message `id` carries, for a download by `who`: only a member of its room gets
    /// it (the rule history follows), and never once the message is deleted. Anything else is
    /// `UnknownMessage`, so nobody can probe which files exist.
    pub async fn attachment(&self, who: &UserId, id: Uuid) -> Result<Attachment, ChatError> {
        let unknown = ChatError::UnknownMessage { id };
        let Some(message) = self.store.message(id).await.map_err(internal)? else {
            return Err(unknown);
        };
        let Some(attachment) = message.attachment.filter(|_| !message.deleted) else {
            return Err(unknown);
        };
        if !self.store.is_member(&message.room, who).await.map_err(internal)? {
            return Err(unknown);
        }
        Ok(attachment)
    }

    /// A message of `who`'s, if stored (a file upload's finish retried after its ack was lost).
    pub async fn own_message(
        &self,
        who: &Identity,
        id: Uuid,
    ) -> Result<Option<ChatMessage>, ChatError> {
        Ok(self.stored_message(id).await?.filter(|m| m.author.id == *who.id()))
    }

    /// The message stored under `id`, whoever wrote it (for checks only: it is not shown).
    pub async fn stored_message(&self, id: Uuid) -> Result<Option<ChatMessage>, ChatError> {
        self.store.message(id).await.map_err(internal)
    }

    /// Checks that `who` may post in `room` (is a member).
    pub async fn check_member(&self, who: &Identity, room: &RoomId) -> Result<(), ChatError> {
        self.member_room(who, room).await.map(|_| ())
    }

    /// The store (for the file service, which keeps its quota there).
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Stores message `id` (a text, or a file with its caption) and says who must hear of it:
    /// `None` for a retry, whose audience heard of it the first time.
    ///
    /// The room's record is read only when something needs it: membership the [`Seat`] does
    /// not prove, or mentions (whose rules depend on the room's size and creator).
    #[allow(clippy::too_many_arguments)]
    async fn post_message(
        &self,
        who: &Identity,
        id: Uuid,
        room: RoomId,
        body: String,
        thread: Option<Uuid>,
        attachment: Option<Attachment>,
        seat: Seat,
    ) -> Result<(ChatMessage, Option<Audience>), ChatError> {
        let record = if seat.proves(&room) && !body.contains('@') {
            None
        } else {
            Some(self.member_room(who, &room).await?)
        };
        if let Some(parent) = thread
            && !self.can_start_thread(parent, &room).await?
        {
            // A retry of a reply stored before its thread became unusable is still a retry.
            return match self.store.message(id).await.map_err(internal)? {
                Some(stored) if stored.author.id == *who.id() && stored.room == room => {
                    Ok((stored, None))
                }
                _ => Err(ChatError::NotAThread { id: parent }),
            };
        }
        let mentions = match &record {
            Some(record) => self.mentions(who, record, &body).await?,
            None => Vec::new(),
        };
        let asked = room.clone();
        let appended = self
            .store
            .append(MessageToAppend {
                id,
                room,
                author: who.user.clone(),
                body,
                mentions,
                thread,
                sent_at_ms: now_ms(),
                attachment,
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict => ChatError::MessageIdTaken { id },
                // Deleted since its members' tabs were last moved.
                StoreError::NotFound => unknown(&asked),
                e => internal(e),
            })?;
        Ok(match appended {
            Appended::New(message) => {
                self.typing.reset(who.id(), &message.room);
                let audience = match &record {
                    Some(record) => self.audience(record).await?,
                    None => Audience::Room(message.room.clone()),
                };
                (message, Some(audience))
            }
            Appended::Retry(message) => (message, None),
        })
    }

    /// Whether `parent` can take a reply in `room`: it is there, not deleted, not a reply.
    async fn can_start_thread(&self, parent: Uuid, room: &RoomId) -> Result<bool, ChatError> {
        let parent = self.store.message(parent).await.map_err(internal)?;
        Ok(parent.is_some_and(|p| p.room == *room && p.thread.is_none() && !p.deleted))
    }

    /// The message a newly stored reply answers, as it stands now (its reply count changed):
    /// the reply's audience must hear of it too. `None` for a message that is not a reply.
    pub async fn thread_parent(
        &self,
        reply: &ChatMessage,
    ) -> Result<Option<ChatMessage>, ChatError> {
        let Some(parent) = reply.thread else { return Ok(None) };
        self.store.message(parent).await.map_err(internal)
    }

    /// A page of a thread's replies for a member of its room: the newest, or the one before
    /// `before`, with the message that started it.
    pub async fn thread(
        &self,
        who: &Identity,
        parent: Uuid,
        before: Option<u64>,
    ) -> Result<ThreadPage, ChatError> {
        let unknown = || ChatError::UnknownMessage { id: parent };
        let message = self.store.message(parent).await.map_err(internal)?.ok_or_else(unknown)?;
        self.member_room(who, &message.room).await.map_err(|_| unknown())?;
        if message.thread.is_some() {
            return Err(ChatError::NotAThread { id: parent });
        }
        let slice = self.store.thread(parent, before, HISTORY_PAGE).await.map_err(|e| match e {
            StoreError::NotFound => unknown(),
            e => internal(e),
        })?;
        let page = HistoryPage {
            room: message.room.clone(),
            messages: slice.messages,
            has_more: slice.has_more,
            rev: slice.rev,
        };
        Ok(ThreadPage { parent: message, page })
    }

    /// A page of a room's history for a member: the newest, or the one before `before`; with
    /// `back_to` (and `before`), long enough to reach back to that sequence number, up to
    /// [`MAX_HISTORY_SPAN`] messages.
    pub async fn history(
        &self,
        who: &Identity,
        room: &RoomId,
        before: Option<u64>,
        back_to: Option<u64>,
    ) -> Result<HistoryPage, ChatError> {
        let _turn = self.catching_up().await;
        self.member_room(who, room).await?;
        // Sequence numbers count thread replies too, which the room's own timeline leaves out,
        // so `before - back_to` messages always reach `back_to` (or the beginning).
        let limit = match (before, back_to) {
            (Some(before), Some(to)) if to < before => {
                u32::try_from(before - to).unwrap_or(u32::MAX).clamp(HISTORY_PAGE, MAX_HISTORY_SPAN)
            }
            _ => HISTORY_PAGE,
        };
        let slice = self.store.history(room, before, limit).await.map_err(internal)?;
        Ok(HistoryPage {
            room: room.clone(),
            messages: slice.messages,
            has_more: slice.has_more,
            rev: slice.rev,
        })
    }

    /// Messages matching `request`'s words in the rooms `who` is a member of (see
    /// [`app::search`]). Validated first (length, at least one word, membership of the room
    /// filtered on), then counted against the person's and the node's search bounds.
    pub async fn search(
        &self,
        who: &Identity,
        request: &SearchRequest,
    ) -> Result<SearchResults, ChatError> {
        let len = request.text.chars().count();
        if len > MAX_SEARCH_CHARS {
            return Err(ChatError::SearchTooLong { len, max: MAX_SEARCH_CHARS });
        }
        let terms = app::search::terms(&request.text);
        if terms.is_empty() {
            return Err(ChatError::EmptySearch);
        }
        let _turn = self.search.enter(who.id()).await?;
        if let Some(room) = &request.room {
            self.member_room(who, room).await?;
        }
        let mut hits = self
            .store
            .search(
                who.id(),
                &terms,
                request.room.as_ref(),
                request.from.as_ref(),
                SEARCH_RESULTS + 1,
            )
            .await
            .map_err(internal)?;
        let more = hits.len() > SEARCH_RESULTS as usize;
        hits.truncate(SEARCH_RESULTS as usize);
        Ok(SearchResults { hits, more, terms })
    }

    /// What changed in a room after `after_rev`, for a member resuming.
    pub async fn sync(
        &self,
        who: &Identity,
        room: &RoomId,
        after_rev: u64,
    ) -> Result<SyncPage, ChatError> {
        let _turn = self.catching_up().await;
        self.member_room(who, room).await?;
        let mut changes =
            self.store.changes(room, after_rev, SYNC_PAGE + 1).await.map_err(internal)?;
        let more = changes.len() > SYNC_PAGE as usize;
        changes.truncate(SYNC_PAGE as usize);
        Ok(SyncPage { room: room.clone(), changes, more })
    }

    /// Replaces the text of the caller's own message; returns it changed and who must hear of it.
    #[tracing::instrument(skip_all, fields(user = %who.user.id, id = %id))]
    pub async fn edit_message(
        &self,
        who: &Identity,
        id: Uuid,
        body: &str,
    ) -> Result<(ChatMessage, Audience), ChatError> {
        let body = validate_body(body)?;
        self.change_message(who, id, Some(body)).await
    }

    /// Deletes the caller's own message (its text is cleared; its place in the room stays);
    /// returns it changed and who must hear of it.
    #[tracing::instrument(skip_all, fields(user = %who.user.id, id = %id))]
    pub async fn delete_message(
        &self,
        who: &Identity,
        id: Uuid,
    ) -> Result<(ChatMessage, Audience), ChatError> {
        self.change_message(who, id, None).await
    }

    /// Removes any message, as a moderator (the caller has checked the role): deleted like its
    /// author would, marked as a moderator's doing. Returns it and who must hear of it.
    pub async fn remove_message(&self, id: Uuid) -> Result<(ChatMessage, Audience), ChatError> {
        let unknown = || ChatError::UnknownMessage { id };
        let message = self.store.message(id).await.map_err(internal)?.ok_or_else(unknown)?;
        if message.deleted {
            return Err(unknown());
        }
        let record = self.store.room(&message.room).await.map_err(internal)?.ok_or_else(unknown)?;
        // The author is immutable, so this is the author condition the store's write checks.
        let changed = self
            .store
            .change_message(id, &message.author.id, MessageChange::Remove { by: None }, now_ms())
            .await
            .map_err(|e| match e {
                StoreError::NotFound => unknown(),
                e => internal(e),
            })?;
        Ok((changed, self.audience(&record).await?))
    }

    /// Edits (`Some` new body) or deletes the caller's own message.
    async fn change_message(
        &self,
        who: &Identity,
        id: Uuid,
        edit: Option<String>,
    ) -> Result<(ChatMessage, Audience), ChatError> {
        let not_yours = || ChatError::NotAuthor { id };
        let message = self.store.message(id).await.map_err(internal)?.ok_or_else(not_yours)?;
        // Someone else's message, or one in a room the caller has left: same refusal, so ids
        // reveal nothing.
        if message.author.id != *who.id() || message.deleted {
            return Err(not_yours());
        }
        let record = self.member_room(who, &message.room).await.map_err(|_| not_yours())?;
        let change = match edit {
            Some(body) => {
                let mentions = self.mentions(who, &record, &body).await?;
                MessageChange::Edit { body, mentions }
            }
            None => MessageChange::Delete,
        };
        // The store checks author and deletion again in the write: a delete that lands between
        // the read above and this write wins, and the edit is refused.
        let changed = self.store.change_message(id, who.id(), change, now_ms()).await.map_err(
            |e| match e {
                StoreError::NotFound => not_yours(),
                e => internal(e),
            },
        )?;
        Ok((changed, self.audience(&record).await?))
    }

    /// Adds or removes the caller's reaction to a message in a room they are in. The message's
    /// audience must hear of it only when something changed (`Some`).
    #[tracing::instrument(skip_all, fields(user = %who.user.id, id = %id))]
    pub async fn react(
        &self,
        who: &Identity,
        id: Uuid,
        emoji: &str,
        on: bool,
    ) -> Result<(ChatMessage, Option<Audience>), ChatError> {
        if reaction_label(emoji).is_none() {
            return Err(ChatError::UnknownReaction { emoji: emoji.chars().take(16).collect() });
        }
        let unknown = || ChatError::UnknownMessage { id };
        let message = self.store.message(id).await.map_err(internal)?.ok_or_else(unknown)?;
        // A message in a room the caller is not in does not exist for them.
        let record = self.member_room(who, &message.room).await.map_err(|_| unknown())?;
        if message.deleted {
            return Err(unknown());
        }
        let max = self.limits.max_reaction_kinds;
        match self.store.react(id, who.id(), emoji, on, max, now_ms()).await {
            Ok(Reacted::Changed(message)) => Ok((message, Some(self.audience(&record).await?))),
            Ok(Reacted::Unchanged(message)) => Ok((message, None)),
            Ok(Reacted::TooManyKinds) => Err(ChatError::TooManyReactions { max }),
            Err(StoreError::NotFound) => Err(unknown()),
            Err(e) => Err(internal(e)),
        }
    }

    /// Mutes or unmutes a room's notifications for the caller; their tabs must hear of it.
    #[tracing::instrument(skip_all, fields(user = %who.user.id, room = %room))]
    pub async fn mute(
        &self,
        who: &Identity,
        room: &RoomId,
        muted: bool,
    ) -> Result<(ReadState, Audience), ChatError> {
        self.member_room(who, room).await?;
        self.store.set_muted(room, who.id(), muted).await.map_err(|e| match e {
            StoreError::NotFound => ChatError::NotMember { room: room.to_string() },
            e => internal(e),
        })?;
        self.own_read_state(who, room).await
    }

    async fn own_read_state(
        &self,
        who: &Identity,
        room: &RoomId,
    ) -> Result<(ReadState, Audience), ChatError> {
        let marker = self
            .store
            .read_states(who.id(), Some(room), UNREAD_COUNT_CAP)
            .await
            .map_err(internal)?
            .into_iter()
            .next()
            .ok_or_else(|| ChatError::NotMember { room: room.to_string() })?;
        Ok((read_state(marker), Audience::People(vec![who.id().clone()])))
    }

    /// What the first page shows a returning person: their rooms and `room`'s newest messages
    /// (the lobby's if they are not in `room`). Only for people who connected before.
    pub async fn initial(&self, who: &Identity, room: RoomId) -> Result<Initial, ChatError> {
        if self.store.user(who.id()).await.map_err(internal)?.is_none() {
            return Err(ChatError::UnknownUser { user: who.id().to_string() });
        }
        let rooms = self.list_rooms(who).await?;
        let room = if rooms.joined.contains(&room) { room } else { RoomId::lobby() };
        let history = self.history(who, &room, None, None).await?;
        Ok(Initial { rooms, history })
    }

    /// A typing notice from the caller; `None` if throttled.
    pub async fn typing(
        &self,
        who: &Identity,
        room: &RoomId,
        now: Instant,
        seat: Seat,
    ) -> Result<Option<(TypingNotice, Audience)>, ChatError> {
        let record =
            if seat.proves(room) { None } else { Some(self.member_room(who, room).await?) };
        if !self.typing.admit(who.id(), room, now) {
            return Ok(None);
        }
        let notice = TypingNotice { room: room.clone(), user: who.user.clone() };
        let audience = match &record {
            Some(record) => self.audience(record).await?,
            None => Audience::Room(room.clone()),
        };
        Ok(Some((notice, audience)))
    }
}

/// The domain on its own, over a real (SQLite, temporary) store: no sockets involved.
#[cfg(test)]
mod tests {
    use super::*;
    use app::model::DisplayName;

    async fn chat() -> (Chat, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::store::SqliteStore::open(dir.path()).await.expect("store");
        (
            Chat::new(
                Arc::new(store),
                ChatLimits { max_rooms_per_person: 5, ..ChatLimits::default() },
            ),
            dir,
        )
    }

    async fn person(chat: &Chat, name: &str) -> Identity {
        let user = UserRef::named(DisplayName::parse(name).expect("name"));
        chat.store.create_account(&user, Some("h"), 0).await.expect("account");
        let who = Identity { user, bot: false };
        chat.connect(&who).await.expect("connected");
        who
    }

    fn send(room: &RoomId, id: Uuid, body: &str) -> SendMessagePayload {
        SendMessagePayload { id, room: room.clone(), body: body.to_owned(), thread: None }
    }

    #[tokio::test]
    async fn a_retry_is_answered_but_not_delivered_and_a_foreign_id_is_refused() {
        let (chat, _dir) = chat().await;
        let (ada, bob) = (person(&chat, "Ada").await, person(&chat, "Bob").await);
        let lobby = RoomId::lobby();
        let id = Uuid::now_v7();
        let (first, audience) =
            chat.post(&ada, send(&lobby, id, "hello"), Seat::Unknown).await.expect("posted");
        assert_eq!(audience, Some(Audience::Room(lobby.clone())));
        let (again, audience) =
            chat.post(&ada, send(&lobby, id, "hello?"), Seat::Unknown).await.expect("retry");
        assert_eq!((again, audience), (first, None), "the stored message, delivered to nobody");
        assert_eq!(
            chat.post(&bob, send(&lobby, id, "mine"), Seat::Unknown).await.err(),
            Some(ChatError::MessageIdTaken { id })
        );
    }

    #[tokio::test]
    async fn private_and_direct_rooms_do_not_exist_for_outsiders() {
        let (chat, _dir) = chat().await;
        let (ada, bob, eve) =
            (person(&chat, "Ada").await, person(&chat, "Bob").await, person(&chat, "Eve").await);
        chat.create_room(&ada, "secret", true).await.expect("created");
        let (dm, created) = chat.open_direct(&ada, bob.id()).await.expect("opened");
        assert!(created);
        for room in [RoomId("secret".into()), dm.id.clone()] {
            let unknown = Some(unknown(&room));
            assert_eq!(chat.history(&eve, &room, None, None).await.err(), unknown);
            assert_eq!(chat.join(&eve, &room).await.err(), unknown);
            assert_eq!(chat.leave(&eve, &room).await.err(), unknown);
            assert_eq!(chat.delete_room(&eve, &room).await.err(), unknown);
        }
        // The sidebar gives the direct room's people, from one query.
        let list = chat.list_rooms(&bob).await.expect("rooms");
        let listed = list.rooms.iter().find(|r| r.id == dm.id).expect("listed");
        let peers: Vec<&str> = listed.peers.iter().map(|p| p.id.0.as_str()).collect();
        assert_eq!(peers, ["ada", "bob"]);
        assert!(list.rooms.iter().all(|r| r.id.0 != "secret"));
    }

    /// A send and a typing notice from a connection that hears a group room need nothing from
    /// the store's readers: they go through while a catch-up burst holds every one of them.
    #[tokio::test]
    async fn a_seat_in_a_group_room_is_enough_to_speak_while_readers_are_busy() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(crate::store::SqliteStore::open(dir.path()).await.expect("store"));
        let chat = Chat::new(store.clone(), ChatLimits::default());
        let ada = person(&chat, "Ada").await;
        let lobby = RoomId::lobby();
        let _readers = store.hold_every_reader().await;
        let posted = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            chat.post(&ada, send(&lobby, Uuid::now_v7(), "hi"), Seat::Hears),
        )
        .await
        .expect("the send did not wait for a reader");
        let (message, audience) = posted.expect("posted");
        assert_eq!((message.body.as_str(), audience), ("hi", Some(Audience::Room(lobby.clone()))));
        let typing = chat.typing(&ada, &lobby, Instant::now(), Seat::Hears).await.expect("typing");
        assert_eq!(typing.map(|(_, audience)| audience), Some(Audience::Room(lobby)));
    }

    /// A seat proves nothing about a direct room (its tabs are reached through their people):
    /// an outsider claiming one is refused as if the room did not exist.
    #[tokio::test]
    async fn a_seat_is_never_taken_as_proof_for_a_direct_room() {
        let (chat, _dir) = chat().await;
        let (ada, bob, eve) =
            (person(&chat, "Ada").await, person(&chat, "Bob").await, person(&chat, "Eve").await);
        let (dm, _) = chat.open_direct(&ada, bob.id()).await.expect("opened");
        assert_eq!(
            chat.post(&eve, send(&dm.id, Uuid::now_v7(), "psst"), Seat::Hears).await.err(),
            Some(unknown(&dm.id))
        );
        assert_eq!(
            chat.typing(&eve, &dm.id, Instant::now(), Seat::Hears).await.err(),
            Some(unknown(&dm.id))
        );
        let (_, audience) =
            chat.post(&ada, send(&dm.id, Uuid::now_v7(), "hi"), Seat::Hears).await.expect("sent");
        assert!(matches!(audience, Some(Audience::People(p)) if p.len() == 2));
    }

    /// A mention needs the room's facts (its size and creator), seat or not.
    #[tokio::test]
    async fn a_mention_from_a_seat_still_follows_the_rooms_rules() {
        let (chat, _dir) = chat().await;
        let (ada, bob) = (person(&chat, "Ada").await, person(&chat, "Bob").await);
        let (m, _) = chat
            .post(&ada, send(&RoomId::lobby(), Uuid::now_v7(), "hi @Bob"), Seat::Hears)
            .await
            .expect("sent");
        assert_eq!(
            m.mentions.iter().filter_map(|m| m.user.clone()).collect::<Vec<_>>(),
            [bob.user.id]
        );
    }

    /// A room deleted while its members' tabs still heard it: the send is refused as for any
    /// unknown room, not as a server failure.
    #[tokio::test]
    async fn a_send_from_a_seat_in_a_deleted_room_is_refused_as_unknown() {
        let (chat, _dir) = chat().await;
        let ada = person(&chat, "Ada").await;
        let room = RoomId("tmp".into());
        chat.create_room(&ada, "tmp", false).await.expect("created");
        chat.delete_room(&ada, &room).await.expect("deleted");
        assert_eq!(
            chat.post(&ada, send(&room, Uuid::now_v7(), "hello?"), Seat::Hears).await.err(),
            Some(unknown(&room))
        );
    }

    #[tokio::test]
    async fn an_edit_after_a_delete_is_refused() {
        let (chat, _dir) = chat().await;
        let ada = person(&chat, "Ada").await;
        let (m, _) = chat
            .post(&ada, send(&RoomId::lobby(), Uuid::now_v7(), "x"), Seat::Unknown)
            .await
            .expect("ok");
        chat.delete_message(&ada, m.id).await.expect("deleted");
        assert_eq!(
            chat.edit_message(&ada, m.id, "back").await.err(),
            Some(ChatError::NotAuthor { id: m.id })
        );
    }
}
