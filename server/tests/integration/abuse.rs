//! What a hostile or broken client can do: flood, oversize, malformed packets. Each is refused,
//! changes nothing, and leaves the server serving everyone else.

use crate::common;

use app::ChatError;
use app::events::messages::{
    HistoryRequest, LoadHistory, NewMessage, SendMessage, SendMessagePayload,
};
use app::model::{ChatMessage, RoomId};
use common::{TestApp, spawn_app, spawn_app_with};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

fn lobby(body: &str) -> SendMessagePayload {
    SendMessagePayload {
        id: Uuid::now_v7(),
        room: RoomId::lobby(),
        body: body.to_owned(),
        thread: None,
    }
}

/// The lobby's stored messages (the newest page), as a fresh reader sees them.
async fn lobby_messages(app: &TestApp) -> Vec<ChatMessage> {
    let reader = app.connect("Auditor").await;
    let page = reader
        .request::<LoadHistory>(&HistoryRequest {
            room: RoomId::lobby(),
            before: None,
            back_to: None,
        })
        .await
        .expect("history");
    page.messages
}

async fn lobby_count(app: &TestApp) -> usize {
    lobby_messages(app).await.len()
}

/// The server still accepts a connection and delivers a message.
async fn still_serving(app: &TestApp) {
    let ada = app.connect("Ada").await;
    let mut bob = app.connect("Bob").await;
    let sent = ada.request::<SendMessage>(&lobby("still here")).await.expect("accepted");
    let (got, _) = bob.until::<NewMessage>(|m| m.id == sent.id).await;
    assert_eq!(got, sent);
}

#[tokio::test]
async fn a_flood_is_refused_with_a_typed_error_and_others_are_unaffected() {
    let app = spawn_app_with(|c| {
        c.rate_per_second = 2;
        c.rate_burst = 5;
    })
    .await;
    let eve = app.connect("Eve").await;
    let bob = app.connect("Bob").await;
    let mut cy = app.connect("Cy").await;

    let mut accepted = 0;
    let mut refused = 0;
    for i in 0..30 {
        match eve.request::<SendMessage>(&lobby(&format!("spam {i}"))).await {
            Ok(_) => accepted += 1,
            Err(ChatError::RateLimited { retry_after_ms }) => {
                assert!(retry_after_ms > 0);
                refused += 1;
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(refused > 0, "the flood was limited");

    // Bob has his own budget: his message goes through at once and reaches Cy.
    let sent = bob.request::<SendMessage>(&lobby("hello from Bob")).await.expect("not limited");
    let (got, _) = cy.until::<NewMessage>(|m| m.id == sent.id).await;
    assert_eq!(got, sent);

    // Refused requests changed nothing: only the accepted ones (and Bob's) are stored.
    assert_eq!(lobby_count(&app).await, accepted + 1);
}

/// A raw Engine.IO v4 WebSocket, connected to `/chat` as `name`.
async fn raw_socket(
    app: &TestApp,
    name: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", app.addr);
    let mut request = url.into_client_request().expect("request");
    let cookie = app.session(name).await;
    request.headers_mut().insert("cookie", cookie.parse().expect("header value"));
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.expect("websocket");
    let open = ws.next().await.expect("open packet").expect("frame");
    assert!(open.to_text().expect("text").starts_with('0'), "{open:?}");
    ws.send(Message::text("40/chat,{}")).await.expect("connect");
    loop {
        let frame = ws.next().await.expect("connect ack").expect("frame");
        let text = frame.to_text().expect("text").to_owned();
        if text == "2" {
            ws.send(Message::text("3")).await.expect("pong");
            continue;
        }
        assert!(text.starts_with("40/chat,"), "{text}");
        return ws;
    }
}

/// Waits until the server closes `ws` (a close frame, an error or the end of the stream).
async fn closed_by_server(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> bool {
    let deadline = tokio::time::Instant::now() + common::WAIT;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return false,
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
            Ok(Some(Ok(Message::Text(t)))) if t.as_str() == "2" => {
                let _ = ws.send(Message::text("3")).await;
            }
            Ok(Some(Ok(_))) => {}
        }
    }
}

#[tokio::test]
async fn an_oversized_websocket_message_closes_that_connection_only() {
    let app = spawn_app_with(|c| c.max_payload = 16 * 1024).await;
    let mut ws = raw_socket(&app, "Eve").await;
    let body = "x".repeat(20 * 1024);
    let packet = format!(
        "42/chat,[\"message:send\",{{\"id\":\"{}\",\"room\":\"lobby\",\"body\":\"{body}\"}}]",
        Uuid::now_v7()
    );
    let _ = ws.send(Message::text(packet)).await;
    assert!(closed_by_server(&mut ws).await, "the server closed the oversized connection");
    assert_eq!(lobby_count(&app).await, 0, "nothing was stored");
    still_serving(&app).await;
}

/// The largest message a person may send, in four-byte characters, is ~16 KB on the wire: many
/// times the server's initial WebSocket read buffer. It arrives whole and is stored.
#[tokio::test]
async fn the_largest_message_arrives_whole_over_websocket() {
    let app = spawn_app().await;
    let mut ws = raw_socket(&app, "Ada").await;
    let body = "\u{1F600}".repeat(app::limits::MAX_MESSAGE_CHARS);
    let packet = format!(
        "42/chat,7[\"message:send\",{{\"id\":\"{}\",\"room\":\"lobby\",\"body\":\"{body}\"}}]",
        Uuid::now_v7()
    );
    assert!(packet.len() > 16_000, "{}", packet.len());
    ws.send(Message::text(packet)).await.expect("sent");
    let ack = tokio::time::timeout(common::WAIT, async {
        loop {
            let frame = ws.next().await.expect("open").expect("frame");
            let text = frame.to_text().expect("text").to_owned();
            if let Some(ack) = text.strip_prefix("43/chat,7") {
                return ack.to_owned();
            }
        }
    })
    .await
    .expect("acknowledged");
    let [ack]: [app::events::Ack<SendMessage>; 1] = serde_json::from_str(&ack).expect("typed ack");
    assert_eq!(ack.expect("accepted").body, body);

    let stored = lobby_messages(&app).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].body, body);
}

