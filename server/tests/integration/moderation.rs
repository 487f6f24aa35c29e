//! Room moderation through the real server, on SQLite and PostgreSQL, and across two nodes: a
//! room's creator removes messages and members and hands the role on; nobody else can; direct
//! rooms and the lobby have no moderators; everything lands in the audit log.

use serde_json::json;

use crate::common::stores::Store;
use crate::common::{self, ChatClient, TestApp};
use crate::on_both_stores;
use app::ChatError;
use app::events::ServerEvent;
use app::events::admin::{ADMIN_NAMESPACE, AdminAction, AuditRequest, ListAudit};
use app::events::messages::{DeleteRequest, MessageUpdated, NewMessage, SendMessage};
use app::events::rooms::{
    CreateRoom, CreateRoomPayload, InvitePayload, InviteToRoom, JoinRoom, MemberLeft,
    MemberPayload, ModeratorChanged, ModeratorPayload, OpenDirect, OpenDirectPayload, RemoveMember,
    RemoveRoomMessage, RemovedFromRoom, RoomRef, SetModerator,
};
use app::model::{RoomId, UserId};

on_both_stores!(
    a_rooms_creator_removes_messages_and_members_and_hands_the_role_on,
    only_a_rooms_moderators_moderate_it,
    a_public_rooms_removed_member_may_join_again,
);

fn member(room: &RoomId, name: &str) -> MemberPayload {
    MemberPayload { room: room.clone(), user: UserId(name.to_lowercase()) }
}

fn moderator(room: &RoomId, name: &str, on: bool) -> ModeratorPayload {
    ModeratorPayload { room: room.clone(), user: UserId(name.to_lowercase()), moderator: on }
}

async fn room_of(owner: &ChatClient, name: &str, private: bool, invite: &[&str]) -> RoomId {
    let room = owner
        .request::<CreateRoom>(&CreateRoomPayload { name: name.into(), private })
        .await
        .expect("created")
        .id;
    for who in invite {
        owner
            .request::<InviteToRoom>(&InvitePayload {
                room: room.clone(),
                user: UserId(who.to_lowercase()),
            })
            .await
            .expect("invited");
    }
    room
}

async fn audit_of(app: &TestApp, admin: &str) -> Vec<(String, AdminAction, String)> {
    let cookie = app.session(admin).await;
    let socket = ChatClient::connect(&app.url("/"), ADMIN_NAMESPACE, json!({}), Some(&cookie))
        .await
        .expect("administrator");
    let log = socket.request::<ListAudit>(&AuditRequest::default()).await.expect("audit log");
    log.entries.into_iter().map(|e| (e.actor.id.0, e.action, e.target.0)).collect()
}

