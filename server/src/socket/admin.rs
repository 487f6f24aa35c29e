//! The `/admin` namespace: administrators only, refused for anyone else at connect.
//!
//! Its middleware chain starts with `/chat`'s `authenticate` (the session cookie, nothing from
//! the `auth` payload), then checks the role. Requests go to [`crate::domain::Admin`], which
//! checks the role again and writes the audit log; closing the sockets a ban or a demotion ends
//! is done here, through the adapter, so it reaches every node.

use std::sync::Arc;

use app::ChatError;
use app::events::admin::{
    ADMIN_NAMESPACE, BanPerson, Demote, ListAudit, Promote, RemoveMessage, UnbanPerson,
};
use app::events::messages::MessageUpdated;
use app::events::rooms::Empty;
use app::events::{Ack, CHAT_NAMESPACE, ClientEvent};
use app::model::UserId;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Extension, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide_core::adapter::DefinedAdapter;

use super::{ConnectRefusal, RequestLimiter, audience_keys, emit, user_key};
use crate::domain::{Admin, Identity};

/// Registers the `/admin` namespace (see [`super::register`] for what the result is).
pub fn register<A: Adapter + DefinedAdapter>(io: &SocketIo<A>) -> A::InitRes {
    io.ns(ADMIN_NAMESPACE, connected::<A>.with(admit::<A>).with(super::authenticate::<A>))
}

/// After `authenticate`: administrators only.
async fn admit<A: Adapter>(
    socket: SocketRef<A>,
    State(admin): State<Arc<Admin>>,
    Extension(identity): Extension<Identity>,
) -> Result<(), ConnectRefusal> {
    if !admin.is_admin(&identity.user.id).await? {
        return Err(ConnectRefusal::AdminsOnly);
    }
    socket.join(user_key(&identity.user.id));
    on_admin::<A, BanPerson, _, _>(&socket, |io, admin, who, request| async move {
        admin.ban(&who, &request).await?;
        close_everywhere(&io, CHAT_NAMESPACE, &request.user).await;
        Ok(Empty {})
    });
    on_admin::<A, UnbanPerson, _, _>(&socket, |_, admin, who, request| async move {
        admin.unban(&who, &request.user).await.map(|()| Empty {})
    });
    on_admin::<A, Promote, _, _>(&socket, |_, admin, who, request| async move {
        admin.promote(&who, &request.user).await.map(|()| Empty {})
    });
    on_admin::<A, Demote, _, _>(&socket, |io, admin, who, request| async move {
        admin.demote(&who, &request.user).await?;
        close_everywhere(&io, ADMIN_NAMESPACE, &request.user).await;
        Ok(Empty {})
    });
    on_admin::<A, RemoveMessage, _, _>(&socket, |io, admin, who, request| async move {
        let (message, audience) = admin.remove_message(&who, request.id).await?;
        if let Some(chat) = io.of(CHAT_NAMESPACE) {
            emit::<A, MessageUpdated>(chat.to(audience_keys(&audience)), &message).await;
        }
        Ok(message)
    });
    on_admin::<A, ListAudit, _, _>(&socket, |_, admin, who, request| async move {
        admin.audit(&who, request).await
    });
    Ok(())
}

async fn connected<A: Adapter>(socket: SocketRef<A>, Extension(identity): Extension<Identity>) {
    tracing::info!(sid = %socket.id, user = %identity.user.id, "administrator connected");
}

/// Closes `user`'s sockets on `namespace`, on every node. If the adapter cannot reach the other
/// nodes, theirs close at the next session check (a ban ended the sessions; a demotion is
/// checked again at each request).
async fn close_everywhere<A: Adapter>(io: &SocketIo<A>, namespace: &str, user: &UserId) {
    let Some(ns) = io.of(namespace) else { return };
    if let Err(e) = ns.within(user_key(user)).disconnect().await {
        tracing::warn!(error = %e, %namespace, "could not close a person's sockets on every node");
    }
}

/// Registers the handler of one administrative request: rate-limited like every request, the
/// payload decoded or refused with [`ChatError::InvalidPayload`], the outcome acked.
fn on_admin<A, E, F, Fut>(socket: &SocketRef<A>, handler: F)
where
    A: Adapter,
    E: ClientEvent,
    F: Fn(SocketIo<A>, Arc<Admin>, Identity, E::Payload) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Ack<E>> + Send + 'static,
{
    socket.on(
        E::NAME,
        move |io: SocketIo<A>,
              State(admin): State<Arc<Admin>>,
              State(limiter): State<RequestLimiter>,
              Extension(identity): Extension<Identity>,
              TryData(payload): TryData<E::Payload>,
              ack: AckSender<A>| {
            let handler = handler.clone();
            async move {
                let result = match (limiter.check(&identity.user.id), payload) {
                    (Err(refused), _) => Err(refused),
                    (Ok(()), Ok(payload)) => handler(io, admin, identity.clone(), payload).await,
                    (Ok(()), Err(e)) => Err(ChatError::InvalidPayload { reason: e.to_string() }),
                };
                match &result {
                    Ok(_) => {
                        tracing::info!(event = E::NAME, by = %identity.user.id, "administration")
                    }
                    Err(e) => tracing::debug!(event = E::NAME, error = %e, "request refused"),
                }
                if let Err(e) = ack.send(&result) {
                    tracing::debug!(event = E::NAME, error = %e, "could not send ack");
                }
            }
        },
    );
}
