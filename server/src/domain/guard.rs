//! Bounds on what signing in and registering cost the server, and on who can stop whom from
//! signing in.
//!
//! Argon2 is slow and memory-hard on purpose (~19 MiB and tens of milliseconds per hash with the
//! `argon2` crate's defaults), so every hash is an expensive operation a client can ask for.
//! Three things bound it:
//!
//! - [`HashGate`]: at most a configured number of hashes run at once; a request that cannot get
//!   a turn within a configured wait (2 s by default) is refused with `rate_limited` instead of queueing (tokio's
//!   blocking pool would otherwise run up to 512 at once, ~10 GiB).
//! - Per client address (IPv6 by /64, the block one subscriber usually holds): registrations,
//!   sign-ins and guest joins together, so fresh names do not buy fresh attempts.
//! - Per name, against password guessing, with OWASP's "device cookie": a browser that signed in
//!   to an account before carries a token the server recognises, and its attempts are counted on
//!   that device's own allowance. Failures from everyone else (whatever their address) lock out
//!   only the clients that have never signed in to that name, so an attacker cannot lock a
//!   person out of the browsers they use.
//!
//! The limiters are `governor` token buckets keyed by client-chosen values (addresses, names,
//! device tokens); [`AuthLimits`] drops every key whose bucket is full again at most once a
//! minute, so their size stays that of the recently active clients.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use app::ChatError;
use app::model::UserId;
use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use tokio::sync::Semaphore;

/// How often stale limiter entries are dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Logs a refusal at most once per [`REFUSALS_LOGGED_EVERY`], with how many there were since:
/// under a flood a line per refused request would be a flood of its own.
#[derive(Debug, Default)]
struct RefusalLog {
    since_last: AtomicU64,
    last: Mutex<Option<std::time::Instant>>,
}

/// How often a stream of refusals is logged.
const REFUSALS_LOGGED_EVERY: Duration = Duration::from_secs(10);

impl RefusalLog {
    fn refused(&self, what: &'static str) {
        let count = self.since_last.fetch_add(1, Ordering::Relaxed) + 1;
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_none_or(|at| at.elapsed() >= REFUSALS_LOGGED_EVERY) {
            *last = Some(std::time::Instant::now());
            self.since_last.store(0, Ordering::Relaxed);
            tracing::warn!(limit = what, refused = count, "refused account requests over a limit");
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Runs password hashes on threads of its own, a bounded number at a time.
///
/// Not on tokio's blocking pool: that pool starts a new thread whenever its threads are busy
/// (up to 512), and each thread's allocator arena keeps the ~19 MiB an Argon2 hash allocated, so
/// even a few hashes at a time spread over many threads grew the process by gigabytes in the
/// flood benchmark. `at_once` long-lived threads hold at most `at_once` arenas.
#[derive(Debug)]
pub struct HashGate {
    permits: Arc<Semaphore>,
    jobs: Mutex<std::sync::mpsc::Sender<Job>>,
    wait: Duration,
    computed: AtomicU64,
    refusals: RefusalLog,
}

impl HashGate {
    /// At most `at_once` hashes at a time (at least one), on as many threads; others wait up to
    /// `wait`. The threads end when the gate is dropped.
    pub fn new(at_once: usize, wait: Duration) -> Self {
        let at_once = at_once.max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..at_once {
            let queue = Arc::clone(&queue);
            let spawned =
                std::thread::Builder::new().name(format!("parley-hash-{i}")).spawn(move || {
                    loop {
                        let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        Self {
            permits: Arc::new(Semaphore::new(at_once)),
            jobs: Mutex::new(jobs),
            wait,
            computed: AtomicU64::new(0),
            refusals: RefusalLog::default(),
        }
    }

    /// Runs `work` (a hash or a verification) when a turn is free, or refuses with
    /// `rate_limited` after the wait. The turn is held until the work is done even if the
    /// request is abandoned meanwhile, so the bound holds for memory, not only for requests.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ChatError> {
        let busy = || ChatError::RateLimited {
            retry_after_ms: u64::try_from(self.wait.as_millis()).unwrap_or(u64::MAX).max(1),
        };
        let permit =
            match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                // Timed out, or the semaphore was closed (never, here).
                Ok(Err(_)) | Err(_) => {
                    self.refusals.refused("password hashing turns");
                    return Err(busy());
                }
            };
        self.computed.fetch_add(1, Ordering::Relaxed);
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _turn = permit;
            let _ = done.send(work());
        });
        let sent = self.jobs.lock().unwrap_or_else(|e| e.into_inner()).send(job);
        let failed = |what: &str| {
            tracing::error!("password hashing failed: {what}");
            ChatError::Internal
        };
        sent.map_err(|_| failed("no hashing thread"))?;
        result.await.map_err(|_| failed("the hashing thread stopped"))
    }

    /// Hashes and verifications started since the server started.
    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }
}

/// The key a client address is counted under: IPv4 addresses as they are, IPv6 by their /64
/// (IPv4-mapped IPv6 addresses as the IPv4 address they carry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressKey(IpAddr);

impl From<IpAddr> for AddressKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1_u128 << 64) - 1);
                    Self(IpAddr::V6(prefix.into()))
                }
            },
        }
    }
}

