//! The room on screen: header, messages, typing indicator and composer.

use leptos::html;
use leptos::prelude::*;

use super::composer::Composer;
use super::message::MessageItem;
use super::notify::{self, Permission};
use super::rows::{self, Row};
use super::state::{Line, Timeline};
use super::time;
use super::{ChatState, RoomNews};
use crate::events::admin::DeleteAnyRoom;
use crate::events::rooms::{DeleteRoom, LeaveRoom, MutePayload, MuteRoom, RoomRef};
use crate::model::RoomId;

#[component]
pub fn RoomPane() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let room = move || chat.room(&chat.current.get());
    let title = move || {
        room().map(|r| chat.label(&r)).unwrap_or_else(|| format!("# {}", chat.current.get()))
    };
    let members = move || room().filter(|r| r.kind.is_group()).map(|r| r.members);
    let can_leave = move || room().is_some_and(|r| r.kind.is_group() && r.id != RoomId::lobby());
    let mine = move || {
        room().is_some_and(|r| {
            r.kind.is_group() && r.created_by.as_ref().is_some_and(|c| chat.is_me(c))
        })
    };
    // Its creator deletes a room; an administrator may delete any but the lobby (as a moderator,
    // through `/admin`).
    let can_delete = move || {
        mine()
            || (chat.admin.get()
                && room().is_some_and(|r| r.kind.is_group() && r.id != RoomId::lobby()))
    };
    let leave = move |_| {
        let room = chat.current.get_untracked();
        chat.request_or_report::<LeaveRoom>(RoomRef { room: room.clone() }, move |summary| {
            let id = summary.id.clone();
            chat.learn(RoomNews::Listed(summary));
            chat.learn(RoomNews::NotMember(id));
            chat.open(RoomId::lobby());
        });
    };
    // Deleting asks first, in a modal dialog (focus inside, Escape and "Cancel" close it).
    let confirm = NodeRef::<html::Dialog>::new();
    let ask_delete = move |_| {
        if let Some(dialog) = confirm.get_untracked() {
            let _ = dialog.show_modal();
        }
    };
    let delete = move |_| {
        if let Some(dialog) = confirm.get_untracked() {
            dialog.close();
        }
        let room = chat.current.get_untracked();
        let deleted = move |gone: RoomRef| {
            if let Some(me) = chat.me.get_untracked() {
                chat.room_deleted(&gone.room, &me);
            }
        };
        if mine() {
            chat.request_or_report::<DeleteRoom>(RoomRef { room }, deleted);
        } else {
            chat.moderate::<DeleteAnyRoom>(RoomRef { room }, move |result| {
                if let Ok(gone) = result {
                    deleted(gone);
                }
            });
        }
    };
    let member_count = move || room().map(|r| r.members).unwrap_or_default();
    let actions_open = RwSignal::new(false);
    // The options close with the room, and when a panel (rooms, people) opens over them on a
    // phone: they would stay on top of it, covering its Close button.
    let panel = use_context::<super::Panel>().map(|p| p.0);
    Effect::new(move |_| {
        chat.current.track();
        if let Some(panel) = panel {
            panel.track();
        }
        actions_open.set(false);
    });

    // Files dragged over the room: a drop shares them here (into the composer's tray). Entering
    // and leaving child elements fire too, hence a count rather than a flag.
    let dragging = RwSignal::new(0i32);
    let is_dragging = Memo::new(move |_| dragging.get() > 0);
    #[cfg(feature = "hydrate")]
    let carries_files = |ev: &leptos::ev::DragEvent| {
        ev.data_transfer().is_some_and(|d| d.types().includes(&"Files".into(), 0))
    };
    #[cfg(not(feature = "hydrate"))]
    let carries_files = |_: &leptos::ev::DragEvent| false;
    let on_dragenter = move |ev: leptos::ev::DragEvent| {
        if carries_files(&ev) {
            ev.prevent_default();
            dragging.update(|n| *n += 1);
        }
    };
    let on_dragover = move |ev: leptos::ev::DragEvent| {
        if carries_files(&ev) {
            // Allows the drop.
            ev.prevent_default();
        }
    };
    let on_dragleave = move |_: leptos::ev::DragEvent| dragging.update(|n| *n = (*n - 1).max(0));
    let on_drop = move |ev: leptos::ev::DragEvent| {
        dragging.set(0);
        #[cfg(feature = "hydrate")]
        {
            let files = super::upload::sources(ev.data_transfer().and_then(|d| d.files()));
            if !files.is_empty() {
                ev.prevent_default();
                let room = chat.current.get_untracked();
                super::upload::stage_files(chat, &room, None, files);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };

    view! {
        <main class="room" id="room" aria-labelledby="room-title"
            class:dragging=is_dragging
            on:dragenter=on_dragenter on:dragover=on_dragover on:dragleave=on_dragleave
            on:drop=on_drop>
            <div class="drop-hint" aria-hidden="true">"Drop files to share them in " {title}</div>
            <header class="room-header">
                <super::PanelToggle which="rooms" />
                <h2 id="room-title">{title}</h2>
                {move || members().map(|n| view! {
                    <span class="count">{n} {if n == 1 { " member" } else { " members" }}</span>
                })}
                <super::PanelToggle which="people" />
                // On a phone the room's actions fold behind one button, so the header is one row.
                <button type="button" class="ghost small room-more" aria-controls="room-actions"
                    aria-label="Room options" title="Room options"
                    aria-expanded=move || actions_open.get().to_string()
                    on:click=move |_| actions_open.update(|o| *o = !*o)>"⋯"</button>
                <div class="room-actions" id="room-actions" class:open=move || actions_open.get()>
                    <NotificationControls />
                    <Show when=can_leave>
                        <button type="button" class="ghost small" on:click=leave>"Leave room"</button>
                    </Show>
                    <Show when=can_delete>
                        <button type="button" class="ghost small danger" aria-haspopup="dialog"
                            on:click=ask_delete>"Delete room…"</button>
                    </Show>
                </div>
            </header>
            <dialog class="confirm" node_ref=confirm aria-labelledby="confirm-title" aria-describedby="confirm-text">
                <form method="dialog">
                    <h3 id="confirm-title">"Delete " {title} "?"</h3>
                    <p id="confirm-text">
                        "Every message in it is deleted for everyone, and its "
                        {move || match member_count() { 1 => "member is".to_owned(), n => format!("{n} members are") }}
                        " told and moved to # lobby. This cannot be undone."
                    </p>
                    <div class="buttons">
                        <button type="submit" class="ghost" value="cancel" autofocus>"Cancel"</button>
                        <button type="button" class="danger-solid" on:click=delete>"Delete room"</button>
                    </div>
                </form>
            </dialog>
            <Show when=move || chat.info.get().is_some()>
                <div class="banner info" role="status">
                    <span>{move || chat.info.get()}</span>
                    <button type="button" class="link" on:click=move |_| chat.info.set(None)>"Dismiss"</button>
                </div>
            </Show>
            <Show when=move || chat.error.get().is_some()>
                <div class="banner" role="alert">
                    <span>{move || chat.error.get()}</span>
                    <button type="button" class="link" on:click=move |_| chat.error.set(None)>"Dismiss"</button>
                </div>
            </Show>
            <MessageList />
            <TypingIndicator />
            <Composer />
        </main>
    }
}

/// Notifications: asking the browser's permission (only from this button, never on load) and
/// muting the room on screen.
#[component]
fn NotificationControls() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let muted = move || chat.muted.with(|m| m.contains(&chat.current.get()));
    let toggle_mute = move |_| {
        let room = chat.current.get_untracked();
        let payload = MutePayload { room, muted: !muted() };
        chat.request_or_report::<MuteRoom>(payload, move |state| chat.apply_read(state));
    };
    let ask = move |_| notify::ask(move |answer| chat.permission.set(answer));
    view! {
        {move || match chat.permission.get() {
            Permission::Ask => Some(view! {
                <button type="button" class="ghost small" on:click=ask
                    title="Get a notification for mentions and direct messages while Parley is in the background">
                    "Turn on notifications"
                </button>
            }.into_any()),
            Permission::Denied => Some(view! {
                <span class="hint" title="Allow them in the browser's site settings">"Notifications blocked"</span>
            }.into_any()),
            Permission::Granted | Permission::Unsupported => None,
        }}
        <button type="button" class="ghost small" aria-pressed=move || muted().to_string()
            title="A muted room never raises notifications; its unread counts stay"
            on:click=toggle_mute>
            {move || if muted() { "Muted" } else { "Mute" }}
        </button>
    }
}

