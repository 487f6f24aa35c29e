//! Accounts and sessions over real HTTP and a real Socket.IO client: registration, sign-in,
//! guests, sign-out, and every way of connecting without a valid session.

use crate::common;

use app::events::messages::{NewMessage, SendMessage, SendMessagePayload};
use app::events::rooms::{Empty, ListRooms};
use app::model::RoomId;
use common::{ChatClient, call_auth, password_of, register, sign_in, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use uuid::Uuid;

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

/// The raw `Set-Cookie` header of a registration.
async fn register_raw(
    addr: std::net::SocketAddr,
    name: &str,
    password: &str,
) -> (u16, Vec<String>, String) {
    let res = reqwest::Client::new()
        .post(format!("http://{addr}/api/register"))
        .form(&[("name", name), ("password", password)])
        .send()
        .await
        .expect("answer");
    let status = res.status().as_u16();
    let cookies = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect();
    (status, cookies, res.text().await.expect("body"))
}

#[tokio::test]
async fn registering_sets_a_safe_session_cookie_and_reveals_no_hash() {
    let app = spawn_app().await;
    let (status, cookies, body) = register_raw(app.addr, "Ada", "correct horse").await;
    assert_eq!(status, 200, "{body}");
    let cookie =
        cookies.iter().find(|c| c.starts_with("parley_session=")).expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
        assert!(cookie.contains(attribute), "{attribute} missing from {cookie}");
    }
    assert!(!cookie.contains("Secure"), "Secure only when configured: {cookie}");
    let user: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(user, json!({ "id": "ada", "name": "Ada" }));
    assert!(!body.contains("argon2"), "{body}");

    let secure = spawn_app_with(|c| c.secure_cookies = true).await;
    let (_, cookies, _) = register_raw(secure.addr, "Ada", "correct horse").await;
    assert!(
        cookies.iter().any(|c| c.starts_with("parley_session=") && c.contains("Secure")),
        "{cookies:?}"
    );
}

