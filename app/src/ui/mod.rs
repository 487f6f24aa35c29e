//! The Leptos components of the chat page.
//!
//! [`ChatPage`] is rendered on the server (the welcome form) and hydrated in the browser. The
//! connection is opened only after a person picks a name, so it only ever exists in the browser.

mod time;

use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use crate::events::messages::{NewMessage, SendMessage, SendMessagePayload};
use crate::events::{CHAT_NAMESPACE, Handshake};
use crate::model::{ChatMessage, DisplayName, RoomId, validate_body};
use crate::socket::{ConnectOptions, ConnectionStatus, Socket, SocketClient, Transports};

/// Transports chosen by the page's `?transport=` query (`polling` or `websocket`), so a
/// connection can be forced onto one transport for diagnosis and tests.
fn transports_from_query(value: Option<&str>) -> Transports {
    match value {
        Some("polling") => Transports::PollingOnly,
        Some("websocket") => Transports::WebSocketOnly,
        _ => Transports::Default,
    }
}

/// The chat page: a name form, then the room.
#[component]
pub fn ChatPage() -> impl IntoView {
    // Interactive controls stay disabled until the WASM has taken over the page: before that a
    // submit would reload the page and lose what was typed.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    let me = RwSignal::new(None::<DisplayName>);
    let query = use_query_map();
    let transports =
        move || transports_from_query(query.read_untracked().get("transport").as_deref());

    view! {
        <div class="app">
            <header class="topbar">
                <h1 class="brand">"Parley"</h1>
                {move || {
                    me.get()
                        .map(|name| {
                            view! {
                                <p class="whoami">
                                    "You are " <strong>{name.to_string()}</strong>
                                </p>
                            }
                        })
                }}
            </header>
            {move || match me.get() {
                None => {
                    view! { <NameForm hydrated on_done=Callback::new(move |n| me.set(Some(n))) /> }
                        .into_any()
                }
                Some(name) => {
                    view! {
                        <ChatView
                            name
                            transports=transports()
                            on_leave=Callback::new(move |()| me.set(None))
                        />
                    }
                        .into_any()
                }
            }}
        </div>
    }
}

/// Asks for a display name and validates it with the same rules as the server.
#[component]
fn NameForm(hydrated: RwSignal<bool>, on_done: Callback<DisplayName>) -> impl IntoView {
    let value = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        match DisplayName::parse(&value.get_untracked()) {
            Ok(name) => on_done.run(name),
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    view! {
        <main class="welcome">
            <form class="card name-form" on:submit=submit>
                <h2>"Welcome to Parley"</h2>
                <p class="hint">"Pick the name others will see."</p>
                <label for="display-name">"Display name"</label>
                <input
                    id="display-name"
                    name="name"
                    autocomplete="nickname"
                    bind:value=value
                    aria-invalid=move || error.get().is_some().to_string()
                    aria-describedby="name-error"
                />
                <p id="name-error" class="error" role="alert">
                    {move || error.get()}
                </p>
                <button type="submit" disabled=move || !hydrated.get()>
                    "Join the chat"
                </button>
            </form>
        </main>
    }
}

/// Where a message we sent stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Delivery {
    /// Sent, no ack yet.
    Pending,
    /// Stored by the server.
    Sent,
    /// Refused or timed out; the text says why.
    Failed(String),
}

/// One line of the message list.
#[derive(Debug, Clone)]
struct Entry {
    id: Uuid,
    author: String,
    body: String,
    sent_at_ms: RwSignal<Option<i64>>,
    own: bool,
    delivery: RwSignal<Delivery>,
}

impl Entry {
    fn delivered(msg: ChatMessage, own: bool) -> Self {
        Self {
            id: msg.id,
            author: msg.author.to_string(),
            body: msg.body,
            sent_at_ms: RwSignal::new(Some(msg.sent_at_ms)),
            own,
            delivery: RwSignal::new(Delivery::Sent),
        }
    }
}

