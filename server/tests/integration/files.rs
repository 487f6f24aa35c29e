//! Shared files through the real server, on SQLite (bytes under the data dir) and PostgreSQL
//! (bytes in `file_parts`): chunked uploads over Socket.IO binary attachments, resumed after a
//! reconnect, and downloads over HTTP to members only.
//!
//! The uploads speak the Socket.IO protocol over a plain WebSocket
//! ([`common::uploader::Uploader`]; why, there).

use std::io::Cursor;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::stores::Store;
use crate::common::uploader::Uploader;
use crate::common::{ChatClient, TestApp};
use crate::on_both_stores;
use app::events::messages::{DeleteMessage, DeleteRequest, NewMessage};
use app::events::rooms::{CreateRoom, CreateRoomPayload, InvitePayload, InviteToRoom};
use app::model::{ChatMessage, RoomId, UserId};

on_both_stores!(
    an_interrupted_upload_resumes_and_only_members_download_it,
    the_same_file_twice_is_stored_and_counted_once,
    svg_and_html_are_served_so_they_cannot_run,
    uploads_are_bounded_and_refusals_change_nothing,
);

fn message_of(ack: &Value) -> ChatMessage {
    serde_json::from_value(ack.get("Ok").unwrap_or_else(|| panic!("refused: {ack}")).clone())
        .expect("a message")
}

fn error_code(ack: &Value) -> String {
    ack["Err"]["code"].as_str().unwrap_or_else(|| panic!("not refused: {ack}")).to_owned()
}

/// A PNG of `side` × `side` pixels whose content depends on `seed`.
fn png(side: u32, seed: u8) -> Vec<u8> {
    // Noise (a linear congruential sequence), so the PNG does not compress to nothing.
    let mut state = u32::from(seed).wrapping_mul(2_654_435_761).wrapping_add(1);
    let image = image::RgbImage::from_fn(side, side, |_, _| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let [r, g, b, _] = state.to_le_bytes();
        image::Rgb([r, g, b])
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).expect("png");
    out.into_inner()
}

async fn private_room(owner: &ChatClient, name: &str, members: &[&str]) -> RoomId {
    let room =
        owner.request::<CreateRoom>(&CreateRoomPayload { name: name.into(), private: true }).await;
    let room = room.expect("created").id;
    for member in members {
        owner
            .request::<InviteToRoom>(&InvitePayload {
                room: room.clone(),
                user: UserId((*member).to_owned()),
            })
            .await
            .expect("invited");
    }
    room
}

/// `GET path` with `name`'s session (or none): status, headers, body.
async fn download(
    app: &TestApp,
    name: Option<&str>,
    path: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = reqwest::Client::new().get(app.url(path));
    if let Some(name) = name {
        request = request.header("cookie", app.session(name).await);
    }
    let response = request.send().await.expect("response");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.expect("body").to_vec())
}

fn header<'h>(headers: &'h reqwest::header::HeaderMap, name: &str) -> &'h str {
    headers.get(name).map_or("", |v| v.to_str().unwrap_or(""))
}

