//! `POST /hooks/{id}`: incoming webhooks, for anything that can send JSON (CI, alerting).
//!
//! The secret travels as `Authorization: Bearer <secret>`, never in the URL (URLs end up in
//! access logs and in the tools' settings pages); the body is `{"text": "…", "id"?: uuid}`. The
//! answer is the stored message as JSON (201), or the typed error of any refused message with
//! its HTTP status: `bad_webhook` (401) for an unknown webhook or a wrong secret alike,
//! `rate_limited` (429, with `Retry-After`) when the bot's bucket is empty (the same bucket as
//! its socket's requests), `message_too_long` and the other refusals of `message:send`. Bodies
//! over [`MAX_BODY_BYTES`] are refused before they are read whole.
//!
//! The message goes through the same [`crate::domain::Chat::post`] as a socket's, so it is
//! validated, stored before the answer, idempotent by `id` and delivered to the room on every
//! node.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, StatusCode};
use uuid::Uuid;

use app::ChatError;

use crate::AppState;
use crate::domain::webhooks::WebhookPost;

/// The largest body a webhook reads: a message at its longest limit, in the widest UTF-8, with
/// room for the JSON around it.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// `POST /hooks/{id}`.
pub async fn post(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match accept(&state, &id, &headers, &body).await {
        Ok(message) => (StatusCode::CREATED, Json(message)).into_response(),
        Err(e) => refusal(&e),
    }
}

async fn accept(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<app::model::ChatMessage, ChatError> {
    let id = Uuid::parse_str(id).map_err(|_| ChatError::BadWebhook)?;
    let secret = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ChatError::BadWebhook)?;
    let hook = state.webhooks.open(id, secret.trim()).await?;
    state.limiter.check(&hook.bot).inspect_err(|_| state.ops.metrics.refused("webhook"))?;
    let post: WebhookPost = serde_json::from_slice(body)
        .map_err(|e| ChatError::InvalidPayload { reason: e.to_string() })?;
    let (message, audience) = state.webhooks.post(&hook, post).await?;
    if let Some(audience) = audience {
        state.ops.metrics.message_posted();
        state.connections.deliver_new(&message, &audience).await;
    }
    Ok(message)
}

fn refusal(error: &ChatError) -> Response {
    let status = StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, Json(error)).into_response();
    if let ChatError::RateLimited { retry_after_ms } = error {
        let seconds = retry_after_ms.div_ceil(1000).max(1);
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
    }
    response
}
