//! The sidebar: joined rooms, other rooms to join, direct messages, and room creation.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use super::{ChatState, RoomNews};
use crate::events::rooms::{CreateRoom, CreateRoomPayload};
use crate::model::{RoomKind, RoomSummary, parse_room_name, suggest_room_name};

#[component]
pub fn Sidebar() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    // The group rooms the person is in (`true`) or not (`false`; only public ones are listed).
    let public_rooms = move |member: bool| {
        chat.rooms.with(|rooms| {
            chat.joined.with(|joined| {
                rooms
                    .iter()
                    .filter(|r| r.kind.is_group() && joined.contains(&r.id) == member)
                    .cloned()
                    .collect::<Vec<_>>()
            })
        })
    };
    let joined_public = move || public_rooms(true);
    let others = move || public_rooms(false);
    let direct = move || {
        chat.rooms.with(|rooms| {
            rooms.iter().filter(|r| r.kind == RoomKind::Direct).cloned().collect::<Vec<_>>()
        })
    };

    view! {
        <nav id="sidebar" class="sidebar" aria-label="Rooms">
            <super::search::SearchBox />
            <section aria-labelledby="my-rooms">
                <div class="panel-head">
                    <h2 id="my-rooms">"Your rooms"</h2>
                    <super::ClosePanel label="Close rooms" />
                </div>
                <ul class="room-list">
                    <For each=joined_public key=|r| (r.id.clone(), r.members) let:room>
                        <RoomLink room />
                    </For>
                </ul>
            </section>
            <CreateRoomForm />
            <section aria-labelledby="direct-rooms">
                <h2 id="direct-rooms">"Direct messages"</h2>
                <ul class="room-list">
                    <For each=direct key=|r| r.id.clone() let:room>
                        <RoomLink room />
                    </For>
                </ul>
                <Show when=move || direct().is_empty()>
                    <p class="hint">"Pick someone under People to message them."</p>
                </Show>
            </section>
            <section aria-labelledby="other-rooms">
                <h2 id="other-rooms">"Other rooms"</h2>
                <ul class="room-list">
                    <For each=others key=|r| (r.id.clone(), r.members) let:room>
                        <JoinableRoom room />
                    </For>
                </ul>
                <Show when=move || others().is_empty()>
                    <p class="hint">"You are in every room."</p>
                </Show>
            </section>
            <super::admin::AdminButton />
        </nav>
    }
}

/// A room the person is in: opens it; shows members and unread messages.
#[component]
fn RoomLink(room: RoomSummary) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let label = chat.label(&room);
    let id = room.id.clone();
    let current = {
        let id = id.clone();
        move || chat.current.with(|c| *c == id)
    };
    let unread = {
        let id = id.clone();
        Memo::new(move |_| chat.unread.with(|u| u.get(&id).copied().unwrap_or(0)))
    };
    let mentions = {
        let id = id.clone();
        Memo::new(move |_| chat.mentions.with(|u| u.get(&id).copied().unwrap_or(0)))
    };
    let muted = {
        let id = id.clone();
        Memo::new(move |_| chat.muted.with(|m| m.contains(&id)))
    };
    view! {
        <li>
            <button
                type="button"
                class="room-link"
                class:muted=move || muted.get()
                aria-current=move || current().then_some("page")
                on:click=move |_| chat.open(id.clone())
            >
                <span class="room-name">{label}</span>
                <Show when=move || muted.get()>
                    <span class="muted-mark" title="Muted">"muted"</span>
                </Show>
                <Show when=move || { mentions.get() > 0 }>
                    <span class="badge mention">"@" {move || badge(mentions.get())}<span class="visually-hidden">" mentions"</span></span>
                </Show>
                <Show when=move || { unread.get() > 0 }>
                    <span class="badge">{move || badge(unread.get())}<span class="visually-hidden">" unread"</span></span>
                </Show>
            </button>
        </li>
    }
}

/// A public room the person is not in, with a Join button.
#[component]
fn JoinableRoom(room: RoomSummary) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let label = chat.label(&room);
    let id = room.id.clone();
    let join = move |_| chat.join_and_open(id.clone());
    view! {
        <li class="joinable">
            <span class="room-name">{label.clone()}</span>
            // Spelled out: a bare number here read as an unread count.
            <span class="count">{room.members} {if room.members == 1 { " member" } else { " members" }}</span>
            <button type="button" class="small" aria-label=format!("Join {label}") on:click=join>
                "Join"
            </button>
        </li>
    }
}

/// Creates a public or private room; the name rules are checked here and again by the server.
#[component]
fn CreateRoomForm() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let name = RwSignal::new(String::new());
    let private = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // For a refused name, the valid one it most likely meant ("Design Team": design-team).
    let suggestion = RwSignal::new(None::<String>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let raw = name.get_untracked();
        if let Err(e) = parse_room_name(&raw) {
            error.set(Some(e.to_string()));
            suggestion.set(suggest_room_name(&raw).map(|r| r.0));
            return;
        }
        suggestion.set(None);
        let payload = CreateRoomPayload { name: raw, private: private.get_untracked() };
        chat.request::<CreateRoom>(payload, move |result| match result {
            Ok(room) => {
                error.set(None);
                name.set(String::new());
                private.set(false);
                let id = room.id.clone();
                chat.learn(RoomNews::Member(room));
                chat.open(id.clone());
                chat.member_joined_self(&id);
            }
            Err(e) => error.set(Some(e.to_string())),
        });
    };
    view! {
        <form class="create-room" on:submit=submit>
            <label for="new-room">"New room"</label>
            <div class="inline">
                <input
                    id="new-room"
                    placeholder="e.g. design-team"
                    bind:value=name
                    aria-invalid=move || error.get().is_some().to_string()
                    aria-describedby="new-room-error"
                />
                <button type="submit" class="small">"Create"</button>
            </div>
            <label class="check">
                <input type="checkbox" id="new-room-private" bind:checked=private />
                "Private: by invitation only"
            </label>
            <p id="new-room-error" class="error" role="alert">{move || error.get()}</p>
            {move || suggestion.get().map(|suggested| {
                let label = format!("Use {suggested}");
                view! {
                    <button type="button" class="link suggestion" on:click=move |_| {
                        name.set(suggested.clone());
                        error.set(None);
                        suggestion.set(None);
                    }>{label}</button>
                }
            })}
        </form>
    }
}

/// An unread count as a badge shows it: the server stops counting at
/// [`crate::limits::UNREAD_COUNT_CAP`], so that many or more is `999+`.
fn badge(count: u32) -> String {
    if count >= crate::limits::UNREAD_COUNT_CAP {
        format!("{}+", crate::limits::UNREAD_COUNT_CAP - 1)
    } else {
        count.to_string()
    }
}
