//! Accounts and sessions: who may speak as whom.
//!
//! Passwords are hashed with Argon2id (the `argon2` crate, its default OWASP parameters) on a
//! blocking thread, so hashing never stalls the socket handlers. Hashes never leave this module
//! except into the store.
//!
//! A session is 32 random bytes from the OS, given to the browser once (in an HttpOnly cookie)
//! and stored only as its SHA-256: a leaked database holds no usable session. Sessions are rows
//! rather than signed tokens so that signing out ends them at once, on every node sharing the
//! store.
//!
//! Names are unique regardless of case across accounts and guests (a person's id is their
//! lowercased name), so nobody can appear under someone else's name. A guest is an account
//! without a password: its name stays taken, and it can be used again only through its session.

use std::num::NonZeroU32;
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
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use sha2::{Digest, Sha256};

use super::{internal, now_ms};
use crate::store::{Store, StoreError};

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

    /// A token as received from a cookie.
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

/// How accounts behave; from [`crate::Config`].
#[derive(Debug, Clone)]
pub struct AccountPolicy {
    /// Whether a name without a password may join.
    pub allow_guests: bool,
    /// How long a session lasts after sign-in.
    pub session_ttl: Duration,
    /// Sign-in attempts allowed per name and minute (against password guessing).
    pub sign_in_attempts_per_minute: u32,
}

/// Registration, sign-in, guests and sessions over the store.
#[derive(Debug)]
pub struct Accounts {
    store: Arc<dyn Store>,
    policy: AccountPolicy,
    attempts: DefaultKeyedRateLimiter<UserId>,
    clock: DefaultClock,
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

/// Runs Argon2 off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ChatError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        tracing::error!(error = %e, "password hashing task failed");
        ChatError::Internal
    })
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
        let per_minute =
            NonZeroU32::new(policy.sign_in_attempts_per_minute).unwrap_or(NonZeroU32::MIN);
        let decoy = SessionToken::generate()?;
        let decoy = blocking(move || hash_password(decoy.as_str())).await??;
        Ok(Self {
            store,
            policy,
            attempts: DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute)),
            clock: DefaultClock::default(),
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

    async fn open_session(&self, user: UserRef) -> Result<NewSession, ChatError> {
        let token = SessionToken::generate()?;
        let now = now_ms();
        let ttl = i64::try_from(self.policy.session_ttl.as_millis()).unwrap_or(i64::MAX);
        self.store
            .create_session(&token.digest().0, &user.id, now, now.saturating_add(ttl))
            .await
            .map_err(internal)?;
        Ok(NewSession { user, token })
    }

    async fn create(&self, name: &str, hash: Option<String>) -> Result<NewSession, ChatError> {
        let user = UserRef::named(DisplayName::parse(name)?);
        self.store.create_account(&user, hash.as_deref(), now_ms()).await.map_err(|e| match e {
            StoreError::Conflict => ChatError::NameTaken { name: user.name.to_string() },
            e => internal(e),
        })?;
        self.open_session(user).await
    }

    /// Creates an account named `name` and opens a session for it.
    #[tracing::instrument(skip_all, fields(name))]
    pub async fn register(&self, name: &str, password: String) -> Result<NewSession, ChatError> {
        DisplayName::parse(name)?;
        check_password_rule(&password)?;
        let hash = blocking(move || hash_password(&password)).await??;
        self.create(name, Some(hash)).await
    }

    /// Opens a session for a passwordless guest name.
    #[tracing::instrument(skip_all, fields(name))]
    pub async fn guest(&self, name: &str) -> Result<NewSession, ChatError> {
        if !self.policy.allow_guests {
            return Err(ChatError::GuestsDisabled);
        }
        self.create(name, None).await
    }

    /// Checks `name` and `password` and opens a session. Every failure looks the same
    /// ([`ChatError::BadCredentials`]), and attempts per name are rate limited.
    #[tracing::instrument(skip_all, fields(name))]
    pub async fn sign_in(&self, name: &str, password: String) -> Result<NewSession, ChatError> {
        let name = DisplayName::parse(name).map_err(|_| ChatError::BadCredentials)?;
        let id = UserRef::named(name).id;
        if let Err(not_until) = self.attempts.check_key(&id) {
            let wait = not_until.wait_time_from(self.clock.now());
            return Err(ChatError::RateLimited {
                retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
            });
        }
        let account = self.store.credentials(&id).await.map_err(internal)?;
        let hash = account
            .as_ref()
            .and_then(|(_, hash)| hash.clone())
            .unwrap_or_else(|| self.decoy.clone());
        let password_ok = blocking(move || verify_password(&password, &hash)).await?;
        match account {
            Some((user, Some(_))) if password_ok => self.open_session(user).await,
            _ => Err(ChatError::BadCredentials),
        }
    }

    /// The person a session token belongs to, if it is valid and not expired.
    pub async fn session(&self, token: &SessionToken) -> Result<Option<UserRef>, ChatError> {
        self.store.session_user(&token.digest().0, now_ms()).await.map_err(internal)
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
