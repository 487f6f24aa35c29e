//! What the browser keeps for a person across reloads: the text of each room's composer
//! (drafts) and the messages written but not yet acknowledged (the outbox), in `localStorage`
//! under keys of that person's id, so two people sharing a browser never see each other's.
//!
//! The Socket.IO client buffers what is emitted while disconnected, but only in memory: a reload
//! loses it. The outbox keeps each message with the id its sender chose, so sending it again
//! after a reload is a retry the server recognises (same author, room and id) and stores once.
//!
//! During server rendering there is no storage: reads find nothing and writes do nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{RoomId, UserId};

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsent {
    /// Its room.
    pub room: RoomId,
    /// The id its sender chose.
    pub id: Uuid,
    /// The validated text.
    pub body: String,
    /// For a reply, the message it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<Uuid>,
}

/// The key a thread's draft is kept under: `thread:{id}` can never be a room's id (room names
/// have no `:`, direct rooms start with `dm:`).
pub fn thread_draft_key(parent: Uuid) -> RoomId {
    RoomId(format!("thread:{parent}"))
}

fn key(user: &UserId, what: &str) -> String {
    format!("parley:{}:{what}", user.0)
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn read<T: serde::de::DeserializeOwned + Default>(key: &str) -> T {
    #[cfg(feature = "hydrate")]
    {
        storage()
            .and_then(|s| s.get_item(key).ok().flatten())
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = key;
        T::default()
    }
}

fn write<T: Serialize>(key: &str, value: &T, empty: bool) {
    #[cfg(feature = "hydrate")]
    if let Some(storage) = storage() {
        // Full or disabled storage only costs the copy across reloads.
        let _ = match (empty, serde_json::to_string(value)) {
            (true, _) => storage.remove_item(key),
            (false, Ok(text)) => storage.set_item(key, &text),
            (false, Err(_)) => Ok(()),
        };
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (key, value, empty);
}

/// Every room's unsent composer text.
pub fn drafts(user: &UserId) -> BTreeMap<RoomId, String> {
    read(&key(user, "drafts"))
}

/// Keeps (or, when empty, forgets) `room`'s draft.
pub fn save_draft(user: &UserId, room: &RoomId, text: &str) {
    let mut all = drafts(user);
    if text.trim().is_empty() {
        all.remove(room);
    } else {
        all.insert(room.clone(), text.to_owned());
    }
    write(&key(user, "drafts"), &all, all.is_empty());
}

/// The messages written and not yet acknowledged, oldest first.
pub fn outbox(user: &UserId) -> Vec<Unsent> {
    read(&key(user, "outbox"))
}

/// Adds a message to the outbox (before it is first sent).
pub fn keep_unsent(user: &UserId, message: Unsent) {
    let mut all = outbox(user);
    if !all.iter().any(|m| m.id == message.id) {
        all.push(message);
    }
    write(&key(user, "outbox"), &all, false);
}

/// Takes a message out of the outbox: the server has it, or refused it for good.
pub fn forget_unsent(user: &UserId, id: Uuid) {
    let mut all = outbox(user);
    all.retain(|m| m.id != id);
    write(&key(user, "outbox"), &all, all.is_empty());
}
