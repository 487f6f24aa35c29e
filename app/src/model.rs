//! Domain values that cross the wire, with the validation rules both ends share.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ChatError;
use crate::limits::{MAX_MESSAGE_CHARS, MAX_NAME_CHARS, MAX_ROOM_NAME_CHARS, MIN_ROOM_NAME_CHARS};
pub use crate::mentions::Mention;

/// A room's identifier, as used on the wire and in Socket.IO room names (`room:{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct RoomId(pub String);

impl RoomId {
    /// The room everyone starts in.
    pub fn lobby() -> Self {
        Self("lobby".to_owned())
    }

    /// The direct-message room of two people (the same whichever of them asks).
    ///
    /// A name may contain `:`, so the two ids are escaped before they are joined: `%` becomes
    /// `%25` and `:` becomes `%3A`. An escaped id has no `:`, so the separator is the only one
    /// and different pairs always get different ids (`a:b` + `c` is `dm:a%3Ab:c`, `a` + `b:c` is
    /// `dm:a:b%3Ac`). Ids without either character read as before.
    pub fn direct(a: &UserId, b: &UserId) -> Self {
        let (first, second) = if a <= b { (a, b) } else { (b, a) };
        Self(format!("dm:{}:{}", escape_id_part(&first.0), escape_id_part(&second.0)))
    }

    /// Whether this is a direct-message room.
    pub fn is_direct(&self) -> bool {
        self.0.starts_with("dm:")
    }
}

/// `part` with `%` and `:` percent-escaped, so it can be joined with `:` unambiguously.
fn escape_id_part(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for c in part.chars() {
        match c {
            '%' => out.push_str("%25"),
            ':' => out.push_str("%3A"),
            c => out.push(c),
        }
    }
    out
}

/// A public room's name: [`MIN_ROOM_NAME_CHARS`]–[`MAX_ROOM_NAME_CHARS`] characters, each a
/// lowercase ASCII letter, a digit, `-` or `_`, starting with a letter or digit. Names are
/// compared case-insensitively (they are lowercased), so `Ops` and `ops` are the same room. The
/// name is also the room's id.
pub fn parse_room_name(raw: &str) -> Result<RoomId, ChatError> {
    let name = raw.trim().to_ascii_lowercase();
    let invalid = |reason: String| ChatError::InvalidRoomName { reason };
    let len = name.chars().count();
    if !(MIN_ROOM_NAME_CHARS..=MAX_ROOM_NAME_CHARS).contains(&len) {
        return Err(invalid(format!(
            "a room name has {MIN_ROOM_NAME_CHARS} to {MAX_ROOM_NAME_CHARS} characters"
        )));
    }
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
        return Err(invalid("use only letters, digits, - and _".to_owned()));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(invalid("start with a letter or a digit".to_owned()));
    }
    Ok(RoomId(name))
}

/// What a refused room name most likely meant: lowercased, spaces and other separators as `-`,
/// other characters dropped (`Design Team` becomes `design-team`); `None` if that is not a
/// valid name either, or is what was typed.
pub fn suggest_room_name(raw: &str) -> Option<RoomId> {
    let mut name = String::new();
    for c in raw.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            name.push(c);
        } else if (c == '-' || c.is_whitespace() || c == '.' || c == '/') && !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name.trim_matches('-');
    let name: String = name.chars().take(MAX_ROOM_NAME_CHARS).collect();
    let id = parse_room_name(name.trim_end_matches('-')).ok()?;
    (id.0 != raw.trim()).then_some(id)
}

/// A person's stable id: their lowercased name, so `Ada` and `ada` are one person and a name
/// cannot be registered twice in different case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct UserId(pub String);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person as others see them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UserRef {
    /// Stable id.
    pub id: UserId,
    /// Display name.
    pub name: DisplayName,
}

impl UserRef {
    /// The person called `name`: ids are lowercased names, so names are unique regardless of
    /// case (accounts and guests alike).
    pub fn named(name: DisplayName) -> Self {
        Self { id: UserId(name.as_str().to_lowercase()), name }
    }
}

/// What kind of room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    /// Listed for everyone; anyone may join.
    Public,
    /// Seen and joined only by invitation of a member.
    Private,
    /// Two people's direct messages.
    Direct,
}

impl RoomKind {
    /// A room of several people (public or private), as opposed to a direct room.
    pub fn is_group(self) -> bool {
        matches!(self, Self::Public | Self::Private)
    }
}

/// A room as listed in the sidebar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RoomSummary {
    /// Id (for public rooms, also the name).
    pub id: RoomId,
    /// Public, private or direct.
    pub kind: RoomKind,
    /// Number of members.
    pub members: u32,
    /// Who created it (`None` for the lobby).
    pub created_by: Option<UserId>,
    /// For a direct room, its two people.
    pub peers: Vec<UserRef>,
}

