//! Administration through the real server, on SQLite and PostgreSQL, and across two nodes: who
//! may connect to `/admin`, bans (sockets closed everywhere, sign-in refused), roles, the audit
//! log.

use serde_json::json;

use crate::common::stores::Store;
use crate::common::uploader::Uploader;
use crate::common::{self, ChatClient, TestApp, password_of, sign_in};
use crate::on_both_stores;
use app::ChatError;
use app::events::admin::{
    ADMIN_NAMESPACE, ADMINS_ONLY, AdminAction, AuditRequest, BanPayload, BanPerson, Demote,
    ListAudit, PersonPayload, Promote, UnbanPerson,
};
use app::events::admin::{DeleteAnyRoom, RemoveMessage};
use app::events::messages::{
    DeleteRequest, HistoryRequest, LoadHistory, MessageUpdated, SearchMessages, SendMessage,
    SyncRequest, SyncRoom,
};
use app::events::rooms::{
    CreateRoom, CreateRoomPayload, Empty, InvitePayload, InviteToRoom, ListRooms, OpenDirect,
    OpenDirectPayload, RoomDeleted, RoomRef,
};
use app::model::{RoomId, UserId};
use app::search::SearchRequest;
use app::session::SIGN_IN_REQUIRED;

on_both_stores!(
    only_administrators_connect_to_admin,
    a_ban_signs_the_person_out_and_keeps_them_out_until_unbanned,
    administrators_promote_and_demote_and_everything_is_audited,
    a_removed_message_is_gone_from_history_sync_and_search,
    an_administrator_deletes_any_group_room,
);

async fn admin_socket(app: &TestApp, name: &str) -> Result<ChatClient, String> {
    let cookie = app.session(name).await;
    ChatClient::connect(&app.url("/"), ADMIN_NAMESPACE, json!({}), Some(&cookie)).await
}

/// Asserts that a connection was refused with `why` as its `connect_error` message.
fn refused(connection: Result<ChatClient, String>, why: &str) {
    match connection {
        Ok(_) => panic!("connected; expected a refusal saying {why:?}"),
        Err(e) => assert!(e.contains(why), "{e}"),
    }
}

/// A private room `name` made by `owner`, with `member` invited.
async fn private_room_with(owner: &ChatClient, name: &str, member: &str) -> RoomId {
    let room = owner
        .request::<CreateRoom>(&CreateRoomPayload { name: name.into(), private: true })
        .await
        .expect("created")
        .id;
    owner
        .request::<InviteToRoom>(&InvitePayload { room: room.clone(), user: UserId(member.into()) })
        .await
        .expect("invited");
    room
}

on_both_stores!(threaded: an_administrators_actions_take_effect_in_the_order_sent);

/// Ban, unban, ban, unban… sent at once: the last word is an unban, so the person signs in.
async fn an_administrators_actions_take_effect_in_the_order_sent(store: Store) {
    let subject = store.start(|c| c.admins = vec!["Ada".into()]).await;
    let app = &subject.app;
    let _spammer = app.connect("Spammer").await;
    let cookie = app.session("Ada").await;
    let mut admin = Uploader::connect_to_namespace(app.addr, &cookie, "/admin").await;

    let banning = ("admin:ban", serde_json::to_value(ban("Spammer", "")).expect("json"));
    let unbanning = ("admin:unban", serde_json::to_value(person("Spammer")).expect("json"));
    let requests: Vec<_> = (0..8).flat_map(|_| [banning.clone(), unbanning.clone()]).collect();
    let acks = admin.requests_at_once(&requests).await;
    assert!(acks.iter().all(|ack| ack.get("Ok").is_some()), "{acks:?}");
    sign_in(app.addr, "Spammer", &password_of("Spammer"))
        .await
        .expect("unbanned: the last request was an unban");
}

fn person(name: &str) -> PersonPayload {
    PersonPayload { user: UserId(name.to_lowercase()) }
}