/// The room's timeline, oldest first. Follows new messages while the reader is at the bottom;
/// otherwise offers a jump button. Scrolling to the top loads older messages.
#[component]
fn MessageList() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let list_ref = NodeRef::<html::Ol>::new();
    let at_bottom = RwSignal::new(true);
    let missed = RwSignal::new(false);
    let loading_older = RwSignal::new(false);
    // The room's lines with day separators, grouping, and the "New messages" divider above the
    // first message from someone else after the read marker the room had when it was opened.
    let hydrated = use_context::<super::Hydrated>().map(|h| h.0);
    let rows = move || {
        let room = chat.current.get();
        let after = chat.divider.get().filter(|(r, _)| *r == room).map(|(_, seq)| seq);
        let local = hydrated.is_some_and(|h| h.get());
        let me = chat.me.get().map(|m| m.id);
        chat.with_timeline(&room, |t| {
            let lines = t.map(Timeline::lines).unwrap_or_default();
            rows::rows(lines, after, me.as_ref(), time::now_ms(), local)
        })
    };
    let has_more = move || {
        let room = chat.current.get();
        chat.with_timeline(&room, |t| t.is_some_and(Timeline::has_more))
    };
    // Known to hold no messages at all (not merely "not loaded yet").
    let empty = move || {
        let room = chat.current.get();
        chat.with_timeline(&room, |t| t.is_some_and(Timeline::is_empty_room))
    };
    // Following stops only when the reader scrolls *up*. Deciding from "is the view at the
    // bottom right now" would race with arriving messages: a scroll event queued by our own
    // scroll-to-bottom can run after the next message has already grown the list. Our own
    // scrolls record where they left the view, so a reader's scroll up is measured from there
    // even when their scroll event comes before ours.
    let last_top = StoredValue::new(0);
    // The room whose loaded history has been put in place (at its divider or bottom). Until
    // then every scroll event is the browser's, not the reader's: emptying the list on a room
    // switch clamps the position with a scroll event that can be delivered only after the new
    // history is drawn at the top, and taking that for the reader scrolling up (and for a
    // request of older pages) left a freshly opened room above its newest messages.
    let placed = StoredValue::new(None::<RoomId>);
    let loaded = move |room: &RoomId| {
        chat.timelines.with_untracked(|t| t.get(room).is_some_and(Timeline::loaded))
    };
    let mark_placed = move || {
        let room = chat.current.get_untracked();
        if loaded(&room) {
            placed.set_value(Some(room));
        }
    };
    let scroll_to_bottom = move || {
        if let Some(el) = list_ref.get_untracked() {
            el.set_scroll_top(el.scroll_height());
            last_top.set_value(el.scroll_top());
        }
        missed.set(false);
    };
    let load_older = move || {
        if loading_older.get_untracked() {
            return;
        }
        let Some(el) = list_ref.get_untracked() else { return };
        loading_older.set(true);
        // Keep the reader's place: what was on screen stays on screen.
        let from_bottom = el.scroll_height() - el.scroll_top();
        chat.load_older(chat.current.get_untracked(), move || {
            loading_older.set(false);
            request_animation_frame(move || {
                if let Some(el) = list_ref.get_untracked() {
                    el.set_scroll_top(el.scroll_height() - from_bottom);
                    last_top.set_value(el.scroll_top());
                }
            });
        });
    };
    let on_scroll = move |_| {
        if let Some(el) = list_ref.get_untracked() {
            let top = el.scroll_top();
            if placed.get_value() != Some(chat.current.get_untracked()) {
                last_top.set_value(top);
                return;
            }
            let bottom = el.scroll_height() - top - el.client_height() < 32;
            if bottom {
                at_bottom.set(true);
                missed.set(false);
            } else if top < last_top.get_value() {
                at_bottom.set(false);
            }
            last_top.set_value(top);
            if el.scroll_top() < 40 && has_more() {
                load_older();
            }
        }
    };
    // The first time a room's divider is on screen, the view goes there (once per opening).
    let shown_divider = StoredValue::new(None::<(RoomId, u64)>);
    let to_divider = move || -> bool {
        let Some(divider) = chat.divider.get_untracked() else { return false };
        if shown_divider.get_value().as_ref() == Some(&divider) {
            return false;
        }
        let Some(list) = list_ref.get_untracked() else { return false };
        let Ok(Some(line)) = list.query_selector(".divider") else { return false };
        shown_divider.set_value(Some(divider));
        line.scroll_into_view_with_bool(true);
        last_top.set_value(list.scroll_top());
        at_bottom.set(list.scroll_height() - list.scroll_top() - list.client_height() < 32);
        true
    };
    // An opened search result is brought to the middle of the view once it is drawn; until
    // then (true: it is pending or was just shown) the view neither jumps to the bottom nor to
    // the divider under it.
    let shown_target = StoredValue::new(None::<uuid::Uuid>);
    let to_target = move || -> bool {
        let Some(id) = chat.target.get_untracked() else { return false };
        if shown_target.get_value() == Some(id) {
            return false;
        }
        let Some(list) = list_ref.get_untracked() else { return true };
        let Ok(Some(line)) = list.query_selector(&format!("[data-id=\"{id}\"]")) else {
            return true;
        };
        shown_target.set_value(Some(id));
        #[cfg(feature = "hydrate")]
        {
            let options = web_sys::ScrollIntoViewOptions::new();
            options.set_block(web_sys::ScrollLogicalPosition::Center);
            line.scroll_into_view_with_scroll_into_view_options(&options);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = line;
        last_top.set_value(list.scroll_top());
        at_bottom.set(list.scroll_height() - list.scroll_top() - list.client_height() < 32);
        true
    };
    Effect::new(move |_| {
        if chat.target.get().is_some() {
            request_animation_frame(move || {
                if to_target() {
                    mark_placed();
                }
            });
        }
    });
    // A new room starts at its divider, or at the bottom.
    Effect::new(move |_| {
        chat.current.track();
        at_bottom.set(true);
        request_animation_frame(move || {
            if !to_target() && !to_divider() {
                scroll_to_bottom();
            }
            mark_placed();
        });
    });
    // The newest line shown (room, message, whether it is ours): only a change there is news at
    // the bottom. Older pages, edits and reactions change other lines, and must not raise the
    // "New messages" button.
    let newest_seen = StoredValue::new(None::<(RoomId, uuid::Uuid)>);
    Effect::new(move |_| {
        chat.timelines.track();
        chat.divider.track();
        let room = chat.current.get_untracked();
        let newest = chat.timelines.with_untracked(|t| {
            t.get(&room).and_then(|t| t.messages().last().map(|m| (m.id, chat.is_me(&m.author.id))))
        });
        let key = newest.map(|(id, _)| (room, id));
        let arrived = key.is_some() && key != newest_seen.get_value();
        newest_seen.set_value(key);
        // Sending is looking at the bottom: one's own new message is always brought into view.
        let sent = arrived && newest.is_some_and(|(_, mine)| mine);
        // After the DOM has the new lines: the divider wins once, then the reader's place.
        request_animation_frame(move || {
            if !to_target() && !to_divider() {
                if sent {
                    at_bottom.set(true);
                }
                if at_bottom.get_untracked() {
                    scroll_to_bottom();
                } else if arrived && !loading_older.get_untracked() {
                    missed.set(true);
                }
            }
            mark_placed();
        });
    });

    view! {
        // The log is the list's container, so the list keeps its list semantics (a `role` on the
        // `<ol>` itself would leave its items outside any list).
        <div class="timeline" role="log" aria-label="Messages"
            aria-busy=move || (chat.catching_up.get() > 0).to_string()>
            <ol class="messages" node_ref=list_ref on:scroll=on_scroll>
                <Show when=has_more>
                    <li class="older">
                        <button type="button" class="link" on:click=move |_| load_older()>
                            {move || if loading_older.get() { "Loading…" } else { "Load older messages" }}
                        </button>
                    </li>
                </Show>
                <Show when=empty>
                    <li class="empty">"No messages here yet. Say hello!"</li>
                </Show>
                <For each=rows key=Row::key let:row>
                    {row_view(row)}
                </For>
            </ol>
            <Show when=move || missed.get()>
                <button type="button" class="jump" on:click=move |_| scroll_to_bottom()>
                    "New messages ↓"
                </button>
            </Show>
        </div>
    }
}