/// Adds a delivered message, or confirms the pending entry with the same id: whichever of the
/// ack and the broadcast arrives first, the message is listed once.
fn upsert(entries: RwSignal<Vec<Entry>>, msg: ChatMessage, own: bool) {
    let existing = entries.with_untracked(|list| {
        list.iter().find(|e| e.id == msg.id).map(|e| (e.sent_at_ms, e.delivery))
    });
    match existing {
        // Only the entry's own signals change; the list is not re-rendered.
        Some((sent_at_ms, delivery)) => {
            sent_at_ms.set(Some(msg.sent_at_ms));
            delivery.set(Delivery::Sent);
        }
        None => entries.update(|list| list.push(Entry::delivered(msg, own))),
    }
}

/// The room: connection status, messages and the composer.
#[component]
fn ChatView(name: DisplayName, transports: Transports, on_leave: Callback<()>) -> impl IntoView {
    let room = RoomId::lobby();
    let status = RwSignal::new(ConnectionStatus::Connecting);
    let entries = RwSignal::new(Vec::<Entry>::new());

    let options = ConnectOptions {
        namespace: CHAT_NAMESPACE,
        auth: Handshake { name: name.to_string() },
        transports,
    };
    let socket = match Socket::connect(&options) {
        Ok(socket) => Some(socket),
        Err(e) => {
            status.set(ConnectionStatus::Refused { message: e.to_string() });
            None
        }
    };

    if let Some(socket) = &socket {
        let me = name.to_string();
        let subs = (
            socket.watch_status(move |s| status.set(s)),
            socket.subscribe::<NewMessage>(move |msg| {
                let own = msg.author.as_str() == me;
                upsert(entries, msg, own);
            }),
        );
        let socket = socket.clone();
        on_cleanup(move || {
            drop(subs);
            socket.disconnect();
        });
    }

    let send = {
        let room = room.clone();
        move |id: Uuid, body: String| {
            let Some(socket) = socket.clone() else { return };
            let payload = SendMessagePayload { id, room: room.clone(), body };
            let ack = socket.request::<SendMessage>(&payload);
            spawn_local(async move {
                match ack.await {
                    Ok(msg) => upsert(entries, msg, true),
                    Err(e) => entries.update(|list| {
                        if let Some(entry) = list.iter().find(|e| e.id == id) {
                            entry.delivery.set(Delivery::Failed(e.to_string()));
                        }
                    }),
                }
            });
        }
    };
    let send = StoredValue::new(send);

    let compose = Callback::new(move |body: String| {
        let id = Uuid::now_v7();
        entries.update(|list| {
            list.push(Entry {
                id,
                author: name.to_string(),
                body: body.clone(),
                sent_at_ms: RwSignal::new(None),
                own: true,
                delivery: RwSignal::new(Delivery::Pending),
            });
        });
        send.with_value(|send| send(id, body));
    });
    let retry = Callback::new(move |id: Uuid| {
        let body = entries.with_untracked(|list| {
            list.iter().find(|e| e.id == id).map(|e| {
                e.delivery.set(Delivery::Pending);
                e.body.clone()
            })
        });
        if let Some(body) = body {
            send.with_value(|send| send(id, body));
        }
    });

    view! {
        <main class="chat">
            <section class="room" aria-labelledby="room-title">
                <header class="room-header">
                    <h2 id="room-title">"# " {room.to_string()}</h2>
                    <StatusBadge status on_leave />
                </header>
                <MessageList entries retry />
                <Composer on_send=compose />
            </section>
        </main>
    }
}

