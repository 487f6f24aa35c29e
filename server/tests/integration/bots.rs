//! Bots through the real server, on SQLite and PostgreSQL, and across two nodes: an
//! administrator creates one and gets its token once; the bot connects to `/chat` with
//! `auth: { token }`, is shown as a bot, and is refused and closed like a signed-out browser
//! when its tokens are revoked. Forged, unknown and malformed tokens change nothing.

use serde_json::json;

use crate::common::stores::Store;
use crate::common::{ChatClient, TestApp, register, say, sign_in};
use crate::on_both_stores;
use app::ChatError;
use app::events::CHAT_NAMESPACE;
use app::events::admin::{
    ADMIN_NAMESPACE, ADMINS_ONLY, AdminAction, AuditRequest, BotToken, CreateBot, IssueBotToken,
    ListAudit, NewBot, PersonPayload, Promote, RevokeBotTokens,
};
use app::events::messages::{NewMessage, SendMessage};
use app::events::rooms::{Empty, ListRooms, RoomMembers, RoomRef};
use app::model::{RoomId, UserId};
use app::session::SIGN_IN_REQUIRED;

on_both_stores!(
    a_bot_connects_with_its_token_posts_and_is_shown_as_a_bot,
    forged_unknown_and_malformed_tokens_are_refused_and_change_nothing,
    revoking_closes_the_bots_sockets_and_ends_its_tokens,
);

async fn admin_socket(app: &TestApp, name: &str) -> ChatClient {
    let cookie = app.session(name).await;
    ChatClient::connect(&app.url("/"), ADMIN_NAMESPACE, json!({}), Some(&cookie))
        .await
        .expect("an administrator connects to /admin")
}

/// Connects to `/chat` with `token` in the handshake's `auth` and no cookie.
async fn connect_bot(app: &TestApp, token: &str) -> Result<ChatClient, String> {
    ChatClient::connect(&app.url("/"), CHAT_NAMESPACE, json!({ "token": token }), None).await
}

fn refused(connection: Result<ChatClient, String>, why: &str) {
    match connection {
        Ok(_) => panic!("connected; expected a refusal saying {why:?}"),
        Err(e) => assert!(e.contains(why), "{e}"),
    }
}

fn bot(name: &str) -> PersonPayload {
    PersonPayload { user: UserId(name.to_lowercase()) }
}

async fn create(admin: &ChatClient, name: &str) -> BotToken {
    admin.request::<CreateBot>(&NewBot { name: name.into() }).await.expect("bot created")
}

async fn a_bot_connects_with_its_token_posts_and_is_shown_as_a_bot(store: Store) {
    let subject = store.start(|c| c.admins = vec!["Ada".into()]).await;
    let app = &subject.app;
    let admin = admin_socket(app, "Ada").await;
    let mut cy = app.connect("Cy").await;

    let created = create(&admin, "Deploybot").await;
    assert_eq!(created.bot.id, UserId("deploybot".into()));
    assert!(created.token.starts_with("parley_bot_"), "a recognisable prefix");
    assert!(created.token.len() >= 11 + 43, "32 random bytes after the prefix");
    // The name is taken like a person's, in any case, and by people too.
    let twice = admin.request::<CreateBot>(&NewBot { name: "DEPLOYBOT".into() }).await;
    assert!(matches!(twice, Err(ChatError::NameTaken { .. })), "{twice:?}");
    let person = register(app.addr, "deploybot", "a long enough password").await;
    assert_eq!(
        person.err().map(|(status, body)| (status, body["code"].clone())),
        Some((409, json!("name_taken")))
    );
    let taken = admin.request::<CreateBot>(&NewBot { name: "Cy".into() }).await;
    assert!(matches!(taken, Err(ChatError::NameTaken { .. })), "{taken:?}");
    // A bot has no password to sign in with, and cannot be made an administrator.
    let password = sign_in(app.addr, "Deploybot", "").await;
    assert_eq!(password.err().map(|(status, _)| status), Some(401));
    let promoted = admin.request::<Promote>(&bot("Deploybot")).await;
    assert!(matches!(promoted, Err(ChatError::CannotModerate { .. })), "{promoted:?}");

    let deploy = connect_bot(app, &created.token).await.expect("the bot connects with its token");
    let rooms = deploy.request::<ListRooms>(&Empty {}).await.expect("its rooms");
    assert!(rooms.joined.contains(&RoomId::lobby()), "{rooms:?}");
    assert!(!rooms.admin);
    // The token opens `/chat` only: a bot is never an administrator.
    let admin_as_bot = ChatClient::connect(
        &app.url("/"),
        ADMIN_NAMESPACE,
        json!({ "token": created.token }),
        None,
    )
    .await;
    refused(admin_as_bot, ADMINS_ONLY);

    let sent = deploy
        .request::<SendMessage>(&say(&RoomId::lobby(), "deployed v1.2.3"))
        .await
        .expect("the bot posts");
    let (seen, _) = cy.until::<NewMessage>(|m| m.id == sent.id).await;
    assert_eq!((seen.author.id.0.as_str(), seen.body.as_str()), ("deploybot", "deployed v1.2.3"));
    let view =
        cy.request::<RoomMembers>(&RoomRef { room: RoomId::lobby() }).await.expect("members");
    let flags: Vec<(&str, bool)> =
        view.members.iter().map(|m| (m.user.id.0.as_str(), m.bot)).collect();
    assert!(flags.contains(&("deploybot", true)) && flags.contains(&("cy", false)), "{flags:?}");

    let log = admin.request::<ListAudit>(&AuditRequest::default()).await.expect("audit log");
    let actions: Vec<_> = log.entries.iter().map(|e| (e.action, e.target.0.as_str())).collect();
    assert_eq!(actions, [(AdminAction::CreateBot, "deploybot")], "refusals are not audited");
    assert!(!format!("{log:?}").contains(&created.token), "the token is in no log");
}