/// A signed-in long-polling connection to `/chat`: the URL to post packets to.
async fn polling_session(app: &TestApp, http: &reqwest::Client, cookie: &str) -> String {
    let base = app.url("/socket.io/?EIO=4&transport=polling");
    let open = http.get(&base).header("cookie", cookie).send().await.expect("handshake");
    let open = open.text().await.expect("body");
    let sid = open
        .split("\"sid\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a sid in the open packet")
        .to_owned();
    let url = format!("{base}&sid={sid}");
    let connect =
        http.post(&url).header("cookie", cookie).body("40/chat,{}").send().await.expect("post");
    assert!(connect.status().is_success());
    let mut polled = String::new();
    for _ in 0..5 {
        let res = http.get(&url).header("cookie", cookie).send().await.expect("poll");
        polled.push_str(&res.text().await.expect("body"));
        if polled.contains("40/chat,") {
            break;
        }
    }
    assert!(polled.contains("40/chat,{\"sid\""), "the signed-in connect is accepted: {polled}");
    url
}

/// A `message:send` packet (acked as `ack`) that the server would store.
fn send_packet(body: &str, ack: u32) -> String {
    let payload = serde_json::json!({ "id": Uuid::now_v7(), "room": "lobby", "body": body });
    format!("42/chat,{ack}[\"message:send\",{payload}]")
}

#[tokio::test]
async fn an_oversized_long_polling_body_is_refused() {
    let app = spawn_app_with(|c| c.max_payload = 8 * 1024).await;
    let http = reqwest::Client::new();
    let eve = app.session("Eve").await;
    let url = polling_session(&app, &http, &eve).await;

    // A valid message of 3,000 characters (within the message limit) in 3-byte characters: over
    // the 8 KiB packet limit, so the only reason to refuse it is the payload limit.
    let big = send_packet(&"€".repeat(3_000), 1);
    assert!(big.len() > 8 * 1024);
    let res = http.post(&url).header("cookie", &eve).body(big).send().await.expect("post");
    assert!(!res.status().is_success(), "an oversized body is refused: {}", res.status());
    assert_eq!(lobby_count(&app).await, 0, "the oversized message was stored");

    // The same path with a message under the limit stores it: the check above could fail.
    let url = polling_session(&app, &http, &eve).await;
    let small = send_packet(&"€".repeat(100), 1);
    let res = http.post(&url).header("cookie", &eve).body(small).send().await.expect("post");
    assert!(res.status().is_success(), "{}", res.status());
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while lobby_count(&app).await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the small message was never stored");
    }
    still_serving(&app).await;
}

#[tokio::test]
async fn malformed_packets_over_websocket_change_nothing_and_hurt_no_one() {
    let app = spawn_app().await;
    let garbage: [&str; 9] = [
        "xyz",
        "4",
        "42/chat,not json",
        "42/chat,[]",
        "42/chat,[123]",
        "42/chat,{\"message:send\":1}",
        "42/chat,[\"message:send\",{\"id\":\"x\",\"room\":\"lobby\",\"body\":\"garbage\"}]",
        "41/chat,",
        "\u{0}\u{1}\u{2}",
    ];
    let mut acked = Vec::new();
    for (i, packet) in garbage.into_iter().enumerate() {
        let mut ws = raw_socket(&app, "Eve").await;
        let _ = ws.send(Message::text(packet)).await;
        let _ = ws.send(Message::binary(vec![0xff, 0x00, 0x13])).await;
        // A valid message after the garbage, where the connection survived it: proof that a
        // packet that should be stored is stored, so "nothing else was" means something.
        let control = format!("after garbage {i}");
        if ws.send(Message::text(send_packet(&control, 7))).await.is_ok() {
            let deadline = tokio::time::Instant::now() + common::WAIT;
            while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, ws.next()).await {
                if frame.to_text().is_ok_and(|t| t.starts_with("43/chat,7")) {
                    acked.push(control);
                    break;
                }
            }
        }
        let _ = ws.close(None).await;
    }
    let stored: Vec<String> = lobby_messages(&app).await.into_iter().map(|m| m.body).collect();
    // A control may be stored and its ack lost when the connection closes on the garbage that
    // follows; what must never be stored is anything but a control.
    assert!(stored.iter().all(|b| b.starts_with("after garbage ")), "{stored:?}");
    assert!(acked.iter().all(|b| stored.contains(b)), "acked but not stored: {acked:?} {stored:?}");
    assert!(!stored.is_empty(), "no control message was stored: the check proves nothing");
    still_serving(&app).await;
}

