//! Mentions, muted rooms and reactions through the real server and real Socket.IO clients, on
//! SQLite and on PostgreSQL.

use crate::common;

use crate::on_both_stores;
use app::ChatError;
use app::events::messages::{
    DeleteMessage, DeleteRequest, EditMessage, EditRequest, HistoryRequest, LoadHistory,
    LoadThread, MessageUpdated, NewMessage, ReactPayload, ReactToMessage, SendMessage,
    SendMessagePayload, SyncRequest, SyncRoom, ThreadRequest,
};
use app::events::rooms::{
    CreateRoom, CreateRoomPayload, Empty, InvitePayload, InviteToRoom, JoinRoom, ListRooms,
    MarkRead, MarkReadPayload, MutePayload, MuteRoom, ReadState, RoomRead, RoomRef,
};
use app::model::{ChatMessage, RoomId, UserId};
use common::stores::Store;
use common::{ChatClient, say};
use uuid::Uuid;

on_both_stores!(
    mentions_resolve_to_members_and_count_for_whom_they_name,
    everyone_mentions_in_large_rooms_are_the_creators,
    muting_is_per_person_and_reaches_every_tab,
    reactions_are_live_idempotent_and_bounded,
    concurrent_reactions_by_several_people_all_count,
    thread_replies_are_live_paged_counted_and_never_doubled,
);

async fn state_in(client: &ChatClient, room: &RoomId) -> ReadState {
    let list = client.request::<ListRooms>(&Empty {}).await.expect("listed");
    list.read.into_iter().find(|r| r.room == *room).expect("a member")
}

/// The mentioned text and who it names, for each mention of `message`.
fn mentioned(message: &ChatMessage) -> Vec<(&str, Option<&str>)> {
    message
        .mentions
        .iter()
        .map(|m| {
            (&message.body[m.start as usize..m.end as usize], m.user.as_ref().map(|u| u.0.as_str()))
        })
        .collect()
}

/// A public room `name` created by `owner` and joined by `others`.
async fn room_with(owner: &ChatClient, others: &[&ChatClient], name: &str) -> RoomId {
    let room = owner
        .request::<CreateRoom>(&CreateRoomPayload { name: name.into(), private: false })
        .await
        .expect("created")
        .id;
    for other in others {
        other.request::<JoinRoom>(&RoomRef { room: room.clone() }).await.expect("joined");
    }
    room
}

async fn mentions_resolve_to_members_and_count_for_whom_they_name(store: Store) {
    let subject = store.start(|_| {}).await;
    let app = &subject.app;
    let ada = app.connect("Ada").await;
    let bob = app.connect("Bob").await;
    let cy = app.connect("Cy Young").await;
    let dan = app.connect("Dan").await; // not in the room
    let team = room_with(&ada, &[&bob, &cy], "team").await;

    // Case does not matter, a name with a space is one mention, strangers and e-mail addresses
    // are plain text.
    let sent = ada
        .request::<SendMessage>(&say(&team, "@BOB and @cy young, not @Dan or dan@example.com"))
        .await
        .expect("sent");
    assert_eq!(mentioned(&sent), [("@BOB", Some("bob")), ("@cy young", Some("cy young"))]);
    let everyone = ada.request::<SendMessage>(&say(&team, "@here lunch?")).await.expect("sent");
    assert_eq!(mentioned(&everyone), [("@here", None)]);
    ada.request::<SendMessage>(&say(&team, "nobody")).await.expect("sent");

    // Stored with the message: history and a resume carry them.
    let page = bob
        .request::<LoadHistory>(&HistoryRequest { room: team.clone(), before: None, back_to: None })
        .await
        .expect("history");
    assert_eq!(
        page.messages.iter().find(|m| m.id == sent.id).map(|m| &m.mentions),
        Some(&sent.mentions)
    );
    let sync = bob.request::<SyncRoom>(&SyncRequest { room: team.clone(), after_rev: 0 }).await;
    let sync = sync.expect("synced");
    assert!(sync.changes.iter().any(|m| m.id == sent.id && m.mentions == sent.mentions));

    // Counted apart from plain unread, per person, on every connection.
    let counts = |s: ReadState| (s.unread, s.mentions);
    assert_eq!(counts(state_in(&bob, &team).await), (3, 2));
    assert_eq!(counts(state_in(&cy, &team).await), (3, 2));
    assert_eq!(counts(state_in(&ada, &team).await), (0, 0), "not for one's own");
    let bob_again = app.connect("Bob").await;
    assert_eq!(counts(state_in(&bob_again, &team).await), (3, 2), "a reload agrees");
    let _ = dan;

    // An edit resolves again: Bob is no longer named, Dan still is not (not a member).
    let edited = ada
        .request::<EditMessage>(&EditRequest { id: sent.id, body: "just @cy YOUNG".into() })
        .await
        .expect("edited");
    assert_eq!(mentioned(&edited), [("@cy YOUNG", Some("cy young"))]);
    assert_eq!(counts(state_in(&bob, &team).await), (3, 1));

    // Reading clears the mentions with the rest.
    let read = MarkReadPayload { room: team.clone(), seq: u64::MAX };
    let state = bob.request::<MarkRead>(&read).await.expect("read");
    assert_eq!(counts(state), (0, 0));
}

