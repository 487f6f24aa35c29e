//! One conformance suite for every store: each case runs against SQLite (a temporary file) and
//! against a real PostgreSQL server of its own (see `common::servers`).

use crate::common;

use std::sync::Arc;

use app::model::{DisplayName, Mention, RoomId, RoomKind, UserId, UserRef};
use server::store::{
    Appended, MessageChange, MessageToAppend, PostgresStore, Reacted, SqliteStore, Store,
    StoreError,
};
use uuid::Uuid;

/// A store under test and what keeps it alive.
struct Subject {
    store: Arc<dyn Store>,
    _keep: Box<dyn std::any::Any + Send>,
}

async fn sqlite() -> Subject {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).await.expect("open sqlite");
    Subject { store: Arc::new(store), _keep: Box::new(dir) }
}

async fn postgres() -> Subject {
    let server = tokio::task::spawn_blocking(common::servers::Postgres::start)
        .await
        .expect("start postgres");
    let url = server.fresh_database().await;
    let store = PostgresStore::connect(&url).await.expect("connect postgres");
    Subject { store: Arc::new(store), _keep: Box::new(server) }
}

fn person(name: &str) -> UserRef {
    UserRef::named(DisplayName::parse(name).expect("valid name"))
}

fn room(id: &str) -> RoomId {
    RoomId(id.to_owned())
}

fn message(room_id: &str, author: &UserRef, body: &str) -> MessageToAppend {
    MessageToAppend {
        id: Uuid::now_v7(),
        room: room(room_id),
        author: author.clone(),
        body: body.to_owned(),
        mentions: Vec::new(),
        thread: None,
        sent_at_ms: 1_700_000_000_000,
        attachment: None,
    }
}

/// Generates `sqlite::$case` and `postgres::$case` from one async fn taking the store.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite_store {
            $(#[tokio::test] async fn $case() { super::$case(&*super::sqlite().await.store).await; })*
        }
        mod postgres_store {
            $(#[tokio::test] async fn $case() { super::$case(&*super::postgres().await.store).await; })*
        }
    };
}

conformance!(
    accounts_are_unique_and_keep_their_hash,
    sessions_expire_and_end,
    rooms_of_every_kind_and_who_sees_them,
    memberships_add_remove_and_list,
    appends_number_messages_and_are_idempotent,
    concurrent_appends_get_gap_free_sequence_numbers,
    appends_succeed_while_other_writes_commit,
    history_pages_backwards,
    edits_and_deletions_get_new_revisions,
    changes_are_guarded_in_the_write,
    member_counts_are_kept_and_direct_peers_read_at_once,
    deleting_a_room_removes_its_messages_and_members,
    devices_are_trusted_per_person,
    lists_sort_by_bytes_whatever_the_database_locale,
    live_sessions_answers_lists_longer_than_one_query,
    read_markers_move_forward_only_and_count_what_others_wrote,
    mentions_are_kept_with_the_message_and_counted_per_person,
    rooms_are_muted_per_person,
    reactions_are_set_not_toggled_and_take_a_revision,
    concurrent_reactions_are_all_counted,
    replies_live_in_their_thread_and_count_on_the_parent,
);

async fn accounts_are_unique_and_keep_their_hash(store: &dyn Store) {
    let ada = person("Ada");
    store.create_account(&ada, Some("$argon2id$hash"), 1).await.expect("created");
    let again = store.create_account(&person("ADA"), None, 2).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    let (who, hash) = store.credentials(&ada.id).await.expect("read").expect("exists");
    assert_eq!(who, ada);
    assert_eq!(hash.as_deref(), Some("$argon2id$hash"));
    assert_eq!(store.credentials(&UserId("nobody".into())).await.expect("read"), None);

    let guest = person("Guest");
    store.create_account(&guest, None, 3).await.expect("guest");
    assert_eq!(store.credentials(&guest.id).await.expect("read").expect("exists").1, None);
    assert_eq!(store.user(&guest.id).await.expect("read"), Some(guest));

    // Quotes and SQL in a name are data.
    let odd = person("Robert'); DROP TABLE users;--");
    store.upsert_user(&odd).await.expect("upsert");
    assert_eq!(store.user(&odd.id).await.expect("read"), Some(odd));
    assert!(store.user(&ada.id).await.expect("users still there").is_some());
}

async fn sessions_expire_and_end(store: &dyn Store) {
    let ada = person("Ada");
    store.create_account(&ada, Some("h"), 0).await.expect("account");
    store.create_session("live", &ada.id, 1_000, 10_000).await.expect("session");
    store.create_session("short", &ada.id, 1_000, 2_000).await.expect("session");
    assert_eq!(store.session_user("live", 5_000).await.expect("read"), Some(ada.clone()));
    assert_eq!(store.session_user("short", 2_000).await.expect("read"), None, "expired at its end");
    assert_eq!(store.session_user("forged", 5_000).await.expect("read"), None);
    let asked: Vec<String> = ["live", "short", "forged"].map(String::from).to_vec();
    assert_eq!(store.live_sessions(&asked, 5_000).await.expect("read"), ["live"]);
    assert!(store.live_sessions(&[], 5_000).await.expect("read").is_empty());
    assert!(store.delete_session("live").await.expect("delete"));
    assert!(store.live_sessions(&asked, 5_000).await.expect("read").is_empty(), "signed out");
    assert!(!store.delete_session("live").await.expect("delete twice"));
    assert_eq!(store.session_user("live", 5_000).await.expect("read"), None);
}

