//! A thread beside the room (a full-screen view on a phone): the message answered, its replies
//! (live, paged back like history, edited and deleted like messages) and a composer of its own.

use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;
use uuid::Uuid;

use super::ChatState;
use super::composer::Composer;
use super::message::{MessageItem, focus};
use super::room::row_view;
use super::rows::{self, Row};
use super::state::Timeline;
use super::time;

/// The open thread, if any.
#[component]
pub fn ThreadPanel() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    move || chat.thread.get().map(|parent| view! { <Thread parent /> })
}

#[component]
fn Thread(parent: Uuid) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let list = NodeRef::<html::Ol>::new();
    let loading = RwSignal::new(false);
    let head = move || {
        let room = chat.current.get();
        chat.with_timeline(&room, |t| t.and_then(|t| t.message(parent).cloned()))
    };
    let hydrated = use_context::<super::Hydrated>().map(|h| h.0);
    let lines = move || {
        let local = hydrated.is_some_and(|h| h.get());
        let me = chat.me.get().map(|m| m.id);
        chat.with_thread(parent, |t| {
            let lines = t.map(Timeline::lines).unwrap_or_default();
            rows::rows(lines, None, me.as_ref(), time::now_ms(), local)
        })
    };
    let has_more = move || chat.with_thread(parent, |t| t.is_some_and(Timeline::has_more));
    let count = move || head().map(|h| h.replies).unwrap_or_default();
    let close = move || {
        chat.thread.set(None);
        // Back where the reader came from: the room's composer.
        focus("composer-input");
    };
    let older = move |_| {
        let before = chat.with_thread(parent, |t| t.and_then(Timeline::oldest));
        loading.set(true);
        chat.load_thread(parent, before, move || loading.set(false));
    };
    // New replies scroll into view (unless older ones are being loaded above).
    Effect::new(move |_| {
        chat.threads.track();
        request_animation_frame(move || {
            if let Some(el) = list.get_untracked()
                && !loading.get_untracked()
            {
                el.set_scroll_top(el.scroll_height());
            }
        });
    });
    // Opening a thread puts the caret in its composer.
    Effect::new(move |_| {
        request_animation_frame(move || focus("thread-composer-input"));
    });
    view! {
        <aside class="thread" aria-labelledby="thread-title"
            on:keydown=move |ev: KeyboardEvent| if ev.key() == "Escape" && !ev.default_prevented() { close() }>
            <header class="thread-header">
                <h2 id="thread-title">"Thread"</h2>
                <button type="button" class="ghost small" aria-label="Close thread" on:click=move |_| close()>
                    "Close"
                </button>
            </header>
            <div class="thread-log" role="log" aria-label="Replies">
            <ol class="messages" node_ref=list>
                {move || head().map(|line| view! { <MessageItem line in_thread=true /> })}
                <li class="thread-count">
                    {move || match count() {
                        0 => "No replies yet".to_owned(),
                        1 => "1 reply".to_owned(),
                        n => format!("{n} replies"),
                    }}
                </li>
                <Show when=has_more>
                    <li class="older">
                        <button type="button" class="link" on:click=older>
                            {move || if loading.get() { "Loading…" } else { "Load older replies" }}
                        </button>
                    </li>
                </Show>
                <For each=lines key=Row::key let:row>
                    {row_view(row)}
                </For>
            </ol>
            </div>
            <Composer thread=parent />
        </aside>
    }
}
