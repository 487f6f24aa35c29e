//! The real binary, killed with SIGKILL mid-stream and restarted on the same data dir: every
//! acknowledged message is stored exactly once, and every client's view, after resuming, equals
//! the stored sequence.

use crate::common;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use app::events::ServerEvent;
use app::events::messages::{
    HistoryRequest, LoadHistory, LoadThread, MessageUpdated, NewMessage, ReactPayload,
    ReactToMessage, SendMessage, SendMessagePayload, SyncRequest, SyncRoom, ThreadRequest,
};
use app::events::rooms::{Empty, ListRooms, MarkRead, MarkReadPayload, MutePayload, MuteRoom};
use app::model::{ChatMessage, RoomId};
use common::ChatClient;
use serde_json::json;
use uuid::Uuid;

const CLIENTS: usize = 3;
const TOTAL: usize = 1_000;
const KILL_AFTER: usize = 400;

struct Server {
    child: Child,
}

impl Server {
    async fn start(dir: &Path, addr: SocketAddr) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_parley"))
            .env("PARLEY_LISTEN", addr.to_string())
            .env("PARLEY_DATA_DIR", dir)
            .env("LEPTOS_OUTPUT_NAME", "parley")
            .env("LEPTOS_SITE_ROOT", dir)
            .env("RUST_LOG", "warn")
            .env("PARLEY_RATE_PER_SECOND", "100000")
            .env("PARLEY_RATE_BURST", "100000")
            .stdout(Stdio::null())
            .spawn()
            .expect("start the parley binary");
        let server = Self { child };
        let health = format!("http://{addr}/healthz");
        for _ in 0..200 {
            if reqwest::get(&health).await.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not come up on {addr}");
    }

    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client's knowledge of the lobby, kept the way the browser keeps it.
#[derive(Default)]
struct View {
    by_rev: BTreeMap<u64, ChatMessage>,
}

impl View {
    fn add(&mut self, message: ChatMessage) {
        self.by_rev.insert(message.rev, message);
    }

    /// The highest revision up to which nothing is missing: where a resume starts.
    fn cursor(&self) -> u64 {
        let mut cursor = 0;
        for rev in self.by_rev.keys() {
            if *rev != cursor + 1 {
                break;
            }
            cursor = *rev;
        }
        cursor
    }

    async fn resume(&mut self, client: &ChatClient) {
        loop {
            let request = SyncRequest { room: RoomId::lobby(), after_rev: self.cursor() };
            let page = client.request::<SyncRoom>(&request).await.expect("sync");
            for m in page.changes {
                self.add(m);
            }
            if !page.more {
                return;
            }
        }
    }

