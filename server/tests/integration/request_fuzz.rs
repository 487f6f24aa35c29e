//! The bounded fuzz pass of the test command: arbitrary client requests through the path a
//! socket's requests take, decoding (`serde_json` into each event's payload type, as
//! socketioxide's `TryData` does), validation and the domain, against a real SQLite store,
//! as a `proptest` property on the stable toolchain (`cargo fuzz` needs sanitizer builds of the
//! whole server, too slow for every CI run; `scripts/fuzz` runs the libFuzzer target and a
//! longer pass of this one).
//!
//! Every case is a sequence of requests by three people (one of them with a name full of
//! separators), built from hostile pieces: names with `:` `%` quotes and control characters,
//! ids that others used, private and direct rooms, bodies at and over the limits, and raw
//! bytes. Properties, checked after every request: nothing panics; every refusal is a typed
//! error other than `internal` (a client must never be able to make the store fail); what is
//! accepted obeys the rules (the author is the caller, bodies are within limits, a deleted
//! message has no text); and afterwards every room's history is in order without gaps.
//!
//! `PARLEY_FUZZ_CASES` sets the number of cases (default 200: ~15 s here).

use std::sync::Arc;

use app::ChatError;
use app::events::ClientEvent;
use app::events::messages::{
    DeleteMessage, EditMessage, LoadHistory, LoadThread, ReactToMessage, SendMessage, SyncRoom,
};
use app::events::presence::StartTyping;
use app::events::rooms::{
    CreateRoom, DeleteRoom, InviteToRoom, JoinRoom, LeaveRoom, ListRooms, MarkRead, MuteRoom,
    OpenDirect, RemoveMember, RemoveRoomMessage, RoomMembers, SetModerator,
};
use app::limits::MAX_MESSAGE_CHARS;
use app::model::{DisplayName, RoomId, UserRef};
use proptest::prelude::*;
use serde_json::{Value, json};
use server::domain::{Chat, ChatLimits, Identity, Seat};
use server::store::{SqliteStore, Store};

const EVENTS: [&str; 21] = [
    ListRooms::NAME,
    CreateRoom::NAME,
    JoinRoom::NAME,
    InviteToRoom::NAME,
    LeaveRoom::NAME,
    DeleteRoom::NAME,
    RoomMembers::NAME,
    OpenDirect::NAME,
    SendMessage::NAME,
    StartTyping::NAME,
    LoadHistory::NAME,
    SyncRoom::NAME,
    EditMessage::NAME,
    DeleteMessage::NAME,
    MarkRead::NAME,
    MuteRoom::NAME,
    ReactToMessage::NAME,
    LoadThread::NAME,
    RemoveRoomMessage::NAME,
    RemoveMember::NAME,
    SetModerator::NAME,
];

const PEOPLE: [&str; 3] = ["Ada", "b:o%b", "Cy's"];

/// Hostile text: separators, escapes, quotes, SQL, markup, control characters, long runs.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("lobby".to_owned()),
        Just("secret".to_owned()),
        Just("ops".to_owned()),
        Just("dm:ada:b%3Ao%25b".to_owned()),
        Just("dm:ada:b:o%b".to_owned()),
        Just("Robert'); DROP TABLE rooms;--".to_owned()),
        Just("<script>alert(1)</script>".to_owned()),
        Just("é".repeat(MAX_MESSAGE_CHARS)),
        Just("x".repeat(MAX_MESSAGE_CHARS + 1)),
        "[a-z0-9_:%-]{0,12}",
        "\\PC{0,40}",
        any::<String>(),
    ]
}

/// A message id: one of a few shared ones (so people reuse each other's), or a fresh one.
fn message_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => (0_u8..4).prop_map(|i| json!(format!("0190a3c4-0000-7000-8000-00000000000{i}"))),
        1 => Just(json!("not-a-uuid")),
        1 => Just(json!(42)),
    ]
}

/// A room: mostly one that exists or may (so requests get past decoding), sometimes anything.
fn room() -> impl Strategy<Value = Value> {
    let direct = |a: &str, b: &str| {
        let id = |n: &str| UserRef::named(DisplayName::parse(n).expect("name")).id;
        json!(RoomId::direct(&id(a), &id(b)).0)
    };
    prop_oneof![
        6 => prop_oneof![
            3 => Just(json!("lobby")),
            1 => Just(json!("secret")),
            1 => Just(json!("ops")),
            1 => Just(direct(PEOPLE[0], PEOPLE[1])),
            1 => Just(direct(PEOPLE[1], PEOPLE[2])),
        ],
        2 => text().prop_map(Value::String),
        1 => prop_oneof![Just(json!(null)), Just(json!(["lobby"]))],
    ]
}

fn person() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop_oneof![Just(json!("ada")), Just(json!("b:o%b")), Just(json!("cy's"))],
        1 => text().prop_map(Value::String),
    ]
}

