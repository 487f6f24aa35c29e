//! File events: an upload in chunks (`file:begin`, `file:chunk`, `file:finish`, `file:cancel`).
//!
//! The bytes travel as Socket.IO binary attachments: `file:chunk` carries two arguments, the
//! [`ChunkHeader`] and the chunk's bytes, so no byte is base64-inflated. Each step is acked, and
//! every step can be repeated: beginning an upload again (after a reconnect) answers where it
//! stands, a chunk the server has already is acked again, and finishing is a message send whose
//! id is the upload's, so a finish retried after a lost ack returns the stored message.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{ChatMessage, RoomId};

/// Payload of [`BeginUpload`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct BeginUploadPayload {
    /// Chosen by the client (UUID v7); also the id of the message the finished upload becomes.
    /// Scoped to the person: someone else's id is another upload.
    pub id: Uuid,
    /// The room the file is for (the uploader must be a member).
    pub room: RoomId,
    /// The file's name (shown, never used as a path; cut to
    /// [`crate::limits::MAX_FILE_NAME_CHARS`]).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Ack of [`BeginUpload`] and of [`UploadChunk`]: where the upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UploadProgress {
    /// The upload.
    pub id: Uuid,
    /// Bytes the server holds; the next chunk starts here.
    pub received: u64,
    /// Most bytes one chunk may carry on this server.
    pub chunk_bytes: u32,
}

client_event!(
    /// `file:begin` (client → server): announce an upload, or ask where one stands (the same
    /// id again, e.g. after a reconnect: the ack's `received` says where to resume).
    BeginUpload, "file:begin", BeginUploadPayload => UploadProgress
);

/// First argument of [`UploadChunk`]; the second is the bytes (a binary attachment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ChunkHeader {
    /// The upload.
    pub id: Uuid,
    /// Where in the file these bytes start: the `received` of the last ack.
    pub offset: u64,
}

client_event!(
    /// `file:chunk` (client → server): `(ChunkHeader, bytes)`, acked with where the upload
    /// stands after it.
    UploadChunk, "file:chunk", ChunkHeader => UploadProgress
);

/// Payload of [`FinishUpload`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FinishUploadPayload {
    /// The upload (all of its bytes received).
    pub id: Uuid,
    /// Text sent with the file (may be empty).
    #[serde(default)]
    pub caption: String,
    /// To share the file as a reply in a thread: the message answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<Uuid>,
}

client_event!(
    /// `file:finish` (client → server): the file becomes a message (id = the upload's) that
    /// everyone in the room receives as `message:new`. Acked with the stored message.
    FinishUpload, "file:finish", FinishUploadPayload => ChatMessage
);

/// Payload of [`CancelUpload`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CancelUploadPayload {
    /// The upload.
    pub id: Uuid,
}

client_event!(
    /// `file:cancel` (client → server): drop an upload and its bytes. Acked with `{}` also for
    /// an upload the server does not know (cancelling twice is not an error).
    CancelUpload, "file:cancel", CancelUploadPayload => super::rooms::Empty
);
