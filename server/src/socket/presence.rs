//! Presence news, gathered.
//!
//! A person's first tab connecting or last tab closing is news for everyone, so people arriving
//! one per broadcast cost a write to every connection each: everyone reconnecting at once after
//! a restart would be N broadcasts to N connections, and the benchmark's profile of arrivals
//! showed most of the server's time going to exactly those writes. Changes are therefore
//! gathered for [`PRESENCE_BATCH_MS`] after the first one and sent as one `presence` event with
//! the latest state of each person.

use std::collections::HashMap;
use std::time::Duration;

use app::events::CHAT_NAMESPACE;
use app::events::presence::{Presence, PresenceChanged};
use app::limits::PRESENCE_BATCH_MS;
use app::model::UserId;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use tokio::sync::mpsc;

/// Where presence changes are handed in; cloned into every handler that makes one.
#[derive(Debug, Clone)]
pub struct PresenceNews {
    changes: mpsc::UnboundedSender<Presence>,
}

/// The other end of [`PresenceNews`], for [`deliver`].
#[derive(Debug)]
pub struct PresenceChanges(mpsc::UnboundedReceiver<Presence>);

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
        let _ = self.changes.send(presence);
    }
}

/// Sends gathered presence changes to everyone until every [`PresenceNews`] is dropped.
pub async fn deliver<A: Adapter>(io: SocketIo<A>, PresenceChanges(mut received): PresenceChanges) {
    let window = Duration::from_millis(PRESENCE_BATCH_MS);
    while let Some(first) = received.recv().await {
        tokio::time::sleep(window).await;
        let mut changes = vec![first];
        while let Ok(more) = received.try_recv() {
            changes.push(more);
        }
        let Some(ns) = io.of(CHAT_NAMESPACE) else { continue };
        let changes = still_offline(&ns, latest_per_person(changes)).await;
        if !changes.is_empty() {
            super::emit::<_, PresenceChanged>(ns, &changes).await;
        }
    }
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