async fn forged_unknown_and_malformed_tokens_are_refused_and_change_nothing(store: Store) {
    let subject = store.start(|c| c.admins = vec!["Ada".into()]).await;
    let app = &subject.app;
    let admin = admin_socket(app, "Ada").await;
    let created = create(&admin, "Alerts").await;
    let mut cy = app.connect("Cy").await;

    // Unknown, forged from the real one, empty, or not a string: refused.
    refused(
        connect_bot(app, "parley_bot_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await,
        SIGN_IN_REQUIRED,
    );
    let mut forged = created.token.clone();
    let last = forged.pop().expect("non-empty");
    forged.push(if last == 'A' { 'B' } else { 'A' });
    refused(connect_bot(app, &forged).await, SIGN_IN_REQUIRED);
    refused(connect_bot(app, "").await, SIGN_IN_REQUIRED);
    let number =
        ChatClient::connect(&app.url("/"), CHAT_NAMESPACE, json!({ "token": 42 }), None).await;
    refused(number, "the auth payload must be an object");
    // A wrong token is not passed over for a valid cookie beside it.
    let cookie = app.session("Cy").await;
    let both = ChatClient::connect(
        &app.url("/"),
        CHAT_NAMESPACE,
        json!({ "token": forged }),
        Some(&cookie),
    )
    .await;
    refused(both, SIGN_IN_REQUIRED);
    // A person's rooms and the audit log are as they were; the real token still works, and what
    // it posts is the first thing Cy hears.
    let log = admin.request::<ListAudit>(&AuditRequest::default()).await.expect("audit log");
    assert_eq!(log.entries.len(), 1, "{log:?}");
    let alerts = connect_bot(app, &created.token).await.expect("the real token connects");
    let sent =
        alerts.request::<SendMessage>(&say(&RoomId::lobby(), "disk 91% full")).await.expect("sent");
    let first = cy.next::<NewMessage>().await;
    assert_eq!(first.id, sent.id, "nothing a refused connection sent arrived first");
}

async fn revoking_closes_the_bots_sockets_and_ends_its_tokens(store: Store) {
    let subject = store.start(|c| c.admins = vec!["Ada".into()]).await;
    let app = &subject.app;
    let admin = admin_socket(app, "Ada").await;
    let created = create(&admin, "Helpdesk").await;
    let second = admin.request::<IssueBotToken>(&bot("Helpdesk")).await.expect("a second token");
    assert_ne!(second.token, created.token);
    let mut one = connect_bot(app, &created.token).await.expect("first token");
    let mut two = connect_bot(app, &second.token).await.expect("second token");
    let cy = app.connect("Cy").await;

    // Only bots have tokens.
    let person = admin.request::<IssueBotToken>(&bot("Cy")).await;
    assert!(matches!(person, Err(ChatError::CannotModerate { .. })), "{person:?}");
    let nobody = admin.request::<RevokeBotTokens>(&bot("Nobody")).await;
    assert!(matches!(nobody, Err(ChatError::UnknownUser { .. })), "{nobody:?}");

    admin.request::<RevokeBotTokens>(&bot("Helpdesk")).await.expect("revoked");
    one.closed().await;
    two.closed().await;
    refused(connect_bot(app, &created.token).await, SIGN_IN_REQUIRED);
    refused(connect_bot(app, &second.token).await, SIGN_IN_REQUIRED);
    cy.request::<ListRooms>(&Empty {}).await.expect("people are untouched");

    let fresh = admin.request::<IssueBotToken>(&bot("Helpdesk")).await.expect("a new token");
    let back = connect_bot(app, &fresh.token).await.expect("the new token connects");
    back.request::<ListRooms>(&Empty {}).await.expect("the bot works again");
    let log = admin.request::<ListAudit>(&AuditRequest::default()).await.expect("audit log");
    let actions: Vec<_> = log.entries.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            AdminAction::IssueBotToken,
            AdminAction::RevokeBotTokens,
            AdminAction::IssueBotToken,
            AdminAction::CreateBot
        ]
    );
}

/// Revoking on one node closes the bot's socket on the other (through the Redis adapter).
#[tokio::test]
async fn revoking_closes_the_bots_sockets_on_every_node() {
    let cluster = crate::cluster::cluster_with(|c| c.admins = vec!["Ada".into()]).await;
    let [one, two] = &cluster.nodes;
    let admin = admin_socket(one, "Ada").await;
    let created = create(&admin, "Pager").await;
    let mut on_two = connect_bot(two, &created.token).await.expect("the bot on node two");

    admin.request::<RevokeBotTokens>(&bot("Pager")).await.expect("revoked");
    on_two.closed().await;
    refused(connect_bot(two, &created.token).await, SIGN_IN_REQUIRED);
}