async fn rooms_of_every_kind_and_who_sees_them(store: &dyn Store) {
    let (ada, bob) = (person("Ada"), person("Bob"));
    for p in [&ada, &bob] {
        store.create_account(p, Some("h"), 0).await.expect("account");
    }
    store.create_room(&room("zeta"), RoomKind::Public, Some(&ada.id), 1).await.expect("public");
    store.create_room(&room("secret"), RoomKind::Private, Some(&ada.id), 1).await.expect("private");
    store.create_room(&room("ada+bob"), RoomKind::Direct, None, 1).await.expect("direct");
    let dup = store.create_room(&room("zeta"), RoomKind::Private, Some(&bob.id), 2).await;
    assert!(matches!(dup, Err(StoreError::Conflict)), "{dup:?}");

    let secret = store.room(&room("secret")).await.expect("read").expect("exists");
    assert_eq!(
        (secret.kind, secret.created_by.clone(), secret.members),
        (RoomKind::Private, Some(ada.id.clone()), 0)
    );
    assert_eq!(
        store.room(&room("ada+bob")).await.expect("read").expect("exists").kind,
        RoomKind::Direct
    );
    assert_eq!(store.room(&room("nowhere")).await.expect("read"), None);
    assert_eq!(store.rooms_created_by(&ada.id).await.expect("count"), 2, "group rooms only");

    let ids = |rooms: Vec<server::store::RoomRecord>| {
        rooms.into_iter().map(|r| r.id.0).collect::<Vec<_>>()
    };
    assert_eq!(ids(store.rooms_visible_to(&bob.id).await.expect("list")), ["lobby", "zeta"]);
    store.add_member(&room("secret"), &bob.id, 3).await.expect("invite");
    store.add_member(&room("ada+bob"), &bob.id, 3).await.expect("dm");
    assert_eq!(
        ids(store.rooms_visible_to(&bob.id).await.expect("list")),
        ["ada+bob", "lobby", "secret", "zeta"]
    );
}

async fn memberships_add_remove_and_list(store: &dyn Store) {
    let (ada, bob) = (person("Ada"), person("bob"));
    for p in [&ada, &bob] {
        store.create_account(p, Some("h"), 0).await.expect("account");
    }
    let lobby = room("lobby");
    assert!(store.add_member(&lobby, &bob.id, 1).await.expect("add"));
    assert!(!store.add_member(&lobby, &bob.id, 2).await.expect("add twice"));
    assert!(store.add_member(&lobby, &ada.id, 2).await.expect("add"));
    let missing = store.add_member(&room("nowhere"), &ada.id, 3).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    assert!(store.is_member(&lobby, &ada.id).await.expect("read"));
    assert_eq!(
        store.members(&lobby).await.expect("members"),
        [ada.clone(), bob.clone()],
        "sorted by name"
    );
    assert_eq!(store.memberships(&ada.id).await.expect("rooms"), std::slice::from_ref(&lobby));
    assert_eq!(store.room(&lobby).await.expect("read").expect("exists").members, 2);
    assert!(store.remove_member(&lobby, &ada.id).await.expect("remove"));
    assert!(!store.remove_member(&lobby, &ada.id).await.expect("remove twice"));
    assert!(!store.is_member(&lobby, &ada.id).await.expect("read"));
}

async fn appends_number_messages_and_are_idempotent(store: &dyn Store) {
    let ada = person("Ada");
    store.create_account(&ada, Some("h"), 0).await.expect("account");
    let first = store.append(message("lobby", &ada, "one")).await.expect("append").into_message();
    let second_msg = message("lobby", &ada, "two ' OR 1=1; --");
    let second = store.append(second_msg.clone()).await.expect("append").into_message();
    assert_eq!((first.seq, second.seq), (1, 2));
    assert!(second.rev > first.rev);
    assert_eq!(second.body, "two ' OR 1=1; --");
    // A retry of the same id by its author in its room returns the stored message and stores
    // nothing new.
    let retry = store
        .append(MessageToAppend { body: "changed".into(), ..second_msg.clone() })
        .await
        .expect("retry");
    assert_eq!(retry, Appended::Retry(second.clone()));
    // The same id from someone else, or in another room, is not a retry: refused, nothing
    // stored, the original untouched.
    let bob = person("Bob");
    store.create_account(&bob, Some("h"), 0).await.expect("account");
    store.add_member(&room("lobby"), &bob.id, 0).await.expect("join");
    let stolen = store.append(MessageToAppend { author: bob.clone(), ..second_msg.clone() }).await;
    assert!(matches!(stolen, Err(StoreError::Conflict)), "{stolen:?}");
    store.create_room(&room("elsewhere"), RoomKind::Public, None, 0).await.expect("room");
    let moved =
        store.append(MessageToAppend { room: room("elsewhere"), ..second_msg.clone() }).await;
    assert!(matches!(moved, Err(StoreError::Conflict)), "{moved:?}");
    let elsewhere = store.history(&room("elsewhere"), None, 10).await.expect("history");
    assert!(elsewhere.messages.is_empty(), "{elsewhere:?}");
    assert_eq!(store.message(second.id).await.expect("read"), Some(second.clone()));
    assert_eq!(store.history(&room("lobby"), None, 10).await.expect("history").messages.len(), 2);
    assert_eq!(store.message(first.id).await.expect("read"), Some(first));
    // Neither the retry nor the refusals used up a number: the next message is the third, its
    // revision the next after the second's, and the other room's first is still its first.
    let third = store.append(message("lobby", &ada, "three")).await.expect("append").into_message();
    assert_eq!((third.seq, third.rev), (3, second.rev + 1));
    let there = store.append(message("elsewhere", &ada, "hi")).await;
    assert_eq!(there.expect("append").into_message().seq, 1);
    let lost = store.append(message("nowhere", &ada, "x")).await;
    assert!(matches!(lost, Err(StoreError::NotFound)), "{lost:?}");
}

