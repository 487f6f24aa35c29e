//! Two nodes sharing a real Redis (the Socket.IO adapter) and a real PostgreSQL (the store),
//! each with real Socket.IO clients: what one node's clients do reaches the other's.

use crate::common;

use app::events::messages::{
    HistoryRequest, LoadHistory, MessageUpdated, NewMessage, ReactPayload, ReactToMessage,
    SendMessage, SendMessagePayload, SyncRequest, SyncRoom,
};
use app::events::presence::{PresenceChanged, StartTyping, Typing};
use app::events::rooms::{
    CreateRoom, CreateRoomPayload, DirectOpened, Empty, JoinRoom, ListRooms, MarkRead,
    MarkReadPayload, MemberJoined, MutePayload, MuteRoom, OpenDirect, OpenDirectPayload,
    RoomCreated, RoomMembers, RoomRead, RoomRef,
};
use app::model::{RoomId, UserId};
use common::servers::{Postgres, Redis};
use common::{TestApp, spawn_app_with};
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

/// Redis, Postgres and two nodes using both.
pub struct Cluster {
    pub nodes: [TestApp; 2],
    _redis: Redis,
    _postgres: Postgres,
}

async fn cluster() -> Cluster {
    cluster_with(|_| {}).await
}

/// A [`Cluster`] whose nodes are also configured by `configure`.
pub async fn cluster_with(
    configure: impl Fn(&mut server::Config) + Copy + Send + 'static,
) -> Cluster {
    let (redis, postgres) = tokio::task::spawn_blocking(|| (Redis::start(), Postgres::start()))
        .await
        .expect("start redis and postgres");
    let database = postgres.fresh_database().await;
    let node = || {
        let (redis_url, database) = (redis.url(), database.clone());
        spawn_app_with(move |c| {
            c.redis_url = Some(redis_url);
            c.database_url = Some(database);
            configure(c);
        })
    };
    let first = node().await;
    let second = node().await;
    Cluster { nodes: [first, second], _redis: redis, _postgres: postgres }
}

#[tokio::test]
async fn room_messages_typing_and_history_cross_nodes() {
    let cluster = cluster().await;
    let [one, two] = &cluster.nodes;
    let ada = one.connect("Ada").await;
    // A session made on one node is valid on the other: they share the database.
    let mut bob =
        two.connect_with_cookie(Some(&one.session("Bob").await)).await.expect("connected");

    let ops = ada
        .request::<CreateRoom>(&CreateRoomPayload { name: "ops".into(), private: false })
        .await
        .expect("created");
    assert_eq!(bob.until::<RoomCreated>(|r| r.id == ops.id).await.0, ops, "news crosses nodes");
    bob.request::<JoinRoom>(&room("ops")).await.expect("joined on node two");

    let sent = ada.request::<SendMessage>(&msg("ops", "hello from node one")).await.expect("sent");
    assert_eq!(bob.until::<NewMessage>(|m| m.id == sent.id).await.0, sent);

    let mut ada = ada;
    let (joined, _) = ada.until::<MemberJoined>(|c| c.room == ops.id).await;
    assert_eq!(joined.user.id, UserId("bob".into()), "Bob's join on node two reached node one");
    let reply = bob.request::<SendMessage>(&msg("ops", "hi from node two")).await.expect("sent");
    assert_eq!(ada.until::<NewMessage>(|m| m.id == reply.id).await.0, reply);

    bob.request::<StartTyping>(&room("ops")).await.expect("typing");
    let (typing, _) = ada.until::<Typing>(|t| t.room == ops.id).await;
    assert_eq!(typing.user.name.as_str(), "Bob");

    // Both nodes read one history, numbered once.
    let page = bob
        .request::<LoadHistory>(&HistoryRequest {
            room: ops.id.clone(),
            before: None,
            back_to: None,
        })
        .await
        .expect("history");
    let seqs: Vec<_> = page.messages.iter().map(|m| (m.seq, m.body.as_str())).collect();
    assert_eq!(seqs, [(1, "hello from node one"), (2, "hi from node two")]);

    // Resuming works wherever the client lands: Bob, holding revision 1, reconnects to node one
    // and gets what came after it, whichever node it was sent through.
    bob.close().await;
    let bob = one.connect("Bob").await;
    let page = bob
        .request::<SyncRoom>(&SyncRequest { room: ops.id.clone(), after_rev: 1 })
        .await
        .expect("sync");
    let bodies: Vec<_> = page.changes.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["hi from node two"]);
}

