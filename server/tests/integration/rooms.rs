//! Rooms, presence, typing and direct messages, with several real clients.

use crate::common;

use app::ChatError;
use app::events::messages::{NewMessage, SendMessage, SendMessagePayload};
use app::events::presence::{Presence, PresenceChanged, StartTyping, Typing};
use app::events::rooms::{
    CreateRoom, CreateRoomPayload, DeleteRoom, DirectOpened, Empty, InvitePayload, InviteToRoom,
    JoinRoom, LeaveRoom, ListRooms, MemberJoined, MemberLeft, OpenDirect, OpenDirectPayload,
    RoomAdded, RoomCreated, RoomDeleted, RoomMembers, RoomRef,
};
use app::model::{RoomId, RoomKind, UserId};
use common::{ChatClient, Received, spawn_app};
use serde_json::json;
use uuid::Uuid;

fn msg(room: &str, body: &str) -> SendMessagePayload {
    SendMessagePayload {
        id: Uuid::now_v7(),
        room: RoomId(room.to_owned()),
        body: body.to_owned(),
        thread: None,
    }
}

fn room(id: &str) -> RoomRef {
    RoomRef { room: RoomId(id.to_owned()) }
}

fn create(name: &str) -> CreateRoomPayload {
    CreateRoomPayload { name: name.to_owned(), private: false }
}

fn events_named<'a>(events: &'a [Received], name: &'a str) -> impl Iterator<Item = &'a Received> {
    events.iter().filter(move |r| r.event == name)
}

#[tokio::test]
async fn rooms_are_created_listed_and_refused_when_taken_or_badly_named() {
    let app = spawn_app().await;
    let ada = app.connect("Ada").await;
    let mut bob = app.connect("Bob").await;

    let ops = ada.request::<CreateRoom>(&create("Ops")).await.expect("created");
    assert_eq!(ops.id, RoomId("ops".into()));
    assert_eq!((ops.kind, ops.members), (RoomKind::Public, 1));
    assert_eq!(ops.created_by, Some(UserId("ada".into())));
    assert_eq!(bob.next::<RoomCreated>().await, ops, "everyone hears of a new room");

    assert_eq!(
        bob.request::<CreateRoom>(&create("OPS")).await,
        Err(ChatError::RoomExists { room: "ops".into() })
    );
    assert!(matches!(
        bob.request::<CreateRoom>(&create("no spaces")).await,
        Err(ChatError::InvalidRoomName { .. })
    ));

    let list = bob.request::<ListRooms>(&Empty {}).await.expect("listed");
    assert_eq!(list.me.name.as_str(), "Bob");
    let ids: Vec<_> = list.rooms.iter().map(|r| r.id.0.as_str()).collect();
    assert_eq!(ids, ["lobby", "ops"]);
    assert_eq!(list.joined, [RoomId::lobby()], "Bob is only in the lobby");
}

#[tokio::test]
async fn room_messages_reach_members_only() {
    let app = spawn_app().await;
    let ada = app.connect("Ada").await;
    let mut bob = app.connect("Bob").await;
    let mut cy = app.connect("Cy").await;

    ada.request::<CreateRoom>(&create("ops")).await.expect("created");
    cy.request::<JoinRoom>(&room("ops")).await.expect("joined");

    let secret = ada.request::<SendMessage>(&msg("ops", "ops only")).await.expect("sent");
    assert_eq!(cy.next::<NewMessage>().await, secret, "a member receives it");

    // Bob is not a member: the next message he gets is the later lobby one, with nothing of ops
    // before it.
    let public = ada.request::<SendMessage>(&msg("lobby", "for everyone")).await.expect("sent");
    let (got, before) = bob.until::<NewMessage>(|m| m.room == RoomId::lobby()).await;
    assert_eq!(got, public);
    assert_eq!(events_named(&before, "message:new").count(), 0, "{before:?}");

    // And he cannot post there.
    assert_eq!(
        bob.request::<SendMessage>(&msg("ops", "let me in")).await,
        Err(ChatError::NotMember { room: "ops".into() })
    );
    assert_eq!(
        bob.request::<RoomMembers>(&room("ops")).await,
        Err(ChatError::NotMember { room: "ops".into() })
    );
}