async fn concurrent_appends_get_gap_free_sequence_numbers(store: &dyn Store) {
    let ada = person("Ada");
    store.create_account(&ada, Some("h"), 0).await.expect("account");
    let sends = (0..64).map(|i| store.append(message("lobby", &ada, &format!("m{i}"))));
    let mut seqs: Vec<u64> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.expect("append").message().seq)
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=64).collect::<Vec<_>>());
}

/// Appends read before they write; other writers (sign-ins, edits) committing in between must
/// not make them fail (SQLite: a deferred transaction cannot upgrade past a newer snapshot).
async fn appends_succeed_while_other_writes_commit(store: &dyn Store) {
    let ada = person("Ada");
    store.create_account(&ada, Some("h"), 0).await.expect("account");
    let edited =
        store.append(message("lobby", &ada, "edited")).await.expect("append").into_message();
    let appends = async {
        for round in 0..50 {
            let sends =
                (0..4).map(|i| store.append(message("lobby", &ada, &format!("{round}.{i}"))));
            for sent in futures_util::future::join_all(sends).await {
                sent.expect("append while others write");
            }
        }
    };
    let sign_ins = async {
        for i in 0..200 {
            store
                .create_session(&format!("token{i}"), &ada.id, i, i + 10_000)
                .await
                .expect("session");
        }
    };
    let edits = async {
        for i in 0..100 {
            let change = MessageChange::Edit { body: format!("edit {i}"), mentions: Vec::new() };
            store
                .change_message(edited.id, &ada.id, change, i)
                .await
                .expect("edit while others write");
        }
    };
    tokio::join!(appends, sign_ins, edits);
    let page = store.history(&room("lobby"), None, 500).await.expect("history");
    assert_eq!(page.messages.len(), 201, "every append stored once");
}

async fn history_pages_backwards(store: &dyn Store) {
    let ada = person("Ada");
    store.create_account(&ada, Some("h"), 0).await.expect("account");
    for i in 0..5 {
        store
            .append(message("lobby", &ada, &format!("m{i}")))
            .await
            .expect("append")
            .into_message();
    }
    let newest = store.history(&room("lobby"), None, 2).await.expect("page");
    let bodies = |p: &server::store::HistorySlice| {
        p.messages.iter().map(|m| m.body.clone()).collect::<Vec<_>>()
    };
    assert_eq!(bodies(&newest), ["m3", "m4"]);
    assert!(newest.has_more);
    assert_eq!(newest.rev, 5);
    let older =
        store.history(&room("lobby"), Some(newest.messages[0].seq), 10).await.expect("page");
    assert_eq!(bodies(&older), ["m0", "m1", "m2"]);
    assert!(!older.has_more);
    let missing = store.history(&room("nowhere"), None, 10).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

async fn edits_and_deletions_get_new_revisions(store: &dyn Store) {
    let ada = person("Ada");
    store.create_account(&ada, Some("h"), 0).await.expect("account");
    let a = store.append(message("lobby", &ada, "tpyo")).await.expect("append").into_message();
    let b = store.append(message("lobby", &ada, "gone soon")).await.expect("append").into_message();
    let edited = store
        .change_message(
            a.id,
            &ada.id,
            MessageChange::Edit { body: "typo".into(), mentions: Vec::new() },
            5,
        )
        .await
        .expect("edit");
    assert_eq!((edited.body.as_str(), edited.edited_at_ms, edited.seq), ("typo", Some(5), a.seq));
    assert!(edited.rev > b.rev);
    let deleted =
        store.change_message(b.id, &ada.id, MessageChange::Delete, 6).await.expect("delete");
    assert!(deleted.deleted);
    assert_eq!(deleted.body, "");
    let changes = store.changes(&room("lobby"), b.rev, 10).await.expect("changes");
    assert_eq!(changes, [edited.clone(), deleted.clone()], "by revision, after the cursor");
    assert_eq!(store.changes(&room("lobby"), deleted.rev, 10).await.expect("changes"), []);
    let unknown = store.change_message(Uuid::now_v7(), &ada.id, MessageChange::Delete, 7).await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
}

/// The author and not-deleted conditions are part of the write: an edit that arrives after a
/// delete (or from someone else) changes nothing, whatever the caller checked before.
async fn changes_are_guarded_in_the_write(store: &dyn Store) {
    let (ada, bob) = (person("Ada"), person("Bob"));
    for p in [&ada, &bob] {
        store.create_account(p, Some("h"), 0).await.expect("account");
    }
    let m = store.append(message("lobby", &ada, "original")).await.expect("append").into_message();
    let edit = |body: &str| MessageChange::Edit { body: body.to_owned(), mentions: Vec::new() };
    let by_bob = store.change_message(m.id, &bob.id, edit("bob was here"), 5).await;
    assert!(matches!(by_bob, Err(StoreError::NotFound)), "{by_bob:?}");
    let deleted = store.change_message(m.id, &ada.id, MessageChange::Delete, 6).await.expect("del");
    let late_edit = store.change_message(m.id, &ada.id, edit("resurrected"), 7).await;
    assert!(matches!(late_edit, Err(StoreError::NotFound)), "{late_edit:?}");
    let again = store.change_message(m.id, &ada.id, MessageChange::Delete, 8).await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
    assert_eq!(store.message(m.id).await.expect("read"), Some(deleted.clone()), "untouched");
    let page = store.history(&room("lobby"), None, 10).await.expect("history");
    assert_eq!(page.rev, deleted.rev, "a refused change takes no revision");

    // Racing pairs: whichever lands first, a deleted message never carries text.
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(
            store
                .append(message("lobby", &ada, &format!("m{i}")))
                .await
                .expect("append")
                .message()
                .id,
        );
    }
    let ada_id = &ada.id;
    let races = ids.iter().map(|id| async move {
        let (_, _) = tokio::join!(
            store.change_message(*id, ada_id, MessageChange::Delete, 9),
            store.change_message(
                *id,
                ada_id,
                MessageChange::Edit { body: "late".into(), mentions: Vec::new() },
                9
            ),
        );
    });
    futures_util::future::join_all(races).await;
    for id in ids {
        let m = store.message(id).await.expect("read").expect("exists");
        assert!(m.deleted, "the delete always applies, before or after the edit");
        assert_eq!(m.body, "", "a deleted message keeps no text");
    }
}

