//! The server's side of the app's page server functions (first paint, sign-in, registration,
//! guests, sign-out): [`PageBackend`] implements the app's [`Backend`] over the domain.

use std::sync::Arc;

use app::ChatError;
use app::model::RoomId;
use app::session::{Backend, Seed, SignedIn, Welcome};
use http::HeaderMap;

use crate::cookies::{CookieWriter, client_of, session_token};
use crate::domain::{Accounts, Chat, Connections, Identity, NewSession};

/// Implements the app's [`Backend`] over the domain.
pub struct PageBackend {
    /// Rooms and history for the first paint.
    pub chat: Arc<Chat>,
    /// Accounts and sessions.
    pub accounts: Arc<Accounts>,
    /// To close a signed-out session's connections.
    pub connections: Arc<dyn Connections>,
    /// Writes the cookies.
    pub cookies: CookieWriter,
}

impl PageBackend {
    fn signed_in(&self, session: NewSession) -> SignedIn {
        let ttl = i64::try_from(self.accounts.session_ttl().as_secs()).unwrap_or(i64::MAX);
        let mut set_cookies = vec![self.cookies.session(&session.token, ttl)];
        if let Some(device) = &session.device {
            set_cookies.push(self.cookies.device(device));
        }
        SignedIn { set_cookies, user: session.user }
    }
}

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl Backend for PageBackend {
    fn welcome(&self, headers: HeaderMap, room: RoomId) -> BoxFuture<'_, Welcome> {
        Box::pin(async move {
            let guests = self.accounts.guests_allowed();
            let me = match session_token(&headers) {
                Some(token) => self.accounts.session(&token).await.ok().flatten(),
                None => None,
            };
            let Some(user) = me else { return Welcome { me: None, initial: None, guests } };
            // A failure here only costs the head start: the socket fetches the same data.
            let initial = self
                .chat
                .initial(&Identity { user: user.clone(), bot: false }, room)
                .await
                .ok()
                .and_then(|initial| Seed::new(&initial).ok());
            Welcome { me: Some(user), initial, guests }
        })
    }

    fn register(
        &self,
        request: http::request::Parts,
        name: String,
        password: String,
    ) -> BoxFuture<'_, Result<SignedIn, ChatError>> {
        Box::pin(async move {
            let client = client_of(&request);
            Ok(self.signed_in(self.accounts.register(&name, password, &client).await?))
        })
    }

    fn sign_in(
        &self,
        request: http::request::Parts,
        name: String,
        password: String,
    ) -> BoxFuture<'_, Result<SignedIn, ChatError>> {
        Box::pin(async move {
            let client = client_of(&request);
            Ok(self.signed_in(self.accounts.sign_in(&name, password, &client).await?))
        })
    }

    fn guest(
        &self,
        request: http::request::Parts,
        name: String,
    ) -> BoxFuture<'_, Result<SignedIn, ChatError>> {
        Box::pin(async move {
            let client = client_of(&request);
            Ok(self.signed_in(self.accounts.guest(&name, &client).await?))
        })
    }

    fn sign_out(&self, headers: HeaderMap) -> BoxFuture<'_, Result<String, ChatError>> {
        Box::pin(async move {
            if let Some(token) = session_token(&headers) {
                self.accounts.sign_out(&token).await?;
                // Its open connections end too; their clients retry and are refused.
                self.connections.close_session(&token.digest()).await;
            }
            Ok(self.cookies.cleared_session())
        })
    }
}
