//! The client's view of the chat as signals: rooms, memberships, timelines, presence, typing,
//! unread counts; and the requests that keep them up to date.
//!
//! This is the reactive layer only. Each room's messages, their order, de-duplication and the
//! resume cursor are a plain [`Timeline`] (unit- and property-tested in `timeline.rs`); here it
//! sits in a signal, and what happens around it (unread counts, typing, retries) is wired up.
//!
//! [`ChatState`] is `Copy` (it only holds signal handles) and provided as context, so any
//! component can read it or send a request through it.

use std::collections::{HashMap, HashSet};

use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::events::ClientEvent;
use crate::events::messages::{
    HistoryPage, HistoryRequest, LoadHistory, LoadThread, SendMessage, SendMessagePayload,
    SyncRequest, SyncRoom, ThreadRequest,
};
use crate::events::rooms::{
    MarkRead, MarkReadPayload, MemberChange, ModeratorChange, ReadState, RoomList, RoomView,
};
use crate::limits::TYPING_EXPIRY_MS;
use crate::model::{ChatMessage, Member, RoomId, RoomKind, RoomSummary, UserId, UserRef};
use crate::socket::{RequestError, Socket, SocketClient};

pub use super::timeline::{Applied, Delivery, Line, MessageLine, Timeline};

/// Milliseconds since the epoch, from the browser's clock (0 during SSR, where nothing ticks).
pub fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

/// Everything the chat UI shows, as signals.
#[derive(Clone, Copy)]
pub struct ChatState {
    pub socket: StoredValue<Option<Socket>>,
    pub me: RwSignal<Option<UserRef>>,
    pub rooms: RwSignal<Vec<RoomSummary>>,
    pub joined: RwSignal<HashSet<RoomId>>,
    pub current: RwSignal<RoomId>,
    pub timelines: RwSignal<HashMap<RoomId, Timeline>>,
    /// A message whose author asked (with Up in an empty composer) to edit it.
    pub edit_request: RwSignal<Option<Uuid>>,
    /// The thread open beside the room (the message it answers), if any.
    pub thread: RwSignal<Option<Uuid>>,
    /// The threads loaded (or written to) so far, by the message they answer.
    pub threads: RwSignal<HashMap<Uuid, Timeline>>,
    /// The room of each thread written to, to resend its unsent replies.
    thread_rooms: StoredValue<HashMap<Uuid, RoomId>>,
    /// Unread messages per room, as the server counts them (then kept up to date live).
    pub unread: RwSignal<HashMap<RoomId, u32>>,
    /// Unread messages that mention the person, per room (the `@` badge), as the server counts
    /// them, then kept up to date live.
    pub mentions: RwSignal<HashMap<RoomId, u32>>,
    /// Rooms the person muted: nothing from them is notified.
    pub muted: RwSignal<HashSet<RoomId>>,
    /// Whether the browser lets Parley notify (read after hydration; asked from a click).
    pub permission: RwSignal<super::notify::Permission>,
    /// The person's read marker per room (the last sequence number read), from the server.
    pub read: RwSignal<HashMap<RoomId, u64>>,
    /// Where the "New messages" divider goes: above the first message after this sequence
    /// number in this room, set when a room with unread messages is opened.
    pub divider: RwSignal<Option<(RoomId, u64)>>,
    /// Whether the page is visible (a hidden tab reads nothing, so its unread counts grow).
    pub visible: RwSignal<bool>,
    /// The newest marker asked for per room, so each message is reported read once.
    asked_read: StoredValue<HashMap<RoomId, u64>>,
    /// Rooms with a `room:mark_read` in flight: one at a time per room, the next (if more was
    /// read meanwhile) sent when its ack comes, so catching up on a hundred messages is one or
    /// two requests, not a hundred.
    reading: StoredValue<HashSet<RoomId>>,
    pub members: RwSignal<Vec<Member>>,
    pub online: RwSignal<HashSet<UserId>>,
    /// Who is typing where, with when their indicator expires (browser ms).
    pub typing: RwSignal<HashMap<RoomId, Vec<(UserRef, f64)>>>,
    /// The last failed request, shown until the next one succeeds or is dismissed.
    pub error: RwSignal<Option<String>>,
    /// News about the room list the reader should not miss ("#ops was deleted by Ada"), shown
    /// until dismissed or the next one.
    pub info: RwSignal<Option<String>>,
    /// Catch-up steps outstanding after a (re)connect: the room list, then every page of every
    /// room's sync. While above zero the message log is `aria-busy` (still being brought up to
    /// date), which screen readers and tests wait for.
    pub catching_up: RwSignal<u32>,
    /// The search whose results are on screen (beside the room, where a thread goes).
    pub search: RwSignal<Option<super::search::Search>>,
    /// A message to bring into view in the room on screen and mark for a moment (an opened
    /// search result).
    pub target: RwSignal<Option<Uuid>>,
    /// Files being uploaded (or waiting for Send) in every room's composer.
    pub uploads: RwSignal<Vec<super::upload::Upload>>,
    /// Whether the connection is up (uploads wait for it instead of retrying into the void).
    pub connected: RwSignal<bool>,
    /// Whether the person is an administrator (from the room list): moderation is offered.
    pub admin: RwSignal<bool>,
    /// The administration panel is open ([`super::admin`]).
    pub admin_open: RwSignal<bool>,
    /// The `/admin` connection, opened once the room list says the person is an administrator.
    admin_socket: StoredValue<Option<Socket>>,
    /// What changed in the room list while a `room:list` was on its way (see [`RoomNews`]).
    news: StoredValue<NewsWhileListing>,
}

