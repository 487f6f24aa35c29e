//! "Jump to a room" (Ctrl+K or ⌘K, as in Slack and Discord): a dialog with a search field over
//! the person's rooms, direct conversations and the public rooms they could join.
//!
//! The field is an ARIA combobox: the arrow keys move through the matches (the field keeps the
//! focus and points at the active one with `aria-activedescendant`), Enter opens it, Escape
//! closes the dialog (the browser's own handling of a modal `<dialog>`).

use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;

use super::ChatState;
use super::message::focus;
use crate::model::{RoomId, RoomKind};

/// At most this many matches are listed.
const SHOWN: usize = 8;

/// One match: the room, how it is labelled, and whether the person is in it.
#[derive(Debug, Clone, PartialEq)]
struct Choice {
    room: RoomId,
    label: String,
    joined: bool,
}

#[component]
pub fn RoomSwitcher(open: RwSignal<bool>) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let dialog = NodeRef::<html::Dialog>::new();
    let query = RwSignal::new(String::new());
    let active = RwSignal::new(0usize);
    let choices = move || {
        let q = query.get().trim().trim_start_matches(['#', '@']).trim().to_lowercase();
        let joined = chat.joined.get();
        let mut all: Vec<(usize, Choice)> = chat.rooms.with(|rooms| {
            rooms
                .iter()
                .filter_map(|r| {
                    let is_member = r.kind == RoomKind::Direct || joined.contains(&r.id);
                    let label = chat.label(r);
                    let name = label.trim_start_matches(['#', '🔒', ' ']).to_lowercase();
                    // Names that start with what is typed first, then names that contain it.
                    let rank = if name.starts_with(&q) {
                        0
                    } else if name.contains(&q) {
                        1
                    } else {
                        return None;
                    };
                    let rank = rank * 2 + usize::from(!is_member);
                    Some((rank, Choice { room: r.id.clone(), label, joined: is_member }))
                })
                .collect()
        });
        all.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.label.cmp(&b.1.label)));
        all.into_iter().take(SHOWN).map(|(_, c)| c).collect::<Vec<_>>()
    };
    Effect::new(move |_| {
        if open.get() {
            query.set(String::new());
            active.set(0);
            if let Some(d) = dialog.get_untracked()
                && !d.open()
            {
                let _ = d.show_modal();
            }
            request_animation_frame(move || focus("switcher-input"));
        } else if let Some(d) = dialog.get_untracked() {
            d.close();
        }
    });
    let choose = move |choice: Choice| {
        open.set(false);
        if choice.joined {
            chat.open(choice.room);
        } else {
            chat.join_and_open(choice.room);
        }
        request_animation_frame(move || focus("composer-input"));
    };
    let on_key = move |ev: KeyboardEvent| {
        let n = choices().len();
        match ev.key().as_str() {
            "ArrowDown" if n > 0 => {
                ev.prevent_default();
                active.update(|a| *a = (*a + 1) % n);
            }
            "ArrowUp" if n > 0 => {
                ev.prevent_default();
                active.update(|a| *a = (*a + n - 1) % n);
            }
            "Enter" => {
                ev.prevent_default();
                if let Some(choice) = choices().get(active.get_untracked().min(n.saturating_sub(1)))
                {
                    choose(choice.clone());
                }
            }
            _ => {}
        }
    };
    view! {
        <dialog class="switcher" node_ref=dialog aria-labelledby="switcher-title"
            on:close=move |_| open.set(false)>
            <h2 id="switcher-title" class="visually-hidden">"Jump to a room"</h2>
            <label for="switcher-input" class="visually-hidden">"Room or person"</label>
            <input id="switcher-input" type="text" role="combobox" autocomplete="off"
                placeholder="Jump to a room or person…"
                aria-expanded=move || (!choices().is_empty()).to_string()
                aria-controls="switcher-list" aria-autocomplete="list"
                aria-activedescendant=move || (!choices().is_empty()).then(|| format!("switch-{}", active.get()))
                prop:value=move || query.get()
                on:input=move |ev| { query.set(event_target_value(&ev)); active.set(0); }
                on:keydown=on_key />
            <ul id="switcher-list" role="listbox" aria-label="Rooms">
                {move || {
                    let list = choices();
                    if list.is_empty() {
                        return view! { <li class="none" role="option" aria-disabled="true" aria-selected="false">"No room by that name"</li> }.into_any();
                    }
                    list.into_iter().enumerate().map(|(i, choice)| {
                        let picked = choice.clone();
                        let selected = move || active.get() == i;
                        view! {
                            <li id=format!("switch-{i}") role="option" class:active=selected
                                aria-selected=move || selected().to_string()
                                on:mousedown=move |ev| { ev.prevent_default(); choose(picked.clone()); }>
                                <span class="name">{choice.label.clone()}</span>
                                {(!choice.joined).then(|| view! { <span class="note">"Join"</span> })}
                            </li>
                        }
                    }).collect_view().into_any()
                }}
            </ul>
            <p class="keys" aria-hidden="true">"↑↓ to choose · Enter to open · Esc to close · Alt+↑↓ moves between rooms"</p>
        </dialog>
    }
}
