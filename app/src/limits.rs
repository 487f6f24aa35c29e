//! Limits shared by the server (which enforces them) and the UI (which warns before sending).

/// Longest message body accepted, in Unicode scalar values after trimming.
pub const MAX_MESSAGE_CHARS: usize = 4_000;

/// Longest display name, in Unicode scalar values after trimming.
pub const MAX_NAME_CHARS: usize = 32;
