//! What operators see, through the real server: the Prometheus endpoint on its own listener,
//! `/admin`'s list of connections and live figures across nodes, and ending one session.

use std::time::Duration;

use serde_json::json;

use crate::common::stores::Store;
use crate::common::{self, ChatClient, TestApp};
use crate::on_both_stores;
use app::ChatError;
use app::events::admin::{
    ADMIN_NAMESPACE, AdminAction, AuditRequest, EndSession, ListAudit, ListConnections,
    NodeFigures, SessionRef,
};
use app::events::messages::SendMessage;
use app::events::rooms::Empty;
use app::model::RoomId;

on_both_stores!(
    metrics_count_requests_messages_connections_and_the_store,
    an_administrator_lists_connections_and_ends_one_session,
);

async fn admin_socket(app: &TestApp, name: &str) -> ChatClient {
    let cookie = app.session(name).await;
    ChatClient::connect(&app.url("/"), ADMIN_NAMESPACE, json!({}), Some(&cookie))
        .await
        .expect("administrator")
}

async fn scrape(app: &TestApp) -> String {
    let response =
        reqwest::get(format!("http://{}/metrics", app.metrics_addr)).await.expect("scrape");
    assert_eq!(response.status(), 200);
    let kind =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert!(kind.is_some_and(|k| k.starts_with("text/plain")), "Prometheus text format");
    response.text().await.expect("body")
}

/// The value of the sample `series` (name and labels exactly as exposed), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