fn ban(name: &str, reason: &str) -> BanPayload {
    BanPayload { user: UserId(name.to_lowercase()), reason: reason.into() }
}

async fn only_administrators_connect_to_admin(store: Store) {
    let subject = store.start(|c| c.admins = vec!["Ada".into()]).await;
    let app = &subject.app;
    assert!(admin_socket(app, "Ada").await.is_ok(), "the configured administrator connects");
    refused(admin_socket(app, "Bob").await, ADMINS_ONLY);
    let anonymous = ChatClient::connect(&app.url("/"), ADMIN_NAMESPACE, json!({}), None).await;
    refused(anonymous, SIGN_IN_REQUIRED);
    // Nothing in the handshake's `auth` makes anyone an administrator.
    let cookie = app.session("Bob").await;
    let claimed = ChatClient::connect(
        &app.url("/"),
        ADMIN_NAMESPACE,
        json!({ "admin": true, "user": "ada" }),
        Some(&cookie),
    )
    .await;
    refused(claimed, ADMINS_ONLY);
}

async fn a_ban_signs_the_person_out_and_keeps_them_out_until_unbanned(store: Store) {
    let subject = store.start(|c| c.admins = vec!["Ada".into()]).await;
    let app = &subject.app;
    let admin = admin_socket(app, "Ada").await.expect("administrator");
    let mut spammer_tab = app.connect("Spammer").await;
    let mut spammer_other_tab = app.connect("Spammer").await;
    let bystander = app.connect("Cy").await;
    let old_cookie = app.session("Spammer").await;

    // Not themselves, not another administrator, not someone who does not exist.
    let own = admin.request::<BanPerson>(&ban("Ada", "")).await;
    assert!(matches!(own, Err(ChatError::CannotModerate { .. })), "{own:?}");
    let nobody = admin.request::<BanPerson>(&ban("Nobody", "")).await;
    assert!(matches!(nobody, Err(ChatError::UnknownUser { .. })), "{nobody:?}");
    let long = admin.request::<BanPerson>(&ban("Spammer", &"x".repeat(501))).await;
    assert!(matches!(long, Err(ChatError::InvalidPayload { .. })), "{long:?}");

    admin.request::<BanPerson>(&ban("Spammer", "links to a scam")).await.expect("banned");
    // Every open tab closes at once.
    spammer_tab.closed().await;
    spammer_other_tab.closed().await;
    // The old session is over, and signing in again is refused (with the right password; a
    // wrong one still says only "wrong name or password").
    let again = app.connect_with_cookie(Some(&old_cookie)).await;
    refused(again, SIGN_IN_REQUIRED);
    let signed_in = sign_in(app.addr, "Spammer", &password_of("Spammer")).await;
    let banned = signed_in.err().map(|(status, body)| (status, body["code"].clone()));
    assert_eq!(banned, Some((403, json!("banned"))));
    let wrong = sign_in(app.addr, "Spammer", "not the password").await;
    assert_eq!(wrong.err().map(|(status, _)| status), Some(401));
    // Others are untouched.
    bystander.request::<ListRooms>(&Empty {}).await.expect("Cy still chats");

    admin.request::<UnbanPerson>(&person("Spammer")).await.expect("unbanned");
    let cookie = sign_in(app.addr, "Spammer", &password_of("Spammer")).await.expect("signs in");
    let back = app.connect_with_cookie(Some(&cookie)).await.expect("connects");
    back.request::<ListRooms>(&Empty {}).await.expect("chats again");
}

