//! Presence news, gathered.
//!
//! A person's first tab connecting or last tab closing is news for everyone, so people arriving
//! one per broadcast cost a write to every connection each: everyone reconnecting at once after
//! a restart would be N broadcasts to N connections, and the benchmark's profile of arrivals
//! showed most of the server's time going to exactly those writes. Changes are therefore
//! gathered for [`PRESENCE_BATCH_MS`] after the first one and sent as one `presence` event with
//! the latest state of each person.
//!
//! A newcomer's first connection is also news for everyone: they joined the lobby. Those
//! `room:joined` events ride in the same window, sent one after another just before the
//! `presence` event. Each is still its own event (the protocol is unchanged), but a connection's
//! writer sends whatever is queued for it in one write, so the window costs each connection one
//! wake-up and one system call however many people arrived in it, where each arrival used to
//! cost one of each on every connection (`perf` over the benchmark's arrivals: half of the
//! server's time was those writes).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use app::events::CHAT_NAMESPACE;
use app::events::presence::{Presence, PresenceChanged};
use app::events::rooms::{MemberChange, MemberJoined};
use app::limits::PRESENCE_BATCH_MS;
use app::model::UserId;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use tokio::sync::mpsc;

/// Where presence changes are handed in; cloned into every handler that makes one.
#[derive(Debug, Clone)]
pub struct PresenceNews {
    changes: mpsc::UnboundedSender<News>,
}

/// The other end of [`PresenceNews`], for [`deliver`].
#[derive(Debug)]
pub struct PresenceChanges(mpsc::UnboundedReceiver<News>);

/// One piece of news for everyone.
#[derive(Debug)]
enum News {
    Presence(Presence),
    /// Someone's first connection ever added them to the lobby.
    JoinedLobby(MemberChange),
}

impl PresenceNews {
    /// A new channel of presence news.
    pub fn new() -> (Self, PresenceChanges) {
        let (changes, received) = mpsc::unbounded_channel();
        (Self { changes }, PresenceChanges(received))
    }

    /// Queues a change for the next `presence` event. Each entry comes from a connect or a
    /// disconnect (or a sweep), so the queue is bounded by what the connection limits allow.
    pub fn send(&self, presence: Presence) {
        // Fails only when `deliver` has ended, which is at shutdown: nobody is left to tell.
        let _ = self.changes.send(News::Presence(presence));
    }

    /// Queues a newcomer's joining the lobby, for every connection but their own (whose
    /// connect already told them). Bounded like [`PresenceNews::send`]: once per person ever.
    pub fn joined_lobby(&self, change: MemberChange) {
        let _ = self.changes.send(News::JoinedLobby(change));
    }
}

/// The most `room:joined` events of newcomers one window sends; the rest wait for the next
/// window. Every connection gets each window's events at once, and a connection's send queue
/// holds [`crate::state::SEND_QUEUE_PACKETS`]: a window of more newcomers than that (the
/// benchmark's 500 guests arriving within a second did it) overflowed every queue, and what
/// overflowed was dropped, the `presence` event after them and any request's answer included.
/// Two windows' worth fits in a queue with room to spare.
pub const JOINS_PER_WINDOW: usize = 200;

/// Sends gathered presence changes to everyone until every [`PresenceNews`] is dropped.
pub async fn deliver<A: Adapter>(io: SocketIo<A>, PresenceChanges(mut received): PresenceChanges) {
    let window = Duration::from_millis(PRESENCE_BATCH_MS);
    let mut waiting = VecDeque::new();
    loop {
        if waiting.is_empty() {
            let Some(first) = received.recv().await else { return };
            waiting.push_back(first);
        }
        tokio::time::sleep(window).await;
        while let Ok(more) = received.try_recv() {
            waiting.push_back(more);
        }
        let Some(ns) = io.of(CHAT_NAMESPACE) else { continue };
        let (joins, changes) = next_window(&mut waiting);
        // In the order they joined, each with the member count it made.
        for change in joins {
            let others = ns.clone().except(super::user_key(&change.user.id));
            super::emit::<_, MemberJoined>(others, &change).await;
        }
        let changes = still_offline(&ns, latest_per_person(changes)).await;
        if !changes.is_empty() {
            super::emit::<_, PresenceChanged>(ns, &changes).await;
        }
    }
}