/// Requests by event and outcome, messages, rate-limit refusals, connections by transport and
/// the store's latency, for this server alone; and nothing of it on the public address.
async fn metrics_count_requests_messages_connections_and_the_store(store: Store) {
    let subject = store
        .start(|c| {
            c.rate_burst = 6;
            c.rate_per_second = 1;
        })
        .await;
    let app = &subject.app;
    let ada = app.connect("Ada").await;
    let _bob = app.connect("Bob").await;
    let lobby = RoomId::lobby();
    for text in ["one", "two"] {
        ada.request::<SendMessage>(&common::say(&lobby, text)).await.expect("sent");
    }
    let malformed = ada.request_raw("message:send", json!({ "room": 7 })).await;
    assert!(malformed.to_string().contains("invalid_payload"), "{malformed}");
    // Ada's bucket holds 6 (refilled at 1 a second): 3 taken, 8 more must meet a refusal.
    let mut refused = 0;
    for _ in 0..8 {
        if let Err(ChatError::RateLimited { .. }) =
            ada.request::<SendMessage>(&common::say(&lobby, "more")).await
        {
            refused += 1;
        }
    }
    assert!(refused > 0, "the burst of 6 was exceeded");

    let text = scrape(app).await;
    let ok = sample(&text, r#"parley_requests_total{event="message:send",outcome="ok"}"#);
    let posted = ok.expect("ok sends counted");
    assert_eq!(sample(&text, "parley_messages_total"), Some(posted), "{text}");
    assert_eq!(
        sample(&text, r#"parley_requests_total{event="message:send",outcome="invalid_payload"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"parley_refusals_total{limit="requests"}"#),
        Some(f64::from(refused)),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"parley_requests_total{event="message:send",outcome="rate_limited"}"#),
        Some(f64::from(refused))
    );
    let chat = ["websocket", "polling"]
        .iter()
        .map(|t| {
            sample(&text, &format!(r#"parley_connections{{namespace="/chat",transport="{t}"}}"#))
        })
        .map(|v| v.expect("both transports exposed"))
        .sum::<f64>();
    assert_eq!(chat, 2.0, "Ada and Bob: {text}");
    let count = sample(&text, r#"parley_request_duration_seconds_count{event="message:send"}"#);
    assert!(count.is_some_and(|c| c >= posted + 1.0), "{text}");
    assert!(
        sample(&text, "parley_store_latency_seconds_count").is_some_and(|c| c >= 1.0),
        "{text}"
    );
    assert!(text.contains("# TYPE parley_request_duration_seconds histogram"), "{text}");
    assert_eq!(sample(&text, "parley_adapter_errors_total").map(|v| v >= 0.0), Some(true));

    // Not on the public listener.
    let public = reqwest::get(app.url("/metrics")).await.expect("public");
    assert_eq!(public.status(), 404);
}

/// Ada has two sign-ins (two browsers); the administrator sees both connections (transport,
/// address, since) and ends one: its tab closes and its cookie is refused, the other stays.
async fn an_administrator_lists_connections_and_ends_one_session(store: Store) {
    let subject = store.start(|c| c.admins = vec!["Root".into()]).await;
    let app = &subject.app;
    let admin = admin_socket(app, "Root").await;
    let laptop = app.session("Ada").await;
    let phone = common::sign_in(app.addr, "Ada", &common::password_of("Ada")).await.expect("again");
    let mut on_laptop = app.connect_with_cookie(Some(&laptop)).await.expect("laptop");
    let mut on_phone = app.connect_with_cookie(Some(&phone)).await.expect("phone");

    let list = admin.request::<ListConnections>(&Empty {}).await.expect("connections");
    assert_eq!((list.nodes, list.partial, list.total), (1, false, 3), "{list:?}");
    let ada: Vec<_> = list.connections.iter().filter(|c| c.user.id.0 == "ada").collect();
    assert_eq!(ada.len(), 2, "{:?}", list.connections);
    assert_ne!(ada[0].session, ada[1].session, "two sign-ins");
    for c in &ada {
        assert_eq!(c.namespace, "/chat");
        assert!(["websocket", "polling"].contains(&c.transport.as_str()), "{c:?}");
        assert_eq!(c.address.as_deref(), Some("127.0.0.1"));
        assert!(c.since_ms > 0 && !c.bot);
    }
    assert!(list.connections.iter().any(|c| c.user.id.0 == "root" && c.namespace == "/admin"));

    // The list does not say which device is which (only the server knows a session's
    // cookie): end the first and see which tab closes.
    let first = ada[0].session.clone();
    admin.request::<EndSession>(&SessionRef { session: first.clone() }).await.expect("ended");
    let laptop_closed = tokio::select! {
        () = on_laptop.closed() => true,
        () = on_phone.closed() => false,
    };
    let (closed_cookie, kept, kept_cookie) =
        if laptop_closed { (&laptop, &on_phone, &phone) } else { (&phone, &on_laptop, &laptop) };
    let again = app.connect_with_cookie(Some(closed_cookie)).await;
    assert!(again.is_err(), "the ended sign-in is refused");
    kept.request::<SendMessage>(&common::say(&RoomId::lobby(), "still here")).await.expect("kept");
    assert!(app.connect_with_cookie(Some(kept_cookie)).await.is_ok());

    let after = admin.request::<ListConnections>(&Empty {}).await.expect("connections");
    assert!(after.connections.iter().all(|c| c.session != first), "{:?}", after.connections);
    let bad = admin.request::<EndSession>(&SessionRef { session: "../../x".into() }).await;
    assert!(matches!(bad, Err(ChatError::InvalidPayload { .. })), "{bad:?}");
    let log = admin.request::<ListAudit>(&AuditRequest::default()).await.expect("audit");
    assert_eq!(log.entries.len(), 1, "{:?}", log.entries);
    assert_eq!(
        (log.entries[0].action, log.entries[0].target.0.as_str()),
        (AdminAction::EndSession, "ada")
    );

    // Figures: one node, its connections, a store that answers, and messages per second once
    // the server has sampled for half a second.
    let figures = admin.request::<NodeFigures>(&Empty {}).await.expect("figures");
    assert_eq!(figures.nodes.len(), 1);
    let node = &figures.nodes[0];
    assert!(node.connections >= 3 && node.store_ms.is_some(), "{node:?}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        kept.request::<SendMessage>(&common::say(&RoomId::lobby(), "tick")).await.expect("sent");
        let figures = admin.request::<NodeFigures>(&Empty {}).await.expect("figures");
        if figures.nodes[0].messages_per_second > 0.0 && figures.nodes[0].requests_per_second > 0.0
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no rate after 5 s: {figures:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Two nodes (Redis, PostgreSQL): an administrator on node one sees Cy's connection on node
/// two and both nodes' figures, and ending Cy's session closes her tab there.
#[tokio::test]
async fn connections_and_figures_come_from_every_node() {
    let cluster = crate::cluster::cluster_with(|c| c.admins = vec!["Root".into()]).await;
    let [one, two] = &cluster.nodes;
    let admin = admin_socket(one, "Root").await;
    let cookie = one.session("Cy").await;
    let mut cy = two.connect_with_cookie(Some(&cookie)).await.expect("cy on node two");

    let list = admin.request::<ListConnections>(&Empty {}).await.expect("connections");
    assert_eq!((list.nodes, list.partial, list.total), (2, false, 2), "{list:?}");
    let root_node = &list.connections.iter().find(|c| c.user.id.0 == "root").expect("root").node;
    let cy_conn =
        list.connections.iter().find(|c| c.user.id.0 == "cy").expect("cy's, from node two");
    assert_ne!(&cy_conn.node, root_node, "{list:?}");

    let figures = admin.request::<NodeFigures>(&Empty {}).await.expect("figures");
    assert_eq!(figures.nodes.len(), 2, "{figures:?}");
    assert!(!figures.partial);
    let theirs = figures.nodes.iter().find(|n| n.node == cy_conn.node).expect("node two's");
    assert_eq!(theirs.connections, 1, "{theirs:?}");

    admin
        .request::<EndSession>(&SessionRef { session: cy_conn.session.clone() })
        .await
        .expect("ended");
    cy.closed().await;
}