/// Ada made `ops`: she removes Cy's message (everyone sees it go), makes Bob a moderator, who
/// removes Cy; Cy's tabs are told and hear the room no more. Ada then takes Bob's role back.
async fn a_rooms_creator_removes_messages_and_members_and_hands_the_role_on(store: Store) {
    let subject = store.start(|c| c.admins = vec!["Root".into()]).await;
    let app = &subject.app;
    let mut ada = app.connect("Ada").await;
    let mut bob = app.connect("Bob").await;
    let mut cy = app.connect("Cy").await;
    let room = room_of(&ada, "ops", true, &["bob", "cy"]).await;

    let spam = cy.request::<SendMessage>(&common::say(&room, "buy now")).await.expect("sent");
    let removed =
        ada.request::<RemoveRoomMessage>(&DeleteRequest { id: spam.id }).await.expect("removed");
    assert!(removed.deleted && removed.moderated && removed.body.is_empty(), "{removed:?}");
    let (seen, _) = bob.until::<MessageUpdated>(|m| m.id == spam.id).await;
    assert!(seen.moderated && seen.body.is_empty(), "{seen:?}");

    let view = ada.request::<SetModerator>(&moderator(&room, "Bob", true)).await.expect("made one");
    let flags: Vec<_> =
        view.members.iter().map(|m| (m.user.id.0.as_str(), m.moderator)).collect::<Vec<_>>();
    assert!(flags.contains(&("ada", true)) && flags.contains(&("bob", true)), "{flags:?}");
    assert!(flags.contains(&("cy", false)), "{flags:?}");
    let (change, _) = cy.until::<ModeratorChanged>(|c| c.room == room).await;
    assert!(change.moderator && change.user.id.0 == "bob" && change.by.id.0 == "ada");

    let view = bob.request::<RemoveMember>(&member(&room, "Cy")).await.expect("removed Cy");
    assert!(view.members.iter().all(|m| m.user.id.0 != "cy"), "{:?}", view.members);
    let (gone, _) = cy.until::<RemovedFromRoom>(|g| g.room == room).await;
    assert_eq!(gone.by.id.0, "bob");
    let (left, _) = ada.until::<MemberLeft>(|c| c.room == room).await;
    assert_eq!(left.user.id.0, "cy");

    no_longer_hears(&bob, &mut cy, &room).await;
    let refused = cy.request::<SendMessage>(&common::say(&room, "let me back")).await;
    assert!(matches!(refused, Err(ChatError::UnknownRoom { .. })), "{refused:?}");

    // The creator cannot lose the role or be removed; a moderator whose role was taken can no
    // longer moderate.
    let creator = bob.request::<SetModerator>(&moderator(&room, "Ada", false)).await;
    assert!(matches!(creator, Err(ChatError::CannotModerate { .. })), "{creator:?}");
    let creator = bob.request::<RemoveMember>(&member(&room, "Ada")).await;
    assert!(matches!(creator, Err(ChatError::CannotModerate { .. })), "{creator:?}");
    ada.request::<SetModerator>(&moderator(&room, "Bob", false)).await.expect("role taken");
    let note = ada.request::<SendMessage>(&common::say(&room, "thanks")).await.expect("sent");
    let after = bob.request::<RemoveRoomMessage>(&DeleteRequest { id: note.id }).await;
    assert!(matches!(after, Err(ChatError::UnknownMessage { .. })), "{after:?}");

    let log = audit_of(app, "Root").await;
    let expected = [
        ("ada".to_owned(), AdminAction::DropModerator, "bob".to_owned()),
        ("bob".to_owned(), AdminAction::RemoveMember, "cy".to_owned()),
        ("ada".to_owned(), AdminAction::AddModerator, "bob".to_owned()),
        ("ada".to_owned(), AdminAction::RoomRemoveMessage, "cy".to_owned()),
    ];
    assert_eq!(log, expected, "newest first; refusals leave no entry");
}

/// A member who does not moderate, the opener of a direct room and everyone in the lobby are
/// refused, and nothing changes.
async fn only_a_rooms_moderators_moderate_it(store: Store) {
    let subject = store.start(|_| {}).await;
    let app = &subject.app;
    let ada = app.connect("Ada").await;
    let bob = app.connect("Bob").await;
    let cy = app.connect("Cy").await;
    let room = room_of(&ada, "ops", true, &["bob", "cy"]).await;
    let said = cy.request::<SendMessage>(&common::say(&room, "mine")).await.expect("sent");

    let removal = bob.request::<RemoveRoomMessage>(&DeleteRequest { id: said.id }).await;
    assert!(matches!(removal, Err(ChatError::UnknownMessage { .. })), "{removal:?}");
    let kick = bob.request::<RemoveMember>(&member(&room, "Cy")).await;
    assert!(matches!(kick, Err(ChatError::Forbidden { .. })), "{kick:?}");
    let promote = bob.request::<SetModerator>(&moderator(&room, "Bob", true)).await;
    assert!(matches!(promote, Err(ChatError::Forbidden { .. })), "{promote:?}");
    // Someone outside a private room learns nothing about it.
    let outsider = app.connect("Dee").await;
    let probe = outsider.request::<RemoveMember>(&member(&room, "Cy")).await;
    assert!(matches!(probe, Err(ChatError::UnknownRoom { .. })), "{probe:?}");
    let not_member = ada.request::<RemoveMember>(&member(&room, "Dee")).await;
    assert!(matches!(not_member, Err(ChatError::CannotModerate { .. })), "{not_member:?}");

    // The person who opened a direct room does not moderate it.
    let dm = ada
        .request::<OpenDirect>(&OpenDirectPayload { user: UserId("bob".into()) })
        .await
        .expect("dm")
        .id;
    let theirs = bob.request::<SendMessage>(&common::say(&dm, "hi")).await.expect("sent");
    let in_dm = ada.request::<RemoveRoomMessage>(&DeleteRequest { id: theirs.id }).await;
    assert!(matches!(in_dm, Err(ChatError::UnknownMessage { .. })), "{in_dm:?}");
    let kick = ada.request::<RemoveMember>(&member(&dm, "Bob")).await;
    assert!(matches!(kick, Err(ChatError::Forbidden { .. })), "{kick:?}");
    // The lobby is the administrators'.
    let lobby = ada.request::<RemoveMember>(&member(&RoomId::lobby(), "Bob")).await;
    assert!(matches!(lobby, Err(ChatError::Forbidden { .. })), "{lobby:?}");

    let view = cy.request::<app::events::rooms::RoomMembers>(&RoomRef { room: room.clone() }).await;
    let view = view.expect("still a member");
    assert_eq!(view.members.len(), 3, "{:?}", view.members);
    let kept = view.members.iter().filter(|m| m.moderator).map(|m| m.user.id.0.as_str());
    assert_eq!(kept.collect::<Vec<_>>(), ["ada"]);
}