/// A body: mostly a valid one, sometimes hostile or over the limit.
fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z ]{1,20}",
        2 => text(),
        // Mentions of the people, of everyone, of nobody, at odd places.
        2 => proptest::collection::vec(
            prop_oneof![
                Just("@Ada"), Just("@ADA "), Just("@b:o%b"), Just("@cy's"), Just("@room"),
                Just("@here"), Just("@nobody"), Just("x@ada"), Just("@"), Just(" "), Just("é"),
            ],
            1..6,
        )
        .prop_map(|parts| parts.concat()),
    ]
}

/// The payload shape `event` expects, with hostile values.
fn shaped(event: &'static str) -> BoxedStrategy<Value> {
    let name = prop_oneof![Just("secret".to_owned()), Just("ops".to_owned()), text()];
    match event {
        CreateRoom::NAME => (name, any::<bool>())
            .prop_map(|(name, private)| json!({"name": name, "private": private}))
            .boxed(),
        InviteToRoom::NAME => {
            (room(), person()).prop_map(|(room, user)| json!({"room": room, "user": user})).boxed()
        }
        OpenDirect::NAME => person().prop_map(|user| json!({"user": user})).boxed(),
        SendMessage::NAME => (message_id(), room(), body(), proptest::option::of(message_id()))
            .prop_map(|(id, room, body, thread)| {
                json!({"id": id, "room": room, "body": body, "thread": thread})
            })
            .boxed(),
        LoadThread::NAME => (message_id(), proptest::option::of(0_u64..50))
            .prop_map(|(parent, before)| json!({"parent": parent, "before": before}))
            .boxed(),
        LoadHistory::NAME => (room(), proptest::option::of(0_u64..50))
            .prop_map(|(room, before)| json!({"room": room, "before": before}))
            .boxed(),
        SyncRoom::NAME => (room(), 0_u64..50)
            .prop_map(|(room, rev)| json!({"room": room, "after_rev": rev}))
            .boxed(),
        EditMessage::NAME => {
            (message_id(), body()).prop_map(|(id, body)| json!({"id": id, "body": body})).boxed()
        }
        DeleteMessage::NAME | RemoveRoomMessage::NAME => {
            message_id().prop_map(|id| json!({"id": id})).boxed()
        }
        RemoveMember::NAME => {
            (room(), person()).prop_map(|(room, user)| json!({"room": room, "user": user})).boxed()
        }
        SetModerator::NAME => (room(), person(), any::<bool>())
            .prop_map(|(room, user, on)| json!({"room": room, "user": user, "moderator": on}))
            .boxed(),
        MarkRead::NAME => (room(), prop_oneof![0_u64..50, Just(u64::MAX)])
            .prop_map(|(room, seq)| json!({"room": room, "seq": seq}))
            .boxed(),
        MuteRoom::NAME => (room(), any::<bool>())
            .prop_map(|(room, muted)| json!({"room": room, "muted": muted}))
            .boxed(),
        ReactToMessage::NAME => (
            message_id(),
            prop_oneof![4 => Just("👍".to_owned()), 2 => Just("🎉".to_owned()), 1 => text()],
            any::<bool>(),
        )
            .prop_map(|(id, emoji, on)| json!({"id": id, "emoji": emoji, "on": on}))
            .boxed(),
        ListRooms::NAME => Just(json!({})).boxed(),
        _ => room().prop_map(|room| json!({"room": room})).boxed(),
    }
}

/// A payload of any shape (for the wrong event, say).
fn any_payload() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({})),
        room().prop_map(|room| json!({"room": room})),
        (message_id(), room(), text())
            .prop_map(|(id, room, body)| json!({"id": id, "room": room, "body": body})),
        any::<String>().prop_map(Value::String),
        Just(json!({"room": "lobby", "unknown": 1})),
    ]
}

/// One request: who (by index), which event, what payload bytes.
fn request() -> impl Strategy<Value = (usize, usize, Vec<u8>)> {
    // Sends, edits and deletes more often than the rest: they are where people's data meet.
    let mut weighted: Vec<usize> = (0..EVENTS.len()).collect();
    for (name, extra) in [
        (SendMessage::NAME, 6),
        (EditMessage::NAME, 2),
        (DeleteMessage::NAME, 2),
        (ReactToMessage::NAME, 2),
    ] {
        let at = EVENTS.iter().position(|e| *e == name).expect("listed");
        weighted.extend(std::iter::repeat_n(at, extra));
    }
    (0..PEOPLE.len(), proptest::sample::select(weighted)).prop_flat_map(|(who, event)| {
        let bytes = prop_oneof![
            8 => shaped(EVENTS[event]).prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
            1 => any_payload().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
            1 => proptest::collection::vec(any::<u8>(), 0..64),
        ];
        (Just(who), Just(event), bytes)
    })
}