type Keyed<K, C> = RateLimiter<K, DashMapStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The per-address, per-name and per-device limits on sign-in, registration and guest joins.
pub struct AuthLimits<C: Clock + Clone = DefaultClock> {
    per_address: Keyed<AddressKey, C>,
    per_name: Keyed<UserId, C>,
    per_device: Keyed<String, C>,
    clock: C,
    last_pruned: Mutex<C::Instant>,
    refusals: RefusalLog,
}

impl<C: Clock + Clone> std::fmt::Debug for AuthLimits<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthLimits").field("tracked", &self.tracked()).finish_non_exhaustive()
    }
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl AuthLimits<DefaultClock> {
    /// `per_address` attempts (of any kind) per address and minute; `per_name` sign-in attempts
    /// per name and minute from clients without a device cookie for it, and as many for each
    /// device that has one.
    pub fn new(per_address: u32, per_name: u32) -> Self {
        Self::with_clock(per_address, per_name, DefaultClock::default())
    }
}

impl<C: Clock + Clone> AuthLimits<C> {
    /// As [`AuthLimits::new`], on `clock` (tests use a fake one).
    pub fn with_clock(per_address: u32, per_name: u32, clock: C) -> Self {
        let now = clock.now();
        Self {
            per_address: RateLimiter::dashmap_with_clock(per_minute(per_address), clock.clone()),
            per_name: RateLimiter::dashmap_with_clock(per_minute(per_name), clock.clone()),
            per_device: RateLimiter::dashmap_with_clock(per_minute(per_name), clock.clone()),
            clock,
            last_pruned: Mutex::new(now),
            refusals: RefusalLog::default(),
        }
    }

    fn take<K: std::hash::Hash + Eq + Clone>(
        &self,
        limiter: &Keyed<K, C>,
        key: &K,
        what: &'static str,
    ) -> Result<(), ChatError> {
        self.prune_if_due();
        limiter.check_key(key).map_err(|not_until| {
            let wait: Duration = not_until.wait_time_from(self.clock.now());
            self.refusals.refused(what);
            ChatError::RateLimited {
                retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
            }
        })
    }

    /// Counts an attempt from `address` (`None`: unknown, not limited here).
    pub fn check_address(&self, address: Option<IpAddr>) -> Result<(), ChatError> {
        match address {
            Some(ip) => self.take(&self.per_address, &AddressKey::from(ip), "per address"),
            None => Ok(()),
        }
    }

    /// Counts a sign-in attempt at `name` from a client without a device cookie for it.
    pub fn check_name(&self, name: &UserId) -> Result<(), ChatError> {
        self.take(&self.per_name, name, "per name")
    }

