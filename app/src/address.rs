//! The page's own address, without a client-side router.
//!
//! Parley has one page, `/`, and reads two query parameters from it (`room`, `transport`). A
//! router (`leptos_router`) made the WASM the sign-in page loads 132 KB larger (39 KB
//! compressed, a fifth of it) to match that one path; this reads the same facts directly: from the request on the server,
//! from the address bar in the browser. Both sides see the same address, so the browser's first
//! render hydrates exactly what the server sent. The room the chat shows later is kept in the
//! address by the chat itself (`history.replaceState`), not by a router.

/// The path and query of the page being rendered: on the server, the request's.
#[cfg(feature = "ssr")]
fn current() -> (String, String) {
    match leptos::prelude::use_context::<http::request::Parts>() {
        Some(parts) => (parts.uri.path().to_owned(), parts.uri.query().unwrap_or("").to_owned()),
        None => ("/".to_owned(), String::new()),
    }
}

/// The path and query of the page being rendered: in the browser, the address bar's.
#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
fn current() -> (String, String) {
    let location = leptos::prelude::window().location();
    let search = location.search().unwrap_or_default();
    (location.pathname().unwrap_or_default(), search.trim_start_matches('?').to_owned())
}

/// Neither side (a plain `cargo check` of the crate): the chat's page with no query.
#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
fn current() -> (String, String) {
    ("/".to_owned(), String::new())
}

/// Whether this is the chat's page, `/` (everything else is "Page not found").
pub fn is_chat_page() -> bool {
    current().0 == "/"
}

/// The decoded value of query parameter `name`, if present (the first, if repeated).
pub fn query_param(name: &str) -> Option<String> {
    param(&current().1, name)
}

/// Query parameter `name` of `query` (without its `?`), decoded as a browser's
/// `URLSearchParams` decodes it.
fn param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    /// What the browser's `URLSearchParams` does with the same query, which the server must match
    /// for hydration: `+` is a space, percent escapes decode, the first of a repeated key wins.
    #[test]
    fn query_values_decode_as_a_browser_decodes_them() {
        let query = "room=design+review&transport=polling&room=other&x=%C3%A9t%C3%A9";
        let find = |name: &str| super::param(query, name);
        assert_eq!(find("room").as_deref(), Some("design review"));
        assert_eq!(find("transport").as_deref(), Some("polling"));
        assert_eq!(find("x").as_deref(), Some("été"));
        assert_eq!(find("missing"), None);
    }
}
