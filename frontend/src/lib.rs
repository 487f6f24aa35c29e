//! Parley's WASM entry point. cargo-leptos builds this crate for `wasm32-unknown-unknown`; the
//! generated JS calls [`hydrate`], which takes over the server-rendered page. Everything else
//! lives in the `app` crate, shared with the server.

// Leptos views are deeply nested types; the release build needs the higher limit.
#![recursion_limit = "256"]

use wasm_bindgen::prelude::wasm_bindgen;

/// Hydrates the page rendered by the server.
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
