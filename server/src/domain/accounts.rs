//! Accounts and sessions: who may speak as whom.
//!
//! Passwords are hashed with Argon2id (the `argon2` crate, its default OWASP parameters) on a
//! blocking thread, so hashing never stalls the socket handlers, and through the [`HashGate`],
//! so only a bounded number run at once (see [`super::guard`] for every limit on sign-in and
//! registration). Hashes never leave this module except into the store.
//!
//! A session is 32 random bytes from the OS, given to the browser once (in an HttpOnly cookie)
//! and stored only as its SHA-256: a leaked database holds no usable session. Sessions are rows
//! rather than signed tokens so that signing out ends them at once, on every node sharing the
//! store.
//!
//! Names are unique regardless of case across accounts and guests (a person's id is their
//! lowercased name), so nobody can appear under someone else's name. A guest is an account
//! without a password: its name stays taken, and it can be used again only through its session.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use app::ChatError;
use app::limits::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
use app::model::{DisplayName, UserId, UserRef};
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::guard::{AuthLimits, HashGate};
use super::{internal, now_ms};
use crate::store::{Store, StoreError};

/// What every bot token starts with.
pub const BOT_TOKEN_PREFIX: &str = "parley_bot_";

/// A session token as the browser holds it (never stored).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(..)")
    }
}

impl SessionToken {
    fn generate() -> Result<Self, ChatError> {
        let mut bytes = [0_u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| {
            tracing::error!(error = %e, "no randomness for a session token");
            ChatError::Internal
        })?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A bot's token: a session token behind a prefix that says what it is, so that a token
    /// pasted into a log or a repository is recognisable (and findable by secret scanners).
    pub(crate) fn generate_bot() -> Result<Self, ChatError> {
        Self::generate_prefixed(BOT_TOKEN_PREFIX)
    }

    /// 32 random bytes behind `prefix` (bot tokens, webhook secrets).
    pub(crate) fn generate_prefixed(prefix: &str) -> Result<Self, ChatError> {
        Ok(Self(format!("{prefix}{}", Self::generate()?.0)))
    }

    /// A token as received from a cookie (or a bot's handshake).
    pub fn from_cookie(value: &str) -> Self {
        Self(value.to_owned())
    }

    /// The cookie value.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the store keeps, and what names the session elsewhere (its Socket.IO room).
    pub fn digest(&self) -> SessionDigest {
        SessionDigest(URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.as_bytes())))
    }
}

/// The SHA-256 of a [`SessionToken`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionDigest(pub String);

/// A device token, from the `parley_device` cookie: handed to a browser when it signs in to (or
/// creates) an account, so that later sign-ins from it are not locked out by other clients'
/// failures (OWASP's device cookies). Stored only as its SHA-256, beside the names it signed in
/// to.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceToken(SessionToken);

impl std::fmt::Debug for DeviceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceToken(..)")
    }
}

impl DeviceToken {
    /// A token as received from a cookie.
    pub fn from_cookie(value: &str) -> Self {
        Self(SessionToken::from_cookie(value))
    }

    /// The cookie value.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    fn digest(&self) -> String {
        self.0.digest().0
    }
}

/// Who is asking to sign in or register, as far as the request says.
#[derive(Debug, Clone, Default)]
pub struct Client {
    /// The peer address of the connection (limits per address).
    pub address: Option<IpAddr>,
    /// The device cookie, if the browser sent one.
    pub device: Option<DeviceToken>,
}

/// How accounts behave; from [`crate::Config`].
#[derive(Debug, Clone)]
pub struct AccountPolicy {
    /// Whether a name without a password may join.
    pub allow_guests: bool,
    /// How long a session lasts after sign-in.
    pub session_ttl: Duration,
    /// Sign-in attempts allowed per name and minute (against password guessing) from clients
    /// without a device cookie for the name, and as many for each device that has one.
    pub sign_in_attempts_per_minute: u32,
    /// Registrations, sign-ins and guest joins allowed per client address and minute.
    pub attempts_per_address_per_minute: u32,
    /// Password hashes computed at once; more wait up to `hash_wait`, then get `rate_limited`.
    pub hashes_at_once: usize,
    /// How long a request waits for a hashing turn.
    pub hash_wait: Duration,
}

/// Registration, sign-in, guests and sessions over the store.
#[derive(Debug)]
pub struct Accounts {
    store: Arc<dyn Store>,
    policy: AccountPolicy,
    limits: AuthLimits,
    hashing: HashGate,
    /// A real hash of a random password: unknown names are checked against it, so a sign-in
    /// takes as long whether or not the name exists.
    decoy: String,
}

/// A session just opened.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Who.
    pub user: UserRef,
    /// The token to hand to the browser.
    pub token: SessionToken,
    /// A device token to hand to (or refresh in) the browser, after a sign-in or registration.
    pub device: Option<DeviceToken>,
}

fn hash_password(password: &str) -> Result<String, ChatError> {
    Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        ChatError::Internal
    })
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

