//! Search through the real server and real Socket.IO clients, on SQLite (FTS5) and on
//! PostgreSQL (`tsvector`): the same cases for both engines.

use crate::common;
use crate::on_both_stores;

use app::ChatError;
use app::events::messages::{
    DeleteMessage, DeleteRequest, EditMessage, EditRequest, SearchMessages, SendMessage,
    SendMessagePayload,
};
use app::events::rooms::{
    CreateRoom, CreateRoomPayload, DeleteRoom, InvitePayload, InviteToRoom, JoinRoom, LeaveRoom,
    OpenDirect, OpenDirectPayload, RoomRef,
};
use app::model::{ChatMessage, RoomId, UserId};
use app::search::{MAX_SEARCH_CHARS, SEARCH_RESULTS, SearchRequest, SearchResults};
use common::stores::Store;
use common::{ChatClient, say};

on_both_stores!(
    search_finds_words_only_where_the_person_is_a_member,
    search_follows_edits_deletions_and_filters,
    search_refuses_bad_input_and_bounds_each_person,
);

async fn send(client: &ChatClient, room: &RoomId, body: &str) -> ChatMessage {
    client.request::<SendMessage>(&say(room, body)).await.expect("sent")
}

fn words(text: &str) -> SearchRequest {
    SearchRequest { text: text.to_owned(), room: None, from: None }
}

async fn search(client: &ChatClient, request: SearchRequest) -> SearchResults {
    client.request::<SearchMessages>(&request).await.expect("searched")
}

/// The bodies found, newest first.
async fn found(client: &ChatClient, text: &str) -> Vec<String> {
    search(client, words(text)).await.hits.into_iter().map(|m| m.body).collect()
}

async fn room(owner: &ChatClient, name: &str, private: bool) -> RoomId {
    owner
        .request::<CreateRoom>(&CreateRoomPayload { name: name.into(), private })
        .await
        .expect("created")
        .id
}

async fn search_finds_words_only_where_the_person_is_a_member(store: Store) {
    let subject = store.start(|_| {}).await;
    let app = &subject.app;
    let ada = app.connect("Ada").await;
    let bob = app.connect("Bob").await;
    let cy = app.connect("Cy").await;
    let ops = room(&ada, "ops", false).await;
    let secret = room(&ada, "secret", true).await;
    bob.request::<JoinRoom>(&RoomRef { room: ops.clone() }).await.expect("joined");
    ada.request::<InviteToRoom>(&InvitePayload {
        room: secret.clone(),
        user: UserId("bob".into()),
    })
    .await
    .expect("invited");
    let dm = ada
        .request::<OpenDirect>(&OpenDirectPayload { user: UserId("bob".into()) })
        .await
        .expect("direct room")
        .id;

    send(&ada, &ops, "Deploying the release now").await;
    send(&ada, &secret, "the release budget is secret").await;
    send(&ada, &dm, "Bob, release notes please").await;
    send(&ada, &ops, "lunch? see docs.example.com/setup-guide#menu").await;
    // Cy is in none of Ada's rooms but the lobby.
    send(&cy, &RoomId::lobby(), "release party in the lobby").await;

    // Every room and direct conversation Bob is in, newest first; all words must match; a word
    // of three letters or more matches the words it begins; case and punctuation do not matter.
    assert_eq!(
        found(&bob, "RELEASE").await,
        [
            "release party in the lobby",
            "Bob, release notes please",
            "the release budget is secret",
            "Deploying the release now",
        ]
    );
    assert_eq!(found(&bob, "deploy release").await, ["Deploying the release now"]);
    assert_eq!(found(&bob, "release, BUDGET!").await, ["the release budget is secret"]);
    assert!(found(&bob, "release dinner").await.is_empty(), "every word must match");
    // Punctuation splits words alike on both engines (Postgres would keep a host name whole).
    let lunch = ["lunch? see docs.example.com/setup-guide#menu"];
    assert_eq!(found(&bob, "example").await, lunch);
    assert_eq!(found(&bob, "setup guide menu").await, lunch);
    // Short words match whole words only: "no" is not "now" or "notes".
    assert!(found(&bob, "no").await.is_empty());

    // Cy sees only what is in the lobby; neither the private room nor the direct one leaks.
    assert_eq!(found(&cy, "release").await, ["release party in the lobby"]);
    assert!(found(&cy, "secret").await.is_empty());

    // Leaving a private room stops its messages matching from that moment.
    bob.request::<LeaveRoom>(&RoomRef { room: secret.clone() }).await.expect("left");
    assert!(found(&bob, "budget").await.is_empty());
    // A deleted room's messages are gone for everyone.
    ada.request::<DeleteRoom>(&RoomRef { room: ops.clone() }).await.expect("deleted");
    assert!(found(&ada, "deploying").await.is_empty());
    assert_eq!(found(&ada, "budget").await, ["the release budget is secret"]);
}

