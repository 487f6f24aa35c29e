//! The chat domain: who is speaking, which rooms exist, what a posted message becomes.
//!
//! Nothing here knows about sockets: handlers in [`crate::socket`] extract a request, call the
//! domain and emit its result, and this layer is unit-tested on its own.
//!
//! Messages are kept in memory for now: the durable store (SQLite/Postgres behind a trait) is the
//! next step, and [`Chat`] is the seam where it plugs in.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use app::ChatError;
use app::events::messages::SendMessagePayload;
use app::model::{ChatMessage, DisplayName, RoomId, validate_body};
use uuid::Uuid;

/// Who a connection speaks for. The only place identity is decided, so replacing display names
/// with real accounts changes this type and the connect middleware, nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The name shown with this person's messages.
    pub name: DisplayName,
}

#[derive(Debug, Default)]
struct Room {
    messages: Vec<ChatMessage>,
    index: HashMap<Uuid, usize>,
}

/// The chat's rooms and their messages.
#[derive(Debug)]
pub struct Chat {
    rooms: Mutex<HashMap<RoomId, Room>>,
}

impl Default for Chat {
    fn default() -> Self {
        Self::new()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

impl Chat {
    /// A chat with one room, the lobby.
    pub fn new() -> Self {
        Self { rooms: Mutex::new(HashMap::from([(RoomId::lobby(), Room::default())])) }
    }

    /// Stores a message in its room and returns it with its sequence number.
    ///
    /// Posting the same id again returns the message stored the first time, so a client may
    /// retry a send whose ack it never got.
    #[tracing::instrument(skip_all, fields(room = %request.room, id = %request.id))]
    pub fn post(
        &self,
        author: &Identity,
        request: SendMessagePayload,
    ) -> Result<ChatMessage, ChatError> {
        let body = validate_body(&request.body)?;
        let mut rooms = self.rooms.lock().map_err(|_| ChatError::Internal)?;
        let room = rooms
            .get_mut(&request.room)
            .ok_or_else(|| ChatError::UnknownRoom { room: request.room.to_string() })?;
        if let Some(&at) = room.index.get(&request.id) {
            return Ok(room.messages[at].clone());
        }
        let message = ChatMessage {
            id: request.id,
            seq: room.messages.len() as u64 + 1,
            room: request.room,
            author: author.name.clone(),
            body,
            sent_at_ms: now_ms(),
        };
        room.index.insert(message.id, room.messages.len());
        room.messages.push(message.clone());
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ada() -> Identity {
        Identity { name: DisplayName::parse("Ada").expect("valid name") }
    }

    fn send(body: &str) -> SendMessagePayload {
        SendMessagePayload { id: Uuid::now_v7(), room: RoomId::lobby(), body: body.to_owned() }
    }

    #[test]
    fn sequence_numbers_increase_per_room() {
        let chat = Chat::new();
        let a = chat.post(&ada(), send("one")).expect("stored");
        let b = chat.post(&ada(), send("two")).expect("stored");
        assert_eq!((a.seq, b.seq), (1, 2));
        assert_eq!(b.author.as_str(), "Ada");
    }

    #[test]
    fn a_retried_id_returns_the_original() {
        let chat = Chat::new();
        let first = send("hello");
        let mut again = first.clone();
        again.body = "changed".to_owned();
        let a = chat.post(&ada(), first).expect("stored");
        let b = chat.post(&ada(), again).expect("stored");
        assert_eq!(a, b);
        let c = chat.post(&ada(), send("next")).expect("stored");
        assert_eq!(c.seq, 2);
    }

    #[test]
    fn bad_requests_change_nothing() {
        let chat = Chat::new();
        assert_eq!(chat.post(&ada(), send("   ")), Err(ChatError::EmptyMessage));
        let mut elsewhere = send("hi");
        elsewhere.room = RoomId("nowhere".to_owned());
        assert_eq!(
            chat.post(&ada(), elsewhere),
            Err(ChatError::UnknownRoom { room: "nowhere".to_owned() })
        );
        assert_eq!(chat.post(&ada(), send("first")).map(|m| m.seq), Ok(1));
    }
}