#[tokio::test]
async fn malformed_long_polling_bodies_are_refused() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    let eve = app.session("Eve").await;
    // (An empty body is no packet at all, and accepted as such.)
    for body in ["garbage", "42/chat,[", "\u{1e}\u{1e}"] {
        let url = polling_session(&app, &http, &eve).await;
        let res = http.post(&url).header("cookie", &eve).body(body).send().await.expect("post");
        let status = res.status();
        // Engine.IO may accept the body (200) before Socket.IO's parser reads the packet; then
        // the refusal is the session's end: the next poll is refused or carries a close packet.
        let refused = status.is_client_error() || {
            let poll = http.get(&url).header("cookie", &eve).send();
            match tokio::time::timeout(common::WAIT, poll).await {
                Ok(Ok(res)) => {
                    let ended = !res.status().is_success();
                    ended || res.text().await.unwrap_or_default().starts_with('1')
                }
                Ok(Err(_)) => true,
                Err(_) => false,
            }
        };
        assert!(refused, "{body:?} was not refused: {status}, and the session lives on");
    }
    // A well-formed packet with a payload of the wrong shape is answered with a typed error.
    let url = polling_session(&app, &http, &eve).await;
    let bad = "42/chat,5[\"message:send\",{\"body\":1}]";
    let res = http.post(&url).header("cookie", &eve).body(bad).send().await.expect("post");
    assert!(res.status().is_success());
    let mut answer = String::new();
    while !answer.contains("43/chat,5") {
        let poll = http.get(&url).header("cookie", &eve).send();
        let res = tokio::time::timeout(common::WAIT, poll).await.expect("an ack in time");
        answer.push_str(&res.expect("poll").text().await.expect("body"));
    }
    assert!(answer.contains("invalid_payload"), "{answer}");
    // A made-up session id is refused.
    let base = app.url("/socket.io/?EIO=4&transport=polling");
    let res = http
        .post(format!("{base}&sid=AAAAAAAAAAAAAAAAAAAA"))
        .header("cookie", &eve)
        .body(send_packet("forged session", 1))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status().as_u16(), 400, "a made-up session id is refused");
    assert_eq!(lobby_count(&app).await, 0, "nothing malformed or forged was stored");
    // The control: the same path with a valid packet stores it, so the check above can fail.
    let url = polling_session(&app, &http, &eve).await;
    let res = http.post(&url).header("cookie", &eve).body(send_packet("valid", 1)).send().await;
    assert!(res.expect("post").status().is_success());
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while lobby_count(&app).await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the valid message was never stored");
    }
    still_serving(&app).await;
}

#[tokio::test]
async fn a_websocket_upgrade_from_a_foreign_origin_is_refused() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let app = spawn_app().await;
    let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", app.addr);
    let upgrade = |origin: String| {
        let mut request = url.as_str().into_client_request().expect("request");
        request.headers_mut().insert("Origin", origin.parse().expect("header"));
        tokio_tungstenite::connect_async(request)
    };
    match upgrade("http://evil.example".to_owned()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 403),
        other => panic!(
            "a cross-site WebSocket must be refused, got {:?}",
            other.map(|(_, r)| r.status())
        ),
    }
    // The server's own origin upgrades fine.
    let (mut ws, _) = upgrade(format!("http://{}", app.addr)).await.expect("own origin");
    let open = ws.next().await.expect("open packet").expect("frame");
    assert!(open.to_text().expect("text").starts_with('0'));
}

#[tokio::test]
async fn connections_are_limited_per_person_and_per_address() {
    let app = spawn_app_with(|c| {
        c.max_connections_per_person = 2;
        c.max_connections_per_ip = 4;
    })
    .await;
    let ada1 = app.connect("Ada").await;
    let _ada2 = app.connect("Ada").await;
    let ada = app.session("Ada").await;
    let third = app.connect_with_cookie(Some(&ada)).await.err().expect("refused");
    assert!(third.contains("too many connections for this person"), "{third}");
    // Closing a tab frees its place.
    ada1.close().await;
    let mut again = None;
    for _ in 0..50 {
        if let Ok(client) = app.connect_with_cookie(Some(&ada)).await {
            again = Some(client);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "a closed tab's place is free again");

    // Everything here comes from 127.0.0.1: two more people fill the address's four places.
    let _bob = app.connect("Bob").await;
    let _cy = app.connect("Cy").await;
    let dan = app.session("Dan").await;
    let fifth = app.connect_with_cookie(Some(&dan)).await.err().expect("refused");
    assert!(fifth.contains("too many connections from this address"), "{fifth}");
}
