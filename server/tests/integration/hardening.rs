//! What an attacker tries first: colliding identifiers, probing for private rooms, and spending
//! the server's resources before a limit is checked. Each test fails without its fix.

use crate::common;

use app::ChatError;
use app::events::messages::{
    HistoryRequest, LoadHistory, NewMessage, SendMessage, SendMessagePayload, SyncRequest, SyncRoom,
};
use app::events::presence::StartTyping;
use app::events::rooms::{
    CreateRoom, CreateRoomPayload, DeleteRoom, Empty, InvitePayload, InviteToRoom, JoinRoom,
    LeaveRoom, ListRooms, OpenDirect, OpenDirectPayload, RoomMembers, RoomRef,
};
use app::model::{RoomId, UserId};
use common::spawn_app;
use uuid::Uuid;

fn msg(room: &RoomId, body: &str) -> SendMessagePayload {
    SendMessagePayload {
        id: Uuid::now_v7(),
        room: room.clone(),
        body: body.to_owned(),
        thread: None,
    }
}

/// `a:b` + `c` and `a` + `b:c` used to share `dm:a:b:c`: the second pair joined the first
/// pair's conversation, read its history and received its messages.
#[tokio::test]
async fn direct_rooms_of_names_with_separators_never_collide() {
    let app = spawn_app().await;
    let mut first = app.connect("a:b").await;
    let _c = app.connect("c").await;
    let mut second = app.connect("a").await;
    let _bc = app.connect("b:c").await;

    let theirs = first
        .request::<OpenDirect>(&OpenDirectPayload { user: UserId("c".into()) })
        .await
        .expect("opened");
    let secret = first.request::<SendMessage>(&msg(&theirs.id, "between a:b and c")).await;
    let secret = secret.expect("sent");

    let ours = second
        .request::<OpenDirect>(&OpenDirectPayload { user: UserId("b:c".into()) })
        .await
        .expect("opened");
    assert_ne!(ours.id, theirs.id, "two pairs share one direct room");
    let peers: Vec<&str> = ours.peers.iter().map(|p| p.id.0.as_str()).collect();
    assert_eq!(peers, ["a", "b:c"]);
    let history = second
        .request::<LoadHistory>(&HistoryRequest {
            room: ours.id.clone(),
            before: None,
            back_to: None,
        })
        .await
        .expect("history");
    assert!(history.messages.is_empty(), "another pair's history: {history:?}");
    // Nor can the second pair reach the first pair's room by its id.
    assert!(matches!(
        second
            .request::<LoadHistory>(&HistoryRequest {
                room: theirs.id.clone(),
                before: None,
                back_to: None
            })
            .await,
        Err(ChatError::UnknownRoom { .. })
    ));

    // A later message in the first room reaches its two people only.
    let again = first.request::<SendMessage>(&msg(&theirs.id, "still private")).await;
    let again = again.expect("sent");
    let marker = first.request::<SendMessage>(&msg(&RoomId::lobby(), "marker")).await;
    let marker = marker.expect("sent");
    let (_, before) = second.until::<NewMessage>(|m| m.id == marker.id).await;
    assert!(
        before.iter().all(|r| r.event != "message:new"),
        "the other pair's messages arrived: {before:?}"
    );
    assert_ne!(secret.id, again.id);
    let _ = first.drain();
}

/// A non-member asking about a private (or direct) room gets the answer a name nobody took
/// gets, for every request that names a room.
#[tokio::test]
async fn private_rooms_cannot_be_told_from_rooms_that_do_not_exist() {
    let app = spawn_app().await;
    let ada = app.connect("Ada").await;
    let bob = app.connect("Bob").await;
    let mallory = app.connect("Mallory").await;
    ada.request::<CreateRoom>(&CreateRoomPayload { name: "secret".into(), private: true })
        .await
        .expect("created");
    let dm = ada
        .request::<OpenDirect>(&OpenDirectPayload { user: UserId("bob".into()) })
        .await
        .expect("opened");
    drop(bob);

    let missing = RoomId("no-such-room".into());
    for existing in [RoomId("secret".into()), dm.id.clone()] {
        // Each request, against the hidden room and against a missing one: the answers must be
        // identical once the room's name is replaced.
        let answers = |room: RoomId| {
            let mallory = &mallory;
            async move {
                let r = RoomRef { room: room.clone() };
                vec![
                    format!("{:?}", mallory.request::<JoinRoom>(&r).await.err()),
                    format!("{:?}", mallory.request::<LeaveRoom>(&r).await.err()),
                    format!("{:?}", mallory.request::<DeleteRoom>(&r).await.err()),
                    format!("{:?}", mallory.request::<RoomMembers>(&r).await.err()),
                    format!("{:?}", mallory.request::<StartTyping>(&r).await.err()),
                    format!("{:?}", mallory.request::<SendMessage>(&msg(&room, "hi")).await.err()),
                    format!(
                        "{:?}",
                        mallory
                            .request::<LoadHistory>(&HistoryRequest {
                                room: room.clone(),
                                before: None,
                                back_to: None
                            })
                            .await
                            .err()
                    ),
                    format!(
                        "{:?}",
                        mallory
                            .request::<SyncRoom>(&SyncRequest { room: room.clone(), after_rev: 0 })
                            .await
                            .err()
                    ),
                    format!(
                        "{:?}",
                        mallory
                            .request::<InviteToRoom>(&InvitePayload {
                                room: room.clone(),
                                user: UserId("mallory".into()),
                            })
                            .await
                            .err()
                    ),
                ]
                .into_iter()
                .map(|a| a.replace(&room.0, "ROOM"))
                .collect::<Vec<_>>()
            }
        };
        let hidden = answers(existing.clone()).await;
        let absent = answers(missing.clone()).await;
        assert_eq!(hidden, absent, "{existing} can be told apart from a missing room");
        assert!(hidden.iter().all(|a| a.contains("UnknownRoom")), "{hidden:?}");
    }
    // Still not listed, and the room is intact for its member.
    let list = mallory.request::<ListRooms>(&Empty {}).await.expect("rooms");
    assert!(list.rooms.iter().all(|r| r.id.0 != "secret"));
    let view = ada.request::<RoomMembers>(&RoomRef { room: RoomId("secret".into()) }).await;
    assert_eq!(view.expect("member").members.len(), 1);
}

/// A connection over the per-address limit is refused before anything is written: a newcomer
/// refused at the limit is not added to the lobby (and nobody hears of them).
#[tokio::test]
async fn the_per_address_limit_is_checked_before_anything_is_stored() {
    let app = common::spawn_app_with(|c| c.max_connections_per_ip = 1).await;
    let ada = app.connect("Ada").await;
    let cookie = app.session("Newcomer").await;
    let refused = app.connect_with_cookie(Some(&cookie)).await.err().expect("over the limit");
    assert!(refused.contains("too many connections"), "{refused}");
    let list = ada.request::<ListRooms>(&Empty {}).await.expect("rooms");
    let lobby = list.rooms.iter().find(|r| r.id == RoomId::lobby()).expect("lobby");
    assert_eq!(lobby.members, 1, "the refused newcomer was added to the lobby");
    let members = ada.request::<RoomMembers>(&RoomRef { room: RoomId::lobby() }).await;
    let members = members.expect("members");
    assert!(members.members.iter().all(|m| m.user.id.0 != "newcomer"), "{members:?}");
}
