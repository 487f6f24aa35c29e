//! Durable history: pages, resume by revision, edits and deletes, and a restart.

use crate::common;

use app::ChatError;
use app::events::messages::{
    DeleteMessage, DeleteRequest, EditMessage, EditRequest, HistoryRequest, LoadHistory,
    MessageUpdated, SendMessage, SendMessagePayload, SyncRequest, SyncRoom,
};
use app::events::rooms::{CreateRoom, CreateRoomPayload, Empty, ListRooms};
use app::model::{ChatMessage, RoomId};
use common::{ChatClient, spawn_app, spawn_app_in};
use uuid::Uuid;

fn msg(room: &str, body: &str) -> SendMessagePayload {
    SendMessagePayload {
        id: Uuid::now_v7(),
        room: RoomId(room.to_owned()),
        body: body.to_owned(),
        thread: None,
    }
}

fn history(room: &str, before: Option<u64>) -> HistoryRequest {
    HistoryRequest { room: RoomId(room.to_owned()), before, back_to: None }
}

async fn send_many(client: &ChatClient, room: &str, n: usize) -> Vec<ChatMessage> {
    let mut sent = Vec::with_capacity(n);
    for i in 0..n {
        sent.push(client.request::<SendMessage>(&msg(room, &format!("m{i}"))).await.expect("sent"));
    }
    sent
}

fn seqs(messages: &[ChatMessage]) -> Vec<u64> {
    messages.iter().map(|m| m.seq).collect()
}

#[tokio::test]
async fn history_comes_in_pages_of_fifty_newest_first() {
    let app = spawn_app().await;
    let ada = app.connect("Ada").await;
    send_many(&ada, "lobby", 120).await;

    let newest = ada.request::<LoadHistory>(&history("lobby", None)).await.expect("page");
    assert_eq!(seqs(&newest.messages), (71..=120).collect::<Vec<_>>());
    assert!(newest.has_more);
    assert_eq!(newest.rev, 120);

    let older = ada.request::<LoadHistory>(&history("lobby", Some(71))).await.expect("page");
    assert_eq!(seqs(&older.messages), (21..=70).collect::<Vec<_>>());
    assert!(older.has_more);

    let oldest = ada.request::<LoadHistory>(&history("lobby", Some(21))).await.expect("page");
    assert_eq!(seqs(&oldest.messages), (1..=20).collect::<Vec<_>>());
    assert!(!oldest.has_more);
    assert_eq!(oldest.messages[0].body, "m0");
}

#[tokio::test]
async fn history_reaches_back_to_an_older_message_in_one_bounded_page() {
    use app::limits::MAX_HISTORY_SPAN;
    let app = spawn_app().await;
    let ada = app.connect("Ada").await;
    send_many(&ada, "lobby", 700).await;
    let back_to = |before: u64, to: u64| HistoryRequest {
        room: RoomId::lobby(),
        before: Some(before),
        back_to: Some(to),
    };

    // Holding 651..=700, a reader opens message 300: everything from it up to what they hold.
    let page = ada.request::<LoadHistory>(&back_to(651, 300)).await.expect("page");
    assert_eq!(seqs(&page.messages), (300..=650).collect::<Vec<_>>());
    assert!(page.has_more);
    // Further back than one page may reach: the newest MAX_HISTORY_SPAN, then the rest.
    let far = ada.request::<LoadHistory>(&back_to(651, 1)).await.expect("page");
    let span = u64::from(MAX_HISTORY_SPAN);
    assert_eq!(seqs(&far.messages), (651 - span..=650).collect::<Vec<_>>());
    let rest = ada.request::<LoadHistory>(&back_to(651 - span, 1)).await.expect("page");
    assert_eq!(seqs(&rest.messages), (1..651 - span).collect::<Vec<_>>());
    assert!(!rest.has_more);
    // Close by, or nonsense (a target after `before`): an ordinary page.
    let near = ada.request::<LoadHistory>(&back_to(651, 640)).await.expect("page");
    assert_eq!(near.messages.len(), 50);
    let odd = ada.request::<LoadHistory>(&back_to(100, 500)).await.expect("page");
    assert_eq!(seqs(&odd.messages), (50..=99).collect::<Vec<_>>());
    // Without `before` there is nothing to reach back from.
    let newest = HistoryRequest { room: RoomId::lobby(), before: None, back_to: Some(1) };
    assert_eq!(ada.request::<LoadHistory>(&newest).await.expect("page").messages.len(), 50);
}

