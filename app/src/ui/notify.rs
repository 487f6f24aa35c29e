//! Browser notifications (the Notification API) for mentions and direct messages that arrive
//! while the page is hidden.
//!
//! Permission is asked only from a control the person clicks (browsers ignore or penalise a
//! request made on page load); what the browser answered is kept in [`ChatState::permission`]
//! so the control shows the right thing. Which messages notify is decided in
//! [`ChatState`](super::ChatState) (`notify`): someone else's, not in a muted room, a direct
//! message or a mention of the person, page hidden. Each notification is tagged with its room,
//! so a burst in one room replaces rather than piles up.

/// What the browser allows.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// No Notification API (or during SSR).
    Unsupported,
    /// Not asked yet (or dismissed).
    Ask,
    /// Allowed.
    Granted,
    /// Refused; only the browser's site settings can change it.
    Denied,
}

/// The browser's current answer.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub fn permission() -> Permission {
    #[cfg(feature = "hydrate")]
    {
        use web_sys::NotificationPermission as P;
        if !supported() {
            return Permission::Unsupported;
        }
        match web_sys::Notification::permission() {
            P::Granted => Permission::Granted,
            P::Denied => Permission::Denied,
            _ => Permission::Ask,
        }
    }
    #[cfg(not(feature = "hydrate"))]
    Permission::Unsupported
}

#[cfg(feature = "hydrate")]
fn supported() -> bool {
    web_sys::window()
        .is_some_and(|w| js_sys::Reflect::has(&w, &"Notification".into()).unwrap_or(false))
}

/// Asks the browser (from a click); `done` gets the answer.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub fn ask(done: impl FnOnce(Permission) + 'static) {
    #[cfg(feature = "hydrate")]
    {
        let Ok(promise) = web_sys::Notification::request_permission() else {
            return done(permission());
        };
        leptos::task::spawn_local(async move {
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
            done(permission());
        });
    }
    #[cfg(not(feature = "hydrate"))]
    done(Permission::Unsupported);
}

/// Shows a notification if allowed; clicking it focuses the page and runs `on_click`.
pub fn show(title: &str, body: &str, tag: &str, on_click: impl FnOnce() + 'static) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;
        if permission() != Permission::Granted {
            return;
        }
        let options = web_sys::NotificationOptions::new();
        options.set_body(&body.chars().take(200).collect::<String>());
        options.set_tag(tag);
        let Ok(note) = web_sys::Notification::new_with_options(title, &options) else { return };
        let shown = note.clone();
        let click = Closure::once_into_js(move || {
            if let Some(window) = web_sys::window() {
                let _ = window.focus();
            }
            shown.close();
            on_click();
        });
        note.set_onclick(Some(click.unchecked_ref()));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (title, body, tag, on_click);
}