/// A room member and whether any of their tabs is connected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Member {
    /// Who.
    pub user: UserRef,
    /// Connected in at least one tab.
    pub online: bool,
    /// A bot's account (a script an administrator created), shown as such.
    #[serde(default)]
    pub bot: bool,
    /// Moderates the room: its creator, or made a moderator by one (see
    /// [`crate::events::rooms::SetModerator`]).
    #[serde(default)]
    pub moderator: bool,
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's display name: 1–[`MAX_NAME_CHARS`] characters after trimming, no control
/// characters. Only [`DisplayName::parse`] builds one, so holding a value proves it is valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    /// Validates and trims `raw`.
    pub fn parse(raw: &str) -> Result<Self, ChatError> {
        let name = raw.trim();
        let invalid = |reason: &str| ChatError::InvalidName { reason: reason.to_owned() };
        if name.is_empty() {
            return Err(invalid("the name is empty"));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid(&format!("the name is longer than {MAX_NAME_CHARS} characters")));
        }
        if name.chars().any(char::is_control) {
            return Err(invalid("the name contains control characters"));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for DisplayName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a message body and returns it trimmed.
pub fn validate_body(raw: &str) -> Result<String, ChatError> {
    let body = raw.trim();
    if body.is_empty() {
        return Err(ChatError::EmptyMessage);
    }
    let len = body.chars().count();
    if len > MAX_MESSAGE_CHARS {
        return Err(ChatError::MessageTooLong { len, max: MAX_MESSAGE_CHARS });
    }
    Ok(body.to_owned())
}

/// A message as stored and delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChatMessage {
    /// Client-chosen id (UUID v7); unique.
    pub id: Uuid,
    /// The room it was posted in.
    pub room: RoomId,
    /// Position in the room, strictly increasing from 1.
    pub seq: u64,
    /// Who wrote it.
    pub author: UserRef,
    /// The text; rendered as text, never as HTML.
    pub body: String,
    /// When the server accepted it, in milliseconds since the Unix epoch.
    pub sent_at_ms: i64,
    /// The room's revision at this message's last change (insert, edit or delete). Revisions
    /// increase by one per change in a room; a client resumes from the last one it holds.
    pub rev: u64,
    /// When it was last edited, if ever.
    pub edited_at_ms: Option<i64>,
    /// Deleted by its author: the body is empty and the UI shows a placeholder.
    pub deleted: bool,
    /// Deleted by a moderator rather than its author (`deleted` is set too): the placeholder
    /// says so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub moderated: bool,
    /// The people (and `@room`) the body mentions, where it mentions them; resolved by the
    /// server against the room's members when the text was sent or last edited.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<Mention>,
    /// Reactions, in the order they were first added (empty once deleted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// For a reply in a thread, the message it answers (same room); `None` for a message of the
    /// room's own timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<Uuid>,
    /// For a message that started a thread: how many replies it has (deleted ones included:
    /// they keep their place as a placeholder).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub replies: u32,
    /// When its last reply was sent (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reply_at_ms: Option<i64>,
    /// A file shared with the message (the body is then its caption, possibly empty); `None`
    /// once the message is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
}

/// A file shared in a message. The bytes are served over HTTP at [`Attachment::url`] to the
/// room's members only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Attachment {
    /// The SHA-256 of the bytes (hex): what the server stores them under, once however often
    /// they are shared.
    pub file: String,
    /// The file's name as its uploader gave it (a display name: never used as a path).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// The type its bytes show (sniffed by the server, not taken from the name).
    pub mime: String,
    /// For an image the server could read: its size in pixels, and a preview exists at
    /// [`Attachment::preview_url`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSize>,
}

/// Width and height of an image, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ImageSize {
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
}

impl Attachment {
    /// Where the original is downloaded, for the message `id` that carries it.
    pub fn url(id: Uuid) -> String {
        format!("/files/{id}")
    }

