//! Who is online: a count of connected tabs per person on this node, and the people the other
//! nodes of a cluster hold (as last reported by the socket layer, which asks them through the
//! Socket.IO adapter).

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, RwLock};

use app::model::UserId;

/// Counts connections per person so several tabs count once.
#[derive(Debug, Default)]
pub struct OnlineTabs {
    tabs: Mutex<HashMap<UserId, usize>>,
    anywhere: RwLock<HashSet<UserId>>,
}

impl OnlineTabs {
    /// Records a new connection unless the person already holds `max`; `Some(true)` if it is
    /// their first (they came online), `None` if refused.
    pub fn connect(&self, user: &UserId, max: usize) -> Option<bool> {
        let mut tabs = self.tabs.lock().unwrap_or_else(|e| e.into_inner());
        let count = tabs.entry(user.clone()).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(*count == 1)
    }

    /// Records a closed connection; true if it was the person's last (they went offline).
    pub fn disconnect(&self, user: &UserId) -> bool {
        let mut tabs = self.tabs.lock().unwrap_or_else(|e| e.into_inner());
        match tabs.get_mut(user) {
            Some(count) if *count > 1 => {
                *count -= 1;
                false
            }
            Some(_) => {
                tabs.remove(user);
                true
            }
            None => false,
        }
    }

    /// Whether the person has a connected tab here or, as last reported, on another node.
    pub fn is_online(&self, user: &UserId) -> bool {
        self.tabs.lock().unwrap_or_else(|e| e.into_inner()).contains_key(user)
            || self.anywhere.read().unwrap_or_else(|e| e.into_inner()).contains(user)
    }

    /// Records who has a tab on any node of the cluster; returns who had one at the previous
    /// report and has none now, here or elsewhere (they went offline, maybe with a dead node).
    pub fn report_cluster(&self, online: HashSet<UserId>) -> Vec<UserId> {
        let previous = std::mem::replace(
            &mut *self.anywhere.write().unwrap_or_else(|e| e.into_inner()),
            online,
        );
        let anywhere = self.anywhere.read().unwrap_or_else(|e| e.into_inner());
        let tabs = self.tabs.lock().unwrap_or_else(|e| e.into_inner());
        previous.into_iter().filter(|u| !anywhere.contains(u) && !tabs.contains_key(u)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_tabs_count_once() {
        let presence = OnlineTabs::default();
        let ada = UserId("ada".into());
        assert_eq!(presence.connect(&ada, 2), Some(true));
        assert_eq!(presence.connect(&ada, 2), Some(false));
        assert_eq!(presence.connect(&ada, 2), None, "a third tab is over the limit");
        assert!(!presence.disconnect(&ada));
        assert!(presence.is_online(&ada));
        assert!(presence.disconnect(&ada));
        assert!(!presence.is_online(&ada));
        assert!(!presence.disconnect(&ada), "an unknown disconnect changes nothing");
    }

    #[test]
    fn the_cluster_report_names_who_left_everywhere() {
        let presence = OnlineTabs::default();
        let (ada, bob, cy) = (UserId("ada".into()), UserId("bob".into()), UserId("cy".into()));
        assert_eq!(presence.connect(&cy, 2), Some(true));
        assert!(presence.report_cluster([ada.clone(), bob.clone(), cy.clone()].into()).is_empty());
        assert!(presence.is_online(&bob), "online on another node");
        // Bob's node died; Cy is no longer reported but still has a tab here.
        assert_eq!(presence.report_cluster([ada.clone()].into()), std::slice::from_ref(&bob));
        assert!(!presence.is_online(&bob));
        assert!(presence.is_online(&cy));
    }
}
