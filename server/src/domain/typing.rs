//! Typing notices: relayed at most once per [`TYPING_THROTTLE_MS`] per person and room, so a
//! misbehaving client cannot flood a room with them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use app::limits::TYPING_THROTTLE_MS;
use app::model::{RoomId, UserId};

/// Remembers when each (person, room) last had a notice relayed.
#[derive(Debug, Default)]
pub struct TypingThrottle {
    last: Mutex<HashMap<(UserId, RoomId), Instant>>,
}

const THROTTLE: Duration = Duration::from_millis(TYPING_THROTTLE_MS);

impl TypingThrottle {
    /// Whether a notice from `user` in `room` at `now` should be relayed.
    pub fn admit(&self, user: &UserId, room: &RoomId, now: Instant) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        // Forget stale entries now and then, so the map stays as small as the active typers.
        if last.len() > 1024 {
            last.retain(|_, at| now.saturating_duration_since(*at) < THROTTLE);
        }
        let key = (user.clone(), room.clone());
        match last.get(&key) {
            Some(at) if now.saturating_duration_since(*at) < THROTTLE => false,
            _ => {
                last.insert(key, now);
                true
            }
        }
    }

    /// Forgets `user`'s notice in `room` (they sent their message), so the next one is relayed.
    pub fn reset(&self, user: &UserId, room: &RoomId) {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).remove(&(user.clone(), room.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_notice_per_window() {
        let throttle = TypingThrottle::default();
        let (ada, lobby) = (UserId("ada".into()), RoomId::lobby());
        let t0 = Instant::now();
        assert!(throttle.admit(&ada, &lobby, t0));
        assert!(!throttle.admit(&ada, &lobby, t0 + Duration::from_millis(1_999)));
        assert!(throttle.admit(&ada, &lobby, t0 + THROTTLE));
        // Other rooms and people have their own window.
        assert!(throttle.admit(&ada, &RoomId("ops".into()), t0));
        assert!(throttle.admit(&UserId("bob".into()), &lobby, t0));
    }

    #[test]
    fn a_sent_message_resets_the_window() {
        let throttle = TypingThrottle::default();
        let (ada, lobby) = (UserId("ada".into()), RoomId::lobby());
        let t0 = Instant::now();
        assert!(throttle.admit(&ada, &lobby, t0));
        throttle.reset(&ada, &lobby);
        assert!(throttle.admit(&ada, &lobby, t0 + Duration::from_millis(10)));
    }
}
