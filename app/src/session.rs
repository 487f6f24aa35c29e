//! Signing in, and what the server renders into the first page for a signed-in person.
//!
//! A session lives in an HttpOnly cookie the server sets when someone registers, signs in or
//! joins as a guest (server functions below), so page scripts never see it. The same cookie rides
//! along on the Socket.IO handshake, where the connect middleware checks it: identity always
//! comes from the session, never from anything the page sends.
//!
//! The server implements [`Backend`] and provides it as Leptos context; the server functions only
//! marshal between HTTP and that trait, so all rules (password length, hashing, who may join as a
//! guest) live on the server, in one place.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ChatError;
use crate::events::messages::HistoryPage;
use crate::events::rooms::RoomList;
use crate::model::UserRef;

/// The `connect_error` message for a handshake without a valid session. The page answers it by
/// showing the sign-in form again.
pub const SIGN_IN_REQUIRED: &str = "please sign in";

/// Everything the first paint needs for a signed-in person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Initial {
    /// The rooms, and who the person is.
    pub rooms: RoomList,
    /// The room to show and its newest page of history.
    pub history: HistoryPage,
}

/// [`Initial`] as the JSON the server wrote into the page, read only by the code that paints
/// it. The sign-in page's WASM module does not carry the chat (`ui::chat_view`); if the page
/// data were typed all the way down, the decoders of every message and room type would have to
/// be in the first module to read it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seed(Box<serde_json::value::RawValue>);

impl Seed {
    /// Writes `initial` down.
    ///
    /// # Errors
    /// If it cannot be written as JSON (it always can: every field is plain data).
    pub fn new(initial: &Initial) -> Result<Self, serde_json::Error> {
        serde_json::value::to_raw_value(initial).map(Self)
    }

    /// Reads it back.
    ///
    /// # Errors
    /// If the page's data is not an [`Initial`] (a page from another version of the server).
    pub fn read(&self) -> Result<Initial, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }
}

impl PartialEq for Seed {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Eq for Seed {}

/// What a page load learns before any socket exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// Who the session cookie belongs to (`None`: show the sign-in form).
    pub me: Option<UserRef>,
    /// The rooms and the newest messages to paint at once, when there is a session.
    pub initial: Option<Seed>,
    /// Whether the server admits guests (a name without a password).
    pub guests: bool,
}

/// A session the server opened: who, and the `Set-Cookie` values that hand it (and the device
/// cookie) to the browser.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The person.
    pub user: UserRef,
    /// Complete `Set-Cookie` header values (HttpOnly, SameSite, Path, Max-Age).
    pub set_cookies: Vec<String>,
}

#[cfg(feature = "ssr")]
type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The server's side of accounts, sessions and the first paint.
#[cfg(feature = "ssr")]
pub trait Backend: Send + Sync + 'static {
    /// The first page's data for the session in `headers` (if any) and `room`.
    fn welcome(
        &self,
        headers: http::HeaderMap,
        room: crate::model::RoomId,
    ) -> BoxFuture<'_, Welcome>;
    /// Creates an account and opens a session for it. `request` is the HTTP request's head
    /// (its cookies and the peer address the server's limits go by).
    fn register(
        &self,
        request: http::request::Parts,
        name: String,
        password: String,
    ) -> BoxFuture<'_, Result<SignedIn, ChatError>>;
    /// Checks a name and password and opens a session.
    fn sign_in(
        &self,
        request: http::request::Parts,
        name: String,
        password: String,
    ) -> BoxFuture<'_, Result<SignedIn, ChatError>>;
    /// Opens a session for a passwordless guest name, if the server admits guests.
    fn guest(
        &self,
        request: http::request::Parts,
        name: String,
    ) -> BoxFuture<'_, Result<SignedIn, ChatError>>;
    /// Ends the session in `headers` (and its open connections); returns the `Set-Cookie` value
    /// that clears the cookie.
    fn sign_out(&self, headers: http::HeaderMap) -> BoxFuture<'_, Result<String, ChatError>>;
}

