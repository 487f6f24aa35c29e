//! Incoming webhooks: what CI and alerting post to become a bot's message in a room.
//!
//! A webhook is a row naming a room and a bot, with the SHA-256 of a random secret (like a
//! session's: the secret is random, so a fast hash is enough). A post names the webhook (its
//! URL) and carries the secret; an unknown webhook and a wrong secret are refused alike
//! ([`ChatError::BadWebhook`]), so nobody learns which webhooks exist. A post then goes through
//! [`Chat::post`] as the bot: the same validation, length limit, idempotency by message id
//! (scoped to the bot and the room), membership check and commit-before-answer as any message.

use std::sync::Arc;

use app::ChatError;
use app::events::messages::SendMessagePayload;
use app::model::ChatMessage;
use uuid::Uuid;

use super::accounts::SessionToken;
use super::{Audience, Chat, Identity, internal};
use crate::store::{Store, WebhookRecord};

/// Posts through webhooks.
pub struct Webhooks {
    chat: Arc<Chat>,
    store: Arc<dyn Store>,
}

/// A post to a webhook, as its caller sends it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookPost {
    /// The message (Markdown, as typed in the composer).
    pub text: String,
    /// A message id, so that a retried post is stored once (optional; without it, each post is
    /// a new message).
    #[serde(default)]
    pub id: Option<Uuid>,
}

impl Webhooks {
    /// Webhooks over `chat` and `store`.
    pub fn new(chat: Arc<Chat>, store: Arc<dyn Store>) -> Self {
        Self { chat, store }
    }

    /// The webhook `id` if `secret` is its secret and its bot is not banned.
    pub async fn open(&self, id: Uuid, secret: &str) -> Result<WebhookRecord, ChatError> {
        let hook = self.store.webhook(id).await.map_err(internal)?.ok_or(ChatError::BadWebhook)?;
        if SessionToken::from_cookie(secret).digest().0 == hook.secret_hash {
            Ok(hook)
        } else {
            Err(ChatError::BadWebhook)
        }
    }

    /// Posts `post` through `hook` (from [`Self::open`]) as its bot: the message and its
    /// audience (`None`: a retry, delivered when first stored).
    pub async fn post(
        &self,
        hook: &WebhookRecord,
        post: WebhookPost,
    ) -> Result<(ChatMessage, Option<Audience>), ChatError> {
        let bot =
            self.store.user(&hook.bot).await.map_err(internal)?.ok_or(ChatError::BadWebhook)?;
        let who = Identity { user: bot, bot: true };
        let payload = SendMessagePayload {
            id: post.id.unwrap_or_else(Uuid::now_v7),
            room: hook.room.clone(),
            body: post.text,
            thread: None,
        };
        self.chat.post(&who, payload, super::Seat::Unknown).await
    }
}
