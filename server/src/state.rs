//! [`AppState`]: everything a page, server function or socket handler may need, cloned cheaply.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use socketioxide::{SocketIo, layer::SocketIoLayer};

use crate::config::Config;
use crate::domain::{AccountPolicy, Accounts, Chat};
use crate::http::OriginPolicy;
use crate::socket;
use crate::store::StoreError;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The accounts service could not be set up.
    #[error(transparent)]
    Accounts(#[from] app::ChatError),
}

/// Shared application state, handed to the Leptos routes (server functions read it from context)
/// and, through socketioxide's state, to the socket handlers.
#[derive(Clone)]
pub struct AppState {
    /// Where the site's files are and how Leptos renders.
    pub leptos: LeptosOptions,
    /// The Socket.IO server, for emitting from outside a socket handler.
    pub io: SocketIo,
    /// The chat domain.
    pub chat: Arc<Chat>,
    /// Accounts and sessions.
    pub accounts: Arc<Accounts>,
    /// Which cross-origin callers are allowed.
    pub origins: Arc<OriginPolicy>,
    /// The configuration the server started with.
    pub config: Arc<Config>,
    socket_layer: SocketIoLayer,
}

impl AppState {
    /// Opens the store, builds the domain and the Socket.IO server for `config`.
    pub async fn new(config: Config, leptos: LeptosOptions) -> Result<Self, StartError> {
        let store = crate::store::open(config.database_url.as_deref(), &config.data_dir).await?;
        let chat = Arc::new(Chat::new(Arc::clone(&store), config.max_rooms_per_person));
        let policy = AccountPolicy {
            allow_guests: config.allow_guests,
            session_ttl: std::time::Duration::from_secs(u64::from(config.session_days) * 86_400),
            sign_in_attempts_per_minute: config.sign_in_attempts_per_minute,
        };
        let accounts = Arc::new(Accounts::new(store, policy).await?);
        let max_payload = config.max_payload;
        let (socket_layer, io) = SocketIo::builder()
            // One payload limit for both transports: `max_payload` bounds long-polling bodies,
            // the WebSocket limits bound messages and frames.
            .max_payload(max_payload as u64)
            .ws_max_message_size(max_payload)
            .ws_max_frame_size(max_payload)
            .with_state(Arc::clone(&chat))
            .with_state(Arc::clone(&accounts))
            .with_state(socket::RequestLimiter::new(config.rate_per_second, config.rate_burst))
            .with_state(socket::ConnectionLimits::new(
                config.max_connections_per_ip,
                config.max_connections_per_person,
            ))
            .build_layer();
        socket::register(&io);
        let origins = Arc::new(OriginPolicy::new(&config.allowed_origins));
        Ok(Self { leptos, io, chat, accounts, origins, config: Arc::new(config), socket_layer })
    }

    /// The tower layer that serves Socket.IO for this state's server.
    pub fn socket_layer(&self) -> SocketIoLayer {
        self.socket_layer.clone()
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}
