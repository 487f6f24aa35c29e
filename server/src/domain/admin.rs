//! Administration: roles, bans and the audit log.
//!
//! An administrator is someone the configuration names (`--admin`; always one, so a team cannot
//! lock itself out by demoting everyone) or someone an administrator promoted (a flag on the
//! account). Each action checks the actor's role afresh, changes the store in one statement or
//! transaction, and writes the audit log. Closing sockets is the caller's (the socket layer's)
//! part: this module knows nothing of them.
//!
//! A bot is an account without a password whose sessions are its tokens: a token is made,
//! stored (as its SHA-256) and checked exactly as a browser session is, except that it does not
//! expire. Revoking deletes those sessions, so the checks that end a signed-out browser's
//! sockets end a revoked bot's.
//!
//! A ban ends every session of the person in the same transaction that marks them banned, and
//! a session is only created for someone not banned (one conditional insert), so a sign-in
//! racing the ban either lands before it and is ended with the others, or is refused.

use std::collections::HashSet;
use std::sync::Arc;

use app::ChatError;
use app::events::admin::{
    AdminAction, AuditPage, AuditRequest, BanPayload, BotToken, NewWebhook, WebhookCreated,
};
use app::events::rooms::MemberChange;
use app::limits::{AUDIT_PAGE, MAX_REASON_CHARS};
use app::model::{ChatMessage, DisplayName, RoomId, RoomKind, UserId, UserRef};

use uuid::Uuid;

use super::accounts::SessionToken;
use super::{Audience, Chat, Identity, internal, now_ms};
use crate::store::{Store, StoreError, WebhookRecord};

/// What every webhook secret starts with (see [`super::accounts::BOT_TOKEN_PREFIX`]).
pub const WEBHOOK_SECRET_PREFIX: &str = "parley_hook_";

/// Roles, bans and the audit log.
pub struct Admin {
    chat: Arc<Chat>,
    store: Arc<dyn Store>,
    /// Named by the configuration: administrators whatever the store says.
    named: HashSet<UserId>,
}

impl Admin {
    /// `named`: the people `--admin` names (display names; matched case-insensitively).
    pub fn new(chat: Arc<Chat>, store: Arc<dyn Store>, named: &[String]) -> Self {
        let named = named.iter().map(|n| UserId(n.trim().to_lowercase())).collect();
        Self { chat, store, named }
    }

    /// Whether `user` is an administrator now.
    pub async fn is_admin(&self, user: &UserId) -> Result<bool, ChatError> {
        if self.named.contains(user) {
            return Ok(true);
        }
        self.store.is_admin(user).await.map_err(internal)
    }

    /// `admin_required` unless `actor` is an administrator now (for requests that only read).
    pub async fn require(&self, actor: &Identity) -> Result<(), ChatError> {
        self.check(actor).await
    }

    async fn check(&self, actor: &Identity) -> Result<(), ChatError> {
        if self.is_admin(actor.id()).await? { Ok(()) } else { Err(ChatError::AdminRequired) }
    }

    async fn known(&self, user: &UserId) -> Result<(), ChatError> {
        match self.store.user(user).await.map_err(internal)? {
            Some(_) => Ok(()),
            None => Err(ChatError::UnknownUser { user: user.to_string() }),
        }
    }

    async fn audit_write(
        &self,
        actor: &Identity,
        action: AdminAction,
        target: &UserId,
        detail: &str,
    ) -> Result<(), ChatError> {
        self.store
            .record_audit(actor.id(), action.as_str(), target, detail, now_ms())
            .await
            .map_err(internal)
    }

    /// Bans `request.user`: their sessions end (the caller closes their sockets).
    pub async fn ban(&self, actor: &Identity, request: &BanPayload) -> Result<(), ChatError> {
        self.check(actor).await?;
        let reason = request.reason.trim();
        let len = reason.chars().count();
        if len > MAX_REASON_CHARS {
            return Err(ChatError::InvalidPayload {
                reason: format!("the reason has {len} characters, at most {MAX_REASON_CHARS}"),
            });
        }
        let target = &request.user;
        if target == actor.id() {
            return Err(ChatError::CannotModerate {
                user: target.to_string(),
                reason: "you cannot ban yourself".into(),
            });
        }
        self.known(target).await?;
        if self.is_admin(target).await? {
            return Err(ChatError::CannotModerate {
                user: target.to_string(),
                reason: "administrators cannot be banned; demote them first".into(),
            });
        }
        self.store.ban(target, now_ms()).await.map_err(internal)?;
        self.audit_write(actor, AdminAction::Ban, target, reason).await
    }