fn decode<E: ClientEvent>(bytes: &[u8]) -> Result<E::Payload, ChatError> {
    serde_json::from_slice(bytes).map_err(|e| ChatError::InvalidPayload { reason: e.to_string() })
}

/// What the socket handlers do with a decoded request, minus the emitting: the domain call and
/// the properties of its answer.
async fn handle(chat: &Chat, who: &Identity, event: &str, bytes: &[u8]) -> Result<(), ChatError> {
    match event {
        ListRooms::NAME => {
            decode::<ListRooms>(bytes)?;
            let list = chat.list_rooms(who).await?;
            assert_eq!(list.me, who.user);
        }
        CreateRoom::NAME => {
            let p = decode::<CreateRoom>(bytes)?;
            chat.create_room(who, &p.name, p.private).await?;
        }
        JoinRoom::NAME => {
            chat.join(who, &decode::<JoinRoom>(bytes)?.room).await?;
        }
        InviteToRoom::NAME => {
            let p = decode::<InviteToRoom>(bytes)?;
            chat.invite(who, &p.room, &p.user).await?;
        }
        LeaveRoom::NAME => {
            chat.leave(who, &decode::<LeaveRoom>(bytes)?.room).await?;
        }
        DeleteRoom::NAME => {
            chat.delete_room(who, &decode::<DeleteRoom>(bytes)?.room).await?;
        }
        RoomMembers::NAME => {
            let view = chat.room_view(who, &decode::<RoomMembers>(bytes)?.room).await?;
            assert!(view.members.iter().any(|m| m.user.id == who.user.id), "listed as a member");
        }
        OpenDirect::NAME => {
            let (summary, _) = chat.open_direct(who, &decode::<OpenDirect>(bytes)?.user).await?;
            assert!(summary.peers.iter().any(|p| p.id == who.user.id), "{summary:?}");
            assert_eq!(summary.peers.len(), 2, "{summary:?}");
        }
        SendMessage::NAME => {
            let p = decode::<SendMessage>(bytes)?;
            let (message, _) = chat.post(who, p.clone(), Seat::Unknown).await?;
            assert_eq!(message.author.id, who.user.id, "a message is its sender's");
            assert_eq!((message.id, &message.room), (p.id, &p.room));
            assert!(message.deleted || !message.body.is_empty());
            assert!(message.body.chars().count() <= MAX_MESSAGE_CHARS);
            if let Some(parent) = message.thread {
                let parent = chat.thread(who, parent, None).await.map(|t| t.parent);
                assert!(parent.is_ok_and(|p| p.room == message.room && p.thread.is_none()));
            }
            for m in &message.mentions {
                let text = message.body.get(m.start as usize..m.end as usize);
                assert!(text.is_some_and(|t| t.starts_with('@')), "{message:?}");
            }
        }
        StartTyping::NAME => {
            chat.typing(
                who,
                &decode::<StartTyping>(bytes)?.room,
                std::time::Instant::now(),
                Seat::Unknown,
            )
            .await?;
        }
        LoadHistory::NAME => {
            let p = decode::<LoadHistory>(bytes)?;
            let page = chat.history(who, &p.room, p.before, p.back_to).await?;
            assert!(page.messages.windows(2).all(|w| w[0].seq < w[1].seq), "{page:?}");
            assert!(page.messages.iter().all(|m| !m.deleted || m.body.is_empty()));
        }
        SyncRoom::NAME => {
            let p = decode::<SyncRoom>(bytes)?;
            let page = chat.sync(who, &p.room, p.after_rev).await?;
            assert!(page.changes.iter().all(|m| m.rev > p.after_rev));
        }
        EditMessage::NAME => {
            let p = decode::<EditMessage>(bytes)?;
            let (message, _) = chat.edit_message(who, p.id, &p.body).await?;
            assert_eq!(message.author.id, who.user.id, "only authors edit");
            assert!(!message.deleted);
        }
        DeleteMessage::NAME => {
            let p = decode::<DeleteMessage>(bytes)?;
            let (message, _) = chat.delete_message(who, p.id).await?;
            assert_eq!(message.author.id, who.user.id, "only authors delete");
            assert!(message.deleted && message.body.is_empty());
        }
        RemoveRoomMessage::NAME => {
            let p = decode::<RemoveRoomMessage>(bytes)?;
            let (message, _) = chat.moderate_message(who, p.id).await?;
            assert!(message.deleted && message.moderated && message.body.is_empty());
        }
        RemoveMember::NAME => {
            let p = decode::<RemoveMember>(bytes)?;
            let (view, change) = chat.remove_member(who, &p.room, &p.user).await?;
            assert_ne!(p.user, who.user.id, "nobody removes themselves");
            assert!(view.members.iter().all(|m| m.user.id != p.user), "{view:?}");
            assert!(view.members.iter().any(|m| m.user.id == who.user.id && m.moderator));
            assert_eq!(change.user.id, p.user);
        }
        SetModerator::NAME => {
            let p = decode::<SetModerator>(bytes)?;
            let (view, _) = chat.set_moderator(who, &p.room, &p.user, p.moderator).await?;
            let target = view.members.iter().find(|m| m.user.id == p.user).expect("a member");
            assert_eq!(target.moderator, p.moderator, "{view:?}");
            assert_ne!(view.room.created_by.as_ref(), Some(&p.user), "the creator keeps the role");
        }
        MarkRead::NAME => {
            let p = decode::<MarkRead>(bytes)?;
            let (state, audience) = chat.mark_read(who, &p.room, p.seq).await?;
            assert_eq!(state.room, p.room);
            assert!(
                matches!(audience, server::domain::Audience::People(p) if p == [who.user.id.clone()])
            );
        }
        MuteRoom::NAME => {
            let p = decode::<MuteRoom>(bytes)?;
            let (state, _) = chat.mute(who, &p.room, p.muted).await?;
            assert_eq!((state.room, state.muted), (p.room, p.muted));
        }
        ReactToMessage::NAME => {
            let p = decode::<ReactToMessage>(bytes)?;
            let (message, _) = chat.react(who, p.id, &p.emoji, p.on).await?;
            assert!(!message.deleted, "no reactions to deleted messages");
            let mine = message
                .reactions
                .iter()
                .any(|r| r.emoji == p.emoji && r.by.iter().any(|u| u.id == who.user.id));
            assert_eq!(mine, p.on, "a reaction is set, not toggled: {message:?}");
            assert!(
                message.reactions.iter().all(|r| r.count > 0 && r.count as usize >= r.by.len())
            );
        }
        LoadThread::NAME => {
            let p = decode::<LoadThread>(bytes)?;
            let thread = chat.thread(who, p.parent, p.before).await?;
            assert!(thread.parent.thread.is_none(), "a thread starts at a message of the room");
            assert!(thread.page.messages.iter().all(|m| m.thread == Some(p.parent)));
            assert!(thread.page.messages.windows(2).all(|w| w[0].seq < w[1].seq));
        }
        other => unreachable!("{other}"),
    }
    Ok(())
}

