//! Parley's WASM entry point. cargo-leptos builds this crate for `wasm32-unknown-unknown`; the
//! generated JS calls [`hydrate`], which takes over the server-rendered page. Everything else
//! lives in the `app` crate, shared with the server.

// Leptos views are deeply nested types; the release build needs the higher limit.
#![recursion_limit = "256"]

use wasm_bindgen::prelude::wasm_bindgen;

/// Hydrates the page rendered by the server.
///
/// The signed-in chat is a WASM module of its own (`app::ui::chat_view`). Hydration walks the
/// server's HTML in one pass and cannot wait halfway, so a page rendered with the chat in it
/// first loads that module (the page already asked the browser to preload it), then hydrates;
/// the sign-in page hydrates at once without it.
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    if app::ui::page_has_chat() {
        wasm_bindgen_futures::spawn_local(async {
            app::ui::preload_chat().await;
            leptos::mount::hydrate_body(app::App);
        });
    } else {
        leptos::mount::hydrate_body(app::App);
    }
}