#[tokio::test]
async fn a_direct_message_reaches_every_tab_of_a_person_on_every_node() {
    let cluster = cluster().await;
    let [one, two] = &cluster.nodes;
    let ada = one.connect("Ada").await;
    let bob_cookie = one.session("Bob").await;
    let mut bob_here = one.connect_with_cookie(Some(&bob_cookie)).await.expect("connected");
    let mut bob_there = two.connect_with_cookie(Some(&bob_cookie)).await.expect("connected");

    let dm = ada
        .request::<OpenDirect>(&OpenDirectPayload { user: UserId("bob".into()) })
        .await
        .expect("opened");
    for tab in [&mut bob_here, &mut bob_there] {
        assert_eq!(tab.until::<DirectOpened>(|d| d.id == dm.id).await.0, dm);
    }
    let sent = ada.request::<SendMessage>(&msg(&dm.id.0, "psst")).await.expect("sent");
    for tab in [&mut bob_here, &mut bob_there] {
        assert_eq!(tab.until::<NewMessage>(|m| m.id == sent.id).await.0, sent);
    }
}

#[tokio::test]
async fn presence_counts_tabs_on_every_node() {
    let cluster = cluster().await;
    let [one, two] = &cluster.nodes;
    let mut watcher = one.connect("Watcher").await;
    let cookie = one.session("Cy").await;

    let cy_there = two.connect_with_cookie(Some(&cookie)).await.expect("connected");
    let (online, _) =
        watcher.until::<PresenceChanged>(|c| c.iter().any(|p| p.user.id.0 == "cy")).await;
    assert!(
        online.iter().any(|p| p.user.id.0 == "cy" && p.online),
        "a person on node two comes online for node one"
    );
    // Member lists learn of other nodes' people at the next presence sweep.
    let deadline = tokio::time::Instant::now() + common::WAIT;
    loop {
        let members = watcher.request::<RoomMembers>(&room("lobby")).await.expect("members");
        if members.members.iter().any(|m| m.user.id.0 == "cy" && m.online) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "Cy never listed online: {members:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    // A second tab on the other node is not news, and closing the first leaves Cy online.
    let cy_here = one.connect_with_cookie(Some(&cookie)).await.expect("connected");
    cy_there.close().await;
    // News travels in order: once someone who arrives later on node two is announced, news
    // about Cy would have come too.
    let _dee = two.connect("Dee").await;
    let (with_dee, before) =
        watcher.until::<PresenceChanged>(|c| c.iter().any(|p| p.user.id.0 == "dee")).await;
    let mentions_cy = |data: &serde_json::Value| data.to_string().contains("\"cy\"");
    assert!(!before.iter().any(|r| r.event == "presence" && mentions_cy(&r.data)), "{before:?}");
    assert!(with_dee.iter().all(|p| p.user.id.0 != "cy"), "{with_dee:?}");
    let members = watcher.request::<RoomMembers>(&room("lobby")).await.expect("members");
    assert!(members.members.iter().any(|m| m.user.id.0 == "cy" && m.online), "{members:?}");

    cy_here.close().await;
    let (offline, _) = watcher
        .until::<PresenceChanged>(|c| c.iter().any(|p| p.user.id.0 == "cy" && !p.online))
        .await;
    assert!(offline.iter().any(|p| p.user.id.0 == "cy" && !p.online));
}

/// A tab closing on one node while another opens on the second: the person ends up online for
/// everyone whichever check runs first. Each order is run as it comes (close then open, open
/// then close) and interleaved (both at once, several times).
#[tokio::test]
async fn a_tab_moving_between_nodes_leaves_the_person_online_in_either_order() {
    let cluster = cluster().await;
    let [one, two] = &cluster.nodes;
    let mut watcher = one.connect("Watcher").await;
    let cookie = one.session("Cy").await;
    let mut tab = one.connect_with_cookie(Some(&cookie)).await.expect("connected");
    watcher.until::<PresenceChanged>(|c| c.iter().any(|p| p.user.id.0 == "cy" && p.online)).await;

    let orders = ["close then open", "open then close", "together", "together", "together"];
    for (round, order) in orders.into_iter().enumerate() {
        // Alternate the nodes so both directions are covered (the tab is on the other one).
        let to_node = if round % 2 == 0 { two } else { one };
        let opened = match order {
            "close then open" => {
                tab.close().await;
                to_node.connect_with_cookie(Some(&cookie)).await.expect("connected")
            }
            "open then close" => {
                let opened = to_node.connect_with_cookie(Some(&cookie)).await.expect("connected");
                tab.close().await;
                opened
            }
            _ => {
                let (opened, ()) =
                    tokio::join!(to_node.connect_with_cookie(Some(&cookie)), tab.close());
                opened.expect("connected")
            }
        };
        tab = opened;
        // Markers arriving on both nodes afterwards: by the time both are announced, each
        // node's earlier news about Cy has arrived too.
        let (m1, m2) = (format!("markone{round}"), format!("marktwo{round}"));
        let _a = one.connect(&m1).await;
        let _b = two.connect(&m2).await;
        let mut cy_online = None;
        let (mut seen1, mut seen2) = (false, false);
        while !(seen1 && seen2) {
            let (batch, _) = watcher.until::<PresenceChanged>(|_| true).await;
            for p in batch {
                match p.user.id.0.as_str() {
                    "cy" => cy_online = Some(p.online),
                    id if id == m1 => seen1 = true,
                    id if id == m2 => seen2 = true,
                    _ => {}
                }
            }
        }
        assert_ne!(
            cy_online,
            Some(false),
            "{order} (round {round}): Cy shown offline while connected"
        );
    }
}

#[tokio::test]
async fn reading_on_one_node_clears_unread_on_the_other() {
    let cluster = cluster().await;
    let [one, two] = &cluster.nodes;
    let ada = one.connect("Ada").await;
    let mut ada_there = two.connect_with_cookie(Some(&one.session("Ada").await)).await.expect("ok");
    let bob = two.connect_with_cookie(Some(&one.session("Bob").await)).await.expect("connected");
    let news = bob.request::<SendMessage>(&msg("lobby", "news")).await.expect("sent");
    let unread = |list: app::events::rooms::RoomList| {
        list.read.into_iter().find(|r| r.room == RoomId::lobby()).map(|r| r.unread)
    };
    let listed = ada_there.request::<ListRooms>(&Empty {}).await.expect("listed");
    assert_eq!(unread(listed), Some(1));
    let read = MarkReadPayload { room: RoomId::lobby(), seq: news.seq };
    let state = ada.request::<MarkRead>(&read).await.expect("marked");
    assert_eq!(ada_there.until::<RoomRead>(|r| r.room == RoomId::lobby()).await.0, state);
    let listed = ada_there.request::<ListRooms>(&Empty {}).await.expect("listed");
    assert_eq!(unread(listed), Some(0));
}

#[tokio::test]
async fn reactions_threads_mentions_and_mutes_cross_nodes() {
    let cluster = cluster().await;
    let [one, two] = &cluster.nodes;
    let mut ada = one.connect("Ada").await;
    let mut bob =
        two.connect_with_cookie(Some(&one.session("Bob").await)).await.expect("connected");
    let mut bob_on_one =
        one.connect_with_cookie(Some(&one.session("Bob").await)).await.expect("connected");

    // A mention written on node one is counted for Bob on node two.
    let question =
        ada.request::<SendMessage>(&msg("lobby", "@bob deploy today?")).await.expect("sent");
    assert_eq!(question.mentions.len(), 1);
    assert_eq!(bob.until::<NewMessage>(|m| m.id == question.id).await.0, question);
    let list = bob.request::<ListRooms>(&Empty {}).await.expect("listed");
    let lobby = list.read.iter().find(|r| r.room == RoomId::lobby()).expect("lobby");
    assert_eq!(lobby.mentions, 1);

    // A reaction on node two reaches node one, live.
    let react = ReactPayload { id: question.id, emoji: "👀".into(), on: true };
    let reacted = bob.request::<ReactToMessage>(&react).await.expect("reacted");
    assert_eq!(ada.until::<MessageUpdated>(|m| m.rev == reacted.rev).await.0, reacted);

    // A reply on node two: the reply and the parent's new count reach node one.
    let reply = SendMessagePayload { thread: Some(question.id), ..msg("lobby", "after lunch") };
    let reply = bob.request::<SendMessage>(&reply).await.expect("replied");
    assert_eq!(ada.until::<NewMessage>(|m| m.id == reply.id).await.0, reply);
    let (parent, _) = ada.until::<MessageUpdated>(|m| m.id == question.id && m.replies == 1).await;
    assert_eq!(parent.last_reply_at_ms, Some(reply.sent_at_ms));

    // A mute on node two reaches Bob's tab on node one.
    let mute = MutePayload { room: RoomId::lobby(), muted: true };
    assert!(bob.request::<MuteRoom>(&mute).await.expect("muted").muted);
    let (state, _) = bob_on_one.until::<RoomRead>(|s| s.room == RoomId::lobby()).await;
    assert!(state.muted);
}