#[tokio::test]
async fn bad_registrations_are_refused_with_typed_errors_and_create_nothing() {
    let app = spawn_app().await;
    register(app.addr, "Ada", "correct horse").await.expect("registered");

    // A refusal is the caller's mistake, answered with a 4xx (a 500 would page an operator).
    let (status, taken) = register(app.addr, "ADA", "another password").await.expect_err("taken");
    assert_eq!(status, 409, "{taken}");
    assert_eq!(code(&taken), "name_taken", "{taken}");

    let (status, short) = register(app.addr, "Bob", "short").await.expect_err("too short");
    assert_eq!(status, 422);
    assert_eq!(short, json!({ "code": "invalid_password", "min": 8, "max": 128 }));
    let (status, wrong) = sign_in(app.addr, "Ada", "not her password").await.expect_err("wrong");
    assert_eq!((status, code(&wrong)), (401, "bad_credentials"));
    let (status, guest) =
        call_auth(app.addr, "guest", &[("name", "Gus")], None).await.expect_err("no guests here");
    assert_eq!((status, code(&guest)), (403, "guests_disabled"));
    let (_, long) = register(app.addr, "Bob", &"x".repeat(129)).await.expect_err("too long");
    assert_eq!(code(&long), "invalid_password");
    let (_, name) = register(app.addr, "   ", "long enough").await.expect_err("empty name");
    assert_eq!(code(&name), "invalid_name");
    let (_, control) =
        register(app.addr, "a\u{7}b", "long enough").await.expect_err("control character");
    assert_eq!(code(&control), "invalid_name");
    let robert = "Robert'); DROP--";
    register(app.addr, robert, "long enough")
        .await
        .expect("SQL metacharacters are just characters");
    sign_in(app.addr, robert, "long enough").await.expect("and sign in");

    // Nothing was created by the refusals: Bob has no account, Ada's password is unchanged.
    let (_, bob) = sign_in(app.addr, "Bob", "short").await.expect_err("no account");
    assert_eq!(code(&bob), "bad_credentials");
    sign_in(app.addr, "ada", "correct horse").await.expect("names match regardless of case");
    let (_, ada) =
        sign_in(app.addr, "Ada", "another password").await.expect_err("old password only");
    assert_eq!(code(&ada), "bad_credentials");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_name_look_the_same() {
    let app = spawn_app().await;
    register(app.addr, "Ada", "correct horse").await.expect("registered");
    let (s1, wrong) = sign_in(app.addr, "Ada", "wrong horse").await.expect_err("refused");
    let (s2, unknown) = sign_in(app.addr, "Nobody", "wrong horse").await.expect_err("refused");
    assert_eq!((s1, &wrong), (s2, &unknown));
    assert_eq!(wrong, json!({ "code": "bad_credentials" }));
}

#[tokio::test]
async fn sign_in_attempts_per_name_are_rate_limited() {
    let app = spawn_app_with(|c| c.sign_in_attempts_per_minute = 3).await;
    register(app.addr, "Ada", "correct horse").await.expect("registered");
    for _ in 0..3 {
        let (_, e) = sign_in(app.addr, "Ada", "guess").await.expect_err("wrong");
        assert_eq!(code(&e), "bad_credentials");
    }
    let (_, limited) = sign_in(app.addr, "Ada", "correct horse").await.expect_err("limited");
    assert_eq!(code(&limited), "rate_limited", "{limited}");
    assert!(limited["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0), "{limited}");
    // Other names are not affected.
    register(app.addr, "Bob", "correct horse").await.expect("registered");
    sign_in(app.addr, "Bob", "correct horse").await.expect("Bob signs in");
}

/// OWASP's device cookies: failures from clients that never signed in to a name lock out only
/// such clients; a browser that signed in before has an allowance of its own.
#[tokio::test]
async fn others_failures_cannot_lock_a_person_out_of_their_own_browser() {
    let app = spawn_app_with(|c| c.sign_in_attempts_per_minute = 3).await;
    let (status, ada_browser, _) = common::call_auth_cookies(
        app.addr,
        "register",
        &[("name", "Ada"), ("password", "correct horse")],
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let device: Vec<String> =
        ada_browser.into_iter().filter(|c| c.starts_with("parley_device=")).collect();
    assert_eq!(device.len(), 1, "registration hands out a device cookie");

    // Mallory guesses until the name is locked for clients like hers.
    for _ in 0..3 {
        let (_, e) = sign_in(app.addr, "Ada", "guess").await.expect_err("wrong");
        assert_eq!(code(&e), "bad_credentials");
    }
    let (_, locked) = sign_in(app.addr, "Ada", "correct horse").await.expect_err("locked");
    assert_eq!(code(&locked), "rate_limited", "{locked}");

    // Ada's browser still signs in with the right password.
    let form = [("name", "Ada"), ("password", "correct horse")];
    let (status, set, body) = common::call_auth_cookies(app.addr, "sign_in", &form, &device).await;
    assert_eq!(status, 200, "Ada is locked out of her own browser: {body}");
    assert!(set.iter().any(|c| c.starts_with("parley_session=") && c.len() > 15), "{set:?}");
    // A forged or foreign device cookie is just another unknown client.
    let forged = vec!["parley_device=forged".to_owned()];
    let (_, _, body) = common::call_auth_cookies(app.addr, "sign_in", &form, &forged).await;
    assert_eq!(code(&body), "rate_limited", "{body}");

    // Her browser's own attempts count on its own allowance (the sign-in above used one).
    let wrong = [("name", "Ada"), ("password", "typo horse")];
    for _ in 0..2 {
        let (_, _, e) = common::call_auth_cookies(app.addr, "sign_in", &wrong, &device).await;
        assert_eq!(code(&e), "bad_credentials");
    }
    let (_, _, e) = common::call_auth_cookies(app.addr, "sign_in", &form, &device).await;
    assert_eq!(code(&e), "rate_limited", "{e}");
}

/// Fresh names do not buy fresh attempts: registrations, sign-ins and guest joins from one
/// address share one allowance.
#[tokio::test]
async fn attempts_per_address_are_limited_whatever_the_name() {
    let app = spawn_app_with(|c| {
        c.auth_attempts_per_address_per_minute = 4;
        c.allow_guests = true;
    })
    .await;
    let fresh1 = register(app.addr, "Fresh1", "correct horse").await.expect("registered");
    register(app.addr, "Fresh2", "correct horse").await.expect("registered");
    let (_, e) = sign_in(app.addr, "Fresh3", "correct horse").await.expect_err("no such account");
    assert_eq!(code(&e), "bad_credentials");
    call_auth(app.addr, "guest", &[("name", "Fresh4")], None).await.expect("guest");
    for (endpoint, name) in [("register", "Fresh5"), ("sign_in", "Fresh6"), ("guest", "Fresh7")] {
        let (_, e) =
            call_auth(app.addr, endpoint, &[("name", name), ("password", "correct horse")], None)
                .await
                .expect_err("over the address's limit");
        assert_eq!(code(&e), "rate_limited", "{endpoint}: {e}");
    }
    // Refused means not created: nobody called Fresh5 exists.
    let tab = app.connect_with_cookie(Some(&fresh1)).await.expect("connected");
    let dm = tab
        .request::<app::events::rooms::OpenDirect>(&app::events::rooms::OpenDirectPayload {
            user: app::model::UserId("fresh5".into()),
        })
        .await;
    assert_eq!(dm, Err(app::ChatError::UnknownUser { user: "fresh5".into() }));
}

/// Password hashing runs a bounded number at a time; a request that cannot get a turn is
/// refused with `rate_limited` (here at once: no wait), never queued without bound.
#[tokio::test]
async fn password_hashing_is_bounded_and_saturation_is_refused() {
    let app = spawn_app_with(|c| {
        c.hashes_at_once = 1;
        c.hash_wait_ms = 0;
    })
    .await;
    let attempts = (0..40).map(|i| {
        let addr = app.addr;
        async move { register(addr, &format!("Flood{i}"), "correct horse").await }
    });
    let results = futures_util::future::join_all(attempts).await;
    let refused =
        results.iter().filter(|r| matches!(r, Err((_, e)) if code(e) == "rate_limited")).count();
    let created = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(refused + created, 40, "every answer is a success or rate_limited: {results:?}");
    assert!(refused > 0, "40 concurrent hashes with one turn and no wait were all run");
    assert!(created > 0, "someone got a turn");
}

#[tokio::test]
async fn connecting_without_a_valid_session_is_refused() {
    let app = spawn_app().await;
    let ada = app.session("Ada").await;
    let token = ada.trim_start_matches("parley_session=");

    let forged = [
        None,
        Some("parley_session=".to_owned()),
        Some("parley_session=forged".to_owned()),
        // Right shape and length, wrong bytes.
        Some(format!("parley_session={}", "A".repeat(43))),
        // One character changed.
        Some(format!("parley_session={}x", &token[..42])),
        // The right token under another cookie name.
        Some(format!("session={token}")),
        Some("parley_session=' OR '1'='1".to_owned()),
    ];
    for cookie in &forged {
        let err = app.connect_with_cookie(cookie.as_deref()).await.err().expect("refused");
        assert!(err.contains("please sign in"), "{cookie:?}: {err}");
    }
    // A handshake `auth` naming someone is ignored too.
    let err =
        ChatClient::connect(&app.url("/"), "/chat", json!({ "name": "Ada", "user": "ada" }), None)
            .await
            .err()
            .expect("refused");
    assert!(err.contains("please sign in"), "{err}");

    // The real session works, alongside other cookies.
    let client =
        app.connect_with_cookie(Some(&format!("theme=dark; {ada}"))).await.expect("connected");
    let rooms = client.request::<ListRooms>(&Empty {}).await.expect("rooms");
    assert_eq!(rooms.me.name.as_str(), "Ada");
}

#[tokio::test]
async fn identity_comes_from_the_session_never_from_the_payload() {
    let app = spawn_app().await;
    let ada = app.session("Ada").await;
    let mut bob = app.connect("Bob").await;
    let mallory = ChatClient::connect(&app.url("/"), "/chat", json!({ "name": "Bob" }), Some(&ada))
        .await
        .expect("connected");
    let request = SendMessagePayload {
        id: Uuid::now_v7(),
        room: RoomId::lobby(),
        body: "hi".into(),
        thread: None,
    };
    let mut raw = serde_json::to_value(&request).expect("json");
    raw["author"] = json!({ "id": "bob", "name": "Bob" });
    let ack = mallory.request_raw("message:send", raw).await;
    // Unknown fields are refused outright; the clean request is stored as Ada's.
    assert_eq!(code(&ack["Err"]), "invalid_payload", "{ack}");
    let sent = mallory.request::<SendMessage>(&request).await.expect("sent");
    assert_eq!(sent.author.id.0, "ada");
    let (got, _) = bob.until::<NewMessage>(|m| m.id == request.id).await;
    assert_eq!(got.author.name.as_str(), "Ada");
}

#[tokio::test]
async fn signing_out_ends_the_session_and_closes_its_connections() {
    let app = spawn_app().await;
    let ada = app.session("Ada").await;
    let tab = app.connect_with_cookie(Some(&ada)).await.expect("connected");
    let other_browser =
        sign_in(app.addr, "Ada", &password_of("Ada")).await.expect("second session");
    let other_tab = app.connect_with_cookie(Some(&other_browser)).await.expect("connected");

    let cleared = call_auth(app.addr, "sign_out", &[], Some(&ada)).await.expect("signed out");
    assert_eq!(cleared, "parley_session=", "the cookie is cleared");

    // The signed-out session's tab is closed by the server; its session no longer connects.
    let mut tab = tab;
    tab.closed().await;
    let err = app.connect_with_cookie(Some(&ada)).await.err().expect("refused");
    assert!(err.contains("please sign in"), "{err}");
    // The other browser's session is untouched.
    other_tab.request::<ListRooms>(&Empty {}).await.expect("still served");
}

/// A session signed out where this node cannot hear of it (another node sharing the database,
/// with no adapter between them: like a Redis outage) still ends this node's open sockets
/// within the configured check interval.
#[tokio::test]
async fn an_open_socket_ends_with_its_session_even_when_signed_out_elsewhere() {
    let data = tempfile::tempdir().expect("temp dir");
    let here = common::spawn_app_in(data.path(), |c| c.session_check_ms = 100).await;
    let there = common::spawn_app_in(data.path(), |c| c.session_check_ms = 100).await;
    let ada = here.session("Ada").await;
    let mut tab = here.connect_with_cookie(Some(&ada)).await.expect("connected");
    let bob = here.connect("Bob").await;

    call_auth(there.addr, "sign_out", &[], Some(&ada)).await.expect("signed out on the other node");
    tab.closed().await;
    // Only the ended session's sockets close.
    bob.request::<ListRooms>(&Empty {}).await.expect("Bob is still served");
    here.stop().await;
    there.stop().await;
}

#[tokio::test]
async fn an_expired_session_is_refused() {
    let app = spawn_app_with(|c| c.session_days = 0).await;
    let (status, cookies, _) = register_raw(app.addr, "Ada", "correct horse").await;
    assert_eq!(status, 200);
    let cookie = cookies[0].split(';').next().expect("pair").to_owned();
    let err = app.connect_with_cookie(Some(&cookie)).await.err().expect("refused");
    assert!(err.contains("please sign in"), "{err}");
}

#[tokio::test]
async fn guests_only_when_the_server_allows_them() {
    let closed = spawn_app().await;
    let (_, refused) =
        call_auth(closed.addr, "guest", &[("name", "Gus")], None).await.expect_err("refused");
    assert_eq!(refused, json!({ "code": "guests_disabled" }));

    let open = spawn_app_with(|c| c.allow_guests = true).await;
    let gus = call_auth(open.addr, "guest", &[("name", "Gus")], None).await.expect("guest session");
    let client = open.connect_with_cookie(Some(&gus)).await.expect("connected");
    assert_eq!(
        client.request::<ListRooms>(&Empty {}).await.expect("rooms").me.name.as_str(),
        "Gus"
    );
    // The name is taken now, for guests and accounts alike, and has no password to sign in with.
    let (_, again) =
        call_auth(open.addr, "guest", &[("name", "gus")], None).await.expect_err("taken");
    assert_eq!(code(&again), "name_taken");
    let (_, account) = register(open.addr, "Gus", "long enough").await.expect_err("taken");
    assert_eq!(code(&account), "name_taken");
    let (_, sign) = sign_in(open.addr, "Gus", "").await.expect_err("no password");
    assert_eq!(code(&sign), "bad_credentials");
}

#[tokio::test]
async fn the_page_shows_who_is_signed_in() {
    let app = spawn_app().await;
    let ada = app.session("Ada").await;
    let page = |cookie: Option<String>| {
        let mut req = reqwest::Client::new().get(app.url("/"));
        if let Some(cookie) = cookie {
            req = req.header("cookie", cookie);
        }
        async move { req.send().await.expect("page").text().await.expect("html") }
    };
    let signed = page(Some(ada)).await;
    assert!(signed.contains("Signed in as"), "{signed}");
    assert!(signed.contains("Ada"));
    // The chat hydrates only once the Socket.IO client is there: the page asks for it early.
    let preload =
        signed.find(r#"href="/vendor/socket.io.min.js""#).expect("the client is preloaded");
    let tag = &signed[signed[..preload].rfind('<').expect("a tag")..];
    assert!(
        tag.starts_with("<link") && tag[..tag.find('>').expect("end")].contains(r#"rel="preload""#),
        "{tag}"
    );
    let forged = page(Some("parley_session=forged".to_owned())).await;
    assert!(forged.contains("Sign in to Parley") && !forged.contains("Signed in as"), "{forged}");
}

#[tokio::test]
async fn sign_in_from_a_foreign_origin_is_refused() {
    let app = spawn_app().await;
    register(app.addr, "Ada", "correct horse").await.expect("registered");
    let res = reqwest::Client::new()
        .post(app.url("/api/sign_in"))
        .header("Origin", "http://evil.example")
        .form(&[("name", "Ada"), ("password", "correct horse")])
        .send()
        .await
        .expect("answer");
    assert_eq!(res.status(), 403);
    assert!(res.headers().get("set-cookie").is_none());
}
