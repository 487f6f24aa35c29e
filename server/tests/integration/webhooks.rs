//! Incoming webhooks through the real server, on SQLite and PostgreSQL: a `POST` with the
//! secret becomes the bot's message in the room, under every rule a message follows; a wrong
//! secret, an unknown or deleted webhook, a bad body and a flood are refused and change nothing.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::stores::Store;
use crate::common::{ChatClient, TestApp, say};
use crate::on_both_stores;
use app::ChatError;
use app::events::admin::{
    ADMIN_NAMESPACE, AdminAction, AuditRequest, BanPayload, BanPerson, CreateBot, CreateWebhook,
    DeleteWebhook, ListAudit, NewBot, NewWebhook, WebhookCreated, WebhookRef,
};
use app::events::messages::{NewMessage, SendMessage};
use app::events::rooms::{
    CreateRoom, CreateRoomPayload, MemberJoined, OpenDirect, OpenDirectPayload, RoomMembers,
    RoomRef,
};
use app::model::UserId;

on_both_stores!(
    a_webhook_posts_as_its_bot_under_every_rule_of_a_message,
    wrong_secrets_unknown_webhooks_and_bad_bodies_change_nothing,
    a_flood_through_a_webhook_is_rate_limited,
);

async fn admin_socket(app: &TestApp) -> ChatClient {
    let cookie = app.session("Ada").await;
    ChatClient::connect(&app.url("/"), ADMIN_NAMESPACE, json!({}), Some(&cookie))
        .await
        .expect("the administrator connects")
}

/// A room `name` made by Cy, and a webhook posting there as the bot `CI`.
async fn hook_in(admin: &ChatClient, cy: &ChatClient, name: &str) -> WebhookCreated {
    let room = cy
        .request::<CreateRoom>(&CreateRoomPayload { name: name.into(), private: true })
        .await
        .expect("room")
        .id;
    admin.request::<CreateBot>(&NewBot { name: "CI".into() }).await.expect("bot");
    let hook = admin
        .request::<CreateWebhook>(&NewWebhook { room, bot: UserId("ci".into()) })
        .await
        .expect("webhook");
    assert_eq!(hook.path, format!("/hooks/{}", hook.id));
    assert!(hook.secret.starts_with("parley_hook_"), "a recognisable prefix");
    hook
}

/// `POST`s `body` to `path` with `secret` (if any); the status and the JSON answer.
async fn post(app: &TestApp, path: &str, secret: Option<&str>, body: String) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body);
    if let Some(secret) = secret {
        request = request.bearer_auth(secret);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn a_webhook_posts_as_its_bot_under_every_rule_of_a_message(store: Store) {
    let subject = store.start(|c| c.admins = vec!["Ada".into()]).await;
    let app = &subject.app;
    let admin = admin_socket(app).await;
    let mut cy = app.connect("Cy").await;
    let hook = hook_in(&admin, &cy, "builds").await;
    let room = hook.room.clone();
    // The room hears the bot join, marked as a bot.
    let (joined, _) = cy.until::<MemberJoined>(|c| c.user.id.0 == "ci").await;
    assert!(joined.bot && joined.room == room, "{joined:?}");

    let id = Uuid::now_v7();
    let body = json!({ "text": "build **41** passed", "id": id }).to_string();
    let (status, answer) = post(app, &hook.path, Some(&hook.secret), body.clone()).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["id"], json!(id));
    assert_eq!(
        (answer["author"]["id"].clone(), answer["room"].clone()),
        (json!("ci"), json!(room))
    );
    let (seen, _) = cy.until::<NewMessage>(|m| m.id == id).await;
    assert_eq!(seen.body, "build **41** passed");
    // The bot was added to the room, and is shown as one.
    let view = cy.request::<RoomMembers>(&RoomRef { room: room.clone() }).await.expect("members");
    assert!(view.members.iter().any(|m| m.user.id.0 == "ci" && m.bot), "{:?}", view.members);

    // A retry with the same id is the same message, delivered once: the next message Cy hears
    // is the one Cy sends after it.
    let (status, again) = post(app, &hook.path, Some(&hook.secret), body).await;
    assert_eq!(
        (status, again["id"].clone(), again["seq"].clone()),
        (201, json!(id), answer["seq"].clone())
    );
    let later = cy.request::<SendMessage>(&say(&room, "thanks")).await.expect("sent");
    let too_long = json!({ "text": "x".repeat(4001) }).to_string();
    let (status, refused) = post(app, &hook.path, Some(&hook.secret), too_long).await;
    assert_eq!((status, refused["code"].clone()), (422, json!("message_too_long")));
    let marker = Uuid::now_v7();
    let (status, _) = post(
        app,
        &hook.path,
        Some(&hook.secret),
        json!({ "text": "after", "id": marker }).to_string(),
    )
    .await;
    assert_eq!(status, 201);
    let next = cy.next::<NewMessage>().await;
    assert_eq!(
        next.id, marker,
        "neither the retry nor the refused post arrived (after {})",
        later.id
    );

    // Deleted, it posts nothing more.
    admin.request::<DeleteWebhook>(&WebhookRef { id: hook.id }).await.expect("deleted");
    let (status, gone) =
        post(app, &hook.path, Some(&hook.secret), json!({ "text": "still here?" }).to_string())
            .await;
    assert_eq!((status, gone["code"].clone()), (401, json!("bad_webhook")));
    let twice = admin.request::<DeleteWebhook>(&WebhookRef { id: hook.id }).await;
    assert!(matches!(twice, Err(ChatError::BadWebhook)), "{twice:?}");
    let log = admin.request::<ListAudit>(&AuditRequest::default()).await.expect("audit");
    let actions: Vec<_> = log.entries.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [AdminAction::DeleteWebhook, AdminAction::CreateWebhook, AdminAction::CreateBot]
    );
    assert!(!format!("{log:?}").contains(&hook.secret), "the secret is in no log");
}