async fn deleting_a_room_removes_its_messages_and_members(store: &dyn Store) {
    let ada = person("Ada");
    store.create_account(&ada, Some("h"), 0).await.expect("account");
    store.create_room(&room("tmp"), RoomKind::Public, Some(&ada.id), 1).await.expect("room");
    store.add_member(&room("tmp"), &ada.id, 1).await.expect("join");
    let m = store.append(message("tmp", &ada, "bye")).await.expect("append").into_message();
    assert!(store.delete_room(&room("tmp")).await.expect("delete"));
    assert!(!store.delete_room(&room("tmp")).await.expect("delete twice"));
    assert_eq!(store.message(m.id).await.expect("read"), None);
    assert!(store.memberships(&ada.id).await.expect("rooms").is_empty());
    assert_eq!(store.rooms_created_by(&ada.id).await.expect("count"), 0);
}

/// Room reads carry a member count the store keeps (no count of rows per send), right through
/// joins, leaves and repeated calls; the peers of all of a person's direct rooms come together.
async fn member_counts_are_kept_and_direct_peers_read_at_once(store: &dyn Store) {
    let people: Vec<UserRef> = ["Ada", "Bob", "Cy", "Di"].into_iter().map(person).collect();
    for p in &people {
        store.create_account(p, Some("h"), 0).await.expect("account");
    }
    let ops = room("ops");
    store.create_room(&ops, RoomKind::Public, None, 0).await.expect("room");
    let count =
        |r: RoomId| async move { store.room(&r).await.expect("read").expect("exists").members };
    assert_eq!(count(ops.clone()).await, 0);
    for p in &people {
        assert!(store.add_member(&ops, &p.id, 1).await.expect("join"));
    }
    assert!(!store.add_member(&ops, &people[0].id, 1).await.expect("again"), "no double count");
    assert_eq!(count(ops.clone()).await, 4);
    assert!(store.remove_member(&ops, &people[1].id).await.expect("leave"));
    assert!(!store.remove_member(&ops, &people[1].id).await.expect("leave twice"));
    assert_eq!(count(ops.clone()).await, 3);
    let listed = store.rooms_visible_to(&people[0].id).await.expect("list");
    assert_eq!(listed.iter().find(|r| r.id == ops).map(|r| r.members), Some(3));

    let (ada, bob, cy) = (&people[0], &people[1], &people[2]);
    for (id, other) in [("dm-ab", bob), ("dm-ac", cy)] {
        store.create_room(&room(id), RoomKind::Direct, Some(&ada.id), 0).await.expect("dm");
        store.add_member(&room(id), &ada.id, 0).await.expect("ada");
        store.add_member(&room(id), &other.id, 0).await.expect("peer");
    }
    store.create_room(&room("dm-bc"), RoomKind::Direct, None, 0).await.expect("dm");
    store.add_member(&room("dm-bc"), &bob.id, 0).await.expect("bob");
    store.add_member(&room("dm-bc"), &cy.id, 0).await.expect("cy");
    let peers: Vec<(String, String)> = store
        .direct_peers(&ada.id)
        .await
        .expect("peers")
        .into_iter()
        .map(|(r, u)| (r.0, u.id.0))
        .collect();
    let expected: Vec<(String, String)> =
        [("dm-ab", "ada"), ("dm-ab", "bob"), ("dm-ac", "ada"), ("dm-ac", "cy")]
            .map(|(r, u)| (r.to_owned(), u.to_owned()))
            .to_vec();
    assert_eq!(peers, expected, "Ada's direct rooms only, with both people");
    assert_eq!(count(room("dm-ab")).await, 2);
}

