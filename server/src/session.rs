//! The session cookie, and the server's side of the app's sign-in server functions.
//!
//! The cookie holds the session token and is `HttpOnly` (page scripts, and so injected scripts,
//! cannot read it), `SameSite=Lax` (other sites' requests do not carry it; the origin guard in
//! [`crate::http`] refuses their WebSocket upgrades and server-function calls as well) and, when
//! configured for HTTPS, `Secure`. Its `Max-Age` equals the session's lifetime in the store.

use std::sync::Arc;

use app::ChatError;
use app::model::RoomId;
use app::session::{Backend, SignedIn, Welcome};
use cookie::{Cookie, SameSite};
use http::HeaderMap;
use http::header::COOKIE;

use crate::domain::{Accounts, Chat, Client, DeviceToken, Identity, NewSession, SessionToken};
use crate::socket::Sockets;

/// The cookie's name.
pub const SESSION_COOKIE: &str = "parley_session";

/// The device cookie's name: set on sign-in and registration, sent only to `/api` (the sign-in
/// server functions), lasting [`DEVICE_COOKIE_DAYS`]. See [`crate::domain::guard`].
pub const DEVICE_COOKIE: &str = "parley_device";

/// How long a browser stays known as a device of its people.
pub const DEVICE_COOKIE_DAYS: i64 = 365;

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

/// The session token in a request's `Cookie` headers, if any.
pub fn session_token(headers: &HeaderMap) -> Option<SessionToken> {
    cookie_value(headers, SESSION_COOKIE).map(|v| SessionToken::from_cookie(&v))
}

/// Who is asking, from a request's head: the peer address (as axum's `ConnectInfo` recorded
/// it) and the device cookie.
pub fn client_of(request: &http::request::Parts) -> Client {
    Client {
        address: request
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip()),
        device: cookie_value(&request.headers, DEVICE_COOKIE).map(|v| DeviceToken::from_cookie(&v)),
    }
}

/// Implements the app's [`Backend`] over the domain.
pub struct PageBackend {
    /// Rooms and history for the first paint.
    pub chat: Arc<Chat>,
    /// Accounts and sessions.
    pub accounts: Arc<Accounts>,
    /// To close a signed-out session's connections.
    pub sockets: Arc<dyn Sockets>,
    /// Whether cookies get the `Secure` attribute (the site is served over HTTPS).
    pub secure_cookies: bool,
}

impl PageBackend {
    fn cookie(&self, value: String, max_age_secs: i64) -> String {
        Cookie::build((SESSION_COOKIE, value))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure_cookies)
            .path("/")
            .max_age(cookie::time::Duration::seconds(max_age_secs))
            .build()
            .to_string()
    }

    fn signed_in(&self, session: NewSession) -> SignedIn {
        let ttl = i64::try_from(self.accounts.session_ttl().as_secs()).unwrap_or(i64::MAX);
        let mut set_cookies = vec![self.cookie(session.token.as_str().to_owned(), ttl)];
        if let Some(device) = &session.device {
            let device = Cookie::build((DEVICE_COOKIE, device.as_str().to_owned()))
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(self.secure_cookies)
                .path("/api")
                .max_age(cookie::time::Duration::days(DEVICE_COOKIE_DAYS))
                .build()
                .to_string();
            set_cookies.push(device);
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
            let initial = self.chat.initial(&Identity { user: user.clone() }, room).await.ok();
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
                self.sockets.close_session(&token.digest()).await;
            }
            Ok(self.cookie(String::new(), 0))
        })
    }
}