/// The connection state in words, with a way out when the server refuses us.
#[component]
fn StatusBadge(status: RwSignal<ConnectionStatus>, on_leave: Callback<()>) -> impl IntoView {
    let text = move || match status.get() {
        ConnectionStatus::Connecting => "Connecting…".to_owned(),
        ConnectionStatus::Connected => "Connected".to_owned(),
        ConnectionStatus::Reconnecting { .. } => "Offline, reconnecting…".to_owned(),
        ConnectionStatus::Refused { message } => format!("Refused: {message}"),
    };
    let class = move || match status.get() {
        ConnectionStatus::Connected => "status online",
        ConnectionStatus::Refused { .. } => "status refused",
        _ => "status offline",
    };
    view! {
        <p class=class role="status">
            {text}
        </p>
        <Show when=move || matches!(status.get(), ConnectionStatus::Refused { .. })>
            <button type="button" class="link" on:click=move |_| on_leave.run(())>
                "Choose another name"
            </button>
        </Show>
    }
}

/// The messages, oldest first; keeps the newest in view while the reader is at the bottom.
#[component]
fn MessageList(entries: RwSignal<Vec<Entry>>, retry: Callback<Uuid>) -> impl IntoView {
    let list_ref = NodeRef::<html::Ol>::new();
    // Follow new messages only if the reader was already at the bottom.
    let at_bottom = StoredValue::new(true);
    let on_scroll = move |_| {
        if let Some(el) = list_ref.get_untracked() {
            let gap = el.scroll_height() - el.scroll_top() - el.client_height();
            at_bottom.set_value(gap < 32);
        }
    };
    Effect::new(move |_| {
        entries.track();
        if at_bottom.get_value() {
            if let Some(el) = list_ref.get() {
                el.set_scroll_top(el.scroll_height());
            }
        }
    });

    view! {
        <ol class="messages" node_ref=list_ref on:scroll=on_scroll role="log" aria-label="Messages">
            <For each=move || entries.get() key=|e| e.id let:entry>
                <MessageItem entry retry />
            </For>
        </ol>
    }
}

/// One message. The body is a text node: markup in a message is shown, never interpreted.
#[component]
fn MessageItem(entry: Entry, retry: Callback<Uuid>) -> impl IntoView {
    let delivery = entry.delivery;
    let id = entry.id;
    let sent_at_ms = entry.sent_at_ms;
    let time = move || sent_at_ms.get().map(|ms| view! { <time class="time">{time::clock(ms)}</time> });
    view! {
        <li class="message" class:own=entry.own class:pending=move || delivery.get() == Delivery::Pending>
            <div class="meta">
                <span class="author">{entry.author}</span>
                {time}
                {move || match delivery.get() {
                    Delivery::Pending => Some(view! { <span class="delivery">"sending…"</span> }.into_any()),
                    Delivery::Sent if entry.own => Some(view! {
                        <span class="delivery sent" role="img" aria-label="Sent">"✓"</span>
                    }.into_any()),
                    Delivery::Sent => None,
                    Delivery::Failed(why) => Some(view! {
                        <span class="delivery failed" role="alert">"Not sent: " {why}</span>
                        <button type="button" class="link" on:click=move |_| retry.run(id)>"Retry"</button>
                    }.into_any()),
                }}
            </div>
            <p class="body">{entry.body}</p>
        </li>
    }
}

/// The message box: Enter sends, Shift+Enter adds a line.
#[component]
fn Composer(on_send: Callback<String>) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move || {
        match validate_body(&draft.get_untracked()) {
            Ok(body) => {
                error.set(None);
                draft.set(String::new());
                on_send.run(body);
            }
            Err(crate::ChatError::EmptyMessage) => {}
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit();
        }
    };
    view! {
        <form
            class="composer"
            on:submit=move |ev: SubmitEvent| {
                ev.prevent_default();
                submit();
            }
        >
            <label for="composer-input" class="visually-hidden">
                "Message"
            </label>
            <textarea
                id="composer-input"
                rows="2"
                placeholder="Write a message…"
                title="Enter sends, Shift+Enter starts a new line"
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))
                on:keydown=on_keydown
                aria-describedby="composer-error"
            ></textarea>
            <button type="submit">"Send"</button>
            <p id="composer-error" class="error" role="alert">
                {move || error.get()}
            </p>
        </form>
    }
}