struct World {
    chat: Chat,
    store: Arc<dyn Store>,
    people: Vec<Identity>,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).await.expect("store"));
    let chat = Chat::new(
        Arc::clone(&store),
        ChatLimits { max_rooms_per_person: 3, ..ChatLimits::default() },
    );
    let mut people = Vec::new();
    for name in PEOPLE {
        let user = UserRef::named(DisplayName::parse(name).expect("name"));
        store.create_account(&user, None, 0).await.expect("account");
        let who = Identity { user, bot: false };
        chat.connect(&who).await.expect("connected");
        people.push(who);
    }
    World { chat, store, people, _dir: dir }
}

fn cases() -> u32 {
    std::env::var("PARLEY_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_requests_get_typed_answers_and_keep_the_rules(
        requests in proptest::collection::vec(request(), 1..60)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let world = world().await;
            for (who, event, bytes) in &requests {
                let answer = handle(&world.chat, &world.people[*who], EVENTS[*event], bytes).await;
                assert_ne!(answer, Err(ChatError::Internal), "{} {:?}", EVENTS[*event], String::from_utf8_lossy(bytes));
            }
            // Every room anyone is in: history in order, gap-free, deleted means empty.
            for who in &world.people {
                for room in world.store.memberships(&who.user.id).await.expect("rooms") {
                    // Every message (the room's own and replies in threads) once, numbered
                    // without a gap; the room's history is the ones that are not replies.
                    let mut all = world.store.changes(&room, 0, 10_000).await.expect("changes");
                    all.sort_by_key(|m| m.seq);
                    let seqs: Vec<u64> = all.iter().map(|m| m.seq).collect();
                    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
                    assert_eq!(seqs, expected, "messages of {room} have gaps or disorder");
                    let page = world.store.history(&room, None, 500).await.expect("history");
                    let own: Vec<u64> = all.iter().filter(|m| m.thread.is_none()).map(|m| m.seq).collect();
                    assert_eq!(page.messages.iter().map(|m| m.seq).collect::<Vec<_>>(), own);
                    assert!(all.iter().all(|m| !m.deleted || m.body.is_empty()));
                    for reply in all.iter().filter(|m| m.thread.is_some()) {
                        let parent = all.iter().find(|p| Some(p.id) == reply.thread);
                        assert!(parent.is_some_and(|p| p.thread.is_none() && p.seq < reply.seq));
                    }
                }
            }
        });
    }
}