    /// Lifts a ban.
    pub async fn unban(&self, actor: &Identity, target: &UserId) -> Result<(), ChatError> {
        self.check(actor).await?;
        self.known(target).await?;
        self.store.unban(target).await.map_err(internal)?;
        self.audit_write(actor, AdminAction::Unban, target, "").await
    }

    /// Ends the session whose digest is `session` (the caller closes its sockets); a session
    /// that does not exist (any more) is not an error. Audited with its person as the target.
    pub async fn end_session(&self, actor: &Identity, session: &str) -> Result<(), ChatError> {
        self.check(actor).await?;
        // A digest is 43 characters of URL-safe base64 (SHA-256, unpadded).
        let well_formed = session.len() == 43
            && session.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err(ChatError::InvalidPayload {
                reason: "session must be a connection's `session` from admin:connections".into(),
            });
        }
        if let Some(user) = self.store.end_session(session).await.map_err(internal)? {
            let detail = format!("session {}", session.get(..8).unwrap_or(session));
            self.audit_write(actor, AdminAction::EndSession, &user, &detail).await?;
        }
        Ok(())
    }

    /// Makes `target` an administrator.
    pub async fn promote(&self, actor: &Identity, target: &UserId) -> Result<(), ChatError> {
        self.check(actor).await?;
        self.known(target).await?;
        if self.store.is_bot(target).await.map_err(internal)? {
            return Err(ChatError::CannotModerate {
                user: target.to_string(),
                reason: "a bot cannot be an administrator".into(),
            });
        }
        self.store.set_admin(target, true).await.map_err(internal)?;
        self.audit_write(actor, AdminAction::Promote, target, "").await
    }

    /// Takes the role from `target` (the caller closes their `/admin` sockets). Someone the
    /// configuration names cannot be demoted.
    pub async fn demote(&self, actor: &Identity, target: &UserId) -> Result<(), ChatError> {
        self.check(actor).await?;
        self.known(target).await?;
        if self.named.contains(target) {
            return Err(ChatError::CannotModerate {
                user: target.to_string(),
                reason: "named an administrator by the server's configuration".into(),
            });
        }
        self.store.set_admin(target, false).await.map_err(internal)?;
        self.audit_write(actor, AdminAction::Demote, target, "").await
    }

    /// Removes a message as a moderator; returns it and who must hear of it.
    pub async fn remove_message(
        &self,
        actor: &Identity,
        id: Uuid,
    ) -> Result<(ChatMessage, Audience), ChatError> {
        self.check(actor).await?;
        let (message, audience) = self.chat.remove_message(id).await?;
        let detail = format!("{}: message {id}", message.room);
        self.audit_write(actor, AdminAction::RemoveMessage, &message.author.id, &detail).await?;
        Ok((message, audience))
    }

    /// Deletes any public or private room; returns its kind (the caller tells its members).
    pub async fn delete_room(
        &self,
        actor: &Identity,
        room: &RoomId,
    ) -> Result<RoomKind, ChatError> {
        self.check(actor).await?;
        let (kind, creator) = self.chat.remove_room(room).await?;
        let creator = creator.unwrap_or_else(|| UserId(String::new()));
        self.audit_write(actor, AdminAction::DeleteRoom, &creator, &room.0).await?;
        Ok(kind)
    }

    /// Creates an incoming webhook posting in `request.room` as the bot `request.bot` (added
    /// to the room if it is not a member: the change is returned for the room to hear, with the
    /// room's kind); returns its secret, this once.
    pub async fn create_webhook(
        &self,
        actor: &Identity,
        request: &NewWebhook,
    ) -> Result<(WebhookCreated, Option<(MemberChange, RoomKind)>), ChatError> {
        self.check(actor).await?;
        let bot = self.bot(&request.bot).await?;
        let room = self
            .store
            .room(&request.room)
            .await
            .map_err(internal)?
            .ok_or_else(|| ChatError::UnknownRoom { room: request.room.to_string() })?;
        if !room.kind.is_group() {
            return Err(ChatError::Forbidden { room: request.room.to_string() });
        }
        let added =
            self.store.add_member(&request.room, &bot.id, now_ms()).await.map_err(internal)?;
        let joined = if added {
            let members = self
                .store
                .room(&request.room)
                .await
                .map_err(internal)?
                .map_or(room.members, |r| r.members);
            let change =
                MemberChange { room: request.room.clone(), user: bot.clone(), members, bot: true };
            Some((change, room.kind))
        } else {
            None
        };
        let secret = SessionToken::generate_prefixed(WEBHOOK_SECRET_PREFIX)?;
        let hook = WebhookRecord {
            id: Uuid::now_v7(),
            room: request.room.clone(),
            bot: bot.id.clone(),
            secret_hash: secret.digest().0,
        };
        self.store.create_webhook(&hook, actor.id(), now_ms()).await.map_err(internal)?;
        let detail = format!("{}: webhook {}", request.room, hook.id);
        self.audit_write(actor, AdminAction::CreateWebhook, &bot.id, &detail).await?;
        let created = WebhookCreated {
            id: hook.id,
            path: format!("/hooks/{}", hook.id),
            secret: secret.as_str().to_owned(),
            room: hook.room,
            bot,
        };
        Ok((created, joined))
    }

    /// Deletes a webhook.
    pub async fn delete_webhook(&self, actor: &Identity, id: Uuid) -> Result<(), ChatError> {
        self.check(actor).await?;
        let hook =
            self.store.delete_webhook(id).await.map_err(internal)?.ok_or(ChatError::BadWebhook)?;
        let detail = format!("{}: webhook {id}", hook.room);
        self.audit_write(actor, AdminAction::DeleteWebhook, &hook.bot, &detail).await
    }

    /// Creates a bot named `name` and its first token.
    pub async fn create_bot(&self, actor: &Identity, name: &str) -> Result<BotToken, ChatError> {
        self.check(actor).await?;
        let bot = UserRef::named(DisplayName::parse(name)?);
        self.store.create_bot(&bot, now_ms()).await.map_err(|e| match e {
            StoreError::Conflict => ChatError::NameTaken { name: bot.name.to_string() },
            e => internal(e),
        })?;
        let token = self.open_token(&bot).await?;
        self.audit_write(actor, AdminAction::CreateBot, &bot.id, "").await?;
        Ok(BotToken { bot, token: token.as_str().to_owned() })
    }

    /// One more token for the bot `target`.
    pub async fn issue_bot_token(
        &self,
        actor: &Identity,
        target: &UserId,
    ) -> Result<BotToken, ChatError> {
        self.check(actor).await?;
        let bot = self.bot(target).await?;
        let token = self.open_token(&bot).await?;
        self.audit_write(actor, AdminAction::IssueBotToken, target, "").await?;
        Ok(BotToken { bot, token: token.as_str().to_owned() })
    }

    /// Ends every token of the bot `target` (the caller closes its sockets).
    pub async fn revoke_bot_tokens(
        &self,
        actor: &Identity,
        target: &UserId,
    ) -> Result<(), ChatError> {
        self.check(actor).await?;
        self.bot(target).await?;
        self.store.end_sessions(target).await.map_err(internal)?;
        self.audit_write(actor, AdminAction::RevokeBotTokens, target, "").await
    }

    /// The bot `target`, or why it is none.
    async fn bot(&self, target: &UserId) -> Result<UserRef, ChatError> {
        let user = self
            .store
            .user(target)
            .await
            .map_err(internal)?
            .ok_or_else(|| ChatError::UnknownUser { user: target.to_string() })?;
        if self.store.is_bot(target).await.map_err(internal)? {
            Ok(user)
        } else {
            Err(ChatError::CannotModerate {
                user: target.to_string(),
                reason: "not a bot: people sign in with a password".into(),
            })
        }
    }

    /// A session for `bot` that does not expire; refused if the bot is banned.
    async fn open_token(&self, bot: &UserRef) -> Result<SessionToken, ChatError> {
        let token = SessionToken::generate_bot()?;
        let opened = self
            .store
            .create_session(&token.digest().0, &bot.id, now_ms(), i64::MAX)
            .await
            .map_err(internal)?;
        if opened { Ok(token) } else { Err(ChatError::Banned) }
    }

    /// A page of the audit log, newest first.
    pub async fn audit(
        &self,
        actor: &Identity,
        request: AuditRequest,
    ) -> Result<AuditPage, ChatError> {
        self.check(actor).await?;
        let mut entries =
            self.store.audit(request.before, AUDIT_PAGE + 1).await.map_err(internal)?;
        let more = entries.len() > AUDIT_PAGE;
        entries.truncate(AUDIT_PAGE);
        Ok(AuditPage { entries, more })
    }
}
