//! What the server renders into the first page for a returning person, so the page paints their
//! rooms and the room's latest messages before any socket exists.
//!
//! Identity on a page load comes from the `parley_name` cookie the page sets when a person picks
//! a name (the same temporary display-name identity the socket handshake uses). The server
//! provides an [`InitialSource`] as Leptos context; the server function [`initial_state`] asks it.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::events::messages::HistoryPage;
use crate::events::rooms::RoomList;

/// The cookie that remembers the display name between page loads.
pub const NAME_COOKIE: &str = "parley_name";

/// Everything the first paint needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Initial {
    /// The rooms, and who the person is.
    pub rooms: RoomList,
    /// The room to show and its newest page of history.
    pub history: HistoryPage,
}

/// The server's side: builds an [`Initial`] for a display name.
#[cfg(feature = "ssr")]
pub trait InitialSource: Send + Sync + 'static {
    /// The rooms of `name` and the newest page of `room` (the lobby if they are not a member).
    fn initial(
        &self,
        name: crate::model::DisplayName,
        room: crate::model::RoomId,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Initial, crate::ChatError>> + Send + '_>>;
}

/// How the server provides its [`InitialSource`] as context.
#[cfg(feature = "ssr")]
pub type SharedInitialSource = std::sync::Arc<dyn InitialSource>;

/// The first paint's data for the person named by the cookie, if any.
// The macro generates an argument struct whose field cannot carry a doc comment.
#[allow(missing_docs)]
#[server]
pub async fn initial_state(room: Option<String>) -> Result<Option<Initial>, ServerFnError> {
    use crate::model::DisplayName;

    let headers: http::HeaderMap = leptos_axum::extract().await?;
    let name = headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == NAME_COOKIE)
        .and_then(|(_, value)| urlencoding::decode(value).ok())
        .and_then(|value| DisplayName::parse(&value).ok());
    let Some(name) = name else { return Ok(None) };
    let source = use_context::<SharedInitialSource>()
        .ok_or_else(|| ServerFnError::new("no initial-state source configured"))?;
    let room = room.map_or_else(crate::model::RoomId::lobby, crate::model::RoomId);
    match source.initial(name, room).await {
        Ok(initial) => Ok(Some(initial)),
        // A failure here only costs the head start: the page falls back to the name form.
        Err(_) => Ok(None),
    }
}

/// Remembers (or with `None`, forgets) the display name for the next page load.
pub fn remember_name(name: Option<&str>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let cookie = match name {
            Some(name) => format!(
                "{NAME_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
                js_sys::encode_uri_component(name)
            ),
            None => format!("{NAME_COOKIE}=; Path=/; SameSite=Lax; Max-Age=0"),
        };
        if let Some(doc) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok())
        {
            let _ = doc.set_cookie(&cookie);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = name;
}
