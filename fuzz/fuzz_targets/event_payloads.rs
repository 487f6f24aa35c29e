//! Feeds arbitrary bytes to the decoder of every client event's payload, the way the server
//! decodes what a socket sends, then to the validation the server applies to what decoded.
//!
//! Properties: nothing panics; whatever decodes re-encodes and decodes to the same value; the
//! validators either refuse with a typed error or return a value within the documented limits.
//!
//! Run it for a bounded time with `scripts/fuzz` (default 60 s).

#![no_main]

use app::events::ClientEvent;
use app::events::messages::{
    DeleteMessage, EditMessage, LoadHistory, LoadThread, ReactToMessage, SendMessage, SyncRoom,
};
use app::events::presence::StartTyping;
use app::events::rooms::{
    CreateRoom, DeleteRoom, InviteToRoom, JoinRoom, LeaveRoom, ListRooms, MarkRead, MuteRoom,
    OpenDirect, RoomMembers,
};
use app::mentions::{Segment, find_mentions, segments};
use app::limits::{MAX_MESSAGE_CHARS, MAX_NAME_CHARS, MAX_ROOM_NAME_CHARS};
use app::model::{DisplayName, UserRef, parse_room_name, validate_body};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Decodes `data` as `E`'s payload; if it decodes, checks the round trip and hands it on.
fn decode<E: ClientEvent>(data: &[u8]) -> Option<E::Payload>
where
    E::Payload: PartialEq + std::fmt::Debug,
{
    let payload: E::Payload = serde_json::from_slice(data).ok()?;
    round_trip(&payload);
    Some(payload)
}

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let text = serde_json::to_string(value).expect("a decoded payload encodes");
    let again: T = serde_json::from_str(&text).expect("an encoded payload decodes");
    assert_eq!(&again, value, "round trip changed the payload: {text}");
}

fn check_body(body: &str) {
    if let Ok(body) = validate_body(body) {
        assert!(!body.trim().is_empty());
        assert!(body.chars().count() <= MAX_MESSAGE_CHARS);
    }
}

fn check_room_name(name: &str) {
    if let Ok(id) = parse_room_name(name) {
        assert!(id.0.chars().count() <= MAX_ROOM_NAME_CHARS);
        assert!(!id.0.chars().any(|c| c.is_control() || c == '<' || c == '>'), "{id:?}");
    }
}

/// Mentions found in any text lie on character boundaries, start with `@`, do not overlap, and
/// cutting the text at them gives the text back.
fn check_mentions(text: &str) {
    let members: Vec<UserRef> = ["Ada", "Ada Lovelace", "b:o%b", "Zoë", "room"]
        .into_iter()
        .filter_map(|n| DisplayName::parse(n).ok().map(UserRef::named))
        .collect();
    let found = find_mentions(text, &members);
    let mut end = 0;
    for m in &found {
        assert!(m.start as usize >= end, "overlap in {text:?}: {found:?}");
        let written = text.get(m.start as usize..m.end as usize).expect("on char boundaries");
        assert!(written.starts_with('@'));
        end = m.end as usize;
    }
    let rebuilt: String = segments(text, &found)
        .into_iter()
        .map(|s| match s {
            Segment::Text(t) | Segment::Mention(_, t) => t,
        })
        .collect();
    assert_eq!(rebuilt, text);
}

fn check_name(name: &str) {
    if let Ok(name) = DisplayName::parse(name) {
        assert!(!name.as_str().is_empty());
        assert!(name.as_str().chars().count() <= MAX_NAME_CHARS);
        assert!(!name.as_str().chars().any(char::is_control));
    }
}

fuzz_target!(|data: &[u8]| {
    decode::<ListRooms>(data);
    if let Some(p) = decode::<CreateRoom>(data) {
        check_room_name(&p.name);
    }
    decode::<JoinRoom>(data);
    decode::<InviteToRoom>(data);
    decode::<LeaveRoom>(data);
    decode::<DeleteRoom>(data);
    decode::<RoomMembers>(data);
    decode::<OpenDirect>(data);
    if let Some(p) = decode::<SendMessage>(data) {
        check_body(&p.body);
    }
    decode::<StartTyping>(data);
    decode::<LoadHistory>(data);
    decode::<SyncRoom>(data);
    if let Some(p) = decode::<EditMessage>(data) {
        check_body(&p.body);
    }
    decode::<DeleteMessage>(data);
    decode::<MarkRead>(data);
    decode::<MuteRoom>(data);
    decode::<ReactToMessage>(data);
    decode::<LoadThread>(data);
    // Names arrive in sign-in forms as plain strings.
    if let Ok(text) = std::str::from_utf8(data) {
        check_name(text);
        check_room_name(text);
        check_body(text);
        check_mentions(text);
    }
});