/// Catch-up work takes turns (`CATCHING_UP_AT_ONCE` at a time): many syncs and history pages at
/// once, with sends between them and people connecting meanwhile, all get their answers, and
/// turns are given back (a leaked one would leave the later requests without an ack). One
/// request in flight per client: the test client's random ack ids collide when many are.
#[tokio::test]
async fn many_catch_ups_at_once_all_get_answers_and_give_their_turns_back() {
    let app = spawn_app().await;
    let ada = app.connect("Ada").await;
    let mut readers = Vec::new();
    for i in 0..12 {
        readers.push(app.connect(&format!("Reader{i}")).await);
    }
    send_many(&ada, "lobby", 30).await;
    let lobby = RoomId::lobby();
    let sync = SyncRequest { room: lobby.clone(), after_rev: 10 };
    let page = HistoryRequest { room: lobby.clone(), before: None, back_to: None };
    let catch_ups =
        futures_util::future::join_all(readers.iter().enumerate().map(|(i, reader)| {
            let (sync, page) = (&sync, &page);
            async move {
                if i % 2 == 0 {
                    let synced = reader.request::<SyncRoom>(sync).await.expect("sync");
                    synced.changes.iter().map(|m| m.rev).collect::<Vec<u64>>()
                } else {
                    let listed = reader.request::<LoadHistory>(page).await.expect("page");
                    listed.messages.iter().map(|m| m.rev).collect()
                }
            }
        }));
    let sends = async {
        let mut seqs = Vec::new();
        for i in 0..10 {
            let sent = ada.request::<SendMessage>(&msg("lobby", &format!("live {i}"))).await;
            seqs.push(sent.expect("sent").seq);
        }
        seqs
    };
    let late: Vec<String> = (0..6).map(|i| format!("Late{i}")).collect();
    let arrivals = futures_util::future::join_all(late.iter().map(|name| app.connect(name)));
    let (catch_ups, sent, arrivals) = tokio::join!(catch_ups, sends, arrivals);
    for (i, revs) in catch_ups.iter().enumerate() {
        // 30 stored before; the live sends may land before or after each read.
        let from = if i % 2 == 0 { 11 } else { 1 };
        assert!(revs.starts_with(&(from..=30).collect::<Vec<_>>()), "{i}: {revs:?}");
    }
    assert_eq!(sent, (31..=40).collect::<Vec<_>>());
    assert_eq!(arrivals.len(), 6);
    // The turns are free again: one more answers with everything since.
    let after = readers[0].request::<SyncRoom>(&SyncRequest { room: lobby, after_rev: 30 }).await;
    assert_eq!(after.expect("sync").changes.len(), 10);
}

