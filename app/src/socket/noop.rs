//! The server-side stand-in: SSR renders before any connection exists, so nothing connects.

use std::future::Future;

use super::{ConnectOptions, ConnectionStatus, RequestError, SocketClient, Subscription};
use crate::events::{ClientEvent, ServerEvent};

/// A socket that never connects; every request fails with [`RequestError::Unavailable`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopSocket;

impl SocketClient for NoopSocket {
    fn connect(_: &ConnectOptions) -> Result<Self, RequestError> {
        Ok(Self)
    }

    fn request<E: ClientEvent>(
        &self,
        _: &E::Payload,
    ) -> impl Future<Output = Result<E::Ok, RequestError>> + 'static {
        std::future::ready(Err(RequestError::Unavailable))
    }

    fn request_with_bytes<E: ClientEvent>(
        &self,
        _: &E::Payload,
        _: &[u8],
    ) -> impl Future<Output = Result<E::Ok, RequestError>> + 'static {
        std::future::ready(Err(RequestError::Unavailable))
    }

    fn subscribe<E: ServerEvent>(&self, _: impl Fn(E::Payload) + 'static) -> Subscription {
        Subscription::none()
    }

    fn watch_status(&self, _: impl Fn(ConnectionStatus) + 'static) -> Subscription {
        Subscription::none()
    }

    fn disconnect(&self) {}
}