/// A public room is open to anyone, so a removed member may join it again (as in Slack); the
/// removal still takes them out of it at once.
async fn a_public_rooms_removed_member_may_join_again(store: Store) {
    let subject = store.start(|_| {}).await;
    let app = &subject.app;
    let ada = app.connect("Ada").await;
    let mut bob = app.connect("Bob").await;
    let room = room_of(&ada, "town", false, &[]).await;
    bob.request::<JoinRoom>(&RoomRef { room: room.clone() }).await.expect("joined");

    ada.request::<RemoveMember>(&member(&room, "Bob")).await.expect("removed");
    let (gone, _) = bob.until::<RemovedFromRoom>(|g| g.room == room).await;
    assert_eq!(gone.by.id.0, "ada");
    let refused = bob.request::<SendMessage>(&common::say(&room, "hello?")).await;
    assert!(matches!(refused, Err(ChatError::NotMember { .. })), "{refused:?}");
    bob.request::<JoinRoom>(&RoomRef { room: room.clone() }).await.expect("joined again");
    bob.request::<SendMessage>(&common::say(&room, "back")).await.expect("sent");
}

/// Across two nodes (Redis adapter, PostgreSQL): the removed person's tabs on the other node are
/// told and taken out of the room.
#[tokio::test]
async fn a_removal_on_one_node_takes_the_persons_tabs_out_on_the_other() {
    let cluster = crate::cluster::cluster_with(|_| {}).await;
    let [one, two] = &cluster.nodes;
    let ada = one.connect("Ada").await;
    let cookie = one.session("Cy").await;
    let mut cy = two.connect_with_cookie(Some(&cookie)).await.expect("cy on node two");
    let room = room_of(&ada, "ops", true, &["cy"]).await;

    ada.request::<RemoveMember>(&member(&room, "Cy")).await.expect("removed");
    let (gone, _) = cy.until::<RemovedFromRoom>(|g| g.room == room).await;
    assert_eq!(gone.by.id.0, "ada");
    no_longer_hears(&ada, &mut cy, &room).await;
}

/// `cy` no longer hears `room`: a message `member` posts there does not reach her before a
/// direct message `member` sends her afterwards does.
async fn no_longer_hears(member: &ChatClient, cy: &mut ChatClient, room: &RoomId) {
    let unheard = member.request::<SendMessage>(&common::say(room, "cy is out")).await;
    let unheard = unheard.expect("sent").id.to_string();
    let dm = member
        .request::<OpenDirect>(&OpenDirectPayload { user: UserId("cy".into()) })
        .await
        .expect("dm")
        .id;
    member.request::<SendMessage>(&common::say(&dm, "sorry")).await.expect("sent");
    let (_, before) = cy.until::<NewMessage>(|m| m.room == dm).await;
    assert!(
        before
            .iter()
            .all(|r| r.event != NewMessage::NAME || !r.data.to_string().contains(&unheard)),
        "{before:?}"
    );
}