#[tokio::test]
async fn joining_and_leaving_are_announced_with_member_counts() {
    let app = spawn_app().await;
    let mut ada = app.connect("Ada").await;
    let bob = app.connect("Bob").await;
    ada.request::<CreateRoom>(&create("ops")).await.expect("created");

    let view = bob.request::<JoinRoom>(&room("ops")).await.expect("joined");
    assert_eq!(view.room.members, 2);
    let names: Vec<_> = view.members.iter().map(|m| m.user.name.as_str()).collect();
    assert_eq!(names, ["Ada", "Bob"]);
    assert!(view.members.iter().all(|m| m.online));

    let (joined, _) = ada.until::<MemberJoined>(|c| c.room.0 == "ops").await;
    assert_eq!((joined.user.name.as_str(), joined.members), ("Bob", 2));

    // Joining twice changes nothing and announces nothing.
    assert_eq!(bob.request::<JoinRoom>(&room("ops")).await.map(|v| v.room.members), Ok(2));

    let left = bob.request::<LeaveRoom>(&room("ops")).await.expect("left");
    assert_eq!(left.members, 1);
    let (change, before) = ada.until::<MemberLeft>(|_| true).await;
    assert_eq!((change.user.name.as_str(), change.members), ("Bob", 1));
    let ops_joins = events_named(&before, "room:joined").filter(|r| r.data["room"] == "ops");
    assert_eq!(ops_joins.count(), 0, "no second join notice");

    // After leaving, Bob no longer receives the room's messages.
    assert!(matches!(
        bob.request::<SendMessage>(&msg("ops", "still here?")).await,
        Err(ChatError::NotMember { .. })
    ));
    assert_eq!(
        bob.request::<LeaveRoom>(&room("lobby")).await,
        Err(ChatError::Forbidden { room: "lobby".into() })
    );
}

#[tokio::test]
async fn only_the_creator_deletes_a_room_and_everyone_hears_of_it() {
    let app = spawn_app().await;
    let ada = app.connect("Ada").await;
    let mut bob = app.connect("Bob").await;
    ada.request::<CreateRoom>(&create("tmp")).await.expect("created");
    bob.request::<JoinRoom>(&room("tmp")).await.expect("joined");

    assert_eq!(
        bob.request::<DeleteRoom>(&room("tmp")).await,
        Err(ChatError::Forbidden { room: "tmp".into() })
    );
    assert_eq!(ada.request::<DeleteRoom>(&room("tmp")).await, Ok(room("tmp")));
    // Bob is told who deleted it, so his client can say why the room vanished.
    let gone = bob.next::<RoomDeleted>().await;
    assert_eq!((gone.room, gone.by.name.to_string()), (room("tmp").room, "Ada".to_owned()));
    assert_eq!(
        bob.request::<SendMessage>(&msg("tmp", "hello?")).await,
        Err(ChatError::UnknownRoom { room: "tmp".into() })
    );
    assert_eq!(
        ada.request::<DeleteRoom>(&room("lobby")).await,
        Err(ChatError::Forbidden { room: "lobby".into() })
    );
}

/// Whether any `presence` event among `events` mentions `user`.
fn presence_mentions(events: &[Received], user: &str) -> bool {
    events_named(events, "presence").any(|r| {
        serde_json::from_value::<Vec<Presence>>(r.data.clone())
            .expect("presence is a list")
            .iter()
            .any(|p| p.user.id.0 == user)
    })
}

/// Waits for the `presence` event that mentions `user`; returns their entry, the whole event
/// and what came before it.
async fn presence_of(
    client: &mut ChatClient,
    user: &str,
) -> (Presence, Vec<Presence>, Vec<Received>) {
    let (changes, before) = client
        .until::<PresenceChanged>(|changes| changes.iter().any(|p| p.user.id.0 == user))
        .await;
    let entry = changes.iter().find(|p| p.user.id.0 == user).cloned().expect("mentioned");
    (entry, changes, before)
}

