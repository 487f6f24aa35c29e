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
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

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

/// The application: routes and document metadata.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/parley.css" />
        <Title text="Parley" />
        <Router>
            <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                // The first paint's data is awaited before anything is sent, so the history is
                // in the HTML itself, even for a browser without JavaScript. (PartiallyBlocked
                // was seen to stream the fallback instead under load, which a page without
                // JavaScript never replaces.)
                <Route path=path!("") view=ui::ChatPage ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}
