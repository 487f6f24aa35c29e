//! What the domain's callers (sign-out, shutdown, incoming webhooks) need from whatever holds the live connections,
//! without naming it: the socket layer implements [`Connections`] for its Socket.IO server, and
//! the page handlers hold it as a `dyn Connections`. Keeping the trait here, below both, is what
//! lets the page handlers and the socket layer use each other's results without a module cycle.

use app::model::ChatMessage;

use super::{Audience, SessionDigest};

/// Closes live connections, and delivers what arrived outside them, on every node.
#[async_trait::async_trait]
pub trait Connections: Send + Sync {
    /// Disconnects every tab of a session, on every node.
    async fn close_session(&self, session: &SessionDigest);
    /// Closes every connection of this node (graceful shutdown).
    async fn close(&self);
    /// Delivers a message stored outside a socket (a webhook's post) to its audience.
    async fn deliver_new(&self, message: &ChatMessage, audience: &Audience);
}