#[tokio::test]
async fn several_tabs_count_once_and_the_last_one_closing_goes_offline() {
    let app = spawn_app().await;
    let mut bob = app.connect("Bob").await;

    let ada1 = app.connect("Ada").await;
    let (online, _, _) = presence_of(&mut bob, "ada").await;
    assert_eq!((online.user.name.as_str(), online.online), ("Ada", true));

    // News travels in order: once someone who arrives later is announced, a second tab of Ada
    // would have been announced too.
    let ada2 = app.connect("ada").await; // same person: names are case-insensitive
    let _cy = app.connect("Cy").await;
    let (_, with_cy, before) = presence_of(&mut bob, "cy").await;
    assert!(!presence_mentions(&before, "ada"), "a second tab is not news");
    assert!(with_cy.iter().all(|p| p.user.id.0 != "ada"), "nor in the same event");

    let members = bob.request::<RoomMembers>(&room("lobby")).await.expect("members");
    let ada = members.members.iter().find(|m| m.user.id.0 == "ada").expect("ada is a member");
    assert!(ada.online);

    ada1.close().await;
    let _dee = app.connect("Dee").await;
    let (_, with_dee, before) = presence_of(&mut bob, "dee").await;
    assert!(!presence_mentions(&before, "ada"), "one tab left: still online");
    assert!(with_dee.iter().all(|p| p.user.id.0 != "ada"), "nor in the same event");

    ada2.close().await;
    let (offline, _, _) = presence_of(&mut bob, "ada").await;
    assert_eq!((offline.user.id.0.as_str(), offline.online), ("ada", false));
    let members = bob.request::<RoomMembers>(&room("lobby")).await.expect("members");
    assert!(members.members.iter().any(|m| m.user.id.0 == "ada" && !m.online));
}

#[tokio::test]
async fn people_arriving_together_are_announced_together() {
    let app = spawn_app().await;
    let mut bob = app.connect("Bob").await;
    let _ = presence_of(&mut bob, "bob").await;

    let names: Vec<String> = (0..10).map(|i| format!("Arrival{i}")).collect();
    // Sign everyone in first (registrations hash passwords one by one), so that what arrives
    // together is the connections alone.
    for name in &names {
        app.session(name).await;
    }
    let mut arrivals = futures_util::future::join_all(names.iter().map(|n| app.connect(n))).await;
    let mut announced = std::collections::HashSet::new();
    let mut joined = Vec::new();
    let mut events = 0;
    while announced.len() < arrivals.len() {
        let (changes, before) = bob.until::<PresenceChanged>(|_| true).await;
        events += 1;
        joined.extend(events_named(&before, "room:joined").map(|r| {
            serde_json::from_value::<app::events::rooms::MemberChange>(r.data.clone())
                .expect("a member change")
        }));
        // Whoever is shown online was shown joining the lobby first (the joins ride in the
        // same gathered window, ahead of the presence news).
        for arrived in changes.iter().filter(|p| p.online) {
            assert!(joined.iter().any(|j| j.user.id == arrived.user.id), "{arrived:?}");
        }
        announced.extend(changes.into_iter().filter(|p| p.online).map(|p| p.user.id.0));
    }
    // One `presence` per arrival would be ten; the server gathers what comes within its window.
    assert!(events < arrivals.len(), "{events} presence events for {} arrivals", arrivals.len());
    // Each newcomer joined the lobby once, and the count reaches all of them (a join's count is
    // read after it is stored, so joins at once may carry the same one).
    assert!(joined.iter().all(|j| j.room == RoomId::lobby()), "{joined:?}");
    let mut people: Vec<&str> = joined.iter().map(|j| j.user.id.0.as_str()).collect();
    people.sort_unstable();
    people.dedup();
    assert_eq!((people.len(), joined.len()), (10, 10), "{joined:?}");
    assert_eq!(joined.iter().map(|j| j.members).max(), Some(11), "{joined:?}");
    // A newcomer's own tab is not told of its own arrival (its connect said so); up to the
    // presence news that lists it, it hears only the others'.
    let mut last = arrivals.pop().expect("ten arrivals");
    let name = names.last().expect("names").as_str();
    let (_, heard) =
        last.until::<PresenceChanged>(|c| c.iter().any(|p| p.user.name.as_str() == name)).await;
    assert_eq!(
        events_named(&heard, "room:joined").filter(|r| r.data["user"]["name"] == name).count(),
        0
    );
}

