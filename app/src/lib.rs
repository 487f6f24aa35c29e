//! Parley's shared crate, compiled twice: with `ssr` into the server and with `hydrate` into the
//! browser's WASM.
//!
//! - [`events`]: the typed Socket.IO events, the single definition both ends compile against.
//! - [`model`], [`error`], [`limits`]: the values on the wire and the validation rules both ends
//!   apply (the server enforces them, the UI uses them to warn early).
//! - [`socket`]: the client connection behind the [`socket::SocketClient`] trait (the official
//!   JS client in the browser, a no-op during SSR).
//! - [`session`]: signing in (server functions over a server-side [`session::Backend`]) and the
//!   first page's data.
//! - [`ui`]: the Leptos components; [`shell`] is the HTML document the server renders.

#![recursion_limit = "256"]

pub mod address;
pub mod error;
pub mod events;
pub mod limits;
pub mod markdown;
pub mod mentions;
pub mod model;
pub mod search;
pub mod session;
pub mod socket;
pub mod ui;

pub use error::ChatError;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};

/// Where the server serves `socket.io-client`'s UMD bundle (copied from npm by the build scripts).
pub const SOCKET_IO_CLIENT_URL: &str = "/vendor/socket.io.min.js";

/// The HTML document around [`App`], rendered by the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: the chat's page at `/`, "Page not found" anywhere else (the server answers
/// those with 404), and document metadata. No router: see [`address`].
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/parley.css" />
        <Title text="Parley" />
        {if address::is_chat_page() {
            view! { <ui::ChatPage /> }.into_any()
        } else {
            view! { <p class="not-found">"Page not found."</p> }.into_any()
        }}
    }
}

/// The server's page routes for [`App`]: `/`, rendered in full before anything is sent
/// (`SsrMode::Async`), so the history is in the HTML itself, even for a browser without
/// JavaScript. (PartiallyBlocked was seen to stream the fallback instead under load, which a
/// page without JavaScript never replaces.)
#[cfg(feature = "ssr")]
pub fn page_routes() -> Vec<leptos_axum::AxumRouteListing> {
    use leptos_router::{Method, SsrMode};
    vec![leptos_axum::AxumRouteListing::new("/".to_owned(), SsrMode::Async, [Method::Get], vec![])]
}
