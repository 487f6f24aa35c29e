//! One handler per request event: extract, call the domain, broadcast, return the ack.

use std::time::Instant;

use app::ChatError;
use app::events::files::{
    BeginUpload, BeginUploadPayload, CancelUpload, CancelUploadPayload, FinishUpload,
    FinishUploadPayload,
};
use app::events::messages::{
    DeleteMessage, DeleteRequest, EditMessage, EditRequest, HistoryRequest, LoadHistory,
    LoadThread, MessageUpdated, NewMessage, ReactPayload, ReactToMessage, SearchMessages,
    SendMessage, SendMessagePayload, SyncRequest, SyncRoom, ThreadRequest,
};
use app::events::presence::{StartTyping, Typing};
use app::events::rooms::{
    CreateRoom, CreateRoomPayload, DeleteRoom, DirectOpened, Empty, InvitePayload, InviteToRoom,
    JoinRoom, LeaveRoom, ListRooms, MarkRead, MarkReadPayload, MemberChange, MemberJoined,
    MemberLeft, MemberPayload, ModeratorChanged, ModeratorPayload, MutePayload, MuteRoom,
    OpenDirect, OpenDirectPayload, RemoveMember, RemoveRoomMessage, RemovedFromRoom, RoomAdded,
    RoomCreated, RoomDeleted, RoomGone, RoomMembers, RoomRead, RoomRef, SetModerator,
};
use app::events::{Ack, CHAT_NAMESPACE};
use app::model::{RoomId, RoomKind};
use socketioxide::adapter::Adapter;
use socketioxide::operators::BroadcastOperators;

use super::Kind::{Change, Read};
use super::{Caller, audience_keys, emit, emit_to, on_request, room_key, user_key};
use crate::domain::Audience;

/// Registers every request handler on a new connection.
pub(super) fn register<A: Adapter>(socket: &socketioxide::extract::SocketRef<A>) {
    // Changes: each waits for the connection's changes before it (see `super::order`).
    on_request::<A, CreateRoom, _, _>(socket, Change, create_room);
    on_request::<A, JoinRoom, _, _>(socket, Change, join_room);
    on_request::<A, InviteToRoom, _, _>(socket, Change, invite);
    on_request::<A, LeaveRoom, _, _>(socket, Change, leave_room);
    on_request::<A, DeleteRoom, _, _>(socket, Change, delete_room);
    on_request::<A, RemoveRoomMessage, _, _>(socket, Change, remove_room_message);
    on_request::<A, RemoveMember, _, _>(socket, Change, remove_member);
    on_request::<A, SetModerator, _, _>(socket, Change, set_moderator);
    on_request::<A, OpenDirect, _, _>(socket, Change, open_direct);
    on_request::<A, SendMessage, _, _>(socket, Change, send_message);
    on_request::<A, EditMessage, _, _>(socket, Change, edit_message);
    on_request::<A, DeleteMessage, _, _>(socket, Change, delete_message);
    on_request::<A, MarkRead, _, _>(socket, Change, mark_read);
    on_request::<A, MuteRoom, _, _>(socket, Change, mute_room);
    on_request::<A, ReactToMessage, _, _>(socket, Change, react);
    on_request::<A, FinishUpload, _, _>(socket, Change, finish_upload);
    // Reads, and what only starts or stops something (typing, an upload's start or cancel):
    // side by side.
    on_request::<A, ListRooms, _, _>(socket, Read, list_rooms);
    on_request::<A, RoomMembers, _, _>(socket, Read, room_members);
    on_request::<A, StartTyping, _, _>(socket, Read, start_typing);
    on_request::<A, LoadHistory, _, _>(socket, Read, load_history);
    on_request::<A, LoadThread, _, _>(socket, Read, load_thread);
    on_request::<A, SyncRoom, _, _>(socket, Read, sync_room);
    on_request::<A, SearchMessages, _, _>(socket, Read, search);
    on_request::<A, BeginUpload, _, _>(socket, Read, begin_upload);
    on_request::<A, CancelUpload, _, _>(socket, Read, cancel_upload);
}

async fn begin_upload<A: Adapter>(
    caller: Caller<A>,
    payload: BeginUploadPayload,
) -> Ack<BeginUpload> {
    caller.files.begin(&caller.identity, payload).await
}