/// A further tab starts in its person's rooms as they are now (it learns them from a tab
/// already open on the node): rooms joined and left since the first tab opened included.
#[tokio::test]
async fn a_further_tab_starts_in_the_rooms_its_person_is_in_now() {
    let app = spawn_app().await;
    let ada = app.connect("Ada").await;
    let bob = app.connect("Bob").await;
    ada.request::<CreateRoom>(&create("ops")).await.expect("created");
    ada.request::<CreateRoom>(&create("old")).await.expect("created");
    bob.request::<JoinRoom>(&room("ops")).await.expect("joined");
    bob.request::<JoinRoom>(&room("old")).await.expect("joined");
    ada.request::<LeaveRoom>(&room("old")).await.expect("left");

    let mut second = app.connect("Ada").await;
    bob.request::<SendMessage>(&msg("old", "not for Ada")).await.expect("sent");
    bob.request::<SendMessage>(&msg("ops", "for Ada")).await.expect("sent");
    // "old" was said first: had the new tab heard it, it would have come before this.
    let (heard, before) = second.until::<NewMessage>(|m| m.body == "for Ada").await;
    assert_eq!(heard.room, RoomId("ops".into()));
    assert!(events_named(&before, "message:new").all(|r| r.data["room"] != "old"), "{before:?}");
    // It speaks in its rooms without a look-up, and is refused where it is not a member.
    second.request::<SendMessage>(&msg("ops", "from tab two")).await.expect("sent");
    assert!(matches!(
        second.request::<SendMessage>(&msg("old", "back?")).await,
        Err(ChatError::NotMember { .. })
    ));
}

#[tokio::test]
async fn typing_reaches_the_room_once_per_window_and_not_outsiders() {
    let app = spawn_app().await;
    let ada = app.connect("Ada").await;
    let mut bob = app.connect("Bob").await;
    let mut cy = app.connect("Cy").await;
    ada.request::<CreateRoom>(&create("ops")).await.expect("created");
    bob.request::<JoinRoom>(&room("ops")).await.expect("joined");

    assert_eq!(ada.request::<StartTyping>(&room("ops")).await, Ok(()));
    let typing = bob.next::<Typing>().await;
    assert_eq!((typing.room.0.as_str(), typing.user.name.as_str()), ("ops", "Ada"));

    // A second notice within the window is accepted but not relayed.
    assert_eq!(ada.request::<StartTyping>(&room("ops")).await, Ok(()));
    let marker = ada.request::<SendMessage>(&msg("ops", "done typing")).await.expect("sent");
    let (_, before) = bob.until::<NewMessage>(|m| m.id == marker.id).await;
    assert_eq!(events_named(&before, "typing").count(), 0, "{before:?}");

    // Sending a message resets the window.
    assert_eq!(ada.request::<StartTyping>(&room("ops")).await, Ok(()));
    assert_eq!(bob.next::<Typing>().await.user.name.as_str(), "Ada");

    // Cy is not in ops: the next thing of Ada's she sees is a lobby message.
    let public = ada.request::<SendMessage>(&msg("lobby", "hi all")).await.expect("sent");
    let (_, before) = cy.until::<NewMessage>(|m| m.id == public.id).await;
    assert_eq!(events_named(&before, "typing").count(), 0, "{before:?}");
    assert_eq!(
        cy.request::<StartTyping>(&room("ops")).await,
        Err(ChatError::NotMember { room: "ops".into() })
    );
}

#[tokio::test]
async fn direct_messages_reach_every_tab_of_both_people_and_nobody_else() {
    let app = spawn_app().await;
    let ada1 = app.connect("Ada").await;
    let mut ada2 = app.connect("Ada").await;
    let mut bob1 = app.connect("Bob").await;
    let mut bob2 = app.connect("Bob").await;
    let mut cy = app.connect("Cy").await;

    let dm = ada1
        .request::<OpenDirect>(&OpenDirectPayload { user: UserId("bob".into()) })
        .await
        .expect("opened");
    assert_eq!(dm.kind, RoomKind::Direct);
    assert_eq!(dm.id, RoomId::direct(&UserId("ada".into()), &UserId("bob".into())));
    let peers: Vec<_> = dm.peers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(peers, ["Ada", "Bob"]);
    for tab in [&mut ada2, &mut bob1, &mut bob2] {
        assert_eq!(tab.next::<DirectOpened>().await, dm);
    }
    // Opening it again, from either side, returns the same room.
    let again = bob1
        .request::<OpenDirect>(&OpenDirectPayload { user: UserId("ada".into()) })
        .await
        .expect("opened");
    assert_eq!(again.id, dm.id);

    let sent = ada1.request::<SendMessage>(&msg(&dm.id.0, "psst")).await.expect("sent");
    for tab in [&mut ada2, &mut bob1, &mut bob2] {
        assert_eq!(tab.next::<NewMessage>().await, sent);
    }
    let public = ada1.request::<SendMessage>(&msg("lobby", "public")).await.expect("sent");
    let (_, before) = cy.until::<NewMessage>(|m| m.id == public.id).await;
    assert_eq!(events_named(&before, "message:new").count(), 0, "{before:?}");
    assert_eq!(events_named(&before, "room:direct").count(), 0, "{before:?}");

    // Cy can neither post in nor join their room: for Cy it does not exist.
    assert!(matches!(
        cy.request::<SendMessage>(&msg(&dm.id.0, "hi")).await,
        Err(ChatError::UnknownRoom { .. })
    ));
    assert!(matches!(
        cy.request::<JoinRoom>(&RoomRef { room: dm.id.clone() }).await,
        Err(ChatError::UnknownRoom { .. })
    ));

    // Cy's room list does not include it; Bob's does.
    let listed = |list: app::events::rooms::RoomList| list.rooms.iter().any(|r| r.id == dm.id);
    assert!(!listed(cy.request::<ListRooms>(&Empty {}).await.expect("list")));
    assert!(listed(bob2.request::<ListRooms>(&Empty {}).await.expect("list")));

    assert_eq!(
        cy.request::<OpenDirect>(&OpenDirectPayload { user: UserId("nobody".into()) }).await,
        Err(ChatError::UnknownUser { user: "nobody".into() })
    );
}