/// One change to which rooms the person sees or is in, learned from a broadcast or from the
/// ack of this tab's own request.
///
/// Every (re)connect asks for the whole room list, and its answer replaces the sidebar. The
/// server reads that list at one moment, and a room opened, created, joined, left or deleted
/// around then can reach this tab before the list does while the list was read before it: the
/// list would silently undo it (a direct conversation missing until the next reload, a room
/// just created gone from under its creator). So each change is applied at once and, while a
/// list is on its way, also kept; once the list is in, the kept changes are applied again on
/// top of it, in the order they came. Each one sets a room to a state (it does not toggle), so
/// applying one the list already reflects changes nothing, and the last word on each room wins.
#[derive(Debug, Clone)]
pub enum RoomNews {
    /// The person is in this room (created, joined, a direct conversation, added to it).
    Member(RoomSummary),
    /// The person is in this room, known by id only (another tab of theirs joined it).
    MemberOf(RoomId),
    /// Listed, the person's membership unchanged (someone created a public room; the person
    /// left one, which comes with [`RoomNews::NotMember`]).
    Listed(RoomSummary),
    /// Still listed, the person no longer in it (removed from a public room, left elsewhere).
    NotMember(RoomId),
    /// Gone from the person's list (deleted, or removed from a private room).
    Gone(RoomId),
}

/// Room-list requests on their way and the [`RoomNews`] heard since the oldest of them was
/// sent (cleared when the last is in).
#[derive(Debug, Default)]
struct NewsWhileListing {
    lists_pending: u32,
    news: Vec<RoomNews>,
}

impl ChatState {
    pub fn new(socket: Option<Socket>) -> Self {
        Self {
            socket: StoredValue::new(socket),
            me: RwSignal::new(None),
            rooms: RwSignal::new(Vec::new()),
            joined: RwSignal::new(HashSet::new()),
            current: RwSignal::new(RoomId::lobby()),
            timelines: RwSignal::new(HashMap::new()),
            edit_request: RwSignal::new(None),
            thread: RwSignal::new(None),
            threads: RwSignal::new(HashMap::new()),
            thread_rooms: StoredValue::new(HashMap::new()),
            unread: RwSignal::new(HashMap::new()),
            mentions: RwSignal::new(HashMap::new()),
            muted: RwSignal::new(HashSet::new()),
            permission: RwSignal::new(super::notify::Permission::Unsupported),
            read: RwSignal::new(HashMap::new()),
            divider: RwSignal::new(None),
            visible: RwSignal::new(true),
            asked_read: StoredValue::new(HashMap::new()),
            reading: StoredValue::new(HashSet::new()),
            members: RwSignal::new(Vec::new()),
            online: RwSignal::new(HashSet::new()),
            typing: RwSignal::new(HashMap::new()),
            error: RwSignal::new(None),
            info: RwSignal::new(None),
            catching_up: RwSignal::new(0),
            search: RwSignal::new(None),
            target: RwSignal::new(None),
            uploads: RwSignal::new(Vec::new()),
            connected: RwSignal::new(false),
            admin: RwSignal::new(false),
            admin_open: RwSignal::new(false),
            admin_socket: StoredValue::new(None),
            news: StoredValue::new(NewsWhileListing::default()),
        }
    }

    /// Sends `E` and hands its outcome to `done` (in the browser; never during SSR). A request
    /// refused by the rate limit was not carried out, so it is sent again once the limit allows.
    pub fn request<E: ClientEvent>(
        self,
        payload: E::Payload,
        done: impl FnOnce(Result<E::Ok, RequestError>) + 'static,
    ) {
        self.attempt::<E>(payload, Box::new(done), 5);
    }

    fn attempt<E: ClientEvent>(
        self,
        payload: E::Payload,
        done: Box<dyn FnOnce(Result<E::Ok, RequestError>)>,
        retries: u32,
    ) {
        let Some(socket) = self.socket.get_value() else {
            done(Err(RequestError::Unavailable));
            return;
        };
        let ack = socket.request::<E>(&payload);
        spawn_local(async move {
            match ack.await {
                Err(RequestError::Rejected(crate::ChatError::RateLimited { retry_after_ms }))
                    if retries > 0 =>
                {
                    let retry = send_wrapper::SendWrapper::new((payload, done));
                    set_timeout(
                        move || {
                            let (payload, done) = retry.take();
                            self.attempt::<E>(payload, done, retries - 1);
                        },
                        std::time::Duration::from_millis(retry_after_ms),
                    );
                }
                result => done(result),
            }
        });
    }

    /// Closes the `/admin` connection (signed out).
    pub fn disconnect_admin(&self) {
        if let Some(socket) = self.admin_socket.get_value() {
            socket.disconnect();
        }
        self.admin_socket.set_value(None);
    }

