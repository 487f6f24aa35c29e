//! `message:send` / `message:new` against the real server with real Socket.IO clients.

use crate::common;
use crate::common::stores::Store;
use crate::common::uploader::Uploader;
use crate::on_both_stores;

use app::ChatError;
use app::events::messages::{NewMessage, SendMessage, SendMessagePayload};
use app::limits::MAX_MESSAGE_CHARS;
use app::model::RoomId;
use common::spawn_app;
use serde_json::json;
use uuid::Uuid;

fn lobby(body: &str) -> SendMessagePayload {
    SendMessagePayload {
        id: Uuid::now_v7(),
        room: RoomId::lobby(),
        body: body.to_owned(),
        thread: None,
    }
}

#[tokio::test]
async fn a_message_is_acked_with_the_stored_message_and_reaches_the_other_client() {
    let app = spawn_app().await;
    let mut ada = app.connect("Ada").await;
    let mut bob = app.connect("Bob").await;

    let request = lobby("  hello, Bob  ");
    let stored = ada.request::<SendMessage>(&request).await.expect("accepted");
    assert_eq!(stored.id, request.id);
    assert_eq!(stored.body, "hello, Bob", "the body is trimmed");
    assert_eq!(stored.author.name.as_str(), "Ada", "the author comes from the handshake");
    assert_eq!(stored.seq, 1);

    let delivered = bob.next::<NewMessage>().await;
    assert_eq!(delivered, stored);

    // Ada learns of her own message from the ack only: the next broadcast she gets is Bob's.
    let reply = bob.request::<SendMessage>(&lobby("hi Ada")).await.expect("accepted");
    assert_eq!(reply.seq, 2);
    assert_eq!(ada.next::<NewMessage>().await, reply);
}

on_both_stores!(threaded: a_connections_changes_take_effect_in_the_order_it_sent_them);

/// Socket.IO hands each request to a task of its own, and tasks do not start in the order they
/// were made: without the server keeping a connection's changes in order, a burst of sends was
/// stored (and shown to everyone) shuffled, and an add-then-remove of a reaction could end
/// added.
async fn a_connections_changes_take_effect_in_the_order_it_sent_them(store: Store) {
    let subject = store.start(|_| {}).await;
    let app = &subject.app;
    let mut bob = app.connect("Bob").await;
    let mut ada = Uploader::connect(app, "Ada").await;

    let bodies: Vec<String> = (0..24).map(|i| format!("line {i}")).collect();
    let sends: Vec<(&str, serde_json::Value)> = bodies
        .iter()
        .map(|body| ("message:send", serde_json::to_value(lobby(body)).expect("json")))
        .collect();
    let acks = ada.requests_at_once(&sends).await;
    let seqs: Vec<u64> =
        acks.iter().map(|ack| ack["Ok"]["seq"].as_u64().expect("a stored message")).collect();
    let expected: Vec<u64> = (1..=bodies.len() as u64).collect();
    assert_eq!(seqs, expected, "stored in another order than sent");
    // Everyone else gets them in that order too.
    for body in &bodies {
        assert_eq!(&bob.next::<NewMessage>().await.body, body);
    }

    // Add, remove, add, remove: the reaction ends removed, as the last request says.
    let id = &acks[0]["Ok"]["id"];
    let react = |on: bool| ("message:react", json!({ "id": id, "emoji": "👍", "on": on }));
    let acks = ada.requests_at_once(&[react(true), react(false), react(true), react(false)]).await;
    assert!(acks.iter().all(|ack| ack["Ok"]["id"] == *id), "{acks:?}");
    // An empty list of reactions is left out of the message.
    let reactions: Vec<usize> =
        acks.iter().map(|ack| ack["Ok"]["reactions"].as_array().map_or(0, Vec::len)).collect();
    assert_eq!(reactions, [1, 0, 1, 0], "{acks:?}");
}

#[tokio::test]
async fn a_retried_send_returns_the_original_and_is_not_broadcast_twice() {
    let app = spawn_app().await;
    let ada = app.connect("Ada").await;
    let mut bob = app.connect("Bob").await;

    let request = lobby("once");
    let first = ada.request::<SendMessage>(&request).await.expect("accepted");
    let again = ada.request::<SendMessage>(&request).await.expect("accepted");
    assert_eq!(first, again);
    let next = ada.request::<SendMessage>(&lobby("twice")).await.expect("accepted");
    assert_eq!(next.seq, 2);

    // Bob gets the message once: the next one after it is the following message, not the retry.
    assert_eq!(bob.next::<NewMessage>().await, first);
    assert_eq!(bob.next::<NewMessage>().await, next, "the retry was broadcast again");
}