    /// Counts a sign-in attempt from a device that signed in to the name before (by the digest
    /// of its device token).
    pub fn check_device(&self, device: &str) -> Result<(), ChatError> {
        self.take(&self.per_device, &device.to_owned(), "per device")
    }

    fn prune_if_due(&self) {
        let now = self.clock.now();
        let mut last = self.last_pruned.lock().unwrap_or_else(|e| e.into_inner());
        if Duration::from(now.duration_since(*last)) >= PRUNE_EVERY {
            *last = now;
            drop(last);
            self.prune();
        }
    }

    /// Drops every key whose bucket is full again (indistinguishable from a new key).
    pub fn prune(&self) {
        self.per_address.retain_recent();
        self.per_name.retain_recent();
        self.per_device.retain_recent();
        self.per_address.shrink_to_fit();
        self.per_name.shrink_to_fit();
        self.per_device.shrink_to_fit();
    }

    /// Keys tracked, all limiters together.
    pub fn tracked(&self) -> usize {
        self.per_address.len() + self.per_name.len() + self.per_device.len()
    }
}

/// Bounds on searching, the other expensive thing a client can ask for: a full-text query can
/// read many index pages. Each person has a per-minute allowance (all their tabs together), and
/// at most a configured number of searches run on the node at once; a search that finds them
/// all busy waits up to [`SearchGate::WAIT`], then is refused with `rate_limited`.
#[derive(Debug)]
pub struct SearchGate {
    per_person: Keyed<UserId, DefaultClock>,
    clock: DefaultClock,
    slots: Arc<Semaphore>,
    last_pruned: Mutex<std::time::Instant>,
    refusals: RefusalLog,
}

impl SearchGate {
    /// How long a search waits for one of the node's turns.
    pub const WAIT: Duration = Duration::from_secs(1);

    /// `per_minute` searches per person, `at_once` (at least one) at a time on this node.
    pub fn new(per_minute: u32, at_once: usize) -> Self {
        let clock = DefaultClock::default();
        Self {
            per_person: RateLimiter::dashmap_with_clock(
                self::per_minute(per_minute),
                clock.clone(),
            ),
            clock,
            slots: Arc::new(Semaphore::new(at_once.max(1))),
            last_pruned: Mutex::new(std::time::Instant::now()),
            refusals: RefusalLog::default(),
        }
    }

