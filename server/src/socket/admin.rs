//! The `/admin` namespace: administrators only, refused for anyone else at connect.
//!
//! Its middleware chain starts with `/chat`'s `authenticate` (the session, from the cookie or a
//! bot's token; a bot is never an administrator), then checks the role. Requests go to [`crate::domain::Admin`], which
//! checks the role again and writes the audit log; closing the sockets a ban or a demotion ends
//! is done here, through the adapter, so it reaches every node.

use std::sync::Arc;

use app::events::CHAT_NAMESPACE;
use app::events::admin::{
    ADMIN_NAMESPACE, BanPerson, ConnectionList, CreateBot, CreateWebhook, DeleteAnyRoom,
    DeleteWebhook, Demote, EndSession, IssueBotToken, ListAudit, ListConnections, NodeFigures,
    NodeList, Promote, RemoveMessage, RevokeBotTokens, UnbanPerson,
};
use app::events::messages::MessageUpdated;
use app::events::rooms::{Empty, MemberJoined, RoomDeleted, RoomGone};
use app::model::RoomKind;
use app::model::UserId;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{Extension, SocketRef, State};
use socketioxide::handler::ConnectHandler;
use socketioxide_core::adapter::DefinedAdapter;

use super::Kind::{Change, Read};
use super::nodes::{NodeAnswer, NodeQuery};
use super::{ConnectRefusal, audience_keys, emit, on_request, room_key, user_key};
use crate::domain::{Admin, Connections, Identity};

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
    // The same registration as `/chat`'s requests: rate-limited, malformed payloads answered
    // `invalid_payload`, every outcome acked.
    on_request::<A, BanPerson, _, _>(&socket, Change, |caller, request| async move {
        caller.admin.ban(&caller.identity, &request).await?;
        tracing::info!(by = %caller.identity.user.id, user = %request.user, "banned");
        close_everywhere(&caller.io, CHAT_NAMESPACE, &request.user).await;
        Ok(Empty {})
    });
    on_request::<A, UnbanPerson, _, _>(&socket, Change, |caller, request| async move {
        caller.admin.unban(&caller.identity, &request.user).await.map(|()| Empty {})
    });
    on_request::<A, Promote, _, _>(&socket, Change, |caller, request| async move {
        caller.admin.promote(&caller.identity, &request.user).await.map(|()| Empty {})
    });
    on_request::<A, Demote, _, _>(&socket, Change, |caller, request| async move {
        caller.admin.demote(&caller.identity, &request.user).await?;
        close_everywhere(&caller.io, ADMIN_NAMESPACE, &request.user).await;
        Ok(Empty {})
    });
    on_request::<A, RemoveMessage, _, _>(&socket, Change, |caller, request| async move {
        let (message, audience) = caller.admin.remove_message(&caller.identity, request.id).await?;
        if let Some(chat) = caller.io.of(CHAT_NAMESPACE) {
            emit::<A, MessageUpdated>(chat.to(audience_keys(&audience)), &message).await;
        }
        Ok(message)
    });
    on_request::<A, DeleteAnyRoom, _, _>(&socket, Change, |caller, request| async move {
        let kind = caller.admin.delete_room(&caller.identity, &request.room).await?;
        tracing::info!(by = %caller.identity.user.id, room = %request.room, "room deleted by an administrator");
        let key = room_key(&request.room);
        if let Some(chat) = caller.io.of(CHAT_NAMESPACE) {
            // The namespace's operators reach every socket of it; a private room's, its members.
            let news = match kind {
                RoomKind::Public => chat,
                RoomKind::Private | RoomKind::Direct => chat.to(key.clone()),
            };
            let gone = RoomGone { room: request.room.clone(), by: caller.identity.user.clone() };
            emit::<A, RoomDeleted>(news, &gone).await;
        }
        if let Some(chat) = caller.io.of(CHAT_NAMESPACE)
            && let Err(e) = chat.within(key.clone()).leave(key).await
        {
            tracing::warn!(error = %e, room = %request.room, "could not empty a deleted room");
        }
        Ok(request)
    });
    on_request::<A, CreateBot, _, _>(&socket, Change, |caller, request| async move {
        caller.admin.create_bot(&caller.identity, &request.name).await
    });
    on_request::<A, IssueBotToken, _, _>(&socket, Change, |caller, request| async move {
        caller.admin.issue_bot_token(&caller.identity, &request.user).await
    });
    on_request::<A, RevokeBotTokens, _, _>(&socket, Change, |caller, request| async move {
        caller.admin.revoke_bot_tokens(&caller.identity, &request.user).await?;
        tracing::info!(by = %caller.identity.user.id, bot = %request.user, "bot tokens revoked");
        close_everywhere(&caller.io, CHAT_NAMESPACE, &request.user).await;
        Ok(Empty {})
    });
    on_request::<A, CreateWebhook, _, _>(&socket, Change, |caller, request| async move {
        let (created, joined) = caller.admin.create_webhook(&caller.identity, &request).await?;
        if let Some((change, kind)) = joined
            && let Some(chat) = caller.io.of(CHAT_NAMESPACE)
        {
            let key = room_key(&change.room);
            // The bot's open sockets (if it also connects) hear the room from now on.
            if let Err(e) = chat.clone().within(user_key(&change.user.id)).join(key.clone()).await {
                tracing::warn!(error = %e, "could not move a bot's sockets into a room");
            }
            let news = match kind {
                RoomKind::Public => chat,
                RoomKind::Private | RoomKind::Direct => chat.to(key),
            };
            emit::<A, MemberJoined>(news, &change).await;
        }
        Ok(created)
    });
    on_request::<A, DeleteWebhook, _, _>(&socket, Change, |caller, request| async move {
        caller.admin.delete_webhook(&caller.identity, request.id).await.map(|()| Empty {})
    });
    on_request::<A, ListAudit, _, _>(&socket, Read, |caller, request| async move {
        caller.admin.audit(&caller.identity, request).await
    });
    on_request::<A, ListConnections, _, _>(&socket, Read, |caller, _| async move {
        caller.admin.require(&caller.identity).await?;
        let asked = caller.ops.nodes.ask(NodeQuery::Connections).await;
        let nodes = u32::try_from(asked.answers.len()).unwrap_or(u32::MAX);
        let (mut connections, mut total) = (Vec::new(), 0);
        for answer in asked.answers {
            if let NodeAnswer::Connections { listed, total: theirs } = answer {
                connections.extend(listed);
                total += theirs;
            }
        }
        connections.sort_by(super::nodes::listing_order);
        connections.truncate(app::limits::MAX_LISTED_CONNECTIONS);
        let total = u32::try_from(total).unwrap_or(u32::MAX);
        Ok(ConnectionList { connections, total, nodes, partial: asked.partial })
    });
    on_request::<A, NodeFigures, _, _>(&socket, Read, |caller, _| async move {
        caller.admin.require(&caller.identity).await?;
        let asked = caller.ops.nodes.ask(NodeQuery::Figures).await;
        let mut nodes: Vec<_> = asked
            .answers
            .into_iter()
            .filter_map(|a| match a {
                NodeAnswer::Figures(f) => Some(f),
                NodeAnswer::Connections { .. } => None,
            })
            .collect();
        nodes.sort_by(|a, b| a.node.cmp(&b.node));
        Ok(NodeList { nodes, partial: asked.partial })
    });
    on_request::<A, EndSession, _, _>(&socket, Change, |caller, request| async move {
        caller.admin.end_session(&caller.identity, &request.session).await?;
        let digest = crate::domain::SessionDigest(request.session);
        caller.io.close_session(&digest).await;
        Ok(Empty {})
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
