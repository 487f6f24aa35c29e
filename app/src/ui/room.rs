//! The room on screen: header, messages, typing indicator and composer.

use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::html;
use leptos::prelude::*;
use uuid::Uuid;

use super::state::{Delivery, Line, MessageLine, Timeline};
use super::{ChatState, time};
use crate::events::messages::{DeleteMessage, DeleteRequest, EditMessage, EditRequest};
use crate::events::presence::StartTyping;
use crate::events::rooms::{DeleteRoom, LeaveRoom, RoomRef};
use crate::limits::TYPING_THROTTLE_MS;
use crate::model::{RoomId, validate_body};

#[component]
pub fn RoomPane() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let room = move || chat.room(&chat.current.get());
    let title = move || {
        room().map(|r| chat.label(&r)).unwrap_or_else(|| format!("# {}", chat.current.get()))
    };
    let members = move || room().filter(|r| r.kind.is_group()).map(|r| r.members);
    let can_leave = move || room().is_some_and(|r| r.kind.is_group() && r.id != RoomId::lobby());
    let can_delete = move || {
        room().is_some_and(|r| {
            r.kind.is_group() && r.created_by.as_ref().is_some_and(|c| chat.is_me(c))
        })
    };
    let leave = move |_| {
        let room = chat.current.get_untracked();
        chat.request_or_report::<LeaveRoom>(RoomRef { room: room.clone() }, move |summary| {
            chat.joined.update(|j| {
                j.remove(&summary.id);
            });
            chat.upsert_room(summary);
            chat.open(RoomId::lobby());
        });
    };
    let delete = move |_| {
        let room = chat.current.get_untracked();
        chat.request_or_report::<DeleteRoom>(RoomRef { room }, move |gone| {
            chat.remove_room(&gone.room)
        });
    };

    view! {
        <section class="room" aria-labelledby="room-title">
            <header class="room-header">
                <h2 id="room-title">{title}</h2>
                {move || members().map(|n| view! {
                    <span class="count">{n} {if n == 1 { " member" } else { " members" }}</span>
                })}
                <Show when=can_leave>
                    <button type="button" class="ghost small" on:click=leave>"Leave room"</button>
                </Show>
                <Show when=can_delete>
                    <button type="button" class="ghost small danger" on:click=delete>"Delete room"</button>
                </Show>
            </header>
            <Show when=move || chat.error.get().is_some()>
                <div class="banner" role="alert">
                    <span>{move || chat.error.get()}</span>
                    <button type="button" class="link" on:click=move |_| chat.error.set(None)>"Dismiss"</button>
                </div>
            </Show>
            <MessageList />
            <TypingIndicator />
            <Composer />
        </section>
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
    // The room's lines, with the "New messages" divider above the first message from someone
    // else after the read marker the room had when it was opened.
    let rows = move || {
        let room = chat.current.get();
        let after = chat.divider.get().filter(|(r, _)| *r == room).map(|(_, seq)| seq);
        chat.with_timeline(&room, |t| {
            let lines = t.map(Timeline::lines).unwrap_or_default();
            let mut rows = Vec::with_capacity(lines.len() + 1);
            let mut placed = after.is_none();
            for line in lines {
                if !placed
                    && let Line::Message(m) = line
                    && m.seq.is_some_and(|s| Some(s) > after)
                    && !chat.is_me(&m.author.id)
                {
                    rows.push(Row::Divider);
                    placed = true;
                }
                rows.push(Row::Line(line.clone()));
            }
            rows
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
    // A new room starts at its divider, or at the bottom.
    Effect::new(move |_| {
        chat.current.track();
        at_bottom.set(true);
        request_animation_frame(move || {
            if !to_divider() {
                scroll_to_bottom();
            }
        });
    });
    Effect::new(move |_| {
        chat.timelines.track();
        chat.divider.track();
        // After the DOM has the new lines: the divider wins once, then the reader's place.
        request_animation_frame(move || {
            if to_divider() {
                return;
            }
            if at_bottom.get_untracked() {
                scroll_to_bottom();
            } else if !loading_older.get_untracked() {
                missed.set(true);
            }
        });
    });

    view! {
        <div class="timeline">
            <ol class="messages" node_ref=list_ref on:scroll=on_scroll role="log" aria-label="Messages"
                aria-busy=move || (chat.catching_up.get() > 0).to_string()>
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
                    {match row {
                        Row::Line(Line::Message(line)) => view! { <MessageItem line /> }.into_any(),
                        Row::Line(Line::Notice { text, .. }) => view! { <li class="notice">{text}</li> }.into_any(),
                        Row::Divider => view! {
                            <li class="divider" role="separator" aria-label="New messages">
                                <span>"New messages"</span>
                            </li>
                        }.into_any(),
                    }}
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

/// A row of the message list: a timeline line, or the "New messages" divider.
#[derive(Debug, Clone)]
enum Row {
    Line(Line),
    Divider,
}

/// Keys rows for rendering (see [`Line::key`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RowKey {
    Line(super::timeline::LineKey),
    Divider,
}

impl Row {
    fn key(&self) -> RowKey {
        match self {
            Row::Line(line) => RowKey::Line(line.key()),
            Row::Divider => RowKey::Divider,
        }
    }
}

/// One message, as it stands: a change to it renders the line again (see [`Line::key`]). The
/// body is a text node: markup in a message is shown, never interpreted. The author can edit or
/// delete it.
#[component]
fn MessageItem(line: MessageLine) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let own = chat.is_me(&line.author.id);
    let MessageLine { id, author, body, sent_at_ms, edited, deleted, delivery, .. } = line;
    let room = chat.current.get_untracked();
    let editing = RwSignal::new(None::<String>);
    let hydrated = use_context::<super::Hydrated>().map(|h| h.0);
    let time = move || {
        let local = hydrated.is_some_and(|h| h.get());
        sent_at_ms.map(|ms| view! { <time class="time">{time::clock(ms, local)}</time> })
    };
    let retry = {
        let body = body.clone();
        move |_| chat.send(room.clone(), id, body.clone())
    };
    let save = move || {
        let Some(text) = editing.get_untracked() else { return };
        chat.request_or_report::<EditMessage>(EditRequest { id, body: text }, move |msg| {
            editing.set(None);
            chat.apply_message(msg, false);
        });
    };
    let delete = move |_| {
        chat.request_or_report::<DeleteMessage>(DeleteRequest { id }, move |msg| {
            chat.apply_message(msg, false);
        });
    };
    let can_change = own && delivery == Delivery::Sent && !deleted;
    let pending = delivery == Delivery::Pending;
    let shown_body = body.clone();
    let original = StoredValue::new(body.clone());
    view! {
        <li class="message" class:own=own class:pending=pending class:deleted=deleted>
            <div class="meta">
                <span class="author">{author.name.to_string()}</span>
                {time}
                <Show when=move || edited && !deleted>
                    <span class="edited">"(edited)"</span>
                </Show>
                {match delivery {
                    Delivery::Pending => Some(view! { <span class="delivery">"sending…"</span> }.into_any()),
                    Delivery::Sent if own => Some(view! {
                        <span class="delivery sent" role="img" aria-label="Sent">"✓"</span>
                    }.into_any()),
                    Delivery::Sent => None,
                    Delivery::Unconfirmed => Some(view! {
                        <span class="delivery failed" role="alert">"Not confirmed yet; resent when back online"</span>
                        <button type="button" class="link" on:click=retry.clone()>"Retry"</button>
                    }.into_any()),
                    Delivery::Failed(why) => Some(view! {
                        <span class="delivery failed" role="alert">"Not sent: " {why}</span>
                        <button type="button" class="link" on:click=retry.clone()>"Retry"</button>
                    }.into_any()),
                }}
                <Show when=move || can_change && editing.get().is_none()>
                    <span class="actions">
                        <button type="button" class="link" aria-label="Edit message"
                            on:click=move |_| editing.set(Some(original.get_value()))>"Edit"</button>
                        <button type="button" class="link" aria-label="Delete message" on:click=delete>"Delete"</button>
                    </span>
                </Show>
            </div>
            {move || match (deleted, editing.get().is_some()) {
                (true, _) => view! { <p class="body placeholder">"Message deleted"</p> }.into_any(),
                (false, true) => view! {
                    <form class="edit" on:submit=move |ev: SubmitEvent| { ev.prevent_default(); save(); }>
                        <label class="visually-hidden" for=format!("edit-{id}")>"Edit message text"</label>
                        <textarea id=format!("edit-{id}") rows="2"
                            prop:value=move || editing.get().unwrap_or_default()
                            on:input=move |ev| editing.set(Some(event_target_value(&ev)))
                            on:keydown=move |ev: KeyboardEvent| {
                                if ev.key() == "Enter" && !ev.shift_key() { ev.prevent_default(); save(); }
                                if ev.key() == "Escape" { editing.set(None); }
                            }></textarea>
                        <button type="submit" class="small">"Save"</button>
                        <button type="button" class="small ghost" on:click=move |_| editing.set(None)>"Cancel"</button>
                    </form>
                }.into_any(),
                (false, false) => view! { <p class="body">{shown_body.clone()}</p> }.into_any(),
            }}
        </li>
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

/// The message box: Enter sends, Shift+Enter adds a line; tells the room we are typing.
#[component]
fn Composer() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let last_typing = StoredValue::new(f64::MIN);
    // Each room keeps its own draft, in the browser's storage: switching rooms or reloading
    // brings back what was typed and not sent.
    let me = move || chat.me.get_untracked().map(|m| m.id);
    Effect::new(move |_| {
        let room = chat.current.get();
        let saved = me().and_then(|me| super::saved::drafts(&me).remove(&room));
        draft.set(saved.unwrap_or_default());
    });
    let keep = move |text: &str| {
        if let Some(me) = me() {
            super::saved::save_draft(&me, &chat.current.get_untracked(), text);
        }
    };
    let submit = move || match validate_body(&draft.get_untracked()) {
        Ok(body) => {
            error.set(None);
            draft.set(String::new());
            keep("");
            let room = chat.current.get_untracked();
            let id = Uuid::now_v7();
            chat.push_pending(&room, id, body.clone());
            last_typing.set_value(f64::MIN);
            chat.send(room, id, body);
        }
        Err(crate::ChatError::EmptyMessage) => {}
        Err(e) => error.set(Some(e.to_string())),
    };
    let on_input = move |ev| {
        let text = event_target_value(&ev);
        keep(&text);
        draft.set(text);
        let now = super::state::now_ms();
        if now - last_typing.get_value() >= TYPING_THROTTLE_MS as f64 {
            last_typing.set_value(now);
            let room = chat.current.get_untracked();
            chat.request::<StartTyping>(RoomRef { room }, |_| {});
        }
    };
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit();
        }
    };
    let placeholder = move || {
        let room = chat.current.get();
        let label = chat.room(&room).map(|r| chat.label(&r)).unwrap_or_default();
        format!("Message {label}")
    };
    view! {
        <form
            class="composer"
            on:submit=move |ev: SubmitEvent| {
                ev.prevent_default();
                submit();
            }
        >
            <label for="composer-input" class="visually-hidden">"Message"</label>
            <textarea
                id="composer-input"
                rows="2"
                placeholder=placeholder
                title="Enter sends, Shift+Enter starts a new line"
                prop:value=move || draft.get()
                on:input=on_input
                on:keydown=on_keydown
                aria-describedby="composer-error"
            ></textarea>
            <button type="submit">"Send"</button>
            <p id="composer-error" class="error" role="alert">{move || error.get()}</p>
        </form>
    }
}
