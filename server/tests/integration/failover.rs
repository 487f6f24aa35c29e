//! Faults with real processes: a node killed with `kill -9` while a client sends, and Redis
//! restarted under the nodes. Two `parley` processes share a real Redis and a real PostgreSQL.

use crate::common;

use std::collections::HashSet;
use std::time::Duration;

use app::events::messages::{
    HistoryRequest, LoadHistory, NewMessage, SendMessage, SendMessagePayload, SyncRequest, SyncRoom,
};
use app::events::rooms::{RoomMembers, RoomRef};
use app::model::RoomId;
use common::servers::{Node, Postgres, Redis};
use common::{ChatClient, WAIT, password_of, register};
use uuid::Uuid;

fn msg(body: &str) -> SendMessagePayload {
    SendMessagePayload {
        id: Uuid::now_v7(),
        room: RoomId::lobby(),
        body: body.to_owned(),
        thread: None,
    }
}

async fn cluster(redis: &Redis, postgres: &Postgres) -> (Node, Node) {
    let database = postgres.fresh_database().await;
    let env = [("PARLEY_REDIS_URL", redis.url()), ("PARLEY_DATABASE_URL", database)];
    (Node::start(&env).await, Node::start(&env).await)
}

async fn connect(node: &Node, cookie: &str) -> ChatClient {
    ChatClient::connect(&node.url("/"), "/chat", serde_json::json!({}), Some(cookie))
        .await
        .expect("connected")
}

async fn servers() -> (Redis, Postgres) {
    tokio::task::spawn_blocking(|| (Redis::start(), Postgres::start())).await.expect("servers")
}

#[tokio::test]
async fn a_killed_node_loses_nothing_that_was_acknowledged() {
    let (redis, postgres) = servers().await;
    let (mut one, two) = cluster(&redis, &postgres).await;
    let ada_cookie = register(one.addr, "Ada", &password_of("Ada")).await.expect("ada");
    let bob_cookie = register(two.addr, "Bob", &password_of("Bob")).await.expect("bob");
    let cy_cookie = register(one.addr, "Cy", &password_of("Cy")).await.expect("cy");
    let mut bob = connect(&two, &bob_cookie).await;
    let _cy = connect(&one, &cy_cookie).await; // only on node one: goes offline with it
    let ada = connect(&one, &ada_cookie).await;

    // Acknowledged before the crash.
    let mut sent = Vec::new();
    for i in 0..20 {
        sent.push(
            ada.request::<SendMessage>(&msg(&format!("before {i}"))).await.expect("acked").id,
        );
    }
    // Node two has seen Cy at a presence sweep (a person whose node dies before any other node
    // swept them is not announced offline: see the README).
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let lobby =
            bob.request::<RoomMembers>(&RoomRef { room: RoomId::lobby() }).await.expect("members");
        if lobby.members.iter().any(|m| m.user.id.0 == "cy" && m.online) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "node two never saw Cy: {lobby:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // In flight during the crash: sent, then the node dies before (some) acks come back.
    let in_flight: Vec<_> = (0..10).map(|i| msg(&format!("during {i}"))).collect();
    for payload in &in_flight {
        let _ = ada
            .request_raw_within(
                "message:send",
                serde_json::to_value(payload).expect("json"),
                Duration::from_millis(1),
            )
            .await;
    }
    one.kill();

    // Ada's client comes back through the other node and sends again what it has no ack for;
    // ids make that safe.
    let ada = connect(&two, &ada_cookie).await;
    for payload in &in_flight {
        let stored = ada.request::<SendMessage>(payload).await.expect("acked on node two");
        assert_eq!(stored.body, payload.body);
        sent.push(stored.id);
    }

    // Stored once each, in one gap-free order.
    let page = ada
        .request::<LoadHistory>(&HistoryRequest {
            room: RoomId::lobby(),
            before: None,
            back_to: None,
        })
        .await
        .expect("history");
    let ids: Vec<_> = page.messages.iter().map(|m| m.id).collect();
    assert_eq!(ids.len(), 30, "{page:?}");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 30, "no duplicates");
    assert_eq!(ids.iter().collect::<HashSet<_>>(), sent.iter().collect::<HashSet<_>>());
    let seqs: Vec<_> = page.messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=30).collect::<Vec<_>>());

    // Bob, on the surviving node, has every one of them: live, or (for a broadcast the adapter
    // could not deliver while node one was dying: the server logs "recipients see it on
    // resume") by resuming, as his browser does after any hiccup. Live delivery is best effort
    // across a crash; having them all is not.
    let mut seen = HashSet::new();
    let quiet = Duration::from_secs(3);
    while seen.len() < 30 {
        let Some(got) = bob.try_until::<NewMessage>(|_| true, quiet).await else { break };
        seen.insert(got.id);
    }
    let resumed = bob
        .request::<SyncRoom>(&SyncRequest { room: RoomId::lobby(), after_rev: 0 })
        .await
        .expect("synced");
    seen.extend(resumed.changes.iter().map(|m| m.id));
    assert_eq!(seen, sent.iter().copied().collect::<HashSet<_>>());

    // Cy had a tab on the dead node only: the presence sweep takes Cy offline for Bob (read
    // from the member list: the live event may have gone by while the messages were read).
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let lobby =
            bob.request::<RoomMembers>(&RoomRef { room: RoomId::lobby() }).await.expect("members");
        if lobby.members.iter().any(|m| m.user.id.0 == "cy" && !m.online) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "Cy never went offline: {lobby:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn delivery_across_nodes_resumes_after_redis_restarts() {
    let (redis, postgres) = servers().await;
    let (one, two) = cluster(&redis, &postgres).await;
    let ada_cookie = register(one.addr, "Ada", &password_of("Ada")).await.expect("ada");
    let bob_cookie = register(two.addr, "Bob", &password_of("Bob")).await.expect("bob");
    let ada = connect(&one, &ada_cookie).await;
    let mut bob = connect(&two, &bob_cookie).await;
    let first = ada.request::<SendMessage>(&msg("before the restart")).await.expect("acked");
    assert_eq!(bob.until::<NewMessage>(|m| m.id == first.id).await.0, first);

    let port = redis.kill();
    // Meanwhile each node still serves its own clients: sending is stored and acknowledged.
    let during =
        ada.request::<SendMessage>(&msg("while redis is down")).await.expect("acked without redis");
    let redis =
        tokio::task::spawn_blocking(move || Redis::start_on(port)).await.expect("restart redis");

    // Once the nodes are back on Redis, messages cross again.
    let deadline = tokio::time::Instant::now() + WAIT * 2;
    loop {
        let probe = ada.request::<SendMessage>(&msg("after the restart")).await.expect("acked");
        if let Some(got) =
            bob.try_until::<NewMessage>(|m| m.id == probe.id, Duration::from_millis(500)).await
        {
            assert_eq!(got, probe);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "delivery never resumed");
    }
    // What Bob missed meanwhile is in the stored history.
    let page = bob
        .request::<LoadHistory>(&HistoryRequest {
            room: RoomId::lobby(),
            before: None,
            back_to: None,
        })
        .await
        .expect("history");
    assert!(page.messages.iter().any(|m| m.id == during.id));
    drop(redis);
}