async fn devices_are_trusted_per_person(store: &dyn Store) {
    let (ada, bob) = (person("Ada"), person("Bob"));
    for p in [&ada, &bob] {
        store.create_account(p, Some("h"), 0).await.expect("account");
    }
    assert!(!store.is_trusted_device("laptop", &ada.id).await.expect("read"));
    store.trust_device("laptop", &ada.id, 1).await.expect("trust");
    store.trust_device("laptop", &ada.id, 2).await.expect("trusting again only refreshes it");
    assert!(store.is_trusted_device("laptop", &ada.id).await.expect("read"));
    assert!(!store.is_trusted_device("laptop", &bob.id).await.expect("read"), "Ada's, not Bob's");
    assert!(!store.is_trusted_device("phone", &ada.id).await.expect("read"));
}

/// Rooms and people come back in the same order from either database: by bytes, so `Zeta`
/// (upper case) sorts before `alpha` and `_` between them, whatever the Postgres locale.
async fn lists_sort_by_bytes_whatever_the_database_locale(store: &dyn Store) {
    let names = ["bob", "Zed", "_under", "Ada", "émile"];
    let people: Vec<UserRef> = names.iter().map(|n| person(n)).collect();
    for p in &people {
        store.create_account(p, Some("h"), 0).await.expect("account");
        store.add_member(&room("lobby"), &p.id, 1).await.expect("join");
    }
    let mut by_name: Vec<&str> = names.to_vec();
    by_name.sort_unstable();
    let members = store.members(&room("lobby")).await.expect("members");
    assert_eq!(members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), by_name);

    for id in ["Zeta", "alpha", "_mid", "Beta-2"] {
        store.create_room(&room(id), RoomKind::Public, None, 1).await.expect("room");
        store.add_member(&room(id), &people[0].id, 2).await.expect("join");
    }
    let visible: Vec<String> = store
        .rooms_visible_to(&people[0].id)
        .await
        .expect("rooms")
        .into_iter()
        .map(|r| r.id.0)
        .collect();
    assert_eq!(visible, ["Beta-2", "Zeta", "_mid", "alpha", "lobby"]);
    let mine: Vec<String> =
        store.memberships(&people[0].id).await.expect("rooms").into_iter().map(|r| r.0).collect();
    assert_eq!(mine, visible);
}

async fn live_sessions_answers_lists_longer_than_one_query(store: &dyn Store) {
    let ada = person("Ada");
    store.create_account(&ada, Some("h"), 0).await.expect("account");
    let hashes: Vec<String> = (0..2_500).map(|i| format!("token-{i:04}")).collect();
    for (i, hash) in hashes.iter().enumerate() {
        // Every third one has expired.
        let expires = if i % 3 == 0 { 500 } else { 10_000 };
        store.create_session(hash, &ada.id, 100, expires).await.expect("session");
    }
    let mut live = store.live_sessions(&hashes, 1_000).await.expect("read");
    live.sort_unstable();
    let expected: Vec<String> =
        hashes.iter().enumerate().filter(|(i, _)| i % 3 != 0).map(|(_, h)| h.clone()).collect();
    assert_eq!(live, expected);
}

/// A database made by the migrations before room kinds were unified (private rooms were
/// `'public'` with `invite_only = 1`) upgrades in place: every room keeps its kind, members,
/// counters and messages.
#[tokio::test]
async fn an_old_sqlite_database_upgrades_in_place() {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

    let dir = tempfile::tempdir().expect("temp dir");
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("parley.db"))
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new().connect_with(options).await.expect("open");
    server::store::SQLITE_MIGRATIONS.run_to(5, &pool).await.expect("old migrations");
    for statement in [
        "INSERT INTO users (id, name) VALUES ('ada', 'Ada'), ('bob', 'Bob')",
        "INSERT INTO rooms (id, kind, invite_only, created_by, created_at) VALUES \
         ('open', 'public', 0, 'ada', 1), ('secret', 'public', 1, 'ada', 1), \
         ('dm:ada:bob', 'direct', 0, NULL, 1)",
        "INSERT INTO memberships (room_id, user_id, joined_at) VALUES \
         ('secret', 'ada', 2), ('secret', 'bob', 2), ('dm:ada:bob', 'ada', 2), \
         ('dm:ada:bob', 'bob', 2), ('lobby', 'ada', 2)",
        "UPDATE rooms SET last_seq = 1, last_rev = 1 WHERE id = 'secret'",
        "INSERT INTO messages (room_id, seq, id, author_id, author_name, body, sent_at, rev) \
         VALUES ('secret', 1, '0190a5e0-0000-7000-8000-000000000001', 'bob', 'Bob', 'psst', 3, 1)",
    ] {
        sqlx::query(statement).execute(&pool).await.expect(statement);
    }
    pool.close().await;

    let store = SqliteStore::open(dir.path()).await.expect("upgrade");
    let kind = |id: &'static str| {
        let store = &store;
        async move { store.room(&room(id)).await.expect("read").expect("kept") }
    };
    let secret = kind("secret").await;
    assert_eq!((secret.kind, secret.members), (RoomKind::Private, 2));
    assert_eq!(kind("open").await.kind, RoomKind::Public);
    assert_eq!(
        (kind("dm:ada:bob").await.kind, kind("dm:ada:bob").await.members),
        (RoomKind::Direct, 2)
    );
    assert_eq!(kind("lobby").await.members, 1);
    let bob = UserId("bob".into());
    let visible: Vec<String> =
        store.rooms_visible_to(&bob).await.expect("rooms").into_iter().map(|r| r.id.0).collect();
    assert_eq!(visible, ["dm:ada:bob", "lobby", "open", "secret"]);
    let cy = UserId("cy".into());
    store.upsert_user(&person("Cy")).await.expect("cy");
    let for_cy: Vec<String> =
        store.rooms_visible_to(&cy).await.expect("rooms").into_iter().map(|r| r.id.0).collect();
    assert_eq!(for_cy, ["lobby", "open"], "a private room stays hidden from outsiders");

    let history = store.history(&room("secret"), None, 10).await.expect("history");
    assert_eq!(history.messages.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["psst"]);
    // Counters and triggers still work on the rebuilt table.
    let next = store.append(message("secret", &person("Ada"), "hello")).await.expect("append");
    assert_eq!((next.message().seq, next.message().rev), (2, 2));
    assert!(store.remove_member(&room("secret"), &bob).await.expect("leave"));
    assert_eq!(kind("secret").await.members, 1);
    assert!(store.delete_room(&room("secret")).await.expect("delete"));
    assert!(
        store
            .memberships(&UserId("ada".into()))
            .await
            .expect("rooms")
            .iter()
            .all(|r| r.0 != "secret")
    );
}

