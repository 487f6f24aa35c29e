//! Typed Socket.IO events: the one definition both ends compile against.
//!
//! Each event is a zero-sized type that names its wire name, its payload and (for requests) its
//! ack. The server registers handlers with [`ClientEvent::NAME`] and decodes
//! [`ClientEvent::Payload`]; the browser emits with the same constants and decodes
//! [`ClientEvent::Ack`]. Renaming an event or changing a field is therefore a compile error on
//! both sides instead of a silent mismatch on the wire.
//!
//! Acks are always a single value (`Result<T, ChatError>`, serialized as `{"Ok": ..}` or
//! `{"Err": ..}`): socketioxide spreads a tuple ack into several arguments and the JS client's
//! `emitWithAck` keeps only the first.

/// Declares a [`ClientEvent`]: `client_event!(Doc, Type, "wire:name", Payload => Ok)`.
macro_rules! client_event {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $payload:ty => $ok:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $ty;

        impl $crate::events::ClientEvent for $ty {
            const NAME: &'static str = $name;
            type Payload = $payload;
            type Ok = $ok;
        }
    };
}

/// Declares a [`ServerEvent`]: `server_event!(Doc, Type, "wire:name", Payload)`.
macro_rules! server_event {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $payload:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $ty;

        impl $crate::events::ServerEvent for $ty {
            const NAME: &'static str = $name;
            type Payload = $payload;
        }
    };
}

pub mod admin;
pub mod files;
pub mod messages;
pub mod presence;
pub mod rooms;
#[cfg(feature = "schema")]
pub mod schema;

use serde::{Serialize, de::DeserializeOwned};

use crate::error::ChatError;

/// The Socket.IO namespace the chat lives on.
pub const CHAT_NAMESPACE: &str = "/chat";

/// The handshake `auth` of a connection to [`CHAT_NAMESPACE`]. A browser sends none: its
/// session cookie signs it in. A bot sends the token an administrator was given for it
/// ([`admin::CreateBot`]): `io("/chat", { auth: { token } })`. A token, when present, is the only
/// credential looked at (a wrong one is refused even beside a valid cookie).
#[derive(Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ConnectAuth {
    /// A bot's token.
    #[serde(default)]
    pub token: Option<String>,
}

impl std::fmt::Debug for ConnectAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectAuth").field("token", &self.token.as_ref().map(|_| "..")).finish()
    }
}

/// An event a client sends and the server answers with an ack.
pub trait ClientEvent {
    /// The event name on the wire, e.g. `"message:send"`.
    const NAME: &'static str;
    /// What the client sends.
    type Payload: Serialize + DeserializeOwned + Clone + Send + Sync + 'static;
    /// What the server acknowledges with on success.
    type Ok: Serialize + DeserializeOwned + Send + Sync + 'static;
}

/// The ack of a [`ClientEvent`]: the success value or a typed error.
pub type Ack<E> = Result<<E as ClientEvent>::Ok, ChatError>;

/// An event the server pushes to clients (to a room, a user or one socket).
pub trait ServerEvent {
    /// The event name on the wire, e.g. `"message:new"`.
    const NAME: &'static str;
    /// What the clients receive.
    type Payload: Serialize + DeserializeOwned + Clone + Send + Sync + 'static;
}