/// Leaving a private room while Redis is down cannot move the person's tabs on other nodes out
/// of it: the leave is refused and undone (still a member, still receiving, consistent), and a
/// leave once Redis is back takes every tab out, so nothing more of the room reaches them.
#[tokio::test]
async fn a_leave_that_cannot_reach_every_node_is_refused_and_undone() {
    use app::ChatError;
    use app::events::rooms::{
        CreateRoom, CreateRoomPayload, InvitePayload, InviteToRoom, LeaveRoom,
    };

    let (redis, postgres) = servers().await;
    let database = postgres.fresh_database().await;
    let node = |redis_url: String, database: String| {
        common::spawn_app_with(move |c| {
            c.redis_url = Some(redis_url);
            c.database_url = Some(database);
        })
    };
    let one = node(redis.url(), database.clone()).await;
    let two = node(redis.url(), database).await;
    let bob = one.connect("Bob").await;
    let ada_cookie = one.session("Ada").await;
    let ada_here = one.connect_with_cookie(Some(&ada_cookie)).await.expect("connected");
    let mut ada_there = two.connect_with_cookie(Some(&ada_cookie)).await.expect("connected");
    bob.request::<CreateRoom>(&CreateRoomPayload { name: "hush".into(), private: true })
        .await
        .expect("created");
    let hush = RoomId("hush".into());
    bob.request::<InviteToRoom>(&InvitePayload {
        room: hush.clone(),
        user: app::model::UserId("ada".into()),
    })
    .await
    .expect("invited");
    let in_hush = |body: &str| SendMessagePayload {
        id: Uuid::now_v7(),
        room: hush.clone(),
        body: body.to_owned(),
        thread: None,
    };
    let first = bob.request::<SendMessage>(&in_hush("welcome")).await.expect("sent");
    ada_there.until::<NewMessage>(|m| m.id == first.id).await;

    let port = redis.kill();
    let refused = ada_here.request::<LeaveRoom>(&RoomRef { room: hush.clone() }).await;
    assert_eq!(refused, Err(ChatError::Internal), "a leave that could not reach node two");
    let redis =
        tokio::task::spawn_blocking(move || Redis::start_on(port)).await.expect("restart redis");
    // Once messages cross again, Ada is still a member on both nodes: she receives hush.
    let deadline = tokio::time::Instant::now() + WAIT * 2;
    loop {
        let probe = bob.request::<SendMessage>(&in_hush("still yours")).await.expect("sent");
        if ada_there
            .try_until::<NewMessage>(|m| m.id == probe.id, Duration::from_millis(500))
            .await
            .is_some()
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "delivery never resumed");
    }

    // Leaving now takes every tab out.
    ada_here.request::<LeaveRoom>(&RoomRef { room: hush.clone() }).await.expect("left");
    let secret = bob.request::<SendMessage>(&in_hush("after she left")).await.expect("sent");
    let marker = bob.request::<SendMessage>(&msg("lobby marker")).await.expect("sent");
    let (_, before) = ada_there.until::<NewMessage>(|m| m.id == marker.id).await;
    assert!(
        !before.iter().any(|r| r.data.to_string().contains(&secret.id.to_string())),
        "a tab kept receiving the room she left: {before:?}"
    );
    drop(redis);
}