    fn messages(&self) -> Vec<ChatMessage> {
        let mut all: Vec<_> = self.by_rev.values().cloned().collect();
        all.sort_by_key(|m| m.seq);
        all
    }
}

/// Signs `name` in (registering on first use; accounts and sessions survive the restart).
async fn connect(addr: SocketAddr, name: &str) -> ChatClient {
    let password = common::password_of(name);
    let cookie = match common::register(addr, name, &password).await {
        Ok(cookie) => cookie,
        Err(_) => common::sign_in(addr, name, &password).await.expect("signed in"),
    };
    ChatClient::connect(&format!("http://{addr}/"), "/chat", json!({}), Some(&cookie))
        .await
        .expect("connected")
}

fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_messages_survive_sigkill_exactly_once_and_views_have_no_gap() {
    common::init_logs();
    let data = tempfile::tempdir().expect("temp dir");
    let addr = free_addr();
    let server = Server::start(data.path(), addr).await;

    let acked = Arc::new(AtomicUsize::new(0));
    let per_client = TOTAL.div_ceil(CLIENTS);
    let mut outboxes: Vec<Vec<SendMessagePayload>> = (0..CLIENTS)
        .map(|c| {
            (0..per_client.min(TOTAL - c * per_client))
                .map(|i| SendMessagePayload {
                    id: Uuid::now_v7(),
                    room: RoomId::lobby(),
                    body: format!("client {c} message {i}"),
                    thread: None,
                })
                .collect()
        })
        .collect();

    // Phase 1: all clients send until the server is killed under them.
    let mut tasks = Vec::new();
    for (c, outbox) in outboxes.iter().cloned().enumerate() {
        let acked = Arc::clone(&acked);
        tasks.push(tokio::spawn(async move {
            let mut client = connect(addr, &format!("client{c}")).await;
            let mut view = View::default();
            let mut sent = 0;
            for payload in &outbox {
                match client.try_request::<SendMessage>(payload, Duration::from_secs(3)).await {
                    Some(Ok(message)) => {
                        view.add(message);
                        sent += 1;
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                    Some(Err(e)) => panic!("refused: {e}"),
                    None => break, // the server died: this one is unacked
                }
            }
            for m in client.drain_of::<NewMessage>() {
                view.add(m);
            }
            (view, sent)
        }));
    }
    while acked.load(Ordering::SeqCst) < KILL_AFTER {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    let mut views = Vec::new();
    let mut acked_ids = HashSet::new();
    for (c, task) in tasks.into_iter().enumerate() {
        let (view, sent) = task.await.expect("client task");
        acked_ids.extend(outboxes[c][..sent].iter().map(|p| p.id));
        // What was not acked is retried, from the first unacked message on (same ids).
        outboxes[c].drain(..sent);
        views.push(view);
    }
    assert!(acked_ids.len() >= KILL_AFTER && acked_ids.len() < TOTAL, "killed mid-stream");

    // Phase 2: restart on the same data dir; clients reconnect, resume, retry, resume again.
    let server = Server::start(data.path(), addr).await;
    let mut tasks = Vec::new();
    for (c, (mut view, outbox)) in views.into_iter().zip(outboxes).enumerate() {
        tasks.push(tokio::spawn(async move {
            let client = connect(addr, &format!("client{c}")).await;
            view.resume(&client).await;
            let mut ids = Vec::new();
            for payload in &outbox {
                let message = client.request::<SendMessage>(payload).await.expect("accepted");
                ids.push(message.id);
                view.add(message);
            }
            (client, view, ids)
        }));
    }
    let mut finished = Vec::new();
    for task in tasks {
        let (client, view, ids) = task.await.expect("client task");
        acked_ids.extend(ids);
        finished.push((client, view));
    }
    assert_eq!(acked_ids.len(), TOTAL);

    // The store: every acked message exactly once, numbered 1..=TOTAL without a gap.
    let reader = connect(addr, "auditor").await;
    let mut stored = Vec::new();
    let mut before = None;
    loop {
        let page = reader
            .request::<LoadHistory>(&HistoryRequest {
                room: RoomId::lobby(),
                before,
                back_to: None,
            })
            .await
            .expect("history");
        before = page.messages.first().map(|m| m.seq);
        let more = page.has_more;
        stored.splice(0..0, page.messages);
        if !more {
            break;
        }
    }
    assert_eq!(
        stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=TOTAL as u64).collect::<Vec<_>>()
    );
    let stored_ids: HashSet<Uuid> = stored.iter().map(|m| m.id).collect();
    assert_eq!(stored_ids.len(), TOTAL, "no message stored twice");
    assert_eq!(stored_ids, acked_ids, "every acked message is stored");

    // Each client's view, after a final resume, is exactly the stored sequence.
    for (mut client, mut view) in finished {
        for m in client.drain_of::<NewMessage>() {
            view.add(m);
        }
        view.resume(&client).await;
        assert_eq!(view.messages(), stored, "a client's view has a gap, a duplicate or a reorder");
    }
    drop(server);
}

/// A client's copy of the lobby by message id (the newest state of each), and which revisions it
/// has seen (from acks and broadcasts), so it resumes from the end of what it holds without gap.
#[derive(Default)]
struct Copy {
    by_id: BTreeMap<Uuid, ChatMessage>,
    seen: HashSet<u64>,
}

impl Copy {
    fn add(&mut self, message: ChatMessage) {
        self.seen.insert(message.rev);
        let newer = self.by_id.get(&message.id).is_none_or(|held| held.rev < message.rev);
        if newer {
            self.by_id.insert(message.id, message);
        }
    }

    /// Takes in what another pass (a retry after the restart) learned.
    fn merge(&mut self, learned: Copy) {
        for m in learned.by_id.into_values() {
            self.add(m);
        }
    }

    fn cursor(&self) -> u64 {
        (1..).take_while(|rev| self.seen.contains(rev)).last().unwrap_or(0)
    }

    fn take_events(&mut self, client: &mut ChatClient) {
        for r in client.drain() {
            if r.event == NewMessage::NAME || r.event == MessageUpdated::NAME {
                self.add(serde_json::from_value(r.data).expect("a message"));
            }
        }
    }

    async fn resume(&mut self, client: &ChatClient) {
        loop {
            let request = SyncRequest { room: RoomId::lobby(), after_rev: self.cursor() };
            let page = client.request::<SyncRoom>(&request).await.expect("sync");
            let last = page.changes.last().map(|m| m.rev);
            for m in page.changes {
                self.add(m);
            }
            // Revisions a later change replaced are not sent again; the page vouches for them.
            if let Some(last) = last {
                self.seen.extend(1..=last);
            }
            if !page.more {
                return;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_replies_mentions_read_markers_and_mutes_survive_sigkill() {
    common::init_logs();
    let data = tempfile::tempdir().expect("temp dir");
    let addr = free_addr();
    let server = Server::start(data.path(), addr).await;
    let ada = connect(addr, "Ada").await;
    let bob = connect(addr, "Bob").await;
    let cy = connect(addr, "Cy").await;
    let mut messages = Vec::new();
    for i in 0..20 {
        let body = if i % 2 == 0 { format!("@bob look at {i}") } else { format!("plain {i}") };
        let payload =
            SendMessagePayload { id: Uuid::now_v7(), room: RoomId::lobby(), body, thread: None };
        messages.push(ada.request::<SendMessage>(&payload).await.expect("sent"));
    }
    assert_eq!(messages[0].mentions.len(), 1, "{:?}", messages[0]);
    // Bob reads up to the 6th message and mutes the lobby; both acked before the kill.
    let read = MarkReadPayload { room: RoomId::lobby(), seq: messages[5].seq };
    bob.request::<MarkRead>(&read).await.expect("marked");
    let mute = MutePayload { room: RoomId::lobby(), muted: true };
    bob.request::<MuteRoom>(&mute).await.expect("muted");
    // Three replies in the first message's thread, acked before the kill.
    let mut replies = Vec::new();
    for i in 0..3 {
        let payload = SendMessagePayload {
            id: Uuid::now_v7(),
            room: RoomId::lobby(),
            body: format!("reply {i}"),
            thread: Some(messages[0].id),
        };
        cy.request::<SendMessage>(&payload).await.expect("replied");
        replies.push(payload);
    }

    // Bob and Cy react to every message, concurrently, and the server dies under them.
    let acked = Arc::new(AtomicUsize::new(0));
    let react_all = |client: ChatClient, from: usize, acked: Arc<AtomicUsize>| {
        let ids: Vec<Uuid> = messages.iter().map(|m| m.id).collect();
        async move {
            let mut copy = Copy::default();
            let mut done = from;
            for id in &ids[from..] {
                let payload = ReactPayload { id: *id, emoji: "👍".into(), on: true };
                match client.try_request::<ReactToMessage>(&payload, Duration::from_secs(3)).await {
                    Some(Ok(message)) => {
                        copy.add(message);
                        done += 1;
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                    Some(Err(e)) => panic!("refused: {e}"),
                    None => break,
                }
            }
            (client, copy, done)
        }
    };
    let bobs = tokio::spawn(react_all(bob, 0, Arc::clone(&acked)));
    let cys = tokio::spawn(react_all(cy, 0, Arc::clone(&acked)));
    while acked.load(Ordering::SeqCst) < 15 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill();
    let (mut bob, mut bob_copy, bob_done) = bobs.await.expect("bob");
    let (mut cy, mut cy_copy, cy_done) = cys.await.expect("cy");
    assert!(bob_done + cy_done < 40, "killed mid-stream");
    for m in &messages {
        bob_copy.add(m.clone());
        cy_copy.add(m.clone());
    }
    bob_copy.take_events(&mut bob);
    cy_copy.take_events(&mut cy);
    drop((bob, cy));

    // Restarted: what was acked is there; each resumes from what it holds, then retries the rest.
    let server = Server::start(data.path(), addr).await;
    let bob = connect(addr, "Bob").await;
    let list = bob.request::<ListRooms>(&Empty {}).await.expect("listed");
    let state = list.read.iter().find(|r| r.room == RoomId::lobby()).expect("lobby");
    assert_eq!(state.read_seq, messages[5].seq, "the read marker survived");
    assert!(state.muted, "the mute survived");
    assert_eq!(state.mentions, 7, "mentions of Bob after message 6: 6, 8, .., 18");
    assert_eq!(state.unread, 14);
    bob_copy.resume(&bob).await;
    let cy = connect(addr, "Cy").await;
    cy_copy.resume(&cy).await;
    let (bob, learned, _) = react_all(bob, bob_done, Arc::new(AtomicUsize::new(0))).await;
    bob_copy.merge(learned);
    let (cy, learned, _) = react_all(cy, cy_done, Arc::new(AtomicUsize::new(0))).await;
    cy_copy.merge(learned);
    bob_copy.resume(&bob).await;
    cy_copy.resume(&cy).await;

    // The replies survived, once each, and a retry of one (its ack "lost") stores nothing new.
    let again = cy.request::<SendMessage>(&replies[2]).await.expect("a retry");
    assert_eq!(again.id, replies[2].id);
    cy_copy.resume(&cy).await;
    let thread = cy
        .request::<LoadThread>(&ThreadRequest { parent: messages[0].id, before: None })
        .await
        .expect("thread");
    assert_eq!(
        thread.page.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        replies.iter().map(|r| r.id).collect::<Vec<_>>()
    );
    assert_eq!(thread.parent.replies, 3);

    // Every message has both reactions exactly once, and both copies agree with the store.
    let page = bob
        .request::<LoadHistory>(&HistoryRequest {
            room: RoomId::lobby(),
            before: None,
            back_to: None,
        })
        .await
        .expect("history");
    assert_eq!(page.messages.len(), 20);
    for m in &page.messages {
        assert_eq!(m.reactions.len(), 1, "{m:?}");
        assert_eq!(m.reactions[0].count, 2, "{m:?}");
        assert_eq!(m.mentions.len(), usize::from(m.body.starts_with('@')), "{m:?}");
    }
    let mut stored: BTreeMap<Uuid, ChatMessage> =
        page.messages.into_iter().map(|m| (m.id, m)).collect();
    stored.extend(thread.page.messages.into_iter().map(|m| (m.id, m)));
    assert_eq!(bob_copy.by_id, stored, "Bob's copy, resumed, is the store's");
    assert_eq!(cy_copy.by_id, stored, "Cy's copy, resumed, is the store's");
    drop(server);
}