async fn read_markers_move_forward_only_and_count_what_others_wrote(store: &dyn Store) {
    let (ada, bob, dan) = (person("Ada"), person("Bob"), person("Dan"));
    for p in [&ada, &bob, &dan] {
        store.create_account(p, Some("h"), 0).await.expect("account");
    }
    let r = room("team");
    store.create_room(&r, RoomKind::Public, None, 1).await.expect("room");
    for p in [&ada, &bob] {
        store.add_member(&r, &p.id, 1).await.expect("join");
    }
    let mut sent = Vec::new();
    for (who, body) in [(&bob, "a"), (&bob, "b"), (&bob, "c"), (&ada, "mine")] {
        sent.push(store.append(message("team", who, body)).await.expect("append").into_message());
    }
    store.change_message(sent[1].id, &bob.id, MessageChange::Delete, 2).await.expect("delete");
    let state = |user: &UserRef, cap: u32| {
        let (user, r) = (user.id.clone(), r.clone());
        async move {
            let all = store.read_states(&user, None, cap).await.expect("read states");
            let one = store.read_states(&user, Some(&r), cap).await.expect("read state");
            assert_eq!(all.iter().filter(|m| m.room == r).cloned().collect::<Vec<_>>(), one);
            one.into_iter().next().map(|m| (m.read_seq, m.unread))
        }
    };
    // Bob's three, less the deleted one; not Ada's own.
    assert_eq!(state(&ada, 100).await, Some((0, 2)));
    assert_eq!(state(&ada, 1).await, Some((0, 1)), "counted up to the cap");
    store.mark_read(&r, &ada.id, 3).await.expect("mark");
    assert_eq!(state(&ada, 100).await, Some((3, 0)));
    store.mark_read(&r, &ada.id, 1).await.expect("mark");
    assert_eq!(state(&ada, 100).await, Some((3, 0)), "never backwards");
    store.mark_read(&r, &ada.id, 99).await.expect("mark");
    assert_eq!(state(&ada, 100).await, Some((4, 0)), "never past the last message");
    // Someone who joins later has read what came before.
    store.add_member(&r, &dan.id, 3).await.expect("join");
    assert_eq!(state(&dan, 100).await, Some((4, 0)));
    store.append(message("team", &bob, "d")).await.expect("append");
    assert_eq!(state(&dan, 100).await, Some((4, 1)));
    // Not a member: nothing to mark, nothing listed.
    let cy = person("Cy");
    store.create_account(&cy, Some("h"), 0).await.expect("account");
    assert!(matches!(store.mark_read(&r, &cy.id, 1).await, Err(StoreError::NotFound)));
    assert_eq!(state(&cy, 100).await, None);
}

/// Ada, Bob and Cy in group room `team`, created by Ada.
async fn team(store: &dyn Store) -> (UserRef, UserRef, UserRef, RoomId) {
    let people = (person("Ada"), person("Bob"), person("Cy"));
    let r = room("team");
    store.create_room(&r, RoomKind::Public, None, 0).await.expect("room");
    for p in [&people.0, &people.1, &people.2] {
        store.create_account(p, Some("h"), 0).await.expect("account");
        store.add_member(&r, &p.id, 0).await.expect("member");
    }
    (people.0, people.1, people.2, r)
}

fn mention(start: u32, end: u32, user: Option<&UserRef>) -> Mention {
    Mention { start, end, user: user.map(|u| u.id.clone()) }
}