async fn cancel_upload<A: Adapter>(
    caller: Caller<A>,
    payload: CancelUploadPayload,
) -> Ack<CancelUpload> {
    caller.files.cancel(&caller.identity, payload.id).await;
    Ok(Empty {})
}

/// A finished upload is a sent message: delivered like `message:send`'s.
async fn finish_upload<A: Adapter>(
    caller: Caller<A>,
    payload: FinishUploadPayload,
) -> Ack<FinishUpload> {
    let (message, audience) = caller.files.finish(&caller.identity, payload).await?;
    deliver_new(&caller, message, audience).await
}

async fn search<A: Adapter>(
    caller: Caller<A>,
    payload: app::search::SearchRequest,
) -> Ack<SearchMessages> {
    caller.chat.search(&caller.identity, &payload).await
}

async fn react<A: Adapter>(caller: Caller<A>, payload: ReactPayload) -> Ack<ReactToMessage> {
    let (message, audience) =
        caller.chat.react(&caller.identity, payload.id, &payload.emoji, payload.on).await?;
    if let Some(audience) = audience {
        emit_to::<_, MessageUpdated>(&caller.socket, &audience, &message).await;
    }
    Ok(message)
}

async fn mute_room<A: Adapter>(caller: Caller<A>, payload: MutePayload) -> Ack<MuteRoom> {
    let (state, audience) =
        caller.chat.mute(&caller.identity, &payload.room, payload.muted).await?;
    emit_to::<_, RoomRead>(&caller.socket, &audience, &state).await;
    Ok(state)
}

async fn load_thread<A: Adapter>(caller: Caller<A>, payload: ThreadRequest) -> Ack<LoadThread> {
    caller.chat.thread(&caller.identity, payload.parent, payload.before).await
}

async fn load_history<A: Adapter>(caller: Caller<A>, payload: HistoryRequest) -> Ack<LoadHistory> {
    caller.chat.history(&caller.identity, &payload.room, payload.before, payload.back_to).await
}

async fn sync_room<A: Adapter>(caller: Caller<A>, payload: SyncRequest) -> Ack<SyncRoom> {
    caller.chat.sync(&caller.identity, &payload.room, payload.after_rev).await
}

async fn edit_message<A: Adapter>(caller: Caller<A>, payload: EditRequest) -> Ack<EditMessage> {
    let (message, audience) =
        caller.chat.edit_message(&caller.identity, payload.id, &payload.body).await?;
    emit_to::<_, MessageUpdated>(&caller.socket, &audience, &message).await;
    Ok(message)
}

async fn delete_message<A: Adapter>(
    caller: Caller<A>,
    payload: DeleteRequest,
) -> Ack<DeleteMessage> {
    let (message, audience) = caller.chat.delete_message(&caller.identity, payload.id).await?;
    emit_to::<_, MessageUpdated>(&caller.socket, &audience, &message).await;
    Ok(message)
}

async fn remove_room_message<A: Adapter>(
    caller: Caller<A>,
    payload: DeleteRequest,
) -> Ack<RemoveRoomMessage> {
    let (message, audience) = caller.chat.moderate_message(&caller.identity, payload.id).await?;
    emit_to::<_, MessageUpdated>(&caller.socket, &audience, &message).await;
    Ok(message)
}

async fn remove_member<A: Adapter>(caller: Caller<A>, payload: MemberPayload) -> Ack<RemoveMember> {
    let (view, change) =
        caller.chat.remove_member(&caller.identity, &payload.room, &payload.user).await?;
    if let Err(e) = move_tabs(&caller, &payload.user, &payload.room, false).await {
        // Their tabs may still hear the room: they stay a member (as for a failed leave), and
        // the moderator can try again.
        caller.chat.restore_member(&payload.room, &payload.user).await?;
        let _ = move_tabs(&caller, &payload.user, &payload.room, true).await;
        return Err(e);
    }
    let gone = RoomGone { room: payload.room.clone(), by: caller.identity.user.clone() };
    emit::<_, RemovedFromRoom>(caller.socket.to(user_key(&payload.user)), &gone).await;
    emit::<_, MemberLeft>(news(&caller, view.room.kind, &view.room.id), &change).await;
    Ok(view)
}

