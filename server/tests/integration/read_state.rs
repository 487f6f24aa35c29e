//! Read state on the server (`room:mark_read`, `room:read`, the read states in `room:list`):
//! unread counts survive a reload and agree between tabs and browsers of one person.

use crate::common;

use app::ChatError;
use app::events::messages::{DeleteMessage, DeleteRequest, SendMessage, SendMessagePayload};
use app::events::rooms::{
    CreateRoom, CreateRoomPayload, Empty, ListRooms, MarkRead, MarkReadPayload, ReadState, RoomRead,
};
use app::model::RoomId;
use common::{ChatClient, TestApp, sign_in, spawn_app};
use uuid::Uuid;

fn lobby(body: &str) -> SendMessagePayload {
    SendMessagePayload {
        id: Uuid::now_v7(),
        room: RoomId::lobby(),
        body: body.to_owned(),
        thread: None,
    }
}

/// The caller's read state in `room`, as a fresh `room:list` reports it.
async fn listed(client: &ChatClient, room: &RoomId) -> ReadState {
    let list = client.request::<ListRooms>(&Empty {}).await.expect("listed");
    list.read.into_iter().find(|r| r.room == *room).expect("a read state for each joined room")
}

/// A second browser of `name`: a session of its own (not the harness's cached cookie).
async fn another_browser(app: &TestApp, name: &str) -> ChatClient {
    let cookie = sign_in(app.addr, name, &common::password_of(name)).await.expect("signed in");
    app.connect_with_cookie(Some(&cookie)).await.expect("connected")
}

#[tokio::test]
async fn unread_counts_come_from_the_server_and_clear_in_every_tab_and_browser() {
    let app = spawn_app().await;
    let ada = app.connect("Ada").await;
    let mut ada_tab = app.connect("Ada").await;
    let bob = app.connect("Bob").await;
    // What was posted before Ada joined counts as read; what Bob posts afterwards does not.
    assert_eq!(listed(&ada, &RoomId::lobby()).await.unread, 0);
    let mut last = None;
    for i in 0..3 {
        last = Some(bob.request::<SendMessage>(&lobby(&format!("news {i}"))).await.expect("sent"));
    }
    let last = last.expect("sent");
    // Deleted messages and one's own do not count.
    let own = ada.request::<SendMessage>(&lobby("mine")).await.expect("sent");
    let gone = bob.request::<SendMessage>(&lobby("oops")).await.expect("sent");
    bob.request::<DeleteMessage>(&DeleteRequest { id: gone.id }).await.expect("deleted");

    // A reload (a new connection) and another browser see the same count.
    let mut ada_phone = another_browser(&app, "Ada").await;
    for client in [&ada, &ada_tab, &ada_phone] {
        let state = listed(client, &RoomId::lobby()).await;
        assert_eq!((state.unread, state.read_seq), (3, 0), "{state:?}");
    }

    // Reading in one tab clears it everywhere, live.
    let read = MarkReadPayload { room: RoomId::lobby(), seq: last.seq };
    let state = ada.request::<MarkRead>(&read).await.expect("marked");
    assert_eq!((state.read_seq, state.unread), (last.seq, 0));
    assert_eq!(ada_tab.next::<RoomRead>().await, state);
    assert_eq!(ada_phone.next::<RoomRead>().await, state);
    assert_eq!(listed(&ada_phone, &RoomId::lobby()).await, state, "a reload agrees");
    assert!(own.seq > last.seq, "her own later message is not unread: {state:?}");

    // A marker never moves back, and never past the room's last message.
    let back = ada.request::<MarkRead>(&MarkReadPayload { room: RoomId::lobby(), seq: 1 }).await;
    assert_eq!(back.expect("accepted").read_seq, last.seq);
    let far = MarkReadPayload { room: RoomId::lobby(), seq: 1_000_000 };
    assert_eq!(ada.request::<MarkRead>(&far).await.expect("accepted").read_seq, gone.seq);
}

#[tokio::test]
async fn a_room_one_is_not_in_has_no_read_state_to_mark() {
    let app = spawn_app().await;
    let ada = app.connect("Ada").await;
    let cy = app.connect("Cy").await;
    let secret = ada
        .request::<CreateRoom>(&CreateRoomPayload { name: "secret".into(), private: true })
        .await
        .expect("created");
    let open = ada
        .request::<CreateRoom>(&CreateRoomPayload { name: "open".into(), private: false })
        .await
        .expect("created");
    let probe = |room: &RoomId| MarkReadPayload { room: room.clone(), seq: 1 };
    assert_eq!(
        cy.request::<MarkRead>(&probe(&secret.id)).await,
        Err(ChatError::UnknownRoom { room: "secret".into() }),
        "a private room answers outsiders as if it did not exist"
    );
    assert_eq!(
        cy.request::<MarkRead>(&probe(&open.id)).await,
        Err(ChatError::NotMember { room: "open".into() })
    );
    let list = cy.request::<ListRooms>(&Empty {}).await.expect("listed");
    assert_eq!(list.read.iter().map(|r| r.room.0.as_str()).collect::<Vec<_>>(), ["lobby"]);
}