async fn everyone_mentions_in_large_rooms_are_the_creators(store: Store) {
    let subject = store.start(|c| c.room_mention_max_members = 2).await;
    let app = &subject.app;
    let ada = app.connect("Ada").await;
    let bob = app.connect("Bob").await;
    let cy = app.connect("Cy").await;
    let small = room_with(&ada, &[&bob], "small").await;
    let big = room_with(&ada, &[&bob, &cy], "big").await;

    // Small enough: any member may.
    bob.request::<SendMessage>(&say(&small, "@room hi")).await.expect("allowed");
    // Larger: refused for a member, nothing stored; allowed for the creator.
    let before = state_in(&cy, &big).await;
    let refused = bob.request::<SendMessage>(&say(&big, "@room hi")).await;
    assert_eq!(
        refused,
        Err(ChatError::RoomMentionForbidden { room: "big".into(), max_members: 2 })
    );
    assert_eq!(state_in(&cy, &big).await, before, "nothing was stored");
    let named = bob.request::<SendMessage>(&say(&big, "@cy only")).await.expect("a name is fine");
    assert_eq!(mentioned(&named), [("@cy", Some("cy"))]);
    ada.request::<SendMessage>(&say(&big, "@ROOM meeting")).await.expect("the creator may");
    // The lobby has no creator: with three people in it, nobody may.
    let lobby = bob.request::<SendMessage>(&say(&RoomId::lobby(), "@here")).await;
    assert!(matches!(lobby, Err(ChatError::RoomMentionForbidden { .. })), "{lobby:?}");
    // An edit is held to the same rule.
    let edit =
        bob.request::<EditMessage>(&EditRequest { id: named.id, body: "@room".into() }).await;
    assert!(matches!(edit, Err(ChatError::RoomMentionForbidden { .. })), "{edit:?}");
}

async fn muting_is_per_person_and_reaches_every_tab(store: Store) {
    let subject = store.start(|_| {}).await;
    let app = &subject.app;
    let ada = app.connect("Ada").await;
    let mut ada_tab = app.connect("Ada").await;
    let bob = app.connect("Bob").await;
    let lobby = RoomId::lobby();
    let muted = ada.request::<MuteRoom>(&MutePayload { room: lobby.clone(), muted: true }).await;
    assert!(muted.expect("muted").muted);
    assert!(ada_tab.next::<RoomRead>().await.muted, "the other tab hears of it");
    assert!(state_in(&app.connect("Ada").await, &lobby).await.muted, "and a reload");
    assert!(!state_in(&bob, &lobby).await.muted, "only for Ada");
    let unmuted = ada.request::<MuteRoom>(&MutePayload { room: lobby.clone(), muted: false }).await;
    assert!(!unmuted.expect("unmuted").muted);

    // Not a member: refused, like any request about the room.
    let secret = bob
        .request::<CreateRoom>(&CreateRoomPayload { name: "secret".into(), private: true })
        .await
        .expect("created");
    let refused =
        ada.request::<MuteRoom>(&MutePayload { room: secret.id.clone(), muted: true }).await;
    assert_eq!(refused, Err(ChatError::UnknownRoom { room: "secret".into() }));
}

