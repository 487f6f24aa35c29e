//! The per-person request rate limit: a token bucket per person (all their tabs share it), from
//! the `governor` crate. A person over their limit gets `rate_limited`; nobody else notices.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use app::ChatError;
use app::model::UserId;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// Shared by every socket of the server.
#[derive(Debug, Clone)]
pub struct RequestLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<UserId>>,
    clock: DefaultClock,
}

impl RequestLimiter {
    /// `per_second` steady requests, `burst` extra (both at least 1).
    pub fn new(per_second: u32, burst: u32) -> Self {
        let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_second(rate).allow_burst(burst);
        Self {
            limiter: Arc::new(DefaultKeyedRateLimiter::keyed(quota)),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one request from `user`'s bucket.
    pub fn check(&self, user: &UserId) -> Result<(), ChatError> {
        self.limiter.check_key(user).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            ChatError::RateLimited {
                retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
            }
        })?;
        // Keep the table as small as the set of recently active people.
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        Ok(())
    }
}

/// Open Socket.IO connections per IP address, against a configured maximum.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
    /// Most connections from one address.
    pub max_per_ip: usize,
    /// Most connections (tabs) of one person.
    pub max_per_person: usize,
}

impl ConnectionLimits {
    /// Limits with the given maxima.
    pub fn new(max_per_ip: usize, max_per_person: usize) -> Self {
        Self { per_ip: Arc::default(), max_per_ip, max_per_person }
    }

    /// Counts a connection from `ip`; false (and nothing counted) if the address is at its limit.
    pub fn acquire(&self, ip: IpAddr) -> bool {
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        let count = per_ip.entry(ip).or_default();
        if *count >= self.max_per_ip {
            return false;
        }
        *count += 1;
        true
    }

    /// Forgets a connection counted by [`ConnectionLimits::acquire`].
    pub fn release(&self, ip: IpAddr) {
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = per_ip.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                per_ip.remove(&ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_per_person() {
        let limiter = RequestLimiter::new(1, 3);
        let (ada, bob) = (UserId("ada".into()), UserId("bob".into()));
        for _ in 0..3 {
            assert_eq!(limiter.check(&ada), Ok(()));
        }
        assert!(
            matches!(limiter.check(&ada), Err(ChatError::RateLimited { retry_after_ms }) if retry_after_ms > 0)
        );
        assert_eq!(limiter.check(&bob), Ok(()), "others have their own bucket");
    }

    #[test]
    fn connections_per_address_are_counted_and_released() {
        let limits = ConnectionLimits::new(2, 10);
        let ip = IpAddr::from([127, 0, 0, 1]);
        assert!(limits.acquire(ip) && limits.acquire(ip));
        assert!(!limits.acquire(ip));
        assert!(limits.acquire(IpAddr::from([127, 0, 0, 2])), "another address has its own count");
        limits.release(ip);
        assert!(limits.acquire(ip));
    }
}