async fn set_moderator<A: Adapter>(
    caller: Caller<A>,
    payload: ModeratorPayload,
) -> Ack<SetModerator> {
    let (view, change) = caller
        .chat
        .set_moderator(&caller.identity, &payload.room, &payload.user, payload.moderator)
        .await?;
    if let Some(change) = change {
        emit::<_, ModeratorChanged>(news(&caller, view.room.kind, &view.room.id), &change).await;
    }
    Ok(view)
}

async fn list_rooms<A: Adapter>(caller: Caller<A>, _: Empty) -> Ack<ListRooms> {
    let mut list = caller.chat.list_rooms(&caller.identity).await?;
    list.admin = caller.admin.is_admin(&caller.identity.user.id).await?;
    Ok(list)
}

/// Where news about a room goes (other tabs than the caller's): everyone for a public room, only
/// its members for a private one, so a private room's name and members never leak.
fn news<A: Adapter>(caller: &Caller<A>, kind: RoomKind, room: &RoomId) -> BroadcastOperators<A> {
    match kind {
        RoomKind::Public => caller.socket.broadcast(),
        RoomKind::Private | RoomKind::Direct => caller.socket.to(room_key(room)),
    }
}

/// How often moving a person's tabs is tried before the request fails (each try waits at most
/// the Redis command timeout, 1 s).
const MOVE_ATTEMPTS: u32 = 2;