fn react(id: Uuid, emoji: &str, on: bool) -> ReactPayload {
    ReactPayload { id, emoji: emoji.to_owned(), on }
}

async fn reactions_are_live_idempotent_and_bounded(store: Store) {
    let subject = store.start(|c| c.max_reaction_kinds = 2).await;
    let app = &subject.app;
    let mut ada = app.connect("Ada").await;
    let bob = app.connect("Bob").await;
    let cy = app.connect("Cy").await;
    let lobby = RoomId::lobby();
    let msg = ada.request::<SendMessage>(&say(&lobby, "ship it?")).await.expect("sent");

    let thumbs = bob.request::<ReactToMessage>(&react(msg.id, "👍", true)).await.expect("reacted");
    assert_eq!(thumbs.reactions.len(), 1);
    assert_eq!(thumbs.reactions[0].count, 1);
    assert_eq!(thumbs.reactions[0].by[0].id, UserId("bob".into()));
    assert_eq!(thumbs.rev, msg.rev + 1, "a change takes the room's next revision");
    assert_eq!(ada.next::<MessageUpdated>().await, thumbs, "live for the room");

    // The same request again (a retry) changes nothing and is not broadcast: the next update
    // Ada sees is Cy's.
    let again = bob.request::<ReactToMessage>(&react(msg.id, "👍", true)).await.expect("same");
    assert_eq!(again, thumbs);
    let party = cy.request::<ReactToMessage>(&react(msg.id, "🎉", true)).await.expect("reacted");
    let (seen, before) = ada.until::<MessageUpdated>(|m| m.rev == party.rev).await;
    assert!(before.iter().all(|r| r.event != "message:updated"), "no update for the retry");
    assert_eq!(
        seen.reactions.iter().map(|r| (r.emoji.as_str(), r.count)).collect::<Vec<_>>(),
        [("👍", 1), ("🎉", 1)]
    );

    // Typed refusals, each changing nothing.
    let odd = bob.request::<ReactToMessage>(&react(msg.id, "<script>", true)).await;
    assert_eq!(odd, Err(ChatError::UnknownReaction { emoji: "<script>".into() }));
    let third = bob.request::<ReactToMessage>(&react(msg.id, "👀", true)).await;
    assert_eq!(third, Err(ChatError::TooManyReactions { max: 2 }));
    let nowhere = Uuid::now_v7();
    let missing = bob.request::<ReactToMessage>(&react(nowhere, "👍", true)).await;
    assert_eq!(missing, Err(ChatError::UnknownMessage { id: nowhere }));
    // A message in a private room does not exist for someone outside it.
    let secret = ada
        .request::<CreateRoom>(&CreateRoomPayload { name: "secret".into(), private: true })
        .await
        .expect("created");
    let hidden = ada.request::<SendMessage>(&say(&secret.id, "psst")).await.expect("sent");
    let outside = bob.request::<ReactToMessage>(&react(hidden.id, "👍", true)).await;
    assert_eq!(outside, Err(ChatError::UnknownMessage { id: hidden.id }));
    ada.request::<InviteToRoom>(&InvitePayload {
        room: secret.id.clone(),
        user: UserId("bob".into()),
    })
    .await
    .expect("invited");
    bob.request::<ReactToMessage>(&react(hidden.id, "👍", true)).await.expect("now a member");

    // Removing: once changes, twice does not.
    let removed = bob.request::<ReactToMessage>(&react(msg.id, "👍", false)).await.expect("off");
    assert_eq!(removed.reactions.iter().map(|r| r.emoji.as_str()).collect::<Vec<_>>(), ["🎉"]);
    let twice = bob.request::<ReactToMessage>(&react(msg.id, "👍", false)).await.expect("off");
    assert_eq!(twice.rev, removed.rev);

    // A resume from before any of it replays the message as it stands.
    let page = ada
        .request::<SyncRoom>(&SyncRequest { room: lobby.clone(), after_rev: msg.rev - 1 })
        .await
        .expect("synced");
    let replayed: Vec<&ChatMessage> = page.changes.iter().filter(|m| m.id == msg.id).collect();
    assert_eq!(replayed, [&removed]);
}