/// How the server provides its [`Backend`] as context.
#[cfg(feature = "ssr")]
pub type SharedBackend = std::sync::Arc<dyn Backend>;

#[cfg(feature = "ssr")]
fn backend() -> Result<SharedBackend, ChatError> {
    use_context::<SharedBackend>().ok_or(ChatError::Internal)
}

/// Hands a session to the browser through the response's `Set-Cookie` header.
#[cfg(feature = "ssr")]
fn set_cookie(value: &str) -> Result<(), ChatError> {
    let value = http::HeaderValue::from_str(value).map_err(|_| ChatError::Internal)?;
    expect_context::<leptos_axum::ResponseOptions>().append_header(http::header::SET_COOKIE, value);
    Ok(())
}

/// Sets every cookie of a sign-in and returns its person.
#[cfg(feature = "ssr")]
fn signed_in(signed: SignedIn) -> Result<UserRef, ChatError> {
    for cookie in &signed.set_cookies {
        set_cookie(cookie)?;
    }
    Ok(signed.user)
}

/// A server function's answer: a refusal also sets the response's status (see
/// [`ChatError::http_status`]) instead of leaving every refusal a 500.
#[cfg(feature = "ssr")]
fn answer<T>(result: Result<T, ChatError>) -> Result<T, ChatError> {
    if let Err(e) = &result
        && let Ok(status) = http::StatusCode::from_u16(e.http_status())
    {
        expect_context::<leptos_axum::ResponseOptions>().set_status(status);
    }
    result
}

/// The head of the request a server function is answering.
#[cfg(feature = "ssr")]
async fn request_parts() -> Result<http::request::Parts, ChatError> {
    leptos_axum::extract().await.map_err(|e| ChatError::Request { reason: e.to_string() })
}

/// The first paint's data: who is signed in, their rooms and `room`'s newest messages.
// The macro generates an argument struct whose fields cannot carry doc comments.
#[allow(missing_docs)]
#[server(endpoint = "welcome")]
pub async fn welcome_page(room: Option<String>) -> Result<Welcome, ChatError> {
    let headers: http::HeaderMap =
        leptos_axum::extract().await.map_err(|e| ChatError::Request { reason: e.to_string() })?;
    let room = room.map_or_else(crate::model::RoomId::lobby, crate::model::RoomId);
    Ok(backend()?.welcome(headers, room).await)
}

/// `POST /api/register` (`name`, `password`): creates an account and signs in.
#[allow(missing_docs)]
#[server(endpoint = "register")]
pub async fn register(name: String, password: String) -> Result<UserRef, ChatError> {
    answer(
        async { signed_in(backend()?.register(request_parts().await?, name, password).await?) }
            .await,
    )
}

/// `POST /api/sign_in` (`name`, `password`): opens a session.
#[allow(missing_docs)]
#[server(endpoint = "sign_in")]
pub async fn sign_in(name: String, password: String) -> Result<UserRef, ChatError> {
    answer(
        async { signed_in(backend()?.sign_in(request_parts().await?, name, password).await?) }
            .await,
    )
}

/// `POST /api/guest` (`name`): joins under a name without a password, where allowed.
#[allow(missing_docs)]
#[server(endpoint = "guest")]
pub async fn guest(name: String) -> Result<UserRef, ChatError> {
    answer(async { signed_in(backend()?.guest(request_parts().await?, name).await?) }.await)
}

/// `POST /api/sign_out`: ends the session (every tab of this browser is signed out).
#[allow(missing_docs)]
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), ChatError> {
    let headers: http::HeaderMap =
        leptos_axum::extract().await.map_err(|e| ChatError::Request { reason: e.to_string() })?;
    let clear = backend()?.sign_out(headers).await?;
    set_cookie(&clear)
}