async fn an_interrupted_upload_resumes_and_only_members_download_it(store: Store) {
    let subject = store.start(|_| {}).await;
    let app = &subject.app;
    let ada = app.connect("Ada").await;
    let mut bob = app.connect("Bob").await;
    let _cy = app.connect("Cy").await;
    let room = private_room(&ada, "design", &["bob"]).await;
    let picture = png(900, 7);

    let upload = Uuid::now_v7();
    let begin = json!({ "id": upload, "room": room, "name": "mock-up.png", "size": picture.len() });
    let mut first = Uploader::connect(app, "Ada").await;
    let begun = first.request("file:begin", begin.clone()).await;
    let chunk = begun["Ok"]["chunk_bytes"].as_u64().expect("chunk size") as usize;
    assert!(picture.len() > 3 * chunk, "the picture takes several chunks");
    let acked = first.chunk(upload, 0, &picture[..chunk]).await;
    assert_eq!(acked["Ok"]["received"], json!(chunk));
    // The connection drops mid-upload.
    drop(first);

    let mut second = Uploader::connect(app, "Ada").await;
    let resumed = second.request("file:begin", begin.clone()).await;
    assert_eq!(resumed["Ok"]["received"], json!(chunk), "resumes from the last acked chunk");
    // A chunk resent after a lost ack is acked again, not appended twice.
    let again = second.chunk(upload, 0, &picture[..chunk]).await;
    assert_eq!(again["Ok"]["received"], json!(chunk));
    // An upload is its person's: Bob, in the same room and with the id, cannot add to it or
    // finish it.
    let mut bobs = Uploader::connect(app, "Bob").await;
    let meddled = bobs.chunk(upload, chunk as u64, &picture[chunk..2 * chunk]).await;
    assert_eq!(error_code(&meddled), "unknown_upload");
    let stolen = bobs.request("file:finish", json!({ "id": upload, "caption": "mine" })).await;
    assert_eq!(error_code(&stolen), "unknown_upload");
    let mut offset = chunk;
    for part in picture[chunk..].chunks(chunk) {
        let acked = second.chunk(upload, offset as u64, part).await;
        offset += part.len();
        assert_eq!(acked["Ok"]["received"], json!(offset), "{acked}");
    }
    let finished =
        second.request("file:finish", json!({ "id": upload, "caption": "new header" })).await;
    let message = message_of(&finished);
    assert_eq!(message.id, upload);
    assert_eq!(message.body, "new header");
    let file = message.attachment.clone().expect("an attachment");
    assert_eq!(
        (file.name.as_str(), file.size, file.mime.as_str()),
        ("mock-up.png", picture.len() as u64, "image/png")
    );
    let image = file.image.expect("an image");
    assert_eq!((image.width, image.height), (900, 900));

    // Bob sees it arrive like any message.
    let arrived = bob.until::<NewMessage>(|m| m.id == upload).await;
    assert_eq!(arrived.0.attachment, message.attachment);

    // Finishing again (a lost ack) answers the stored message, and nothing is sent twice.
    let retried =
        second.request("file:finish", json!({ "id": upload, "caption": "new header" })).await;
    assert_eq!(message_of(&retried), message);

    // Once shared, the id is a message of Ada's: Bob beginning with it is refused, and his
    // finish does not answer her message.
    let taken = bobs.request("file:begin", begin.clone()).await;
    assert_eq!(error_code(&taken), "message_id_taken");
    let stolen = bobs.request("file:finish", json!({ "id": upload })).await;
    assert_eq!(error_code(&stolen), "unknown_upload");

    // A file shared as a reply in the thread of Ada's file, with its caption.
    let reply = Uuid::now_v7();
    let begun = bobs
        .request("file:begin", json!({ "id": reply, "room": room, "name": "notes.txt", "size": 5 }))
        .await;
    assert_eq!(begun["Ok"]["received"], json!(0), "{begun}");
    bobs.chunk(reply, 0, b"notes").await;
    let replied = bobs
        .request("file:finish", json!({ "id": reply, "caption": "my notes", "thread": upload }))
        .await;
    let replied = message_of(&replied);
    assert_eq!((replied.thread, replied.body.as_str()), (Some(upload), "my notes"));
    assert_eq!(replied.attachment.expect("attached").size, 5);

    let url = format!("/files/{upload}");
    let (status, headers, body) = download(app, Some("Bob"), &url).await;
    assert_eq!(status, 200);
    assert_eq!(body, picture, "the bytes as uploaded");
    assert_eq!(header(&headers, "content-type"), "image/png");
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert!(header(&headers, "content-security-policy").contains("sandbox"));

    let (status, headers, body) = download(app, Some("Bob"), &format!("{url}/preview")).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "image/png");
    let preview = image::load_from_memory(&body).expect("a preview image");
    assert_eq!((preview.width(), preview.height()), (480, 480));

    // Cy is not in the room, and a visitor is not signed in.
    assert_eq!(download(app, Some("Cy"), &url).await.0, 404);
    assert_eq!(download(app, Some("Cy"), &format!("{url}/preview")).await.0, 404);
    assert_eq!(download(app, None, &url).await.0, 401);

    // Deleting the message makes the file unreachable.
    ada.request::<DeleteMessage>(&DeleteRequest { id: upload }).await.expect("deleted");
    assert_eq!(download(app, Some("Bob"), &url).await.0, 404);
    assert_eq!(download(app, Some("Ada"), &url).await.0, 404);
}

async fn the_same_file_twice_is_stored_and_counted_once(store: Store) {
    let data = tempfile::tempdir().expect("data dir");
    let picture = png(64, 1);
    let quota = picture.len() as u64 * 3 / 2;
    let dir = data.path().to_owned();
    let subject = store
        .start(|c| {
            c.data_dir = dir;
            c.upload_quota_bytes = quota;
        })
        .await;
    let app = &subject.app;
    let ada = app.connect("Ada").await;
    let room = private_room(&ada, "design", &[]).await;
    let mut uploader = Uploader::connect(app, "Ada").await;

    let first = message_of(&uploader.upload(&room, "a.png", &picture).await);
    let second = message_of(&uploader.upload(&room, "b.png", &picture).await);
    assert_ne!(first.id, second.id, "two messages");
    assert_eq!(
        first.attachment.as_ref().map(|a| &a.file),
        second.attachment.as_ref().map(|a| &a.file)
    );
    // Both still download, each under its own message.
    for message in [&first, &second] {
        let (status, _, body) = download(app, Some("Ada"), &format!("/files/{}", message.id)).await;
        assert_eq!((status, body.len()), (200, picture.len()));
    }
    // The quota counted the file once: a different file of the same size does not fit.
    let other = png(64, 2);
    let refused = uploader.upload(&room, "c.png", &other).await;
    assert_eq!(error_code(&refused), "quota_exceeded", "{refused}");

    if matches!(store, Store::Sqlite) {
        let mut stored = 0;
        for fan in std::fs::read_dir(data.path().join("files")).expect("files dir") {
            for file in std::fs::read_dir(fan.expect("entry").path()).expect("fan dir") {
                let name = file.expect("entry").file_name().into_string().expect("name");
                if !name.starts_with("preview-") {
                    stored += 1;
                }
            }
        }
        assert_eq!(stored, 1, "one copy of the bytes");
    }
}