/// Puts every tab of `user` into (or out of) a room's Socket.IO room, on every node.
///
/// The membership is stored first; if the tabs cannot be moved (the adapter cannot reach the
/// other nodes) after a retry, the request fails with `internal`. Join and invite move the tabs
/// on every call, also when the membership was already stored, so the client's retry makes the
/// live rooms agree with the database; a leave whose move failed is undone (see `leave_room`),
/// so a person is never left receiving a room's messages after being told they left.
async fn move_tabs<A: Adapter>(
    caller: &Caller<A>,
    user: &app::model::UserId,
    room: &RoomId,
    join: bool,
) -> Result<(), ChatError> {
    let Some(ns) = caller.io.of(CHAT_NAMESPACE) else { return Err(ChatError::Internal) };
    let mut attempt = 0;
    loop {
        let tabs = ns.clone().within(user_key(user));
        let result =
            if join { tabs.join(room_key(room)).await } else { tabs.leave(room_key(room)).await };
        match result {
            Ok(()) => return Ok(()),
            Err(e) if attempt + 1 < MOVE_ATTEMPTS => {
                attempt += 1;
                tracing::warn!(error = %e, %room, attempt, "could not move a person's tabs; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(100 * u64::from(attempt)))
                    .await;
            }
            Err(e) => {
                tracing::error!(error = %e, %room, join, "could not move a person's tabs; the request fails");
                return Err(ChatError::Internal);
            }
        }
    }
}

async fn create_room<A: Adapter>(caller: Caller<A>, payload: CreateRoomPayload) -> Ack<CreateRoom> {
    let summary = caller.chat.create_room(&caller.identity, &payload.name, payload.private).await?;
    let change = MemberChange {
        room: summary.id.clone(),
        user: caller.identity.user.clone(),
        members: summary.members,
        bot: caller.identity.bot,
    };
    move_tabs(&caller, &change.user.id, &change.room, true).await?;
    emit::<_, RoomCreated>(news(&caller, summary.kind, &summary.id), &summary).await;
    emit::<_, MemberJoined>(news(&caller, summary.kind, &summary.id), &change).await;
    Ok(summary)
}

async fn join_room<A: Adapter>(caller: Caller<A>, payload: RoomRef) -> Ack<JoinRoom> {
    let (view, change) = caller.chat.join(&caller.identity, &payload.room).await?;
    move_tabs(&caller, &caller.identity.user.id, &view.room.id, true).await?;
    if let Some(change) = change {
        emit::<_, MemberJoined>(news(&caller, view.room.kind, &view.room.id), &change).await;
    }
    Ok(view)
}

async fn invite<A: Adapter>(caller: Caller<A>, payload: InvitePayload) -> Ack<InviteToRoom> {
    let (view, change) = caller.chat.invite(&caller.identity, &payload.room, &payload.user).await?;
    move_tabs(&caller, &payload.user, &view.room.id, true).await?;
    if let Some(change) = change {
        emit::<_, RoomAdded>(caller.socket.to(user_key(&change.user.id)), &view.room).await;
        emit::<_, MemberJoined>(news(&caller, view.room.kind, &view.room.id), &change).await;
    }
    Ok(view)
}

async fn leave_room<A: Adapter>(caller: Caller<A>, payload: RoomRef) -> Ack<LeaveRoom> {
    let (summary, change) = caller.chat.leave(&caller.identity, &payload.room).await?;
    let me = &caller.identity.user.id;
    if let Err(e) = move_tabs(&caller, me, &summary.id, false).await {
        // Some tabs may still be in the room: undo the leave, so the person is still a member
        // (and their tabs are put back where they can be), and refuse; they can leave again.
        if change.is_some() {
            caller.chat.undo_leave(&caller.identity, &summary.id).await?;
        }
        let _ = move_tabs(&caller, me, &summary.id, true).await;
        return Err(e);
    }
    if let Some(change) = &change {
        emit::<_, MemberLeft>(news(&caller, summary.kind, &summary.id), change).await;
    }
    Ok(summary)
}

async fn delete_room<A: Adapter>(caller: Caller<A>, payload: RoomRef) -> Ack<DeleteRoom> {
    let kind = caller.chat.delete_room(&caller.identity, &payload.room).await?;
    let gone = RoomGone { room: payload.room.clone(), by: caller.identity.user.clone() };
    emit::<_, RoomDeleted>(news(&caller, kind, &payload.room), &gone).await;
    let key = room_key(&payload.room);
    if let Some(ns) = caller.io.of(CHAT_NAMESPACE)
        && let Err(e) = ns.within(key.clone()).leave(key).await
    {
        tracing::warn!(error = %e, room = %payload.room, "could not empty a deleted room");
    }
    Ok(payload)
}

async fn room_members<A: Adapter>(caller: Caller<A>, payload: RoomRef) -> Ack<RoomMembers> {
    caller.chat.room_view(&caller.identity, &payload.room).await
}

async fn open_direct<A: Adapter>(caller: Caller<A>, payload: OpenDirectPayload) -> Ack<OpenDirect> {
    let (summary, created) = caller.chat.open_direct(&caller.identity, &payload.user).await?;
    if created {
        let people = Audience::People(summary.peers.iter().map(|p| p.id.clone()).collect());
        emit_to::<_, DirectOpened>(&caller.socket, &people, &summary).await;
    }
    Ok(summary)
}

async fn send_message<A: Adapter>(
    caller: Caller<A>,
    payload: SendMessagePayload,
) -> Ack<SendMessage> {
    let seat = caller.seat(&payload.room);
    let (message, audience) = caller.chat.post(&caller.identity, payload, seat).await?;
    deliver_new(&caller, message, audience).await
}

/// Delivers a newly stored message (text or file) to its audience, and the change of the
/// message it answers if it is a reply. A retry's message (`None`) was delivered when it was
/// first stored.
async fn deliver_new<A: Adapter>(
    caller: &Caller<A>,
    message: app::model::ChatMessage,
    audience: Option<Audience>,
) -> Ack<SendMessage> {
    if let Some(audience) = audience {
        caller.ops.metrics.message_posted();
        emit_to::<_, NewMessage>(&caller.socket, &audience, &message).await;
        // A reply changed the message it answers (its count): the sender's tab hears of that
        // too, it has no other way to.
        match caller.chat.thread_parent(&message).await {
            Ok(Some(parent)) => {
                if let Some(ns) = caller.io.of(CHAT_NAMESPACE) {
                    emit::<_, MessageUpdated>(ns.to(audience_keys(&audience)), &parent).await;
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not read a reply's thread"),
        }
    }
    Ok(message)
}

async fn start_typing<A: Adapter>(caller: Caller<A>, payload: RoomRef) -> Ack<StartTyping> {
    if let Some((notice, audience)) = caller
        .chat
        .typing(&caller.identity, &payload.room, Instant::now(), caller.seat(&payload.room))
        .await?
    {
        emit_to::<_, Typing>(&caller.socket, &audience, &notice).await;
    }
    Ok(())
}

async fn mark_read<A: Adapter>(caller: Caller<A>, payload: MarkReadPayload) -> Ack<MarkRead> {
    let (state, audience) =
        caller.chat.mark_read(&caller.identity, &payload.room, payload.seq).await?;
    emit_to::<_, RoomRead>(&caller.socket, &audience, &state).await;
    Ok(state)
}