async fn administrators_promote_and_demote_and_everything_is_audited(store: Store) {
    let subject = store.start(|c| c.admins = vec!["Ada".into()]).await;
    let app = &subject.app;
    let ada = admin_socket(app, "Ada").await.expect("administrator");
    let _bob = app.connect("Bob").await;
    let _cy = app.connect("Cy").await;

    ada.request::<Promote>(&person("Bob")).await.expect("promoted");
    let mut bob_admin = admin_socket(app, "Bob").await.expect("Bob is an administrator now");
    // Bob may act as one, but not demote the administrator the configuration names.
    bob_admin.request::<BanPerson>(&ban("Cy", "testing")).await.expect("Bob bans");
    let named = bob_admin.request::<Demote>(&person("Ada")).await;
    assert!(matches!(named, Err(ChatError::CannotModerate { .. })), "{named:?}");

    ada.request::<Demote>(&person("Bob")).await.expect("demoted");
    bob_admin.closed().await;
    refused(admin_socket(app, "Bob").await, ADMINS_ONLY);

    let log = ada.request::<ListAudit>(&AuditRequest::default()).await.expect("audit log");
    let seen: Vec<(String, AdminAction, String, String)> = log
        .entries
        .iter()
        .map(|e| (e.actor.id.0.clone(), e.action, e.target.0.clone(), e.detail.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            ("ada".into(), AdminAction::Demote, "bob".into(), String::new()),
            ("bob".into(), AdminAction::Ban, "cy".into(), "testing".into()),
            ("ada".into(), AdminAction::Promote, "bob".into(), String::new()),
        ],
        "newest first; refused requests leave no entry"
    );
    assert!(!log.entries.is_empty() && log.entries.windows(2).all(|w| w[0].id > w[1].id));
    let older = ada
        .request::<ListAudit>(&AuditRequest { before: Some(log.entries[1].id) })
        .await
        .expect("an older page");
    assert_eq!(older.entries.len(), 1);
    assert_eq!(older.entries[0].action, AdminAction::Promote);
    assert!(!older.more);
}

/// A ban on one node closes the person's tabs on the other (through the Redis adapter), and the
/// other node refuses their session from then on.
#[tokio::test]
async fn a_ban_closes_the_persons_tabs_on_every_node() {
    let cluster = crate::cluster::cluster_with(|c| c.admins = vec!["Ada".into()]).await;
    let [one, two] = &cluster.nodes;

    let admin = admin_socket(one, "Ada").await.expect("administrator on node one");
    let cookie = one.session("Spammer").await;
    let mut on_one = one.connect_with_cookie(Some(&cookie)).await.expect("node one");
    let mut on_two = two.connect_with_cookie(Some(&cookie)).await.expect("node two");

    admin.request::<BanPerson>(&ban("Spammer", "")).await.expect("banned");
    on_one.closed().await;
    on_two.closed().await;
    let again = two.connect_with_cookie(Some(&cookie)).await;
    refused(again, SIGN_IN_REQUIRED);
}