async fn svg_and_html_are_served_so_they_cannot_run(store: Store) {
    let subject = store.start(|_| {}).await;
    let app = &subject.app;
    let ada = app.connect("Ada").await;
    let room = private_room(&ada, "design", &[]).await;
    let mut uploader = Uploader::connect(app, "Ada").await;
    let svg =
        br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>"#;
    let html = b"<html><body><script>fetch('/')</script></body></html>";
    for (name, bytes) in [("logo.svg", &svg[..]), ("page.html", &html[..])] {
        let message = message_of(&uploader.upload(&room, name, bytes).await);
        let file = message.attachment.expect("attachment");
        assert!(file.image.is_none(), "{name} is not shown as an image");
        let (status, headers, body) =
            download(app, Some("Ada"), &format!("/files/{}", message.id)).await;
        assert_eq!(status, 200);
        assert_eq!(body, bytes);
        assert_eq!(header(&headers, "content-type"), "application/octet-stream", "{name}");
        assert!(header(&headers, "content-disposition").starts_with("attachment;"), "{name}");
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        let policy = header(&headers, "content-security-policy");
        assert!(policy.contains("sandbox") && policy.contains("default-src 'none'"), "{policy}");
    }
}

async fn uploads_are_bounded_and_refusals_change_nothing(store: Store) {
    let subject = store
        .start(|c| {
            c.max_file_bytes = 100_000;
            c.uploads_per_person = 1;
            c.upload_types = vec!["image/*".into()];
        })
        .await;
    let app = &subject.app;
    let ada = app.connect("Ada").await;
    let _cy = app.connect("Cy").await;
    let room = private_room(&ada, "design", &[]).await;
    let mut uploader = Uploader::connect(app, "Ada").await;
    let begin = |id: Uuid, room: &RoomId, size: u64| json!({ "id": id, "room": room, "name": "x", "size": size });

    let big = uploader.request("file:begin", begin(Uuid::now_v7(), &room, 100_001)).await;
    assert_eq!(error_code(&big), "file_too_large");

    // Cy cannot upload into a private room she is not in.
    let mut cy = Uploader::connect(app, "Cy").await;
    let outsider = cy.request("file:begin", begin(Uuid::now_v7(), &room, 10)).await;
    assert_eq!(error_code(&outsider), "unknown_room");

    let one = Uuid::now_v7();
    let begun = uploader.request("file:begin", begin(one, &room, 10)).await;
    assert_eq!(begun["Ok"]["received"], json!(0), "{begun}");
    let second = uploader.request("file:begin", begin(Uuid::now_v7(), &room, 10)).await;
    assert_eq!(error_code(&second), "too_many_uploads");

    let skipped = uploader.chunk(one, 5, b"hello").await;
    assert_eq!(skipped["Err"], json!({ "code": "upload_offset", "expected": 0 }));
    let past_end = uploader.chunk(one, 0, b"hello world").await;
    assert_eq!(error_code(&past_end), "upload_offset");
    uploader.chunk(one, 0, b"%PDF-").await;
    let early = uploader.request("file:finish", json!({ "id": one })).await;
    assert_eq!(early["Err"], json!({ "code": "upload_incomplete", "received": 5, "size": 10 }));
    uploader.chunk(one, 5, b"1.7\n ").await;
    // A PDF, whatever its name says, where only images are accepted.
    let refused = uploader.request("file:finish", json!({ "id": one })).await;
    assert_eq!(refused["Err"], json!({ "code": "file_type_refused", "mime": "application/pdf" }));
    // Refused and over: the upload is gone, and no message was posted.
    let gone = uploader.request("file:finish", json!({ "id": one })).await;
    assert_eq!(error_code(&gone), "unknown_upload");
    let history = ada
        .request::<app::events::messages::LoadHistory>(&app::events::messages::HistoryRequest {
            room: room.clone(),
            before: None,
            back_to: None,
        })
        .await
        .expect("history");
    assert!(history.messages.is_empty(), "{:?}", history.messages);

    // Cancelling frees the place for another upload.
    let next = Uuid::now_v7();
    uploader.request("file:begin", begin(next, &room, 10)).await;
    uploader.request("file:cancel", json!({ "id": next })).await;
    let after = uploader.upload(&room, "dot.png", &png(4, 9)).await;
    assert!(message_of(&after).attachment.is_some());
}