    /// Sends an administrative request over `/admin` and hands its outcome to `done`; a
    /// failure also shows in the error banner.
    pub fn moderate<E: ClientEvent>(
        self,
        payload: E::Payload,
        done: impl FnOnce(Result<E::Ok, RequestError>) + 'static,
    ) {
        let Some(socket) = self.admin_socket.get_value() else {
            done(Err(RequestError::Unavailable));
            return;
        };
        let ack = socket.request::<E>(&payload);
        spawn_local(async move {
            let result = ack.await;
            if let Err(e) = &result {
                self.error.set(Some(e.to_string()));
            }
            done(result);
        });
    }

    /// Like [`ChatState::request`], showing a failure in the error banner.
    pub fn request_or_report<E: ClientEvent>(
        self,
        payload: E::Payload,
        done: impl FnOnce(E::Ok) + 'static,
    ) {
        self.request::<E>(payload, move |result| match result {
            Ok(ok) => {
                self.error.set(None);
                done(ok);
            }
            Err(e) => self.error.set(Some(e.to_string())),
        });
    }

    pub fn is_me(&self, user: &UserId) -> bool {
        self.me.with_untracked(|me| me.as_ref().is_some_and(|me| me.id == *user))
    }

    /// A room's label: `# name` for public rooms, `🔒 name` for private ones, the other person's
    /// name for direct ones.
    pub fn label(&self, room: &RoomSummary) -> String {
        match room.kind {
            RoomKind::Public => format!("# {}", room.id),
            RoomKind::Private => format!("🔒 {}", room.id),
            RoomKind::Direct => room
                .peers
                .iter()
                .find(|p| !self.is_me(&p.id))
                .or(room.peers.first())
                .map(|p| p.name.to_string())
                .unwrap_or_else(|| room.id.to_string()),
        }
    }

    pub fn room(&self, id: &RoomId) -> Option<RoomSummary> {
        self.rooms.with(|rooms| rooms.iter().find(|r| r.id == *id).cloned())
    }

    /// Asks for the room list (on every (re)connect; the server's view of rooms and memberships
    /// wins), then resumes: every loaded room is synced and what was never acknowledged is sent
    /// again. The message log is busy until all of that is in.
    pub fn catch_up(&self) {
        let state = *self;
        self.catching_up.set(1);
        self.news.update_value(|n| n.lists_pending += 1);
        self.request::<crate::events::rooms::ListRooms>(
            crate::events::rooms::Empty {},
            move |result| {
                let news = state.news.try_update_value(|n| {
                    n.lists_pending = n.lists_pending.saturating_sub(1);
                    if n.lists_pending == 0 { std::mem::take(&mut n.news) } else { n.news.clone() }
                });
                match result {
                    Ok(list) => {
                        state.error.set(None);
                        state.apply_room_list(list, news.unwrap_or_default());
                        state.open(state.current.get_untracked());
                        state.resume();
                    }
                    Err(e) => state.error.set(Some(e.to_string())),
                }
                state.catching_up.update(|n| *n = n.saturating_sub(1));
            },
        );
    }

    /// Applies a `room:list` (the server-rendered one, or the ack of [`Self::catch_up`]), then
    /// `since`: what changed in the room list while it was on its way (see [`RoomNews`]).
    pub fn apply_room_list(&self, list: RoomList, since: Vec<RoomNews>) {
        self.me.set(Some(list.me));
        self.admin.set(list.admin);
        if list.admin && self.admin_socket.with_value(Option::is_none) {
            let options = crate::socket::ConnectOptions {
                namespace: crate::events::admin::ADMIN_NAMESPACE,
                transports: crate::socket::Transports::Default,
            };
            self.admin_socket.set_value(Socket::connect(&options).ok());
        }
        self.rooms.set(list.rooms);
        self.joined.set(list.joined.into_iter().collect());
        self.unread.set(
            list.read.iter().filter(|r| r.unread > 0).map(|r| (r.room.clone(), r.unread)).collect(),
        );
        self.mentions.set(
            list.read
                .iter()
                .filter(|r| r.mentions > 0)
                .map(|r| (r.room.clone(), r.mentions))
                .collect(),
        );
        self.muted.set(list.read.iter().filter(|r| r.muted).map(|r| r.room.clone()).collect());
        self.read.set(list.read.into_iter().map(|r| (r.room, r.read_seq)).collect());
        for news in since {
            self.apply_news(news);
        }
        let current = self.current.get_untracked();
        if !self.joined.with_untracked(|j| j.contains(&current)) {
            self.current.set(RoomId::lobby());
        }
    }

    /// Applies a change to the room list, and keeps it if a list is on its way.
    pub fn learn(&self, news: RoomNews) {
        self.news.update_value(|n| {
            if n.lists_pending > 0 {
                n.news.push(news.clone());
            }
        });
        self.apply_news(news);
    }

    fn apply_news(&self, news: RoomNews) {
        let set_member = |id: &RoomId, member: bool| {
            self.joined.update(|j| {
                if member {
                    j.insert(id.clone());
                } else {
                    j.remove(id);
                }
            })
        };
        match news {
            RoomNews::Member(room) => {
                set_member(&room.id, true);
                self.upsert_room(room);
            }
            RoomNews::MemberOf(id) => set_member(&id, true),
            RoomNews::Listed(room) => self.upsert_room(room),
            RoomNews::NotMember(id) => {
                set_member(&id, false);
                if self.current.get_untracked() == id {
                    self.current.set(RoomId::lobby());
                }
            }
            RoomNews::Gone(id) => self.remove_room(&id),
        }
    }

