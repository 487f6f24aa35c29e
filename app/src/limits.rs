//! Limits shared by the server (which enforces them) and the UI (which warns before sending).

/// Longest message body accepted, in Unicode scalar values after trimming.
pub const MAX_MESSAGE_CHARS: usize = 4_000;

/// Longest display name, in Unicode scalar values after trimming.
pub const MAX_NAME_CHARS: usize = 32;

/// Shortest room name.
pub const MIN_ROOM_NAME_CHARS: usize = 2;

/// Longest room name.
pub const MAX_ROOM_NAME_CHARS: usize = 32;

/// Least time between two typing notices a client sends for one room (the server drops extras).
pub const TYPING_THROTTLE_MS: u64 = 2_000;

/// How long a typing indicator stays up after the last notice.
pub const TYPING_EXPIRY_MS: u64 = 5_000;

/// Messages per history page (the newest page is what opening a room shows).
pub const HISTORY_PAGE: u32 = 50;

/// Most messages one history request brings back to an older message
/// ([`crate::events::messages::HistoryRequest::back_to`]); further back takes several requests.
pub const MAX_HISTORY_SPAN: u32 = 500;

/// Changes per resume page.
pub const SYNC_PAGE: u32 = 200;

/// Shortest password accepted at registration, in Unicode scalar values.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Longest password accepted (bounds the hashing work a request can cause).
pub const MAX_PASSWORD_CHARS: usize = 128;

/// How long the server gathers presence changes before it sends them as one `presence` event.
pub const PRESENCE_BATCH_MS: u64 = 250;

/// Unread counts stop at this many (the badge shows `999+`): counting a room's whole backlog
/// for every room on every connect would cost more than the number is worth.
pub const UNREAD_COUNT_CAP: u32 = 1000;

/// How many of a reaction's people a message carries by name (the count is always exact): the
/// first ones, shown on hover. Bounds a message's size in a room of thousands.
pub const REACTORS_LISTED: usize = 20;

/// Longest side of an image preview the server makes, in pixels.
pub const PREVIEW_PIXELS: u32 = 480;

/// Longest file name kept, in Unicode scalar values (longer ones are cut, keeping the extension).
pub const MAX_FILE_NAME_CHARS: usize = 200;

/// Longest reason an administrator may give for a ban, in Unicode scalar values.
pub const MAX_REASON_CHARS: usize = 500;

/// Connections `admin:connections` lists at most (by person); its `total` counts them all.
pub const MAX_LISTED_CONNECTIONS: usize = 500;

/// Entries of the audit log per `admin:audit` page.
pub const AUDIT_PAGE: usize = 50;
