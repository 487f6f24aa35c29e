//! Domain values that cross the wire, with the validation rules both ends share.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ChatError;
use crate::limits::{MAX_MESSAGE_CHARS, MAX_NAME_CHARS};

/// A room's identifier, as used on the wire and in Socket.IO room names (`room:{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoomId(pub String);

impl RoomId {
    /// The room everyone starts in.
    pub fn lobby() -> Self {
        Self("lobby".to_owned())
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's display name: 1–[`MAX_NAME_CHARS`] characters after trimming, no control
/// characters. Only [`DisplayName::parse`] builds one, so holding a value proves it is valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
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
pub struct ChatMessage {
    /// Client-chosen id (UUID v7); unique.
    pub id: Uuid,
    /// The room it was posted in.
    pub room: RoomId,
    /// Position in the room, strictly increasing from 1.
    pub seq: u64,
    /// Who wrote it.
    pub author: DisplayName,
    /// The text; rendered as text, never as HTML.
    pub body: String,
    /// When the server accepted it, in milliseconds since the Unix epoch.
    pub sent_at_ms: i64,
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
    fn errors_serialize_with_a_code() {
        let json = serde_json::to_value(ChatError::MessageTooLong { len: 5, max: 4 });
        assert_eq!(
            json.ok(),
            Some(serde_json::json!({"code": "message_too_long", "len": 5, "max": 4}))
        );
    }
}
