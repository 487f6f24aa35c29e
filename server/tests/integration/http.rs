//! Plain HTTP: health check, the server-rendered page, and the origin guard.

use crate::common;

use common::spawn_app;

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;
    let res = reqwest::get(app.url("/healthz")).await.expect("request");
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body, serde_json::json!({ "status": "ok" }));
}

#[tokio::test]
async fn the_page_is_rendered_on_the_server() {
    let app = spawn_app().await;
    let res = reqwest::get(app.url("/")).await.expect("request");
    assert_eq!(res.status(), 200);
    let html = res.text().await.expect("body");
    assert!(html.contains("<title>Parley</title>"), "{html}");
    assert!(html.contains("Sign in to Parley"), "the sign-in form is in the SSR output");
    // Only the chat needs the Socket.IO client: the sign-in page neither loads nor preloads it.
    assert!(!html.contains("/vendor/socket.io.min.js"), "{html}");
    assert!(html.contains("/pkg/parley.js"), "the hydration script is referenced");
}

/// Without a router, `App` itself tells the chat's page from any other path (`app::address`):
/// another path is a 404 that says so, and shows no sign-in form.
#[tokio::test]
async fn another_path_is_page_not_found() {
    let app = spawn_app().await;
    let res = reqwest::get(app.url("/no-such-page?room=lobby")).await.expect("request");
    assert_eq!(res.status(), 404);
    let html = res.text().await.expect("body");
    assert!(html.contains("Page not found."), "{html}");
    assert!(!html.contains("Sign in to Parley"), "{html}");
}

#[tokio::test]
async fn pages_are_compressed_for_clients_that_accept_it() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    for encoding in ["br", "gzip"] {
        let res = client
            .get(app.url("/"))
            .header("Accept-Encoding", encoding)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 200);
        let header = res.headers().get("content-encoding").map(|v| v.to_str().expect("ascii"));
        assert_eq!(header, Some(encoding));
    }
    let plain = reqwest::get(app.url("/")).await.expect("request");
    assert_eq!(plain.headers().get("content-encoding"), None, "identity when not asked");
    assert!(plain.text().await.expect("body").contains("<title>Parley</title>"));
}

#[tokio::test]
async fn an_engine_io_handshake_from_a_foreign_origin_is_refused() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let handshake = app.url("/socket.io/?EIO=4&transport=polling");

    let foreign = client
        .get(&handshake)
        .header("Origin", "http://evil.example")
        .send()
        .await
        .expect("request");
    assert_eq!(foreign.status(), 403);

    let own = client
        .get(&handshake)
        .header("Origin", format!("http://{}", app.addr))
        .send()
        .await
        .expect("request");
    assert_eq!(own.status(), 200);
    assert!(own.text().await.expect("body").starts_with('0'), "an Engine.IO open packet");
}

#[tokio::test]
async fn a_configured_origin_is_allowed() {
    let app =
        common::spawn_app_with(|c| c.allowed_origins = vec!["https://chat.example.com".into()])
            .await;
    let res = reqwest::Client::new()
        .get(app.url("/socket.io/?EIO=4&transport=polling"))
        .header("Origin", "https://chat.example.com")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
}