/// Spam in a private room the administrator is not even in: removed, the room's members see
/// "removed by a moderator" live, and its text is gone from history, sync and search.
async fn a_removed_message_is_gone_from_history_sync_and_search(store: Store) {
    let subject = store.start(|c| c.admins = vec!["Ada".into()]).await;
    let app = &subject.app;
    let admin = admin_socket(app, "Ada").await.expect("administrator");
    let spammer = app.connect("Spammer").await;
    let mut cy = app.connect("Cy").await;
    let room = private_room_with(&spammer, "deals", "cy").await;
    let spam = spammer
        .request::<SendMessage>(&common::say(&room, "cheap watches at scam dot example"))
        .await
        .expect("sent");
    let search = || SearchRequest { text: "watches".into(), room: None, from: None };
    let before = cy.request::<SearchMessages>(&search()).await.expect("searched");
    assert_eq!(before.hits.iter().map(|m| m.id).collect::<Vec<_>>(), [spam.id], "found before");
    let rev_before = cy
        .request::<LoadHistory>(&HistoryRequest { room: room.clone(), before: None, back_to: None })
        .await
        .expect("history")
        .rev;

    let removed =
        admin.request::<RemoveMessage>(&DeleteRequest { id: spam.id }).await.expect("removed");
    assert!(removed.deleted && removed.moderated && removed.body.is_empty(), "{removed:?}");
    let seen = cy.until::<MessageUpdated>(|m| m.id == spam.id).await;
    assert!(seen.0.moderated && seen.0.body.is_empty());

    let history = cy
        .request::<LoadHistory>(&HistoryRequest { room: room.clone(), before: None, back_to: None })
        .await
        .expect("history");
    let kept = history.messages.iter().find(|m| m.id == spam.id).expect("its place stays");
    assert!(kept.moderated && kept.body.is_empty());
    let synced = cy
        .request::<SyncRoom>(&SyncRequest { room: room.clone(), after_rev: rev_before })
        .await
        .expect("sync");
    assert!(synced.changes.iter().any(|m| m.id == spam.id && m.moderated && m.body.is_empty()));
    let found = cy.request::<SearchMessages>(&search()).await.expect("searched");
    assert!(found.hits.is_empty(), "{:?}", found.hits);

    // Twice, or a message that does not exist: refused, and nothing more is audited.
    let again = admin.request::<RemoveMessage>(&DeleteRequest { id: spam.id }).await;
    assert!(matches!(again, Err(ChatError::UnknownMessage { .. })), "{again:?}");
    let log = admin.request::<ListAudit>(&AuditRequest::default()).await.expect("audit log");
    assert_eq!(log.entries.len(), 1);
    let entry = &log.entries[0];
    assert_eq!((entry.action, entry.target.0.as_str()), (AdminAction::RemoveMessage, "spammer"));
    assert!(entry.detail.contains(&spam.id.to_string()), "{}", entry.detail);
}

/// An administrator deletes a private room they are not in: its members hear `room:deleted`
/// naming the administrator, the room is gone, and the lobby and direct rooms cannot be deleted.
async fn an_administrator_deletes_any_group_room(store: Store) {
    let subject = store.start(|c| c.admins = vec!["Ada".into()]).await;
    let app = &subject.app;
    let admin = admin_socket(app, "Ada").await.expect("administrator");
    let spammer = app.connect("Spammer").await;
    let mut cy = app.connect("Cy").await;
    let room = private_room_with(&spammer, "deals", "cy").await;

    let lobby = admin.request::<DeleteAnyRoom>(&RoomRef { room: RoomId::lobby() }).await;
    assert!(matches!(lobby, Err(ChatError::Forbidden { .. })), "{lobby:?}");
    let dm = cy
        .request::<OpenDirect>(&OpenDirectPayload { user: UserId("spammer".into()) })
        .await
        .expect("a direct room")
        .id;
    let direct = admin.request::<DeleteAnyRoom>(&RoomRef { room: dm }).await;
    assert!(matches!(direct, Err(ChatError::Forbidden { .. })), "{direct:?}");

    admin.request::<DeleteAnyRoom>(&RoomRef { room: room.clone() }).await.expect("deleted");
    let (gone, _) = cy.until::<RoomDeleted>(|g| g.room == room).await;
    assert_eq!(gone.by.id, UserId("ada".into()), "members are told who deleted it");
    let history = cy
        .request::<LoadHistory>(&HistoryRequest { room: room.clone(), before: None, back_to: None })
        .await;
    assert!(matches!(history, Err(ChatError::UnknownRoom { .. })), "{history:?}");
    let again = admin.request::<DeleteAnyRoom>(&RoomRef { room: room.clone() }).await;
    assert!(matches!(again, Err(ChatError::UnknownRoom { .. })), "{again:?}");

    let log = admin.request::<ListAudit>(&AuditRequest::default()).await.expect("audit log");
    let seen: Vec<_> =
        log.entries.iter().map(|e| (e.action, e.target.0.as_str(), e.detail.as_str())).collect();
    assert_eq!(seen, [(AdminAction::DeleteRoom, "spammer", room.0.as_str())]);
}