    /// Counts a search by `who`, then waits for a turn; the turn is held while the permit lives.
    pub async fn enter(
        &self,
        who: &UserId,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, ChatError> {
        self.prune_if_due();
        self.per_person.check_key(who).map_err(|not_until| {
            self.refusals.refused("searches per person");
            ChatError::RateLimited {
                retry_after_ms: u64::try_from(
                    not_until.wait_time_from(self.clock.now()).as_millis(),
                )
                .unwrap_or(u64::MAX)
                .max(1),
            }
        })?;
        match tokio::time::timeout(Self::WAIT, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => {
                self.refusals.refused("searches at once");
                Err(ChatError::RateLimited {
                    retry_after_ms: u64::try_from(Self::WAIT.as_millis()).unwrap_or(1),
                })
            }
        }
    }

    fn prune_if_due(&self) {
        let mut last = self.last_pruned.lock().unwrap_or_else(|e| e.into_inner());
        if last.elapsed() >= PRUNE_EVERY {
            *last = std::time::Instant::now();
            drop(last);
            self.per_person.retain_recent();
            self.per_person.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_block() {
        assert_eq!(
            AddressKey::from(ip("2001:db8:1:2::1")),
            AddressKey::from(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            AddressKey::from(ip("2001:db8:1:2::1")),
            AddressKey::from(ip("2001:db8:1:3::1"))
        );
        assert_eq!(AddressKey::from(ip("::ffff:192.0.2.7")), AddressKey::from(ip("192.0.2.7")));
        assert_ne!(AddressKey::from(ip("192.0.2.7")), AddressKey::from(ip("192.0.2.8")));
    }

    #[test]
    fn fresh_names_do_not_buy_fresh_attempts_from_one_address() {
        let limits = AuthLimits::with_clock(3, 100, FakeRelativeClock::default());
        let here = Some(ip("192.0.2.1"));
        for _ in 0..3 {
            assert_eq!(limits.check_address(here), Ok(()));
        }
        assert!(matches!(limits.check_address(here), Err(ChatError::RateLimited { .. })));
        assert_eq!(limits.check_address(Some(ip("192.0.2.2"))), Ok(()), "another address");
    }

    #[test]
    fn a_device_has_its_own_allowance_beside_the_name() {
        let limits = AuthLimits::with_clock(100, 2, FakeRelativeClock::default());
        let ada = UserId("ada".into());
        assert!(limits.check_name(&ada).is_ok() && limits.check_name(&ada).is_ok());
        assert!(matches!(limits.check_name(&ada), Err(ChatError::RateLimited { .. })));
        assert_eq!(
            limits.check_device("ada's laptop"),
            Ok(()),
            "the owner's browser still gets in"
        );
    }

    #[test]
    fn entries_are_dropped_once_their_bucket_is_full_again() {
        let clock = FakeRelativeClock::default();
        let limits = AuthLimits::with_clock(10, 10, clock.clone());
        for i in 0..500 {
            let _ = limits.check_name(&UserId(format!("name{i}")));
            let _ =
                limits.check_address(Some(IpAddr::from([10, 0, (i / 256) as u8, (i % 256) as u8])));
        }
        assert_eq!(limits.tracked(), 1000);
        // A minute later every bucket has refilled; the next attempt prunes.
        clock.advance(PRUNE_EVERY + Duration::from_secs(1));
        let _ = limits.check_name(&UserId("late".into()));
        assert!(limits.tracked() <= 1, "{} entries left", limits.tracked());
    }

    #[tokio::test]
    async fn hashing_runs_a_bounded_number_at_once_and_refuses_when_saturated() {
        let gate = Arc::new(HashGate::new(1, Duration::from_millis(50)));
        let (started_tx, started) = std::sync::mpsc::channel();
        let (release, wait_for_release) = std::sync::mpsc::channel::<()>();
        let busy = tokio::spawn({
            let gate = Arc::clone(&gate);
            async move {
                gate.run(move || {
                    let _ = started_tx.send(());
                    let _ = wait_for_release.recv();
                })
                .await
            }
        });
        tokio::task::spawn_blocking(move || started.recv()).await.expect("join").expect("started");
        // The only turn is taken: a second hash waits 50 ms and is refused, without running.
        let refused = gate.run(|| panic!("must not run")).await;
        assert!(matches!(refused, Err(ChatError::RateLimited { .. })), "{refused:?}");
        release.send(()).expect("release");
        busy.await.expect("join").expect("ran");
        assert_eq!(gate.run(|| 7).await, Ok(7), "the turn is free again");
        assert_eq!(gate.computed(), 2);
    }

    #[tokio::test]
    async fn searches_are_bounded_per_person_and_per_node() {
        let gate = SearchGate::new(3, 1);
        let (ada, bob) = (UserId("ada".into()), UserId("bob".into()));
        // The node's only turn is held: another search waits its second, then is refused.
        let held = gate.enter(&ada).await.expect("a turn");
        let waited = gate.enter(&bob).await;
        assert!(matches!(waited, Err(ChatError::RateLimited { .. })), "{waited:?}");
        drop(held);
        // Ada's allowance: two more this minute (the first counted), then refused; Bob unaffected.
        drop(gate.enter(&ada).await.expect("second"));
        drop(gate.enter(&ada).await.expect("third"));
        let over = gate.enter(&ada).await;
        assert!(matches!(over, Err(ChatError::RateLimited { .. })), "{over:?}");
        drop(gate.enter(&bob).await.expect("bob's own allowance"));
    }
}