async fn search_follows_edits_deletions_and_filters(store: Store) {
    let subject = store.start(|_| {}).await;
    let app = &subject.app;
    let ada = app.connect("Ada").await;
    let bob = app.connect("Bob").await;
    let ops = room(&ada, "ops", false).await;
    bob.request::<JoinRoom>(&RoomRef { room: ops.clone() }).await.expect("joined");
    let lobby = RoomId::lobby();

    let typo = send(&ada, &ops, "the databse is down").await;
    let gone = send(&ada, &ops, "the database password is hunter2").await;
    send(&bob, &ops, "database looks fine to me").await;
    send(&bob, &lobby, "database migration tonight").await;
    // A reply in a thread is found like any message.
    let reply = SendMessagePayload { thread: Some(typo.id), ..say(&ops, "database back up") };
    bob.request::<SendMessage>(&reply).await.expect("replied");

    // An edit: the new words match, the old ones no longer do.
    ada.request::<EditMessage>(&EditRequest { id: typo.id, body: "the database is down".into() })
        .await
        .expect("edited");
    assert!(found(&bob, "databse").await.is_empty());
    // A deletion: never matches again.
    ada.request::<DeleteMessage>(&DeleteRequest { id: gone.id }).await.expect("deleted");
    assert!(found(&bob, "hunter2").await.is_empty());
    assert_eq!(
        found(&bob, "database").await,
        [
            "database back up",
            "database migration tonight",
            "database looks fine to me",
            "the database is down",
        ],
        "the edited message keeps its place by when it was sent"
    );

    // Filters: one room, one author, both.
    let in_ops = SearchRequest { room: Some(ops.clone()), ..words("database") };
    let bodies = |r: SearchResults| r.hits.into_iter().map(|m| m.body).collect::<Vec<_>>();
    assert_eq!(
        bodies(search(&bob, in_ops.clone()).await),
        ["database back up", "database looks fine to me", "the database is down"]
    );
    let by_bob = SearchRequest { from: Some(UserId("bob".into())), ..words("database") };
    assert_eq!(
        bodies(search(&ada, by_bob).await),
        ["database back up", "database migration tonight", "database looks fine to me"]
    );
    let both = SearchRequest { from: Some(UserId("ada".into())), ..in_ops };
    assert_eq!(bodies(search(&bob, both).await), ["the database is down"]);

    // A result carries what a result list shows and what opening it needs.
    let results = search(&bob, words("migration")).await;
    let hit = &results.hits[0];
    assert_eq!((hit.room.clone(), hit.author.id.clone()), (lobby.clone(), UserId("bob".into())));
    assert!(hit.seq > 0 && hit.sent_at_ms > 0);
    assert_eq!(results.terms, ["migration"]);
    assert!(!results.more);

    // At most a page of results, and it says there were more.
    for i in 0..SEARCH_RESULTS + 2 {
        send(&ada, &lobby, &format!("standup note {i}")).await;
    }
    let page = search(&bob, words("standup")).await;
    assert_eq!(page.hits.len(), SEARCH_RESULTS as usize);
    assert!(page.more);
    assert_eq!(page.hits[0].body, format!("standup note {}", SEARCH_RESULTS + 1), "newest first");
}

async fn search_refuses_bad_input_and_bounds_each_person(store: Store) {
    let subject = store.start(|c| c.searches_per_minute = 12).await;
    let app = &subject.app;
    let ada = app.connect("Ada").await;
    let bob = app.connect("Bob").await;
    let lobby = RoomId::lobby();
    send(&ada, &lobby, "near the \"quoted\" col:umn OR NOT -minus*").await;

    // What would be query syntax in FTS5 or tsquery is only words here.
    for text in [
        "\"quoted",
        "NEAR(the quoted)",
        "col:umn",
        "OR NOT",
        "-minus*",
        "'; DROP TABLE messages; --",
        "a & b | !c",
        "quoted\") OR (\"x",
    ] {
        let result = ada.request::<SearchMessages>(&words(text)).await;
        assert!(result.is_ok(), "{text:?}: {result:?}");
    }
    assert_eq!(found(&ada, "\"quoted").await.len(), 1);
    // The index knows each message's room as the id in hex: that is never a word of it.
    let lobby_hex: String = "lobby".bytes().map(|b| format!("{b:02x}")).collect();
    assert!(found(&ada, &lobby_hex).await.is_empty());
    let in_lobby = SearchRequest { room: Some(lobby.clone()), ..words(&lobby_hex) };
    assert!(search(&ada, in_lobby).await.hits.is_empty());
    assert_eq!(found(&ada, "col:umn").await.len(), 1);

    // Typed refusals.
    let empty = ada.request::<SearchMessages>(&words("  !?* ")).await;
    assert_eq!(empty, Err(ChatError::EmptySearch));
    let long = "x".repeat(MAX_SEARCH_CHARS + 1);
    let too_long = ada.request::<SearchMessages>(&words(&long)).await;
    assert_eq!(
        too_long,
        Err(ChatError::SearchTooLong { len: MAX_SEARCH_CHARS + 1, max: MAX_SEARCH_CHARS })
    );
    // A room filter must name a room of one's own; a private one is not admitted to exist.
    let secret = room(&ada, "secret", true).await;
    let outside = SearchRequest { room: Some(secret.clone()), ..words("quoted") };
    assert_eq!(
        bob.request::<SearchMessages>(&outside).await,
        Err(ChatError::UnknownRoom { room: "secret".into() })
    );
    // Nor can someone else's direct conversation be named by its id.
    let _cy = app.connect("Cy").await;
    let theirs = ada
        .request::<OpenDirect>(&OpenDirectPayload { user: UserId("cy".into()) })
        .await
        .expect("direct room")
        .id;
    send(&ada, &theirs, "quoted between us").await;
    let peek = SearchRequest { room: Some(theirs.clone()), ..words("quoted") };
    assert_eq!(
        bob.request::<SearchMessages>(&peek).await,
        Err(ChatError::UnknownRoom { room: theirs.0.clone() })
    );
    // A huge author filter is only a value that matches nobody.
    let huge = SearchRequest { from: Some(UserId("a:b%".repeat(6_000))), ..words("quoted") };
    assert!(search(&bob, huge).await.hits.is_empty());

    // Ada has used 12 searches this minute (refusals for bad input cost nothing): the next is
    // refused, and Bob is not affected.
    assert!(matches!(
        ada.request::<SearchMessages>(&words("quoted")).await,
        Err(ChatError::RateLimited { .. })
    ));
    assert_eq!(found(&bob, "quoted").await.len(), 1);
}