async fn concurrent_reactions_by_several_people_all_count(store: Store) {
    let subject = store.start(|_| {}).await;
    let app = &subject.app;
    let mut ada = app.connect("Ada").await;
    let mut people = Vec::new();
    for i in 0..6 {
        people.push(app.connect(&format!("voter{i}")).await);
    }
    let msg = ada.request::<SendMessage>(&say(&RoomId::lobby(), "vote ✅")).await.expect("sent");
    // Everyone clicks at once, twice (a double click, or a retry after a lost ack).
    let clicks = people.iter().flat_map(|p| {
        [0, 1].map(|_| async move {
            p.request::<ReactToMessage>(&react(msg.id, "✅", true)).await.expect("reacted")
        })
    });
    let acks = futures_util::future::join_all(clicks).await;
    let last = acks.iter().max_by_key(|m| m.rev).expect("acks");
    assert_eq!(last.reactions[0].count, 6, "{last:?}");
    // Ada saw each change once (concurrent changes are broadcast from concurrent tasks, so
    // they may arrive in any order), the newest being where the store is.
    let mut seen = Vec::new();
    while !seen.iter().any(|m: &ChatMessage| m.rev == last.rev) || seen.len() < 6 {
        seen.push(ada.next::<MessageUpdated>().await);
    }
    seen.sort_by_key(|m| m.rev);
    seen.dedup_by_key(|m| m.rev);
    assert_eq!(seen.len(), 6, "one update per person: {seen:?}");
    assert_eq!(seen.last(), Some(last));
}

fn reply(room: &RoomId, parent: Uuid, body: &str) -> SendMessagePayload {
    SendMessagePayload { thread: Some(parent), ..say(room, body) }
}