async fn wrong_secrets_unknown_webhooks_and_bad_bodies_change_nothing(store: Store) {
    let subject = store.start(|c| c.admins = vec!["Ada".into()]).await;
    let app = &subject.app;
    let admin = admin_socket(app).await;
    let mut cy = app.connect("Cy").await;
    let hook = hook_in(&admin, &cy, "alerts").await;
    let text = || json!({ "text": "disk full" }).to_string();

    let mut forged = hook.secret.clone();
    let last = forged.pop().expect("non-empty");
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let unknown = format!("/hooks/{}", Uuid::now_v7());
    for (path, secret) in [
        (hook.path.as_str(), Some(forged.as_str())),
        (hook.path.as_str(), None),
        (hook.path.as_str(), Some("")),
        (unknown.as_str(), Some(hook.secret.as_str())),
        ("/hooks/not-a-uuid", Some(hook.secret.as_str())),
    ] {
        let (status, answer) = post(app, path, secret, text()).await;
        assert_eq!(
            (status, answer["code"].clone()),
            (401, json!("bad_webhook")),
            "{path} {secret:?}"
        );
    }
    let (status, answer) = post(app, &hook.path, Some(&hook.secret), "{\"text\": ".into()).await;
    assert_eq!((status, answer["code"].clone()), (422, json!("invalid_payload")), "{answer}");
    let (status, answer) = post(
        app,
        &hook.path,
        Some(&hook.secret),
        json!({ "text": "x", "room": "lobby" }).to_string(),
    )
    .await;
    assert_eq!(
        (status, answer["code"].clone()),
        (422, json!("invalid_payload")),
        "no other room: {answer}"
    );
    let huge = json!({ "text": "x".repeat(100 * 1024) }).to_string();
    let (status, _) = post(app, &hook.path, Some(&hook.secret), huge).await;
    assert_eq!(status, 413, "a body over the limit is not read");

    // None of it arrived: the first message Cy hears is the real post after it.
    let marker = Uuid::now_v7();
    let (status, _) = post(
        app,
        &hook.path,
        Some(&hook.secret),
        json!({ "text": "real", "id": marker }).to_string(),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(cy.next::<NewMessage>().await.id, marker);

    // Someone else's message id is not the webhook's to reuse: refused, Cy's message untouched.
    let cys = cy.request::<SendMessage>(&say(&hook.room, "mine")).await.expect("sent");
    let (status, answer) = post(
        app,
        &hook.path,
        Some(&hook.secret),
        json!({ "text": "overwritten?", "id": cys.id }).to_string(),
    )
    .await;
    assert_eq!((status, answer["code"].clone()), (409, json!("message_id_taken")), "{answer}");
    // A direct conversation gets no webhook.
    let dm = cy
        .request::<OpenDirect>(&OpenDirectPayload { user: UserId("ada".into()) })
        .await
        .expect("a direct room")
        .id;
    let refused =
        admin.request::<CreateWebhook>(&NewWebhook { room: dm, bot: UserId("ci".into()) }).await;
    assert!(matches!(refused, Err(ChatError::Forbidden { .. })), "{refused:?}");

    // A banned bot's webhook posts nothing either.
    let ban = BanPayload { user: UserId("ci".into()), reason: String::new() };
    admin.request::<BanPerson>(&ban).await.expect("banned");
    let (status, answer) = post(app, &hook.path, Some(&hook.secret), text()).await;
    assert_eq!((status, answer["code"].clone()), (401, json!("bad_webhook")));
}

async fn a_flood_through_a_webhook_is_rate_limited(store: Store) {
    let subject = store
        .start(|c| {
            c.admins = vec!["Ada".into()];
            c.rate_per_second = 1;
            c.rate_burst = 2;
        })
        .await;
    let app = &subject.app;
    let admin = admin_socket(app).await;
    let cy = app.connect("Cy").await;
    let hook = hook_in(&admin, &cy, "noisy").await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for i in 0..6 {
        let response = reqwest::Client::new()
            .post(app.url(&hook.path))
            .bearer_auth(&hook.secret)
            .json(&json!({ "text": format!("alert {i}") }))
            .send()
            .await
            .expect("answered");
        statuses.push(response.status().as_u16());
        if response.status().as_u16() == 429 {
            retry_after = response.headers().get("retry-after").cloned();
        }
    }
    assert!(statuses.starts_with(&[201, 201]), "{statuses:?}");
    assert!(statuses.contains(&429), "a burst beyond the bucket is refused: {statuses:?}");
    assert!(retry_after.is_some(), "with Retry-After");
}