fn check_password_rule(password: &str) -> Result<(), ChatError> {
    let len = password.chars().count();
    if (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&len) {
        Ok(())
    } else {
        Err(ChatError::InvalidPassword { min: MIN_PASSWORD_CHARS, max: MAX_PASSWORD_CHARS })
    }
}

impl Accounts {
    /// Accounts over `store`.
    pub async fn new(store: Arc<dyn Store>, policy: AccountPolicy) -> Result<Self, ChatError> {
        let hashing = HashGate::new(policy.hashes_at_once, policy.hash_wait);
        let decoy = SessionToken::generate()?;
        let decoy = hashing.run(move || hash_password(decoy.as_str())).await??;
        Ok(Self {
            store,
            limits: AuthLimits::new(
                policy.attempts_per_address_per_minute,
                policy.sign_in_attempts_per_minute,
            ),
            policy,
            hashing,
            decoy,
        })
    }

    /// Whether guests may join.
    pub fn guests_allowed(&self) -> bool {
        self.policy.allow_guests
    }

    /// How long a new session lasts.
    pub fn session_ttl(&self) -> Duration {
        self.policy.session_ttl
    }

    /// Password hashes and verifications computed so far (sign-ins of unknown names included:
    /// they are checked against a decoy hash, so they cost the same time).
    pub fn hashes_computed(&self) -> u64 {
        self.hashing.computed()
    }

    async fn open_session(
        &self,
        user: UserRef,
        device: Option<DeviceToken>,
    ) -> Result<NewSession, ChatError> {
        let token = SessionToken::generate()?;
        let now = now_ms();
        let ttl = i64::try_from(self.policy.session_ttl.as_millis()).unwrap_or(i64::MAX);
        let opened = self
            .store
            .create_session(&token.digest().0, &user.id, now, now.saturating_add(ttl))
            .await
            .map_err(internal)?;
        if !opened {
            return Err(ChatError::Banned);
        }
        Ok(NewSession { user, token, device })
    }

    /// Remembers that this browser signed in to `user` (keeping the device token it has, or
    /// giving it one) and returns the token to hand back.
    async fn trust_device(&self, user: &UserId, client: &Client) -> Result<DeviceToken, ChatError> {
        let device = match &client.device {
            Some(device) => device.clone(),
            None => DeviceToken(SessionToken::generate()?),
        };
        self.store.trust_device(&device.digest(), user, now_ms()).await.map_err(internal)?;
        Ok(device)
    }

    async fn create(&self, name: DisplayName, hash: Option<String>) -> Result<UserRef, ChatError> {
        let user = UserRef::named(name);
        self.store.create_account(&user, hash.as_deref(), now_ms()).await.map_err(|e| match e {
            StoreError::Conflict => ChatError::NameTaken { name: user.name.to_string() },
            e => internal(e),
        })?;
        Ok(user)
    }

    /// Creates an account named `name` and opens a session for it.
    #[tracing::instrument(skip_all, fields(name))]
    pub async fn register(
        &self,
        name: &str,
        password: String,
        client: &Client,
    ) -> Result<NewSession, ChatError> {
        self.limits.check_address(client.address)?;
        let name = DisplayName::parse(name)?;
        check_password_rule(&password)?;
        // A taken name is refused before the expensive hash (the insert below still decides).
        let id = UserRef::named(name.clone()).id;
        if self.store.user(&id).await.map_err(internal)?.is_some() {
            return Err(ChatError::NameTaken { name: name.to_string() });
        }
        let hash = self.hashing.run(move || hash_password(&password)).await??;
        let user = self.create(name, Some(hash)).await?;
        let device = self.trust_device(&user.id, client).await?;
        self.open_session(user, Some(device)).await
    }

    /// Opens a session for a passwordless guest name.
    #[tracing::instrument(skip_all, fields(name))]
    pub async fn guest(&self, name: &str, client: &Client) -> Result<NewSession, ChatError> {
        if !self.policy.allow_guests {
            return Err(ChatError::GuestsDisabled);
        }
        self.limits.check_address(client.address)?;
        let user = self.create(DisplayName::parse(name)?, None).await?;
        self.open_session(user, None).await
    }

    /// Checks `name` and `password` and opens a session. Every failure looks the same
    /// ([`ChatError::BadCredentials`]) and costs one hash verification; attempts are limited per
    /// address and per name, where a browser that signed in to the name before counts on an
    /// allowance of its own (see [`super::guard`]).
    #[tracing::instrument(skip_all, fields(name))]
    pub async fn sign_in(
        &self,
        name: &str,
        password: String,
        client: &Client,
    ) -> Result<NewSession, ChatError> {
        self.limits.check_address(client.address)?;
        let name = DisplayName::parse(name).map_err(|_| ChatError::BadCredentials)?;
        let id = UserRef::named(name).id;
        let trusted = match &client.device {
            Some(device) => {
                self.store.is_trusted_device(&device.digest(), &id).await.map_err(internal)?
            }
            None => false,
        };
        match &client.device {
            Some(device) if trusted => self.limits.check_device(&device.digest())?,
            _ => self.limits.check_name(&id)?,
        }
        let account = self.store.credentials(&id).await.map_err(internal)?;
        let hash = account
            .as_ref()
            .and_then(|(_, hash)| hash.clone())
            .unwrap_or_else(|| self.decoy.clone());
        let password_ok = self.hashing.run(move || verify_password(&password, &hash)).await?;
        match account {
            Some((user, Some(_))) if password_ok => {
                let device = self.trust_device(&user.id, client).await?;
                self.open_session(user, Some(device)).await
            }
            _ => Err(ChatError::BadCredentials),
        }
    }