    /// Inserts or replaces a room in the sidebar.
    pub fn upsert_room(&self, room: RoomSummary) {
        self.rooms.update(|rooms| match rooms.iter_mut().find(|r| r.id == room.id) {
            Some(existing) => *existing = room,
            None => {
                rooms.push(room);
                rooms.sort_by(|a, b| a.id.cmp(&b.id));
            }
        });
    }

    /// The rooms in the sidebar's order (the person's group rooms, then direct ones), for
    /// moving between them from the keyboard.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub fn sidebar_order(&self) -> Vec<RoomId> {
        self.rooms.with_untracked(|rooms| {
            self.joined.with_untracked(|joined| {
                let groups = rooms.iter().filter(|r| r.kind.is_group() && joined.contains(&r.id));
                let direct = rooms.iter().filter(|r| r.kind == RoomKind::Direct);
                groups.chain(direct).map(|r| r.id.clone()).collect()
            })
        })
    }

    /// Opens the room `step` places after (before, if negative) the one on screen in the
    /// sidebar's order, wrapping around.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub fn step_room(&self, step: i32) {
        let order = self.sidebar_order();
        if order.is_empty() {
            return;
        }
        let current = self.current.get_untracked();
        let at = order.iter().position(|r| *r == current).unwrap_or(0) as i32;
        let next = (at + step).rem_euclid(order.len() as i32) as usize;
        self.open(order[next].clone());
    }

    /// Joins a public room and opens it.
    pub fn join_and_open(&self, room: RoomId) {
        let chat = *self;
        self.request_or_report::<crate::events::rooms::JoinRoom>(
            crate::events::rooms::RoomRef { room: room.clone() },
            move |view| {
                chat.learn(RoomNews::Member(view.room.clone()));
                chat.open(room.clone());
                chat.apply_view(view);
                chat.member_joined_self(&room);
            },
        );
    }

    /// A room was deleted: it leaves the sidebar, and if the reader was in it they are told who
    /// deleted it (in a banner, and as a notice in the lobby they are moved to).
    pub fn room_deleted(&self, room: &RoomId, by: &UserRef) {
        let was_member = self.joined.with_untracked(|j| j.contains(room));
        let name = self
            .rooms
            .with_untracked(|rooms| rooms.iter().find(|r| r.id == *room).map(|r| self.label(r)));
        self.learn(RoomNews::Gone(room.clone()));
        if was_member {
            let name = name.unwrap_or_else(|| format!("# {room}"));
            let text = if self.is_me(&by.id) {
                format!("You deleted {name}.")
            } else {
                format!("{name} was deleted by {}.", by.name)
            };
            self.push_notice(&RoomId::lobby(), text.clone());
            self.info.set(Some(text));
        }
    }

    /// A moderator removed us from a room: a private one disappears (it takes an invitation to
    /// come back), a public one stays listed to join again.
    pub fn removed_from_room(&self, room: &RoomId, by: &UserRef) {
        let Some(summary) = self.room(room) else { return };
        let name = self.label(&summary);
        self.learn(if summary.kind == RoomKind::Private {
            RoomNews::Gone(room.clone())
        } else {
            RoomNews::NotMember(room.clone())
        });
        let text = format!("{} removed you from {name}.", by.name);
        self.push_notice(&RoomId::lobby(), text.clone());
        self.info.set(Some(text));
    }

    /// A member of a room became one of its moderators, or stopped being one.
    pub fn moderator_changed(&self, change: ModeratorChange) {
        if change.room == self.current.get_untracked() {
            self.members.update(|members| {
                if let Some(m) = members.iter_mut().find(|m| m.user.id == change.user.id) {
                    m.moderator = change.moderator;
                }
            });
        }
        let who = if self.is_me(&change.user.id) {
            "you".to_owned()
        } else {
            change.user.name.to_string()
        };
        let by =
            if self.is_me(&change.by.id) { "You".to_owned() } else { change.by.name.to_string() };
        let text = if change.moderator {
            format!("{by} made {who} a moderator of this room")
        } else {
            format!("{by} took the moderator role from {who}")
        };
        self.push_notice(&change.room, text);
    }

    /// Whether the person moderates the room on screen (its creator, or made a moderator).
    pub fn moderates_current(&self) -> bool {
        self.members.with(|ms| ms.iter().any(|m| m.moderator && self.is_me(&m.user.id)))
    }

    pub fn remove_room(&self, id: &RoomId) {
        self.rooms.update(|rooms| rooms.retain(|r| r.id != *id));
        self.joined.update(|j| {
            j.remove(id);
        });
        self.unread.update(|u| {
            u.remove(id);
        });
        self.mentions.update(|u| {
            u.remove(id);
        });
        if self.current.get_untracked() == *id {
            self.current.set(RoomId::lobby());
        }
    }

    fn set_member_count(&self, id: &RoomId, members: u32) {
        self.rooms.update(|rooms| {
            if let Some(room) = rooms.iter_mut().find(|r| r.id == *id) {
                room.members = members;
            }
        });
    }

    fn push_notice(&self, room: &RoomId, text: String) {
        self.timelines.update(|t| {
            t.entry(room.clone()).or_default().push_notice(text, super::time::now_ms())
        });
    }

    /// Reads one room's timeline (tracked).
    pub fn with_timeline<T>(&self, room: &RoomId, read: impl FnOnce(Option<&Timeline>) -> T) -> T {
        self.timelines.with(|t| read(t.get(room)))
    }

    fn with_timeline_untracked<T>(
        &self,
        room: &RoomId,
        read: impl FnOnce(Option<&Timeline>) -> T,
    ) -> T {
        self.timelines.with_untracked(|t| read(t.get(room)))
    }

    /// Changes one room's timeline (creating it if needed); `None` only if the state is gone
    /// (its owner was unmounted).
    fn update_timeline<T>(
        &self,
        room: &RoomId,
        change: impl FnOnce(&mut Timeline) -> T,
    ) -> Option<T> {
        self.timelines.try_update(|t| change(t.entry(room.clone()).or_default()))
    }

    /// Applies a `room:members` or `room:join` ack for the room on screen.
    pub fn apply_view(&self, view: RoomView) {
        self.online.update(|online| {
            for m in &view.members {
                if m.online {
                    online.insert(m.user.id.clone());
                } else {
                    online.remove(&m.user.id);
                }
            }
        });
        if view.room.id == self.current.get_untracked() {
            self.members.set(view.members);
        }
        self.upsert_room(view.room);
    }

    /// Someone (maybe another tab of ours) joined a room.
    pub fn member_joined(&self, change: MemberChange) {
        self.set_member_count(&change.room, change.members);
        if self.is_me(&change.user.id) {
            self.learn(RoomNews::MemberOf(change.room.clone()));
        }
        self.online.update(|o| {
            o.insert(change.user.id.clone());
        });
        if self.joined.with_untracked(|j| j.contains(&change.room)) {
            let who = if self.is_me(&change.user.id) {
                "You".to_owned()
            } else {
                change.user.name.to_string()
            };
            self.push_notice(&change.room, format!("{who} joined"));
        }
        if change.room == self.current.get_untracked() {
            self.members.update(|members| {
                if !members.iter().any(|m| m.user.id == change.user.id) {
                    members.push(Member {
                        user: change.user.clone(),
                        online: true,
                        bot: change.bot,
                        moderator: false,
                    });
                }
            });
        }
    }

    /// Shows "You joined" after this tab joined or created a room (other tabs learn from the
    /// broadcast).
    pub fn member_joined_self(&self, room: &RoomId) {
        self.push_notice(room, "You joined".to_owned());
    }

    /// Someone (maybe another tab of ours) left a room.
    pub fn member_left(&self, change: MemberChange) {
        self.set_member_count(&change.room, change.members);
        if self.joined.with_untracked(|j| j.contains(&change.room)) && !self.is_me(&change.user.id)
        {
            self.push_notice(&change.room, format!("{} left", change.user.name));
        }
        if change.room == self.current.get_untracked() {
            self.members.update(|members| members.retain(|m| m.user.id != change.user.id));
        }
        if self.is_me(&change.user.id) {
            self.learn(RoomNews::NotMember(change.room.clone()));
        }
    }

    /// Applies a stored message (from an ack, a broadcast, history or a resume); the room's
    /// [`Timeline`] lists it once, in order. `live` marks a message just broadcast or caught up
    /// on (new to us, it may count as unread).
    pub fn apply_message(&self, msg: ChatMessage, live: bool) {
        self.stop_typing(&msg.room, &msg.author.id);
        let room = msg.room.clone();
        let away = room != self.current.get_untracked() || !self.visible.get_untracked();
        let theirs = !self.is_me(&msg.author.id);
        if let Some(parent) = msg.thread {
            // The room's timeline only moves its cursor past a reply; its thread lists it.
            self.update_timeline(&room, |t| t.apply(msg.clone()));
            self.update_thread(parent, |t| t.apply(msg.clone()));
            let unseen = away || self.thread.get_untracked() != Some(parent);
            // A broadcast reply is new; it counts only if it mentions the person (replies are
            // not unread in the room: see `count_unread`).
            if live && theirs && unseen {
                self.count_unread(&room, std::slice::from_ref(&msg));
                self.notify(&msg);
            }
            self.mark_read(&room);
            return;
        }
        let unread = live && away && theirs;
        let copy = unread.then(|| msg.clone());
        if self.update_timeline(&room, |t| t.apply(msg)) == Some(Applied::Inserted)
            && let Some(msg) = copy
        {
            self.count_unread(&room, std::slice::from_ref(&msg));
            self.notify(&msg);
        }
        if room == self.current.get_untracked() {
            self.mark_read(&room);
        }
    }

    /// Changes a loaded thread's timeline; `None` if it is not loaded.
    fn update_thread<T>(&self, parent: Uuid, change: impl FnOnce(&mut Timeline) -> T) -> Option<T> {
        self.threads.try_update(|t| t.get_mut(&parent).map(change)).flatten()
    }

    /// Reads one thread's timeline (tracked).
    pub fn with_thread<T>(&self, parent: Uuid, read: impl FnOnce(Option<&Timeline>) -> T) -> T {
        self.threads.with(|t| read(t.get(&parent)))
    }

    /// Opens the thread of `parent` (a message of the room on screen) beside the room, loading
    /// its newest replies the first time.
    pub fn open_thread(&self, parent: Uuid) {
        self.search.set(None);
        self.thread.set(Some(parent));
        let loaded = self.threads.with_untracked(|t| t.get(&parent).is_some_and(Timeline::loaded));
        if !loaded {
            self.load_thread(parent, None, || {});
        }
        self.mark_read(&self.current.get_untracked());
    }

    /// Loads a page of a thread's replies (the newest, or the one before `before`).
    pub fn load_thread(&self, parent: Uuid, before: Option<u64>, done: impl FnOnce() + 'static) {
        let state = *self;
        let request = ThreadRequest { parent, before };
        self.request::<LoadThread>(request, move |result| {
            match result {
                Ok(page) => {
                    let room = page.parent.room.clone();
                    state.thread_rooms.update_value(|r| {
                        r.insert(parent, room.clone());
                    });
                    state.update_timeline(&room, |t| t.apply(page.parent));
                    state.threads.update(|t| {
                        t.entry(parent)
                            .or_insert_with(|| Timeline::for_thread(parent))
                            .apply_history(page.page, before.is_none())
                    });
                    state.mark_read(&room);
                }
                Err(e) => state.error.set(Some(e.to_string())),
            }
            done();
        });
    }

    /// Counts `new` messages (stored, new to this tab, the room away or hidden) as unread, and
    /// those that mention the person as mentions too.
    fn count_unread(&self, room: &RoomId, new: &[ChatMessage]) {
        let Some(me) = self.me.get_untracked().map(|m| m.id) else { return };
        let theirs = new.iter().filter(|m| m.author.id != me);
        let (mut unread, mut mentions) = (0u32, 0u32);
        for msg in theirs {
            // Replies in threads are not unread in the room, but a mention in one is a mention.
            unread += u32::from(msg.thread.is_none());
            mentions += u32::from(msg.mentions_user(&me));
        }
        if unread > 0 {
            self.unread.update(|u| *u.entry(room.clone()).or_default() += unread);
        }
        if mentions > 0 {
            self.mentions.update(|u| *u.entry(room.clone()).or_default() += mentions);
        }
    }

    /// Raises a browser notification for a message that calls for one: someone else's, in a
    /// room not muted, a direct message or one mentioning the person, while the page is
    /// hidden, with the person's permission (see [`super::notify`]).
    fn notify(&self, msg: &ChatMessage) {
        if self.visible.get_untracked() || self.is_me(&msg.author.id) {
            return;
        }
        let Some(me) = self.me.get_untracked() else { return };
        if self.muted.with_untracked(|m| m.contains(&msg.room)) {
            return;
        }
        let room = self.room(&msg.room);
        let direct = room.as_ref().is_some_and(|r| r.kind == RoomKind::Direct);
        if !direct && !msg.mentions_user(&me.id) {
            return;
        }
        let title = match &room {
            Some(r) if !direct => format!("{} in {}", msg.author.name, self.label(r)),
            _ => msg.author.name.to_string(),
        };
        let state = *self;
        let target = msg.room.clone();
        super::notify::show(&title, &msg.body, &msg.room.0, move || state.open(target));
    }

    /// Applies the server's word on the person's read state in a room (an ack, or another
    /// tab's reading).
    pub fn apply_read(&self, state: ReadState) {
        self.read.update(|r| {
            let held = r.entry(state.room.clone()).or_default();
            *held = (*held).max(state.read_seq);
        });
        self.muted.update(|m| {
            if state.muted {
                m.insert(state.room.clone());
            } else {
                m.remove(&state.room);
            }
        });
        let set = |counts: &mut HashMap<RoomId, u32>, n: u32| match n {
            0 => {
                counts.remove(&state.room);
            }
            n => {
                counts.insert(state.room.clone(), n);
            }
        };
        self.mentions.update(|u| set(u, state.mentions));
        self.unread.update(|u| set(u, state.unread));
    }

    /// Tells the server the person has seen `room` up to its newest stored message, if the page
    /// is visible, the room is on screen and that is news.
    pub fn mark_read(&self, room: &RoomId) {
        if !self.visible.get_untracked() || *room != self.current.get_untracked() {
            return;
        }
        let in_room = self.with_timeline_untracked(room, |t| t.and_then(Timeline::newest_seq));
        let in_thread = self.thread.get_untracked().and_then(|parent| {
            self.threads.with_untracked(|t| t.get(&parent).and_then(Timeline::newest_seq))
        });
        let Some(newest) = in_room.max(in_thread) else { return };
        let known = self.read.with_untracked(|r| r.get(room).copied().unwrap_or(0));
        let asked = self.asked_read.with_value(|a| a.get(room).copied().unwrap_or(0));
        if newest <= known.max(asked) {
            return;
        }
        self.unread.update(|u| {
            u.remove(room);
        });
        self.mentions.update(|u| {
            u.remove(room);
        });
        if self.reading.with_value(|r| r.contains(room)) {
            return;
        }
        self.reading.update_value(|r| {
            r.insert(room.clone());
        });
        self.asked_read.update_value(|a| {
            a.insert(room.clone(), newest);
        });
        let state = *self;
        let room = room.clone();
        let payload = MarkReadPayload { room: room.clone(), seq: newest };
        self.request::<MarkRead>(payload, move |result| {
            state.reading.update_value(|r| {
                r.remove(&room);
            });
            match result {
                Ok(read) => {
                    state.apply_read(read);
                    // Whatever arrived while the request was out.
                    state.mark_read(&room);
                }
                // Not recorded: the next message or visit asks again.
                Err(_) => state.asked_read.update_value(|a| {
                    a.remove(&room);
                }),
            }
        });
    }

    /// The page became visible or hidden.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub fn set_visible(&self, visible: bool) {
        self.visible.set(visible);
        if visible {
            self.mark_read(&self.current.get_untracked());
        }
    }

    /// Applies a history page: the newest one sets the resume cursor.
    pub fn apply_history(&self, page: HistoryPage, newest: bool) {
        let room = page.room.clone();
        self.update_timeline(&room, |t| t.apply_history(page, newest));
        if newest {
            self.mark_read(&room);
        }
    }

    /// Loads the newest page of `room` if it was never loaded.
    pub fn ensure_history(&self, room: RoomId) {
        if self.with_timeline_untracked(&room, |t| t.is_some_and(Timeline::loaded)) {
            return;
        }
        let state = *self;
        self.request::<LoadHistory>(
            HistoryRequest { room, before: None, back_to: None },
            move |result| {
                if let Ok(page) = result {
                    state.apply_history(page, true);
                }
            },
        );
    }

    /// Loads the page before the oldest message held; `done` runs when it has been applied.
    pub fn load_older(&self, room: RoomId, done: impl FnOnce() + 'static) {
        let (has_more, before) = self.with_timeline_untracked(&room, |t| {
            t.map_or((false, None), |t| (t.has_more(), t.oldest()))
        });
        if !has_more {
            return;
        }
        let state = *self;
        self.request::<LoadHistory>(
            HistoryRequest { room: room.clone(), before, back_to: None },
            move |result| {
                if let Ok(page) = result {
                    let cursor = |s: ChatState| {
                        s.with_timeline_untracked(&room, |t| {
                            t.map(Timeline::cursor).unwrap_or_default()
                        })
                    };
                    let was = cursor(state);
                    state.apply_history(page, false);
                    // The page was read before changes we had already seen: fetch them again for
                    // the messages it brought (see `Timeline::apply_history`).
                    let now = cursor(state);
                    if now < was {
                        state.sync_from(room, now);
                    }
                }
                done();
            },
        );
    }

    /// After a reconnect: fetch what changed in every loaded room, then send again what was
    /// never acknowledged.
    pub fn resume(&self) {
        let rooms: Vec<(RoomId, u64)> = self.timelines.with_untracked(|timelines| {
            timelines
                .iter()
                .filter(|(_, t)| t.loaded())
                .map(|(room, t)| (room.clone(), t.cursor()))
                .collect()
        });
        let mut unsent: Vec<(RoomId, Uuid, String, Option<Uuid>)> =
            self.timelines.with_untracked(|timelines| {
                timelines
                    .iter()
                    .flat_map(|(room, t)| {
                        t.unsent().into_iter().map(|(id, body)| (room.clone(), id, body, None))
                    })
                    .collect()
            });
        let in_threads: Vec<(Uuid, Uuid, String)> = self.threads.with_untracked(|threads| {
            threads
                .iter()
                .flat_map(|(parent, t)| {
                    t.unsent().into_iter().map(|(id, body)| (*parent, id, body))
                })
                .collect()
        });
        let rooms_of = self.thread_rooms.get_value();
        for (parent, id, body) in in_threads {
            if let Some(room) = rooms_of.get(&parent) {
                unsent.push((room.clone(), id, body, Some(parent)));
            }
        }
        for (room, cursor) in rooms {
            self.sync_from(room, cursor);
        }
        // Loaded threads catch up through their rooms' syncs; one open beside the room is read
        // again in case its room's timeline was not loaded.
        if let Some(parent) = self.thread.get_untracked() {
            self.load_thread(parent, None, || {});
        }
        for (room, id, body, thread) in unsent {
            self.send(room, id, body, thread);
        }
        super::upload::resume_uploads(*self);
    }

    fn sync_from(&self, room: RoomId, after_rev: u64) {
        let state = *self;
        let request = SyncRequest { room: room.clone(), after_rev };
        self.catching_up.update(|n| *n += 1);
        let caught_up = move || state.catching_up.update(|n| *n = n.saturating_sub(1));
        self.request::<SyncRoom>(request, move |result| {
            let Ok(page) = result else { return caught_up() };
            let unread_room =
                room != state.current.get_untracked() || !state.visible.get_untracked();
            for msg in &page.changes {
                state.stop_typing(&room, &msg.author.id);
                if let Some(parent) = msg.thread {
                    state.update_thread(parent, |t| t.apply(msg.clone()));
                }
            }
            let Some(synced) = state.update_timeline(&room, |t| t.apply_sync(page.changes)) else {
                return caught_up();
            };
            state.mark_read(&room);
            // Unread counts came with the room list on this (re)connect, and they include what
            // the sync brings: only notifications are left to raise.
            if unread_room {
                for msg in &synced.new {
                    state.notify(msg);
                }
            }
            if let Some(last) = synced.last
                && page.more
            {
                state.sync_from(room, last);
            }
            caught_up();
        });
    }

    /// Sends (or sends again) our message `id`; its entry shows the outcome.
    pub fn send(&self, room: RoomId, id: Uuid, body: String, thread: Option<Uuid>) {
        self.set_delivery(&room, thread, id, Delivery::Pending);
        let state = *self;
        let payload = SendMessagePayload { id, room: room.clone(), body, thread };
        self.request::<SendMessage>(payload, move |result| {
            let outcome = match result {
                Ok(message) => {
                    state.forget_unsent(id);
                    return state.apply_message(message, false);
                }
                // Refused for good: shown with a Retry button, not sent again by itself.
                Err(RequestError::Rejected(e)) => {
                    state.forget_unsent(id);
                    Delivery::Failed(e.to_string())
                }
                Err(_) => Delivery::Unconfirmed,
            };
            state.set_delivery(&room, thread, id, outcome);
        });
    }

    fn set_delivery(&self, room: &RoomId, thread: Option<Uuid>, id: Uuid, delivery: Delivery) {
        match thread {
            Some(parent) => {
                self.update_thread(parent, |t| t.set_delivery(id, delivery));
            }
            None => {
                self.update_timeline(room, |t| t.set_delivery(id, delivery));
            }
        }
    }

    fn forget_unsent(&self, id: Uuid) {
        if let Some(me) = self.me.get_untracked() {
            super::saved::forget_unsent(&me.id, id);
        }
    }

    /// Adds our own message as pending, before the server has it, and keeps it in the
    /// browser's outbox until the server has it (so a reload does not lose it).
    pub fn push_pending(&self, room: &RoomId, id: Uuid, body: String, thread: Option<Uuid>) {
        let Some(me) = self.me.get_untracked() else { return };
        let unsent = super::saved::Unsent { room: room.clone(), id, body: body.clone(), thread };
        super::saved::keep_unsent(&me.id, unsent);
        self.put_pending(room, thread, id, me, body);
    }

    fn put_pending(
        &self,
        room: &RoomId,
        thread: Option<Uuid>,
        id: Uuid,
        me: UserRef,
        body: String,
    ) {
        match thread {
            Some(parent) => {
                self.thread_rooms.update_value(|r| {
                    r.insert(parent, room.clone());
                });
                self.threads.update(|t| {
                    t.entry(parent)
                        .or_insert_with(|| Timeline::for_thread(parent))
                        .push_pending(id, me, body)
                });
            }
            None => {
                self.update_timeline(room, |t| t.push_pending(id, me, body));
            }
        }
    }

    /// Puts what the outbox kept from an earlier page back in the timelines as pending; the
    /// next (re)connect sends it (see [`ChatState::resume`]), and the server stores each once.
    pub fn restore_outbox(&self) {
        let Some(me) = self.me.get_untracked() else { return };
        for unsent in super::saved::outbox(&me.id) {
            self.put_pending(&unsent.room, unsent.thread, unsent.id, me.clone(), unsent.body);
        }
    }

    /// Shows "X is typing…" in `room` until [`TYPING_EXPIRY_MS`] from now.
    pub fn start_typing(&self, room: &RoomId, user: UserRef) {
        if self.is_me(&user.id) {
            return;
        }
        let until = now_ms() + TYPING_EXPIRY_MS as f64;
        self.typing.update(|t| {
            let list = t.entry(room.clone()).or_default();
            list.retain(|(u, _)| u.id != user.id);
            list.push((user, until));
        });
        let state = *self;
        set_timeout(
            move || state.expire_typing(),
            std::time::Duration::from_millis(TYPING_EXPIRY_MS + 50),
        );
    }

    fn stop_typing(&self, room: &RoomId, user: &UserId) {
        self.typing.update(|t| {
            if let Some(list) = t.get_mut(room) {
                list.retain(|(u, _)| u.id != *user);
            }
        });
    }

    fn expire_typing(&self) {
        let now = now_ms();
        self.typing.update(|t| {
            for list in t.values_mut() {
                list.retain(|(_, until)| *until > now);
            }
        });
    }

    /// Shows `room`, loads its history if needed and clears its unread count.
    pub fn open(&self, room: RoomId) {
        // A room with unread messages gets the divider above the first of them; it stays while
        // the room is on screen.
        let unread = self.unread.with_untracked(|u| u.get(&room).copied().unwrap_or(0));
        if unread > 0 {
            let marker = self.read.with_untracked(|r| r.get(&room).copied().unwrap_or(0));
            self.divider.set(Some((room.clone(), marker)));
        } else if self.divider.with_untracked(|d| d.as_ref().is_some_and(|(r, _)| *r != room)) {
            self.divider.set(None);
        }
        if self.current.get_untracked() != room {
            self.members.set(Vec::new());
            self.thread.set(None);
            self.current.set(room.clone());
        }
        self.ensure_history(room.clone());
        self.mark_read(&room);
        let state = *self;
        self.request::<crate::events::rooms::RoomMembers>(
            crate::events::rooms::RoomRef { room },
            move |result| {
                if let Ok(view) = result {
                    state.apply_view(view);
                }
            },
        );
    }
}

/// Writes `?room=…` (keeping a forced transport) into the address bar without a navigation.
pub fn show_room_in_address(room: &RoomId, transports: crate::socket::Transports) {
    #[cfg(feature = "hydrate")]
    {
        use crate::socket::Transports;
        let mut query = format!("?room={}", js_sys::encode_uri_component(&room.0));
        match transports {
            Transports::PollingOnly => query.push_str("&transport=polling"),
            Transports::WebSocketOnly => query.push_str("&transport=websocket"),
            Transports::Default => {}
        }
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&query));
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (room, transports);
}
