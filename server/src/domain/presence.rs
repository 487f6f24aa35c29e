//! Who is online: a count of connected tabs per person, on this node.

use std::collections::HashMap;
use std::sync::Mutex;

use app::model::UserId;

/// Counts connections per person so several tabs count once.
#[derive(Debug, Default)]
pub struct Presence {
    tabs: Mutex<HashMap<UserId, usize>>,
}

impl Presence {
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

    /// Whether the person has a connected tab.
    pub fn is_online(&self, user: &UserId) -> bool {
        self.tabs.lock().unwrap_or_else(|e| e.into_inner()).contains_key(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_tabs_count_once() {
        let presence = Presence::default();
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
}