async fn thread_replies_are_live_paged_counted_and_never_doubled(store: Store) {
    let subject = store.start(|_| {}).await;
    let app = &subject.app;
    let mut ada = app.connect("Ada").await;
    let mut ada_tab = app.connect("Ada").await;
    let bob = app.connect("Bob").await;
    let mut cy = app.connect("Cy").await; // watches the reply count
    let lobby = RoomId::lobby();
    let parent = ada.request::<SendMessage>(&say(&lobby, "release today?")).await.expect("sent");

    // Bob replies: the reply reaches the room live, and so does the parent's new count, also
    // to the tab that wrote the parent.
    let first = bob.request::<SendMessage>(&reply(&lobby, parent.id, "yes, at 3")).await;
    let first = first.expect("replied");
    assert_eq!(first.thread, Some(parent.id));
    assert_eq!(ada.until::<NewMessage>(|m| m.id == first.id).await.0, first);
    for client in [&mut ada, &mut ada_tab, &mut cy] {
        let (updated, _) = client.until::<MessageUpdated>(|m| m.id == parent.id).await;
        assert_eq!((updated.replies, updated.last_reply_at_ms), (1, Some(first.sent_at_ms)));
    }

    // A retry after a lost ack is the same reply, counted once.
    let again = bob
        .request::<SendMessage>(&SendMessagePayload {
            id: first.id,
            ..reply(&lobby, parent.id, "yes, at 3")
        })
        .await;
    assert_eq!(again.expect("retry"), first);
    let page = cy.request::<LoadThread>(&ThreadRequest { parent: parent.id, before: None }).await;
    let page = page.expect("thread");
    assert_eq!(page.parent.replies, 1);
    assert_eq!(page.page.messages, std::slice::from_ref(&first));

    // Not threads: a reply, a message of another room, a deleted message, an unknown id.
    let nested = cy.request::<SendMessage>(&reply(&lobby, first.id, "nested")).await;
    assert_eq!(nested, Err(ChatError::NotAThread { id: first.id }));
    let ops = room_with(&ada, &[&bob, &cy], "ops").await;
    let elsewhere = cy.request::<SendMessage>(&reply(&ops, parent.id, "wrong room")).await;
    assert_eq!(elsewhere, Err(ChatError::NotAThread { id: parent.id }));
    let gone = ada.request::<SendMessage>(&say(&lobby, "oops")).await.expect("sent");
    ada.request::<DeleteMessage>(&DeleteRequest { id: gone.id }).await.expect("deleted");
    let late = cy.request::<SendMessage>(&reply(&lobby, gone.id, "too late")).await;
    assert_eq!(late, Err(ChatError::NotAThread { id: gone.id }));
    let nowhere = Uuid::now_v7();
    let unknown = cy.request::<LoadThread>(&ThreadRequest { parent: nowhere, before: None }).await;
    assert_eq!(unknown, Err(ChatError::UnknownMessage { id: nowhere }));

    // Many replies page like history; edits and deletions reach the thread.
    for i in 0..55 {
        cy.request::<SendMessage>(&reply(&lobby, parent.id, &format!("+{i} @Ada")))
            .await
            .expect("replied");
    }
    let newest =
        ada.request::<LoadThread>(&ThreadRequest { parent: parent.id, before: None }).await;
    let newest = newest.expect("thread");
    assert_eq!(
        (newest.page.messages.len(), newest.page.has_more, newest.parent.replies),
        (50, true, 56)
    );
    let older = ThreadRequest { parent: parent.id, before: Some(newest.page.messages[0].seq) };
    let older = ada.request::<LoadThread>(&older).await.expect("older");
    assert_eq!(older.page.messages.len(), 6);
    assert_eq!(older.page.messages[0], first);
    let edited =
        bob.request::<EditMessage>(&EditRequest { id: first.id, body: "yes, at 4".into() }).await;
    assert_eq!(edited.expect("edited").thread, Some(parent.id));
    bob.request::<DeleteMessage>(&DeleteRequest { id: first.id }).await.expect("deleted");
    let oldest = ada
        .request::<LoadThread>(&ThreadRequest {
            parent: parent.id,
            before: Some(newest.page.messages[0].seq),
        })
        .await;
    assert!(oldest.expect("older").page.messages[0].deleted);

    // The room's history holds the parent, not the replies; replies are not unread in the
    // room, but those that mention someone count as their mentions.
    let history = cy
        .request::<LoadHistory>(&HistoryRequest {
            room: lobby.clone(),
            before: None,
            back_to: None,
        })
        .await;
    assert!(history.expect("history").messages.iter().all(|m| m.thread.is_none()));
    let state = state_in(&ada, &lobby).await;
    assert_eq!((state.unread, state.mentions), (0, 55), "{state:?}");

    // A resume from before the thread replays every reply once and the parent as it stands.
    let sync =
        bob.request::<SyncRoom>(&SyncRequest { room: lobby.clone(), after_rev: parent.rev }).await;
    let sync = sync.expect("synced");
    let replies: Vec<&ChatMessage> =
        sync.changes.iter().filter(|m| m.thread == Some(parent.id)).collect();
    assert_eq!(replies.len(), 56);
    let ids: std::collections::HashSet<Uuid> = replies.iter().map(|m| m.id).collect();
    assert_eq!(ids.len(), 56, "no reply twice");
    let replayed = sync.changes.iter().find(|m| m.id == parent.id).expect("the parent");
    assert_eq!(replayed.replies, 56);
}