/// One row of a message list.
pub(super) fn row_view(row: Row) -> AnyView {
    match row {
        Row::Line { line: Line::Message(line), compact } => {
            view! { <MessageItem line compact /> }.into_any()
        }
        Row::Line { line: Line::Notice { text, .. }, .. } => {
            view! { <li class="notice">{text}</li> }.into_any()
        }
        // A list holds list items only: the separators are inside one.
        Row::Divider => view! {
            <li class="divider">
                <span role="separator" aria-label="New messages"></span>
                <span aria-hidden="true">"New messages"</span>
                <span role="presentation"></span>
            </li>
        }
        .into_any(),
        Row::Day { label, .. } => view! {
            <li class="day">
                <span role="separator" aria-label=label.clone()></span>
                <span class="label" aria-hidden="true">{label}</span>
                <span role="presentation"></span>
            </li>
        }
        .into_any(),
    }
}

/// "Ada is typing…" for the room on screen.
#[component]
fn TypingIndicator() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let text = move || {
        let room = chat.current.get();
        let names: Vec<String> = chat.typing.with(|t| {
            t.get(&room)
                .map(|list| list.iter().map(|(u, _)| u.name.to_string()).collect())
                .unwrap_or_default()
        });
        match names.as_slice() {
            [] => String::new(),
            [one] => format!("{one} is typing…"),
            [a, b] => format!("{a} and {b} are typing…"),
            _ => "Several people are typing…".to_owned(),
        }
    };
    view! { <p class="typing" aria-live="polite">{text}</p> }
}