/// What the next window sends: every presence change waiting, and the first
/// [`JOINS_PER_WINDOW`] newcomers' joins (the others stay, in order, for the windows after).
fn next_window(waiting: &mut VecDeque<News>) -> (Vec<MemberChange>, Vec<Presence>) {
    let mut joins = Vec::new();
    let mut changes = Vec::new();
    let mut later = VecDeque::new();
    for item in waiting.drain(..) {
        match item {
            News::Presence(presence) => changes.push(presence),
            News::JoinedLobby(change) if joins.len() < JOINS_PER_WINDOW => joins.push(change),
            News::JoinedLobby(change) => later.push_back(News::JoinedLobby(change)),
        }
    }
    *waiting = later;
    (joins, changes)
}

/// Drops "offline" news about people who have a tab somewhere by the time it is sent: news of
/// a tab closing on one node and a tab opening on another are gathered on different nodes and
/// could otherwise arrive in either order, leaving someone shown offline while connected. One
/// look-up of the cluster's rooms per batch; if it fails the news goes out as it is (the sweep
/// corrects it).
async fn still_offline<A: Adapter>(
    ns: &socketioxide::operators::BroadcastOperators<A>,
    changes: Vec<Presence>,
) -> Vec<Presence> {
    if changes.iter().all(|p| p.online) {
        return changes;
    }
    let rooms = match ns.clone().rooms().await {
        Ok(rooms) => rooms,
        Err(e) => {
            tracing::warn!(error = %e, "could not check presence news against the cluster");
            return changes;
        }
    };
    let connected: std::collections::HashSet<String> =
        rooms.into_iter().map(|r| r.to_string()).collect();
    changes
        .into_iter()
        .filter(|p| p.online || !connected.contains(&super::user_key(&p.user.id)))
        .collect()
}

/// Each person's last change, in the order of those last changes.
fn latest_per_person(changes: Vec<Presence>) -> Vec<Presence> {
    let last: HashMap<UserId, usize> =
        changes.iter().enumerate().map(|(i, p)| (p.user.id.clone(), i)).collect();
    changes
        .into_iter()
        .enumerate()
        .filter(|(i, p)| last[&p.user.id] == *i)
        .map(|(_, p)| p)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::{DisplayName, UserRef};

    fn change(id: &str, online: bool) -> Presence {
        let name = DisplayName::parse(id).expect("name");
        Presence { user: UserRef { id: UserId(id.to_owned()), name }, online }
    }

    fn joined(id: &str, count: u32) -> News {
        let user = change(id, true).user;
        News::JoinedLobby(MemberChange {
            room: app::model::RoomId::lobby(),
            user,
            members: count,
            bot: false,
        })
    }

    /// A crowd of newcomers is told over several windows, in order, while presence changes go
    /// in the first window they can.
    #[test]
    fn newcomers_beyond_a_window_wait_for_the_next_one() {
        let mut waiting: VecDeque<News> =
            (0..JOINS_PER_WINDOW + 3).map(|n| joined(&format!("p{n}"), 1)).collect();
        waiting.push_back(News::Presence(change("ada", true)));
        let (joins, changes) = next_window(&mut waiting);
        assert_eq!(joins.len(), JOINS_PER_WINDOW);
        assert_eq!(joins[0].user.id.0, "p0");
        assert_eq!(changes, vec![change("ada", true)], "presence is not held back");
        let (joins, changes) = next_window(&mut waiting);
        let ids: Vec<&str> = joins.iter().map(|j| j.user.id.0.as_str()).collect();
        let n = JOINS_PER_WINDOW;
        assert_eq!(ids, [format!("p{n}"), format!("p{}", n + 1), format!("p{}", n + 2)]);
        assert!(changes.is_empty());
        assert!(waiting.is_empty());
    }

    #[test]
    fn a_person_appears_once_with_their_latest_state() {
        let changes = vec![
            change("ada", true),
            change("bob", true),
            change("ada", false),
            change("cy", true),
            change("bob", false),
        ];
        assert_eq!(
            latest_per_person(changes),
            vec![change("ada", false), change("cy", true), change("bob", false)]
        );
    }
}