#[tokio::test]
async fn every_request_answers_a_malformed_payload_with_a_typed_error() {
    let app = spawn_app().await;
    let ada = app.connect("Ada").await;
    let cases = [
        ("room:list", json!("nope")),
        ("room:create", json!({})),
        ("room:create", json!({ "name": 7 })),
        ("room:create", json!({ "name": "x", "private": "yes" })),
        ("room:join", json!({ "room": ["lobby"] })),
        ("room:invite", json!({ "room": "lobby" })),
        ("room:invite", json!({ "room": "lobby", "user": 5 })),
        ("room:leave", json!(null)),
        ("room:delete", json!({ "room": "x", "extra": true })),
        ("room:members", json!(42)),
        ("dm:open", json!({ "user": null })),
        ("typing:start", json!("lobby")),
        ("message:send", json!({ "id": "not-a-uuid", "room": "lobby", "body": "x" })),
    ];
    for (event, payload) in cases {
        let ack = ada.request_raw(event, payload.clone()).await;
        let ack: Result<serde_json::Value, ChatError> =
            serde_json::from_value(ack.clone()).unwrap_or_else(|e| panic!("{event}: {ack} ({e})"));
        assert!(matches!(ack, Err(ChatError::InvalidPayload { .. })), "{event} {payload}: {ack:?}");
    }
    // Nothing was created and the connection still works.
    let list = ada.request::<ListRooms>(&Empty {}).await.expect("listed");
    assert_eq!(list.rooms.len(), 1);
}

#[tokio::test]
async fn sql_metacharacters_are_data() {
    let app = spawn_app().await;
    let ada = app.connect("Robert'); DROP TABLE users;--").await;
    let body = "'; DELETE FROM messages; --";
    let sent = ada.request::<SendMessage>(&msg("lobby", body)).await.expect("sent");
    assert_eq!(sent.body, body);
    assert_eq!(sent.author.name.as_str(), "Robert'); DROP TABLE users;--");
    let bob: ChatClient = app.connect("Bob").await;
    let members = bob.request::<RoomMembers>(&room("lobby")).await.expect("members");
    assert_eq!(members.members.len(), 2);
}

#[tokio::test]
async fn a_newcomer_joins_the_lobby_in_front_of_everyone() {
    let app = spawn_app().await;
    let mut ada = app.connect("Ada").await;
    let _bob = app.connect("Bob").await;
    let joined = ada.next::<MemberJoined>().await;
    assert_eq!(
        (joined.room, joined.user.name.as_str(), joined.members),
        (RoomId::lobby(), "Bob", 2)
    );
    let view = ada.request::<RoomMembers>(&room("lobby")).await.expect("members");
    assert_eq!(view.members.len(), 2);
}

fn private(name: &str) -> CreateRoomPayload {
    CreateRoomPayload { name: name.to_owned(), private: true }
}