#[tokio::test]
async fn someone_elses_message_id_is_refused_and_replays_nothing() {
    let app = spawn_app().await;
    let ada = app.connect("Ada").await;
    let mallory = app.connect("Mallory").await;
    let mut bob = app.connect("Bob").await;
    let ops = app::events::rooms::CreateRoomPayload { name: "ops".into(), private: false };
    mallory.request::<app::events::rooms::CreateRoom>(&ops).await.expect("created");

    let original = ada.request::<SendMessage>(&lobby("for the lobby")).await.expect("sent");
    assert_eq!(bob.next::<NewMessage>().await, original);

    // The same id from someone else, in the same room or another one.
    let same_room = SendMessagePayload { id: original.id, ..lobby("mine now") };
    assert_eq!(
        mallory.request::<SendMessage>(&same_room).await,
        Err(ChatError::MessageIdTaken { id: original.id })
    );
    let other_room = SendMessagePayload {
        id: original.id,
        room: RoomId("ops".into()),
        body: "replay".into(),
        thread: None,
    };
    assert_eq!(
        mallory.request::<SendMessage>(&other_room).await,
        Err(ChatError::MessageIdTaken { id: original.id })
    );
    // Its author moving it to another room is no retry either.
    let ops_ref = app::events::rooms::RoomRef { room: RoomId("ops".into()) };
    ada.request::<app::events::rooms::JoinRoom>(&ops_ref).await.expect("joined");
    assert_eq!(
        ada.request::<SendMessage>(&other_room).await,
        Err(ChatError::MessageIdTaken { id: original.id })
    );

    // Nothing was broadcast: Bob's next message is a later one, and ops is empty.
    let marker = ada.request::<SendMessage>(&lobby("marker")).await.expect("sent");
    assert_eq!(bob.next::<NewMessage>().await, marker, "a refused send was broadcast");
    let page = ada
        .request::<app::events::messages::LoadHistory>(&app::events::messages::HistoryRequest {
            room: RoomId("ops".into()),
            before: None,
            back_to: None,
        })
        .await
        .expect("history");
    assert!(page.messages.is_empty(), "{page:?}");
}

#[tokio::test]
async fn bad_requests_get_typed_errors_and_change_nothing() {
    let app = spawn_app().await;
    let ada = app.connect("Ada").await;

    let shapeless = ada.request_raw("message:send", json!({"text": 42})).await;
    let err: Result<serde_json::Value, ChatError> =
        serde_json::from_value(shapeless).expect("typed ack");
    assert!(matches!(err, Err(ChatError::InvalidPayload { .. })), "{err:?}");

    let not_an_object = ada.request_raw("message:send", json!("hello")).await;
    let err: Result<serde_json::Value, ChatError> =
        serde_json::from_value(not_an_object).expect("typed ack");
    assert!(matches!(err, Err(ChatError::InvalidPayload { .. })), "{err:?}");

    assert_eq!(ada.request::<SendMessage>(&lobby(" \n ")).await, Err(ChatError::EmptyMessage));

    let long = "x".repeat(MAX_MESSAGE_CHARS + 1);
    assert_eq!(
        ada.request::<SendMessage>(&lobby(&long)).await,
        Err(ChatError::MessageTooLong { len: MAX_MESSAGE_CHARS + 1, max: MAX_MESSAGE_CHARS })
    );

    let mut elsewhere = lobby("hi");
    elsewhere.room = RoomId("no-such-room".to_owned());
    assert_eq!(
        ada.request::<SendMessage>(&elsewhere).await,
        Err(ChatError::UnknownRoom { room: "no-such-room".to_owned() })
    );

    // Nothing above was stored: the first good message is number 1.
    let ok = ada.request::<SendMessage>(&lobby("finally")).await.expect("accepted");
    assert_eq!(ok.seq, 1);
}

#[tokio::test]
async fn the_handshake_auth_payload_is_not_an_identity() {
    let app = spawn_app().await;
    // The pre-accounts handshake: a bare name is no longer a way in.
    let err = app.connect_with_cookie(None).await.err().expect("refused");
    assert!(err.contains("please sign in"), "{err}");
    let err = common::ChatClient::connect(&app.url("/"), "/chat", json!({ "name": "Ada" }), None)
        .await
        .err()
        .expect("refused");
    assert!(err.contains("please sign in"), "{err}");
    // The server is still serving.
    app.connect("Ada").await;
}

#[tokio::test]
async fn an_unknown_namespace_is_refused() {
    let app = spawn_app().await;
    let err = common::ChatClient::connect(&app.url("/"), "/nope", json!({}), None)
        .await
        .err()
        .expect("refused");
    assert!(err.to_lowercase().contains("namespace"), "{err}");
}