    /// Where an image's preview (at most [`crate::limits::PREVIEW_PIXELS`] on its longer side)
    /// is served.
    pub fn preview_url(id: Uuid) -> String {
        format!("/files/{id}/preview")
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl ChatMessage {
    /// Whether the message mentions `user` (by name or through `@room`).
    pub fn mentions_user(&self, user: &UserId) -> bool {
        !self.deleted && self.mentions.iter().any(|m| m.reaches(user))
    }
}

/// The emoji people may react with, with the words a screen reader says for each. A fixed,
/// common set: no picker of thousands, nothing that needs a particular emoji font to be told
/// apart in tests (they find a reaction by its label).
pub const REACTIONS: [(&str, &str); 8] = [
    ("👍", "thumbs up"),
    ("❤️", "heart"),
    ("😂", "laughing"),
    ("🎉", "party"),
    ("😮", "surprised"),
    ("😢", "sad"),
    ("👀", "looking"),
    ("✅", "done"),
];

/// The label of an emoji in [`REACTIONS`].
pub fn reaction_label(emoji: &str) -> Option<&'static str> {
    REACTIONS.iter().find(|(e, _)| *e == emoji).map(|(_, label)| *label)
}

/// One emoji's reactions to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Reaction {
    /// One of [`REACTIONS`].
    pub emoji: String,
    /// How many people reacted with it.
    pub count: u32,
    /// Who, in the order they reacted: the first [`crate::limits::REACTORS_LISTED`] of them.
    pub by: Vec<UserRef>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Ada ").map(|n| n.0), Ok("Ada".to_owned()));
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(MAX_NAME_CHARS)).is_ok());
        assert!(DisplayName::parse(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(DisplayName::parse("a\u{0007}b").is_err());
        // Characters, not bytes.
        assert!(DisplayName::parse(&"é".repeat(MAX_NAME_CHARS)).is_ok());
    }

    #[test]
    fn names_are_validated_when_deserialized() {
        assert!(serde_json::from_str::<DisplayName>("\"\\n\"").is_err());
        assert!(serde_json::from_str::<DisplayName>("\"Bo\"").is_ok());
    }

    #[test]
    fn bodies_are_trimmed_and_bounded() {
        assert_eq!(validate_body(" hi \n"), Ok("hi".to_owned()));
        assert_eq!(validate_body(" \n\t"), Err(ChatError::EmptyMessage));
        let long = "y".repeat(MAX_MESSAGE_CHARS + 1);
        assert_eq!(
            validate_body(&long),
            Err(ChatError::MessageTooLong { len: MAX_MESSAGE_CHARS + 1, max: MAX_MESSAGE_CHARS })
        );
    }

    #[test]
    fn room_names_follow_the_rules() {
        assert_eq!(parse_room_name(" Ops-Team "), Ok(RoomId("ops-team".to_owned())));
        assert!(parse_room_name("a").is_err());
        assert!(parse_room_name(&"a".repeat(MAX_ROOM_NAME_CHARS + 1)).is_err());
        assert!(parse_room_name("has space").is_err());
        assert!(parse_room_name("-dash").is_err());
        assert!(parse_room_name("dm:x").is_err(), "cannot collide with direct rooms");
        assert!(parse_room_name("<script>").is_err());
    }

    #[test]
    fn a_refused_room_name_gets_a_valid_suggestion() {
        let suggest = |raw: &str| suggest_room_name(raw).map(|r| r.0);
        assert_eq!(suggest("Design Team"), Some("design-team".to_owned()));
        assert_eq!(suggest("  Q3 / Planning!  "), Some("q3-planning".to_owned()));
        assert_eq!(suggest("-ops-"), Some("ops".to_owned()));
        assert_eq!(suggest("ops"), None, "nothing to suggest for a valid name");
        assert_eq!(suggest("!!"), None, "nothing valid is left");
        assert_eq!(suggest("日本語"), None);
        let long = suggest(&"word ".repeat(20)).expect("cut to the limit");
        assert!(parse_room_name(&long).is_ok(), "{long}");
    }

    #[test]
    fn a_direct_room_is_the_same_from_both_sides() {
        let (a, b) = (UserId("ada".into()), UserId("bob".into()));
        assert_eq!(RoomId::direct(&a, &b), RoomId::direct(&b, &a));
        assert!(RoomId::direct(&a, &b).is_direct());
        assert!(!RoomId::lobby().is_direct());
        assert_eq!(RoomId::direct(&a, &b).0, "dm:ada:bob", "plain ids read as before");
    }

    #[test]
    fn direct_rooms_of_different_pairs_never_share_an_id() {
        let id = |s: &str| UserId(s.to_owned());
        // Names may contain the separator and the escape character.
        let parts =
            ["a", "b", "c", "a:b", "b:c", ":", "::", "%", "%3a", "%3A", "a%3Ab", "a:", ":b"];
        let mut seen = std::collections::HashMap::new();
        for x in parts {
            for y in parts {
                if x >= y {
                    continue;
                }
                let room = RoomId::direct(&id(x), &id(y));
                if let Some(other) = seen.insert(room.clone(), (x, y)) {
                    panic!("{x:?}+{y:?} and {other:?} share {room}");
                }
            }
        }
        assert_ne!(
            RoomId::direct(&id("a:b"), &id("c")),
            RoomId::direct(&id("a"), &id("b:c")),
            "the pair from the review"
        );
    }

    #[test]
    fn errors_serialize_with_a_code() {
        let json = serde_json::to_value(ChatError::MessageTooLong { len: 5, max: 4 });
        assert_eq!(
            json.ok(),
            Some(serde_json::json!({"code": "message_too_long", "len": 5, "max": 4}))
        );
    }
}