async fn mentions_are_kept_with_the_message_and_counted_per_person(store: &dyn Store) {
    let (ada, bob, cy, r) = team(store).await;
    let counts = |who: &UserRef| {
        let id = who.id.clone();
        let r = r.clone();
        async move {
            let state = store.read_states(&id, Some(&r), 100).await.expect("read");
            (state[0].unread, state[0].mentions)
        }
    };
    // Bob named (twice: counted once), then everyone, then nobody.
    let mut to_bob = message("team", &ada, "@Bob hi @bob");
    to_bob.mentions = vec![mention(0, 4, Some(&bob)), mention(8, 12, Some(&bob))];
    let to_bob = store.append(to_bob).await.expect("append").into_message();
    assert_eq!(to_bob.mentions.len(), 2, "kept with the message");
    let mut everyone = message("team", &ada, "@room lunch");
    everyone.mentions = vec![mention(0, 5, None)];
    store.append(everyone).await.expect("append");
    store.append(message("team", &ada, "no one")).await.expect("append");
    assert_eq!(counts(&bob).await, (3, 2));
    assert_eq!(counts(&cy).await, (3, 1), "only @room reaches Cy");
    assert_eq!(counts(&ada).await, (0, 0), "one's own mentions do not count");
    // Read back as stored, through every read.
    let page = store.history(&r, None, 10).await.expect("history");
    assert_eq!(page.messages[0].mentions, to_bob.mentions);
    assert_eq!(store.changes(&r, 0, 10).await.expect("changes")[0].mentions, to_bob.mentions);

    // An edit replaces the mentions; a delete removes them.
    let edited = store
        .change_message(
            to_bob.id,
            &ada.id,
            MessageChange::Edit {
                body: "@Cy instead".into(),
                mentions: vec![mention(0, 3, Some(&cy))],
            },
            7,
        )
        .await
        .expect("edit");
    assert_eq!(edited.mentions, vec![mention(0, 3, Some(&cy))]);
    assert_eq!(counts(&bob).await, (3, 1));
    assert_eq!(counts(&cy).await, (3, 2));
    store.change_message(to_bob.id, &ada.id, MessageChange::Delete, 8).await.expect("delete");
    assert_eq!(counts(&cy).await, (2, 1));
    assert!(store.message(to_bob.id).await.expect("read").expect("kept").mentions.is_empty());
    // Reading moves past them.
    store.mark_read(&r, &cy.id, 99).await.expect("read");
    assert_eq!(counts(&cy).await, (0, 0));
}

async fn rooms_are_muted_per_person(store: &dyn Store) {
    let (ada, bob, _, r) = team(store).await;
    let muted = |who: &UserRef| {
        let id = who.id.clone();
        let r = r.clone();
        async move { store.read_states(&id, Some(&r), 10).await.expect("read")[0].muted }
    };
    assert!(!muted(&ada).await, "not muted by default");
    store.set_muted(&r, &ada.id, true).await.expect("mute");
    store.set_muted(&r, &ada.id, true).await.expect("mute twice is harmless");
    assert!(muted(&ada).await);
    assert!(!muted(&bob).await, "per person");
    store.set_muted(&r, &ada.id, false).await.expect("unmute");
    assert!(!muted(&ada).await);
    let outsider = person("Dan");
    store.create_account(&outsider, Some("h"), 0).await.expect("account");
    let refused = store.set_muted(&r, &outsider.id, true).await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
}

async fn reactions_are_set_not_toggled_and_take_a_revision(store: &dyn Store) {
    let (ada, bob, cy, r) = team(store).await;
    let msg = store.append(message("team", &ada, "ship it")).await.expect("append").into_message();
    // Each click a millisecond after the one before, so "first used" is well defined.
    let clock = std::sync::atomic::AtomicI64::new(10);
    let react = |who: &UserRef, emoji: &'static str, on: bool, max: usize| {
        let id = who.id.clone();
        let at = clock.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async move { store.react(msg.id, &id, emoji, on, max, at).await.expect("react") }
    };
    let Reacted::Changed(first) = react(&bob, "👍", true, 8).await else { panic!("added") };
    assert_eq!(first.rev, msg.rev + 1, "a reaction takes the room's next revision");
    assert_eq!(first.reactions.len(), 1);
    assert_eq!((first.reactions[0].count, first.reactions[0].by.clone()), (1, vec![bob.clone()]));
    // The same again changes nothing and takes no revision.
    let Reacted::Unchanged(same) = react(&bob, "👍", true, 8).await else { panic!("no change") };
    assert_eq!(same, first);
    let Reacted::Changed(two) = react(&cy, "👍", true, 8).await else { panic!("added") };
    assert_eq!(
        (two.reactions[0].count, two.reactions[0].by.clone()),
        (2, vec![bob.clone(), cy.clone()])
    );
    // A second kind within the limit; a third refused when the limit is two, but adding to a
    // kind in use is not a new kind.
    assert!(matches!(react(&ada, "🎉", true, 2).await, Reacted::Changed(_)));
    assert!(matches!(react(&ada, "👀", true, 2).await, Reacted::TooManyKinds));
    assert!(matches!(react(&ada, "👍", true, 2).await, Reacted::Changed(_)));
    // Removing: once changes, twice does not.
    let Reacted::Changed(removed) = react(&bob, "👍", false, 8).await else { panic!("removed") };
    assert_eq!(removed.reactions[0].emoji, "👍");
    assert_eq!(removed.reactions[0].by, vec![cy.clone(), ada.clone()]);
    assert!(matches!(react(&bob, "👍", false, 8).await, Reacted::Unchanged(_)));
    // Replayed by a resume from before, as it stands.
    let changes = store.changes(&r, msg.rev, 10).await.expect("changes");
    assert_eq!(changes.len(), 1, "one message, changed several times");
    assert_eq!(changes[0].reactions, removed.reactions);
    assert_eq!(changes[0].rev, removed.rev);
    // Deleting the message removes its reactions; reacting to it is then refused.
    let deleted =
        store.change_message(msg.id, &ada.id, MessageChange::Delete, 99).await.expect("delete");
    assert!(deleted.reactions.is_empty());
    let refused = store.react(msg.id, &bob.id, "👍", true, 8, 12).await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    let refused = store.react(Uuid::now_v7(), &bob.id, "👍", true, 8, 12).await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
}