#[tokio::test]
async fn private_rooms_are_seen_and_joined_only_by_invitation() {
    let app = spawn_app().await;
    let mut ada = app.connect("Ada").await;
    let mut bob = app.connect("Bob").await;
    let mut cy = app.connect("Cy").await;

    let secret = ada.request::<CreateRoom>(&private("secret")).await.expect("created");
    assert_eq!(secret.kind, RoomKind::Private);
    let id = secret.id.clone();

    // Outsiders neither see it nor get in.
    for outsider in [&bob, &cy] {
        let list = outsider.request::<ListRooms>(&Empty {}).await.expect("rooms");
        assert!(list.rooms.iter().all(|r| r.id != id), "a private room is not listed");
        // The same answer as for a room that does not exist (see `hardening`).
        let hidden = ChatError::UnknownRoom { room: "secret".into() };
        let refused = outsider.request::<JoinRoom>(&room("secret")).await.expect_err("refused");
        assert_eq!(refused, hidden);
        let send = outsider
            .request::<SendMessage>(&msg("secret", "let me in"))
            .await
            .expect_err("refused");
        assert_eq!(send, hidden);
        let members = outsider.request::<RoomMembers>(&room("secret")).await.expect_err("refused");
        assert_eq!(members, hidden);
    }
    let by_outsider = bob
        .request::<InviteToRoom>(&InvitePayload { room: id.clone(), user: UserId("bob".into()) })
        .await
        .expect_err("only members invite");
    assert_eq!(by_outsider, ChatError::UnknownRoom { room: "secret".into() });

    // Ada invites Bob: his tabs learn of the room and receive its messages from then on.
    let view = ada
        .request::<InviteToRoom>(&InvitePayload { room: id.clone(), user: UserId("bob".into()) })
        .await
        .expect("invited");
    assert_eq!(view.room.members, 2);
    assert!(view.members.iter().any(|m| m.user.id.0 == "bob"));
    let added = bob.next::<RoomAdded>().await;
    assert_eq!(added.id, id);
    let sent = ada.request::<SendMessage>(&msg("secret", "for members only")).await.expect("sent");
    let (got, _) = bob.until::<NewMessage>(|m| m.id == sent.id).await;
    assert_eq!(got.body, "for members only");
    let list = bob.request::<ListRooms>(&Empty {}).await.expect("rooms");
    assert!(list.rooms.iter().any(|r| r.id == id) && list.joined.contains(&id));

    // Cy heard nothing of it: no creation, no invitation, no members, no message.
    let public_marker = ada.request::<SendMessage>(&msg("lobby", "marker")).await.expect("sent");
    let (_, before) = cy.until::<NewMessage>(|m| m.id == public_marker.id).await;
    assert!(
        before.iter().all(|r| !r.data.to_string().contains("secret")),
        "Cy received something about the private room: {before:?}"
    );
    let _ = ada.drain();

    // Invitations: unknown people, public rooms, and twice.
    let unknown = ada
        .request::<InviteToRoom>(&InvitePayload { room: id.clone(), user: UserId("nobody".into()) })
        .await
        .expect_err("unknown");
    assert_eq!(unknown, ChatError::UnknownUser { user: "nobody".into() });
    let public = ada
        .request::<InviteToRoom>(&InvitePayload {
            room: RoomId::lobby(),
            user: UserId("cy".into()),
        })
        .await
        .expect_err("public rooms are joined, not invited to");
    assert_eq!(public, ChatError::Forbidden { room: "lobby".into() });
    let again = ada
        .request::<InviteToRoom>(&InvitePayload { room: id.clone(), user: UserId("bob".into()) })
        .await
        .expect("harmless");
    assert_eq!(again.room.members, 2);
}

#[tokio::test]
async fn a_person_creates_a_limited_number_of_rooms() {
    let app = common::spawn_app_with(|c| c.max_rooms_per_person = 2).await;
    let ada = app.connect("Ada").await;
    ada.request::<CreateRoom>(&create("one")).await.expect("first");
    ada.request::<CreateRoom>(&private("two")).await.expect("second");
    let refused = ada.request::<CreateRoom>(&create("three")).await.expect_err("over the limit");
    assert_eq!(refused, ChatError::TooManyRooms { max: 2 });
    let list = ada.request::<ListRooms>(&Empty {}).await.expect("rooms");
    assert!(list.rooms.iter().all(|r| r.id.0 != "three"), "nothing was created");
    // Another person has their own allowance; deleting a room frees a place.
    let bob = app.connect("Bob").await;
    bob.request::<CreateRoom>(&create("bobs")).await.expect("Bob's first");
    ada.request::<DeleteRoom>(&room("one")).await.expect("deleted");
    ada.request::<CreateRoom>(&create("three")).await.expect("a place was freed");
}