#[tokio::test]
async fn resuming_replays_new_edited_and_deleted_messages_in_revision_order() {
    let app = spawn_app().await;
    let ada = app.connect("Ada").await;
    let mut bob = app.connect("Bob").await;
    let sent = send_many(&ada, "lobby", 350).await;
    let lobby = RoomId::lobby();

    // Bob held everything up to revision 100: he gets 101..=350 in two pages.
    let first = bob
        .request::<SyncRoom>(&SyncRequest { room: lobby.clone(), after_rev: 100 })
        .await
        .expect("sync");
    assert_eq!(first.changes.len(), 200);
    assert!(first.more);
    let last = first.changes.last().expect("changes").rev;
    let second = bob
        .request::<SyncRoom>(&SyncRequest { room: lobby.clone(), after_rev: last })
        .await
        .expect("sync");
    assert!(!second.more);
    let revs: Vec<u64> = first.changes.iter().chain(&second.changes).map(|m| m.rev).collect();
    assert_eq!(revs, (101..=350).collect::<Vec<_>>());

    // An edit and a delete of old messages are changes too, and are broadcast.
    let edited = ada
        .request::<EditMessage>(&EditRequest { id: sent[4].id, body: " fixed typo ".into() })
        .await
        .expect("edited");
    assert_eq!((edited.seq, edited.rev, edited.body.as_str()), (5, 351, "fixed typo"));
    assert!(edited.edited_at_ms.is_some());
    assert_eq!(bob.next::<MessageUpdated>().await, edited);
    let deleted =
        ada.request::<DeleteMessage>(&DeleteRequest { id: sent[5].id }).await.expect("deleted");
    assert!(deleted.deleted);
    assert_eq!((deleted.body.as_str(), deleted.rev), ("", 352));
    assert_eq!(bob.next::<MessageUpdated>().await, deleted);

    let tail =
        bob.request::<SyncRoom>(&SyncRequest { room: lobby, after_rev: 350 }).await.expect("sync");
    assert_eq!(tail.changes, vec![edited, deleted]);
}

#[tokio::test]
async fn only_the_author_edits_or_deletes_and_only_members_read() {
    let app = spawn_app().await;
    let ada = app.connect("Ada").await;
    let bob = app.connect("Bob").await;
    let mine = ada.request::<SendMessage>(&msg("lobby", "mine")).await.expect("sent");

    let not_author = Err(ChatError::NotAuthor { id: mine.id });
    assert_eq!(
        bob.request::<EditMessage>(&EditRequest { id: mine.id, body: "hacked".into() }).await,
        not_author
    );
    assert_eq!(bob.request::<DeleteMessage>(&DeleteRequest { id: mine.id }).await, not_author);
    let unknown = Uuid::now_v7();
    assert_eq!(
        ada.request::<DeleteMessage>(&DeleteRequest { id: unknown }).await,
        Err(ChatError::NotAuthor { id: unknown })
    );
    assert_eq!(
        ada.request::<EditMessage>(&EditRequest { id: mine.id, body: "  ".into() }).await,
        Err(ChatError::EmptyMessage)
    );
    // Nothing changed.
    let page = bob.request::<LoadHistory>(&history("lobby", None)).await.expect("page");
    assert_eq!(page.messages, vec![mine.clone()]);

    ada.request::<CreateRoom>(&CreateRoomPayload { name: "ops".into(), private: false })
        .await
        .expect("created");
    ada.request::<SendMessage>(&msg("ops", "ops only")).await.expect("sent");
    assert_eq!(
        bob.request::<LoadHistory>(&history("ops", None)).await,
        Err(ChatError::NotMember { room: "ops".into() })
    );
    assert_eq!(
        bob.request::<SyncRoom>(&SyncRequest { room: RoomId("ops".into()), after_rev: 0 }).await,
        Err(ChatError::NotMember { room: "ops".into() })
    );
}

#[tokio::test]
async fn rooms_memberships_and_messages_survive_a_restart() {
    let data = tempfile::tempdir().expect("temp dir");
    let app = spawn_app_in(data.path(), |_| {}).await;
    let ada = app.connect("Ada").await;
    ada.request::<CreateRoom>(&CreateRoomPayload { name: "ops".into(), private: false })
        .await
        .expect("created");
    let before = send_many(&ada, "ops", 3).await;
    ada.close().await;
    app.stop().await;

    let app = spawn_app_in(data.path(), |_| {}).await;
    let ada = app.connect("Ada").await;
    let list = ada.request::<ListRooms>(&Empty {}).await.expect("list");
    assert!(list.joined.contains(&RoomId("ops".into())), "{list:?}");
    let page = ada.request::<LoadHistory>(&history("ops", None)).await.expect("page");
    assert_eq!(page.messages, before);
    let next = ada.request::<SendMessage>(&msg("ops", "after restart")).await.expect("sent");
    assert_eq!((next.seq, next.rev), (4, 4));
}