async fn concurrent_reactions_are_all_counted(store: &dyn Store) {
    let r = room("crowd");
    store.create_room(&r, RoomKind::Public, None, 0).await.expect("room");
    let people: Vec<UserRef> = (0..12).map(|i| person(&format!("p{i}"))).collect();
    for p in &people {
        store.create_account(p, Some("h"), 0).await.expect("account");
        store.add_member(&r, &p.id, 0).await.expect("member");
    }
    let msg =
        store.append(message("crowd", &people[0], "vote")).await.expect("append").into_message();
    // Everyone clicks at once, some twice (a retry): each person counts once.
    let clicks = people.iter().chain(people.iter().take(4)).map(|p| {
        let id = p.id.clone();
        async move { store.react(msg.id, &id, "✅", true, 8, 1).await.expect("react") }
    });
    futures_util::future::join_all(clicks).await;
    let stored = store.message(msg.id).await.expect("read").expect("exists");
    assert_eq!(stored.reactions.len(), 1);
    assert_eq!(stored.reactions[0].count, 12);
    assert_eq!(stored.reactions[0].by.len(), 12);
    let changes = store.changes(&r, msg.rev, 100).await.expect("changes");
    assert_eq!(changes.last().map(|m| m.rev), Some(msg.rev + 12), "one revision per change");
}

async fn replies_live_in_their_thread_and_count_on_the_parent(store: &dyn Store) {
    let (ada, bob, cy, r) = team(store).await;
    let parent =
        store.append(message("team", &ada, "question")).await.expect("append").into_message();
    let reply_to = |who: &UserRef, body: &str, at: i64| MessageToAppend {
        thread: Some(parent.id),
        sent_at_ms: at,
        ..message("team", who, body)
    };
    let first = reply_to(&bob, "answer 1", 5);
    let stored = store.append(first.clone()).await.expect("reply").into_message();
    assert_eq!(stored.thread, Some(parent.id));
    assert_eq!(stored.rev, parent.rev + 1, "the reply takes the next revision…");
    let now = store.message(parent.id).await.expect("read").expect("parent");
    assert_eq!((now.replies, now.last_reply_at_ms), (1, Some(5)));
    assert_eq!(now.rev, parent.rev + 2, "…and the parent the one after");
    // A retry changes nothing.
    assert!(matches!(store.append(first).await.expect("retry"), Appended::Retry(_)));
    assert_eq!(store.message(parent.id).await.expect("read").expect("parent").replies, 1);
    for (i, who) in [&cy, &bob].into_iter().enumerate() {
        store
            .append(reply_to(who, &format!("answer {}", i + 2), 10 + i as i64))
            .await
            .expect("reply");
    }
    let mut mentioning = reply_to(&bob, "@Cy see", 20);
    mentioning.mentions = vec![mention(0, 3, Some(&cy))];
    store.append(mentioning).await.expect("reply");
    let now = store.message(parent.id).await.expect("read").expect("parent");
    assert_eq!((now.replies, now.last_reply_at_ms), (4, Some(20)));

    // The room's timeline has the parent only; the thread pages backwards like history.
    let room_page = store.history(&r, None, 10).await.expect("history");
    assert_eq!(room_page.messages.iter().map(|m| m.id).collect::<Vec<_>>(), [parent.id]);
    let newest = store.thread(parent.id, None, 3).await.expect("thread");
    assert!(newest.has_more);
    assert_eq!(
        newest.messages.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["answer 2", "answer 3", "@Cy see"]
    );
    let older = store.thread(parent.id, Some(newest.messages[0].seq), 3).await.expect("older");
    assert_eq!(older.messages.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["answer 1"]);
    assert!(!older.has_more);
    assert!(matches!(store.thread(Uuid::now_v7(), None, 3).await, Err(StoreError::NotFound)));
    // A resume replays replies and the parent's changes, by revision.
    let changes = store.changes(&r, parent.rev, 100).await.expect("changes");
    assert_eq!(changes.iter().filter(|m| m.thread == Some(parent.id)).count(), 4);
    assert_eq!(changes.last().map(|m| m.id), Some(parent.id), "the parent's last change is last");
    assert!(changes.windows(2).all(|w| w[0].rev < w[1].rev));

    // Replies are not unread in the room; a reply that mentions someone is a mention of them.
    let state = |who: &UserRef| {
        let id = who.id.clone();
        let r = r.clone();
        async move {
            let s = store.read_states(&id, Some(&r), 100).await.expect("read");
            (s[0].unread, s[0].mentions)
        }
    };
    assert_eq!(state(&cy).await, (1, 1));
    assert_eq!(state(&ada).await, (0, 0));
}