    /// The person a session token belongs to, if it is valid and not expired.
    pub async fn session(&self, token: &SessionToken) -> Result<Option<UserRef>, ChatError> {
        self.store.session_user(&token.digest().0, now_ms()).await.map_err(internal)
    }

    /// Who a session (a cookie's or a bot's token) speaks for, in one query.
    pub async fn identity(
        &self,
        token: &SessionToken,
    ) -> Result<Option<super::Identity>, ChatError> {
        let found = self.store.session_identity(&token.digest().0, now_ms()).await;
        Ok(found.map_err(internal)?.map(|(user, bot)| super::Identity { user, bot }))
    }

    /// Which of these sessions are still valid (not signed out, not expired).
    pub async fn live_sessions(
        &self,
        sessions: &[SessionDigest],
    ) -> Result<std::collections::HashSet<SessionDigest>, ChatError> {
        let mut live = std::collections::HashSet::new();
        // Bounded statements, however many sockets a node holds.
        for chunk in sessions.chunks(500) {
            let hashes: Vec<String> = chunk.iter().map(|d| d.0.clone()).collect();
            let found = self.store.live_sessions(&hashes, now_ms()).await.map_err(internal)?;
            live.extend(found.into_iter().map(SessionDigest));
        }
        Ok(live)
    }

    /// Ends a session; false if there was none.
    pub async fn sign_out(&self, token: &SessionToken) -> Result<bool, ChatError> {
        self.store.delete_session(&token.digest().0).await.map_err(internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hashes_are_argon2id_and_verify() {
        let hash = hash_password("correct horse").expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a phc string"));
    }

    #[test]
    fn password_length_rule() {
        assert!(check_password_rule(&"x".repeat(MIN_PASSWORD_CHARS)).is_ok());
        assert!(check_password_rule(&"x".repeat(MIN_PASSWORD_CHARS - 1)).is_err());
        assert!(check_password_rule(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
    }

    async fn accounts() -> (Accounts, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::store::SqliteStore::open(dir.path()).await.expect("store");
        let policy = AccountPolicy {
            allow_guests: false,
            session_ttl: Duration::from_secs(60),
            sign_in_attempts_per_minute: 100,
            attempts_per_address_per_minute: 100,
            hashes_at_once: 1,
            hash_wait: Duration::from_secs(5),
        };
        (Accounts::new(Arc::new(store), policy).await.expect("accounts"), dir)
    }

    /// The README promises a wrong password and an unknown name take the same time: both run
    /// one verification (the unknown name against the decoy hash). Without the decoy an unknown
    /// name would answer at once.
    #[tokio::test]
    async fn an_unknown_name_costs_the_same_verification_as_a_wrong_password() {
        let (accounts, _dir) = accounts().await;
        let client = Client::default();
        accounts.register("Ada", "correct horse".into(), &client).await.expect("registered");
        let before = accounts.hashes_computed();
        let wrong = accounts.sign_in("Ada", "wrong horse".into(), &client).await;
        assert_eq!(wrong.err(), Some(ChatError::BadCredentials));
        assert_eq!(accounts.hashes_computed(), before + 1, "a wrong password is verified");
        let unknown = accounts.sign_in("Nobody", "wrong horse".into(), &client).await;
        assert_eq!(unknown.err(), Some(ChatError::BadCredentials));
        assert_eq!(accounts.hashes_computed(), before + 2, "an unknown name is verified too");
    }

    /// A taken name is refused before the expensive hash.
    #[tokio::test]
    async fn a_taken_name_is_refused_without_hashing() {
        let (accounts, _dir) = accounts().await;
        let client = Client::default();
        accounts.register("Ada", "correct horse".into(), &client).await.expect("registered");
        let before = accounts.hashes_computed();
        let again = accounts.register("ADA", "other horse".into(), &client).await;
        assert_eq!(again.err(), Some(ChatError::NameTaken { name: "ADA".into() }));
        assert_eq!(accounts.hashes_computed(), before);
    }

    #[test]
    fn tokens_are_random_and_stored_only_as_digests() {
        let a = SessionToken::generate().expect("token");
        let b = SessionToken::generate().expect("token");
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 43, "32 bytes, base64url");
        assert_ne!(a.digest().0, a.as_str());
        assert_eq!(a.digest(), SessionToken::from_cookie(a.as_str()).digest());
    }
}
