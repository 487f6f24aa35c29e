//! The message box: Enter sends, Shift+Enter adds a line; tells the room we are typing; typing
//! `@` offers the room's members (and `@room`) to mention. Files attached with its button or
//! pasted into it wait in its tray (see [`super::upload`]) and are shared by Send, the text
//! typed becoming their caption.

use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::html;
use leptos::prelude::*;
use uuid::Uuid;

use super::ChatState;
use super::upload::{self, UploadTray};
use crate::events::presence::StartTyping;
use crate::events::rooms::RoomRef;
use crate::limits::TYPING_THROTTLE_MS;
use crate::mentions::{ROOM_WORDS, query_at_caret};
use crate::model::validate_body;

/// How many names the `@` list offers at once.
const OFFERED: usize = 8;

/// One entry of the `@` list: the name to insert and a line that explains it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Offer {
    name: String,
    note: &'static str,
}

/// The message box of the room on screen, or (with `thread`) of the thread open beside it.
#[component]
pub fn Composer(#[prop(optional)] thread: Option<Uuid>) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let input = NodeRef::<html::Textarea>::new();
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let last_typing = StoredValue::new(f64::MIN);
    // The `@` being typed: the byte offset of its `@` and the text after it up to the caret.
    let query = RwSignal::new(None::<(usize, String)>);
    let active = RwSignal::new(0usize);
    // Each room keeps its own draft, in the browser's storage: switching rooms or reloading
    // brings back what was typed and not sent.
    let me = move || chat.me.get_untracked().map(|m| m.id);
    let draft_key = move || match thread {
        Some(parent) => super::saved::thread_draft_key(parent),
        None => chat.current.get_untracked(),
    };
    Effect::new(move |first: Option<()>| {
        chat.current.track();
        let saved = me().and_then(|me| super::saved::drafts(&me).remove(&draft_key()));
        draft.set(saved.unwrap_or_default());
        query.set(None);
        // Switching rooms (from the sidebar, a direct message, a notification) puts the caret
        // where the reader will type next, as Slack does; not on the page's first paint, and
        // not on a phone-sized screen, where it would pop the keyboard over the messages.
        let wide = window().inner_width().ok().and_then(|w| w.as_f64()).is_some_and(|w| w >= 760.0);
        if first.is_some() && thread.is_none() && wide {
            request_animation_frame(move || {
                if let Some(el) = input.get_untracked() {
                    let _ = el.focus();
                }
            });
        }
    });
    let keep = move |text: &str| {
        if let Some(me) = me() {
            super::saved::save_draft(&me, &draft_key(), text);
        }
    };
    // Ids unique on the page: the room's composer and the thread's are both there.
    let prefix = if thread.is_some() { "thread-" } else { "" };
    let input_id = format!("{prefix}composer-input");
    let list_id = format!("{prefix}mention-options");
    let error_id = format!("{prefix}composer-error");
    // Members whose name starts with (or has a word starting with) the query, then `@room` and
    // `@here` when they match; never the writer.
    let offers = Memo::new(move |_| {
        let Some((_, q)) = query.get() else { return Vec::new() };
        let q = q.to_lowercase();
        let mut offers: Vec<Offer> = chat.members.with(|members| {
            members
                .iter()
                .filter(|m| !chat.is_me(&m.user.id))
                .filter(|m| {
                    let name = m.user.name.as_str().to_lowercase();
                    name.starts_with(&q) || name.split(' ').any(|w| w.starts_with(&q))
                })
                .map(|m| Offer {
                    name: m.user.name.to_string(),
                    note: if m.online { "online" } else { "" },
                })
                .take(OFFERED)
                .collect()
        });
        let group = chat.room(&chat.current.get()).is_some_and(|r| r.kind.is_group());
        if group {
            offers.extend(
                ROOM_WORDS
                    .iter()
                    .filter(|w| w.starts_with(&q))
                    .map(|w| Offer { name: (*w).to_owned(), note: "everyone in this room" }),
            );
        }
        offers
    });
    let open = move || !offers.with(Vec::is_empty);
    // Where the caret is, as a byte offset into the draft (the DOM counts UTF-16 units).
    let caret = move || -> usize {
        let text = draft.get_untracked();
        let units = input.get_untracked().and_then(|el| el.selection_start().ok().flatten());
        let Some(units) = units else { return text.len() };
        let mut seen = 0u32;
        for (at, c) in text.char_indices() {
            if seen >= units {
                return at;
            }
            seen += c.len_utf16() as u32;
        }
        text.len()
    };
    let find_query = move || {
        let text = draft.get_untracked();
        let at = caret().min(text.len());
        let found = text.get(..at).and_then(query_at_caret).map(|(at, q)| (at, q.to_owned()));
        if found != query.get_untracked() {
            active.set(0);
        }
        query.set(found);
    };
    let pick = move |name: String| {
        let Some((at, _)) = query.get_untracked() else { return };
        let text = draft.get_untracked();
        let end = caret().clamp(at, text.len());
        let inserted = format!("@{name} ");
        let next = format!("{}{inserted}{}", &text[..at], &text[end..]);
        let caret_units: u32 = next[..at + inserted.len()].encode_utf16().count() as u32;
        draft.set(next.clone());
        keep(&next);
        query.set(None);
        if let Some(el) = input.get_untracked() {
            el.set_value(&next);
            let _ = el.focus();
            let _ = el.set_selection_range(caret_units, caret_units);
        }
    };
    let share_files = move |caption: String| {
        let room = chat.current.get_untracked();
        upload::share_staged(chat, &room, thread, caption)
    };
    let submit = move || match validate_body(&draft.get_untracked()) {
        Ok(body) if share_files(body.clone()) => {
            error.set(None);
            draft.set(String::new());
            keep("");
        }
        Ok(body) => {
            error.set(None);
            draft.set(String::new());
            query.set(None);
            keep("");
            let room = chat.current.get_untracked();
            let id = Uuid::now_v7();
            chat.push_pending(&room, id, body.clone(), thread);
            last_typing.set_value(f64::MIN);
            chat.send(room, id, body, thread);
        }
        // Files alone need no text.
        Err(crate::ChatError::EmptyMessage) => {
            share_files(String::new());
        }
        Err(e) => error.set(Some(e.to_string())),
    };
    let picker = NodeRef::<html::Input>::new();
    let on_picked = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(input) = picker.get_untracked() {
            let room = chat.current.get_untracked();
            upload::stage_files(chat, &room, thread, upload::sources(input.files()));
            // The same file can be chosen again.
            input.set_value("");
        }
    };
    // An image (or any file) pasted into the box joins the tray; text pastes as text.
    let on_paste = move |ev: leptos::ev::ClipboardEvent| {
        #[cfg(feature = "hydrate")]
        {
            let files = upload::sources(ev.clipboard_data().and_then(|d| d.files()));
            if !files.is_empty() {
                ev.prevent_default();
                let room = chat.current.get_untracked();
                upload::stage_files(chat, &room, thread, files);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let on_input = move |ev| {
        let text = event_target_value(&ev);
        keep(&text);
        draft.set(text);
        find_query();
        let now = super::state::now_ms();
        if now - last_typing.get_value() >= TYPING_THROTTLE_MS as f64 {
            last_typing.set_value(now);
            let room = chat.current.get_untracked();
            chat.request::<StartTyping>(RoomRef { room }, |_| {});
        }
    };
    let on_keydown = move |ev: KeyboardEvent| {
        if open() {
            let n = offers.with_untracked(Vec::len);
            match ev.key().as_str() {
                "ArrowDown" => {
                    ev.prevent_default();
                    active.update(|a| *a = (*a + 1) % n);
                    return;
                }
                "ArrowUp" => {
                    ev.prevent_default();
                    active.update(|a| *a = (*a + n - 1) % n);
                    return;
                }
                "Enter" | "Tab" if !ev.shift_key() => {
                    ev.prevent_default();
                    let chosen = offers.with_untracked(|o| o.get(active.get_untracked()).cloned());
                    if let Some(offer) = chosen {
                        pick(offer.name);
                    }
                    return;
                }
                "Escape" => {
                    ev.prevent_default();
                    query.set(None);
                    return;
                }
                _ => {}
            }
        }
        // Up in an empty composer edits one's last message, as in Slack and Discord.
        if ev.key() == "ArrowUp" && thread.is_none() && draft.with_untracked(String::is_empty) {
            let room = chat.current.get_untracked();
            let last_own = chat.timelines.with_untracked(|t| {
                t.get(&room).and_then(|t| {
                    t.messages()
                        .filter(|m| chat.is_me(&m.author.id) && m.seq.is_some() && !m.deleted)
                        .last()
                        .map(|m| m.id)
                })
            });
            if let Some(id) = last_own {
                ev.prevent_default();
                chat.edit_request.set(Some(id));
            }
            return;
        }
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit();
        }
    };
    let placeholder = move || {
        if thread.is_some() {
            return "Reply in thread".to_owned();
        }
        let room = chat.current.get();
        let label = chat.room(&room).map(|r| chat.label(&r)).unwrap_or_default();
        format!("Message {label}")
    };
    let option_id = move |i: usize| format!("{prefix}mention-option-{i}");
    let label = if thread.is_some() { "Reply" } else { "Message" };
    let controls = {
        let list_id = list_id.clone();
        move || open().then(|| list_id.clone())
    };
    view! {
        <form
            class="composer"
            on:submit=move |ev: SubmitEvent| {
                ev.prevent_default();
                submit();
            }
        >
            <Show when=open>
                <ul class="mention-picker" id=list_id.clone() role="listbox" aria-label="People to mention">
                    <For each=move || offers.get().into_iter().enumerate() key=|(i, o)| (*i, o.clone())
                        let:((i, offer))>
                        {
                            let name = offer.name.clone();
                            view! {
                                <li role="option" id=option_id(i)
                                    aria-selected=move || (active.get() == i).to_string()
                                    class:active=move || active.get() == i
                                    // Before the textarea loses focus to the click.
                                    on:mousedown=move |ev| { ev.prevent_default(); pick(name.clone()); }>
                                    <span class="name">"@" {offer.name.clone()}</span>
                                    <span class="note">{offer.note}</span>
                                </li>
                            }
                        }
                    </For>
                </ul>
            </Show>
            <UploadTray thread=thread />
            <label for=input_id.clone() class="visually-hidden">{label}</label>
            <input type="file" multiple class="visually-hidden" tabindex="-1" aria-hidden="true"
                node_ref=picker on:change=on_picked />
            <button type="button" class="ghost attach" aria-label="Attach files" title="Attach files"
                on:click=move |_| if let Some(input) = picker.get_untracked() { input.click() }>
                // A drawn paperclip: an emoji would show as an empty box where no emoji font is
                // installed (many Linux desktops).
                <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20" fill="none"
                    stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
                    <path d="M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48" />
                </svg>
            </button>
            <textarea
                id=input_id.clone()
                node_ref=input
                rows="2"
                placeholder=placeholder
                title="Enter sends, Shift+Enter starts a new line, @ mentions someone"
                prop:value=move || draft.get()
                on:input=on_input
                on:keydown=on_keydown
                on:paste=on_paste
                on:click=move |_| find_query()
                on:blur=move |_| query.set(None)
                aria-autocomplete="list"
                aria-controls=controls
                aria-activedescendant=move || open().then(|| option_id(active.get()))
                aria-describedby=error_id.clone()
            ></textarea>
            <button type="submit">{if thread.is_some() { "Reply" } else { "Send" }}</button>
            <p id=error_id class="error" role="alert">{move || error.get()}</p>
        </form>
    }
}
